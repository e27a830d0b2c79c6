"""The Elasticsearch backend against a real server (ES_URL) or noida-db: index, reuse, rebuild, retrieve.

Embeddings here are hand-made (no model), so these tests exercise the store,
the mapping, the bulk path and the retrievers themselves. What runs where:
everything here runs against noida-db and a real cluster alike.
"""

from __future__ import annotations

import json
import math
import os
import random
import uuid
from pathlib import Path

import pytest
from helpers import BACKEND_TEXTS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from ragdsl.backends import BackendError, DocumentStoreBackend, ServerBackend, get_backend  # noqa: E402
from ragdsl.backends.elasticsearch import index_template, redact_url  # noqa: E402
from ragdsl.backends.elasticsearch import indexer as indexer_module  # noqa: E402
from ragdsl.backends.elasticsearch import retry as retry_module  # noqa: E402
from ragdsl.backends.elasticsearch.mapping import field_types, mapping  # noqa: E402

pytestmark = pytest.mark.elasticsearch

REPO = Path(__file__).resolve().parent.parent
DIM = 8
TEXTS = BACKEND_TEXTS


@pytest.fixture
def es_env(es_url, monkeypatch):
    monkeypatch.setenv("RAGDSL_TEST_ES_URL", es_url)
    monkeypatch.setattr(retry_module, "BACKOFF_SECONDS", 0.01)
    return {"url": {"env": "RAGDSL_TEST_ES_URL"}, "index": None, "api_key": None, "username": None,
            "password": None, "ca_certs": None, "timeout": 30.0}


@pytest.fixture
def backend():
    return get_backend("elasticsearch")


@pytest.fixture
def key():
    return uuid.uuid4().hex * 2  # a fresh index per test


def documents():
    from haystack import Document

    rng = random.Random(0)
    # Every passage has "blood" in its title, so a title-scoring BM25 would rank them all.
    return [Document(id=f"p{i}", content=text, embedding=[rng.uniform(-1, 1) for _ in range(DIM)],
                     meta={"title": "blood and organs", "rank": i, "lang": "en" if i % 2 else "de",
                           "tags": ["bio", str(i)]})
            for i, text in enumerate(TEXTS)]


def build_index(backend, params, key, docs=None, node="index.test"):
    docs = documents() if docs is None else docs
    handle = backend.open_index(params, DIM, node=node, key=key, fields=field_types(d.meta for d in docs))
    assert not handle.complete
    handle.write(docs)
    handle.finish(len(docs))
    return handle


def client(params):
    from ragdsl.backends.elasticsearch import connect

    return connect(params).client()


# ------------------------------------------------------------------ registry and mapping


def test_elasticsearch_is_a_builtin_server_backend(backend):
    assert isinstance(backend, DocumentStoreBackend) and isinstance(backend, ServerBackend)
    assert backend.describe({"url": {"env": "ES_URL"}}) == "elasticsearch at $ES_URL"
    assert backend.describe({"url": "https://u:pw@es.example:9200/", "index": "docs"}) == \
        "elasticsearch at https://es.example:9200, index docs"


def test_urls_are_shown_without_credentials_or_query():
    assert redact_url("https://elastic:s3cret@es.example:9243/?api_key=zzz") == "https://es.example:9243"
    assert redact_url("http://[::1]:9200") == "http://[::1]:9200"


