"""What ragdsl creates on the cluster: index names, mappings and settings.

An index is named after a content key (`index_key`): the corpus node's
fingerprint (corpus, split, data), the embedder's identity and the mapping,
so the same passages embedded by the same model land in the same index for
every run and every team, and anything that changes the documents gives a new
name. Connection settings (URL, credentials, timeout) are not part of it.

The mapping is explicit: `content` is `text` with the standard analyzer
(lower-cased Unicode words, what BM25 retrieval in the in-memory store scores
too), `embedding` a `dense_vector` with the embedder's dimension and cosine
similarity (what SentenceTransformers models are trained for) in a float HNSW graph, `id` and string
metadata `keyword` (exact filters), numbers and booleans their own types.
backends/elasticsearch/index-template.json is `index_template()` for cluster admins.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

FORMAT = "ragdsl.elasticsearch-index/1"
PREFIX = "ragdsl-"
SIMILARITY = "cosine"
# Float HNSW, not Elasticsearch 8's default int8_hnsw: quantized vectors reorder close neighbours,
# and an experiment comparing retrievers or backends needs the embedder's own similarities.
# (m and ef_construction are Elasticsearch's defaults, written out so the mapping says what it is.)
VECTOR_INDEX = {"type": "hnsw", "m": 16, "ef_construction": 100}
ANALYZER = "standard"
# While bulk loading, refreshing makes every segment twice; one refresh at the end is enough.
LOADING_SETTINGS = {"index": {"refresh_interval": "-1"}}
LOADED_SETTINGS = {"index": {"refresh_interval": None}}  # back to the cluster's default (1 s)
RESERVED = ("id", "content", "embedding", "score", "blob", "sparse_embedding")


def canonical(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def index_key(corpus_fingerprint: str, embedder: object, data: Iterable[tuple[str, str]],
              fields: Mapping[str, str]) -> str:
    """The content key an index is named by (sha256 hex). The vectors' dimension is the embedder's,
    so the embedder's identity stands for it: the key is known without loading the model."""
    layout = mapping(None, fields)
    material = {"format": FORMAT, "corpus": corpus_fingerprint, "embedder": embedder,
                "data": sorted([list(d) for d in data]), "mapping": mapping_sha256(layout),
                "vectors": {"similarity": SIMILARITY, "index": VECTOR_INDEX} if embedder is not None else None}
    return hashlib.sha256(canonical(material).encode("utf-8")).hexdigest()


def index_name(key: str, explicit: str | None = None) -> str:
    """The spec's `index = "..."` when given, else `ragdsl-<first 24 hex digits of the key>`."""
    return explicit if explicit else f"{PREFIX}{key[:24]}"


def field_types(metas: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """An Elasticsearch type per metadata field, from every passage's values (sorted by name).

    Mixed numbers become `double`; anything else mixed, and lists of strings, `keyword`.
    Fields Haystack keeps for itself are skipped.
    """
    seen: dict[str, str] = {}
    for meta in metas:
        for name, value in meta.items():
            if name in RESERVED or value is None:
                continue
            kind = _type_of(value)
            if kind is None:
                continue
            previous = seen.get(name)
            seen[name] = kind if previous is None else _join(previous, kind)
    return dict(sorted(seen.items()))


def mapping(embedding_dim: int | None, fields: Mapping[str, str]) -> dict:
    """The index mapping (without `_meta`)."""
    properties: dict[str, dict] = {"id": {"type": "keyword"},
                                   "content": {"type": "text", "analyzer": ANALYZER}}
    if embedding_dim is not None:
        properties["embedding"] = {"type": "dense_vector", "dims": int(embedding_dim), "index": True,
                                   "similarity": SIMILARITY, "index_options": dict(VECTOR_INDEX)}
    for name, kind in sorted(fields.items()):
        properties[name] = {"type": kind}
    return {
        # Unforeseen string fields are exact-match keywords, as ElasticsearchDocumentStore's default does.
        "dynamic_templates": [{"strings": {"path_match": "*", "match_mapping_type": "string",
                                           "mapping": {"type": "keyword"}}}],
        "properties": properties,
    }


def mapping_sha256(value: dict) -> str:
    body = {k: v for k, v in value.items() if k != "_meta"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def meta_block(key: str, node: str, *, complete: bool, documents: int | None = None) -> dict:
    """`_meta.ragdsl` of a ragdsl index: `complete` is written last, after the final refresh."""
    block: dict[str, object] = {"format": FORMAT, "key": key, "built_by": node, "complete": complete}
    if documents is not None:
        block["documents"] = documents
    return {"ragdsl": block}


def index_template(embedding_dim: int = 384) -> dict:
    """A composable index template matching what ragdsl creates (for `PUT _index_template/ragdsl`)."""
    body = mapping(embedding_dim, {})
    return {
        "index_patterns": [f"{PREFIX}*"],
        "priority": 100,
        "_meta": {"description": "ragdsl document indexes; embedding.dims must match the index's embedder "
                                 "(384 for all-MiniLM-L6-v2). ragdsl sends this mapping itself on create.",
                  "format": FORMAT},
        "template": {"settings": {"index": {"number_of_shards": 1}}, "mappings": body},
    }


def _type_of(value: object) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "keyword"
    if isinstance(value, list) and value:
        kinds = {_type_of(v) for v in value if v is not None}
        return kinds.pop() if len(kinds) == 1 else "keyword"
    return None  # objects: left to dynamic mapping


def _join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"long", "double"}:
        return "double"
    return "keyword"


__all__ = ["FORMAT", "PREFIX", "field_types", "index_key", "index_name", "index_template", "mapping",
           "mapping_sha256", "meta_block"]
