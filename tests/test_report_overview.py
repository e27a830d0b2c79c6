"""The report's overview: the variants of one evaluation declaration (a named sweep over domains) side by
side, means and differences from the reference system, in Markdown, HTML and report.json."""

from __future__ import annotations

import json

import pytest

from ragdsl.diagnostics import Span
from ragdsl.execute.context import NodeContext, Resources, Result
from ragdsl.execute.progress import QuietProgress
from ragdsl.execute.runners import report
from ragdsl.ir.nodes import Input, Node
from ragdsl.report import Evaluation, ReportData, render_html, render_markdown
from ragdsl.report.overview import overviews, split_label, strip_axes

DOMAINS = ("pubmedqa", "squad_v1", "covid_qa")  # the report's order (not sorted)


def est(mean: float, low: float, high: float, n: int = 30) -> dict:
    return {"mean": mean, "low": low, "high": high, "n": n}


def pair(a: str, b: str, metric: str, diff: float, low: float, high: float, p: float | None, n: int = 30) -> dict:
    return {"a": a, "b": b, "metric": metric, "n": n, "diff": diff, "low": low, "high": high, "p": p,
            "p_permutation": p, "p_wilcoxon": None, "test": "permutation" if p is not None else "none",
            "significant": p is not None and p < 0.05}


def variant(domain: str) -> Evaluation:
    """base, tuned[samples=20], tuned[samples=50] (not in covid_qa); metrics f1 and accuracy.

    pubmedqa stores its pairs as summarise does (labels sorted: base first, so base minus tuned); squad_v1
    stores them the other way round (tuned minus base). Raw p of each evaluation's family:
    0.001, 0.02, 0.1, 0.2, 0.3, 0.62, Holm over 6: 0.006, 0.1, 0.4, 0.6, 0.6, 0.62.
    """
    b, t20, t50 = f"base[domain={domain}]", f"tuned[domain={domain},samples=20]", f"tuned[domain={domain},samples=50]"
    if domain == "pubmedqa":
        estimates = {b: {"f1": est(0.400, 0.300, 0.500), "accuracy": est(0.500, 0.400, 0.600)},
                     t20: {"f1": est(0.433, 0.333, 0.533), "accuracy": est(0.450, 0.350, 0.550, 28)},
                     t50: {"f1": est(0.300, 0.200, 0.400), "accuracy": est(0.600, 0.500, 0.700)}}
        paired = [pair(b, t20, "f1", -0.033, -0.117, 0.050, 0.62),  # base - tuned: flipped in the overview
                  pair(b, t20, "accuracy", 0.050, -0.020, 0.120, 0.3, n=28),
                  pair(b, t50, "f1", 0.100, 0.040, 0.160, 0.001),  # Holm 0.006: significant
                  pair(b, t50, "accuracy", -0.100, -0.190, -0.010, 0.02),  # raw < 0.05, Holm 0.1: not
                  pair(t20, t50, "f1", 0.133, 0.0, 0.25, 0.1), pair(t20, t50, "accuracy", -0.15, -0.3, 0.0, 0.2)]
    elif domain == "squad_v1":
        estimates = {b: {"f1": est(0.700, 0.650, 0.750), "accuracy": est(0.800, 0.700, 0.900)},
                     t20: {"f1": est(0.600, 0.550, 0.650), "accuracy": est(0.700, 0.600, 0.800)},
                     t50: {"f1": est(0.650, 0.600, 0.700), "accuracy": est(0.750, 0.650, 0.850)}}
        paired = [pair(t20, b, "f1", -0.100, -0.150, -0.050, 0.001),  # tuned - base: as stored
                  pair(t20, b, "accuracy", -0.100, -0.200, 0.010, 0.2),
                  pair(t50, b, "f1", -0.050, -0.110, 0.020, 0.02), pair(t50, b, "accuracy", -0.05, -0.15, 0.05, 0.3),
                  pair(t20, t50, "f1", -0.05, -0.1, 0.0, 0.1), pair(t20, t50, "accuracy", -0.05, -0.1, 0.0, 0.62)]
    else:
        estimates = {b: {"f1": est(0.200, 0.100, 0.300), "accuracy": est(0.300, 0.200, 0.400)},
                     t20: {"f1": est(0.250, 0.150, 0.350), "accuracy": {"mean": None, "low": None, "high": None,
                                                                       "n": 0}}}
        paired = [pair(b, t20, "f1", -0.050, -0.090, -0.010, 0.04),  # the only comparison: Holm = raw
                  {**pair(b, t20, "accuracy", 0, 0, 0, None, n=0), "diff": None, "low": None, "high": None}]
    summary = {"metrics": ["f1", "accuracy"], "questions": f"qa[domain={domain}]", "estimates": estimates,
               "paired": paired}
    return Evaluation(f"evaluate.paper[domain={domain}]", domain[0] * 64, summary, [], [])


