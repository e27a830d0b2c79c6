"""Reports: evaluations rendered as Markdown, a self-contained HTML page and JSON."""

from ragdsl.report.data import Evaluation, Finetune, ReportData, gather, load_finetune
from ragdsl.report.html import render_html
from ragdsl.report.markdown import render_markdown
from ragdsl.report.plots import plots
from ragdsl.report.svg import bar_chart, line_chart

__all__ = ["Evaluation", "Finetune", "ReportData", "bar_chart", "gather", "line_chart", "load_finetune", "plots",
           "render_html", "render_markdown"]
