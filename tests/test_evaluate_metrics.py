"""Objective metrics: hand-computed cases, and the reference implementations they must equal.

EM and F1 are compared with the official SQuAD v1.1 script's functions (tests/reference), the
rank metrics with trec_eval's own code (pytrec_eval), on fixed fixtures and random ones.
"""

from __future__ import annotations

import math

import pytest
from reference import squad_v1_1 as squad

from ragdsl.evaluate import metrics as m
from ragdsl.evaluate.scoring import FormatRule, kind_of, objective


def test_squad_normalisation_and_exact_match():
    assert m.normalize_answer("The  Pancreas!") == "pancreas"
    assert m.exact_match("the pancreas.", ["Pancreas", "liver"]) == 1.0
    assert m.exact_match("pancreatic islets", ["pancreas"]) == 0.0
    assert m.exact_match("anything", []) == 0.0


def test_token_f1_by_hand():
    # prediction tokens: beta cells of pancreas (4); gold: cells in pancreas (3); common: cells, pancreas
    precision, recall = 2 / 4, 2 / 3
    expected = 2 * precision * recall / (precision + recall)
    assert m.token_f1("beta cells of the pancreas", ["cells in the pancreas"]) == pytest.approx(expected)
    assert m.token_f1("x", ["cells in pancreas", "x"]) == 1.0  # best gold answer counts
    assert m.token_f1("the", ["a"]) == 0.0  # both empty after normalisation: SQuAD v1.1 gives 0
    assert m.token_f1("", ["the"]) == 0.0
    assert m.token_f1("liver", ["pancreas"]) == 0.0


def test_retrieval_ranks_and_rank_metrics_by_hand():
    gold = "Insulin is made in the pancreas. It lowers blood sugar."
    retrieved = ["Bile is made in the liver.", "Insulin is made in the pancreas.", "It lowers blood sugar."]
    ranks = m.gold_ranks(retrieved, gold)
    assert ranks == [2, 3]
    assert m.hit_at(ranks, 1) == 0.0 and m.hit_at(ranks, 2) == 1.0
    assert m.recall_at(ranks, 2, relevant=2) == 0.5 and m.recall_at(ranks, 3, relevant=2) == 1.0
    assert m.recall_at(ranks, 3, relevant=4) == 0.5  # two more relevant passages were not retrieved
    assert m.reciprocal_rank(ranks) == 0.5
    ideal = 1 + 1 / math.log2(3)
    assert m.ndcg_at(ranks, 3, relevant=2) == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)
    # 1 of 2 relevant passages, at rank 1: the ideal list has both (the example, 0.613)
    assert m.ndcg_at([1], 5, relevant=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert round(m.ndcg_at([1], 5, relevant=2), 3) == 0.613
    assert m.ndcg_at([], 3, relevant=1) == 0.0 and m.reciprocal_rank([]) == 0.0


def test_relevant_passages_are_found_in_the_corpus_as_ranks_find_them():
    gold = "Insulin is made in the pancreas. It lowers blood sugar."
    corpus = [("a", "Insulin is made in the pancreas."), ("b", "It lowers blood sugar."), ("c", "Bile.")]
    normalised = [(pid, m.normalize_answer(text)) for pid, text in corpus]
    assert m.relevant_ids(normalised, gold) == {"a", "b"}
    assert m.relevant_ids(normalised, None) == set()


# ------------------------------------------------------------------ against reference implementations

SQUAD_CASES = [
    ("the pancreas.", ["Pancreas", "liver"]),
    ("beta cells of the pancreas", ["cells in the pancreas"]),
    ("Denver Broncos", ["Denver Broncos", "The Denver Broncos", "Broncos"]),
    ("", ["the"]), ("the", ["a"]), ("", ["Paris"]), ("Paris, France", ["Paris"]),
    ("1,311,375", ["1,311,375"]), ("1311375 people", ["1,311,375"]), ("an  apple a day", ["apple day"]),
    ("Ça  va", ["ca va", "ça va"]), ("x x x y", ["x y y"]), ("Warszawa", ["Warsaw"]),
]


@pytest.mark.parametrize(("prediction", "golds"), SQUAD_CASES)
def test_exact_match_and_f1_equal_the_squad_v1_1_script(prediction, golds):
    assert m.exact_match(prediction, golds) == float(
        squad.metric_max_over_ground_truths(squad.exact_match_score, prediction, golds))
    assert m.token_f1(prediction, golds) == pytest.approx(
        squad.metric_max_over_ground_truths(squad.f1_score, prediction, golds), abs=1e-12)
    assert m.normalize_answer(prediction) == squad.normalize_answer(prediction)


def test_exact_match_and_f1_equal_the_squad_script_on_random_answers():
    import random

    rng = random.Random(11)
    words = ["the", "a", "pancreas", "cells", "beta", "insulin", "of", "in", "Liver", "blood,", "sugar.", "an", ""]
    for _ in range(500):
        prediction = " ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
        golds = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(1, 3))]
        assert m.exact_match(prediction, golds) == float(
            squad.metric_max_over_ground_truths(squad.exact_match_score, prediction, golds))
        assert m.token_f1(prediction, golds) == pytest.approx(
            squad.metric_max_over_ground_truths(squad.f1_score, prediction, golds), abs=1e-12)


