"""Power: what a claim's seeds can detect and how many it needs. The numbers equal the
noncentral-t power computed here from scipy, Welch's planned n reaches 80 % in simulation, the
TOST bound never overstates, and *not shown* splits into underpowered and not shown at
adequate power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from methodlib.report import power
from methodlib.report.claims import _below_samples, basis, evaluate_claim
from tests.report.test_claims import claim, pipeline, tidy


def noncentral_t_power(d: float, n_a: int, n_b: int | None, alpha: float) -> float:
    """One-sided power from the noncentral t: two samples (n_b) or one."""
    if n_b is None:
        df, nc = n_a - 1, d * np.sqrt(n_a)
    else:
        df, nc = n_a + n_b - 2, d * np.sqrt(n_a * n_b / (n_a + n_b))
    return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, nc))


@pytest.mark.parametrize("n_a, n_b", [(3, 3), (5, 8), (20, 20)])
@pytest.mark.parametrize("distance", [0.5, 1.3])
def test_two_sample_power_is_the_noncentral_t_at_the_pooled_sd(n_a, n_b, distance):
    rng = np.random.default_rng(n_a + n_b)
    a, b = rng.normal(0, 1, n_a), rng.normal(0, 2, n_b)
    design = power.design_of("welch", a, b)
    pooled = np.sqrt(((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / (n_a + n_b - 2))
    assert design.sd == pytest.approx(pooled) and design.n == min(n_a, n_b)
    expected = noncentral_t_power(distance / pooled, n_a, n_b, 0.05)
    assert power.power(design, distance, 0.05) == pytest.approx(expected, rel=1e-6)


def test_paired_and_one_sample_power_use_the_differences_and_the_values():
    a, b = np.array([0.1, 0.13, 0.12, 0.16]), np.array([0.12, 0.14, 0.15, 0.17])
    paired = power.design_of("paired", a, b)
    assert paired.sd == pytest.approx(np.std(a - b, ddof=1)) and not paired.two_sample
    expected = noncentral_t_power(0.02 / paired.sd, 4, None, 0.025)
    assert power.power(paired, 0.02, 0.025) == pytest.approx(expected, rel=1e-6)
    threshold = power.design_of("one_sample", a, 0.2)
    assert threshold.sd == pytest.approx(np.std(a, ddof=1)) and threshold.n == 4


@pytest.mark.parametrize("test", ["welch", "paired"])
def test_needed_n_is_the_smallest_n_with_80_percent_power(test):
    rng = np.random.default_rng(1)
    design = power.design_of(test, rng.normal(0, 1, 5), rng.normal(0, 1, 5))
    n = power.needed_n(design, 0.8, 0.05)
    assert power.power(design, 0.8, 0.05, n) >= 0.8 > power.power(design, 0.8, 0.05, n - 1)
    assert power.needed_n(design, 0.001, 0.05) is None  # beyond MAX_N seeds per arm
    assert power.needed_n(design, None, 0.05) is None


def test_the_mde_is_where_power_reaches_80_percent():
    rng = np.random.default_rng(2)
    design = power.design_of("welch", rng.normal(0, 1, 4), rng.normal(0, 1, 6))
    mde = power.mde(design, 0.05)
    assert power.power(design, mde, 0.05) == pytest.approx(0.8, abs=1e-6)
    plan = power.plan(design, 0.05, observed=1.1 * mde)
    assert plan["power_at_n"] > 0.8 and plan["target_kind"] == "pilot effect"
    assert power.plan(design, 0.05, observed=0.9 * mde)["power_at_n"] < 0.8


def test_welchs_planned_n_reaches_80_percent_in_simulation():
    """The pooled-sd plan for Welch's test, with equal n and spread: 4000 simulated designs."""
    rng = np.random.default_rng(3)
    design = power.design_of("welch", rng.normal(0, 1, 50), rng.normal(0, 1, 50))
    n = power.needed_n(design, 0.7 * design.sd, 0.05)
    a = rng.normal(0, design.sd, (4000, n))
    b = rng.normal(0.7 * design.sd, design.sd, (4000, n))
    rejected = stats.ttest_ind(a, b, axis=1, equal_var=False, alternative="less").pvalue < 0.05
    assert rejected.mean() == pytest.approx(0.8, abs=0.03)


