"""Elasticsearch backend benchmark: ragdsl's bulk indexing and queries vs the raw `elasticsearch` client.

Both sides do the same work against the same server in the same run:

  indexing   ragdsl: ElasticsearchBackend.open_index (create with the explicit mapping, refresh off),
             IndexHandle.write in embedding-sized batches (bulk requests of BULK_DOCS), finish (refresh,
             refresh back on, count, completion marker). Raw: indices.create with the same mapping and
             settings, helpers.bulk with the same chunk size and documents, then the same refresh,
             put_settings, count and put_mapping calls. Reported as documents/s.
  queries    ragdsl: ElasticsearchContentBM25Retriever.run and ElasticsearchEmbeddingRetriever.run
             (Haystack components, Documents out). Raw: client.search with the identical request body,
             hits out. Reported as median latency; ratio = raw latency / ragdsl latency.

Documents are synthetic (seeded random words and 384-dim vectors: the store path is measured, not an
embedder). The server is ES_URL when set, else noida-db started on a free port (an emulator: its
absolute numbers say nothing about Elasticsearch, the ratio says what ragdsl adds).

    python benchmarks/bench_elasticsearch.py            # 2,000 documents, 100 queries, 4 repeats
    python benchmarks/bench_elasticsearch.py --smoke    # 200 documents, 20 queries, 1 repeat (CI)
    python benchmarks/bench_elasticsearch.py --json

Target: ratio >= 0.9 for indexing and both query kinds. Reported, not asserted: the script exits 1
only when the two sides disagree (different counts, different hits).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

TARGET_RATIO = 0.9
DIM = 384
EMBED_BATCH = 32  # what index_documents hands the writer per embedding batch
WORDS = [f"w{i}" for i in range(3000)]


def documents(n: int, seed: int = 0) -> list:
    from haystack import Document

    rng = random.Random(seed)
    return [Document(id=f"d{i}", content=" ".join(rng.choices(WORDS, k=60)),
                     embedding=[rng.uniform(-1, 1) for _ in range(DIM)],
                     meta={"rank": i, "lang": rng.choice(["en", "de", "fr"])}) for i in range(n)]


def start_server(tmp: Path) -> tuple[str, subprocess.Popen | None]:
    if os.environ.get("ES_URL"):
        return os.environ["ES_URL"], None
    from importlib.resources import files

    binary = Path(str(files("noida_db") / "noida-db"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(binary), "start", "--only", "elasticsearch", "--elasticsearch-port", str(port),
                             "--data-dir", str(tmp / "data")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return url, proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("noida-db did not start")


def ragdsl_index(params: dict, docs: list, fields: dict) -> tuple[float, str, object]:
    from ragdsl.backends import get_backend

    backend = get_backend("elasticsearch")
    start = time.perf_counter()
    handle = backend.open_index(params, DIM, node="index.bench", key=uuid.uuid4().hex * 2, fields=fields)
    for i in range(0, len(docs), EMBED_BATCH):
        handle.write(docs[i:i + EMBED_BATCH])
    handle.finish(len(docs))
    return time.perf_counter() - start, handle.name, handle.store


def raw_index(client, docs: list, fields: dict) -> tuple[float, str]:
    from elasticsearch import helpers

    from ragdsl.backends.elasticsearch import mapping as M
    from ragdsl.backends.elasticsearch.indexer import BULK_DOCS

    name = f"raw-{uuid.uuid4().hex[:16]}"
    body = M.mapping(DIM, fields)
    start = time.perf_counter()
    client.indices.create(index=name, mappings={**body, "_meta": M.meta_block("k", "raw", complete=False)},
                          settings=M.LOADING_SETTINGS)
    actions = ({"_op_type": "index", "_index": name, "_id": d.id,
                "_source": {k: v for k, v in d.to_dict().items() if v is not None and k not in ("blob", "score")}}
               for d in docs)
    helpers.bulk(client, actions, chunk_size=BULK_DOCS, refresh=False)
    client.indices.refresh(index=name)
    client.indices.put_settings(index=name, settings=M.LOADED_SETTINGS)
    count = client.count(index=name)["count"]
    client.indices.put_mapping(index=name, meta=M.meta_block("k", "raw", complete=True, documents=count))
    return time.perf_counter() - start, name


def time_queries(sides: dict, queries: list) -> dict[str, tuple[float, list]]:
    """Median latency and answers per side. Each query runs on both sides back to back, the side that
    goes first alternating, so server-side caches and busy spells favour neither."""
    latencies: dict[str, list[float]] = {side: [] for side in sides}
    answers: dict[str, list] = {side: [] for side in sides}
    for run in sides.values():  # warm-up: connections, first-query costs
        run(queries[0])
    names = list(sides)
    for i, q in enumerate(queries):
        for side in (names if i % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            answers[side].append(sides[side](q))
            latencies[side].append(time.perf_counter() - start)
    return {side: (statistics.median(latencies[side]), answers[side]) for side in sides}


def query_sides(client, raw_name: str, bm25, knn, top_k: int) -> dict:
    """Per query kind, the ragdsl call and the raw-client call that sends the same request."""
    # from_=0: ElasticsearchDocumentStore._search_documents always sends it; send the same request.
    def raw_bm25(q):
        return [h["_id"] for h in client.search(index=raw_name, from_=0, **bm25.body(q, None, top_k))["hits"]["hits"]]

    def raw_knn(v):
        knn_body = {"field": "embedding", "query_vector": v, "k": top_k,
                    "num_candidates": top_k * 10}  # the retriever's default
        return [h["_id"] for h in client.search(index=raw_name, from_=0, knn=knn_body)["hits"]["hits"]]

    return {
        "bm25": {"ragdsl": lambda q: [d.id for d in bm25.run(q)["documents"]], "raw": raw_bm25},
        "knn": {"ragdsl": lambda v: [d.id for d in knn.run(query_embedding=v)["documents"]], "raw": raw_knn},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=4, help="even: each side goes first equally often")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="200 documents, 20 queries, 1 repeat")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.docs, args.queries, args.repeat = 200, 20, 1

    from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchEmbeddingRetriever

    from ragdsl.backends.elasticsearch import connect
    from ragdsl.backends.elasticsearch.mapping import field_types
    from ragdsl.backends.elasticsearch.retriever import ElasticsearchContentBM25Retriever

    tmp = Path(tempfile.mkdtemp(prefix="bench-es-"))
    url, proc = start_server(tmp)
    os.environ["RAGDSL_BENCH_ES_URL"] = url
    params = {"url": {"env": "RAGDSL_BENCH_ES_URL"}, "index": None, "timeout": 120.0}
    client = connect(params).client()
    docs = documents(args.docs)
    fields = field_types(d.meta for d in docs)
    rng = random.Random(1)
    texts = [" ".join(rng.choices(WORDS, k=5)) for _ in range(args.queries)]
    vectors = [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(args.queries)]
    results: dict[str, dict[str, list[float]]] = {k: {"ragdsl": [], "raw": []} for k in ("index", "bm25", "knn")}
    wrong: list[str] = []
    created: list[str] = []
    try:
        for repeat in range(args.repeat):
            order = ("ragdsl", "raw") if repeat % 2 == 0 else ("raw", "ragdsl")
            for side in order:  # alternate who goes first: a busy spell falls on both
                if side == "ragdsl":
                    seconds, name, store = ragdsl_index(params, docs, fields)
                    ragdsl_name = name
                else:
                    seconds, name = raw_index(client, docs, fields)
                    raw_name = name
                created.append(name)
                results["index"][side].append(len(docs) / seconds)
            if client.count(index=ragdsl_name)["count"] != client.count(index=raw_name)["count"]:
                wrong.append("document counts differ")
            bm25 = ElasticsearchContentBM25Retriever(document_store=store, top_k=args.top_k)
            knn = ElasticsearchEmbeddingRetriever(document_store=store, top_k=args.top_k)
            sides = query_sides(client, raw_name, bm25, knn, args.top_k)
            for kind, inputs in (("bm25", texts), ("knn", vectors)):
                timed = time_queries(sides[kind], inputs)
                for side, (latency, _) in timed.items():
                    results[kind][side].append(latency)
                if timed["ragdsl"][1] != timed["raw"][1]:
                    wrong.append(f"{kind} hits differ")
            for name in (ragdsl_name, raw_name):  # every repeat starts from an empty server
                client.indices.delete(index=name, ignore_unavailable=True)
    finally:
        for name in created:
            client.indices.delete(index=name, ignore_unavailable=True)
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for kind, unit in (("index", "docs/s"), ("bm25", "ms/query"), ("knn", "ms/query")):
        ours, raw = statistics.median(results[kind]["ragdsl"]), statistics.median(results[kind]["raw"])
        ratio = ours / raw if kind == "index" else raw / ours
        scale = 1 if kind == "index" else 1000
        rows.append({"measure": kind, "unit": unit, "ragdsl": round(ours * scale, 2), "raw": round(raw * scale, 2),
                     "ratio": round(ratio, 3), "meets_target": ratio >= TARGET_RATIO})
    server = "ES_URL" if proc is None else "noida-db"
    if args.json:
        print(json.dumps({"server": server, "docs": args.docs, "queries": args.queries, "repeat": args.repeat,
                          "rows": rows, "runs": results, "wrong": wrong}, indent=2))
    else:
        print(f"Elasticsearch backend vs raw client ({server}; {args.docs} docs x {DIM} dims, "
              f"{args.queries} queries, median of {args.repeat})")
        print(f"{'measure':<8} {'unit':<9} {'ragdsl':>10} {'raw client':>11} {'ratio':>7}  target >= {TARGET_RATIO}")
        for r in rows:
            print(f"{r['measure']:<8} {r['unit']:<9} {r['ragdsl']:>10} {r['raw']:>11} {r['ratio']:>7}  "
                  f"{'ok' if r['meets_target'] else 'BELOW'}")
        for w in wrong:
            print(f"WRONG: {w}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
