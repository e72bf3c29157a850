"""The claims' t-tests and TOST equal statsmodels' to the printed precision (6 significant
digits, `Comparison.as_dict`) on random inputs and on the edges a claim meets: two seeds,
unequal arms, one arm without spread, values far from zero, a tolerance or threshold as the
null."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import (
    CompareMeans,
    DescrStatsW,
    ttest_ind,
    ttost_ind,
    ttost_paired,
)

from methodlib.report import claim_tests
from methodlib.report.claim_tests import _round as printed


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(29)
    cases = [(rng.normal(0, 1, n), rng.normal(0.5, 2, m)) for n, m in [(3, 3), (5, 8), (8, 8)]]
    cases += [
        (rng.normal(0.1, 0.01, 2), rng.normal(0.11, 0.01, 2)),  # two seeds each
        (rng.normal(1, 0.1, 2), rng.normal(1.2, 1.0, 9)),  # very unequal arms
        (np.full(4, 0.25), rng.normal(0.3, 0.02, 5)),  # one arm without spread
        (1e6 + rng.normal(0, 0.01, 6), 1e6 + rng.normal(0.005, 0.01, 6)),  # far from zero
    ]
    return cases


CASES = _cases()
ALTERNATIVES = [(True, "smaller"), (False, "larger")]


@pytest.mark.parametrize("a, b", CASES)
@pytest.mark.parametrize("lower, alternative", ALTERNATIVES)
@pytest.mark.parametrize("null", [0.0, 0.03])
def test_welch_equals_statsmodels(a, b, lower, alternative, null):
    ours = claim_tests.welch(a, b, lower, alpha=0.05, null=null).as_dict()
    _, p, _ = ttest_ind(a, b, alternative=alternative, usevar="unequal", value=null)
    low, high = CompareMeans.from_data(a, b).tconfint_diff(alpha=0.10, usevar="unequal")
    assert ours["p_value"] == printed(p)
    assert (ours["ci_low"], ours["ci_high"]) == (printed(low), printed(high))
    assert ours["effect"] == printed(a.mean() - b.mean()) and ours["ci_level"] == 0.9


@pytest.mark.parametrize("a, b", [(a, b[: len(a)]) for a, b in CASES if len(b) >= len(a)])
@pytest.mark.parametrize("lower, alternative", ALTERNATIVES)
def test_paired_equals_statsmodels_and_scipy(a, b, lower, alternative):
    ours = claim_tests.paired(a, b, lower, alpha=0.025).as_dict()
    differences = DescrStatsW(a - b)
    _, p, _ = differences.ttest_mean(0.0, alternative=alternative)
    low, high = differences.tconfint_mean(alpha=0.05)
    assert ours["p_value"] == printed(p)
    scipy_p = stats.ttest_rel(a, b, alternative="less" if lower else "greater").pvalue
    assert ours["p_value"] == printed(scipy_p)
    assert (ours["ci_low"], ours["ci_high"]) == (printed(low), printed(high))


@pytest.mark.parametrize("values", [a for a, _ in CASES if a.std() > 0] + [b for _, b in CASES])
@pytest.mark.parametrize("lower, alternative", ALTERNATIVES)
def test_one_sample_equals_statsmodels_and_scipy(values, lower, alternative):
    constant = float(values.mean() + 0.3 * values.std(ddof=1))
    ours = claim_tests.one_sample(values, constant, lower).as_dict()
    _, p, _ = DescrStatsW(values).ttest_mean(constant, alternative=alternative)
    scipy_p = stats.ttest_1samp(values, constant, alternative="less" if lower else "greater")
    assert ours["p_value"] == printed(p) == printed(scipy_p.pvalue)


@pytest.mark.parametrize("a, b", CASES)
@pytest.mark.parametrize("margin", [0.05, 0.5, 2.0])
def test_tost_equals_statsmodels_ttost_ind(a, b, margin):
    ours = claim_tests.tost(a, b, margin).as_dict()
    p, _, _ = ttost_ind(a, b, -margin, margin, usevar="unequal")
    assert ours["p_value"] == printed(p)
    assert ours["passed"] == (p < 0.05)


@pytest.mark.parametrize("a, b", [(a, b[: len(a)]) for a, b in CASES if len(b) >= len(a)])
@pytest.mark.parametrize("margin", [0.05, 0.5, 2.0])
def test_paired_tost_equals_statsmodels_ttost_paired(a, b, margin):
    ours = claim_tests.tost(a, b, margin, pair=True).as_dict()
    p, _, _ = ttost_paired(a, b, -margin, margin)
    assert ours["p_value"] == printed(p)
    assert ours["passed"] == (p < 0.05)
