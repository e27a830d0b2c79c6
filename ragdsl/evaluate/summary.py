"""From per-question scores to what a report states: means with CIs, paired comparisons, judge agreement,
and how several judges' scores combine and agree with each other."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

from ragdsl.evaluate import stats

# scores[system][metric][question id] = score (absent: the metric did not apply or the judge's reply
# could not be read)
Scores = Mapping[str, Mapping[str, Mapping[str, float]]]


def summarise(scores: Scores, metrics: Sequence[str], seed: int) -> dict:
    systems = sorted(scores)
    estimates = {s: {x: stats.estimate([scores[s][x][q] for q in sorted(scores[s].get(x, {}))], seed).as_dict()
                     for x in metrics} for s in systems}
    pairs = [stats.paired(a, scores[a].get(x, {}), b, scores[b].get(x, {}), x, seed).as_dict()
             for a, b in itertools.combinations(systems, 2) for x in metrics]
    return {"estimates": estimates, "paired": pairs}


def judge_agreement(scores: Scores, judged: Sequence[str], references: Sequence[str] = ("exact_match", "f1")
                    ) -> list[dict]:
    """Rank agreement of each judged metric with EM and F1 over every (system, question) both scored."""
    out = []
    for metric in judged:
        for ref in references:
            pairs = [(scores[s][metric][q], scores[s][ref][q]) for s in sorted(scores)
                     for q in sorted(scores[s].get(metric, {})) if q in scores[s].get(ref, {})]
            found = stats.agreement([p[0] for p in pairs], [p[1] for p in pairs])
            out.append({"metric": metric, "reference": ref, **found})
    return out


# per_judge[judge][system][metric][question id] = that judge's score (normalised 0-1)
PerJudge = Mapping[str, Scores]
COMBINE = ("mean", "median")


def combine(values: Sequence[float], how: str = "mean") -> float:
    """One answer's judged score from its judges' scores (those that gave one)."""
    import statistics

    if how not in COMBINE:
        raise ValueError(f"judge_combine must be one of {', '.join(COMBINE)}, not {how!r}")
    return math.fsum(values) / len(values) if how == "mean" else float(statistics.median(values))


def combine_judges(per_judge: PerJudge, how: str = "mean") -> dict[str, dict[str, dict[str, float]]]:
    """scores[system][metric][question] combined over the judges that scored that answer; an answer no
    judge could score has no judged score."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for judge in sorted(per_judge):
        for system, by_metric in per_judge[judge].items():
            for metric, by_question in by_metric.items():
                for q in by_question:
                    out.setdefault(system, {}).setdefault(metric, {})[q] = 0.0
    for system, by_metric in out.items():
        for metric, by_question in by_metric.items():
            for q in by_question:
                values = [per_judge[j][system][metric][q] for j in sorted(per_judge)
                          if q in per_judge[j].get(system, {}).get(metric, {})]
                by_question[q] = combine(values, how)
    return out


def judge_estimates(per_judge: PerJudge, judged: Sequence[str], seed: int) -> dict[str, dict]:
    """Each judge's own means (with bootstrap CIs) per system and judged metric."""
    return {j: {s: {x: stats.estimate([by_metric.get(x, {})[q] for q in sorted(by_metric.get(x, {}))], seed).as_dict()
                    for x in judged} for s, by_metric in sorted(per_judge[j].items())} for j in sorted(per_judge)}


def judges_pairwise(per_judge: PerJudge, judged: Sequence[str]) -> list[dict]:
    """For each judged metric and pair of judges: rank agreement (Spearman, Kendall) and the share of
    identical scores, over every (system, question) both judges scored."""
    out = []
    for metric in judged:
        for a, b in itertools.combinations(sorted(per_judge), 2):
            pairs = [(per_judge[a][s][metric][q], per_judge[b][s][metric][q]) for s in sorted(per_judge[a])
                     for q in sorted(per_judge[a][s].get(metric, {}))
                     if q in per_judge[b].get(s, {}).get(metric, {})]
            found = stats.agreement([p[0] for p in pairs], [p[1] for p in pairs])
            exact = sum(math.isclose(x, y, abs_tol=1e-9) for x, y in pairs) / len(pairs) if pairs else None
            out.append({"metric": metric, "a": a, "b": b, **found, "exact": exact})
    return out
