"""How evaluations and reports enter the plan: rubric hashes, judge and fine-tune inputs, judge warnings."""

from __future__ import annotations

import shutil

import pytest
from helpers import isolate_weights, write_project

from ragdsl.compiler import compile_spec
from ragdsl.evaluate import rubric

SPEC = '''
finetune tuned { base = base; data = qa.train; samples = sweep(2, 4); method = lora(r = 8) }
pipeline rag(generator) { retrieve = bm25(idx); generate = generator }
evaluate e {
  systems = { base: rag(base), tuned: rag(tuned) }
  questions = qa.test
  metrics = [accuracy, exact_match, f1]
  judge = judge_model
}
report r { from = e }
'''


@pytest.fixture
def compile_(tmp_path, monkeypatch):
    isolate_weights(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)

    def run(spec: str = SPEC):
        compilation = compile_spec(write_project(tmp_path, spec), [])
        assert compilation.ok, [(d.code, d.message) for d in compilation.diagnostics]
        return compilation

    return run


def fingerprints(compilation) -> dict[str, str]:
    return {a.node.id: a.fingerprint.value for a in compilation.plan.actions}


def test_the_evaluation_reads_the_judge_and_hashes_its_builtin_rubrics(compile_):
    graph = compile_().graph
    node = graph.node("evaluate.e")
    assert ("judge", "model.judge_model") in [(i.role, i.node) for i in node.inputs]
    assert node.params["rubrics"] == {"accuracy": rubric.builtin_rubric("accuracy").sha256}
    assert node.params["judge_temperature"] == 0 and node.params["judge_max_new_tokens"] == 48


def test_editing_a_builtin_rubric_reruns_the_evaluation_and_nothing_upstream(compile_, tmp_path, monkeypatch):
    before = fingerprints(compile_())
    edited = tmp_path / "rubrics"
    shutil.copytree(rubric.BUILTIN, edited)
    (edited / "accuracy.md").write_text((edited / "accuracy.md").read_text() + "\nBe strict.\n")
    monkeypatch.setattr(rubric, "BUILTIN", edited)
    after = fingerprints(compile_())
    assert {n for n in before if before[n] != after[n]} == {"evaluate.e", "report.r"}
    (edited / "completeness.md").write_text("changed, but not used by this evaluation")
    assert fingerprints(compile_()) == after


def test_a_custom_rubric_file_is_hashed_as_an_input(compile_, tmp_path):
    spec = SPEC.replace("judge = judge_model", 'judge = judge_model; rubric = "strict.md"')
    (tmp_path / "strict.md").write_text("---\nname: accuracy\nversion: 1\nscale: 1-5\n---\nStrict.\n")
    before = fingerprints(compile_(spec))
    (tmp_path / "strict.md").write_text("---\nname: accuracy\nversion: 2\nscale: 1-5\n---\nStricter.\n")
    after = fingerprints(compile_(spec))
    assert {n for n in before if before[n] != after[n]} == {"evaluate.e", "report.r"}


def test_the_report_reads_the_finetunes_of_the_evaluated_systems(compile_):
    node = compile_().graph.node("report.r")
    assert node.params["finetunes"] == {"evaluate.e": {"tuned[samples=2]": "finetune.tuned[samples=2]",
                                                       "tuned[samples=4]": "finetune.tuned[samples=4]"}}
    assert sorted(i.node for i in node.inputs if i.role == "finetune") == [
        "finetune.tuned[samples=2]", "finetune.tuned[samples=4]"]
    plain = compile_(SPEC.replace(", tuned: rag(tuned)", "").replace("finetune tuned", "# finetune tuned"))
    assert "finetunes" not in plain.graph.node("report.r").params


def test_the_spec_text_reaches_the_report_without_entering_any_fingerprint(compile_, tmp_path):
    a = compile_()
    assert a.graph.files["spec:spec.rag"] == tmp_path / "spec.rag"
    b = compile_(SPEC + "\n# a comment\n")
    assert fingerprints(a) == fingerprints(b)


def codes(compilation) -> list[str]:
    return [d.code for d in compilation.diagnostics]


def test_judge_warnings_follow_fine_tunes_and_equal_weights(compile_):
    assert "W401" not in codes(compile_()) and "W403" not in codes(compile_())
    related = compile_(SPEC.replace("systems = { base: rag(base), tuned: rag(tuned) }", "systems = { t: rag(tuned) }")
                       .replace("judge = judge_model", "judge = base"))
    found = [d for d in related.diagnostics if d.code == "W403"]
    assert len(found) == 1
    assert found[0].message == "the judge 'base' and system 't' share the base model 'base' (one is a fine-tune of it)"
    own = compile_(SPEC.replace("judge = judge_model", "judge = base"))
    assert codes(own).count("W401") == 1 and "W403" not in codes(own)  # one warning per evaluation
    same = compile_('model twin = "qwen2.5-0.5b-instruct"\n' + SPEC.replace("judge = judge_model", "judge = twin"))
    w401 = [d for d in same.diagnostics if d.code == "W401"]
    assert len(w401) == 1 and w401[0].message.endswith("(as 'base', the same weights)")


def test_faithfulness_needs_a_judge_too(tmp_path, monkeypatch):
    isolate_weights(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    spec = SPEC.replace("metrics = [accuracy, exact_match, f1]", "metrics = [faithfulness, f1]").replace(
        "  judge = judge_model\n", "")
    found = compile_spec(write_project(tmp_path, spec), [])
    assert [(d.code, d.message) for d in found.diagnostics if d.code == "E410"] == [
        ("E410", "'faithfulness' is scored by an LLM judge, but no judge is set")]
