"""`ragdsl runs compare A B`: how the evaluations' metrics moved between two recorded runs.

Rows are (evaluation node, system, metric) present in either run, sorted; a side
that lacks one (the node failed, or the spec changed) shows as missing. Equal
fingerprints mean the results were reused from the cache: the numbers are the
same by construction, and the row says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragdsl.execute.runs import RunDetail

COMPARE_FORMAT = "ragdsl.compare/1"


@dataclass(frozen=True)
class MetricChange:
    evaluation: str
    system: str
    metric: str
    a: float | None
    b: float | None
    same_fingerprint: bool

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    def to_json(self) -> dict:
        return {"evaluation": self.evaluation, "system": self.system, "metric": self.metric, "a": self.a,
                "b": self.b, "delta": self.delta, "same_fingerprint": self.same_fingerprint}


@dataclass(frozen=True)
class Comparison:
    a: RunDetail
    b: RunDetail
    changes: tuple[MetricChange, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict:
        return {"format": COMPARE_FORMAT, "a": self.a.run.id, "b": self.b.run.id, "notes": list(self.notes),
                "changes": [c.to_json() for c in self.changes]}


def compare_runs(a: RunDetail, b: RunDetail) -> Comparison:
    evals_a = {n.node_id: n for n in a.nodes if n.kind == "evaluate"}
    evals_b = {n.node_id: n for n in b.nodes if n.kind == "evaluate"}
    notes = []
    if a.run.spec != b.run.spec:
        notes.append(f"the runs are of different specs ({a.run.spec} and {b.run.spec})")
    if not evals_a and not evals_b:
        notes.append("neither run has an evaluation")
    changes = []
    for node_id in sorted(set(evals_a) | set(evals_b)):
        na, nb = evals_a.get(node_id), evals_b.get(node_id)
        ma, mb = _table(na), _table(nb)
        same = (na is not None and nb is not None and na.fingerprint == nb.fingerprint
                and {na.status, nb.status} <= {"done", "cached"})
        for system in sorted(set(ma) | set(mb)):
            for metric in sorted(set(ma.get(system, {})) | set(mb.get(system, {}))):
                changes.append(MetricChange(node_id, system, metric, ma.get(system, {}).get(metric),
                                            mb.get(system, {}).get(metric), same))
    return Comparison(a, b, tuple(changes), tuple(notes))


def _table(node) -> dict[str, dict[str, float]]:
    """{system: {metric: mean}} from an evaluate node's recorded metrics (numbers only)."""
    if node is None or not isinstance(node.metrics, dict):
        return {}
    out: dict[str, dict[str, float]] = {}
    for system, row in node.metrics.items():
        if isinstance(row, dict):
            out[system] = {k: float(v) for k, v in row.items()
                           if k != "questions" and isinstance(v, int | float) and not isinstance(v, bool)}
    return out
