"""The Elasticsearch backend: passages in an Elasticsearch 8 cluster, through elasticsearch-haystack.

Selected in a spec with `store = elasticsearch(url = env("ES_URL"))`. The index
node builds (or reuses) a cluster-side index named after its content
(see `mapping`), and its artifact records only where that index is: name,
document count, mapping and its hash, and the store parameters with
environment variable names, never their values. Retrieval uses
`ElasticsearchContentBM25Retriever` (see `retriever` for why) and
elasticsearch-haystack's ElasticsearchEmbeddingRetriever (kNN).

Nothing here imports elasticsearch or haystack until a method runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragdsl.backends.base import BackendError
from ragdsl.backends.elasticsearch.connection import Connection, connect, redact_url
from ragdsl.backends.elasticsearch.mapping import FORMAT, field_types, index_key, index_name, index_template
from ragdsl.lower.spec import BM25_ELASTICSEARCH, DENSE_ELASTICSEARCH

STORE_FILE = "store.json"
INSTALL_HINT = "install it with `pip install 'ragdsl[elasticsearch]'`"


class ElasticsearchBackend:
    name = "elasticsearch"
    retrievers = {"bm25": BM25_ELASTICSEARCH, "dense": DENSE_ELASTICSEARCH}

    def __init__(self) -> None:
        self._records: dict[int, dict] = {}  # id(store) -> artifact record, for save()

    def create(self, params: dict, embedding_dim: int | None, *, name: str | None = None) -> Any:
        """An ElasticsearchDocumentStore on a new ragdsl index (the index runner uses `open_index`)."""
        from ragdsl.backends.elasticsearch.indexer import open_index

        handle = open_index(params, embedding_dim, node=name or "index", key=_random_key(), fields={})
        return self._remember(handle)

    def content_key(self, corpus: str, embedder: object, data, metas) -> tuple[str, dict[str, str]]:
        """(the key the index is named by, the metadata fields' types) for passages with these `metas`."""
        fields = field_types(metas)
        return index_key(corpus, embedder, data, fields), fields

    def open_index(self, params: dict, embedding_dim: int | None | Callable[[], int | None], *, node: str,
                   key: str, fields: dict[str, str], base: Path | None = None) -> Any:
        _require_packages()
        from ragdsl.backends.elasticsearch.indexer import open_index

        handle = open_index(params, embedding_dim, node=node, key=key, fields=fields, base=base)
        self._remember(handle)
        return handle

    def save(self, store: Any, folder: Path) -> None:
        from ragdsl.execute.store import atomic_write_text

        handle = self._records.pop(id(store), None)
        if handle is None or not handle.complete:
            raise ValueError("only a finished ragdsl index can be saved (IndexHandle.finish first)")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / STORE_FILE, json.dumps(handle.record(), sort_keys=True, indent=1) + "\n")

    def load(self, folder: Path) -> Any:
        _require_packages()
        from ragdsl.backends.elasticsearch.indexer import load_index

        path = Path(folder) / STORE_FILE
        with path.open(encoding="utf-8") as f:  # FileNotFoundError when nothing was saved
            record = json.load(f)
        if record.get("format") != FORMAT:
            raise ValueError(f"{path} does not describe a ragdsl Elasticsearch index")
        try:
            return load_index(record)
        except BackendError as exc:
            raise BackendError(str(exc), f"{exc.hint} (the cached result: {Path(folder).parent})") from exc

    def describe(self, params: dict) -> str:
        url = params.get("url")
        shown = f"${url['env']}" if isinstance(url, dict) and "env" in url else redact_url(str(url))
        index = params.get("index")
        return f"elasticsearch at {shown}" + (f", index {index}" if index else "")

    def explain(self, exc: BaseException, params: dict, what: str) -> BackendError | None:
        """A BackendError for `exc` if it is a cluster failure (while doing `what`), else None."""
        from ragdsl.backends.elasticsearch.retry import as_backend_error

        try:
            error = as_backend_error(exc, what, connect(params))
        except BackendError:  # the store's settings no longer resolve: not this failure
            return None
        return error if isinstance(error, BackendError) else None

    def ping(self, params: dict, base: Path | None = None) -> str:
        return ping(params, base)

    def _remember(self, handle: Any) -> Any:
        self._records[id(handle.store)] = handle
        return handle.store


def ping(params: dict, base: Path | None = None) -> str:
    """Contact the cluster an `elasticsearch(...)` store names; its version and health, or BackendError."""
    _require_packages()
    from ragdsl.backends.elasticsearch.retry import retrying

    conn = connect(params, base)
    client = conn.client()
    info = retrying(client.info, "asking for its version", conn, attempts=1)
    health = retrying(lambda: client.cluster.health(), "asking for cluster health", conn, attempts=1)
    return (f"Elasticsearch {info['version']['number']} at {conn.display}: "
            f"cluster {health.get('cluster_name', '?')} is {health.get('status', '?')}")


def _require_packages() -> None:
    import importlib.util

    for module in ("elasticsearch", "haystack_integrations.document_stores.elasticsearch"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise BackendError(f"the elasticsearch store needs the {module.split('.')[0]} package", INSTALL_HINT)


def _random_key() -> str:
    import uuid

    return uuid.uuid4().hex * 2


__all__ = ["Connection", "ElasticsearchBackend", "FORMAT", "connect", "field_types", "index_key", "index_name",
           "index_template", "ping", "redact_url"]
