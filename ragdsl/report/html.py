"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, no network."""

from __future__ import annotations

from html import escape

from ragdsl.report import overview as o
from ragdsl.report import tables as t
from ragdsl.report.data import ReportData

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.summary td.est{min-width:7.5rem}td.est .ci,td.est .n,td.est .p{display:block;font-size:.85em;color:#555}
td.est .n{font-weight:600;color:#8a4b00}
tr.significant td,td.significant{background:#fff4cc;font-weight:600}pre{background:#f7f7f7;padding:.8rem;overflow:auto}
details{margin:.3rem 0}summary{cursor:pointer}.question{border-top:1px solid #eee;padding:.4rem 0}
.question li{overflow-wrap:anywhere}.rationale{color:#555;font-size:.92em}.muted{color:#666}
svg.plot{display:block;margin:.5rem 0 1.5rem;max-width:100%;height:auto}
"""


def _table(header: list[str], rows: list[list[str]], classes: list[str] | None = None, cls: str = "") -> str:
    head = "".join(f"<th>{_breakable(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        row_cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f'<td class="num">{escape(c)}</td>' if _numeric(c) else f"<td>{escape(c)}</td>"
                        for c in row)
        body.append(f"<tr{row_cls}>{cells}</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _breakable(name: str) -> str:
    """A header that may wrap after its underscores (metric and field names) rather than widen the table."""
    return escape(name).replace("_", "_<wbr>")


def _summary(table: t.SummaryTable, cls: str = "summary") -> str:
    """Each cell the mean, its CI under it and n under that (where not the question count): narrow columns."""
    def est(c: t.Cell) -> str:
        if not c.ci:
            return f'<td class="est num">{escape(c.mean)}</td>'
        n = f'<span class="n">{escape(c.n)}</span>' if c.n else ""
        return (f'<td class="est num"><span class="mean">{escape(c.mean)}</span> '
                f'<span class="ci">{escape(c.ci)}</span>{n}</td>')

    head = "".join(f"<th>{_breakable(h)}</th>" for h in table.header)
    body = "".join(f"<tr><td>{escape(system)}</td>{''.join(est(c) for c in cells)}</tr>" for system, cells in table.rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _differences(header: list[str], rows: list[tuple[str, list[o.DiffCell]]]) -> str:
    """Each cell the difference, its CI under it and its Holm-adjusted p under that; highlighted where
    significant (the class of the paired table's significant rows)."""
    def est(c: o.DiffCell) -> str:
        cls = "est num significant" if c.significant else "est num"
        if not c.ci:
            return f'<td class="{cls}">{escape(c.diff)}</td>'
        return (f'<td class="{cls}"><span class="mean">{escape(c.diff)}</span> <span class="ci">{escape(c.ci)}'
                f'</span> <span class="p">{escape(c.p)}</span></td>')

    head = "".join(f"<th>{_breakable(h)}</th>" for h in header)
    body = "".join(f"<tr><td>{escape(system)}</td>{''.join(est(c) for c in cells)}</tr>" for system, cells in rows)
    return f'<table class="summary differences"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _overview(ov: o.Overview) -> str:
    parts = [f'<section class="overview" id="overview-{escape(ov.declaration)}"><h2>{escape(ov.heading)}</h2>',
             f'<p class="muted">{escape(o.intro_line(ov))}</p><h3>Means</h3>']
    for table in o.mean_tables(ov):
        parts.append(f"<h4>{escape(table.title)}</h4>" + _summary(table, "summary means"))
    parts.append(f'<p class="muted">{escape(o.means_line(ov))}</p>')
    differences = o.difference_tables(ov)
    if differences:
        parts.append(f"<h3>Differences from {escape(str(ov.reference))}</h3>")
        parts += [f"<h4>{escape(metric)}</h4>" + _differences(header, rows) for metric, header, rows in differences]
        parts.append(f'<p class="muted">{escape(o.differences_line(ov, "highlighted"))}</p>')
    parts.append("</section>")
    return "".join(parts)


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] in "+-<") and text != "-"


def render_html(data: ReportData, plots: list[tuple[str, str]]) -> str:
    parts = [f"<h1>{escape(data.title)}</h1>"]
    parts += [_overview(ov) for ov in o.overviews(data.evaluations)]
    for ev in data.evaluations:
        parts.append(f'<section class="evaluation" id="{escape(ev.node)}"><h2>{escape(ev.node)}</h2>')
        parts.append(f'<p class="muted">Questions: {escape(str(ev.summary.get("questions") or "-"))} '
                     f"({len(ev.questions)}); fingerprint <code>{ev.fingerprint[:12]}</code>. Means with 95% "
                     "percentile-bootstrap confidence intervals "
                     + escape(" ".join(["(judged metrics normalised to 0-1).", *t.summary_notes(ev)])) + "</p>")
        title = None
        for table in t.summary_tables(ev):
            if table.title != title:
                parts.append(f"<h3>{escape(table.title)}</h3>")
                title = table.title
            parts.append(_summary(table))
        header, rows, omitted = t.paired_table(ev)
        if rows or omitted:
            parts.append("<h3>Paired comparisons</h3><p>A minus B on the questions both were scored on; "
                         "highlighted: p (Holm) &lt; 0.05.</p>")
        if rows:
            parts.append(_table(header, [r for r, _ in rows], ["significant" if s else "" for _, s in rows],
                                cls="paired"))
            parts.append(f'<p class="muted holm">{escape(t.holm_line(len(rows), "highlighted"))}</p>')
        if omitted:
            parts.append(f'<p class="muted omitted">{escape(omitted)}</p>')
        judge = t.judge_lines(ev)
        if judge:
            parts.append("<h3>Judge</h3><ul>" + "".join(f"<li>{escape(x)}</li>" for x in judge) + "</ul>")
            header, rows = t.agreement_table(ev)
            if rows:
                parts.append("<p>Agreement of judge scores with objective metrics on the same answers:</p>"
                             + _table(header, rows, cls="agreement"))
            header, rows = t.calibration_table(ev)
            if rows:
                parts.append("<p>Agreement with each rubric's labelled calibration cases:</p>"
                             + _table(header, rows, cls="calibration"))
            parts += [f'<p class="warning"><strong>{escape(w)}</strong></p>' for w in t.calibration_warnings(ev)]
            for title, header, rows in t.judges_tables(ev):
                parts.append(f"<p>{escape(title)}</p>" + _table(header, rows, cls="judges"))
        tunes = data.finetunes.get(ev.node, {})
        if tunes:
            parts.append("<h3>Fine-tuning</h3>" + _table(*t.finetune_table(tunes), cls="finetune"))
        parts.append("</section>")
    if plots:
        parts.append('<section id="plots"><h2>Plots</h2>')
        parts += [f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>" for caption, svg in plots]
        parts.append("</section>")
    for ev in data.evaluations:
        parts.append(f'<section class="drilldown"><h2>Per question: {escape(ev.node)}</h2>{_drilldown(ev)}</section>')
    parts.append(_provenance(data))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(data.title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _drilldown(ev) -> str:
    out = []
    for q in ev.questions:
        rows = []
        for system, s in sorted(q.get("systems", {}).items()):
            scores = ", ".join(f"{m} {v:.2f}" if isinstance(v, int | float) else f"{m} n/a"
                               for m, v in sorted(s.get("scores", {}).items()))
            judged = "".join(
                f'<div class="rationale">judge {escape(m)}: '
                + (f"{j['score']:g}" if j.get("score") is not None else f"unparseable ({escape(str(j.get('error')))})")
                + (f" - {escape(j['rationale'])}" if j.get("rationale") else "") + "</div>"
                for m, j in sorted(s.get("judge", {}).items()))
            scored = f'<div class="muted">scored: {escape(s.get("scored", ""))}</div>' if s.get("parsed") else ""
            rows.append(f"<tr><td>{escape(system)}</td><td>{escape(s.get('prediction', ''))}{scored}{judged}</td>"
                        f"<td>{escape(scores)}</td></tr>")
        shared, none = t.context_groups(q)
        ctx_html = "".join(f'<details class="contexts"><summary>retrieved contexts: {escape(", ".join(systems))}'
                           "</summary><ol>" + "".join(f"<li>{escape(c)}</li>" for c in contexts) + "</ol></details>"
                           for systems, contexts in shared)
        if none and shared:
            ctx_html += f'<p class="muted">No retrieved contexts: {escape(", ".join(none))}.</p>'
        gold = escape(" | ".join(q.get("answers") or []) or "-")
        if q.get("previous"):
            gold += "; previous: " + escape(" | ".join(q["previous"]))
        out.append(f'<details class="question"><summary><b>{escape(str(q["id"]))}</b> {escape(q["question"])}'
                   f"</summary><p>Gold: {gold}</p><table><thead><tr><th>system</th><th>answer</th><th>scores</th>"
                   f"</tr></thead><tbody>{''.join(rows)}</tbody></table>{ctx_html}</details>")
    return "\n".join(out)


def _provenance(data: ReportData) -> str:
    parts = ["<section id=\"provenance\"><h2>Plan fingerprints</h2>",
             _table(["node", "fingerprint"], t.fingerprint_rows(data.evaluations, data.finetunes), cls="fingerprints")]
    credits = sorted({line for ev in data.evaluations for line in ev.attribution})
    if credits:
        parts.append("<h2>Data</h2><ul>" + "".join(f"<li>{escape(c)}</li>" for c in credits) + "</ul>")
    parts.append("<h2>Versions</h2><p>" + escape(", ".join(f"{n} {v}" for n, v in data.versions)) + "</p>")
    for name, text in data.spec:
        parts.append(f"<h2>Spec: {escape(name)}</h2><pre>{escape(text)}</pre>")
    parts.append("</section>")
    return "\n".join(parts)
