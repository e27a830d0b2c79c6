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
from ragdsl.evaluate.scoring import kind_of
from ragdsl.evaluate.summary import summarise
from ragdsl.execute.context import NodeContext, Resources, Result
from ragdsl.execute.progress import QuietProgress
from ragdsl.execute.runners import report
from ragdsl.ir.nodes import Input, Node
from ragdsl.report import (
    Evaluation,
    Finetune,
    ReportData,
    bar_chart,
    line_chart,
    plots,
    render_html,
    render_markdown,
)
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
    ctx_eval, output = run_evaluation(tmp_path / "eval", monkeypatch, ("accuracy", "exact_match", "f1", "hit@1", "mrr"))
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


WIDE_METRICS = ("exact_match", "f1", "semantic_similarity", "accuracy", "faithfulness", "recall@1", "recall@5",
                "hit@1", "hit@5", "precision@5", "ndcg@5", "mrr")
WIDE_SYSTEMS = ("bm25", "bm25-tuned", "closed-book", "dense")
PASSAGES = ["Insulin is made in the pancreas by beta cells.", "Bile is made in the liver.",
            "The pancreas lies behind the stomach.", "Glucagon raises blood sugar."]


def wide_report() -> ReportData:
    """A report as a real study gives it: 12 metrics, four systems, one closed-book (no retrieval scores),
    bm25 and bm25-tuned sharing their retrieval, dense retrieving differently, two unparseable judge replies."""
    ids = [f"q{i:02d}" for i in range(20)]
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for k, system in enumerate(WIDE_SYSTEMS):
        scores[system] = {}
        for j, metric in enumerate(WIDE_METRICS):
            binary = metric == "exact_match" or metric.startswith("hit@")
            values = {q: float((i + k) % 3 != 0) if binary else ((i * 7 + k * 3 + j) % 5) / 4
                      for i, q in enumerate(ids)}
            if kind_of(metric) == "retrieval" and system == "closed-book":
                values = {}  # closed-book: retrieval metrics do not apply
            if metric == "accuracy" and system == "bm25-tuned":
                values = {q: v for q, v in values.items() if q not in ("q03", "q11")}  # unparseable replies
            scores[system][metric] = values
    summary = {**summarise(scores, WIDE_METRICS, 7), "metrics": list(WIDE_METRICS), "questions": "bioasq",
               "fingerprints": {s: s[0] * 64 for s in WIDE_SYSTEMS}, "agreement": [], "judge": None}
    contexts = {"bm25": PASSAGES[:3], "bm25-tuned": PASSAGES[:3], "closed-book": [],
                "dense": [PASSAGES[2], PASSAGES[3], PASSAGES[0]]}
    questions = [{"id": q, "question": f"Which organ makes insulin? ({q})", "answers": ["the pancreas"],
                  "context": PASSAGES[0], "systems": {
                      s: {"prediction": "the pancreas" if i % 2 else "the liver", "contexts": contexts[s],
                          "scores": {m: scores[s][m].get(q) for m in WIDE_METRICS}, "judge": {}}
                      for s in WIDE_SYSTEMS}} for i, q in enumerate(ids)]
    evaluation = Evaluation("evaluate.wide", "w" * 64, summary, questions, ["BioASQ (CC BY 2.5)"])
    tuned = Finetune("finetune.t[samples=1000]", "bm25-tuned", "t" * 64, {
        "method": "lora", "samples": 1000, "train_tokens": 123456, "train_loss": 1.234, "eval_loss_before": 2.1,
        "eval_loss": 1.7, "tokens_per_s": 1234.5, "device": "cuda (NVIDIA H100 80GB HBM3)"},
        [(float(s), 2.0 - s / 20) for s in range(1, 11)], [(5.0, 1.9), (10.0, 1.7)])
    return ReportData("A wide study", [evaluation], {"evaluate.wide": {"bm25-tuned": tuned}},
                      [("spec.rag", SPEC)], [("ragdsl", "0"), ("python", "3")])


def wide_markdown(data: ReportData) -> str:
    return render_markdown(data, [(caption, f"plots/{i:02d}.svg") for i, (caption, _) in enumerate(plots(data), 1)])


