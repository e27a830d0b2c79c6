"""Node fingerprints: what a cached result is keyed by.

sha256 of canonical JSON of the node's kind, its normalized parameters (with
input files replaced by their content hashes), its upstream fingerprints by
role, and a version constant. Node ids, declaration names, comments, layout
and declaration order are not part of it: renaming or reformatting a spec
never re-runs hours of fine-tuning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ragdsl.hashing import canonical_json
from ragdsl.ir.graph import ExperimentGraph
from ragdsl.ir.nodes import Node

# Bump when what goes into a fingerprint, or a default value, changes meaning.
FINGERPRINT_VERSION = 1

# Bump a kind's entry when its runner's results change meaning or shape: that
# kind's cached results (and their dependents') are recomputed, no others.
RUNNER_VERSIONS = {"questions": 2, "finetune": 2, "evaluate": 5, "report": 6}

# `data` entries that are identities rather than files (see ragdsl.ir.weights).
IDENTITY_PREFIXES = ("weights:", "source:")


@dataclass(frozen=True)
class Fingerprint:
    value: str  # sha256 hex of everything below
    params: str  # digest of the parameters alone (files by path), to explain "params changed"
    data: tuple[tuple[str, str], ...]  # (path as written, sha256)
    inputs: tuple[tuple[str, str], ...]  # (role, upstream fingerprint)
    version: int = FINGERPRINT_VERSION

    @property
    def short(self) -> str:
        return self.value[:12]


def _with_hashes(value: object, data: dict[str, str]) -> object:
    if isinstance(value, dict):
        if set(value) == {"file"} and value["file"] in data:
            return {"file": data[value["file"]]}
        return {k: _with_hashes(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_hashes(v, data) for v in value]
    return value


def _without_nodes(value: object) -> object:
    # Upstream nodes are covered by `inputs`; their ids are names, not content.
    if isinstance(value, dict):
        if "node" in value and set(value) <= {"node", "part"}:
            return {"part": value.get("part", "")}
        return {k: _without_nodes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nodes(v) for v in value]
    return value


def fingerprint_node(node: Node, upstream: dict[str, str]) -> Fingerprint:
    data = dict(node.data)
    params = dict(node.params)
    if node.kind == "evaluate":
        # systems map labels to node ids; the labels are meaningful, the ids are covered by inputs
        params["systems"] = sorted(params.get("systems", {}))
    if node.kind == "report":
        params.pop("from", None)
    if node.inputs:
        params = _without_nodes(params)  # type: ignore[assignment]
    inputs = tuple(sorted((i.role, upstream[i.node]) for i in node.inputs))
    # Byte-for-byte canonical_json of {"inputs", "kind", "params", "version"} (keys sorted),
    # assembled from parts so each node's parameters are encoded once.
    kind = canonical_json(node.kind)
    params_json = canonical_json(params)
    hashed_json = canonical_json(_with_hashes(params, data)) if data else params_json
    # Model weights and non-file data sources a node names enter by their identity.
    weights = [[k, v] for k, v in sorted(data.items()) if k.startswith(IDENTITY_PREFIXES)]
    extra = f',"weights":{canonical_json(weights)}' if weights else ""
    runner = RUNNER_VERSIONS.get(node.kind, 1)
    extra += f',"runner":{runner}' if runner != 1 else ""
    material = (f'{{"inputs":{canonical_json([list(i) for i in inputs])},"kind":{kind},'
                f'"params":{hashed_json},"version":{FINGERPRINT_VERSION}{extra}}}')
    return Fingerprint(
        value=hashlib.sha256(material.encode("utf-8")).hexdigest(),
        params=hashlib.sha256(f'{{"kind":{kind},"params":{params_json}}}'.encode()).hexdigest(),
        data=tuple(sorted(data.items())),
        inputs=inputs,
    )


def fingerprint_graph(graph: ExperimentGraph) -> dict[str, Fingerprint]:
    out: dict[str, Fingerprint] = {}
    for node_id in graph.order():
        node = graph.node(node_id)
        out[node_id] = fingerprint_node(node, {u: out[u].value for u in node.upstream})
    return out
