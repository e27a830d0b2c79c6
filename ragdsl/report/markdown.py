"""The report as Markdown: tables, linked SVG plots, the drill-down, the spec and provenance."""

from __future__ import annotations

from html import escape

from ragdsl.report import overview as o
from ragdsl.report import tables as t
from ragdsl.report.data import ReportData


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    return ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header),
            *["| " + " | ".join(cell(c) for c in row) + " |" for row in rows], ""]


def render_markdown(data: ReportData, plot_files: list[tuple[str, str]]) -> str:
    """plot_files: (caption, relative path of the SVG file)."""
    out = [f"# {data.title}", ""]
    for ov in o.overviews(data.evaluations):
        out += _overview(ov)
    for ev in data.evaluations:
        n = len(ev.questions)
        out += [f"## {ev.node}", "", f"Questions: {ev.summary.get('questions') or '-'} ({n}); "
                f"fingerprint `{ev.fingerprint[:12]}`. Means with 95% percentile-bootstrap CIs "
                + " ".join(["(judged metrics normalised to 0-1).", *t.summary_notes(ev)]), ""]
        title = None
        for table in t.summary_tables(ev):
            if table.title != title:
                out += [f"### {table.title}", ""]
                title = table.title
            out += _table(table.header, table.text_rows())
        header, rows, omitted = t.paired_table(ev)
        if rows or omitted:
            out += ["### Paired comparisons", "",
                    "A minus B on the questions both were scored on; **bold**: p (Holm) < 0.05.", ""]
        if rows:
            out += _table(header, [[f"**{c}**" if sig else c for c in cells] for cells, sig in rows])
            out += [t.holm_line(len(rows), "bold"), ""]
        if omitted:
            out += [omitted, ""]
        judge = t.judge_lines(ev)
        if judge:
            out += ["### Judge", "", *[f"- {line}" for line in judge], ""]
            header, rows = t.agreement_table(ev)
            if rows:
                out += ["Agreement of judge scores with objective metrics on the same answers:", ""]
                out += _table(header, rows)
            header, rows = t.calibration_table(ev)
            if rows:
                out += ["Agreement with each rubric's labelled calibration cases (docs/evaluation.md):", ""]
                out += _table(header, rows)
            out += [f"**{w}**\n" for w in t.calibration_warnings(ev)]
            for title, header, rows in t.judges_tables(ev):
                out += [title, ""] + _table(header, rows)
        tunes = data.finetunes.get(ev.node, {})
        if tunes:
            out += ["### Fine-tuning", ""] + _table(*t.finetune_table(tunes))
    if plot_files:
        out += ["## Plots", ""] + [f"![{caption}]({path})\n" for caption, path in plot_files]
    for ev in data.evaluations:
        out += [f"## Per question: {ev.node}", ""] + _drilldown(ev)
    out += _provenance(data)
    return "\n".join(out).rstrip() + "\n"


def _overview(ov: o.Overview) -> list[str]:
    """The variants of one evaluation side by side: means, then differences from the reference, per metric."""
    out = [f"## {ov.heading}", "", o.intro_line(ov), "", "### Means", ""]
    for table in o.mean_tables(ov):
        out += [f"#### {table.title}", ""] + _table(table.header, table.text_rows())
    out += [o.means_line(ov), ""]
    differences = o.difference_tables(ov)
    if differences:
        out += [f"### Differences from {ov.reference}", ""]
        for metric, header, rows in differences:
            out += [f"#### {metric}", ""] + _table(header, [[system, *[f"**{c.text}**" if c.significant else c.text
                                                                          for c in cells]] for system, cells in rows])
        out += [o.differences_line(ov, "**bold**"), ""]
    return out


def _drilldown(ev) -> list[str]:
    out = []
    for q in ev.questions:
        out += [f"### {q['id']}: {_line(q['question'])}", "",
                "Gold: " + (_line(" | ".join(q.get("answers") or [])) or "-")
                + (f"; previous: {_line(' | '.join(q['previous']))}" if q.get("previous") else ""), ""]
        for system, s in sorted(q.get("systems", {}).items()):
            scores = ", ".join(f"{m} {v:.2f}" if isinstance(v, int | float) else f"{m} n/a"
                               for m, v in sorted(s.get("scores", {}).items()))
            scored = f" [scored: {_line(s.get('scored', ''))}]" if s.get("parsed") else ""
            out.append(f"- **{system}**: {_line(s.get('prediction', ''))}{scored}  ({scores})")
            for metric, j in sorted(s.get("judge", {}).items()):
                verdict = f"{j['score']:g}" if j.get("score") is not None else f"unparseable ({j.get('error')})"
                out.append(f"  - judge {metric}: {verdict}; {_line(j.get('rationale') or '')}".rstrip("; "))
        shared, none = t.context_groups(q)
        for systems, contexts in shared:
            out += ["", f"<details><summary>retrieved contexts: {escape(', '.join(systems))}</summary>", ""]
            out += [f"{i}. {_line(c)}" for i, c in enumerate(contexts, 1)] + ["", "</details>"]
        if none and shared:
            out += ["", f"No retrieved contexts: {', '.join(none)}."]
        out.append("")
    return out


def _line(text: str) -> str:
    """Text on one line (passages keep the line breaks of their source, which would break a list)."""
    return " ".join(str(text).split())


def _provenance(data: ReportData) -> list[str]:
    out = ["## Plan fingerprints", ""] + _table(["node", "fingerprint"], t.fingerprint_rows(
        data.evaluations, data.finetunes))
    credits = sorted({line for ev in data.evaluations for line in ev.attribution})
    if credits:
        out += ["## Data", "", *[f"- {line}" for line in credits], ""]
    out += ["## Versions", "", ", ".join(f"{name} {v}" for name, v in data.versions), ""]
    for name, text in data.spec:
        out += [f"## Spec: {name}", "", "```", text.rstrip("\n"), "```", ""]
    return out
