"""Objective metrics: exact match and token F1 (SQuAD normalisation), fact-update mentions, retrieval
rank metrics.

Each function scores one question; evaluations average them. The judged
metrics live in ragdsl.evaluate.judge, semantic similarity in
ragdsl.evaluate.similarity.
"""

from __future__ import annotations

import json
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
    # SQuAD v1.1's definition: no shared token, 0 (so an empty answer scores 0 even against a gold
    # answer that normalises to nothing; SQuAD v2's script would give 1 there).
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def mentions(prediction: str, answer: str) -> bool:
    """Whether the answer's normalised tokens occur, contiguous and whole, in the normalised prediction
    ("paris" in "It is Paris.", not "par"); an answer that normalises to nothing is never mentioned."""
    wanted = normalize_answer(answer)
    return bool(wanted) and f" {wanted} " in f" {normalize_answer(prediction)} "


def fact_update(prediction: str, golds: Sequence[str], previous: Sequence[str]) -> str:
    """'new' when the prediction mentions a gold (current) answer, else 'old' when it mentions a previous
    (outdated or counterfactual) one, else 'neither'."""
    if any(mentions(prediction, g) for g in golds):
        return "new"
    return "old" if any(mentions(prediction, p) for p in previous) else "neither"


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


def relevant_ids(passages: Sequence[tuple[str, str]], gold_context: str | None) -> set[str]:
    """Ids of the corpus passages that hold gold evidence, by the same test as `gold_ranks`.

    `passages` are (id, normalised text) pairs: normalise once per corpus, not per question.
    """
    if not gold_context:
        return set()
    gold = normalize_answer(gold_context)
    return {pid for pid, text in passages if text and (text in gold or gold in text)}


# Rank metrics as trec_eval defines them (binary relevance). `ranks` are the 1-based ranks of
# the relevant passages retrieved; `relevant` is how many relevant passages the corpus holds.


def hit_at(ranks: Sequence[int], k: int) -> float:
    """1 when a relevant passage is in the top k (trec_eval's success_k)."""
    return float(any(r <= k for r in ranks))


def recall_at(ranks: Sequence[int], k: int, relevant: int) -> float:
    """Relevant passages in the top k over all relevant passages (trec_eval's recall_k)."""
    return sum(r <= k for r in ranks) / relevant if relevant else 0.0


def precision_at(ranks: Sequence[int], k: int) -> float:
    """Relevant passages in the top k over k (trec_eval's P_k)."""
    return sum(r <= k for r in ranks) / k


def reciprocal_rank(ranks: Sequence[int]) -> float:
    return 1.0 / min(ranks) if ranks else 0.0


def ndcg_at(ranks: Sequence[int], k: int, relevant: int) -> float:
    """DCG of the top k over the ideal DCG of min(relevant, k) relevant passages (trec_eval's ndcg_cut_k)."""
    gains = sum(1.0 / math.log2(r + 1) for r in ranks if r <= k)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(relevant, k) + 1))
    return gains / ideal if ideal else 0.0


def format_valid(prediction: str, pattern: str | None = None, schema: dict | None = None) -> float:
    """1.0 when the answer has the required form: it fully matches `pattern` (a regex), and/or it is
    JSON that validates against `schema` (a JSON Schema); else 0.0."""
    text = prediction.strip()
    if pattern is not None and re.fullmatch(pattern, text, re.S) is None:
        return 0.0
    if schema is not None:
        import jsonschema

        try:
            jsonschema.validate(json.loads(unfence(text)), schema)
        except (ValueError, jsonschema.ValidationError):
            return 0.0
    return 1.0


def unfence(text: str) -> str:
    """The JSON inside a Markdown code fence (models often wrap it), or the text itself."""
    match = re.fullmatch(r"```[a-zA-Z]*\s*\n?(.*?)\n?```", text, re.S)
    return match.group(1) if match else text


def json_field(prediction: str, field: str) -> str | None:
    """The value of `field` when the answer (stripped, and unfenced) is a JSON object that has it, as a
    string (a string as it is, any other value as JSON: 42, true, ["a", "b"]); else None."""
    try:
        found = json.loads(unfence(prediction.strip()))
    except (ValueError, RecursionError):
        return None
    if not isinstance(found, dict) or field not in found:
        return None
    value = found[field]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
