"""From per-question scores to what a report states: means with CIs, paired comparisons, judge agreement."""

from __future__ import annotations

import itertools
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
