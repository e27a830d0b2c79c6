"""Judge rubrics, prompts and reply parsing: malformed replies are counted, never a crash."""

from __future__ import annotations

import sys

import pytest
from helpers import BASE, isolate_weights, write_project

from ragdsl.compiler import compile_spec
from ragdsl.evaluate.judge import Judgment, build_prompt, judge, parse_reply
from ragdsl.evaluate.rubric import (
    JUDGED,
    RubricError,
    builtin_hashes,
    builtin_rubric,
    parse_rubric,
    rubrics_for,
)

ITEM = {"question": "Where is insulin made?", "answers": ["the pancreas", "pancreas"],
        "context": "Insulin is made by beta cells in the pancreas.", "prediction": "In the liver.",
        "contexts": [{"text": "Insulin is made by beta cells."}, {"text": "The liver stores glycogen."}]}


@pytest.mark.parametrize(("reply", "score", "reason"), [
    ('{"score": 4, "reason": "Mostly right."}', 4, "Mostly right."),
    ('Sure! {"score": "5", "rationale": "Exact."} Hope that helps', 5, "Exact."),
    ('```json\n{"Score": 2, "explanation": "Wrong organ."}\n```', 2, "Wrong organ."),
    ("Score: 3\nReason: partly correct", 3, "partly correct"),
    ("Rating = 1. The answer is off-topic.", 1, "The answer is off-topic"),
    ("I would give this 4/5 because it is close.", 4, None),
    ("5 - matches the gold answer", 5, None),
    ('{"score": 2, "reason": "The answer says the liver, which is', 2, None),  # cut at max_new_tokens
])
def test_replies_in_many_shapes_are_parsed(reply, score, reason):
    found = parse_reply(reply, 1, 5)
    assert found.score == score and found.error is None
    if reason is not None:
        assert found.rationale == reason


@pytest.mark.parametrize(("reply", "error"), [
    ("", "no score found"),
    ("The answer is good.", "no score found"),
    ('{"score": null, "reason": "unsure"}', "no score found"),
    ('{"score": true}', "no score found"),
    ('{"score": 9, "reason": "great"}', "score 9 is outside the scale 1-5"),
    ("Score: 0", "score 0 is outside the scale 1-5"),
    ("{{{{ not json", "no score found"),
])
def test_malformed_replies_are_reported_not_raised(reply, error):
    found = parse_reply(reply, 1, 5)
    assert found.score is None and found.error == error and found.raw == reply


def test_non_string_reply_does_not_crash():
    assert parse_reply(None, 1, 5).error == "no score found"  # type: ignore[arg-type]


def test_builtin_rubrics_parse_and_prompts_carry_their_inputs():
    for metric in JUDGED:
        rubric = builtin_rubric(metric)
        assert (rubric.name, rubric.low, rubric.high) == (metric, 1, 5) and rubric.version == "2"
    accuracy = build_prompt(builtin_rubric("accuracy"), ITEM)
    assert "Gold: the pancreas | pancreas" in accuracy and "Evidence: Insulin is made" in accuracy
    assert "Answer: In the liver." in accuracy and '{"score": <integer from 1 to 5>' in accuracy
    faithful = build_prompt(builtin_rubric("faithfulness"), ITEM)
    assert "[1] Insulin is made by beta cells. [2] The liver" in faithful and "Gold:" not in faithful
    completeness = build_prompt(builtin_rubric("completeness"), ITEM)
    assert "Evidence:" not in completeness and "Passages:" not in completeness


def test_builtin_hashes_cover_only_judged_metrics():
    hashes = builtin_hashes(["f1", "completeness", "accuracy"])
    assert sorted(hashes) == ["accuracy", "completeness"]
    assert hashes["accuracy"] == builtin_rubric("accuracy").sha256


CUSTOM = "---\nname: accuracy\nversion: 2\nscale: 0-10\ninputs: question, answer\n---\nBe strict.\n"


def test_custom_rubric_replaces_the_builtin_of_its_metric():
    rubric = parse_rubric(CUSTOM, "strict.md")
    assert (rubric.low, rubric.high, rubric.inputs) == (0, 10, ("question", "answer"))
    assert rubric.normalise(5) == 0.5
    chosen = rubrics_for(["accuracy", "completeness", "f1"], rubric)
    assert chosen["accuracy"] is rubric and chosen["completeness"].version == "2"
    with pytest.raises(RubricError, match="not among this evaluation's judged metrics"):
        rubrics_for(["completeness"], rubric)


@pytest.mark.parametrize(("text", "message"), [
    ("Be strict.", "starts with a '---' header"),
    ("---\nname: accuracy\n---\nx", "lacks version, scale"),
    ("---\nname: style\nversion: 1\nscale: 1-5\n---\nx", "is not a judged metric"),
    ("---\nname: accuracy\nversion: 1\nscale: 5-1\n---\nx", "is not 'LOW-HIGH'"),
    ("---\nname: accuracy\nversion: 1\nscale: 1-5\ninputs: question, vibes\n---\nx", "unknown: vibes"),
    ("---\nname: accuracy\nversion: 1\nscale: 1-5\n---\n", "no criteria"),
    ("---\nname accuracy\n---\nx", "is not 'key: value'"),
])
def test_bad_rubrics_say_what_to_fix(text, message):
    with pytest.raises(RubricError, match=message):
        parse_rubric(text, "r.md")