def test_the_tost_bound_never_overstates_its_power():
    rng = np.random.default_rng(4)
    design = power.design_of("welch", rng.normal(0, 1, 6), rng.normal(0, 1, 6), equivalence=True)
    margin = 1.2 * design.sd
    n = power.needed_n(design, margin, 0.05)
    one_side = power.Design(True, design.sd, n, n)
    assert power.power(design, margin, 0.05, n) == pytest.approx(
        2 * power.power(one_side, margin, 0.05) - 1
    )
    a, b = rng.normal(0, design.sd, (4000, n)), rng.normal(0, design.sd, (4000, n))
    low = stats.ttest_ind(a + margin, b, axis=1, equal_var=False, alternative="greater").pvalue
    high = stats.ttest_ind(a - margin, b, axis=1, equal_var=False, alternative="less").pvalue
    assert (np.maximum(low, high) < 0.05).mean() >= 0.8 - 0.02


def test_the_target_comes_from_the_claim_before_the_pilot():
    assert power.target(0.3, effect_of_interest=0.1) == (0.1, "effect_of_interest", 0.0)
    assert power.target(0.3, effect_of_interest=0.1, tolerance=0.02)[:2] == (
        pytest.approx(0.12),
        "effect_of_interest",
    )
    assert power.target(0.3, tolerance=0.02) == (0.02, "tolerance", 0.0)
    assert power.target(float("nan"), margin=0.05) == (0.05, "margin", 0.0)
    assert power.target(float("nan"), 0.01, margin=0.05)[:2] == (0.04, "effect_of_interest")
    assert power.target(0.3) == (0.3, "pilot effect", 0.0)
    assert power.target(-0.3) == (None, None, 0.0)  # the pilot went against the claim


def test_the_claim_needs_the_largest_n_of_its_comparisons():
    """Two metrics must both pass: the noisier one sets the claim's n."""
    nll = {"exp": [0.100, 0.101, 0.099, 0.1005], "other": [0.110, 0.111, 0.109, 0.1105]}
    ece = {"exp": [0.05, 0.07, 0.03, 0.06], "other": [0.06, 0.08, 0.05, 0.07]}
    table = pd.concat([tidy(nll), tidy(ece, "test_ece")], ignore_index=True)
    c = claim(order=["exp", "other"], metrics=["test_calibrated_nll", "test_ece"])
    record = evaluate_claim(pipeline(), c, table)
    needs = [x["power"]["needed_n"] for x in record["comparisons"]]
    assert record["needed_n"] == max(needs) and needs[0] < needs[1]


def test_not_shown_splits_into_underpowered_and_adequately_powered():
    """Binary ST within 2 points of real-valued: effect 1.43 points, sd 0.4: the test could not
    pass, but 3 seeds had ample power at the tolerance: not shown at adequate power."""
    close = {"exp": [0.1103, 0.1208, 0.1138], "other": [0.100, 0.102, 0.100]}
    c = claim(order=["exp", "other"], metrics=["test_error"], test="paired", tolerance=0.02)
    record = evaluate_claim(pipeline(), c, tidy(close, "test_error"))
    (comparison,) = record["comparisons"]
    assert not comparison["passed"] and comparison["power"]["target_kind"] == "tolerance"
    assert comparison["power"]["power_at_n"] >= 0.8 and record["verdict"] == "not shown"
    noisy = {"exp": [0.08, 0.16, 0.11], "other": [0.100, 0.102, 0.100]}
    record = evaluate_claim(pipeline(), c, tidy(noisy, "test_error"))
    assert record["verdict"] == "underpowered" and record["needed_n"] > 3


def test_deep_ensemble_equivalent_points_have_power():
    """Planned on the NLL scale that the bootstrap of the DEE approximates: DEE(mean) < k is
    the mean calibrated NLL above the ensemble's at k."""
    reference = pd.DataFrame({"samples": range(1, 9), "value": np.linspace(0.3, 0.09, 8)})
    metric = "curve_test_calibrated_nll"
    rows = [
        {"experiment": "exp", "seed": str(s), "samples": k, "metric": metric, "value": v}
        for s in range(4)
        for k, v in ((2, 0.29 - 0.002 * s), (3, 0.2 - 0.01 * s))
    ]
    table = pd.DataFrame(rows).assign(method="dense", dataset="digits", model="m")
    c = claim(below_samples=["exp"], metrics=["dee"])
    _, keep = basis(c, table)
    _, comparisons, _ = _below_samples(c, table, reference, keep, 0.05)
    two, three = comparisons
    assert two["passed"] and two["threshold"] == 2.0 and two["direction"] == "lower"
    assert two["power"]["target_kind"] == "pilot effect" and two["power"]["power_at_n"] > 0.8
    assert not three["passed"] and three["power"]["target"] is None  # DEE(3) above 3
