"""retrieve node: each question's passages, from a real Haystack retrieval pipeline.

Stored per question (contexts.jsonl) so that every system of an evaluation
that shares this node answers from exactly the same passages.
"""

from __future__ import annotations

from ragdsl.execute.context import NodeContext, NodeFailed, Output
from ragdsl.execute.runners._io import write_jsonl
from ragdsl.execute.runners.index import model_folder
from ragdsl.execute.runners.questions import load


def indexes(value) -> list[str]:
    """Index node ids referenced anywhere in a retriever's params."""
    if isinstance(value, dict):
        if "node" in value and str(value["node"]).startswith("index."):
            return [value["node"]]
        return [i for v in value.values() for i in indexes(v)]
    if isinstance(value, list):
        return [i for v in value for i in indexes(v)]
    return []


def retrieval_pipeline(ctx: NodeContext, retrieve: dict, rerank: dict | None):
    """(PipelineSpec, built haystack.Pipeline) for a retriever, over the stores its indexes saved."""
    from ragdsl.backends import BackendError, get_backend
    from ragdsl.lower import describe_retrieval, index_info
    from ragdsl.lower.haystack import Resources, build
    from ragdsl.lower.spec import MODEL, iter_references

    infos, stores = {}, {}
    for node_id in sorted(set(indexes(retrieve))):
        result = ctx.upstream(node_id)
        infos[node_id] = index_info(node_id, result.outputs)
        try:
            stores[node_id] = get_backend(result.outputs["store"]["call"]).load(result.folder / "store")
        except BackendError as exc:
            raise NodeFailed(f"cannot open {node_id}: {exc}", exc.hint) from exc
    spec = describe_retrieval(retrieve, rerank, infos.__getitem__)
    models = {}
    for _, kind, target in iter_references(spec):
        if kind == MODEL and target not in models:
            role = "reranker" if rerank is not None and target == _rerank_model(rerank) else "embedder"
            source = {"node": target} if target in ctx.results else target
            models[target] = model_folder(source, role, ctx)
    return spec, build(spec, Resources(stores=stores, models=models))


def _rerank_model(rerank: dict) -> str:
    from ragdsl.lower import model_reference

    return model_reference(rerank["args"]["model"])


def run(ctx: NodeContext) -> Output:
    from ragdsl.lower.run import retrieve

    params = ctx.node.params
    questions = load(ctx.upstream(params["questions"]), params["questions"].get("part", ""))
    if params.get("limit"):
        questions = questions[: params["limit"]]
    ctx.note("building the retrieval pipeline")
    spec, pipeline = retrieval_pipeline(ctx, params["retrieve"], params.get("rerank"))
    ctx.started(total=len(questions), unit="questions")
    try:
        found = retrieve(pipeline, spec, [q["question"] for q in questions], progress=lambda _: ctx.advance())
    except Exception as exc:  # a cluster that went away or refused the query: say which and why
        failure = _store_failure(exc, params["retrieve"], ctx)
        if failure is None:
            raise
        raise failure from exc
    write_jsonl(ctx.workdir / "contexts.jsonl", (
        {"id": q["id"], "documents": [{"id": d.id, "text": d.content, "score": d.score, "meta": d.meta}
                                      for d in docs]}
        for q, docs in zip(questions, found)))
    return Output({"questions": len(questions), "passages": sum(len(d) for d in found)})


def _store_failure(exc: BaseException, retrieve: dict, ctx: NodeContext) -> NodeFailed | None:
    """NodeFailed when a server-backed store (a backend with `explain`) recognises `exc` as its
    failure (cluster gone, query refused), else None."""
    from ragdsl.backends import get_backend

    stores = [(node_id, ctx.upstream(node_id).outputs["store"]) for node_id in indexes(retrieve)]
    cause: BaseException | None = exc
    while cause is not None:  # Haystack wraps component errors (PipelineRuntimeError)
        for node_id, store in stores:
            explain = getattr(get_backend(store["call"]), "explain", None)
            error = explain(cause, store["args"], f"searching {node_id}") if explain else None
            if error is not None:
                return NodeFailed(str(error), error.hint)
        cause = cause.__cause__ or cause.__context__
    return None