def test_summary_gives_n_per_metric_in_tables_by_metric_group():
    summary = wide_markdown(wide_report()).split("### Paired comparisons", 1)[0]
    assert "questions |" not in summary and "0/20" not in summary  # no joined counts of all metrics
    assert summary.count("### Answer metrics") == 1 and summary.count("### Retrieval metrics") == 1
    assert "| system | exact_match | f1 | semantic_similarity |\n" in summary
    assert "### Judged metrics (0-1)\n\n| system | accuracy | faithfulness |\n" in summary
    # seven retrieval metrics: two tables (4 + 3) rather than one too wide to read
    assert "| system | recall@1 | recall@5 | hit@1 | hit@5 |\n" in summary
    assert "| system | precision@5 | ndcg@5 | mrr |\n" in summary
    assert max(line.count(" | ") for line in summary.splitlines() if line.startswith("| ")) <= 5
    assert re.search(r"\| bm25-tuned \| 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \(n=18\) \| 0\.\d{3} \[0\.\d{3}, "
                     r"0\.\d{3}\] \|\n", summary)  # accuracy on 18 questions, faithfulness on all 20
    assert "| closed-book | n/a | n/a | n/a | n/a |\n" in summary and "(n=20)" not in summary
    assert ("Each cell: mean [95% CI] over all 20 questions; (n=k): over k of them only, leaving out answers "
            "whose judge reply could not be parsed. n/a: no score on any question (closed-book retrieved no "
            "passages).") in summary


def test_paired_comparisons_that_cannot_exist_are_omitted_and_counted():
    md = wide_markdown(wide_report())
    paired = md.split("### Paired comparisons", 1)[1].split("\n#", 1)[0]
    rows = [line for line in paired.splitlines() if line.startswith("| ") and "| metric |" not in line]
    assert len(rows) == 6 * 12 - 3 * 7 and not any("| 0 |" in r or "n/a" in r for r in rows)
    assert ("21 of 72 comparisons omitted, as no question has a score from both systems: closed-book has no "
            "recall@1, recall@5, hit@1, hit@5, precision@5, ndcg@5 or mrr score (it retrieved no passages).") in paired
    html = render_html(wide_report(), plots(wide_report()))
    assert '<p class="muted omitted">21 of 72 comparisons omitted' in html


