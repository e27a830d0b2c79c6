"""The shipped form-vs-facts studies: each plans the design its comments describe, with and without its
CPU profile, and runs end to end on tiny models (a profile written here swaps in a tiny random Qwen2 and
shrinks the data), so the specs in experiments/ keep working as the language moves.

- experiments/form_not_facts.rag: a JSON answer form by instruction, few-shot examples or LoRA;
- experiments/facts_not_form.rag: counterfactual and updated Factbook facts, closed-book fine-tuning
  on the documents vs RAG vs both;
- experiments/alternatives_to_fine_tuning.rag: prompt variants, static and dynamic few-shot, SFT and
  DPO against one RAG baseline.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragdsl.compiler import compile_spec

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
FORM = EXPERIMENTS / "form_not_facts.rag"
FACTS = EXPERIMENTS / "facts_not_form.rag"
ALTERNATIVES = EXPERIMENTS / "alternatives_to_fine_tuning.rag"
PROFILES = {FORM: "form_cpu.set", FACTS: "facts_cpu.set", ALTERNATIVES: "alternatives_cpu.set"}


@pytest.fixture(autouse=True)
def data_folder(shared_data, monkeypatch):
    monkeypatch.setenv("RAGDSL_DATA_DIR", str(shared_data))
    monkeypatch.setenv("RAGDSL_DEVICE", "cpu:2")


def nodes_of(spec: Path, *sets: str, profiles: tuple[Path, ...] = ()):
    compilation = compile_spec(spec, list(sets), profiles=profiles)
    errors = [d.message for d in compilation.diagnostics if d.severity.value == "error"]
    assert compilation.plan is not None and not errors, errors
    return {a.node.id: a.node for a in compilation.plan.actions}


def systems(nodes: dict, evaluation: str) -> set[str]:
    return {i.role.removeprefix("system:") for i in nodes[evaluation].inputs if i.role.startswith("system:")}


# --- planned as designed ---------------------------------------------------------------------------

def test_the_form_study_compares_instruction_examples_and_fine_tuning_on_one_retrieval():
    nodes = nodes_of(FORM)
    assert systems(nodes, "evaluate.form") == {"plain", "prompt", "fewshot", "tuned", "tuned_prompt", "tuned_rag"}
    assert sum(i.startswith("retrieve.") for i in nodes) == 1  # contexts are shared
    tuned = nodes["finetune.json_form"].params
    assert tuned["format"] == {"call": "qa", "args": {"target": {
        "call": "template", "args": {"path": {"file": "targets/json_answer.jinja"}}}}}
    assert tuned["samples"] == 1000
    rag_aware = nodes["finetune.json_form_rag"].params["format"]
    assert rag_aware["call"] == "with_context" and rag_aware["args"]["target"] == tuned["format"]["args"]["target"]
    evaluation = nodes["evaluate.form"].params
    assert evaluation["answer_field"] == "answer" and "format_validity" in evaluation["metrics"]
    shots = nodes["rag.form.fewshot"]
    assert ("examples", "questions.qa") in {(i.role, i.node) for i in shots.inputs}
    assert shots.params["examples"]["args"]["pool"] == {"node": "questions.qa", "part": "train"}
    cpu = nodes_of(FORM, profiles=(EXPERIMENTS / "profiles" / PROFILES[FORM],))
    assert cpu["finetune.json_form"].params["samples"] == 100 and cpu["evaluate.form"].params["limit"] == 30


def test_the_facts_study_plans_two_worlds_each_with_its_own_documents_retrieval_and_fine_tune():
    nodes = nodes_of(FACTS)
    for evaluation, world in (("evaluate.counterfactual", "swapped"), ("evaluate.updates", "updated")):
        assert systems(nodes, evaluation) == {"closed", "closed_tuned", "rag", "rag_tuned"}
        tuned = nodes[f"finetune.{world}_tuned"].params
        assert tuned["data"] == {"node": f"corpus.{world}_docs"} and tuned["format"]["call"] == "documents"
        assert {"fact_new", "fact_old", "fact_neither"} <= set(nodes[evaluation].params["metrics"])
    # Each world retrieves from its own documents, although both name their RAG system `rag`.
    retrievals = {i: n.params["retrieve"]["args"]["index"]["node"] for i, n in nodes.items()
                  if i.startswith("retrieve.")}
    assert sorted(retrievals.values()) == ["index.swapped_idx", "index.updated_idx"]
    swapped = nodes["questions.swapped_qa"].params["source"]["args"]
    assert swapped["counterfactual"] == ["capital"] and swapped["facts"] == ["capital"]
    assert nodes["questions.updated_qa"].params["source"]["args"]["changes_since"] == "2015"


def test_the_alternatives_study_puts_every_alternative_against_one_baseline():
    nodes = nodes_of(ALTERNATIVES)
    assert systems(nodes, "evaluate.alternatives") == {
        "base", "prompt[file=prompts/answer_span.jinja]", "prompt[file=prompts/answer_stepwise.jinja]",
        "fixed", "similar", "sft", "dpo"}
    assert sum(i.startswith("retrieve.") for i in nodes) == 1
    assert nodes["rag.alternatives.fixed"].params["examples"]["args"]["select"] == "fixed"
    assert nodes["rag.alternatives.similar"].params["examples"]["args"]["select"] == "similar"
    assert nodes["finetune.dpo"].params["method"]["call"] == "dpo"
    # The baseline, the corpus, the split and the 100-pair fine-tune are those of the three-domain study's
    # SQuAD domain: the same fingerprints, so one cache serves both.
    study = compile_spec(EXPERIMENTS / "fine_tuning_or_fine_failing.rag", ["sweep.domain.values=[squad_v1]"],
                         profiles=(EXPERIMENTS / "profiles" / "fine_tuning_cpu.set",))
    mine = compile_spec(ALTERNATIVES, profiles=(EXPERIMENTS / "profiles" / PROFILES[ALTERNATIVES],))
    theirs = {a.node.id: a.fingerprint.value for a in study.plan.actions}
    ours = {a.node.id: a.fingerprint.value for a in mine.plan.actions}
    assert ours["index.idx"] == theirs["index.idx[domain=squad_v1]"]
    assert ours["finetune.sft"] == theirs["finetune.tuned[domain=squad_v1,samples=100]"]
    assert ours["rag.alternatives.base"] == theirs["rag.paper.base[domain=squad_v1]"]


# --- run on tiny models ----------------------------------------------------------------------------

TINY = {
    FORM: """\
