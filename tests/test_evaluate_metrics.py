"""Objective metrics against hand-computed cases."""

from __future__ import annotations

import math

import pytest

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
    assert m.token_f1("the", ["a"]) == 1.0  # both empty after normalisation
    assert m.token_f1("liver", ["pancreas"]) == 0.0


def test_retrieval_ranks_and_rank_metrics_by_hand():
    gold = "Insulin is made in the pancreas. It lowers blood sugar."
    retrieved = ["Bile is made in the liver.", "Insulin is made in the pancreas.", "It lowers blood sugar."]
    ranks = m.gold_ranks(retrieved, gold)
    assert ranks == [2, 3]
    assert m.recall_at(ranks, 1) == 0.0 and m.recall_at(ranks, 2) == 1.0
    assert m.reciprocal_rank(ranks) == 0.5
    ideal = 1 + 1 / math.log2(3)
    assert m.ndcg_at(ranks, 3) == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)
    assert m.ndcg_at([], 3) == 0.0 and m.reciprocal_rank([]) == 0.0


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
    assert objective("recall@1", answer) == 0.0 and objective("hit@2", answer) == 1.0
    assert objective("precision@2", answer) == 0.5 and objective("mrr", answer) == 0.5
    closed_book = {k: v for k, v in answer.items() if k != "contexts"}
    assert objective("recall@5", closed_book) is None  # no retrieval: the metric does not apply
    assert objective("f1", {**answer, "answers": []}) is None
    assert objective("format_validity", answer, FormatRule(pattern="the .*")) == 1.0
