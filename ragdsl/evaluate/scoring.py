"""Which metric is scored how, and the objective (model-free) scores of one answer.

An answer is a row of a rag node's answers.jsonl: id, question, answers (gold),
prediction, contexts (retrieved, best first; absent when closed-book),
context (the gold passage, when the questions have one) and, added by the
evaluate runner, relevant (for recall@k and ndcg@k: how many passages of the
searched corpora hold gold evidence) and previous (for the fact metrics: the
question's outdated or counterfactual answers).
"""

from __future__ import annotations

from dataclasses import dataclass

from ragdsl.evaluate import metrics as m
from ragdsl.evaluate.rubric import JUDGED

RETRIEVAL_AT = ("recall", "hit", "precision", "ndcg")
FACT = {"fact_new": "new", "fact_old": "old", "fact_neither": "neither"}  # metric -> fact_update's verdict
LOWER_IS_BETTER = frozenset({"fact_old", "fact_neither"})


@dataclass(frozen=True)
class FormatRule:
    pattern: str | None = None
    schema: dict | None = None


def kind_of(metric: str) -> str:
    """'judge', 'similarity', 'answer' (EM, F1, format), 'fact' (fact_new, fact_old, fact_neither),
    'retrieval', or 'unknown'."""
    if metric in JUDGED:
        return "judge"
    if metric == "semantic_similarity":
        return "similarity"
    if metric in ("exact_match", "f1", "format_validity"):
        return "answer"
    if metric in FACT:
        return "fact"
    name, _, k = metric.partition("@")
    if metric == "mrr" or (name in RETRIEVAL_AT and k.isdigit() and int(k) > 0):
        return "retrieval"
    return "unknown"


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def scored_prediction(prediction: str, field: str | None) -> tuple[str, bool]:
    """What the metrics score of an answer, and whether it came from `field` (the evaluation's
    answer_field) of an answer that is a JSON object; without the field, the answer as it is."""
    value = m.json_field(prediction, field) if field is not None else None
    return (prediction, False) if value is None else (value, True)


def objective(metric: str, answer: dict, rule: FormatRule | None = None) -> float | None:
    """The score of one answer on a model-free metric; None where the metric does not apply."""
    if metric == "exact_match":
        return m.exact_match(answer["prediction"], answer["answers"]) if answer.get("answers") else None
    if metric == "f1":
        return m.token_f1(answer["prediction"], answer["answers"]) if answer.get("answers") else None
    if metric == "format_validity":
        rule = rule or FormatRule()
        return m.format_valid(answer["prediction"], rule.pattern, rule.schema)
    if metric in FACT:
        if not answer.get("previous") or not answer.get("answers"):
            return None  # nothing outdated to tell the answer from, or no current answer
        return float(m.fact_update(answer["prediction"], answer["answers"], answer["previous"]) == FACT[metric])
    if answer.get("context") is None or "contexts" not in answer:
        return None  # no gold passage or no retrieval (closed-book): retrieval metrics do not apply
    ranks = m.gold_ranks([c["text"] for c in answer["contexts"]], answer["context"])
    if metric == "mrr":
        return m.reciprocal_rank(ranks)
    name, _, k = metric.partition("@")
    k_ = int(k)
    if name == "hit":
        return m.hit_at(ranks, k_)
    if name == "precision":
        return m.precision_at(ranks, k_)
    if answer.get("relevant") is None:
        return None  # the corpus was not searched for relevant passages: recall and nDCG are unknown
    relevant = max(answer["relevant"], len(ranks))  # a passage retrieved twice counts twice
    return m.recall_at(ranks, k_, relevant) if name == "recall" else m.ndcg_at(ranks, k_, relevant)
