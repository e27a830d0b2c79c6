"""index node: embed passages (when an embedder is set) and write them to a document store."""

from __future__ import annotations

from ragdsl.execute.context import NodeContext, NodeFailed, Output
from ragdsl.execute.runners._io import read_jsonl
from ragdsl.execute.runners.model import materialize_model


def model_folder(reference, role: str, ctx: NodeContext):
    """The local folder of a model named by a node's params: a string, or a model node."""
    locate = None
    if isinstance(reference, dict) and "node" in reference:
        upstream = ctx.upstream(reference)
        reference = upstream.outputs["reference"]

        def locate(written: str):  # files named by the model node, e.g. local("weights/")
            return upstream.locate(ctx.files, written)
    _, folder = materialize_model(reference, role, ctx, locate)
    return folder


def run(ctx: NodeContext) -> Output:
    from ragdsl.backends import Passage, embedding_dimension, get_backend, index_documents

    params = ctx.node.params
    passages = [Passage(r["id"], r["text"], r.get("meta") or {})
                for r in read_jsonl(ctx.input("corpus").folder / "passages.jsonl")]
    embedder = params.get("embedder")
    folder = None
    if embedder is not None:
        ctx.note("loading the embedder")
        folder = model_folder(embedder, "embedder", ctx)
    store_spec = params["store"]
    backend = get_backend(store_spec["call"])
    # Named after the node so the saved store is byte-for-byte reproducible.
    store = backend.create(store_spec["args"], embedding_dimension(folder) if folder else None,
                           name=ctx.node.id)
    ctx.started(total=len(passages), unit="passages")
    reported = 0

    def report(done: int) -> None:  # index_documents gives running totals; progress wants steps
        nonlocal reported
        ctx.advance(done - reported)
        reported = done

    try:
        count = index_documents(store, passages, folder, params["batch_size"], progress=report)
    except ValueError as exc:  # duplicate passage ids
        raise NodeFailed(str(exc), "give every passage its own id (the corpus `id` field)") from exc
    backend.save(store, ctx.workdir / "store")
    embedder_ref = (ctx.upstream(embedder).outputs["reference"]
                    if isinstance(embedder, dict) and "node" in embedder else embedder)
    return Output({"passages": count, "store": store_spec, "embedder": embedder_ref})

