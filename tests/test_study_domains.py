"""One study over several datasets: a named sweep feeding every data source plans and runs the whole
design once per domain, nothing mixing across domains, one domain at a time if wanted; profiles
(`--profile FILE`) carry a design's smaller settings; the shipped fine-tuning study plans as documented."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragdsl.compiler import compile_spec

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "experiments" / "fine_tuning_or_fine_failing.rag"
CPU_PROFILE = ROOT / "experiments" / "profiles" / "fine_tuning_cpu.set"

DOMAINS = {
    "bio": [("cell", "small"), ("blood", "red"), ("bone", "hard"), ("skin", "soft"), ("heart", "strong")],
    "geo": [("sea", "deep"), ("desert", "dry"), ("peak", "high"), ("river", "long"), ("plain", "flat")],
}

SPEC = """\
sweep domain = ["bio.json", "geo.json"]
corpus c { source = squad(domain) }
questions q { source = squad(domain); train = 12; test = 6 }
index i { corpus = c }
model base { source = local("tiny-qwen") }
finetune t { base = base; data = q.train; samples = sweep(4, 8); lr = 1e-2 }
pipeline rag(g) { retrieve = bm25(i, top_k = 2); generate = g; max_new_tokens = 4 }
evaluate e { systems = { b: rag(base), t: rag(t) }; questions = q.test; metrics = [exact_match, f1, recall@2] }
report r { from = e; formats = [markdown, json] }
"""


def write_domains(root: Path) -> None:
    """Two SQuAD-format files, one per domain, with disjoint passages and question ids."""
    for name, facts in DOMAINS.items():
        paragraphs = []
        for i, (thing, quality) in enumerate(facts):
            context = f"The {thing} is {quality}."
            paragraphs.append({"context": context, "qas": [
                {"id": f"{name}{i}{k}", "question": f"What is the {thing} like ({k})?",
                 "answers": [{"text": quality, "answer_start": context.index(quality)}]} for k in range(4)]})
        (root / f"{name}.json").write_text(json.dumps({"version": "1.1", "data": [
            {"title": name, "paragraphs": paragraphs}]}))


def plan_ids(spec: Path, *sets: str, profiles: tuple[Path, ...] = ()) -> dict[str, str]:
    compilation = compile_spec(spec, list(sets), profiles=profiles)
    assert compilation.plan is not None, [d.message for d in compilation.diagnostics]
    return {a.node.id: a.fingerprint.value for a in compilation.plan.actions}


# --- the design, planned -------------------------------------------------------------------------

def test_a_named_sweep_over_data_sources_plans_the_design_once_per_domain(tmp_path):
    write_domains(tmp_path)
    (tmp_path / "spec.rag").write_text(SPEC.replace('local("tiny-qwen")', '"qwen2.5-coder-0.5b-instruct"'))
    ids = plan_ids(tmp_path / "spec.rag")
    for domain in ("bio.json", "geo.json"):
        for node in (f"corpus.c[domain={domain}]", f"index.i[domain={domain}]", f"questions.q[domain={domain}]",
                     f"finetune.t[domain={domain},samples=4]", f"finetune.t[domain={domain},samples=8]",
                     f"retrieve.e.rag[domain={domain}]", f"evaluate.e[domain={domain}]"):
            assert node in ids
    assert "model.base" in ids and sum(i.startswith("evaluate.") for i in ids) == 2


def test_each_domains_evaluation_gathers_only_that_domains_systems(tmp_path):
    write_domains(tmp_path)
    (tmp_path / "spec.rag").write_text(SPEC.replace('local("tiny-qwen")', '"qwen2.5-coder-0.5b-instruct"'))
    import networkx as nx

    graph = compile_spec(tmp_path / "spec.rag").graph
    for domain, other in (("bio.json", "geo.json"), ("geo.json", "bio.json")):
        upstream = nx.ancestors(graph.networkx, f"evaluate.e[domain={domain}]")
        assert f"finetune.t[domain={domain},samples=8]" in upstream
        assert not any(f"domain={other}" in node for node in upstream)


def test_one_domain_at_a_time_plans_the_same_nodes_as_the_whole_study():
    """Running domain by domain (--set sweep.domain.values=[...]) fills the cache the full run reads."""
    whole = plan_ids(STUDY, profiles=(CPU_PROFILE,))
    for domain in ("pubmedqa", "squad_v1", "covid_qa"):
        alone = plan_ids(STUDY, f"sweep.domain.values=[{domain}]", profiles=(CPU_PROFILE,))
        shared = {i: fp for i, fp in alone.items() if not i.startswith("report.")}
        assert shared and all(whole[i] == fp for i, fp in shared.items())
        assert all(f"domain={domain}" in i for i in shared if i not in ("model.base", "model.judge"))


def test_the_shipped_study_plans_the_papers_design_and_its_cpu_profile():
    full = plan_ids(STUDY)
    assert {f"finetune.tuned[domain={d},samples={n}]" for d in ("pubmedqa", "squad_v1", "covid_qa")
            for n in (200, 500, 1000)} <= set(full)
    assert {i for i in full if i.startswith("evaluate.")} == {
        "evaluate.paper[domain=covid_qa]", "evaluate.paper[domain=pubmedqa]", "evaluate.paper[domain=squad_v1]"}
    # one shared retrieval per domain: the systems differ only in their generator
    assert sum(i.startswith("retrieve.") for i in full) == 3
    cpu = compile_spec(STUDY, profiles=(CPU_PROFILE,))
    nodes = {a.node.id: a.node for a in cpu.plan.actions}
    assert {i for i in nodes if i.startswith("finetune.")} == {
        f"finetune.tuned[domain={d},samples={n}]" for d in ("pubmedqa", "squad_v1", "covid_qa") for n in (20, 50, 100)}
    assert nodes["evaluate.paper[domain=pubmedqa]"].params["limit"] == 30
    assert not any(i.startswith("rag.") and ".judge" in i for i in nodes)  # the judge answers nothing


# --- profiles --------------------------------------------------------------------------------------

def test_a_profile_applies_before_set_and_its_errors_point_at_its_lines(tmp_path):
    write_domains(tmp_path)
    (tmp_path / "spec.rag").write_text(SPEC.replace('local("tiny-qwen")', '"qwen2.5-coder-0.5b-instruct"'))
    profile = tmp_path / "small.set"
    profile.write_text("# fewer\nfinetune.t.samples = sweep(2, 3)  # trailing comment\n\nevaluate.e.limit = 3\n")
    ids = plan_ids(tmp_path / "spec.rag", profiles=(profile,))
    assert "finetune.t[domain=bio.json,samples=3]" in ids and "finetune.t[domain=bio.json,samples=8]" not in ids
    ids = plan_ids(tmp_path / "spec.rag", "finetune.t.samples=5", profiles=(profile,))
    assert "finetune.t[domain=bio.json]" in ids  # --set comes after the profile and wins

    profile.write_text("finetune.t.samples = 4\n# ok\nevaluate.e.limt = 3\nfinetune.t.lr = \n")
    diagnostics = compile_spec(tmp_path / "spec.rag", profiles=(profile,)).diagnostics
    located = sorted((d.code, d.span.line, d.span.file) for d in diagnostics if d.is_error)
    assert [(code, line) for code, line, _ in located] == [("E101", 4), ("E701", 3)] or \
        [(code, line) for code, line, _ in located] == [("E701", 3), ("E101", 4)]
    assert all(file.endswith("small.set") for _, _, file in located)


def test_a_profiles_paths_are_relative_to_its_folder(tmp_path):
    write_domains(tmp_path)
    (tmp_path / "spec.rag").write_text(SPEC.replace('local("tiny-qwen")', '"qwen2.5-coder-0.5b-instruct"'))
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "one.json").write_text((tmp_path / "bio.json").read_text())
    profile = tmp_path / "profiles" / "one.set"
    profile.write_text('sweep.domain.values = ["one.json"]\n')
    compilation = compile_spec(tmp_path / "spec.rag", profiles=(profile,))
    assert not [d for d in compilation.diagnostics if d.is_error]  # no E601: one.json found next to the profile
    assert "corpus.c[domain=one.json]" in {a.node.id for a in compilation.plan.actions}


def test_the_cli_reports_a_missing_profile_as_a_user_error(tmp_path):
    from click.testing import CliRunner

    from ragdsl.cli import cli

    write_domains(tmp_path)
    (tmp_path / "spec.rag").write_text(SPEC)
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "spec.rag"), "--profile", str(tmp_path / "nope.set")])
    assert result.exit_code == 1 and "cannot read the profile" in result.output


# --- the design, run on tiny models ---------------------------------------------------------------

def _cli(root: Path, *args: str):
    from click.testing import CliRunner

    from ragdsl.cli import cli

    before = Path.cwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(before)


def _artifact(root: Path, node: str) -> Path:
    plan = json.loads(_cli(root, "compile", "--dry-run", "--format", "json", "spec.rag").output)
    fingerprint = next(n["fingerprint"] for n in plan["nodes"] if n["id"] == node)
    return root / ".ragdsl" / "artifacts" / fingerprint[:2] / fingerprint


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    pytest.importorskip("haystack")
    import shutil

    from test_finetune_train import save_tiny_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("RAGDSL_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("RAGDSL_STORE", raising=False)
        root = tmp_path_factory.mktemp("study")
        save_tiny_model(root / "tiny-qwen")
        write_domains(root)
        (root / "spec.rag").write_text(SPEC)
        first = _cli(root, "run", "spec.rag", "--progress", "plain", "--set", 'sweep.domain.values=["bio.json"]')
        second = _cli(root, "run", "spec.rag", "--progress", "plain")
        yield root, first, second
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.finetune
def test_a_study_runs_one_domain_then_all_reusing_the_finished_domain(ran):
    root, first, second = ran
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "[done] evaluate.e[domain=bio.json]" in first.output and "geo.json" not in first.output
    # the second run computes only the new domain (and the report)
    assert "[done] finetune.t[domain=bio.json" not in second.output
    assert "[done] finetune.t[domain=geo.json,samples=8]" in second.output
    assert "[done] evaluate.e[domain=geo.json]" in second.output


@pytest.mark.finetune
def test_each_domains_evaluation_scores_its_own_questions_and_systems(ran):
    root, _, _ = ran
    for domain in ("bio", "geo"):
        rows = [json.loads(line) for line in
                (_artifact(root, f"evaluate.e[domain={domain}.json]") / "scores.jsonl").read_text().splitlines()]
        assert {r["system"] for r in rows} == {f"b[domain={domain}.json]", f"t[domain={domain}.json,samples=4]",
                                               f"t[domain={domain}.json,samples=8]"}
        assert len({r["id"] for r in rows}) == 6
        assert all(r["id"].startswith(domain) for r in rows)


@pytest.mark.finetune
def test_each_domains_fine_tunes_train_on_that_domains_train_split_only(ran):
    root, _, _ = ran
    for domain in ("bio", "geo"):
        training = json.loads((_artifact(root, f"finetune.t[domain={domain}.json,samples=8]")
                               / "training.json").read_text())
        test_ids = {json.loads(line)["id"] for line in
                    (_artifact(root, f"questions.q[domain={domain}.json]") / "test.jsonl").read_text().splitlines()}
        assert len(training["example_ids"]) == 8
        assert all(i.startswith(domain) for i in training["example_ids"])
        assert not test_ids & set(training["example_ids"])


@pytest.mark.finetune
def test_the_report_has_a_section_per_domain(ran):
    root, _, _ = ran
    text = (_artifact(root, "report.r") / "report.md").read_text()
    assert "domain=bio.json" in text and "domain=geo.json" in text


@pytest.mark.finetune
def test_the_report_puts_the_domains_side_by_side(ran):
    root, _, _ = ran
    text = (_artifact(root, "report.r") / "report.md").read_text()
    assert text.index("## Overview: evaluate.e by domain") < text.index("## evaluate.e[domain=bio.json]")
    overview = text.split("## Overview: evaluate.e by domain\n", 1)[1].split("\n## evaluate.e[", 1)[0]
    assert "| system | domain=bio.json | domain=geo.json |" in overview and "### Differences from b" in overview
    assert all(row in overview for row in ("| b |", "| t[samples=4] |", "| t[samples=8] |"))
    data = json.loads((_artifact(root, "report.r") / "report.json").read_text())["overview"]["evaluate.e"]
    assert data["reference"] == "b" and [v["node"] for v in data["variants"]] == [
        "evaluate.e[domain=bio.json]", "evaluate.e[domain=geo.json]"]
    assert set(data["differences"]["f1"]) == {"t[samples=4]", "t[samples=8]"}
