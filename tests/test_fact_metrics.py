"""Fact-update metrics (fact_new, fact_old, fact_neither) and scoring a JSON field of answers (answer_field).

A mention is checked against the official SQuAD v1.1 script's normalisation (tests/reference) with a
token-window search written independently of ragdsl's; the evaluate runner is run on hand-made answers
and question records, with only the judge's generation replaced.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from reference import squad_v1_1 as squad
from test_evaluate_runner import evaluate_context, scripted_judge

from ragdsl.evaluate import metrics as m
from ragdsl.evaluate.scoring import higher_is_better, kind_of, objective, scored_prediction
from ragdsl.execute.context import NodeFailed
from ragdsl.execute.runners import evaluate
from ragdsl.report import Evaluation, ReportData, render_html, render_markdown
from ragdsl.semantics.schema import FACT_METRICS

# ------------------------------------------------------------------ mentions


def reference_mentions(prediction: str, answer: str) -> bool:
    """The answer's SQuAD-normalised tokens as a contiguous run of the prediction's."""
    wanted, tokens = squad.normalize_answer(answer).split(), squad.normalize_answer(prediction).split()
    return bool(wanted) and any(tokens[i:i + len(wanted)] == wanted for i in range(len(tokens) - len(wanted) + 1))


@pytest.mark.parametrize(("prediction", "answer", "expected"), [
    ("It is Paris.", "paris", True),
    ("Paris", "The Paris", True),  # articles go
    ("the capital is Paris, France", "Paris France", True),  # punctuation goes
    ("Parisian cafes", "Paris", False),  # a substring, not a whole token
    ("it is paris", "par", False),
    ("New Delhi", "Delhi", True),
    ("Delhi", "New Delhi", False),
    ("1,311,375 people", "1311375", True),  # SQuAD drops the commas
    ("anything", "the", False),  # an answer that normalises to nothing is never mentioned
    ("", "Paris", False),
])
def test_mentions_by_hand_and_as_the_squad_normalisation_gives(prediction, answer, expected):
    assert m.mentions(prediction, answer) is expected
    assert reference_mentions(prediction, answer) is expected


def test_mentions_equal_the_squad_normalisation_on_random_text():
    rng = random.Random(5)
    words = ["the", "a", "An", "Paris", "paris,", "Par", "is", "New", "Delhi.", "(Rome)", "ça", "--", "", "1,000"]
    for _ in range(1000):
        prediction = " ".join(rng.choice(words) for _ in range(rng.randint(0, 7)))
        answer = " ".join(rng.choice(words) for _ in range(rng.randint(0, 3)))
        assert m.mentions(prediction, answer) is reference_mentions(prediction, answer), (prediction, answer)


# ------------------------------------------------------------------ classification


@pytest.mark.parametrize(("prediction", "verdict"), [
    ("The capital is Paris.", "new"),
    ("It moved from Lyon to Paris.", "new"),  # both mentioned: the current answer wins
    ("Lyon, as far as I know.", "old"),
    ("Lyonnais cooking", "neither"),  # a previous answer as a substring only
    ("I do not know.", "neither"),
    ("", "neither"),
])
def test_fact_update_classifies_an_answer(prediction, verdict):
    assert m.fact_update(prediction, ["Paris", "Paris, France"], ["Lyon"]) == verdict


def test_the_three_fact_metrics_sum_to_one_and_skip_questions_without_previous_answers():
    assert FACT_METRICS == ("fact_new", "fact_old", "fact_neither")
    assert all(kind_of(x) == "fact" for x in FACT_METRICS)
    assert higher_is_better("fact_new") and not higher_is_better("fact_old")
    assert not higher_is_better("fact_neither") and higher_is_better("exact_match")
    for prediction in ("Paris", "Lyon", "Marseille", "Lyon then Paris"):
        row = {"prediction": prediction, "answers": ["Paris"], "previous": ["Lyon"]}
        values = [objective(x, row) for x in FACT_METRICS]
        assert sorted(values) == [0.0, 0.0, 1.0]
    assert objective("fact_old", {"prediction": "Lyon", "answers": ["Paris"]}) is None  # no previous
    assert objective("fact_old", {"prediction": "Lyon", "answers": ["Paris"], "previous": []}) is None
    assert objective("fact_new", {"prediction": "Paris", "answers": [], "previous": ["Lyon"]}) is None


# ------------------------------------------------------------------ answer_field


@pytest.mark.parametrize(("prediction", "expected"), [
    ('{"answer": "Paris", "why": "it is"}', ("Paris", True)),
    ('  ```json\n{"answer": "Paris"}\n```\n', ("Paris", True)),  # fenced, with whitespace around
    ('```\n{"answer": "Paris"}\n```', ("Paris", True)),
    ("Paris", ("Paris", False)),  # not JSON: as it is
    ('{"answer": "Paris"', ('{"answer": "Paris"', False)),  # broken JSON
    ('{"city": "Paris"}', ('{"city": "Paris"}', False)),  # a JSON object without the field
    ('["Paris"]', ('["Paris"]', False)),  # JSON, but not an object
    ('"Paris"', ('"Paris"', False)),
    ('{"answer": 42}', ("42", True)),  # other values as JSON text
    ('{"answer": ["Paris", "Lyon"]}', ('["Paris", "Lyon"]', True)),
    ('{"answer": null}', ("null", True)),
    ('{"answer": ""}', ("", True)),
])
def test_scored_prediction_reads_the_field_of_json_answers(prediction, expected):
    assert scored_prediction(prediction, "answer") == expected


def test_without_answer_field_the_answer_is_scored_as_it_is():
    assert scored_prediction('{"answer": "Paris"}', None) == ('{"answer": "Paris"}', False)


# ------------------------------------------------------------------ the evaluate runner

QUESTIONS = [("q0", "Capital of France?", ["Paris"], ["Lyon"]),
             ("q1", "Capital of Italy?", ["Rome"], ["Milan"]),
             ("q2", "Capital of Spain?", ["Madrid"], "Seville"),  # a single previous answer, as a string
             ("q3", "Capital of Germany?", ["Berlin"], None)]  # no previous answer: not fact-scored
ANSWERS = {
    "base": ["It is Lyon.", "Rome, not Milan.", "I do not know.", "Berlin"],
    "tuned": ['```json\n{"answer": "Paris"}\n```', '{"answer": "Milan"}', "Seville", '{"answer": 7}'],
}
FORMAT = r"(```json\s*)?\{.*\}(\s*```)?"


def fact_context(tmp_path: Path, metrics: list[str], previous: bool = True, judge: bool = False, **params):
    ctx = evaluate_context(tmp_path, metrics, judge=judge, **params)
    folder = tmp_path / "q"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "test.jsonl").open("w") as f:
        for qid, question, gold, old in QUESTIONS:
            meta = {"previous": old} if previous and old is not None else {}
            f.write(json.dumps({"id": qid, "question": question, "answers": gold, "context": None,
                                "meta": meta}) + "\n")
    for system, predictions in ANSWERS.items():
        with (tmp_path / system / "answers.jsonl").open("w") as f:
            for (qid, question, gold, _), prediction in zip(QUESTIONS, predictions):
                f.write(json.dumps({"id": qid, "question": question, "answers": gold,
                                    "prediction": prediction}) + "\n")
    return ctx


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_fact_metrics_and_answer_field_end_to_end(tmp_path):
    metrics = ["exact_match", "format_validity", *FACT_METRICS]
    ctx = fact_context(tmp_path, metrics, answer_field="answer", format_regex=FORMAT)
    output = evaluate.run(ctx)
    base, tuned = output.metrics["base"], output.metrics["tuned"]
    # base: q0 old, q1 new (both mentioned), q2 neither; q3 has no previous answer
    assert (base["fact_new"], base["fact_old"], base["fact_neither"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    # tuned, through the field: q0 Paris (new), q1 Milan (old); q2 is not JSON: "Seville" as it is (old)
    assert (tuned["fact_new"], tuned["fact_old"], tuned["fact_neither"]) == pytest.approx((1 / 3, 2 / 3, 0.0))
    assert base["exact_match"] == 0.25 and tuned["exact_match"] == 0.25  # Berlin; Paris from the field
    assert tuned["format_validity"] == 0.75 and base["format_validity"] == 0.0  # always the whole answer
    assert output.outputs["parsed_answers"] == 3
    summary = json.loads((ctx.workdir / "summary.json").read_text())
    assert summary["estimates"]["base"]["fact_new"]["n"] == 3 and summary["estimates"]["base"]["exact_match"]["n"] == 4
    assert summary["answer_field"] == {"field": "answer", "answers": {"base": 4, "tuned": 4},
                                       "parsed": {"base": 0, "tuned": 3}}
    old = next(p for p in summary["paired"] if p["metric"] == "fact_old")
    assert (old["n"], old["diff"]) == (3, pytest.approx(1 / 3 - 2 / 3))
    scores = {(r["system"], r["id"]): r for r in _jsonl(ctx.workdir / "scores.jsonl")}
    assert scores[("tuned", "q0")] == {"system": "tuned", "id": "q0", "parsed": True, "exact_match": 1.0,
                                       "format_validity": 1.0, "fact_new": 1.0, "fact_old": 0.0,
                                       "fact_neither": 0.0}
    assert scores[("tuned", "q3")]["parsed"] is True and scores[("tuned", "q3")]["fact_new"] is None
    assert scores[("tuned", "q2")]["parsed"] is False and scores[("base", "q0")]["parsed"] is False
    questions = {q["id"]: q for q in _jsonl(ctx.workdir / "questions.jsonl")}
    assert questions["q2"]["previous"] == ["Seville"] and "previous" not in questions["q3"]
    assert {"parsed": True, "scored": "Paris", "prediction": '```json\n{"answer": "Paris"}\n```'}.items() \
        <= questions["q0"]["systems"]["tuned"].items()
    # the report: its own table, n of the questions with previous answers, direction, parsed answers
    ev = Evaluation("evaluate.e", "e" * 64, summary, list(questions.values()), [])
    text = render_markdown(ReportData("Facts", [ev], {}, [], []), [])
    assert "### Fact-update metrics\n\n| system | fact_new | fact_old | fact_neither |" in text
    assert "| tuned | 0.333 [0.000, 1.000] (n=3) | 0.667" in text
    assert "leaving out questions without previous answers" in text
    assert "fact_new: higher is better; fact_old and fact_neither: lower is better" in text
    assert "Answers scored through their JSON field `answer` (parsed: base 0 of 4 and tuned 3 of 4)" in text
    assert "Gold: Madrid; previous: Seville" in text
    assert '- **tuned**: ```json {"answer": "Paris"} ``` [scored: Paris]' in text
    page = render_html(ReportData("Facts", [ev], {}, [], []), [])
    assert "Gold: Madrid; previous: Seville" in page and '<div class="muted">scored: Paris</div>' in page


def test_evaluations_without_the_new_settings_write_what_they_wrote(tmp_path):
    ctx = fact_context(tmp_path, ["exact_match"], previous=False)
    evaluate.run(ctx)
    assert all(set(r) == {"system", "id", "exact_match"} for r in _jsonl(ctx.workdir / "scores.jsonl"))
    questions = _jsonl(ctx.workdir / "questions.jsonl")
    assert all("previous" not in q and "parsed" not in q["systems"]["tuned"] for q in questions)
    assert "answer_field" not in json.loads((ctx.workdir / "summary.json").read_text())
    # exact match on the raw JSON text: nothing matches
    assert json.loads((ctx.workdir / "summary.json").read_text())["estimates"]["tuned"]["exact_match"]["mean"] == 0


def test_fact_metrics_without_previous_answers_fail_clearly(tmp_path):
    ctx = fact_context(tmp_path, ["exact_match", "fact_new"], previous=False)
    with pytest.raises(NodeFailed, match="fact_new need questions with previous .* none of the 4 evaluated") as found:
        evaluate.run(ctx)
    assert "factbook(counterfactual" in (found.value.hint or "") and "changes_since" in (found.value.hint or "")


def test_the_judge_sees_the_fields_value(tmp_path, monkeypatch):
    seen: list[str] = []

    def judge(prompts: list[str]) -> list[str]:
        seen.extend(prompts)
        return scripted_judge(prompts)

    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(evaluate, "_generator", lambda ctx, params, ref: judge)
    evaluate.run(fact_context(tmp_path, ["accuracy"], judge=True, answer_field="answer"))
    answers = [p.rsplit("Answer: ", 1)[1].split("\n", 1)[0] for p in seen if "Capital of" in p]
    assert sorted(answers) == sorted(["It is Lyon.", "Rome, not Milan.", "I do not know.", "Berlin",
                                      "Paris", "Milan", "Seville", "7"])


@pytest.mark.parametrize(("source", "errors"), [
    ('jsonl("data/qa.jsonl")', 1),
    ('jsonl("data/qa.jsonl", previous = "old")', 0),
    ("factbook()", 1),
    ('factbook(facts = ["capital"], counterfactual = ["capital"])', 0),
    ('factbook(changes_since = "2015")', 0),
    ("dataset(squad_v1)", 1),
])
def test_fact_metrics_over_a_source_without_previous_answers_are_an_error_at_check_time(tmp_path, source, errors):
    from ragdsl.semantics import check_spec

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "qa.jsonl").write_text('{"id": "q1", "question": "Q?", "answer": "a", "old": "b"}\n')
    spec = tmp_path / "spec.rag"
    spec.write_text(f"questions qa {{ source = {source} }}\n"
                    'model base = "qwen2.5-0.5b-instruct"\n'
                    "pipeline closed(generator) { generate = generator }\n"
                    "evaluate e { systems = { base: closed(base) }; questions = qa.test; "
                    "metrics = [exact_match, fact_old] }\n")
    found = [d for d in check_spec(spec).diagnostics if d.code == "E419"]
    assert len(found) == errors
    if found:
        assert found[0].message.startswith("'fact_old' needs questions with previous")
        assert (found[0].span.line, found[0].span.col) == (4, 93)
