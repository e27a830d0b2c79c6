"""The scheduler over a hand-built graph, with runners replaced (the boundary under test).

Real store, real run store, real plain progress; the runners write small files
so atomicity and resumption are observable.
"""

from __future__ import annotations

import io
import threading
import time

import pytest

from ragdsl.diagnostics import Span
from ragdsl.execute.context import NodeFailed, Output
from ragdsl.execute.engine import LocalEngine
from ragdsl.execute.progress import PlainProgress
from ragdsl.execute.runs import RunStore
from ragdsl.execute.scheduler import Scheduler
from ragdsl.execute.store import Store
from ragdsl.ir.graph import ExperimentGraph
from ragdsl.ir.nodes import Input, Node
from ragdsl.plan.planner import plan_graph


def _node(node_id: str, kind: str, *upstream: str, value: int = 0) -> Node:
    return Node(node_id, kind, node_id.split(".", 1)[1], (), {"value": value}, (),
                tuple(Input(f"in{i}", u) for i, u in enumerate(upstream)), (), Span("spec.rag", 3, 1, 3, 9))


def _graph(*nodes: Node) -> ExperimentGraph:
    graph = ExperimentGraph()
    for node in nodes:
        graph.add(node)
    return graph


def diamond(value: int = 0) -> ExperimentGraph:
    #   a -> b -> d
    #   a -> c -> d      and e independent of all
    return _graph(_node("corpus.a", "corpus", value=value), _node("questions.b", "questions", "corpus.a"),
                  _node("model.c", "model", "corpus.a"), _node("report.d", "report", "questions.b", "model.c"),
                  _node("corpus.e", "corpus", value=1))


class Recorder:
    """Runners for every kind that log calls, write an artifact, and fail on request."""

    def __init__(self, fail: set[str] = frozenset(), crash: set[str] = frozenset(), delay: float = 0.0):
        self.calls: list[str] = []
        self.fail, self.crash, self.delay = fail, crash, delay
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def __call__(self, ctx) -> Output:
        with self.lock:
            self.calls.append(ctx.node.id)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            (ctx.workdir / "out.txt").write_text(ctx.node.id)
            upstream_values = sorted(r.outputs["id"] for r in ctx.results.values())
            if ctx.node.id in self.fail:
                raise NodeFailed(f"{ctx.node.id} cannot read its data", "fix the data")
            if ctx.node.id in self.crash:
                raise RuntimeError("boom")
            return Output({"id": ctx.node.id, "saw": upstream_values})
        finally:
            with self.lock:
                self.active -= 1

    def runners(self):
        return {k: self for k in ("corpus", "questions", "model", "report", "index", "rag")}


def run(graph, store, recorder, *, keep_going=False, jobs=2, heavy=1):
    plan = plan_graph(graph, store, spec="spec.rag", experiment="t", seed=7)
    runs = RunStore(store.root)
    run_id = runs.start(spec="spec.rag", spec_hash="h", experiment="t", seed=7, argv=[],
                        nodes=[(a.node.id, a.node.kind, a.fingerprint.value, a.op) for a in plan.actions])
    stream = io.StringIO()
    scheduler = Scheduler(plan, graph, store, LocalEngine(jobs), PlainProgress(stream), runs, run_id,
                          recorder.runners(), 7, keep_going=keep_going, heavy_jobs=heavy)
    outcome = scheduler.run()
    runs.finish(run_id, "ok" if outcome.ok else "failed")
    return outcome, plan, stream.getvalue(), runs


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / ".ragdsl")


def test_every_node_runs_after_its_inputs(store):
    rec = Recorder()
    outcome, *_ = run(diamond(), store, rec)
    assert outcome.ok
    order = rec.calls
    assert order.index("corpus.a") < order.index("questions.b") < order.index("report.d")
    assert order.index("model.c") < order.index("report.d")
    assert sorted(order) == sorted(["corpus.a", "questions.b", "model.c", "report.d", "corpus.e"])


