"""Judge rubrics, prompts and reply parsing: malformed replies are counted, never a crash."""

from __future__ import annotations

import pytest

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
        assert (rubric.name, rubric.low, rubric.high) == (metric, 1, 5) and rubric.version == "1"
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
    assert chosen["accuracy"] is rubric and chosen["completeness"].version == "1"
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
