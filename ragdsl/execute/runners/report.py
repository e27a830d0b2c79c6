"""report node: the evaluations' tables as Markdown (and JSON).

Only measured numbers are written; metrics an evaluation did not compute are
listed as such, with the reason.
"""

from __future__ import annotations

import json

from ragdsl.execute.context import NodeContext, Output
from ragdsl.execute.store import atomic_write_text


def run(ctx: NodeContext) -> Output:
    params = ctx.node.params
    title = params.get("title") or ctx.node.decl
    sections, data = [], {}
    for item in ctx.node.inputs:
        result = ctx.results[item.node]
        record_metrics = result.metrics or {}
        data[item.node] = {"metrics": record_metrics, "not_computed": result.outputs.get("not_computed", [])}
        sections.append(_section(item.node, record_metrics, result.outputs.get("not_computed", [])))
    credits = sorted({line for item in ctx.node.inputs
                      for line in ctx.results[item.node].outputs.get("attribution", "").splitlines() if line})
    markdown = f"# {title}\n\n" + "\n".join(sections)
    if credits:
        markdown += "\n## Data\n\n" + "\n".join(f"- {line}" for line in credits) + "\n"
    written = []
    formats = params.get("formats") or ["markdown"]
    if "markdown" in formats:
        atomic_write_text(ctx.workdir / "report.md", markdown)
        written.append("report.md")
    if "json" in formats:
        atomic_write_text(ctx.workdir / "report.json", json.dumps(data, indent=2, sort_keys=True) + "\n")
        written.append("report.json")
    missing = [f for f in formats if f == "html"]  # the HTML report arrives with the evaluation issue
    return Output({"files": ", ".join(written), "not_written": missing})


def _section(node_id: str, table: dict, skipped: list[str]) -> str:
    metrics = sorted({k for row in table.values() for k in row if k != "questions"})
    lines = [f"## {node_id}", "", "| system | questions | " + " | ".join(metrics) + " |",
             "|---|---:|" + "---:|" * len(metrics)]
    for system in sorted(table):
        row = table[system]
        cells = ["n/a" if row.get(x) is None else f"{row[x]:.3f}" for x in metrics]
        lines.append(f"| {system} | {row.get('questions', '')} | " + " | ".join(cells) + " |")
    if skipped:
        lines += ["", "Not computed (judge and embedding metrics arrive with the evaluation issue): "
                  + ", ".join(skipped)]
    return "\n".join(lines) + "\n"