def holm_report() -> ReportData:
    """Ten comparisons on f1 (five systems): one with a tiny p, one just under 0.05, the rest not close;
    and one on mrr that has no questions in common (no row, so not in the family)."""
    systems = [f"s{i}" for i in range(5)]
    pairs = [(a, b) for i, a in enumerate(systems) for b in systems[i + 1:]]
    ps = [0.0004, 0.04, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    paired = [{"a": a, "b": b, "metric": "f1", "n": 20, "diff": 0.1, "low": 0.05, "high": 0.15, "p_permutation": None,
               "p_wilcoxon": p, "test": "wilcoxon", "p": p, "significant": p < 0.05} for (a, b), p in zip(pairs, ps)]
    paired.append({"a": "s0", "b": "s1", "metric": "mrr", "n": 0, "diff": None, "low": None, "high": None,
                   "p_permutation": None, "p_wilcoxon": None, "test": "none", "p": None, "significant": False})
    estimate = {"mean": 0.5, "low": 0.4, "high": 0.6, "n": 20}
    summary = {"metrics": ["f1", "mrr"], "questions": "q", "paired": paired,
               "estimates": {s: {"f1": estimate, "mrr": estimate} for s in systems}}
    return ReportData("Holm", [Evaluation("evaluate.h", "h" * 64, summary, [], [])], {}, [], [])


def test_paired_p_is_adjusted_for_the_comparisons_of_the_table():
    md = render_markdown(holm_report(), [])
    paired = md.split("### Paired comparisons", 1)[1].split("\n#", 1)[0]
    assert "**bold**: p (Holm) < 0.05." in paired
    assert "| metric | A | B | questions | A - B [95% CI] | p | p (Holm) | test |\n" in paired
    # p 0.0004 of 10: 0.004, still significant; p 0.04 (raw significant) of the other 9: 0.36, not
    assert "| **f1** | **s0** | **s1** | **20** | **+0.100 [+0.050, +0.150]** | **<0.001** | **0.004** | " in paired
    assert "| f1 | s0 | s2 | 20 | +0.100 [+0.050, +0.150] | 0.040 | 0.360 | wilcoxon |\n" in paired
    assert paired.count("**f1**") == 1 and "| 0.900 | 1.000 |" in paired  # capped at 1
    assert ("p (Holm): p adjusted for the 10 comparisons of this table (Holm-Bonferroni), so that the chance of "
            "any false positive among them is at most 0.05; bold where it is below 0.05.") in paired
    assert "1 of 11 comparisons omitted" in paired
    html = render_html(holm_report(), [])
    assert html.count('<tr class="significant">') == 1
    assert '<tr class="significant"><td>f1</td><td>s0</td><td>s1</td>' in html
    assert "<th>p (Holm)</th>" in html and "highlighted: p (Holm) &lt; 0.05." in html
    assert ('<p class="muted holm">p (Holm): p adjusted for the 10 comparisons of this table (Holm-Bonferroni), '
            "so that the chance of any false positive among them is at most 0.05; highlighted where it is below "
            "0.05.</p>") in html


def test_drilldown_shows_each_systems_contexts_shared_ones_once():
    data = wide_report()
    md = wide_markdown(data)
    q = md.split("### q00:", 1)[1].split("### q01:", 1)[0]
    assert q.count("<details>") == 2
    assert ("<details><summary>retrieved contexts: bm25, bm25-tuned</summary>\n\n1. Insulin is made in the "
            "pancreas by beta cells.\n2. Bile is made in the liver.\n3. The pancreas lies behind the stomach.") in q
    assert "<details><summary>retrieved contexts: dense</summary>\n\n1. The pancreas lies behind the stomach." in q
    assert "No retrieved contexts: closed-book." in q
    html = render_html(data, plots(data))
    assert html.count("<summary>retrieved contexts: bm25, bm25-tuned</summary>") == 20
    assert html.count("<summary>retrieved contexts: dense</summary>") == 20
    assert md == wide_markdown(wide_report()) and html == render_html(wide_report(), plots(wide_report()))


def test_markdown_has_cis_paired_tests_judge_drilldown_and_provenance(tmp_path, monkeypatch):
    ctx = report_context(tmp_path, monkeypatch)
    output = report.run(ctx)
    assert output.outputs["files"] == "report.md, report.html, report.json"
    md = (ctx.workdir / "report.md").read_text()
    assert md.startswith("# Study <report>\n")
    for title, header in (("Answer metrics", "exact_match | f1"), ("Judged metrics (0-1)", "accuracy"),
                          ("Retrieval metrics", "hit@1 | mrr")):
        assert f"### {title}\n\n| system | {header} |\n" in md
    assert re.search(r"\| base \| 0\.500 \[0\.\d{3}, 0\.\d{3}\] \| 0\.500 \[", md)
    assert "| tuned | 1.000 [1.000, 1.000] (n=18) |" in md  # judged on 18 of the 20 questions
    assert ("Each cell: mean [95% CI] over all 20 questions; (n=k): over k of them only, leaving out answers whose "
            "judge reply could not be parsed.") in md and "n/a:" not in md
    # significant after the Holm adjustment over the 5 comparisons: bold; p 0.021 (Holm 0.086): not
    assert "| **accuracy** | **base** | **tuned** | **18** | **-0.500 [" in md
    assert "| exact_match | base | tuned | 20 | -0.400 [-0.650, -0.150] | 0.021 | 0.086 | permutation |" in md
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
    paired = data["evaluations"]["evaluate.e"]["paired"]
    assert paired and all(p["p_holm"] is None if p["p"] is None else p["p"] <= p["p_holm"] <= 1 for p in paired)
    raw = {p["metric"]: p["p"] for p in paired}  # accuracy < exact_match = f1 < hit@1 = mrr = 1
    assert {p["metric"]: p["p_holm"] for p in paired} == pytest.approx(
        {"accuracy": 5 * raw["accuracy"], "exact_match": 4 * raw["f1"], "f1": 4 * raw["f1"], "hit@1": 1.0,
         "mrr": 1.0})


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
    assert '<tr class="significant"><td>accuracy</td><td>base</td><td>tuned</td>' in html
    assert "<tr><td>exact_match</td><td>base</td><td>tuned</td>" in html


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


# Opens every <details> (drill-down, retrieved contexts), then records the page's width against the
# window's and every table that would need its own horizontal scroll bar (tables are display:block
# with overflow-x:auto, so a too-wide table scrolls inside itself instead of widening the page).
LAYOUT_PROBE = """<script>
addEventListener("load", () => {
  for (const d of document.querySelectorAll("details")) d.open = true;
  const root = document.documentElement;
  const wide = [...document.querySelectorAll("table, svg, figure, section, ol, li")]
    .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > root.clientWidth)
    .map(e => e.tagName + "." + (e.getAttribute("class") || "") + ": " + (e.textContent || "").slice(0, 60));
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify({window: innerWidth, client: root.clientWidth, scroll: root.scrollWidth, wide});
  document.body.append(out);
});
</script>"""


def test_wide_report_fits_a_1280px_window_in_headless_chromium(tmp_path):
    """12 metrics, four systems (one closed-book): no horizontal overflow at 1280 px, drill-downs open."""
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail("chromium is required in CI to check the HTML report renders")
        pytest.skip("chromium is not installed")
    data = wide_report()
    html = render_html(data, plots(data))
    page = tmp_path / "report.html"
    page.write_text(html)
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", LAYOUT_PROBE + "</body>"))
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000", "--force-device-scale-factor=1",
            "--window-size=1280,1000"]
    dom = subprocess.run([*args, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom)
    assert found, dom[-2000:]
    layout = json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                        .replace("&amp;", "&"))
    assert layout["window"] == 1280 and layout["client"] == 1280, layout  # measured at the width asked for
    assert layout["scroll"] <= layout["client"] and layout["wide"] == [], layout
    assert dom.count('<table class="summary">') == 4 and "21 of 72 comparisons omitted" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*args[:-1], "--window-size=1280,2200", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 1280
    if os.environ.get("RAGDSL_REPORT_SHOT"):  # to look at it: RAGDSL_REPORT_SHOT=/tmp/wide.png pytest -k wide
        shutil.copy(shot, os.environ["RAGDSL_REPORT_SHOT"])


