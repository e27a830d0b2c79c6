"""Specs on the Elasticsearch store, end to end: reuse across result stores, failure injection, secrets,
`check --online`, and the quickstart corpus ranked like the in-memory store.

Runs against noida-db (started by the `es_url` fixture) or a real cluster (ES_URL).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from es_helpers import contexts, run_retrieval
from es_server import NoidaServer, free_port
from helpers import BACKEND_TEXTS

from ragdsl.backends.elasticsearch import indexer as indexer_module
from ragdsl.backends.elasticsearch import retry as retry_module

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.elasticsearch

TEXTS = BACKEND_TEXTS
QUESTIONS = [("Which cells make insulin?", "beta cells", 0), ("What carries oxygen to the tissues?", "Hemoglobin", 3),
             ("What does the liver produce?", "bile", 4)]

SMALL = """\
experiment es_small { seed = 1 }
corpus docs { source = jsonl("data/p.jsonl", meta = ["topic", "year"]); split = passages() }
questions qa { source = jsonl("data/qa.jsonl", context = "context"); test = 3 }
index idx { corpus = docs; STORE }
model base = "qwen2.5-coder-0.5b-instruct"
pipeline rag(generator) { retrieve = bm25(idx, top_k = 2); generate = generator }
evaluate ev { systems = { base: rag(base) }; questions = qa.test; metrics = [recall@2] }
"""
ES_STORE = 'store = elasticsearch(url = env("ES_URL"))'


def project(folder: Path, store: str = ES_STORE, spec: str = SMALL, salt: str = "") -> Path:
    """A spec and its data in `folder`; `salt` changes the corpus (and so the index) per test."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    with (folder / "data" / "p.jsonl").open("w") as f:
        for i, text in enumerate(TEXTS):
            f.write(json.dumps({"id": f"p{i}", "text": f"{text} {salt}".strip(),
                                "topic": "blood" if "blood" in text else "other", "year": 2000 + i}) + "\n")
    with (folder / "data" / "qa.jsonl").open("w") as f:
        for i, (question, answer, gold) in enumerate(QUESTIONS):
            f.write(json.dumps({"id": f"q{i}", "question": question, "answer": answer, "context": TEXTS[gold]}) + "\n")
    path = folder / "spec.rag"
    path.write_text(spec.replace("STORE", store), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(retry_module, "BACKOFF_SECONDS", 0.01)


def index_record(store_root: Path) -> dict:
    from ragdsl.execute.store import Store

    store = Store(store_root)
    record = store.last_record("index.idx")
    return json.loads((store.artifact_dir(record["fingerprint"]) / "store" / "store.json").read_text())


def es_client(url: str):
    from elasticsearch import Elasticsearch

    return Elasticsearch(url)


# ------------------------------------------------------------------ reuse


def test_a_second_result_store_reuses_the_cluster_index(es_url, tmp_path, monkeypatch):
    store = ES_STORE + '; embedder = "all-minilm-l6-v2"'
    spec = project(tmp_path / "team_a", store=store, salt="reuse")
    first = run_retrieval(spec, tmp_path / "store_a", es_url, monkeypatch, stream=io.StringIO())
    assert first.ok, [(n.node, n.error) for n in first.failed]
    record = index_record(tmp_path / "store_a")
    assert record["documents"] == 7 and record["index"].startswith("ragdsl-")
    assert record["mapping"]["properties"]["embedding"]["dims"] == 384
    assert contexts(tmp_path / "store_a", "retrieve.ev.rag")["q0"][0] == "p0#0"

    # Another team, another result store, same corpus: nothing is written to the cluster again.
    def no_writes(self, documents):
        raise AssertionError("the index should have been reused")

    def no_model(*args, **kwargs):
        raise AssertionError("reusing an index should not load the embedder")

    import ragdsl.backends

    monkeypatch.setattr(indexer_module.IndexHandle, "write", no_writes)
    monkeypatch.setattr(ragdsl.backends, "embedding_dimension", no_model)
    spec_b = project(tmp_path / "team_b", store=store, salt="reuse")
    second = run_retrieval(spec_b, tmp_path / "store_b", es_url, monkeypatch, stream=io.StringIO())
    assert second.ok, [(n.node, n.error) for n in second.failed]
    assert index_record(tmp_path / "store_b")["index"] == record["index"]
    assert contexts(tmp_path / "store_b", "retrieve.ev.rag") == contexts(tmp_path / "store_a", "retrieve.ev.rag")


def test_metadata_is_mapped_and_returned(es_url, tmp_path, monkeypatch):
    spec = project(tmp_path, salt="meta")
    assert run_retrieval(spec, tmp_path / "store", es_url, monkeypatch, stream=io.StringIO()).ok
    record = index_record(tmp_path / "store")
    assert record["mapping"]["properties"]["year"] == {"type": "long"}
    assert record["mapping"]["properties"]["topic"] == {"type": "keyword"}
    mapping = es_client(es_url).indices.get_mapping(index=record["index"])[record["index"]]["mappings"]
    assert mapping["properties"]["year"]["type"] == "long"


# ------------------------------------------------------------------ failure injection


def test_a_server_killed_mid_indexing_fails_the_node_then_a_rerun_completes(tmp_path, monkeypatch, es_url,
                                                                            real_elasticsearch):
    if real_elasticsearch:
        pytest.skip("kills the server it indexes into: runs on the local noida-db only")
    server = NoidaServer(tmp_path / "noida" / "data").start()
    try:
        monkeypatch.setattr(indexer_module, "BULK_DOCS", 2)
        sent = []
        original = indexer_module.IndexHandle._send

        def send_then_crash(self, documents):
            original(self, documents)
            sent.append(len(documents))
            if len(sent) == 2:
                server.stop()  # the cluster dies between two bulk requests

        monkeypatch.setattr(indexer_module.IndexHandle, "_send", send_then_crash)
        spec = project(tmp_path / "p", salt="crash")
        outcome = run_retrieval(spec, tmp_path / "store", server.url, monkeypatch, stream=io.StringIO())
        failed = {n.node: n for n in outcome.failed}
        assert set(failed) == {"index.idx"} and not failed["index.idx"].internal
        error = failed["index.idx"].error
        assert f"cannot reach Elasticsearch at {server.url} (from $ES_URL) while bulk-indexing" in error
        assert "tried 3 times" in error and "cluster running" in failed["index.idx"].hint
        from ragdsl.execute.store import Store

        assert Store(tmp_path / "store").last_record("index.idx") is None  # nothing registered as done

        server.start()
        monkeypatch.setattr(indexer_module.IndexHandle, "_send", original)
        outcome = run_retrieval(spec, tmp_path / "store", server.url, monkeypatch, stream=io.StringIO())
        assert outcome.ok, [(n.node, n.error) for n in outcome.failed]
        record = index_record(tmp_path / "store")
        es = es_client(server.url)
        assert es.count(index=record["index"])["count"] == 7
        meta = es.indices.get_mapping(index=record["index"])[record["index"]]["mappings"]["_meta"]["ragdsl"]
        assert meta["complete"] is True and meta["documents"] == 7
    finally:
        server.stop()


def test_retrieval_from_a_cluster_that_went_away_names_it(tmp_path, monkeypatch, es_url, real_elasticsearch,
                                                          run_cli):
    if real_elasticsearch:
        pytest.skip("stops the server: runs on the local noida-db only")
    server = NoidaServer(tmp_path / "noida" / "data").start()
    try:
        spec = project(tmp_path / "p", salt="gone")
        outcome = run_retrieval(spec, tmp_path / "store", server.url, monkeypatch, stream=io.StringIO())
        assert outcome.ok
        exported = run_cli("export", "--haystack", "--store", tmp_path / "store", spec, "retrieve.ev.rag")
        assert exported.exit_code == 0, exported.stderr
        assert "ElasticsearchContentBM25Retriever" in exported.stdout and "ElasticsearchDocumentStore" in exported.stdout
        # a new question set re-runs only the retrieve node, against a stopped cluster
        server.stop()
        exported = run_cli("export", "--haystack", "--store", tmp_path / "store", spec, "retrieve.ev.rag")
        assert exported.exit_code == 1 and f"error: cannot reach Elasticsearch at {server.url}" in exported.stderr
        spec.write_text(spec.read_text().replace("top_k = 2", "top_k = 3"))
        outcome = run_retrieval(spec, tmp_path / "store", server.url, monkeypatch, stream=io.StringIO())
        failed = {n.node: n for n in outcome.failed}
        assert set(failed) == {"retrieve.ev.rag"} and not failed["retrieve.ev.rag"].internal
        assert f"cannot open index.idx: cannot reach Elasticsearch at {server.url}" in failed["retrieve.ev.rag"].error

        # and one that goes away between opening the index and searching it (a fresh index: noida-db
        # does not promise that data survives the kill above)
        server.start()
        spec = project(tmp_path / "p2", salt="gone again")
        assert run_retrieval(spec, tmp_path / "store", server.url, monkeypatch, stream=io.StringIO()).ok
        spec.write_text(spec.read_text().replace("top_k = 2", "top_k = 3"))
        from ragdsl.backends.elasticsearch import ElasticsearchBackend

        opened = ElasticsearchBackend.load

        def load_then_crash(self, folder):
            store = opened(self, folder)
            server.stop()
            return store

        monkeypatch.setattr(ElasticsearchBackend, "load", load_then_crash)
        outcome = run_retrieval(spec, tmp_path / "store", server.url, monkeypatch, stream=io.StringIO())
        failed = {n.node: n for n in outcome.failed}
        assert set(failed) == {"retrieve.ev.rag"} and not failed["retrieve.ev.rag"].internal
        assert f"cannot reach Elasticsearch at {server.url} (from $ES_URL) while searching index.idx" in \
            failed["retrieve.ev.rag"].error
    finally:
        server.stop()


def test_a_cluster_that_does_not_answer_times_out_with_a_bounded_wait(tmp_path, monkeypatch):
    import socket
    import time

    from ragdsl.backends import BackendError, get_backend

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("RAGDSL_TEST_SLOW_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        start = time.monotonic()
        with pytest.raises(BackendError) as caught:
            get_backend("elasticsearch").open_index({"url": {"env": "RAGDSL_TEST_SLOW_URL"}, "timeout": 0.3}, 8,
                                                    node="index.t", key="a" * 64, fields={})
        elapsed = time.monotonic() - start
    assert "did not answer within 0.3 s while looking up index" in str(caught.value)
    assert "tried 3 times" in str(caught.value) and "timeout" in caught.value.hint
    assert elapsed < 5  # 3 attempts x 0.3 s + backoff, not the client's 3 x 10 s defaults


# ------------------------------------------------------------------ secrets


SECRETS = ("pw-Zq81-never-shown", "user-Kx5-never-shown", "a2V5LWtleS1uZXZlcg==")
INDEX_ONLY = """\
experiment es_secret { seed = 1 }
corpus docs { source = jsonl("data/p.jsonl"); split = passages() }
index idx { corpus = docs; store = elasticsearch(url = env("ES_URL"), username = env("ES_TEST_USER"),
                                                 password = env("ES_TEST_PASSWORD")) }
"""
WITH_API_KEY = """\
index idx_key { corpus = docs; store = elasticsearch(url = env("ES_PLAIN_URL"), api_key = env("ES_TEST_API_KEY")) }
"""


def _everything_written(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


def test_credentials_never_reach_plans_logs_run_records_or_artifacts(es_url, tmp_path, monkeypatch, run_cli):
    from urllib.parse import unquote, urlsplit

    from ragdsl.backends.elasticsearch import redact_url

    parts = urlsplit(es_url)
    bare = redact_url(es_url)
    if parts.password:  # a secured cluster (ES_URL=https://user:pass@...): its real credentials must not show
        user, password, secrets = unquote(parts.username or ""), unquote(parts.password), [unquote(parts.password)]
        spec_text = INDEX_ONLY
    else:  # noida-db, or a cluster with security off: any credentials are accepted, and must not show
        user, password, secrets = SECRETS[1], SECRETS[0], list(SECRETS)
        spec_text = INDEX_ONLY + WITH_API_KEY
    spec = project(tmp_path, spec=spec_text, salt="secrets")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ES_TEST_USER", user)
    monkeypatch.setenv("ES_TEST_PASSWORD", password)
    monkeypatch.setenv("ES_TEST_API_KEY", SECRETS[2])
    monkeypatch.setenv("ES_PLAIN_URL", bare)
    # the URL itself may carry credentials (from the environment): they must not show either
    monkeypatch.setenv("ES_URL", f"{parts.scheme}://{user}:{password}@{bare.split('://', 1)[1]}")

    outputs = []
    for args in (["compile", "--dry-run", spec], ["compile", "--dry-run", "--format", "json", spec],
                 ["check", "--online", spec], ["run", "--progress", "plain", "--store", tmp_path / "rs", spec]):
        result = run_cli(*args)
        outputs.append(result.stdout + result.stderr)
        assert result.exit_code == 0, result.stderr
    # a failing run: the cluster URL points nowhere
    monkeypatch.setenv("ES_URL", f"http://{user}:{password}@127.0.0.1:{free_port()}")
    failed = run_cli("run", "--progress", "plain", "--store", tmp_path / "rs2", spec)
    assert failed.exit_code == 1
    assert "cannot reach Elasticsearch at http://127.0.0.1:" in failed.stderr + failed.stdout
    outputs.append(failed.stdout + failed.stderr)
    outputs.append(run_cli("check", "--online", spec).stderr)

    written = "\n".join(outputs) + _everything_written(tmp_path / "rs") + _everything_written(tmp_path / "rs2")
    assert "env(\"ES_TEST_PASSWORD\")" in outputs[0]  # the plan names the variable...
    for secret in secrets:
        assert secret not in written  # ...never its value


# ------------------------------------------------------------------ check --online


def test_check_online_pings_the_cluster(es_url, tmp_path, monkeypatch, run_cli):
    spec = project(tmp_path, salt="ping")
    monkeypatch.setenv("ES_URL", es_url)
    ok = run_cli("check", "--online", spec)
    assert ok.exit_code == 0, ok.stderr
    assert "index.idx: Elasticsearch 8." in ok.stdout and "(from $ES_URL)" in ok.stdout

    assert run_cli("check", spec).exit_code == 0  # offline: no contact at all
    monkeypatch.setenv("ES_URL", f"http://127.0.0.1:{free_port()}")
    assert run_cli("check", spec).exit_code == 0
    down = run_cli("check", "--online", spec)
    assert down.exit_code == 1
    assert "error[E430]: index.idx: cannot reach Elasticsearch at http://127.0.0.1:" in down.stderr
    monkeypatch.delenv("ES_URL")
    unset = run_cli("check", "--online", spec)
    assert unset.exit_code == 1 and "environment variable ES_URL is not set" in unset.stderr


# ------------------------------------------------------------------ real data, on Elasticsearch


QUICKSTART_RETRIEVAL = """\
experiment quickstart_retrieval { seed = 7 }
corpus biomed { source = dataset("squad_v1", domain = "biomedical"); split = sentences(size = 3, overlap = 1) }
questions biomed_qa { source = dataset("squad_v1", domain = "biomedical"); test = 20 }
index biomed_idx { corpus = biomed; embedder = "all-minilm-l6-v2"; STORE }
model qwen = "qwen2.5-coder-0.5b-instruct"
pipeline keyword(generator) { retrieve = bm25(biomed_idx, top_k = 5); generate = generator }
pipeline semantic(generator) { retrieve = dense(biomed_idx, top_k = 5); generate = generator }
pipeline fused(generator) {
  retrieve = hybrid(bm25(biomed_idx, top_k = 10), dense(biomed_idx, top_k = 10), top_k = 5)
  generate = generator
}
evaluate compare {
  systems = { keyword: keyword(qwen), semantic: semantic(qwen), fused: fused(qwen) }
  questions = biomed_qa.test
  metrics = [recall@5]
}
"""
RETRIEVERS = ("retrieve.compare.keyword", "retrieve.compare.semantic", "retrieve.compare.fused")


def _hit_at_5(store_root: Path, node: str) -> float:
    from ragdsl.evaluate.metrics import gold_ranks, hit_at
    from ragdsl.execute.store import Store

    store = Store(store_root)
    questions_dir = store.artifact_dir(store.last_record("questions.biomed_qa")["fingerprint"])
    gold = {q["id"]: q.get("context") for q in map(json.loads, (questions_dir / "test.jsonl").read_text().splitlines())}
    folder = store.artifact_dir(store.last_record(node)["fingerprint"])
    rows = [json.loads(line) for line in (folder / "contexts.jsonl").read_text().splitlines()]
    return sum(hit_at(gold_ranks([d["text"] for d in r["documents"]], gold[r["id"]]), 5) for r in rows) / len(rows)


@pytest.mark.slow
def test_a_real_corpus_ranks_the_same_on_elasticsearch_as_in_memory(es_url, shared_data, tmp_path, monkeypatch):
    """Real data (SQuAD 1.1 dev's biomedical articles, from the shared data folder), one index and
    three retrievers, with only the store line changed.

    Dense retrieval is the same computation on both stores (cosine over the same vectors) and must
    give the same rankings. BM25 differs by design (the in-memory default is BM25L with its own
    tokenizer; Elasticsearch is BM25 with the standard analyzer), so it is compared at ranking level:
    top-1 agreement, overlap of the top 5, and hit@5. Measured on noida-db: BM25 top-1 17/20,
    mean Jaccard 0.92, hybrid top-1 18/20, Jaccard 0.87, dense identical 20/20; hit@5 equal on
    both stores (BM25 1.00, hybrid 1.00, dense 0.95).
    """
    found, recall = {}, {}
    for name, store in (("memory", "store = memory()"), ("elasticsearch", ES_STORE)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "spec.rag").write_text(QUICKSTART_RETRIEVAL.replace("STORE", store), encoding="utf-8")
        outcome = run_retrieval(folder / "spec.rag", folder / "store", es_url, monkeypatch,
                                stream=io.StringIO())
        assert outcome.ok, [(n.node, n.error) for n in outcome.failed]
        found[name] = {node: contexts(folder / "store", node) for node in RETRIEVERS}
        recall[name] = {node: _hit_at_5(folder / "store", node) for node in RETRIEVERS}

    def agreement(node):
        a, b = found["memory"][node], found["elasticsearch"][node]
        assert a.keys() == b.keys() and len(a) == 20
        same = sum(a[q] == b[q] for q in a)
        top1 = sum(a[q][:1] == b[q][:1] for q in a)
        jaccard = sum(len(set(a[q]) & set(b[q])) / len(set(a[q]) | set(b[q])) for q in a) / len(a)
        return same, top1, jaccard

    same, top1, jaccard = agreement("retrieve.compare.semantic")
    assert same >= 19 and jaccard >= 0.95  # a real cluster's HNSW may swap one near-tie
    same, top1, jaccard = agreement("retrieve.compare.keyword")
    assert top1 >= 16 and jaccard >= 0.65
    same, top1, jaccard = agreement("retrieve.compare.fused")
    assert top1 >= 17 and jaccard >= 0.75
    for node in RETRIEVERS:
        assert abs(recall["memory"][node] - recall["elasticsearch"][node]) <= 0.1, (node, recall)
    assert recall["elasticsearch"]["retrieve.compare.keyword"] >= 0.5  # it retrieves, not just agrees
