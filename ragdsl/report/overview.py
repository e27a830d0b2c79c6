"""The overview: the variants of one evaluation declaration side by side.

A named sweep (`sweep domain = [...]`) feeding an evaluation gives one evaluation node per
value (`evaluate.paper[domain=pubmedqa]`, `evaluate.paper[domain=squad_v1]`), each with its
own section in the report. Where a report holds two or more such variants, the overview puts
them side by side: per metric, the systems' means by variant, and each system's difference
from the reference system by variant, taken from that variant's paired comparisons (so its
p is Holm-adjusted over that evaluation's own paired table, as in its section).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ragdsl.evaluate.stats import ALPHA
from ragdsl.report.data import Evaluation
from ragdsl.report.tables import (
    Cell,
    SummaryTable,
    _compared,
    _names,
    cell,
    p_text,
    paired_with_holm,
    question_count,
)


@dataclass(frozen=True)
class Variant:
    label: str  # the varying axes of its node id: "domain=pubmedqa"
    evaluation: Evaluation
    axes: dict[str, str]  # all the node's axes: {"domain": "pubmedqa"}
    systems: dict[str, str]  # system label without the varying axes -> its label in the evaluation


@dataclass(frozen=True)
class DiffCell:
    """A system minus the reference on one variant: difference, CI and Holm-adjusted p."""

    diff: str
    ci: str = ""
    p: str = ""
    significant: bool = False

    @property
    def text(self) -> str:
        return " ".join(x for x in (self.diff, self.ci, self.p) if x)


@dataclass
class Overview:
    declaration: str  # "evaluate.paper"
    axes: list[str]  # the axes whose values differ between the variants: ["domain"]
    variants: list[Variant]  # in the order of the report's evaluations
    metrics: list[str]  # the evaluations' metrics, in their order
    systems: list[str]  # every variant's systems without the varying axes, sorted
    reference: str | None  # the system the differences are taken against (without the varying axes)
    differences: dict[str, dict[str, dict[str, dict | None]]] = field(default_factory=dict)
    # differences[metric][system][variant label]: system minus reference (None: not in that variant)

    @property
    def heading(self) -> str:
        return f"Overview: {self.declaration} by {_names(self.axes)}"

    @property
    def others(self) -> list[str]:
        return [s for s in self.systems if s != self.reference]


def overviews(evaluations: list[Evaluation]) -> list[Overview]:
    """One overview per evaluation declaration with two or more variants in the report."""
    groups: dict[str, list[tuple[Evaluation, list[tuple[str, str]]]]] = {}
    for ev in evaluations:
        head, axes = split_label(ev.node)
        members = groups.setdefault(head, [])
        if axes and all(ev.node != m.node for m, _ in members):
            members.append((ev, axes))
    return [found for head, members in groups.items() if (found := _overview(head, members)) is not None]


def _overview(head: str, members: list[tuple[Evaluation, list[tuple[str, str]]]]) -> Overview | None:
    if len(members) < 2:
        return None
    labels = [k for k, _ in members[0][1]]
    if any([k for k, _ in axes] != labels for _, axes in members):
        return None  # not variants of one declaration (its nodes all have the same axes)
    varying = [k for k in labels if len({dict(axes)[k] for _, axes in members}) > 1]
    variants = []
    for ev, axes in members:
        values = dict(axes)
        systems: dict[str, str] = {}
        for system in sorted(ev.summary.get("estimates") or {}):
            systems.setdefault(strip_axes(system, {k: values[k] for k in varying}), system)
        variants.append(Variant(",".join(f"{k}={values[k]}" for k in varying), ev, values, systems))
    metrics: list[str] = []
    for ev, _ in members:
        metrics += [m for m in ev.summary.get("metrics") or [] if m not in metrics]
    systems = sorted({s for v in variants for s in v.systems})
    found = Overview(head, varying, variants, metrics, systems, _reference(variants))
    found.differences = _differences(found)
    return found


def _reference(variants: list[Variant]) -> str | None:
    """The evaluation's first system: a variant of the first name declared (Evaluation.systems), else the
    first sorted; of several variants of that name, the first sorted."""
    for v in variants:
        names = [n for n in v.evaluation.systems if any(_name(full) == n for full in v.systems.values())]
        order = sorted(full for full in v.systems.values() if _name(full) == names[0]) if names else []
        order = order or sorted(v.systems.values())
        if order:
            return next(short for short, full in v.systems.items() if full == order[0])
    return None


def _name(label: str) -> str:
    return label.split("[", 1)[0]


def _differences(ov: Overview) -> dict[str, dict[str, dict[str, dict | None]]]:
    out: dict[str, dict[str, dict[str, dict | None]]] = {m: {s: {} for s in ov.others} for m in ov.metrics}
    if ov.reference is None:
        return out
    for v in ov.variants:
        reference = v.systems.get(ov.reference)
        pairs = {(p["a"], p["b"], p["metric"]): p for p in paired_with_holm(v.evaluation)}
        for metric in ov.metrics:
            for system in ov.others:
                full = v.systems.get(system)
                found = None
                if full is not None and reference is not None:
                    found = _difference(pairs, full, reference, metric)
                out[metric][system][v.label] = found
    return out


def _difference(pairs: dict, system: str, reference: str, metric: str) -> dict:
    """system minus reference: the stored pair as it is, or the reference-minus-system pair negated."""
    base = {"system": system, "reference": reference, "n": 0, "diff": None, "low": None, "high": None, "p": None,
            "p_holm": None, "test": "none", "significant": False}
    pair = pairs.get((system, reference, metric))
    flip = pair is None
    if flip:
        pair = pairs.get((reference, system, metric))
    if pair is None or not _compared(pair):
        return {**base, "n": (pair or {}).get("n") or 0}
    diff, low, high = pair["diff"], pair["low"], pair["high"]
    if flip:
        diff, low, high = 0.0 - diff, 0.0 - high, 0.0 - low  # 0.0 - x: no -0.0 (shown as -0.000)
    return {**base, "n": pair["n"], "diff": diff, "low": low, "high": high, "p": pair.get("p"),
            "p_holm": pair["p_holm"], "test": pair.get("test"),
            "significant": pair["p_holm"] is not None and pair["p_holm"] < ALPHA}


# ------------------------------------------------------------------ tables

def mean_tables(ov: Overview) -> list[SummaryTable]:
    """Per metric: systems x variants, each cell as in the summary tables (`-`: not in that variant)."""
    out = []
    for metric in ov.metrics:
        rows = []
        for system in ov.systems:
            cells = []
            for v in ov.variants:
                full = v.systems.get(system)
                if full is None:
                    cells.append(Cell("-"))
                else:
                    estimate = (v.evaluation.summary.get("estimates") or {})[full].get(metric)
                    cells.append(cell(estimate, question_count(v.evaluation)))
            rows.append((system, cells))
        out.append(SummaryTable(metric, [v.label for v in ov.variants], rows))
    return out


def difference_tables(ov: Overview) -> list[tuple[str, list[str], list[tuple[str, list[DiffCell]]]]]:
    """Per metric: (metric, header, rows of (system, a cell per variant)); none without a reference and
    another system."""
    if ov.reference is None or not ov.others:
        return []
    header = ["system", *[v.label for v in ov.variants]]
    return [(metric, header, [(system, [diff_cell(ov.differences[metric][system].get(v.label)) for v in ov.variants])
                              for system in ov.others]) for metric in ov.metrics]


def diff_cell(d: dict | None) -> DiffCell:
    if d is None:
        return DiffCell("-")
    if d.get("diff") is None:
        return DiffCell("n/a")
    p = p_text(d.get("p_holm"))
    return DiffCell(f"{d['diff']:+.3f}", f"[{d['low']:+.3f}, {d['high']:+.3f}]",
                    f"p{p}" if p.startswith("<") else f"p={p}", bool(d.get("significant")))


def intro_line(ov: Overview) -> str:
    return (f"The {len(ov.variants)} variants of {ov.declaration} side by side, a column each (each has its own "
            "section below).")


def means_line(ov: Overview) -> str:
    tables = mean_tables(ov)
    partial = any(c.n for t in tables for _, cells in t.rows for c in cells)
    empty = any(c.mean == "n/a" for t in tables for _, cells in t.rows for c in cells)
    missing = any(c.mean == "-" for t in tables for _, cells in t.rows for c in cells)
    parts = ["Each cell: mean [95% CI] over the variant's questions, as in its own summary table"]
    if partial:
        parts.append("(n=k): over k of them only")
    if empty:
        parts.append("n/a: no score on any question")
    if missing:
        parts.append("-: no such system in that variant")
    return "; ".join(parts) + "."


def differences_line(ov: Overview, marked: str) -> str:
    """Under the difference tables: what a cell is, and what its p is (Holm within each evaluation)."""
    cells = [c for _, _, rows in difference_tables(ov) for _, row in rows for c in row]
    line = (f"Each cell: the system minus {ov.reference} on the questions both were scored on, with the 95% CI "
            "of the difference, from the variant's paired comparisons; p: its p (Holm), adjusted within each "
            f"evaluation over the comparisons of its own paired table; {marked} where it is below {ALPHA:g}")
    if any(c.diff == "n/a" for c in cells):
        line += "; n/a: no question scored by both"
    if any(c.diff == "-" for c in cells):
        line += f"; -: the system or {ov.reference} is not in that variant"
    return line + "."


# ------------------------------------------------------------------ labels

def split_label(label: str) -> tuple[str, list[tuple[str, str]]]:
    """`tuned[domain=pubmedqa,samples=20]` -> (`tuned`, [(`domain`, `pubmedqa`), (`samples`, `20`)]).

    Commas inside brackets, parentheses or quotes belong to a value (`retrieve=bm25(idx,top_k=2)`).
    A label that is not `name[axis=value,...]` comes back whole, without axes.
    """
    if not label.endswith("]") or "[" not in label:
        return label, []
    head, _, inner = label[:-1].partition("[")
    parts, depth, quote, escaped, start = [], 0, "", False, 0
    for i, ch in enumerate(inner):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    axes = [tuple(p.split("=", 1)) for p in parts]
    if not head or any(len(a) != 2 or not a[0] for a in axes):
        return label, []
    return head, [(k, v) for k, v in axes]


def strip_axes(label: str, remove: dict[str, str]) -> str:
    """The label without the given axis values: `tuned[domain=pubmedqa,samples=20]` -> `tuned[samples=20]`."""
    head, axes = split_label(label)
    kept = [(k, v) for k, v in axes if remove.get(k) != v]
    return head + ("[" + ",".join(f"{k}={v}" for k, v in kept) + "]" if kept else "")


# -------------------------------------------------------------------- JSON

def overview_json(ov: Overview) -> dict:
    """The overview's numbers for report.json: means and differences by metric, system and variant."""
    means: dict[str, dict[str, dict[str, dict | None]]] = {}
    for metric in ov.metrics:
        means[metric] = {}
        for system in ov.systems:
            means[metric][system] = {}
            for v in ov.variants:
                full = v.systems.get(system)
                estimate = (v.evaluation.summary.get("estimates") or {}).get(full, {}).get(metric) if full else None
                means[metric][system][v.label] = None if full is None else {
                    "system": full, **{k: (estimate or {}).get(k) for k in ("mean", "low", "high", "n")}}
    return {"evaluation": ov.declaration, "axes": ov.axes, "reference": ov.reference, "metrics": ov.metrics,
            "systems": ov.systems, "variants": [{"label": v.label, "node": v.evaluation.node, "axes": v.axes}
                                                for v in ov.variants],
            "means": means, "differences": ov.differences, "alpha": ALPHA}
