"""Running the retrieval half of a spec (corpus, questions, index, retrieve nodes) in-process, for ES tests."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ragdsl.compiler import compile_spec
from ragdsl.execute.run import RunOptions, run_plan
from ragdsl.execute.store import Store

ES_ARGS = {"url": {"env": "ES_URL"}, "index": None, "api_key": None, "username": None, "password": None,
           "ca_certs": None, "timeout": 30.0}


def run_retrieval(spec: Path, store_root: Path, env_url: str, monkeypatch, *, stream=None):
    """Run only the nodes retrieve nodes depend on (no generator); returns the Outcome."""
    monkeypatch.setenv("ES_URL", env_url)
    compilation = compile_spec(spec, store=Store(store_root))
    assert compilation.ok, [d.message for d in compilation.diagnostics]
    plan = compilation.plan
    wanted: set[str] = set()
    nodes = {a.node.id: a.node for a in plan.actions}
    todo = [n for n in nodes if n.startswith("retrieve.")]
    while todo:
        node_id = todo.pop()
        if node_id not in wanted:
            wanted.add(node_id)
            todo += list(nodes[node_id].upstream)
    sub = replace(compilation, plan=replace(plan, actions=tuple(a for a in plan.actions if a.node.id in wanted)))
    outcome, _ = run_plan(sub, Store(store_root), RunOptions(jobs=1, progress="plain"), stream=stream)
    return outcome


def contexts(store_root: Path, node_id: str) -> dict[str, list[str]]:
    """question id -> retrieved passage ids, in rank order, from a finished retrieve node."""
    record = Store(store_root)
    folder = _artifact_folder(record, node_id)
    out = {}
    for line in (folder / "contexts.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[row["id"]] = [d["id"] for d in row["documents"]]
    return out


def _artifact_folder(store: Store, node_id: str) -> Path:
    record = store.last_record(node_id)
    if record is None:
        raise LookupError(f"no result for {node_id} in {store.root}")
    return store.artifact_dir(record["fingerprint"])
