"""Building (or reusing) one ragdsl index on a cluster.

`open_index` looks the index up by name. One whose `_meta.ragdsl` carries the
same content key, `complete: true` and the recorded document count is reused
as is. One that ragdsl started but did not finish (killed mid-bulk, cluster
restarted), or built for other content under a user-chosen name, is deleted
and rebuilt. An index ragdsl did not create is never touched.

Building: the index is created with the explicit mapping and refresh turned
off, documents go in bulk requests of BULK_DOCS, then one refresh, refresh
back on, a count check, and last the completion marker in `_meta`: an index
without it is never reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragdsl.backends.base import BackendError
from ragdsl.backends.elasticsearch import mapping as M
from ragdsl.backends.elasticsearch.connection import Connection, connect
from ragdsl.backends.elasticsearch.retry import retrying

# Documents per bulk request: with 384-dim embeddings about 4 MB, well under the 100 MB
# http.max_content_length, and large enough that per-request overhead stops mattering.
BULK_DOCS = 500


@dataclass
class IndexHandle:
    store: Any  # ElasticsearchDocumentStore on `name`
    client: Any  # elasticsearch.Elasticsearch, for index administration
    conn: Connection
    name: str
    key: str
    node: str
    body: dict  # the mapping, without _meta
    params: dict  # the store call's canonical args (environment variable names, never values)
    complete: bool = False  # reused: already holds every document
    documents: int = 0
    _buffer: list = field(default_factory=list)
    _written: int = 0

    def write(self, documents: list) -> None:
        """Queue Haystack Documents; full bulk requests are sent as they fill."""
        self._buffer.extend(documents)
        while len(self._buffer) >= BULK_DOCS:
            self._send(self._buffer[:BULK_DOCS])
            del self._buffer[:BULK_DOCS]

    def finish(self, count: int) -> None:
        """Send the rest, make everything searchable, check the count, and mark the index complete."""
        if self._buffer:
            self._send(self._buffer)
            self._buffer = []
        indices = self.client.indices
        retrying(lambda: indices.refresh(index=self.name), f"refreshing index {self.name}", self.conn)
        retrying(lambda: indices.put_settings(index=self.name, settings=M.LOADED_SETTINGS),
                 f"re-enabling refresh on index {self.name}", self.conn)
        stored = retrying(lambda: self.client.count(index=self.name)["count"], f"counting index {self.name}",
                          self.conn)
        if stored != count:
            raise BackendError(f"index {self.name} on {self.conn.display} holds {stored} documents after "
                               f"indexing {count}", "another process may be writing to the same index; run again")
        retrying(lambda: indices.put_mapping(index=self.name, meta=M.meta_block(self.key, self.node, complete=True,
                                                                                documents=count)),
                 f"marking index {self.name} complete", self.conn)
        self.complete, self.documents = True, count

    def record(self) -> dict:
        """What the index node's artifact holds: where the documents are, not the documents."""
        return {"format": M.FORMAT, "index": self.name, "key": self.key, "documents": self.documents,
                "mapping": self.body, "mapping_sha256": M.mapping_sha256(self.body), "store": self.params,
                "ca_certs_path": self.conn.ca_certs}

    def _send(self, documents: list) -> None:
        from haystack.document_stores.types import DuplicatePolicy

        # Overwrite by id: a retried bulk request is idempotent.
        retrying(lambda: self.store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE, refresh=False),
                 f"bulk-indexing into {self.name} ({self._written} documents written so far)", self.conn)
        self._written += len(documents)


def open_index(params: dict, embedding_dim: int | None | Callable[[], int | None], *, node: str, key: str,
               fields: dict[str, str], base: Path | None = None) -> IndexHandle:
    """The handle for the index named by `key` (or the spec's `index`): reused when complete, else new.

    `embedding_dim` may be a function: it is called only when the index has to be built, so reusing
    an index never loads the embedder (its identity is part of `key` already).
    """
    conn = connect(params, base)
    name = M.index_name(key, params.get("index"))
    client = conn.client()

    existing = retrying(lambda: _mapping_of(client, name), f"looking up index {name}", conn)
    if existing is not None:
        meta = (existing.get("_meta") or {}).get("ragdsl")
        if not isinstance(meta, dict):
            raise BackendError(f"index {name} on {conn.display} exists and was not created by ragdsl",
                               "name another index with elasticsearch(index = ...), or delete this one yourself: "
                               "ragdsl only replaces indexes it created")
        if meta.get("key") == key and meta.get("complete") is True:
            count = retrying(lambda: client.count(index=name)["count"], f"counting index {name}", conn)
            if count == meta.get("documents"):
                body = {k: v for k, v in existing.items() if k != "_meta"}
                return IndexHandle(_store(conn, name, body), client, conn, name, key, node, body, params,
                                   complete=True, documents=count)
        # half-built, or built from other content under this name: ours to replace
        retrying(lambda: client.indices.delete(index=name, ignore_unavailable=True),
                 f"deleting the stale index {name}", conn)
    body = M.mapping(embedding_dim() if callable(embedding_dim) else embedding_dim, fields)
    retrying(lambda: client.indices.create(index=name, mappings={**body, "_meta": M.meta_block(key, node,
                                                                                               complete=False)},
                                           settings=M.LOADING_SETTINGS),
             f"creating index {name}", conn)
    return IndexHandle(_store(conn, name, body), client, conn, name, key, node, body, params)


def load_index(record: dict) -> Any:
    """An ElasticsearchDocumentStore on a finished index, checked to still be there and complete."""
    params = dict(record["store"])
    if record.get("ca_certs_path"):
        params["ca_certs"] = record["ca_certs_path"]
    conn = connect(params)
    name = record["index"]
    existing = retrying(lambda: _mapping_of(conn.client(), name), f"looking up index {name}", conn)
    meta = ((existing or {}).get("_meta") or {}).get("ragdsl") or {}
    if meta.get("key") != record["key"] or meta.get("complete") is not True:
        state = "is gone from" if existing is None else "was replaced or left incomplete on"
        raise BackendError(f"index {name} {state} {conn.display} since this result was cached",
                           "delete the cached index node's result folder and run again to rebuild it")
    return _store(conn, name, record["mapping"])


def _store(conn: Connection, name: str, body: dict) -> Any:
    from haystack_integrations.document_stores.elasticsearch import ElasticsearchDocumentStore

    return ElasticsearchDocumentStore(index=name, custom_mapping=body, embedding_similarity_function=M.SIMILARITY,
                                      **conn.store_kwargs())


def _mapping_of(client: Any, name: str) -> dict | None:
    from elasticsearch import NotFoundError

    try:
        found = client.indices.get_mapping(index=name)
    except NotFoundError:
        return None
    found = found.body if hasattr(found, "body") else found
    if name in found:
        return found[name].get("mappings") or {}
    return next(iter(found.values()), {}).get("mappings") or {}  # an alias: its (single) index
