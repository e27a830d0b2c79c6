"""The plan: for every node, run or cached, and why.

A node is cached when the store holds a result for its fingerprint. Otherwise
the reason compares it with the last record for the same node id: `new`
(never run), `input changed` (a data file's content), `params changed`,
`upstream changed` (naming the first changed input), or `code changed`.
A stored result whose record is malformed or whose artifacts no longer match
it runs again as `result corrupt` (naming what is wrong), and a node an
earlier run left unfinished as `resume` (how much its checkpoint holds).
"""

from __future__ import annotations

from dataclasses import dataclass

from ragdsl.execute.checkpoint import read_progress
from ragdsl.execute.store import Store
from ragdsl.ir.graph import ExperimentGraph
from ragdsl.ir.nodes import Node
from ragdsl.plan.fingerprint import FINGERPRINT_VERSION, Fingerprint, fingerprint_graph

RUN, CACHED, REUSE = "run", "cached", "reuse"
REASONS = ("new", "params changed", "input changed", "upstream changed", "code changed", "result missing",
           "result corrupt", "resume", "same as", "cached")


@dataclass(frozen=True)
class Action:
    node: Node
    op: str  # run | cached | reuse (identical to an earlier node of this plan)
    reason: str  # one of REASONS
    detail: str  # e.g. which input or upstream changed
    fingerprint: Fingerprint


@dataclass(frozen=True)
class Plan:
    spec: str
    experiment: str
    seed: int
    description: str
    actions: tuple[Action, ...]

    def counts(self) -> dict[str, int]:
        out = {r: 0 for r in REASONS}
        for a in self.actions:
            out[a.reason] += 1
        return out

    @property
    def to_run(self) -> int:
        return sum(a.op == RUN for a in self.actions)

    @property
    def reused(self) -> int:
        return sum(a.op == REUSE for a in self.actions)


def plan_graph(graph: ExperimentGraph, store: Store | None, *, spec: str, experiment: str, seed: int,
               description: str = "", verify: str = "quick") -> Plan:
    """`verify`: how cached results are checked: `quick` hashes only artifacts whose size or
    modification time changed, `deep` hashes every artifact (what `ragdsl run` does)."""
    fingerprints = fingerprint_graph(graph)
    done = store.result_fingerprints() if store is not None else set()
    records = store if store is not None and store.has_records() else None
    actions = []
    first: dict[str, str] = {}  # fingerprint -> the first node planned with it
    for node_id in graph.order():
        node = graph.node(node_id)
        fp = fingerprints[node_id]
        op, reason, detail = _decide(node, fp, done, records)
        if op == CACHED and store is not None:
            problem = store.check(fp.value, deep=verify == "deep")
            if problem:
                op, reason, detail = RUN, "result corrupt", problem
        if op == RUN and reason != "result corrupt" and store is not None and fp.value not in first:
            resumable = read_progress(store.root, fp.value)
            if resumable:
                op, reason, detail = RUN, "resume", f"{resumable['done']}/{resumable['total']} " \
                                                    f"{resumable.get('unit') or 'items'} done"
        if op == RUN and fp.value in first:
            # Two declarations that describe the same work: computed once, used twice.
            op, reason, detail = REUSE, "same as", first[fp.value]
        first.setdefault(fp.value, node_id)
        actions.append(Action(node, op, reason, detail, fp))
    return Plan(spec, experiment, seed, description, tuple(actions))


def _decide(node: Node, fp: Fingerprint, done: set[str], records: Store | None) -> tuple[str, str, str]:
    if fp.value in done:
        return CACHED, "cached", ""
    last = records.last_record(node.id) if records is not None else None
    if last is None:
        return RUN, "new", ""
    if last.get("fingerprint") == fp.value:
        return RUN, "result missing", "its stored result was removed"
    if last.get("version") != FINGERPRINT_VERSION:
        return RUN, "code changed", f"fingerprint version {last.get('version')} -> {FINGERPRINT_VERSION}"
    old_data = dict(map(tuple, last.get("data", [])))
    for path, sha in fp.data:
        if old_data.get(path) != sha:
            return RUN, "input changed", path
    if last.get("params") != fp.params:
        return RUN, "params changed", ""
    old_inputs = {tuple(i) for i in last.get("inputs", [])}
    for role, upstream in fp.inputs:
        if (role, upstream) not in old_inputs:
            return RUN, "upstream changed", role
    return RUN, "params changed", ""


def record_for(action: Action) -> dict:
    """What the executor stores for a finished node (the planner reads it back)."""
    fp = action.fingerprint
    return {
        "fingerprint": fp.value,
        "version": fp.version,
        "kind": action.node.kind,
        "params": fp.params,
        "data": [list(d) for d in fp.data],
        "inputs": [list(i) for i in fp.inputs],
    }
