"""Bootstrap CIs and paired tests against scipy on fixed data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sp

from ragdsl.evaluate import stats

RNG = np.random.default_rng(1234)
SCORES = RNG.uniform(0, 1, 60).round(3).tolist()
A = RNG.uniform(0, 1, 40).round(3)
B = (A - 0.15 + RNG.normal(0, 0.1, 40)).clip(0, 1).round(3)


def test_bootstrap_ci_matches_scipy_percentile_bootstrap():
    low, high = stats.bootstrap_ci(SCORES, resamples=20000, seed=0)
    ref = sp.bootstrap((np.array(SCORES),), np.mean, n_resamples=20000, confidence_level=0.95,
                       method="percentile", random_state=np.random.default_rng(0)).confidence_interval
    # Different random draws of the same procedure: agree to Monte Carlo error.
    assert low == pytest.approx(ref.low, abs=0.006) and high == pytest.approx(ref.high, abs=0.006)
    assert low < float(np.mean(SCORES)) < high


def test_bootstrap_is_deterministic_and_degenerate_data_has_a_point_interval():
    assert stats.bootstrap_ci(SCORES, seed=3) == stats.bootstrap_ci(SCORES, seed=3)
    assert stats.bootstrap_ci([0.5] * 10) == (0.5, 0.5)
    e = stats.estimate([])
    assert (e.mean, e.low, e.high, e.n) == (None, None, None, 0)
    with pytest.raises(ValueError):
        stats.bootstrap_ci([])


def test_exact_permutation_p_matches_scipy_exact_paired_test():
    d = (A[:12] - B[:12]).tolist()
    ours = stats.permutation_p(d)
    ref = sp.permutation_test((A[:12], B[:12]), lambda x, y: np.mean(x - y), permutation_type="samples",
                              n_resamples=np.inf, alternative="two-sided").pvalue
    assert ours == pytest.approx(ref, rel=1e-9)


def test_monte_carlo_permutation_p_is_close_to_scipy():
    d = A - B
    d = d - d.mean() + 0.02  # a small effect, so p is in the middle of its range
    ours = stats.permutation_p(d.tolist(), permutations=20000)
    ref = sp.permutation_test((d, np.zeros_like(d)), lambda x, y: np.mean(x - y), permutation_type="samples",
                              n_resamples=20000, alternative="two-sided", random_state=0).pvalue
    assert 0.05 < ref < 0.95
    assert ours == pytest.approx(ref, abs=0.02)  # Monte Carlo error of two independent estimates
    assert stats.permutation_p([0.0] * 30) == 1.0


def test_wilcoxon_matches_scipy_and_applies_only_with_enough_differences():
    d = (A - B).tolist()
    assert stats.wilcoxon_p(d) == pytest.approx(sp.wilcoxon(d).pvalue)
    assert stats.wilcoxon_p([0.1, -0.2, 0, 0, 0]) is None


def test_paired_aligns_questions_and_picks_the_test():
    a = {f"q{i}": float(A[i]) for i in range(40)}
    b = {f"q{i}": float(B[i]) for i in range(5, 40)}  # b lacks five questions
    found = stats.paired("a", a, "b", b, "f1")
    common = [f"q{i}" for i in range(5, 40)]
    assert found.n == 35
    assert found.diff == pytest.approx(np.mean([a[q] - b[q] for q in common]))
    assert found.low < found.diff < found.high
    assert found.test == "wilcoxon" and found.significant
    binary = stats.paired("a", {"q1": 1.0, "q2": 0.0}, "b", {"q1": 0.0, "q2": 0.0}, "exact_match")
    assert binary.test == "permutation" and binary.p_wilcoxon is None and binary.p_permutation == 1.0
    none = stats.paired("a", {"q1": 1.0}, "b", {"q2": 1.0}, "f1")
    assert none.n == 0 and none.p is None and not none.significant


def test_agreement_matches_scipy_and_is_undefined_for_constant_scores():
    judge, ref = A.tolist(), B.tolist()
    found = stats.agreement(judge, ref)
    assert found["spearman"] == pytest.approx(sp.spearmanr(judge, ref).statistic)
    assert found["kendall"] == pytest.approx(sp.kendalltau(judge, ref).statistic)
    assert stats.agreement([1.0, 1.0, 1.0], [0.0, 1.0, 0.5])["spearman"] is None


HOLM_CASES = [
    [0.01, 0.04, 0.03, 0.005],
    [0.02, 0.02, 0.02, 0.5],  # ties
    [0.01, 0.01, 0.04, 0.04, 0.9],  # two pairs of ties
    [1.0, 0.2, 1.0, 0.001],  # p = 1 stays 1
    [0.3, 0.4, 0.45],  # all capped at 1 or made monotone
    [0.0, 0.0, 0.049],
    [0.04],  # one p: unchanged
    *[RNG.uniform(0, 1, n).round(4).tolist() for n in (2, 5, 30)],
    *[(RNG.uniform(0, 0.1, n) ** 2).tolist() for n in (7, 30)],  # mostly small: few capped at 1
]


@pytest.mark.parametrize("p_values", HOLM_CASES)
def test_holm_matches_statsmodels(p_values):
    from statsmodels.stats.multitest import multipletests

    ref = multipletests(p_values, alpha=stats.ALPHA, method="holm")
    ours = stats.holm(p_values)
    assert ours == pytest.approx(ref[1].tolist(), rel=1e-12, abs=0)
    # The same rejections (statsmodels rejects at adjusted p == alpha too; the report marks p < alpha).
    assert [p <= stats.ALPHA for p in ours] == ref[0].tolist()
    order = np.argsort(p_values, kind="stable")
    assert all(ours[i] <= ours[j] for i, j in zip(order, order[1:]))  # monotone in p
    assert all(p <= q <= 1 for p, q in zip(p_values, ours))


def test_holm_leaves_none_out_of_the_family():
    from statsmodels.stats.multitest import multipletests

    p_values = [0.01, None, 0.04, None, 0.03, 0.2]
    present = [p for p in p_values if p is not None]
    ref = iter(multipletests(present, method="holm")[1].tolist())
    expected = [None if p is None else next(ref) for p in p_values]
    ours = stats.holm(p_values)
    assert [p is None for p in ours] == [p is None for p in expected]
    assert [p for p in ours if p is not None] == pytest.approx([p for p in expected if p is not None], rel=1e-12)
    assert stats.holm([0.01, None]) == [0.01, None]  # a family of one: unchanged
    assert stats.holm([None, None]) == [None, None] and stats.holm([]) == []
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])  # by hand