def _trec_eval(queries: dict[str, tuple[list[str], set[str]]], k: int) -> dict[str, dict[str, float]]:
    """trec_eval's measures (pytrec_eval) for queries given as (ranked doc ids, relevant doc ids)."""
    import pytrec_eval

    qrels = {q: {d: 1 for d in relevant} for q, (_, relevant) in queries.items()}
    # Strictly decreasing scores: trec_eval ranks by score, so ties would reorder documents.
    run = {q: {d: float(len(ranked) - i) for i, d in enumerate(ranked)} for q, (ranked, _) in queries.items()}
    measures = {f"recall.{k}", f"P.{k}", f"ndcg_cut.{k}", "recip_rank", f"success.{k}"}
    return pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)


def _ours(ranked: list[str], relevant: set[str], k: int) -> dict[str, float]:
    ranks = [i for i, d in enumerate(ranked, 1) if d in relevant]
    return {f"recall_{k}": m.recall_at(ranks, k, len(relevant)), f"P_{k}": m.precision_at(ranks, k),
            f"ndcg_cut_{k}": m.ndcg_at(ranks, k, len(relevant)), "recip_rank": m.reciprocal_rank(ranks),
            f"success_{k}": m.hit_at(ranks, k)}


def test_rank_metrics_equal_trec_eval_on_fixed_queries():
    queries = {
        "q1": (["d1", "d2", "d3", "d4", "d5"], {"d2", "d9"}),  # 1 of 2 relevant retrieved
        "q2": (["d1", "d2", "d3"], {"d1"}),
        "q3": (["d4", "d5", "d6", "d7", "d8"], {"d6", "d7", "d8", "d9", "d10", "d11"}),  # more relevant than k
        "q4": (["d1", "d2"], {"d3"}),  # nothing relevant retrieved
    }
    for k in (1, 3, 5):
        reference = _trec_eval(queries, k)
        for q, (ranked, relevant) in queries.items():
            ours = _ours(ranked, relevant, k)
            for measure, value in ours.items():
                assert value == pytest.approx(reference[q][measure], abs=1e-4), (q, k, measure)


def test_rank_metrics_equal_trec_eval_on_random_queries():
    import random

    rng = random.Random(5)
    queries = {}
    for q in range(200):
        docs = [f"d{i}" for i in range(30)]
        ranked = rng.sample(docs, rng.randint(1, 10))
        relevant = set(rng.sample(docs, rng.randint(1, 6)))
        queries[f"q{q}"] = (ranked, relevant)
    for k in (1, 5, 10):
        reference = _trec_eval(queries, k)
        for q, (ranked, relevant) in queries.items():
            for measure, value in _ours(ranked, relevant, k).items():
                assert value == pytest.approx(reference[q][measure], abs=1e-4), (q, k, measure)


def test_format_validity_regex_schema_and_code_fences():
    assert m.format_valid(" 42 ", pattern=r"\d+") == 1.0
    assert m.format_valid("42 apples", pattern=r"\d+") == 0.0  # a full match, not a search
    schema = {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}}
    assert m.format_valid('{"answer": "pancreas"}', schema=schema) == 1.0
    assert m.format_valid('```json\n{"answer": "pancreas"}\n```', schema=schema) == 1.0
    assert m.format_valid('{"answer": 3}', schema=schema) == 0.0
    assert m.format_valid("not json", schema=schema) == 0.0


def test_metric_kinds_and_objective_scores():
    assert [kind_of(x) for x in ("accuracy", "faithfulness", "semantic_similarity", "f1", "mrr", "ndcg@10",
                                 "recall@0", "bogus")] == [
        "judge", "judge", "similarity", "answer", "retrieval", "retrieval", "unknown", "unknown"]
    answer = {"prediction": "the pancreas", "answers": ["pancreas"], "context": "Insulin is made in the pancreas.",
              "contexts": [{"text": "nothing"}, {"text": "Insulin is made in the pancreas."}]}
    assert objective("exact_match", answer) == 1.0
    assert objective("recall@1", answer) is None  # the corpus was not counted: unknown, not guessed
    assert objective("recall@2", {**answer, "relevant": 2}) == 0.5
    assert objective("ndcg@2", {**answer, "relevant": 1}) == pytest.approx(1 / math.log2(3))
    assert objective("hit@1", answer) == 0.0 and objective("hit@2", answer) == 1.0
    assert objective("precision@2", answer) == 0.5 and objective("mrr", answer) == 0.5
    closed_book = {k: v for k, v in answer.items() if k != "contexts"}
    assert objective("recall@5", closed_book) is None  # no retrieval: the metric does not apply
    assert objective("f1", {**answer, "answers": []}) is None
    assert objective("format_validity", answer, FormatRule(pattern="the .*")) == 1.0