def test_runners_see_their_upstream_results(store, tmp_path):
    outcome, plan, *_ = run(diamond(), store, Recorder())
    record = store.result(next(a for a in plan.actions if a.node.id == "report.d").fingerprint.value)
    assert record["outputs"]["saw"] == ["model.c", "questions.b"]


def test_second_run_is_all_cached(store):
    run(diamond(), store, Recorder())
    rec = Recorder()
    outcome, plan, text, _ = run(diamond(), store, rec)
    assert rec.calls == []
    assert {n.status for n in outcome.nodes.values()} == {"cached"}
    assert all(a.op == "cached" for a in plan.actions)


def test_a_change_reruns_only_what_depends_on_it(store):
    run(diamond(), store, Recorder())
    graph = diamond()
    graph.replace(_node("model.c", "model", "corpus.a", value=5))
    rec = Recorder()
    run(graph, store, rec)
    assert sorted(rec.calls) == ["model.c", "report.d"]


def test_failure_stops_dependents_and_is_not_recorded(store):
    rec = Recorder(fail={"questions.b"})
    outcome, plan, text, runs = run(diamond(), store, rec, jobs=1)
    assert outcome.nodes["questions.b"].status == "failed"
    assert outcome.nodes["questions.b"].hint == "fix the data"
    assert not outcome.nodes["questions.b"].internal
    assert outcome.nodes["report.d"].status == "skipped"
    assert "report.d" not in rec.calls
    failed_fp = next(a for a in plan.actions if a.node.id == "questions.b").fingerprint.value
    assert not store.has_result(failed_fp)
    assert not store.artifact_dir(failed_fp).exists()  # the half-built folder was discarded
    assert "[failed] questions.b" in text
    detail = runs.get(outcome.run_id)
    assert {n.node_id: n.status for n in detail.nodes}["report.d"] == "skipped"


def test_without_keep_going_nothing_new_starts_after_a_failure(store):
    rec = Recorder(fail={"corpus.a"})
    outcome, *_ = run(diamond(), store, rec, jobs=1)
    # corpus.a and corpus.e are both ready first; order puts corpus.a first
    assert "corpus.e" not in rec.calls
    assert outcome.nodes["corpus.e"].status == "skipped"


def test_keep_going_runs_independent_nodes(store):
    rec = Recorder(fail={"corpus.a"})
    outcome, *_ = run(diamond(), store, rec, jobs=1, keep_going=True)
    assert outcome.nodes["corpus.e"].status == "done"
    assert {outcome.nodes[n].status for n in ("questions.b", "model.c", "report.d")} == {"skipped"}


def test_unexpected_exceptions_are_internal_with_a_trace(store):
    outcome, *_ = run(diamond(), store, Recorder(crash={"corpus.e"}), keep_going=True)
    failure = outcome.nodes["corpus.e"]
    assert failure.internal and "RuntimeError: boom" in failure.error and "Traceback" in failure.hint


def test_resume_after_failure_runs_only_the_rest(store):
    run(diamond(), store, Recorder(fail={"report.d"}))
    rec = Recorder()
    outcome, *_ = run(diamond(), store, rec)
    assert rec.calls == ["report.d"] and outcome.ok


def test_independent_nodes_run_in_parallel(store):
    graph = _graph(*(_node(f"corpus.c{i}", "corpus", value=i) for i in range(4)))
    rec = Recorder(delay=0.2)
    run(graph, store, rec, jobs=4)
    assert rec.max_active >= 2


def test_heavy_nodes_are_limited(store):
    graph = _graph(*(_node(f"index.i{i}", "index", value=i) for i in range(3)))
    rec = Recorder(delay=0.1)
    run(graph, store, rec, jobs=3, heavy=1)
    assert rec.max_active == 1


def test_identical_work_runs_once(store):
    graph = _graph(_node("corpus.x", "corpus", value=3), _node("corpus.y", "corpus", value=3))
    rec = Recorder()
    outcome, plan, *_ = run(graph, store, rec)
    assert rec.calls == ["corpus.x"]
    assert outcome.nodes["corpus.y"].status == "done"
    assert store.last_record("corpus.y")["fingerprint"] == store.last_record("corpus.x")["fingerprint"]
