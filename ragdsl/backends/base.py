"""The document-store backend protocol: what an index node needs from a place that stores passages.

A backend creates an empty Haystack document store from an index's `store`
parameters, saves a filled store into the index node's artifact folder and
loads it back, and names the Haystack retriever classes that search it.
Backends import their heavy dependencies only inside these methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class DocumentStoreBackend(Protocol):
    name: str  # the store constructor's name in specs: memory(), elasticsearch(...)
    retrievers: Mapping[str, str]  # retrieval method ("bm25", "dense") -> Haystack retriever class

    def create(self, params: dict, embedding_dim: int | None, *, name: str | None = None) -> Any:
        """A new, empty document store. `params` are the store call's canonical args; `name`
        (the index node id) names the store where the backend has names (an index, a collection)."""
        ...

    def save(self, store: Any, folder: Path) -> None:
        """Persist `store` into `folder` (all-or-nothing: a failed save leaves the previous save intact)."""
        ...

    def load(self, folder: Path) -> Any:
        """The store saved in `folder`. Raises FileNotFoundError when nothing was saved there."""
        ...

    def describe(self, params: dict) -> str:
        """One line for plans and logs, e.g. "in-memory (BM25L)"."""
        ...
