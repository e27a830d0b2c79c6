"""The embedded backend: Haystack's InMemoryDocumentStore, saved as one JSON file.

The file is exactly what `InMemoryDocumentStore.save_to_disk` writes (the
store's `to_dict()` plus its documents, embeddings included), so a team can
load an index without ragdsl: `InMemoryDocumentStore.load_from_disk(path)`.
ragdsl writes it atomically (a temporary file, fsynced, renamed over the old
one) and marks it `shared: true` under the index node's name, which is what
lets a pipeline exported as YAML find the documents (see ragdsl.lower.haystack.to_yaml).
Stores ragdsl itself creates or loads are not shared (`shared=False`): their
memory is freed with them and two loads never see each other's documents.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from ragdsl.execute.store import atomic_write
from ragdsl.lower.spec import BM25_MEMORY, DENSE_MEMORY

STORE_FILE = "store.json"
FORMAT = "ragdsl.memory-store/1"
BM25_VARIANTS = ("BM25Okapi", "BM25L", "BM25Plus")
_TYPE = "haystack.document_stores.in_memory.document_store.InMemoryDocumentStore"


class MemoryBackend:
    name = "memory"
    retrievers = {"bm25": BM25_MEMORY, "dense": DENSE_MEMORY}

    def create(self, params: dict, embedding_dim: int | None, *, name: str | None = None) -> Any:
        """An empty InMemoryDocumentStore. Embeddings are compared by cosine similarity (any dimension)."""
        from haystack.document_stores.in_memory import InMemoryDocumentStore

        algorithm = params.get("bm25", "BM25L")
        if algorithm not in BM25_VARIANTS:
            raise ValueError(f"unknown BM25 variant {algorithm!r} (one of {', '.join(BM25_VARIANTS)})")
        return InMemoryDocumentStore(bm25_algorithm=algorithm, embedding_similarity_function="cosine",
                                     index=name or f"ragdsl-{uuid.uuid4()}", shared=False)

    def save(self, store: Any, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        data = store.to_dict()
        data["init_parameters"]["shared"] = True
        documents = sorted(store.storage.values(), key=lambda d: d.id)
        data["documents"] = [doc.to_dict(flatten=False) for doc in documents]
        data["ragdsl"] = {"format": FORMAT, "documents": len(documents)}
        atomic_write(folder / STORE_FILE,
                     lambda f: json.dump(data, f, ensure_ascii=False, allow_nan=False, separators=(",", ":")))

    def load(self, folder: Path) -> Any:
        from haystack import Document
        from haystack.document_stores.in_memory import InMemoryDocumentStore
        from haystack.document_stores.types import DuplicatePolicy

        path = Path(folder) / STORE_FILE
        with path.open(encoding="utf-8") as f:  # FileNotFoundError when nothing was saved
            data = json.load(f)
        if data.get("type") != _TYPE:
            raise ValueError(f"{path} does not hold an InMemoryDocumentStore")
        init = dict(data.get("init_parameters", {}), shared=False)
        store = InMemoryDocumentStore.from_dict({"type": _TYPE, "init_parameters": init})
        store.write_documents([Document.from_dict(d) for d in data["documents"]], policy=DuplicatePolicy.OVERWRITE)
        return store

    def describe(self, params: dict) -> str:
        return f"in-memory ({params.get('bm25', 'BM25L')})"