def study(*extra: Evaluation) -> ReportData:
    return ReportData("Three domains", [variant(d) for d in DOMAINS] + list(extra), {}, [], [])


def section(md: str, start: str, end: str) -> str:
    return md.split(start, 1)[1].split(end, 1)[0]


def test_labels_split_at_top_level_commas_and_lose_the_varying_axes():
    assert split_label("tuned[domain=pubmedqa,samples=20]") == ("tuned", [("domain", "pubmedqa"), ("samples", "20")])
    assert split_label('e[retrieve=bm25(idx,top_k=2),q="a,b]"]') == ("e", [("retrieve", "bm25(idx,top_k=2)"),
                                                                            ("q", '"a,b]"')])
    assert split_label("base") == ("base", []) and split_label("odd[x]") == ("odd[x]", [])
    assert strip_axes("tuned[domain=pubmedqa,samples=20]", {"domain": "pubmedqa"}) == "tuned[samples=20]"
    assert strip_axes("base[domain=pubmedqa]", {"domain": "pubmedqa"}) == "base"


def test_overview_tables_of_means_by_variant():
    md = render_markdown(study(), [])
    assert md.startswith("# Three domains\n\n## Overview: evaluate.paper by domain\n\n")
    assert md.index("## Overview: evaluate.paper by domain") < md.index("## evaluate.paper[domain=pubmedqa]")
    means = section(md, "### Means\n", "### Differences")
    assert means.index("#### f1") < means.index("#### accuracy")  # the evaluations' metric order
    f1 = section(means, "#### f1\n\n", "\n\n")
    assert f1 == ("| system | domain=pubmedqa | domain=squad_v1 | domain=covid_qa |\n|---|---|---|---|\n"
                  "| base | 0.400 [0.300, 0.500] | 0.700 [0.650, 0.750] | 0.200 [0.100, 0.300] |\n"
                  "| tuned[samples=20] | 0.433 [0.333, 0.533] | 0.600 [0.550, 0.650] | 0.250 [0.150, 0.350] |\n"
                  "| tuned[samples=50] | 0.300 [0.200, 0.400] | 0.650 [0.600, 0.700] | - |")
    accuracy = section(means, "#### accuracy\n\n", "\n\n")
    assert "| tuned[samples=20] | 0.450 [0.350, 0.550] (n=28) | 0.700 [0.600, 0.800] | n/a |" in accuracy
    assert ("Each cell: mean [95% CI] over the variant's questions, as in its own summary table; (n=k): over k of "
            "them only; n/a: no score on any question; -: no such system in that variant.") in means


