"""Run a plan: each node once its inputs are done, independent nodes in parallel.

A node's artifacts are built in a temporary folder and renamed into the store,
then its record is written: a run killed at any moment leaves every finished
node usable and nothing half-done registered, so the next run resumes.
Inside a node, runners keep finished batches in the node's checkpoint
(ragdsl.execute.checkpoint), so the next run resumes the node itself.
A node is computed under its fingerprint's lock: a second run on the same
store waits, then uses the first one's result.
A failing node stops its dependents; with keep_going the rest continue.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

from ragdsl.execute.checkpoint import Checkpoint, discard_stale
from ragdsl.execute.context import NodeContext, NodeFailed, Output, Resources, Result
from ragdsl.execute.engine import Engine
from ragdsl.execute.progress import Progress
from ragdsl.execute.runs import RunStore
from ragdsl.execute.store import Store
from ragdsl.ir.graph import ExperimentGraph
from ragdsl.paths import atomic_dir
from ragdsl.plan.planner import CACHED, REUSE, RUN, Action, Plan, record_for

Runner = Callable[[NodeContext], Output]

# Kinds that load a model or train: run one at a time unless told otherwise,
# since on a CPU two of them only fight over the same cores and memory.
HEAVY_KINDS = frozenset({"index", "rag", "finetune", "evaluate"})


@dataclass
class NodeOutcome:
    node: str
    kind: str
    status: str  # done | cached (also: computed meanwhile by another run) | failed | skipped
    seconds: float = 0.0
    error: str = ""
    hint: str = ""  # how to fix it; for internal errors, the traceback
    metrics: dict | None = None
    internal: bool = False  # a bug or unexpected library failure, not the user's input


@dataclass
class Outcome:
    run_id: str
    nodes: dict[str, NodeOutcome] = field(default_factory=dict)

    @property
    def failed(self) -> list[NodeOutcome]:
        return [n for n in self.nodes.values() if n.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and all(n.status in ("done", "cached") for n in self.nodes.values())


@dataclass
class Scheduler:
    plan: Plan
    graph: ExperimentGraph
    store: Store
    engine: Engine
    progress: Progress
    runs: RunStore
    run_id: str
    runners: Mapping[str, Runner]
    seed: int
    keep_going: bool = False
    heavy_jobs: int = 1
    resources: Resources = field(default_factory=Resources)

    def run(self) -> Outcome:
        outcome = Outcome(self.run_id)
        actions = {a.node.id: a for a in self.plan.actions}
        results: dict[str, Result] = {}
        pending = {a.node.id for a in self.plan.actions}
        running: dict[Future, str] = {}
        stopping = False

        def settle(node_id: str, status: str, **kw) -> None:
            node = actions[node_id].node
            outcome.nodes[node_id] = NodeOutcome(node_id, node.kind, status, **kw)
            pending.discard(node_id)

        for node_id, action in actions.items():
            if action.op == CACHED:
                results[node_id] = self._load(action)
                settle(node_id, "cached")
                self.progress.finished(node_id, "cached", 0.0, action.fingerprint.short)
                self.runs.node_finished(self.run_id, node_id, status="cached", seconds=0.0)

        while pending or running:
            if not stopping:
                for node_id in self._ready(pending, running, outcome, actions):
                    action = actions[node_id]
                    if action.op == REUSE:
                        # identical work to another node of this plan: same fingerprint, same result
                        results[node_id] = results[action.detail]
                        self.store.point(node_id, self.store.result(action.fingerprint.value) or {})
                        settle(node_id, "done")
                        self.progress.finished(node_id, "done", 0.0, f"same as {action.detail}")
                        self.runs.node_finished(self.run_id, node_id, status="done", seconds=0.0)
                        continue
                    self.runs.node_started(self.run_id, node_id)
                    self.progress.started(node_id)
                    upstream = {u: results[u] for u in action.node.upstream}
                    running[self.engine.submit(lambda a=action, up=upstream: self._execute(a, up))] = node_id
                    pending.discard(node_id)
            if not running:
                for node_id in sorted(pending):  # blocked behind a failure
                    settle(node_id, "skipped", error="an upstream node failed")
                    self.progress.finished(node_id, "skipped", 0.0, "upstream failed")
                    self.runs.node_finished(self.run_id, node_id, status="skipped", seconds=0.0)
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                node_id = running.pop(future)
                status, seconds, payload = future.result()
                if status == "cached":  # another run on this store computed it while we waited
                    results[node_id] = payload
                    settle(node_id, "cached", seconds=seconds)
                    self.progress.finished(node_id, "cached", seconds, "computed by another run")
                    self.runs.node_finished(self.run_id, node_id, status="cached", seconds=seconds)
                elif status == "done":
                    result, output = payload
                    results[node_id] = result
                    settle(node_id, "done", seconds=seconds, metrics=output.metrics)
                    self.progress.finished(node_id, "done", seconds, _detail(output))
                    self.runs.node_finished(self.run_id, node_id, status="done", seconds=seconds,
                                            metrics=output.metrics, artifacts=_artifacts(result.folder))
                else:
                    message, hint, internal = payload
                    settle(node_id, "failed", seconds=seconds, error=message, hint=hint, internal=internal)
                    self.progress.finished(node_id, "failed", seconds, message)
                    self.runs.node_finished(self.run_id, node_id, status="failed", seconds=seconds,
                                            error=message)
                    stopping = stopping or not self.keep_going
        return outcome

    def _ready(self, pending: set[str], running: dict[Future, str], outcome: Outcome,
               actions: Mapping[str, Action]) -> list[str]:
        heavy_running = sum(actions[n].node.kind in HEAVY_KINDS for n in running.values())
        slots = self.engine.jobs - len(running)
        ready = []
        for node_id in self.graph.order():
            if node_id not in pending or slots <= 0:
                continue
            action = actions[node_id]
            states = [outcome.nodes.get(u) for u in action.node.upstream]
            if action.op == REUSE:
                states.append(outcome.nodes.get(action.detail))
            if any(s is not None and s.status in ("failed", "skipped") for s in states):
                outcome.nodes[node_id] = NodeOutcome(node_id, action.node.kind, "skipped",
                                                     error="an upstream node failed")
                pending.discard(node_id)
                self.progress.finished(node_id, "skipped", 0.0, "upstream failed")
                self.runs.node_finished(self.run_id, node_id, status="skipped", seconds=0.0)
                continue
            if not all(s is not None and s.status in ("done", "cached") for s in states):
                continue
            if action.op == RUN and action.node.kind in HEAVY_KINDS:
                if heavy_running >= self.heavy_jobs:
                    continue
                heavy_running += 1
            if action.op == RUN:
                slots -= 1
            ready.append(node_id)
        return ready

    def _execute(self, action: Action, upstream: dict[str, Result]) -> tuple[str, float, object]:
        """Runs in a worker: build artifacts, then record. Returns (status, seconds, payload)."""
        node = action.node
        fp = action.fingerprint.value
        start = time.perf_counter()

        def waiting(holder: str) -> None:
            self.progress.note(node.id, f"waiting for another run computing the same node ({holder or 'unknown'})")

        try:
            with self.store.lock(fp, on_wait=waiting):
                if action.reason == "result corrupt":
                    self.store.discard(fp)
                if self.store.has_result(fp):
                    if self.store.check(fp) is None:
                        return "cached", time.perf_counter() - start, self._load(action)
                    self.store.discard(fp)  # damaged: recomputed below
                start = time.perf_counter()
                folder = self.store.artifact_dir(fp)
                discard_stale(self.store.root, node.id, fp)
                checkpoint = Checkpoint(self.store.root, node.id, fp).open()
                # A folder left without a valid record (a kill between rename and record, or a damaged
                # result) is replaced: we hold the lock, so nobody else is writing it.
                with atomic_dir(folder, replace=True) as work:
                    ctx = NodeContext(node, work, self.seed, upstream, self.graph.files, self.resources,
                                      self.progress, checkpoint)
                    output = self.runners[node.kind](ctx)
                seconds = time.perf_counter() - start
                record = {**record_for(action), "outputs": output.outputs, "metrics": output.metrics,
                          "seconds": round(seconds, 3), "seed": self.seed}
                self.store.record(node.id, record)
                checkpoint.remove()
            return "done", seconds, (Result(node.id, node.kind, fp, output.outputs, folder, output.metrics,
                                   dict(action.fingerprint.data)), output)
        except NodeFailed as exc:
            return "failed", time.perf_counter() - start, (str(exc), exc.hint, False)
        except Exception as exc:  # a bug or an unexpected library error: keep the trace for the report
            trace = traceback.format_exc(limit=8)
            return "failed", time.perf_counter() - start, (f"{type(exc).__name__}: {exc}", trace, True)

    def _load(self, action: Action) -> Result:
        fp = action.fingerprint.value
        record = self.store.result(fp) or {}
        return Result(action.node.id, action.node.kind, fp, record.get("outputs") or {},
                      self.store.artifact_dir(fp), record.get("metrics"), dict(action.fingerprint.data))


def _detail(output: Output) -> str:
    shown = [f"{k} {v}" for k, v in output.outputs.items()
             if isinstance(v, (int, float)) or (isinstance(v, str) and len(v) <= 40)]
    return ", ".join(shown)[:80]


def _artifacts(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir())