def test_judge_batches_all_prompts_in_one_call_and_keeps_failures():
    calls = []

    def generate(prompts):  # the generator boundary: LocalGenerator.run batches these itself
        calls.append(len(prompts))
        return ['{"score": 5, "reason": "ok"}', "no idea", '{"score": 1}']

    found = judge(generate, builtin_rubric("accuracy"), [ITEM, ITEM, ITEM])
    assert calls == [3]
    assert [j.score for j in found] == [5, None, 1] and found[1].error == "no score found"
    assert isinstance(found[0], Judgment) and found[0].rationale == "ok"
    with pytest.raises(RuntimeError, match="2 replies for 3 prompts"):
        judge(lambda prompts: ["1", "2"], builtin_rubric("accuracy"), [ITEM] * 3)


# ------------------------------------------------------------------ several judges in a spec

JUDGED_SPEC = '''
model strict = "qwen2.5-coder-1.5b-instruct"
finetune tuned { base = base; data = qa.train; method = lora(r = 8) }
pipeline rag(generator) { retrieve = bm25(idx); generate = generator }
evaluate e {
  systems = { base: rag(base), tuned: rag(tuned) }
  questions = qa.test
  metrics = [accuracy, f1]
  JUDGE
}
'''


@pytest.fixture
def spec(tmp_path, monkeypatch):
    isolate_weights(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)

    def compile_(judge: str):
        return compile_spec(write_project(tmp_path, JUDGED_SPEC.replace("JUDGE", judge)), [])

    return compile_


def diagnostics(compilation, code: str):
    return [d for d in compilation.diagnostics if d.code == code]


def test_a_judge_list_is_accepted_and_each_judge_is_an_input(spec):
    compilation = spec("judge = [judge_model, strict]")
    assert compilation.ok, [(d.code, d.message) for d in compilation.diagnostics]
    node = compilation.graph.node("evaluate.e")
    assert node.params["judge"] == [{"node": "model.judge_model"}, {"node": "model.strict"}]
    assert node.params["judge_combine"] == "mean"
    assert sorted(i.node for i in node.inputs if i.role == "judge") == ["model.judge_model", "model.strict"]
    assert spec("judge = [judge_model, strict]; judge_combine = median").graph.node(
        "evaluate.e").params["judge_combine"] == "median"


def test_one_judge_plans_as_before_and_a_list_of_one_is_the_same(spec):
    single = spec("judge = judge_model")
    node = single.graph.node("evaluate.e")
    assert node.params["judge"] == {"node": "model.judge_model"} and "judge_combine" not in node.params
    fingerprint = {a.node.id: a.fingerprint.value for a in single.plan.actions}["evaluate.e"]
    listed = spec("judge = [judge_model]")
    assert {a.node.id: a.fingerprint.value for a in listed.plan.actions}["evaluate.e"] == fingerprint
    combine = spec("judge = judge_model; judge_combine = median")  # nothing to combine: not fingerprinted
    assert {a.node.id: a.fingerprint.value for a in combine.plan.actions}["evaluate.e"] == fingerprint


def test_a_judge_that_is_not_a_model_is_a_located_error(spec):
    compilation = spec("judge = [judge_model, idx]")
    (error,) = diagnostics(compilation, "E203")
    assert error.message == "expected a model or finetune, but 'idx' is an index"
    lines = (BASE + JUDGED_SPEC).splitlines()
    row = next(i for i, line in enumerate(lines, 1) if line.strip() == "JUDGE")
    assert (error.span.file, error.span.line, error.span.col) == ("spec.rag", row, len("  judge = [judge_model, ") + 1)
    assert diagnostics(spec("judge = [judge_model, 5]"), "E303")[0].message == (
        "expected a model or finetune, got the number 5")
    assert diagnostics(spec("judge = []"), "E404")


def test_a_judge_listed_twice_is_an_error(spec):
    (error,) = diagnostics(spec("judge = [strict, judge_model, strict]"), "E304")
    assert error.message == "judge 'strict' is listed twice" and error.notes[0].startswith("first listed at")


def test_judge_warnings_apply_to_every_judge(spec):
    own = diagnostics(spec("judge = [strict, base]"), "W401")
    assert [d.message for d in own] == ["the judge 'base' also generates system 'base'"]
    assert own[0].span.col == len("  judge = [strict, ") + 1  # at that judge, not the list
    related = spec("judge = [base, strict]").diagnostics  # the order does not matter
    assert [d.code for d in related if d.code.startswith("W40")] == ["W401"]


def test_w403_applies_to_every_judge(spec, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "JUDGED_SPEC", JUDGED_SPEC.replace(
        "systems = { base: rag(base), tuned: rag(tuned) }", "systems = { tuned: rag(tuned) }"))
    found = [(d.code, d.message) for d in spec("judge = [strict, base, judge_model]").diagnostics
             if d.code.startswith("W40")]
    assert found == [("W403", "the judge 'base' and system 'tuned' share the base model 'base' (one is a fine-tune "
                               "of it)")]


def test_a_blank_answer_is_shown_as_empty():
    for blank in ("", "  ", None):
        prompt = build_prompt(builtin_rubric("accuracy"), {**ITEM, "prediction": blank})
        assert "\nAnswer: (empty)\n" in prompt