def test_overview_differences_from_the_reference_flip_pairs_stored_the_other_way():
    md = render_markdown(study(), [])
    diffs = section(md, "### Differences from base\n\n", "\n## evaluate.paper[domain=pubmedqa]")
    f1 = section(diffs, "#### f1\n\n", "\n\n")
    assert f1 == (
        "| system | domain=pubmedqa | domain=squad_v1 | domain=covid_qa |\n|---|---|---|---|\n"
        # pubmedqa stored base - tuned: sign flipped, bounds negated and swapped; squad_v1 as stored
        "| tuned[samples=20] | +0.033 [-0.050, +0.117] p=0.620 | **-0.100 [-0.150, -0.050] p=0.006** | "
        "**+0.050 [+0.010, +0.090] p=0.040** |\n"
        "| tuned[samples=50] | **-0.100 [-0.160, -0.040] p=0.006** | -0.050 [-0.110, +0.020] p=0.100 | - |")
    accuracy = section(diffs, "#### accuracy\n\n", "\n\n")
    assert accuracy.endswith(
        "| tuned[samples=20] | -0.050 [-0.120, +0.020] p=0.600 | -0.100 [-0.200, +0.010] p=0.600 | n/a |\n"
        "| tuned[samples=50] | +0.100 [+0.010, +0.190] p=0.100 | -0.050 [-0.150, +0.050] p=0.600 | - |")
    # bold by Holm p < 0.05, within each evaluation: pubmedqa's raw 0.02 is 0.1 of six comparisons (not
    # bold), covid_qa's raw 0.04 is its only comparison (accuracy has none), so stays 0.04 (bold)
    assert diffs.count("**") == 2 * 3 + 2  # three cells and the explanatory line
    assert ("Each cell: the system minus base on the questions both were scored on, with the 95% CI of the "
            "difference, from the variant's paired comparisons; p: its p (Holm), adjusted within each evaluation "
            "over the comparisons of its own paired table; **bold** where it is below 0.05; n/a: no question "
            "scored by both; -: the system or base is not in that variant.") in diffs


def test_overview_in_html_highlights_significant_cells_like_the_paired_table():
    html = render_html(study(), [])
    overview = section(html, '<section class="overview" id="overview-evaluate.paper">', "</section>")
    assert html.index('class="overview"') < html.index('<section class="evaluation"')
    assert "<h2>Overview: evaluate.paper by domain</h2>" in overview and "<h3>Differences from base</h3>" in overview
    assert overview.count('<table class="summary means">') == 2
    assert overview.count('<table class="summary differences">') == 2
    assert overview.count('class="est num significant"') == 3
    assert ('<td class="est num significant"><span class="mean">-0.100</span> <span class="ci">[-0.160, -0.040]'
            '</span> <span class="p">p=0.006</span></td>') in overview
    assert ('<td class="est num"><span class="mean">+0.033</span> <span class="ci">[-0.050, +0.117]</span> '
            '<span class="p">p=0.620</span></td>') in overview
    assert "<th>domain=pubmedqa</th>" in overview and "<th>domain=squad_<wbr>v1</th>" in overview
    assert "td.significant{" in html or "tr.significant td,td.significant{" in html
    assert "highlighted where it is below 0.05" in overview


def test_no_overview_for_one_variant_or_for_evaluations_of_different_declarations():
    single = ReportData("One", [variant("pubmedqa")], {}, [], [])
    assert "Overview" not in render_markdown(single, []) and "overview" not in render_html(single, [])
    other = variant("squad_v1")
    other.node = "evaluate.other[domain=squad_v1]"
    plain = variant("covid_qa")
    plain.node = "evaluate.plain"
    mixed = ReportData("Mixed", [variant("pubmedqa"), other, plain], {}, [], [])
    assert overviews(mixed.evaluations) == [] and "Overview" not in render_markdown(mixed, [])
    # a second declaration beside the group does not join it
    assert [ov.declaration for ov in overviews(study(other, plain).evaluations)] == ["evaluate.paper"]


def test_the_reference_is_the_first_declared_system_where_the_plan_gives_the_order():
    data = study()
    for ev in data.evaluations:  # declared as { tuned: ..., base: ... }
        ev.systems = ["tuned", "base"]  # the declared names; of tuned's variants the first sorted leads
    ov = overviews(data.evaluations)[0]
    assert ov.reference == "tuned[samples=20]" and ov.others == ["base", "tuned[samples=50]"]
    md = render_markdown(data, [])
    assert "### Differences from tuned[samples=20]" in md
    # base minus tuned[samples=20] on pubmedqa: the stored pair as it is
    assert ("| base | -0.033 [-0.117, +0.050] p=0.620 | **+0.100 [+0.050, +0.150] p=0.006** | "
            "**-0.050 [-0.090, -0.010] p=0.040** |") in md


