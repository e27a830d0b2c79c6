"""Splits, samples and leak checks: deterministic, blind to input order, nested."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragdsl.data import DataError, Question, draw_samples, find_leaks, normalize, split_questions


def make(n: int, prefix: str = "q") -> list[Question]:
    return [Question(f"{prefix}{i:04d}", f"Question {prefix} {i}?", (f"answer {i}",), f"Passage {i // 3}.")
            for i in range(n)]


def ids(questions) -> list[str]:
    return [q.id for q in questions]


# ---------------------------------------------------------------- split_questions


def test_split_is_deterministic_and_ignores_input_order():
    questions = make(50)
    shuffled = random.Random(99).sample(questions, len(questions))
    first = split_questions(questions, train=20, test=10, seed=3)
    again = split_questions(shuffled, train=20, test=10, seed=3)
    assert (ids(first[0]), ids(first[1])) == (ids(again[0]), ids(again[1]))
    other = split_questions(questions, train=20, test=10, seed=4)
    assert ids(other[1]) != ids(first[1])


def test_train_and_test_are_disjoint_and_test_defaults_to_the_rest():
    train, test = split_questions(make(30), train=12, test=None, seed=0)
    assert len(train) == 12 and len(test) == 18
    assert not set(ids(train)) & set(ids(test))


def test_train_fraction_is_rounded_to_a_count():
    train, test = split_questions(make(30), train=0.29, test=None, seed=0)
    assert (len(train), len(test)) == (9, 21)  # 0.29 * 30 = 8.7
    assert split_questions(make(5), train=0, test=None, seed=0)[0] == []


def test_changing_train_keeps_the_test_set_and_train_sets_nest():
    questions = make(100)
    train_small, test_a = split_questions(questions, train=10, test=20, seed=7)
    train_large, test_b = split_questions(questions, train=40, test=20, seed=7)
    assert ids(test_a) == ids(test_b)
    assert ids(train_large)[:10] == ids(train_small)


def test_changing_test_keeps_the_train_set_and_test_sets_nest():
    questions = make(100)
    train_a, test_small = split_questions(questions, train=30, test=10, seed=7)
    train_b, test_large = split_questions(questions, train=30, test=50, seed=7)
    assert ids(train_a) == ids(train_b)
    assert ids(test_large)[:10] == ids(test_small)


@pytest.mark.parametrize(("train", "test", "expected"), [
    (40, 20, "train = 40 and test = 20 need 60 questions but the source has 50"),
    (60, None, "train = 60 need 60 questions but the source has 50"),
])
def test_asking_for_more_questions_than_exist_is_a_data_error(train, test, expected):
    with pytest.raises(DataError) as caught:
        split_questions(make(50), train=train, test=test, seed=0)
    assert caught.value.message == expected


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 60), data=st.data())
def test_split_properties_hold_for_any_sizes(n, data):
    n_train = data.draw(st.integers(0, n))
    n_test = data.draw(st.one_of(st.none(), st.integers(1, max(1, n - n_train))))
    if n_test is not None and n_train + n_test > n:
        return
    seed = data.draw(st.integers(0, 2**32))
    train, test = split_questions(make(n), train=n_train, test=n_test, seed=seed)
    assert len(train) == n_train and len(test) == (n - n_train if n_test is None else n_test)
    assert not set(ids(train)) & set(ids(test))


# ---------------------------------------------------------------- draw_samples


def test_samples_are_nested_prefixes_for_one_seed():
    pool = make(1200)
    s200, s500, s1000 = (draw_samples(pool, n, seed=11) for n in (200, 500, 1000))
    assert ids(s500)[:200] == ids(s200) and ids(s1000)[:500] == ids(s500)
    assert ids(draw_samples(list(reversed(pool)), 500, seed=11)) == ids(s500)
    assert ids(draw_samples(pool, 500, seed=12)) != ids(s500)


def test_all_samples_and_too_many_samples():
    pool = make(20)
    assert sorted(ids(draw_samples(pool, None, seed=1))) == ids(pool)
    with pytest.raises(DataError) as caught:
        draw_samples(pool, 21, seed=1)
    assert caught.value.message == "samples = 21 but only 20 questions are available"


# ---------------------------------------------------------------- leaks


def test_normalize_follows_squad():
    assert normalize("  The Capital, of   FRANCE?! ") == "capital of france"
    assert normalize("An apple a day") == "apple day"


def q(qid: str, text: str, context: str | None = None) -> Question:
    return Question(qid, text, ("x",), context)


def test_question_leaks_match_on_normalized_text_only():
    train = [q("t1", "What is the capital of France?", "Paris."), q("t2", "Who wrote it?", "Shared.")]
    test = [q("e1", "what is capital of france", "Other."), q("e2", "Why?", "Shared.")]
    assert find_leaks(train, test, "question") == [("t1", "e1")]


def test_passage_holdout_also_counts_a_shared_gold_passage():
    train = [q("t2", "Who wrote it?", "The  shared passage."), q("t1", "What is the capital of France?")]
    test = [q("e2", "Why?", "the shared passage"), q("e1", "what is capital of france"), q("e3", "Who?")]
    assert find_leaks(train, test, "passage") == [("t1", "e1"), ("t2", "e2")]


def test_unknown_holdout_is_a_programming_error():
    with pytest.raises(ValueError):
        find_leaks([], [], "paragraph")
