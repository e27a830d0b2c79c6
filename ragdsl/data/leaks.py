"""Leakage between training examples and test questions, on SQuAD-normalised text.

A train question leaks into the test set when its normalised question text
equals a test question's; with holdout = "passage", sharing the gold passage
(identical normalised context) is a leak as well, since training on a passage's
questions teaches its facts.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict
from collections.abc import Sequence

from ragdsl.data.records import Question

HOLDOUTS = ("question", "passage")

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, articles or extra whitespace."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def find_leaks(train: Sequence[Question], test: Sequence[Question], holdout: str) -> list[tuple[str, str]]:
    """(train id, test id) pairs that leak, sorted."""
    if holdout not in HOLDOUTS:
        raise ValueError(f"holdout must be one of {HOLDOUTS}, not {holdout!r}")
    by_question: dict[str, list[str]] = defaultdict(list)
    by_context: dict[str, list[str]] = defaultdict(list)
    for q in test:
        key = normalize(q.question)
        if key:  # a question of only punctuation and articles matches nothing
            by_question[key].append(q.id)
        if holdout == "passage" and q.context:
            by_context[normalize(q.context)].append(q.id)
    pairs: set[tuple[str, str]] = set()
    for q in train:
        hits = list(by_question.get(normalize(q.question), ()))
        if holdout == "passage" and q.context:
            hits += by_context.get(normalize(q.context), ())
        pairs.update((q.id, t) for t in hits)
    return sorted(pairs)