def test_report_json_has_the_overview_as_numbers(tmp_path):
    results, order = {}, {}
    for domain in DOMAINS:
        ev = variant(domain)
        folder = tmp_path / domain
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps(ev.summary))
        results[ev.node] = Result(ev.node, "evaluate", ev.fingerprint, {}, folder)
        order[ev.node] = ["base", "tuned"]  # the expander's declared system names
    params = {"from": list(results), "formats": ["markdown", "json"], "title": "Three domains", "systems": order}
    node = Node("report.r", "report", "r", (), params, (), tuple(Input("evaluation", n) for n in results), (),
                Span("spec.rag", 1, 1, 1, 1))
    work = tmp_path / "work"
    work.mkdir()
    report.run(NodeContext(node, work, 7, results, {}, Resources(), QuietProgress()))
    assert "## Overview: evaluate.paper by domain" in (work / "report.md").read_text()
    data = json.loads((work / "report.json").read_text())
    ov = data["overview"]["evaluate.paper"]
    assert ov["axes"] == ["domain"] and ov["reference"] == "base" and ov["metrics"] == ["f1", "accuracy"]
    assert [v["label"] for v in ov["variants"]] == [f"domain={d}" for d in DOMAINS]
    assert ov["variants"][0] == {"label": "domain=pubmedqa", "node": "evaluate.paper[domain=pubmedqa]",
                                 "axes": {"domain": "pubmedqa"}}
    assert ov["systems"] == ["base", "tuned[samples=20]", "tuned[samples=50]"]
    assert ov["means"]["f1"]["base"]["domain=squad_v1"] == {"system": "base[domain=squad_v1]", "mean": 0.7,
                                                            "low": 0.65, "high": 0.75, "n": 30}
    assert ov["means"]["f1"]["tuned[samples=50]"]["domain=covid_qa"] is None
    d = ov["differences"]["f1"]["tuned[samples=20]"]["domain=pubmedqa"]
    assert (d["diff"], d["low"], d["high"]) == pytest.approx((0.033, -0.050, 0.117))
    assert d["p"] == 0.62 and d["p_holm"] == pytest.approx(0.62) and d["significant"] is False
    assert d["system"] == "tuned[domain=pubmedqa,samples=20]" and d["reference"] == "base[domain=pubmedqa]"
    d = ov["differences"]["f1"]["tuned[samples=50]"]["domain=pubmedqa"]
    assert d["p_holm"] == pytest.approx(0.006) and d["significant"] is True and d["n"] == 30
    assert ov["differences"]["accuracy"]["tuned[samples=20]"]["domain=covid_qa"]["diff"] is None
    assert ov["differences"]["f1"]["tuned[samples=50]"]["domain=covid_qa"] is None
    assert "base" not in ov["differences"]["f1"]


def test_report_json_overview_is_empty_without_variants(tmp_path):
    ev = variant("pubmedqa")
    (tmp_path / "summary.json").write_text(json.dumps(ev.summary))
    results = {ev.node: Result(ev.node, "evaluate", ev.fingerprint, {}, tmp_path)}
    node = Node("report.r", "report", "r", (), {"from": [ev.node], "formats": ["json"]}, (),
                (Input("evaluation", ev.node),), (), Span("spec.rag", 1, 1, 1, 1))
    work = tmp_path / "work"
    work.mkdir()
    report.run(NodeContext(node, work, 7, results, {}, Resources(), QuietProgress()))
    assert json.loads((work / "report.json").read_text())["overview"] == {}


def test_a_zero_difference_flipped_is_not_negative_zero():
    data = study()
    for ev in data.evaluations:
        for p in ev.summary["paired"]:
            if p["diff"] is not None:
                p.update(diff=0.0, low=0.0, high=0.0, p=1.0)
    diffs = render_markdown(data, []).split("### Differences from base", 1)[1].split("\n## ", 1)[0]
    assert "+0.000 [+0.000, +0.000] p=1.000" in diffs and "-0.000" not in diffs


def test_overview_is_deterministic():
    assert render_markdown(study(), []) == render_markdown(study(), [])
    assert render_html(study(), []) == render_html(study(), [])

