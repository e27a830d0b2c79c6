"""evaluate node: score every system's answers on the same questions.

Computed here: exact_match, f1, and the retrieval metrics (recall@k, hit@k,
precision@k, ndcg@k, mrr) against the gold context. Metrics that need an LLM
judge or an embedding model are listed as not computed, never estimated.
"""

from __future__ import annotations

import statistics

from ragdsl.evaluate import metrics as m
from ragdsl.execute.context import NodeContext, Output
from ragdsl.execute.runners._io import read_jsonl, write_jsonl

ANSWER = {"exact_match": m.exact_match, "f1": m.token_f1}


def score(metric: str, answer: dict) -> float | None:
    if metric in ANSWER:
        return ANSWER[metric](answer["prediction"], answer["answers"])
    ranks = m.gold_ranks([c["text"] for c in answer.get("contexts", [])], answer.get("context"))
    if answer.get("context") is None or "contexts" not in answer:
        return None  # no gold passage or no retrieval: the metric does not apply
    if metric == "mrr":
        return m.reciprocal_rank(ranks)
    name, _, k = metric.partition("@")
    if not k:
        return None
    k_ = int(k)
    if name in ("recall", "hit"):
        return m.recall_at(ranks, k_)
    if name == "precision":
        return sum(r <= k_ for r in ranks) / k_
    if name == "ndcg":
        return m.ndcg_at(ranks, k_)
    return None


def computable(metric: str) -> bool:
    return metric in ANSWER or metric == "mrr" or metric.partition("@")[0] in ("recall", "hit", "precision",
                                                                               "ndcg")


def run(ctx: NodeContext) -> Output:
    params = ctx.node.params
    metric_names = [x for x in params["metrics"] if computable(x)]
    skipped = [x for x in params["metrics"] if not computable(x)]
    systems = params["systems"]  # label -> rag node id
    table: dict[str, dict[str, float | None]] = {}
    rows = []
    ctx.started(total=len(systems), unit="systems")
    for label in sorted(systems):
        answers = list(read_jsonl(ctx.upstream(systems[label]).folder / "answers.jsonl"))
        if params.get("limit"):
            answers = answers[: params["limit"]]
        per_metric: dict[str, list[float]] = {x: [] for x in metric_names}
        for answer in answers:
            row = {"system": label, "id": answer["id"]}
            for metric in metric_names:
                value = score(metric, answer)
                row[metric] = value
                if value is not None:
                    per_metric[metric].append(value)
            rows.append(row)
        table[label] = {x: (statistics.fmean(v) if v else None) for x, v in per_metric.items()}
        table[label]["questions"] = len(answers)
        ctx.advance()
    write_jsonl(ctx.workdir / "scores.jsonl", rows)
    attribution = ctx.upstream(params["questions"]).outputs.get("attribution", "")
    return Output({"systems": len(systems), "not_computed": skipped, "attribution": attribution},
                  metrics=table)