model.base.source = local("tiny-qwen")
corpus.docs.limit = 30
finetune.json_form.samples = 4
finetune.json_form_rag.samples = 4
evaluate.form.limit = 3
""",
    ALTERNATIVES: """\
model.base.source = local("tiny-qwen")
model.judge.source = local("tiny-qwen")
corpus.docs.limit = 30
finetune.sft.samples = 4
finetune.dpo.samples = 4
evaluate.alternatives.limit = 3
evaluate.alternatives.metrics = [exact_match, f1, recall@5]
""",
    FACTS: """\
model.base.source = local("tiny-qwen")
corpus.swapped_docs.source = factbook(facts = ["capital"], counterfactual = ["capital"], countries = COUNTRIES)
questions.swapped_qa.source = factbook(facts = ["capital"], counterfactual = ["capital"], countries = COUNTRIES)
corpus.updated_docs.source = factbook(changes_since = "2015", facts = ["long-name", "currency"])
questions.updated_qa.source = factbook(changes_since = "2015", facts = ["long-name", "currency"])
finetune.swapped_tuned.epochs = 1
finetune.updated_tuned.epochs = 1
evaluate.counterfactual.limit = 4
evaluate.updates.limit = 4
""".replace("COUNTRIES", '["France", "Germany", "Italy", "Spain", "Japan", "Peru"]'),
}


def _cli(root: Path, *args: str):
    from click.testing import CliRunner

    from ragdsl.cli import cli

    try:  # click < 8.2 mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    before = Path.cwd()
    os.chdir(root)
    try:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    pytest.importorskip("haystack")
    from test_finetune_train import save_tiny_model

    root = tmp_path_factory.mktemp("tiny")
    save_tiny_model(root / "tiny-qwen")
    return root


def run_tiny(tiny: Path, spec: Path, tmp_path: Path, monkeypatch):
    """`ragdsl run SPEC --profile tiny.set` in a fresh store; returns (CLI result, {node id: artifact folder})."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("RAGDSL_STORE", raising=False)
    profile = tiny / f"{spec.stem}.set"
    profile.write_text(TINY[spec])
    store = tmp_path / "store"
    # The profile's model folder lies outside experiments/: allowed on the command line, as a user would.
    result = _cli(ROOT, "run", str(spec), "--profile", str(profile), "--allow-read", str(tiny), "--store", str(store),
                  "--progress", "plain")
    assert result.exit_code == 0, result.output + result.stderr
    plan = json.loads(_cli(ROOT, "compile", "--dry-run", "--format", "json", str(spec), "--profile", str(profile),
                           "--allow-read", str(tiny), "--store", str(store)).stdout)
    assert {n["action"] for n in plan["nodes"]} == {"cached"}  # a second run would recompute nothing
    return result, {n["id"]: store / "artifacts" / n["fingerprint"][:2] / n["fingerprint"] for n in plan["nodes"]}


