"""The report node: Markdown with SVG plots, a self-contained HTML page (rendered in headless chromium), JSON."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_evaluate_runner import run_evaluation

from ragdsl.diagnostics import Span
from ragdsl.execute.context import NodeContext, Resources, Result
from ragdsl.execute.progress import QuietProgress
from ragdsl.execute.runners import report
from ragdsl.ir.nodes import Input, Node
from ragdsl.report import bar_chart, line_chart
from ragdsl.report.svg import Bar

SPEC = 'experiment study { seed = 7 }\n# a comment that the report keeps\n'


def finetune_result(tmp_path: Path, samples: int) -> Result:
    """A fine-tune's Result as the finetune runner writes it (the agreed interface)."""
    folder = tmp_path / f"ft{samples}"
    folder.mkdir(parents=True)
    rows = [{"step": s, "epoch": s / 10, "loss": 2.0 - s / 20, "lr": 1e-4, "tokens": 100 * s} for s in range(1, 11)]
    rows += [{"step": s, "epoch": s / 10, "eval_loss": 2.1 - s / 25} for s in (5, 10)]
    (folder / "loss.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    node = f"finetune.t[samples={samples}]"
    return Result(node, "finetune", f"{samples:064d}", {
        "method": "lora", "samples": samples, "train_tokens": 1000, "train_loss": 1.5, "eval_loss_before": 2.1,
        "eval_loss": 1.7, "tokens_per_s": 123.4, "device": "cpu", "artifact": "adapter", "loss_curve": "loss.jsonl"},
        folder)


def report_context(tmp_path: Path, monkeypatch, formats=("markdown", "html", "json")) -> NodeContext:
    ctx_eval, output = run_evaluation(tmp_path / "eval", monkeypatch)
    evaluation = Result("evaluate.e", "evaluate", "e" * 64, output.outputs, ctx_eval.workdir, output.metrics)
    tuned = finetune_result(tmp_path, 200)
    results = {"evaluate.e": evaluation, tuned.node: tuned}
    spec = tmp_path / "spec.rag"
    spec.write_text(SPEC)
    params = {"from": ["evaluate.e"], "formats": list(formats), "title": "Study <report>",
              "finetunes": {"evaluate.e": {"tuned": tuned.node}}}
    node = Node("report.summary", "report", "summary", (), params, (),
                (Input("evaluation", "evaluate.e"), Input("finetune", tuned.node)), (), Span("spec.rag", 1, 1, 1, 1))
    work = tmp_path / "work"
    work.mkdir()
    return NodeContext(node, work, 7, results, {"spec:spec.rag": spec}, Resources(), QuietProgress())


def test_markdown_has_cis_paired_tests_judge_drilldown_and_provenance(tmp_path, monkeypatch):
    ctx = report_context(tmp_path, monkeypatch)
    output = report.run(ctx)
    assert output.outputs["files"] == "report.md, report.html, report.json"
    md = (ctx.workdir / "report.md").read_text()
    assert md.startswith("# Study <report>\n")
    header = "| system | questions | accuracy | exact_match | f1 | recall@1 | mrr |"
    assert header in md
    assert re.search(r"\| base \| 20 \| 0\.500 \[0\.\d{3}, 0\.\d{3}\] \| 0\.500 \[", md)
    assert "| tuned | 18/20 |" in md  # judged on 18, the rest on 20
    assert "| **exact_match** | **base** | **tuned** | **20** | **-0.400 [" in md  # significant: bold
    assert "Unparseable judge replies: 2 of 40 (accuracy: 2)" in md
    assert "- judge accuracy: unparseable (no score found)" in md
    assert "- judge accuracy: 5; said the pancreas" in md
    assert "| tuned | lora | 200 | 1000 | 1.5 | 2.1 | 1.7 | 123.4 | cpu | finetune.t[samples=200] |" in md
    assert "- SQuAD (CC BY-SA)" in md and "# a comment that the report keeps" in md
    assert "| evaluate.e | eeeeeeeeeeee |" in md and "ragdsl " in md.split("## Versions", 1)[1]
    plots = re.findall(r"!\[[^\]]+\]\((plots/[^)]+\.svg)\)", md)
    assert len(plots) == 7  # answer metrics, retrieval, accuracy/EM/F1 by sample size, training loss, eval loss
    for path in plots:
        assert (ctx.workdir / path).read_text().startswith("<svg xmlns=")
    data = json.loads((ctx.workdir / "report.json").read_text())
    assert data["evaluations"]["evaluate.e"]["estimates"]["base"]["f1"]["n"] == 20


def test_html_is_self_contained_and_deterministic(tmp_path, monkeypatch):
    ctx_a = report_context(tmp_path / "a", monkeypatch)
    report.run(ctx_a)
    ctx_b = report_context(tmp_path / "b", monkeypatch)
    report.run(ctx_b)
    html = (ctx_a.workdir / "report.html").read_text()
    assert html == (ctx_b.workdir / "report.html").read_text()
    assert (ctx_a.workdir / "report.md").read_text() == (ctx_b.workdir / "report.md").read_text()
    assert "<script" not in html and not re.search(r"(src|href)=\"https?:", html)
    assert "Study &lt;report&gt;" in html and html.count("<svg") == 7
    assert '<tr class="significant"><td>exact_match</td><td>base</td><td>tuned</td>' in html


def test_svg_plots_are_deterministic_and_escape_text():
    bars = [("f1", [Bar("a<b", 0.5, 0.4, 0.6), Bar("c", None)])]
    svg = bar_chart("t & t", bars)
    assert svg == bar_chart("t & t", bars)
    assert "a&lt;b" in svg and "t &amp; t" in svg and "n/a" in svg
    assert "no data" in line_chart("empty", [("x", [])], "step", "loss")


def test_reports_without_finetunes_or_judge_have_no_such_sections(tmp_path, monkeypatch):
    ctx = report_context(tmp_path, monkeypatch, formats=("markdown",))
    ctx.node.params.pop("finetunes")
    report.run(ctx)
    md = (ctx.workdir / "report.md").read_text()
    assert "### Fine-tuning" not in md and "by fine-tuning sample size" not in md
    assert not (ctx.workdir / "report.html").exists()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_html_renders_in_headless_chromium(tmp_path, monkeypatch):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail("chromium is required in CI to check the HTML report renders")
        pytest.skip("chromium is not installed")
    ctx = report_context(tmp_path, monkeypatch, formats=("html",))
    report.run(ctx)
    page = ctx.workdir / "report.html"
    profile = tmp_path / "profile"
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--virtual-time-budget=2000"]
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert "<table" in dom and dom.count("<svg") == 7 and 'class="summary"' in dom
    assert "Per question: evaluate.e" in dom and "said the pancreas" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*args, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
