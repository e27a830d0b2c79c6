"""Statistics over per-question scores: bootstrap confidence intervals and paired tests.

Every random draw uses a fixed seed, so a report is byte-identical across runs.
Scores are aligned by question id before pairing; a pair of systems is compared
only on the questions both have a score for, and that number is reported.
numpy/scipy are imported inside the functions (the front end stays light).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

CONFIDENCE = 0.95
RESAMPLES = 2000
PERMUTATIONS = 10000
EXACT_PERMUTATION_MAX = 16  # 2**16 sign patterns: enumerate them instead of sampling
WILCOXON_MIN_NONZERO = 10  # below this the normal approximation (and the test) says little
ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    """A mean with its percentile-bootstrap confidence interval over n questions."""

    mean: float | None
    low: float | None
    high: float | None
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Paired:
    """System a minus system b on the questions both answered."""

    a: str
    b: str
    metric: str
    n: int
    diff: float | None  # mean of a - b
    low: float | None
    high: float | None
    p_permutation: float | None  # paired (sign-flip) permutation test, two-sided
    p_wilcoxon: float | None  # Wilcoxon signed-rank, where the scores are not binary and enough differ
    test: str  # which p-value decides significance

    @property
    def p(self) -> float | None:
        return self.p_wilcoxon if self.test == "wilcoxon" else self.p_permutation

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < ALPHA

    def as_dict(self) -> dict:
        return {**asdict(self), "p": self.p, "significant": self.significant}


def bootstrap_ci(values: Sequence[float], confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (what scipy.stats.bootstrap calls method='percentile')."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("no values to bootstrap")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def estimate(values: Sequence[float], seed: int = 0) -> Estimate:
    if not values:
        return Estimate(None, None, None, 0)
    mean = math.fsum(values) / len(values)
    low, high = bootstrap_ci(values, seed=seed)
    return Estimate(mean, low, high, len(values))


def permutation_p(diffs: Sequence[float], permutations: int = PERMUTATIONS, seed: int = 0) -> float:
    """Two-sided paired permutation test of mean(diffs) == 0: each difference's sign is flipped at random.

    Exact (every sign pattern) for up to EXACT_PERMUTATION_MAX non-zero differences; otherwise
    Monte Carlo with the observed pattern counted, so p is never 0.
    """
    import numpy as np

    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        raise ValueError("no differences to test")
    observed = abs(d.sum())  # the sum orders sign patterns as the mean does
    tolerance = 1e-9 * max(1.0, observed)
    nonzero = d[d != 0]  # flipping a zero changes nothing: enumerate the others only
    if nonzero.size <= EXACT_PERMUTATION_MAX:
        patterns = ((np.arange(2 ** nonzero.size)[:, None] >> np.arange(nonzero.size)) & 1) * 2 - 1
        stats = np.abs((patterns * nonzero).sum(axis=1))
        return float(np.mean(stats >= observed - tolerance))
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(permutations, nonzero.size))
    stats = np.abs((signs * nonzero).sum(axis=1))
    return float((np.sum(stats >= observed - tolerance) + 1) / (permutations + 1))


def wilcoxon_p(diffs: Sequence[float]) -> float | None:
    """Wilcoxon signed-rank p (two-sided, zero differences dropped), or None where it does not apply."""
    nonzero = [x for x in diffs if x != 0]
    if len(nonzero) < WILCOXON_MIN_NONZERO:
        return None
    from scipy.stats import wilcoxon

    return float(wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided").pvalue)


def is_binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def paired(a_name: str, a: dict[str, float], b_name: str, b: dict[str, float], metric: str,
           seed: int = 0) -> Paired:
    """Compare two systems' per-question scores (question id -> score) on their common questions.

    Binary scores (exact match, hit@k) use the permutation test; graded scores use
    Wilcoxon when enough questions differ, else the permutation test.
    """
    common = sorted(set(a) & set(b))
    if not common:
        return Paired(a_name, b_name, metric, 0, None, None, None, None, None, "none")
    diffs = [a[q] - b[q] for q in common]
    mean = math.fsum(diffs) / len(diffs)
    low, high = bootstrap_ci(diffs, seed=seed)
    p_perm = permutation_p(diffs, seed=seed)
    binary = is_binary([a[q] for q in common]) and is_binary([b[q] for q in common])
    p_wil = None if binary else wilcoxon_p(diffs)
    return Paired(a_name, b_name, metric, len(common), mean, low, high, p_perm, p_wil,
                  "wilcoxon" if p_wil is not None else "permutation")


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni (step-down) adjusted p-values, in the input order.

    The family is the p-values that are not None (None stays None). The i-th smallest of m
    is multiplied by m - i + 1 (i from 1), then made non-decreasing in that order and capped
    at 1: as statsmodels' multipletests(method="holm") and R's p.adjust(method="holm").
    Rejecting where the adjusted p < alpha keeps the chance of any false rejection in the
    family at most alpha.
    """
    family = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(family):
        running = max(running, min(1.0, (len(family) - rank) * p))
        out[i] = running
    return out


def agreement(judge: Sequence[float], reference: Sequence[float]) -> dict:
    """How well judge scores track an objective metric on the same answers (Spearman, Kendall)."""
    n = len(judge)
    if n != len(reference):
        raise ValueError("judge and reference scores differ in length")
    if n < 3 or len(set(judge)) < 2 or len(set(reference)) < 2:
        return {"n": n, "spearman": None, "kendall": None}  # undefined for constant scores
    from scipy.stats import kendalltau, spearmanr

    return {"n": n, "spearman": float(spearmanr(judge, reference).statistic),
            "kendall": float(kendalltau(judge, reference).statistic)}
