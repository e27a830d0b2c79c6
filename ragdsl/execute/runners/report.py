"""report node: the evaluations as Markdown (with SVG plot files), a self-contained HTML page, and JSON.

Only measured numbers are written. The files are built in the node's work
folder, which the scheduler renames into the store when the node succeeds.
"""

from __future__ import annotations

import json
import re

from ragdsl.execute.context import NodeContext, Output
from ragdsl.execute.store import atomic_write_text
from ragdsl.report import Evaluation, gather, plots, render_html, render_markdown
from ragdsl.report.overview import overview_json, overviews
from ragdsl.report.tables import paired_with_holm


def run(ctx: NodeContext) -> Output:
    params = ctx.node.params
    data = gather(ctx, params.get("title") or ctx.node.decl)
    formats = params.get("formats") or ["markdown", "html"]
    figures = plots(data)
    written = []
    if "markdown" in formats:
        files = []
        if figures:
            (ctx.workdir / "plots").mkdir(exist_ok=True)
        for i, (caption, svg) in enumerate(figures, 1):
            name = f"plots/{i:02d}-{_slug(caption)}.svg"
            atomic_write_text(ctx.workdir / name, svg + "\n")
            files.append((caption, name))
        atomic_write_text(ctx.workdir / "report.md", render_markdown(data, files))
        written.append("report.md")
    if "html" in formats:
        atomic_write_text(ctx.workdir / "report.html", render_html(data, figures))
        written.append("report.html")
    if "json" in formats:
        payload = {"title": data.title, "evaluations": {ev.node: _evaluation(ev) for ev in data.evaluations},
                   "finetunes": {e: {s: {"node": f.node, "fingerprint": f.fingerprint, "outputs": f.outputs}
                                     for s, f in sorted(tunes.items())} for e, tunes in data.finetunes.items()},
                   "versions": dict(data.versions),
                   # the variants of one evaluation declaration side by side (docs/reports.md, Overview)
                   "overview": {ov.declaration: overview_json(ov) for ov in overviews(data.evaluations)}}
        atomic_write_text(ctx.workdir / "report.json", json.dumps(payload, indent=2, sort_keys=True) + "\n")
        written.append("report.json")
    return Output({"files": ", ".join(written), "plots": len(figures)})


def _evaluation(ev: Evaluation) -> dict:
    """The evaluation's summary as it is, its paired comparisons with the report's Holm-adjusted p (p_holm)."""
    out = {"fingerprint": ev.fingerprint, **ev.summary}
    if "paired" in ev.summary:
        out["paired"] = paired_with_holm(ev)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
