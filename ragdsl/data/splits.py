"""Train/test splits and training samples: deterministic by seed, blind to input order.

Both start from one permutation: the questions sorted by id, then shuffled
with `random.Random(seed)`. The test set is a prefix of that order and the
train set is taken from its end, backwards, so

- the same questions and seed give the same split on every machine, however
  the source file orders them;
- changing `train` never changes the test set (and vice versa, when `test`
  is given): results stay comparable while one of them is swept;
- larger sets contain smaller ones: train = 500 holds train = 200.

`draw_samples` keeps the same property for fine-tuning sizes: for one seed,
samples of 200 are the first 200 of the samples of 500.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ragdsl.data.errors import DataError
from ragdsl.data.records import Question


def permutation(questions: Sequence[Question], seed: int) -> list[Question]:
    ordered = sorted(questions, key=lambda q: q.id)
    random.Random(seed).shuffle(ordered)
    return ordered


def train_count(train: int | float, available: int) -> int:
    """`train` as a number of questions: a count, or a fraction of those available."""
    if isinstance(train, bool) or train < 0:
        raise ValueError(f"train must be a count or a fraction in [0, 1), not {train!r}")
    if isinstance(train, float) and not (train >= 1 and train.is_integer()):
        if train >= 1:
            raise ValueError(f"a train fraction must be below 1, not {train!r}")
        return round(train * available)
    return int(train)


def split_questions(questions: Sequence[Question], *, train: int | float, test: int | None,
                    seed: int) -> tuple[list[Question], list[Question]]:
    """(train, test): test from the front of the seeded permutation, train from its back."""
    available = len(questions)
    n_train = train_count(train, available)
    n_test = available - n_train if test is None else test
    if n_train + n_test > available or n_test < 0:
        wanted = f"train = {n_train}" + (f" and test = {test}" if test is not None else "")
        raise DataError(f"{wanted} need {n_train + max(n_test, 0)} questions but the source has {available}",
                        "lower train or test" if test is not None else "lower train")
    order = permutation(questions, seed)
    test_set = order[:n_test]
    train_set = order[::-1][:n_train]
    return train_set, test_set


def draw_samples(questions: Sequence[Question], n: int | None, seed: int) -> list[Question]:
    """`n` questions drawn by seed (all, shuffled, for None); nested: a smaller n is a prefix."""
    order = permutation(questions, seed)
    if n is None:
        return order
    if n < 0 or n > len(order):
        raise DataError(f"samples = {n} but only {len(order)} questions are available",
                        f"use at most {len(order)} samples, or a larger train split")
    return order[:n]
