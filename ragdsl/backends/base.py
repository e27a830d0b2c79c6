"""The document-store backend protocol: what an index node needs from a place that stores passages.

A backend creates an empty Haystack document store from an index's `store`
parameters, saves a filled store into the index node's artifact folder and
loads it back, and names the Haystack retriever classes that search it.
Backends import their heavy dependencies only inside these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ragdsl.cli_errors import UserError


class BackendError(UserError):
    """A store cannot be used for a reason the user can fix (cluster down, credentials, a missing
    environment variable). `hint` says what to check; neither part ever holds a secret. A UserError,
    so any command it reaches (export, say) exits 1 with the message and hint, not a traceback."""


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


@runtime_checkable
class ServerBackend(Protocol):
    """A backend whose documents live on a server (Elasticsearch): the index runner opens the
    server-side index by a content key instead of filling a fresh store, so an index already built
    from the same corpus and embedder is reused, and a half-built one is rebuilt.

    Optional, looked up with getattr: `ping(params, base) -> str` (`ragdsl check --online`) and
    `explain(exc, params, what) -> BackendError | None` (a query-time failure, in user terms)."""

    def content_key(self, corpus: str, embedder: object, data: Iterable[tuple[str, str]],
                    metas: Iterable[Mapping[str, Any]]) -> tuple[str, dict[str, str]]:
        """(content key, metadata field types) from the corpus node's fingerprint, the embedder's
        identity, the index node's data identities and the passages' metadata."""
        ...

    def open_index(self, params: dict, embedding_dim: int | None | Callable[[], int | None], *, node: str,
                   key: str, fields: dict[str, str], base: Path | None = None) -> Any:
        """An IndexHandle (see ragdsl.backends.elasticsearch.indexer) for the index named by `key`;
        `embedding_dim` (or the function giving it) is used only when the index must be built."""
        ...
