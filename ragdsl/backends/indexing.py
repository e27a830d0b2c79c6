"""Filling a document store: passages -> (embedded) Haystack Documents, written in batches.

Haystack and sentence-transformers are imported inside the functions, so
importing ragdsl.backends stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A passage to index. Anything with `id`, `text` and (optionally) `meta` attributes will do."""

    id: str
    text: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def index_documents(store: Any, passages: Iterable[Any], embedder_folder: str | Path | None,
                    batch_size: int = 32, progress: Callable[[int], None] | None = None, *,
                    device: str | None = None, write: Callable[[list], object] | None = None) -> int:
    """Write `passages` into `store` (overwriting documents with the same id), embedding each batch
    with SentenceTransformersDocumentEmbedder when `embedder_folder` is given.

    `write(documents)` replaces `store.write_documents` for backends that batch writes their own
    way (Elasticsearch bulk requests); it is called once per embedding batch.

    Calls `progress(done)` with the running count after each batch; returns the count.
    Raises ValueError on duplicate passage ids (a corpus must give each passage its own id).
    """
    from haystack import Document
    from haystack.document_stores.types import DuplicatePolicy

    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    documents = []
    seen: set[str] = set()
    for p in passages:
        pid = str(p.id)
        if pid in seen:
            raise ValueError(f"duplicate passage id {pid!r}")
        seen.add(pid)
        documents.append(Document(id=pid, content=p.text, meta=dict(getattr(p, "meta", None) or {})))

    embedder = None
    if embedder_folder is not None:
        embedder = _document_embedder(embedder_folder, batch_size, device)
        embedder.warm_up()

    if embedder is not None:
        # Batches of similar length pad less: what SentenceTransformer.encode does within one
        # call, kept across our batches (measured ~1.3x on SQuAD passages). Order does not
        # matter to the store, which keys documents by id.
        documents.sort(key=lambda d: (len(d.content or ""), d.id))
    done = 0
    for start in range(0, len(documents), batch_size):
        batch = documents[start:start + batch_size]
        if embedder is not None:
            batch = embedder.run(documents=batch)["documents"]
        if write is not None:
            write(batch)
        else:
            store.write_documents(batch, policy=DuplicatePolicy.OVERWRITE)
        done += len(batch)
        if progress is not None:
            progress(done)
    return done


def embedding_dimension(embedder_folder: str | Path, device: str | None = None) -> int:
    """The size of the vectors a sentence-transformers model produces (loads the model)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(embedder_folder), device=device or "cpu")
    dim = model.get_embedding_dimension()
    if dim is None:  # models without a declared size: measure one
        dim = len(model.encode("dimension"))
    return int(dim)


def _document_embedder(folder: str | Path, batch_size: int, device: str | None) -> Any:
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )

    kwargs: dict[str, Any] = {}
    if device is not None:
        from haystack.utils import ComponentDevice

        kwargs["device"] = ComponentDevice.from_str(device)
    return SentenceTransformersDocumentEmbedder(model=str(folder), batch_size=batch_size, progress_bar=False,
                                                **kwargs)