def test_the_mapping_is_explicit_and_matches_the_embedder():
    body = mapping(384, field_types([{"rank": 1, "title": "a"}, {"rank": 2.5, "flag": True, "tags": ["x"]}]))
    props = body["properties"]
    assert props["embedding"] == {"type": "dense_vector", "dims": 384, "index": True, "similarity": "cosine",
                                  "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100}}
    assert props["content"] == {"type": "text", "analyzer": "standard"}
    assert props["rank"] == {"type": "double"} and props["flag"] == {"type": "boolean"}
    assert props["title"] == {"type": "keyword"} and props["tags"] == {"type": "keyword"}
    assert "embedding" not in mapping(None, {})["properties"]  # BM25-only index


def test_the_shipped_index_template_is_the_one_the_code_builds():
    shipped = json.loads((REPO / "backends" / "elasticsearch" / "index-template.json").read_text())
    assert shipped == index_template()


# ------------------------------------------------------------------ indexing and reuse


def test_an_index_is_built_marked_complete_and_reused(backend, es_env, key, tmp_path):
    handle = build_index(backend, es_env, key)
    assert handle.name == f"ragdsl-{key[:24]}"
    mappings = client(es_env).indices.get_mapping(index=handle.name)[handle.name]["mappings"]
    assert mappings["_meta"]["ragdsl"] == {"format": "ragdsl.elasticsearch-index/1", "key": key,
                                           "built_by": "index.test", "complete": True, "documents": 7}
    assert mappings["properties"]["embedding"]["dims"] == DIM
    assert mappings["properties"]["rank"]["type"] == "long"

    backend.save(handle.store, tmp_path / "store")
    record = json.loads((tmp_path / "store" / "store.json").read_text())
    assert record["index"] == handle.name and record["documents"] == 7 and len(record["mapping_sha256"]) == 64
    assert record["store"]["url"] == {"env": "RAGDSL_TEST_ES_URL"}  # the variable, not its value

    again = backend.open_index(es_env, DIM, node="index.other_team", key=key, fields=field_types(
        d.meta for d in documents()))
    assert again.complete and again.documents == 7 and again.name == handle.name
    assert backend.load(tmp_path / "store").count_documents() == 7


def test_a_half_built_index_is_deleted_and_rebuilt(backend, es_env, key, monkeypatch):
    monkeypatch.setattr(indexer_module, "BULK_DOCS", 3)
    first = backend.open_index(es_env, DIM, node="index.test", key=key, fields={})
    first.write(documents()[:5])  # one bulk request of 3 went out; the run "dies" here
    es = client(es_env)
    es.indices.refresh(index=first.name)
    assert es.count(index=first.name)["count"] == 3
    assert es.indices.get_mapping(index=first.name)[first.name]["mappings"]["_meta"]["ragdsl"]["complete"] is False

    second = backend.open_index(es_env, DIM, node="index.test", key=key, fields={})
    assert not second.complete
    assert es.count(index=second.name)["count"] == 0  # the partial index is gone
    second.write(documents())
    second.finish(7)
    assert backend.open_index(es_env, DIM, node="index.test", key=key, fields={}).complete


def test_a_named_index_built_for_other_content_is_replaced(backend, es_env, key):
    params = dict(es_env, index=f"ragdsl-named-{key[:8]}")
    build_index(backend, params, key)
    other = backend.open_index(params, DIM, node="index.test", key="f" * 64, fields={})
    assert not other.complete and other.name == params["index"]
    assert client(es_env).count(index=other.name)["count"] == 0


def test_an_index_ragdsl_did_not_create_is_never_touched(backend, es_env, key):
    name = f"team-data-{key[:8]}"
    es = client(es_env)
    es.indices.create(index=name, mappings={"properties": {"content": {"type": "text"}}})
    es.index(index=name, id="1", document={"content": "precious"}, refresh=True)
    with pytest.raises(BackendError, match=f"index {name} .* exists and was not created by ragdsl"):
        backend.open_index(dict(es_env, index=name), DIM, node="index.test", key=key, fields={})
    assert es.count(index=name)["count"] == 1


def test_a_cached_result_whose_index_was_deleted_says_how_to_rebuild(backend, es_env, key, tmp_path):
    handle = build_index(backend, es_env, key)
    backend.save(handle.store, tmp_path / "store")
    client(es_env).indices.delete(index=handle.name)
    with pytest.raises(BackendError, match=f"index {handle.name} is gone from") as caught:
        backend.load(tmp_path / "store")
    assert "rebuild" in caught.value.hint and str(tmp_path) in caught.value.hint


# ------------------------------------------------------------------ retrieval


@pytest.fixture
def filled(backend, es_env, key):
    return build_index(backend, es_env, key).store


def bm25(store, **kwargs):
    from ragdsl.backends.elasticsearch.retriever import ElasticsearchContentBM25Retriever

    return ElasticsearchContentBM25Retriever(document_store=store, **kwargs)


def test_bm25_scores_the_passage_text_not_the_metadata(filled):
    found = bm25(filled, top_k=10).run("blood")["documents"]
    # Only the four passages whose text says "blood"; all seven have it in their title.
    assert {d.id for d in found} == {"p1", "p3", "p5", "p6"}
    assert found[0].id == "p6"  # three occurrences in one passage
    assert all(a.score >= b.score for a, b in zip(found, found[1:]))
    assert found[0].meta["title"] == "blood and organs" and found[0].meta["rank"] == 6


def test_bm25_top_k_and_filters(filled):
    # p6 says "blood" three times; p5 is the shortest of the passages that say it once
    assert [d.id for d in bm25(filled, top_k=2).run("blood")["documents"]] == ["p6", "p5"]
    english = {"field": "meta.lang", "operator": "==", "value": "en"}
    found = bm25(filled).run("blood", filters=english)["documents"]
    assert {d.id for d in found} == {"p1", "p3", "p5"}
    ranked = {"operator": "AND", "conditions": [english, {"field": "meta.rank", "operator": ">=", "value": 3}]}
    assert {d.id for d in bm25(filled, filters=ranked).run("blood")["documents"]} == {"p3", "p5"}


def test_bm25_hits_come_without_vectors_unless_asked(filled):
    assert all(d.embedding is None for d in bm25(filled).run("blood")["documents"])
    with_vectors = bm25(filled, return_embedding=True).run("blood")["documents"]
    assert all(len(d.embedding) == DIM for d in with_vectors)


def test_bm25_serializes_like_a_haystack_component(filled):
    from ragdsl.backends.elasticsearch.retriever import ElasticsearchContentBM25Retriever

    data = bm25(filled, top_k=3).to_dict()
    assert data["type"] == "ragdsl.backends.elasticsearch.retriever.ElasticsearchContentBM25Retriever"
    assert data["init_parameters"]["fields"] == ["content"]
    copy = ElasticsearchContentBM25Retriever.from_dict(data)
    assert [d.id for d in copy.run("blood")["documents"]] == [d.id for d in bm25(filled, top_k=3).run("blood")[
        "documents"]]


def _cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_knn_returns_the_nearest_passages_by_cosine(filled):
    from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchEmbeddingRetriever

    docs = documents()
    rng = random.Random(5)
    for _ in range(3):
        query = [rng.uniform(-1, 1) for _ in range(DIM)]
        expected = sorted(docs, key=lambda d: -_cosine(query, d.embedding))
        found = ElasticsearchEmbeddingRetriever(document_store=filled, top_k=3).run(query_embedding=query)
        assert [d.id for d in found["documents"]] == [d.id for d in expected[:3]]
        allowed = [d for d in expected if d.meta["lang"] == "de"]
        found = ElasticsearchEmbeddingRetriever(document_store=filled, top_k=2).run(
            query_embedding=query, filters={"field": "meta.lang", "operator": "==", "value": "de"})
        assert [d.id for d in found["documents"]] == [d.id for d in allowed[:2]]


def test_a_lowered_fusion_pipeline_runs_on_the_store(filled):
    # hybrid(bm25, dense) with a real embedder runs in test_backend_elasticsearch_run.py
    from ragdsl.lower.haystack import Resources, build
    from ragdsl.lower.spec import IndexInfo, describe_retrieval

    index = {"node": "index.test"}
    spec = describe_retrieval({"call": "hybrid", "args": {"top_k": 4, "fusion": "rrf", "weights": None},
                               "items": [{"call": "bm25", "args": {"index": index, "top_k": 3}},
                                         {"call": "bm25", "args": {"index": index, "top_k": 5}}]},
                              None, lambda node: IndexInfo(node, "elasticsearch", None, None))
    pipeline = build(spec, Resources(stores={"index.test": filled}))
    result = pipeline.run(spec.run_data("blood pressure"))
    ids = [d.id for d in result["joiner"]["documents"]]
    assert ids[0] == "p6" and len(ids) == 4 and len(set(ids)) == 4


# ------------------------------------------------------------------ failures


def test_an_unreachable_cluster_is_retried_then_named_without_secrets(backend, monkeypatch):
    from es_server import free_port

    port = free_port()  # nothing listens here
    monkeypatch.setenv("RAGDSL_TEST_DOWN_URL", f"http://admin:hunter2@127.0.0.1:{port}")
    monkeypatch.setattr(retry_module, "BACKOFF_SECONDS", 0.01)
    params = {"url": {"env": "RAGDSL_TEST_DOWN_URL"}, "timeout": 2.0}
    with pytest.raises(BackendError) as caught:
        backend.open_index(params, DIM, node="index.test", key="a" * 64, fields={})
    text = f"{caught.value} {caught.value.hint}"
    assert f"cannot reach Elasticsearch at http://127.0.0.1:{port} (from $RAGDSL_TEST_DOWN_URL)" in text
    assert "tried 3 times" in text and "hunter2" not in text and "admin" not in text


def test_missing_environment_variables_are_named(backend, monkeypatch):
    monkeypatch.delenv("RAGDSL_TEST_UNSET", raising=False)
    with pytest.raises(BackendError, match="environment variable RAGDSL_TEST_UNSET is not set"):
        backend.open_index({"url": {"env": "RAGDSL_TEST_UNSET"}}, DIM, node="index.t", key="a" * 64, fields={})


def test_a_password_written_into_the_url_is_refused(backend):
    with pytest.raises(BackendError, match="password written in the spec") as caught:
        backend.open_index({"url": "http://u:topsecret@localhost:9200"}, DIM, node="index.t", key="a" * 64,
                           fields={})
    assert "topsecret" not in str(caught.value)


def test_an_exported_pipeline_loads_back_and_names_secrets_only_by_variable(backend, es_env, key, monkeypatch):
    from ragdsl.lower.haystack import Resources, build, from_yaml, to_yaml
    from ragdsl.lower.spec import IndexInfo, describe_retrieval

    monkeypatch.setenv("RAGDSL_TEST_API_KEY", "a2V5LXNlY3JldC12YWx1ZQ==")
    params = dict(es_env, api_key={"env": "RAGDSL_TEST_API_KEY"})
    store = build_index(backend, params, key).store  # an API key: sent, and ignored by noida-db
    spec = describe_retrieval({"call": "bm25", "args": {"index": {"node": "index.test"}, "top_k": 3}}, None,
                              lambda node: IndexInfo(node, "elasticsearch", None, None))
    pipeline = build(spec, Resources(stores={"index.test": store}))
    text = to_yaml(pipeline)
    assert "RAGDSL_TEST_API_KEY" in text and "a2V5LXNlY3JldC12YWx1ZQ==" not in text
    again = from_yaml(text)
    ids = [d.id for d in again.run({"bm25": {"query": "blood"}})["bm25"]["documents"]]
    assert ids == [d.id for d in pipeline.run({"bm25": {"query": "blood"}})["bm25"]["documents"]]
    assert ids == ["p6", "p5", "p3"]  # three "blood"s, then the shorter passages first


def test_on_a_real_cluster_the_stock_bm25_retriever_would_score_metadata(filled, real_elasticsearch):
    """Why ragdsl queries `content` only (ragdsl/backends/elasticsearch/retriever.py). Needs real
    Elasticsearch: noida-db answers a multi_match without fields with no hits at all."""
    if not real_elasticsearch:
        pytest.skip("needs a real cluster (ES_URL): noida-db does not search all fields by default")
    from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchBM25Retriever

    stock = ElasticsearchBM25Retriever(document_store=filled, top_k=10).run("organs")["documents"]
    assert len(stock) == 7  # "organs" is only in the title every passage shares
    assert bm25(filled, top_k=10).run("organs")["documents"] == []
    fuzzy = {d.id for d in ElasticsearchBM25Retriever(document_store=filled, top_k=10).run("bloot")["documents"]}
    assert {"p1", "p3", "p5", "p6"} <= fuzzy  # fuzziness AUTO: a misspelling matches "blood"
    assert bm25(filled, top_k=10).run("bloot")["documents"] == []


def test_the_elasticsearch_quickstart_is_the_quickstart_with_one_more_line():
    """experiments/quickstart_elasticsearch.rag shows "change one line": keep it so (after editing
    quickstart.rag, copy it and add the index's store line again)."""
    def code(name):
        text = (REPO / "experiments" / name).read_text(encoding="utf-8")
        return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    memory, elasticsearch = code("quickstart.rag"), code("quickstart_elasticsearch.rag")
    added = [line for line in elasticsearch if line not in memory]
    assert added == ['  store = elasticsearch(url = env("ES_URL"))']
    assert [line for line in elasticsearch if line not in added] == memory


def test_a_relative_ca_bundle_is_found_next_to_the_spec(tmp_path, monkeypatch):
    from ragdsl.backends.elasticsearch import connect

    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "http_ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("RAGDSL_TEST_TLS_URL", "https://es.example:9200")
    params = {"url": {"env": "RAGDSL_TEST_TLS_URL"}, "ca_certs": "certs/http_ca.crt"}
    assert connect(params, tmp_path).ca_certs == str(tmp_path / "certs" / "http_ca.crt")
    assert connect(params, tmp_path).store_kwargs()["ca_certs"] == str(tmp_path / "certs" / "http_ca.crt")
    with pytest.raises(BackendError, match="CA bundle certs/http_ca.crt not found"):
        connect(params, tmp_path / "elsewhere")
