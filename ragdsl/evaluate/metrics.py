"""Objective metrics: exact match and token F1 (SQuAD normalisation), retrieval rank metrics.

Each function scores one question; evaluations average them. Judge-based
metrics (accuracy, completeness) and the others named in the language live
with the evaluation issue and are reported as not computed until then.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds)) if golds else 0.0


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    return max((_f1(prediction, g) for g in golds), default=0.0)


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def gold_ranks(retrieved: Sequence[str], gold_context: str | None) -> list[int]:
    """1-based ranks of retrieved passages that contain the gold evidence.

    A passage counts when it and the gold context overlap on a normalised
    sentence-sized span: passages are chunks of the gold context, or contain it.
    """
    if not gold_context:
        return []
    gold = normalize_answer(gold_context)
    ranks = []
    for i, text in enumerate(retrieved, 1):
        passage = normalize_answer(text)
        if passage and (passage in gold or gold in passage):
            ranks.append(i)
    return ranks


def recall_at(ranks: Sequence[int], k: int) -> float:
    return float(any(r <= k for r in ranks))


def reciprocal_rank(ranks: Sequence[int]) -> float:
    return 1.0 / min(ranks) if ranks else 0.0


def ndcg_at(ranks: Sequence[int], k: int) -> float:
    gains = sum(1.0 / math.log2(r + 1) for r in ranks if r <= k)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(ranks), k) + 1))
    return gains / ideal if ideal else 0.0