def test_judge_calibration_several_judges_and_generation_setting_are_reported():
    data = wide_report()
    summary = data.evaluations[0].summary
    summary["generation"] = {"bm25": {"batch_invariant": True}, "bm25-tuned": {"batch_invariant": False},
                             "closed-book": {"batch_invariant": False}, "dense": {"batch_invariant": False}}
    estimates = {s: {"accuracy": {"mean": 0.5, "low": 0.3, "high": 0.7, "n": 20}} for s in ("bm25", "dense")}
    summary["judge"] = {"model": "judge_a, judge_b", "reference": "a, b", "identity": "sha256:aa, sha256:bb",
                        "temperature": 0.0, "seed": 7, "max_new_tokens": 48, "judgments": 160,
                        "unparseable": {"accuracy": 0}, "combine": "median",
                        "rubrics": {"accuracy": {"version": "2", "scale": "1-5", "sha256": "c" * 64}},
                        "judges": [{"name": "judge_a", "estimates": estimates}, {"name": "judge_b",
                                                                               "estimates": estimates}],
                        "pairwise": [{"metric": "accuracy", "a": "judge_a", "b": "judge_b", "n": 80,
                                      "spearman": 0.71, "kendall": 0.6, "exact": 0.55}]}
    summary["calibration"] = [
        {"metric": "accuracy", "judge": "judge_a", "available": True, "cases": 31, "n": 31, "spearman": 0.65,
         "kendall": 0.57, "exact": 0.52, "within_1": 0.81, "mae": 0.77, "warning": None},
        {"metric": "accuracy", "judge": "judge_b", "available": True, "cases": 31, "n": 30, "spearman": 0.31,
         "kendall": 0.25, "exact": 0.3, "within_1": 0.53, "mae": 1.37,
         "warning": "Spearman 0.31 < 0.5; 53% within 1 point < 70%"},
        {"metric": "faithfulness", "judge": "judge_a", "available": False,
         "reason": "the rubric names no calibration file"}]
    markdown = wide_markdown(data)
    assert ("Generation: bm25-tuned, closed-book and dense generated in batches (batch_invariant = false): an "
            "answer can, rarely, depend on which questions share its batch; bm25 generated every question on "
            "its own (batch_invariant = true).") in markdown
    assert "| accuracy | judge_a | 31 of 31 | 0.65 | 0.57 | 52% | 81% | 0.77 |  |" in markdown
    assert "| accuracy | judge_b | 30 of 31 | 0.31 | 0.25 | 30% | 53% | 1.37 | Spearman 0.31 < 0.5;" in markdown
    assert "| faithfulness | judge_a | 0 | n/a |" in markdown and "not available: the rubric names no" in markdown
    assert "**Calibration warning for accuracy (judge_b): Spearman 0.31 < 0.5;" in markdown
    assert "Judged scores are the median of 2 judges (judge_a and judge_b)." in markdown
    assert "| accuracy | judge_a | judge_b | 80 | 0.71 | 0.6 | 55% |" in markdown
    html = render_html(data, plots(data))
    assert "Calibration warning for accuracy (judge_b)" in html and 'class="calibration"' in html
    assert wide_markdown(data) == markdown  # deterministic
