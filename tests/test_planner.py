"""Plan reasons against a real store, atomic store writes, renderers."""

import json

import pytest
from helpers import write_project

from ragdsl.compiler import compile_spec
from ragdsl.execute.store import Store, atomic_write_text
from ragdsl.plan.planner import record_for
from ragdsl.plan.render import to_dot, to_json, to_mermaid, to_text

SPEC = '''
pipeline rag(generator) { retrieve = bm25(idx, top_k = 5); generate = generator }
finetune t { base = base; data = qa.train; samples = sweep(2, 4) }
evaluate e { systems = { base: rag(base), t: rag(t) }; questions = qa.test }
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = Store(tmp_path / ".ragdsl")

    def plan(spec=SPEC, overrides=()):
        compilation = compile_spec(write_project(tmp_path, spec), list(overrides), store)
        assert compilation.ok
        return compilation.plan

    return plan, store


def finish_all(plan, store):
    for action in plan.actions:
        store.record(action.node.id, record_for(action))


def reasons(plan):
    return {a.node.id: (a.op, a.reason, a.detail) for a in plan.actions}


def test_fresh_plan_runs_everything_as_new(project):
    plan, _ = project
    p = plan()
    assert {r for _, r, _ in reasons(p).values()} == {"new"}
    assert p.to_run == len(p.actions)


def test_after_a_run_everything_is_cached(project):
    plan, store = project
    finish_all(plan(), store)
    p = plan()
    assert {op for op, _, _ in reasons(p).values()} == {"cached"}
    assert to_text(p).rstrip().endswith(f"{len(p.actions)} nodes: 0 to run, {len(p.actions)} cached")


def test_changed_params_rerun_the_node_and_its_dependents_only(project):
    plan, store = project
    finish_all(plan(), store)
    p = reasons(plan(SPEC.replace("top_k = 5", "top_k = 3")))
    assert p["retrieve.e.rag"] == ("run", "params changed", "")
    assert p["rag.e.base"] == ("run", "upstream changed", "contexts")
    assert p["evaluate.e"][1] == "upstream changed"
    assert p["finetune.t[samples=2]"] == ("cached", "cached", "")
    assert p["index.idx"] == ("cached", "cached", "")


def test_changed_data_file_is_reported_as_input_changed(project, tmp_path):
    plan, store = project
    finish_all(plan(), store)
    import helpers

    saved = helpers.DATA_FILES["data/passages.jsonl"]
    helpers.DATA_FILES["data/passages.jsonl"] = saved + '{"id": "p2", "text": "More."}\n'
    try:
        p = reasons(plan())
    finally:
        helpers.DATA_FILES["data/passages.jsonl"] = saved
    assert p["corpus.docs"] == ("run", "input changed", "data/passages.jsonl")
    assert p["index.idx"] == ("run", "upstream changed", "corpus")
    assert p["questions.qa"][0] == "cached"


def test_store_writes_are_atomic_and_unreadable_records_count_as_missing(tmp_path):
    target = tmp_path / "a" / "b.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    assert [p.name for p in target.parent.iterdir()] == ["b.json"]  # no temp files left behind
    store = Store(tmp_path / "s")
    fp = "ab" * 32
    (store.root / "results" / "ab").mkdir(parents=True)
    (store.root / "results" / "ab" / f"{fp}.json").write_text("{truncated")
    assert store.result(fp) is None


def test_json_plan_is_deterministic_and_documented_fields_exist(project):
    plan, _ = project
    first, second = to_json(plan()), to_json(plan())
    assert first == second
    data = json.loads(first)
    assert data["format"] == "ragdsl.plan/1"
    node = data["nodes"][0]
    assert set(node) == {"id", "kind", "declaration", "axes", "action", "reason", "detail", "fingerprint",
                         "params", "inputs", "stages", "data", "identities", "pipeline", "weights", "source", "cost"}
    assert data["summary"]["nodes"] == len(data["nodes"])
    assert "/tmp" not in first and str(__import__("pathlib").Path.cwd()) not in first


def test_graph_renderings_name_every_node_and_edge(project):
    plan, _ = project
    p = plan()
    dot, mermaid = to_dot(p), to_mermaid(p)
    for a in p.actions:
        assert f'"{a.node.id}"' in dot
    edges = sum(len(a.node.inputs) for a in p.actions)
    assert dot.count(" -> ") == edges
    assert mermaid.count(" --> ") == edges
