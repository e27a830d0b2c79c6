"""index node: embed passages (when an embedder is set) and write them to a document store."""

from __future__ import annotations

from ragdsl.execute.context import NodeContext, Output
from ragdsl.execute.runners._io import read_jsonl
from ragdsl.execute.runners.model import materialize_model


def embedder_folder(embedder, ctx: NodeContext):
    """The local folder of an index's embedder, or None for keyword-only indexes."""
    if embedder is None:
        return None
    if isinstance(embedder, dict) and "node" in embedder:
        source = ctx.upstream(embedder).outputs.get("reference") or embedder
        embedder = source
    _, folder = materialize_model(embedder, "embedder", ctx)
    return folder


def run(ctx: NodeContext) -> Output:
    from ragdsl.backends import get_backend, index_documents

    params = ctx.node.params
    passages = list(read_jsonl(ctx.input("corpus").folder / "passages.jsonl"))
    folder = embedder_folder(params.get("embedder"), ctx)
    store_spec = params["store"]
    backend = get_backend(store_spec["call"])
    store = backend.create(store_spec["args"], embedding_dim=None)
    ctx.started(total=len(passages), unit="passages")
    index_documents(store, passages, folder, params["batch_size"], progress=ctx.advance)
    backend.save(store, ctx.workdir / "store")
    return Output({"passages": len(passages), "embedded": folder is not None, "store": store_spec["call"]})
