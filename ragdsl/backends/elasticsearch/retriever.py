"""BM25 over the passage text of an ElasticsearchDocumentStore.

elasticsearch-haystack's ElasticsearchBM25Retriever sends a `multi_match`
without `fields`, which Elasticsearch runs over every field of the index
(`index.query.default_field: *`), with `fuzziness: AUTO`. For RAG over
passages that is the wrong relevance signal:

- metadata is scored as if it were passage text: a `title` repeated on every
  chunk of an article lifts all of them for a title word, and keyword fields
  (ids, file names, tags) add whole-value matches to the score;
- fuzzy expansion makes "blood" match "flood" and pushes exact terms down, so
  the same index ranks differently from classic BM25 and from the in-memory
  backend, which defeats comparing backends by switching one line of a spec.

This retriever asks the same store for classic BM25 on named fields (`content`
by default) with no fuzziness unless asked for: what Haystack 1.x did by default
(`search_fields=["content"]`). Filters, top_k, scale_score and filter_policy
behave exactly as in the stock retriever, and it serializes like it, plus
`fields` and `return_embedding` (False by default, as for Haystack's in-memory
retrievers: hits come back without their vectors, which nothing downstream of
BM25 reads and which are most of a hit's bytes).
"""

from __future__ import annotations

from typing import Any

from haystack import component, default_to_dict
from haystack.dataclasses import Document
from haystack.document_stores.types import FilterPolicy
from haystack.document_stores.types.filter_policy import apply_filter_policy
from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchBM25Retriever
from haystack_integrations.document_stores.elasticsearch.document_store import (
    BM25_SCALING_FACTOR,
    ElasticsearchDocumentStore,
)
from haystack_integrations.document_stores.elasticsearch.filters import _normalize_filters


@component
class ElasticsearchContentBM25Retriever(ElasticsearchBM25Retriever):
    def __init__(self, *, document_store: ElasticsearchDocumentStore, filters: dict[str, Any] | None = None,
                 fields: list[str] | None = None, fuzziness: str = "0", top_k: int = 10, scale_score: bool = False,
                 filter_policy: str | FilterPolicy = FilterPolicy.REPLACE, return_embedding: bool = False) -> None:
        # Not super(): @component rebuilds the class, which breaks zero-argument super().
        ElasticsearchBM25Retriever.__init__(self, document_store=document_store, filters=filters,
                                            fuzziness=fuzziness, top_k=top_k, scale_score=scale_score,
                                            filter_policy=filter_policy)
        self._fields = list(fields) if fields else ["content"]
        self._return_embedding = return_embedding

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, filters=self._filters, fields=self._fields, fuzziness=self._fuzziness,
                               top_k=self._top_k, scale_score=self._scale_score,
                               filter_policy=self._filter_policy.value, return_embedding=self._return_embedding,
                               document_store=self._document_store.to_dict())

    def body(self, query: str, filters: dict[str, Any] | None, top_k: int) -> dict[str, Any]:
        """The search request: classic BM25 (`most_fields`, OR) on the named fields, filters as a bool filter."""
        if not query:
            raise ValueError("query must be a non empty string")
        match: dict[str, Any] = {"query": query, "fields": self._fields, "type": "most_fields", "operator": "OR"}
        if self._fuzziness not in ("0", 0, None):
            match["fuzziness"] = self._fuzziness
        bool_query: dict[str, Any] = {"must": [{"multi_match": match}]}
        if filters:
            bool_query["filter"] = _normalize_filters(filters)
        body: dict[str, Any] = {"size": top_k, "query": {"bool": bool_query}}
        if not self._return_embedding:  # a 384-dim vector is ~8 KB of JSON per hit, unused by RAG
            body["_source"] = {"excludes": ["embedding"]}
        return body

    @component.output_types(documents=list[Document])
    def run(self, query: str, filters: dict[str, Any] | None = None,
            top_k: int | None = None) -> dict[str, list[Document]]:
        filters = apply_filter_policy(self._filter_policy, self._filters, filters)
        documents = self._document_store._search_documents(**self.body(query, filters, top_k or self._top_k))
        if self._scale_score:
            documents = [_scaled(d) for d in documents]
        return {"documents": documents}

    @component.output_types(documents=list[Document])
    async def run_async(self, query: str, filters: dict[str, Any] | None = None,
                        top_k: int | None = None) -> dict[str, list[Document]]:
        filters = apply_filter_policy(self._filter_policy, self._filters, filters)
        await self._document_store._ensure_initialized_async()
        documents = await self._document_store._search_documents_async(**self.body(query, filters,
                                                                                  top_k or self._top_k))
        if self._scale_score:
            documents = [_scaled(d) for d in documents]
        return {"documents": documents}


def _scaled(document: Document) -> Document:
    import math
    from dataclasses import replace

    if document.score is None:
        return document
    return replace(document, score=1 / (1 + math.exp(-document.score / BM25_SCALING_FACTOR)))
