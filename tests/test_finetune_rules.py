"""The checker refuses fine-tuning data that can hold evaluated questions (E411), across declarations too."""

from __future__ import annotations

from helpers import write_project

from ragdsl.semantics import check_spec

SAME_SOURCE = """\
questions a { source = jsonl("data/qa.jsonl"); train = 30 }
questions b { source = jsonl("data/qa.jsonl"); test = 10; seed = 3 }
finetune t { base = base; data = a.train }
pipeline p(g) { generate = g }
evaluate e { systems = { t: p(t) }; questions = b.test; metrics = [exact_match] }
"""


def codes(tmp_path, spec: str) -> list[tuple[str, str]]:
    path = write_project(tmp_path, spec)
    return [(d.code, d.message) for d in check_spec(path).diagnostics if d.is_error]


def test_two_question_sets_over_one_source_cannot_train_and_test(tmp_path):
    found = codes(tmp_path, SAME_SOURCE)
    assert found == [("E411", "fine-tuning data may overlap the questions an evaluation tests on")]


def test_two_question_sets_over_one_source_with_one_seed_are_fine(tmp_path):
    # one seeded order: test from its front, train from its back
    assert codes(tmp_path, SAME_SOURCE.replace("; seed = 3", "")) == []


def test_one_question_set_split_into_train_and_test_is_fine(tmp_path):
    spec = SAME_SOURCE.replace("data = a.train", "data = b.train").replace("test = 10; seed = 3",
                                                                          "test = 10; train = 20")
    assert codes(tmp_path, spec) == []


def test_different_sources_are_fine(tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "other.jsonl").write_text('{"question": "q?", "answer": "a"}\n')
    spec = SAME_SOURCE.replace('questions b { source = jsonl("data/qa.jsonl")', 'questions b { source = jsonl("data/other.jsonl")')
    assert codes(tmp_path, spec) == []
