"""`ragdsl export --haystack NODE`: a retrieve or rag node as standard Haystack YAML.

The pipeline is built from the same description the executor runs, over the
document stores the index nodes saved, with standard components wherever they
behave the same (see ragdsl.lower.spec.portable_generator), so a team can
`Pipeline.loads()` it without ragdsl.
"""

from __future__ import annotations

from pathlib import Path

from ragdsl.execute.store import Store


class ExportError(Exception):
    """The node cannot be exported yet (not a pipeline node, or its indexes have not run)."""


def export_haystack(compilation, store: Store, node_id: str) -> str:
    from ragdsl.backends import get_backend
    from ragdsl.ir.pipelines import describe
    from ragdsl.lower.haystack import Resources, build, to_yaml
    from ragdsl.lower.spec import FILE, MODEL, STORE, iter_references
    from ragdsl.models import materialize, resolve_model
    from ragdsl.suggest import did_you_mean

    graph, plan = compilation.graph, compilation.plan
    pipeline_nodes = [n for n in graph.order() if graph.node(n).kind in ("rag", "retrieve")]
    if node_id not in pipeline_nodes:
        hint = did_you_mean(node_id, pipeline_nodes) or f"pipeline nodes: {', '.join(pipeline_nodes) or 'none'}"
        raise ExportError(f"'{node_id}' is not a rag or retrieve node of this spec; {hint}")
    node = graph.node(node_id)
    spec = describe(graph, node, portable=node.kind == "rag")
    fingerprints = {a.node.id: a.fingerprint.value for a in plan.actions}
    stores, models, files = {}, {}, {}
    for _, kind, target in iter_references(spec):
        if kind == STORE and target not in stores:
            fp = fingerprints[target]
            if not store.has_result(fp):
                raise ExportError(f"{target} has not been built yet (no result for fingerprint {fp[:12]}); "
                                  f"run the spec first: ragdsl run {plan.spec}")
            index = graph.node(target)
            stores[target] = get_backend(index.params["store"]["call"]).load(store.artifact_dir(fp) / "store")
        elif kind == MODEL and target not in models:
            source = graph.node(target).params["source"] if target in graph else target
            role = "generator" if target in graph and graph.node(target).kind == "model" else "embedder"
            resolved = resolve_model(source, role, lambda written, n=target: _locate(graph, n, written))
            models[target] = materialize(resolved)
        elif kind == FILE:
            files[target] = _locate(graph, node_id, target)
    fp = fingerprints[node_id]
    pipeline = build(spec, Resources(stores=stores, models=models, files=files),
                     metadata={"ragdsl": {"node": node_id, "fingerprint": fp, "spec": plan.spec}})
    return to_yaml(pipeline)


def _locate(graph, node_id: str, written: str) -> Path:
    node = graph.node(node_id)
    return graph.files[dict(node.data)[written]]
