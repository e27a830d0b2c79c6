"""index node: embed passages (when an embedder is set) and write them to a document store."""

from __future__ import annotations

from pathlib import Path

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
    from ragdsl.backends import BackendError, Passage, ServerBackend, embedding_dimension, get_backend

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
    embedder_ref = (ctx.upstream(embedder).outputs["reference"]
                    if isinstance(embedder, dict) and "node" in embedder else embedder)

    def dimension() -> int | None:
        return embedding_dimension(folder) if folder else None

    try:
        if isinstance(backend, ServerBackend):  # an index reused on the server needs no model at all
            count = _server_index(ctx, backend, passages, folder, dimension)
        else:
            # Named after the node so the saved store is byte-for-byte reproducible.
            store = backend.create(store_spec["args"], dimension(), name=ctx.node.id)
            count = _fill(ctx, store, passages, folder)
            backend.save(store, ctx.workdir / "store")
    except BackendError as exc:
        raise NodeFailed(str(exc), exc.hint) from exc
    return Output({"passages": count, "store": store_spec, "embedder": embedder_ref})


def _fill(ctx: NodeContext, store, passages: list, folder, write=None) -> int:
    ctx.started(total=len(passages), unit="passages")
    reported = 0

    def report(done: int) -> None:  # index_documents gives running totals; progress wants steps
        nonlocal reported
        ctx.advance(done - reported)
        reported = done

    from ragdsl.backends import index_documents

    journal = ctx.checkpoint.journal("embeddings") if ctx.checkpoint is not None and folder is not None else None

    def reused(n: int) -> None:
        nonlocal reported
        ctx.resumed(n)
        reported += n

    def step(done: int) -> None:
        report(done)
        if journal is not None and ctx.checkpoint is not None:
            ctx.checkpoint.set_progress(done, len(passages), "passages embedded")

    try:
        return index_documents(store, passages, folder, ctx.node.params["batch_size"], progress=step, write=write,
                               journal=journal, resumed=reused)
    except ValueError as exc:  # duplicate passage ids
        raise NodeFailed(str(exc), "give every passage its own id (the corpus `id` field)") from exc


def _server_index(ctx: NodeContext, backend, passages: list, folder, dimension) -> int:
    """Build the server-side index, or reuse the one already built from the same content."""
    params = ctx.node.params
    args = params["store"]["args"]
    embedder = params.get("embedder")
    embedder_id = (ctx.upstream(embedder).fingerprint if isinstance(embedder, dict) and "node" in embedder
                   else embedder)
    key, fields = backend.content_key(ctx.input("corpus").fingerprint, embedder_id, ctx.node.data,
                                      (p.meta for p in passages))
    ctx.note("connecting to the document store")
    handle = backend.open_index(args, dimension, node=ctx.node.id, key=key, fields=fields, base=_ca_base(ctx, args))
    if handle.complete:
        ctx.note(f"reusing index {handle.name} ({handle.documents} documents)")
        count = handle.documents
    else:
        count = _fill(ctx, handle.store, passages, folder, write=handle.write)
        ctx.note(f"refreshing index {handle.name}")
        handle.finish(count)
    backend.save(handle.store, ctx.workdir / "store")
    return count


def _ca_base(ctx: NodeContext, args: dict):
    """The folder a relative `ca_certs` path is read from: the spec's (where the index is declared)."""
    ca = args.get("ca_certs")
    if ca is None:
        return None
    declared = Path(str(ctx.node.span.file))
    return declared.resolve().parent if declared.is_file() else None
