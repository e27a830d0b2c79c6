"""corpus node: read documents, cut them into passages (Haystack DocumentSplitter)."""

from __future__ import annotations

from ragdsl.execute.context import NodeContext, NodeFailed, Output
from ragdsl.execute.runners._io import write_jsonl

# The spec's units -> DocumentSplitter's split_by. Sentences are cut at periods:
# Haystack's NLTK sentence tokenizer needs data that is downloaded at run time.
SPLIT_BY = {"words": "word", "sentences": "period", "passages": "passage", "lines": "line"}


def run(ctx: NodeContext) -> Output:
    from ragdsl.data import DataError, read_corpus

    params = ctx.node.params
    ctx.note("reading documents")
    try:
        documents = read_corpus(params["source"], ctx.locate)
    except DataError as exc:
        raise NodeFailed(exc.message, exc.hint) from exc
    if params.get("limit"):
        documents = documents[: params["limit"]]
    if not documents:
        raise NodeFailed("the corpus has no documents", "check the source path and its field names")
    passages = split(documents, params.get("split"), ctx)
    count = write_jsonl(ctx.workdir / "passages.jsonl", passages)
    return Output({"documents": len(documents), "passages": count})


def split(documents, splitter: dict | None, ctx: NodeContext) -> list[dict]:
    """Passages as records {id, text, meta}; ids say which document and chunk they come from."""
    if splitter is None:
        return [{"id": d.id, "text": d.text, "meta": d.meta} for d in documents]
    from haystack import Document
    from haystack.components.preprocessors import DocumentSplitter

    args = splitter["args"]
    component = DocumentSplitter(split_by=SPLIT_BY[splitter["call"]], split_length=args["size"],
                                 split_overlap=args["overlap"])
    component.warm_up()
    ctx.started(total=len(documents), unit="documents")
    out: list[dict] = []
    for doc in documents:
        pieces = component.run(documents=[Document(id=doc.id, content=doc.text, meta=dict(doc.meta))])
        for i, piece in enumerate(pieces["documents"]):
            if not (piece.content or "").strip():
                continue
            meta = {k: v for k, v in piece.meta.items() if k not in ("source_id", "page_number",
                                                                       "split_idx_start", "_split_overlap")}
            meta["document"] = doc.id
            out.append({"id": f"{doc.id}#{i}", "text": piece.content.strip(), "meta": meta})
        ctx.advance()
    return out
