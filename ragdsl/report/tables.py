"""The report's tables (rows of strings; summary cells as mean, CI and n), shared by the Markdown and HTML renderers."""

from __future__ import annotations

from dataclasses import dataclass

from ragdsl.evaluate.scoring import higher_is_better, kind_of
from ragdsl.evaluate.stats import ALPHA, holm
from ragdsl.report.data import Evaluation, Finetune

GROUPS = (("answer", "Answer metrics"), ("fact", "Fact-update metrics"), ("judge", "Judged metrics (0-1)"),
          ("retrieval", "Retrieval metrics"))
LEFT_OUT = {"judge": "answers whose judge reply could not be parsed", "retrieval": "questions without a gold passage",
            "answer": "questions without gold answers",
            "fact": "questions without previous answers"}  # why a metric may score fewer than all questions
MAX_COLUMNS = 5  # metrics per summary table: five estimates and the system column fit a 1280-px window


def p_text(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def group_of(metric: str) -> str:
    """'answer' (EM, F1, format validity, semantic similarity), 'fact', 'judge' or 'retrieval'."""
    kind = kind_of(metric)
    return kind if kind in ("fact", "judge", "retrieval") else "answer"


def question_count(ev: Evaluation) -> int:
    """The evaluation's questions: those of the drill-down, else the most any metric was scored on."""
    if ev.questions:
        return len(ev.questions)
    return max((e.get("n") or 0 for est in (ev.summary.get("estimates") or {}).values() for e in est.values()),
               default=0)


def without_contexts(ev: Evaluation) -> list[str]:
    """Systems that retrieved no passage for any question of the drill-down (closed-book)."""
    systems = sorted({s for q in ev.questions for s in q.get("systems", {})})
    return [s for s in systems if not any(q.get("systems", {}).get(s, {}).get("contexts") for q in ev.questions)]


@dataclass(frozen=True)
class Cell:
    """One estimate of the summary: mean, CI and, where it differs from the question count, n."""

    mean: str
    ci: str = ""
    n: str = ""

    @property
    def text(self) -> str:
        return " ".join(x for x in (self.mean, self.ci, f"({self.n})" if self.n else "") if x)


@dataclass(frozen=True)
class SummaryTable:
    title: str
    metrics: list[str]
    rows: list[tuple[str, list[Cell]]]  # (system, a cell per metric)

    @property
    def header(self) -> list[str]:
        return ["system", *self.metrics]

    def text_rows(self) -> list[list[str]]:
        return [[system, *[c.text for c in cells]] for system, cells in self.rows]


def cell(e: dict | None, questions: int) -> Cell:
    if not e or e.get("mean") is None:
        return Cell("n/a")
    n = e.get("n")
    return Cell(f"{e['mean']:.3f}", f"[{e['low']:.3f}, {e['high']:.3f}]", "" if n == questions else f"n={n}")


def summary_tables(ev: Evaluation) -> list[SummaryTable]:
    """The summary split by metric group (answer, judged, retrieval), at most MAX_COLUMNS metrics a table."""
    metrics = ev.summary.get("metrics") or []
    estimates = ev.summary.get("estimates") or {}
    questions = question_count(ev)
    out = []
    for group, title in GROUPS:
        chosen = [m for m in metrics if group_of(m) == group]
        parts = -(-len(chosen) // MAX_COLUMNS)  # as few tables as fit, of even widths (7 metrics: 4 + 3)
        start = 0
        for i in range(parts):
            size = len(chosen) // parts + (i < len(chosen) % parts)
            chunk, start = chosen[start:start + size], start + size
            out.append(SummaryTable(title, chunk, [(s, [cell(estimates[s].get(m), questions) for m in chunk])
                                                   for s in sorted(estimates)]))
    return out


def summary_notes(ev: Evaluation) -> list[str]:
    """What the summary's cells mean: the question count, and why some cells have fewer questions or none."""
    questions = question_count(ev)
    estimates = ev.summary.get("estimates") or {}
    metrics = ev.summary.get("metrics") or []
    if not metrics or not estimates:
        return []
    partial = {group_of(m) for est in estimates.values() for m in metrics
               if (n := (est.get(m) or {}).get("n")) and n != questions}
    lines = [f"Each cell: mean [95% CI] over all {questions} questions" + ("." if not partial else "; (n=k): over k "
             "of them only, leaving out " + " and ".join(LEFT_OUT[g] for g, _ in GROUPS if g in partial) + ".")]
    empty = _empty(ev)
    if empty:
        closed = [s for s in without_contexts(ev)
                  if any((s, m) in empty for m in metrics if group_of(m) == "retrieval")]
        reason = f" ({_names(closed)} retrieved no passages)" if closed else ""
        lines.append(f"n/a: no score on any question{reason}.")
    lines += [line for line in (fact_line(metrics), answer_field_line(ev)) if line]
    generation = generation_line(ev)
    return [*lines, generation] if generation else lines


def fact_line(metrics: list[str]) -> str:
    """What the fact-update metrics count, and which way is better ("" without them)."""
    facts = [m for m in metrics if group_of(m) == "fact"]
    if not facts:
        return ""
    better = [m for m in facts if higher_is_better(m)]
    worse = [m for m in facts if not higher_is_better(m)]
    parts = [f"{_names(better)}: higher is better" if better else "",
             f"{_names(worse)}: lower is better" if worse else ""]
    return ("Fact-update metrics, over the questions with previous (outdated or counterfactual) answers: the "
            "share of answers that mention a current (gold) answer (fact_new), only a previous one (fact_old), "
            f"or neither (fact_neither); {'; '.join(p for p in parts if p)}.")


def answer_field_line(ev: Evaluation) -> str:
    """How many answers were scored through their JSON field (answer_field; "" without it)."""
    found = ev.summary.get("answer_field")
    if not found:
        return ""
    counts = [f"{s} {found['parsed'].get(s, 0)} of {n}" for s, n in sorted((found.get("answers") or {}).items())]
    return (f"Answers scored through their JSON field `{found['field']}` (parsed: {_names(counts)}); the others "
            "were scored as they are, and format_validity checks every answer whole.")


def paired_table(ev: Evaluation) -> tuple[list[str], list[tuple[list[str], bool]], str]:
    """Rows of (cells, significant), and a line saying which comparisons were omitted and why ("" if none).

    A pair of systems with no question scored by both on a metric has no comparison (a closed-book
    system on the retrieval metrics): it is left out rather than shown as an empty row. A row is
    significant where its Holm-adjusted p (over the table's rows, see paired_with_holm) is below ALPHA.
    """
    header = ["metric", "A", "B", "questions", "A - B [95% CI]", "p", "p (Holm)", "test"]
    rows = []
    every = paired_with_holm(ev)
    for p in filter(_compared, every):
        diff = f"{p['diff']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}]"
        rows.append(([p["metric"], p["a"], p["b"], str(p["n"]), diff, p_text(p.get("p")), p_text(p["p_holm"]),
                      p["test"]], p["p_holm"] is not None and p["p_holm"] < ALPHA))
    return header, rows, _omitted(ev, [p for p in every if not _compared(p)], len(every))


def paired_with_holm(ev: Evaluation) -> list[dict]:
    """The evaluation's paired comparisons, each with p_holm: its p adjusted (Holm-Bonferroni) for the
    family of comparisons the paired table shows (those with questions in common; None for the others).

    Computed here rather than by the evaluate runner, so that cached evaluations stay valid.
    """
    every = ev.summary.get("paired") or []
    adjusted = iter(holm([p.get("p") for p in every if _compared(p)]))
    return [{**p, "p_holm": next(adjusted) if _compared(p) else None} for p in every]


def holm_line(rows: int, marked: str) -> str:
    """What the p (Holm) column is, under a paired table of `rows` comparisons."""
    family = "the only comparison" if rows == 1 else f"the {rows} comparisons"
    return (f"p (Holm): p adjusted for {family} of this table (Holm-Bonferroni), so that the chance of any "
            f"false positive among them is at most {ALPHA:g}; {marked} where it is below {ALPHA:g}.")


def _compared(p: dict) -> bool:
    return bool(p.get("n")) and p.get("diff") is not None


def _omitted(ev: Evaluation, omitted: list[dict], total: int) -> str:
    if not omitted:
        return ""
    empty = _empty(ev)
    order = {m: i for i, m in enumerate(ev.summary.get("metrics") or [])}
    blamed: dict[str, set[str]] = {}
    disjoint = 0
    for p in omitted:
        who = [s for s in (p["a"], p["b"]) if (s, p["metric"]) in empty]
        for s in who:
            blamed.setdefault(s, set()).add(p["metric"])
        disjoint += not who
    closed = set(without_contexts(ev))
    reasons = []
    for s in sorted(blamed):
        metrics = sorted(blamed[s], key=lambda m: (order.get(m, len(order)), m))
        retrieval = all(group_of(m) == "retrieval" for m in metrics)
        reasons.append(f"{s} has no {_names(metrics, 'or')} score"
                       + (" (it retrieved no passages)" if retrieval and s in closed else ""))
    if disjoint:
        reasons.append(f"{disjoint} other {'pair was' if disjoint == 1 else 'pairs were'} scored on different "
                       "questions")
    return (f"{len(omitted)} of {total} comparisons omitted, as no question has a score from both systems: "
            f"{_names(reasons)}.")


def _empty(ev: Evaluation) -> set[tuple[str, str]]:
    """(system, metric) with no score at all."""
    return {(s, m) for s, est in (ev.summary.get("estimates") or {}).items()
            for m in ev.summary.get("metrics") or [] if not (est.get(m) or {}).get("n")}


def _names(items: list[str], conjunction: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def context_groups(question: dict) -> tuple[list[tuple[list[str], list[str]]], list[str]]:
    """A question's retrieved contexts per system: ([(systems, contexts)], systems that retrieved nothing).

    Systems that retrieved the same passages in the same order share one entry (systems of one
    evaluation usually share retrieval); entries are in the order of their first system.
    """
    shared: dict[tuple[str, ...], list[str]] = {}
    none = []
    for system, s in sorted(question.get("systems", {}).items()):
        contexts = tuple(str(c) for c in s.get("contexts") or [])
        if contexts:
            shared.setdefault(contexts, []).append(system)
        else:
            none.append(system)
    return [(systems, list(contexts)) for contexts, systems in shared.items()], none


def judge_lines(ev: Evaluation) -> list[str]:
    judge = ev.summary.get("judge")
    if not judge:
        return []
    identity = str(judge.get("identity") or "")
    identity = identity[:19] if identity.startswith("sha256:") else identity  # sha256: and 12 hex digits
    lines = [f"Judge: {judge.get('model')} ({judge.get('reference')}, {identity}), temperature "
             f"{judge.get('temperature')}, seed {judge.get('seed')}, at most {judge.get('max_new_tokens')} tokens."]
    for metric, r in sorted((judge.get("rubrics") or {}).items()):
        lines.append(f"Rubric {metric}: version {r['version']}, scale {r['scale']} (reported as 0-1), "
                     f"sha256 {r['sha256'][:12]}.")
    bad = judge.get("unparseable") or {}
    per_metric = ", ".join(f"{m}: {n}" for m, n in sorted(bad.items()))
    lines.append(f"Unparseable judge replies: {sum(bad.values())} of {judge.get('judgments', 0)} ({per_metric}); "
                 "those answers have no judged score and are left out of its mean.")
    return lines


def generation_line(ev: Evaluation) -> str:
    """Whether answers could depend on their batch neighbours (see docs/lowering.md, batch invariance)."""
    generation = ev.summary.get("generation") or {}
    invariant = sorted(s for s, g in generation.items() if g.get("batch_invariant"))
    batched = sorted(s for s, g in generation.items() if not g.get("batch_invariant"))
    parts = []
    if batched:
        parts.append(f"{_names(batched)} generated in batches (batch_invariant = false): an answer can, "
                     "rarely, depend on which questions share its batch")
    if invariant:
        parts.append(f"{_names(invariant)} generated every question on its own (batch_invariant = true)")
    return ("Generation: " + "; ".join(parts) + ".") if parts else ""


def calibration_warnings(ev: Evaluation) -> list[str]:
    return [f"Calibration warning for {c['metric']} ({c['judge']}): {c['warning']}; treat its judged mean "
            "with care." for c in ev.summary.get("calibration") or [] if c.get("warning")]


def calibration_table(ev: Evaluation) -> tuple[list[str], list[list[str]]]:
    """The judge's agreement with each rubric's labelled calibration cases."""
    header = ["judged metric", "judge", "cases", "Spearman", "Kendall tau", "exact", "within 1", "MAE", "warning"]
    rows = []
    for c in ev.summary.get("calibration") or []:
        if not c.get("available"):
            rows.append([c["metric"], c["judge"], "0", "n/a", "n/a", "n/a", "n/a", "n/a",
                         f"not available: {c.get('reason') or 'no calibration cases'}"])
            continue
        rows.append([c["metric"], c["judge"], f"{c['n']} of {c['cases']}", _num(c.get("spearman")),
                     _num(c.get("kendall")), _pct(c.get("exact")), _pct(c.get("within_1")), _num(c.get("mae")),
                     c.get("warning") or ""])
    return header, rows


def judges_tables(ev: Evaluation) -> list[tuple[str, list[str], list[list[str]]]]:
    """With several judges: each judge's own means, and how far the judges agree with each other."""
    judge = ev.summary.get("judge") or {}
    judges = judge.get("judges") or []
    if len(judges) < 2:
        return []
    metrics = sorted({m for j in judges for est in (j.get("estimates") or {}).values() for m in est})
    means = [[j["name"], system, *[_num((est.get(m) or {}).get("mean")) for m in metrics]]
             for j in judges for system, est in sorted((j.get("estimates") or {}).items())]
    pairwise = [[p["metric"], p["a"], p["b"], str(p["n"]), _num(p.get("spearman")), _num(p.get("kendall")),
                 _pct(p.get("exact"))] for p in judge.get("pairwise") or []]
    title = (f"Judged scores are the {judge.get('combine') or 'mean'} of {len(judges)} judges "
             f"({_names([j['name'] for j in judges])}). Each judge's own means:")
    return [(title, ["judge", "system", *metrics], means),
            ("Agreement between judges on the same answers:",
             ["judged metric", "judge A", "judge B", "answers", "Spearman", "Kendall tau", "exact"], pairwise)]


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def agreement_table(ev: Evaluation) -> tuple[list[str], list[list[str]]]:
    header = ["judged metric", "vs", "answers", "Spearman", "Kendall tau"]
    rows = [[a["metric"], a["reference"], str(a["n"]), _num(a.get("spearman")), _num(a.get("kendall"))]
            for a in ev.summary.get("agreement") or []]
    return header, rows


def finetune_table(tunes: dict[str, Finetune]) -> tuple[list[str], list[list[str]]]:
    keys = ["method", "samples", "train_tokens", "train_loss", "eval_loss_before", "eval_loss", "tokens_per_s",
            "device"]
    header = ["system", *keys, "node"]
    rows = [[label, *[_num(t.outputs.get(k)) for k in keys], t.node] for label, t in sorted(tunes.items())]
    return header, rows


def fingerprint_rows(evaluations: list[Evaluation], tunes: dict[str, dict[str, Finetune]]) -> list[list[str]]:
    rows = []
    for ev in evaluations:
        rows.append([ev.node, ev.fingerprint[:12]])
        for label, fp in sorted((ev.summary.get("fingerprints") or {}).items()):
            rows.append([f"  {label}", fp[:12]])
        for t in sorted(tunes.get(ev.node, {}).values(), key=lambda t: t.node):
            rows.append([t.node, t.fingerprint[:12]])
    return rows


def _num(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