def answers(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "answers.jsonl").read_text().splitlines()]


@pytest.mark.finetune
def test_the_form_study_runs_on_a_tiny_model(tiny, tmp_path, monkeypatch):
    _, artifacts = run_tiny(tiny, FORM, tmp_path, monkeypatch)
    training = json.loads((artifacts["finetune.json_form"] / "training.json").read_text())
    assert training["target"]  # trained on rendered JSON targets
    summary = json.loads((artifacts["evaluate.form"] / "summary.json").read_text())
    assert set(summary["estimates"]) == {"plain", "prompt", "fewshot", "tuned", "tuned_prompt", "tuned_rag"}
    assert all(summary["estimates"][s]["format_validity"]["n"] == 3 for s in summary["estimates"])
    assert summary["answer_field"]["field"] == "answer"
    assert (artifacts["report.results"] / "report.html").is_file()


@pytest.mark.finetune
def test_the_alternatives_study_runs_on_a_tiny_model(tiny, tmp_path, monkeypatch):
    _, artifacts = run_tiny(tiny, ALTERNATIVES, tmp_path, monkeypatch)
    for system in ("base", "fixed", "similar", "sft", "dpo"):
        assert len(answers(artifacts[f"rag.alternatives.{system}"])) == 3
    training = json.loads((artifacts["finetune.dpo"] / "training.json").read_text())
    assert training["method"]["name"] == "dpo"
    report = (artifacts["report.results"] / "report.md").read_text()
    assert "similar" in report and "dpo" in report


@pytest.mark.finetune
def test_the_facts_study_runs_on_a_tiny_model(tiny, tmp_path, monkeypatch):
    _, artifacts = run_tiny(tiny, FACTS, tmp_path, monkeypatch)
    for evaluation in ("counterfactual", "updates"):
        summary = json.loads((artifacts[f"evaluate.{evaluation}"] / "summary.json").read_text())
        for system, estimates in summary["estimates"].items():
            shares = [estimates[m]["mean"] for m in ("fact_new", "fact_old", "fact_neither")]
            assert sum(shares) == pytest.approx(1.0), (evaluation, system)
    training = json.loads((artifacts["finetune.swapped_tuned"] / "training.json").read_text())
    assert training["format"] == "documents"
    # RAG over the edited documents: the retrieved contexts state the swapped capitals.
    rows = answers(artifacts["rag.counterfactual.rag"])
    assert rows and all(any(a in " ".join(d["text"] for d in r["contexts"]) for a in r["answers"]) for r in rows)
