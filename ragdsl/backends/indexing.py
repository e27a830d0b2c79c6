"""Filling a document store: passages -> (embedded) Haystack Documents, written in batches.

Haystack and sentence-transformers are imported inside the functions, so
importing ragdsl.backends stays light.
"""

from __future__ import annotations

import base64
import json
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Passage:
    """A passage to index. Anything with `id`, `text` and (optionally) `meta` attributes will do."""

    id: str
    text: str
    meta: Mapping[str, Any] = field(default_factory=dict)


class BatchJournal(Protocol):
    """Where finished batches are kept across runs (ragdsl.execute.checkpoint.Journal)."""

    def get(self, key: str) -> list | None: ...

    def append(self, key: str, items: Sequence[Any]) -> None: ...


def index_documents(store: Any, passages: Iterable[Any], embedder_folder: str | Path | None,
                    batch_size: int = 32, progress: Callable[[int], None] | None = None, *,
                    device: str | None = None, write: Callable[[list], object] | None = None,
                    journal: BatchJournal | None = None, resumed: Callable[[int], None] | None = None) -> int:
    """Write `passages` into `store` (overwriting documents with the same id), embedding each batch
    with SentenceTransformersDocumentEmbedder when `embedder_folder` is given.

    `write(documents)` replaces `store.write_documents` for backends that batch writes their own
    way (Elasticsearch bulk requests); it is called once per embedding batch.

    With a `journal`, each batch's embeddings are kept there as it finishes and a batch found there
    (same passage ids, same position) is not embedded again: an interrupted index resumes with the
    vectors it had, bit for bit. `resumed(n)` counts the passages so reused.

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

    if embedder is not None:
        # Batches of similar length pad less: what SentenceTransformer.encode does within one
        # call, kept across our batches (measured ~1.3x on SQuAD passages). Order does not
        # matter to the store, which keys documents by id.
        documents.sort(key=lambda d: (len(d.content or ""), d.id))
    done = 0
    warm = False
    for start in range(0, len(documents), batch_size):
        batch = documents[start:start + batch_size]
        if embedder is not None:
            key = _batch_key(start, batch)
            found = journal.get(key) if journal is not None else None
            if found is not None and len(found) == len(batch):
                for document, vector in zip(batch, found):
                    document.embedding = decode_vector(vector)
                if resumed is not None:
                    resumed(len(batch))
            else:
                if not warm:  # loaded only when something is left to embed
                    embedder.warm_up()
                    warm = True
                batch = embedder.run(documents=batch)["documents"]
                if journal is not None:
                    journal.append(key, [encode_vector(d.embedding) for d in batch])
        if write is not None:
            write(batch)
        else:
            store.write_documents(batch, policy=DuplicatePolicy.OVERWRITE)
        done += len(batch)
        if progress is not None:
            progress(done)
    return done


def _batch_key(start: int, batch: Sequence[Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps([start, [d.id for d in batch]]).encode()).hexdigest()[:32]


def encode_vector(vector: Sequence[float]) -> str:
    """A vector as base64 of its float32 bytes when that is exact (sentence-transformers' vectors are
    float32), else of float64 ("d:" prefix): a quarter of the size of JSON numbers, and lossless."""
    packed = array("f", vector)
    if list(packed) == list(vector):
        return base64.b64encode(packed.tobytes()).decode("ascii")
    return "d:" + base64.b64encode(array("d", vector).tobytes()).decode("ascii")


def decode_vector(text: str) -> list[float]:
    kind, data = ("d", text[2:]) if text.startswith("d:") else ("f", text)
    return array(kind, base64.b64decode(data)).tolist()


def embedding_dimension(embedder_folder: str | Path, device: str | None = None) -> int:
    """The size of the vectors a sentence-transformers model produces: read from its saved module
    configs where they say (Transformer, Pooling, Dense, Normalize), else by loading the model."""
    declared = _declared_dimension(Path(embedder_folder))
    if declared is not None:
        return declared
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(embedder_folder), device=device or "cpu")
    dim = model.get_embedding_dimension()
    if dim is None:  # models without a declared size: measure one
        dim = len(model.encode("dimension"))
    return int(dim)


_DIMENSION_FREE = {"Transformer", "Normalize"}  # modules that do not set the output size


def _declared_dimension(folder: Path) -> int | None:
    """The output size from modules.json and the Pooling/Dense configs, or None when unsure (the model
    is loaded then): loading it only for its size costs seconds per dense index."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        size = None
        for module in modules:
            kind = str(module["type"]).rpartition(".")[2]
            config = folder / module.get("path", "") / "config.json"
            if kind in _DIMENSION_FREE:
                continue
            if kind == "Pooling":  # one vector per pooling mode, concatenated
                found = json.loads(config.read_text(encoding="utf-8"))
                if "pooling_mode" in found:  # sentence-transformers 5: `embedding_dimension`, mode(s) by name
                    mode = found["pooling_mode"]
                    modes = len(mode) if isinstance(mode, list) else 1
                    size = int(found["embedding_dimension"]) * modes
                else:
                    modes = sum(bool(v) for k, v in found.items() if k.startswith("pooling_mode_"))
                    size = int(found["word_embedding_dimension"]) * max(1, modes)
            elif kind == "Dense":
                size = int(json.loads(config.read_text(encoding="utf-8"))["out_features"])
            else:
                return None
        return size
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
