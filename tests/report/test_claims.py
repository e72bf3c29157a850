"""Claims are decided by a stated test over seeds, never by two means: the tests agree with
scipy, a difference inside the seed noise fails, and the schema catches claims that no test
could decide."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from methodlib.errors import SpecError
from methodlib.report import claim_tests
from methodlib.report.claims import arm_values, evaluate_claim
from methodlib.report.claims_page import claims_table
from methodlib.spec import ClaimSpec, validate_pipeline
from tests.conftest import TINY_DATASET, tiny_pipeline
from tests.report.run_tables import run_table

A = [0.101, 0.104, 0.099, 0.103, 0.100]
B = [0.110, 0.112, 0.108, 0.111, 0.113]


def test_welch_matches_scipy():
    ours = claim_tests.welch(A, B, lower=True)
    ref = stats.ttest_ind(A, B, equal_var=False, alternative="less")
    assert ours.p_value == pytest.approx(ref.pvalue)
    one_sided = ref.confidence_interval(confidence_level=0.95)
    two_sided = stats.ttest_ind(A, B, equal_var=False).confidence_interval(0.90)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((two_sided.low, two_sided.high))
    assert one_sided.high == pytest.approx(ours.ci_high)  # the one-sided 95 % bound
    assert ours.passed and ours.effect == pytest.approx(np.mean(A) - np.mean(B))


def test_paired_matches_scipy():
    b = [a + d for a, d in zip(A, [0.002, 0.001, 0.003, 0.0015, 0.002], strict=True)]
    ours = claim_tests.paired(A, b, lower=True)
    ref = stats.ttest_rel(A, b, alternative="less")
    assert ours.p_value == pytest.approx(ref.pvalue) and ours.passed
    assert ours.test == "paired" and ours.n_a == ours.n_b == 5


def test_the_interval_excludes_zero_exactly_when_the_test_passes():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = rng.normal(0, 1, 4), rng.normal(0.8, 1, 5)
        c = claim_tests.welch(a, b, lower=True)
        assert c.passed == (c.ci_high < 0)


def test_bootstrap_decides_a_clear_difference_and_not_noise():
    assert claim_tests.bootstrap(A, B, lower=True).passed
    assert not claim_tests.bootstrap(A, A[::-1], lower=True).passed


def test_tost_shows_equivalence_only_within_the_margin():
    a = [1.00, 1.02, 0.98, 1.01, 0.99, 1.00]
    b = [1.01, 0.99, 1.00, 1.02, 0.98, 1.00]
    assert claim_tests.tost(a, b, margin=0.05).passed
    assert not claim_tests.tost(a, b, margin=0.001).passed
    noisy = [0.6, 1.4, 0.9, 1.2]  # same mean, but too noisy to show equivalence
    assert not claim_tests.tost(noisy, b, margin=0.05).passed


def test_fewer_than_two_values_are_undecided_not_passed():
    c = claim_tests.welch([0.1], B, lower=True)
    assert not c.passed and np.isnan(c.p_value)


def tidy(
    values: dict[str, list[float] | dict[str, float]], metric: str = "test_calibrated_nll"
) -> pd.DataFrame:
    return run_table(values, metric)


def pipeline():
    return tiny_pipeline(
        others={"other": {"dataset": "digits", "model": "lenet5", "method": {"name": "dense"}}}
    )


def claim(**fields) -> ClaimSpec:
    base = {
        "study": "main",
        "statement": "exp beats other",
        "paper": "Table 1",
        "metrics": ["test_calibrated_nll"],
    }
    return ClaimSpec(**{**base, **fields})


def test_a_difference_inside_the_seed_noise_is_underpowered():
    """Means that differ (0.1038 vs 0.1047, the old stoch_bn claim) with sd 0.006: no claim,
    and three seeds could not have shown an effect that small (it needs hundreds per arm)."""
    noisy = {"exp": [0.098, 0.104, 0.110], "other": [0.099, 0.105, 0.110]}
    record = evaluate_claim(pipeline(), claim(order=["exp", "other"]), tidy(noisy))
    assert np.mean(noisy["exp"]) < np.mean(noisy["other"])
    assert record["verdict"] == "underpowered" and record["needed_n"] > 500
    c = record["comparisons"][0]
    assert not c["passed"] and c["power"]["target_kind"] == "pilot effect"
    assert c["power"]["power_at_n"] < 0.8 and c["power"]["needed_n"] == record["needed_n"]


def test_a_clear_difference_holds_and_the_opposite_is_contradicted():
    values = {"exp": A, "other": B}
    assert evaluate_claim(pipeline(), claim(order=["exp", "other"]), tidy(values))["verdict"] == (
        "holds"
    )
    assert evaluate_claim(pipeline(), claim(order=["other", "exp"]), tidy(values))["verdict"] == (
        "contradicted"
    )


def test_the_direction_comes_from_the_metric_registry():
    """Accuracy: higher is better, so `order: [a, b]` claims a > b."""
    values = {"exp": [0.97, 0.971, 0.972], "other": [0.95, 0.951, 0.949]}
    c = claim(order=["exp", "other"], metrics=["test_accuracy"])
    assert evaluate_claim(pipeline(), c, tidy(values, "test_accuracy"))["verdict"] == "holds"


def test_an_arm_without_results_is_missing_and_one_seed_is_undecided():
    c = claim(order=["exp", "other"])
    assert evaluate_claim(pipeline(), c, tidy({"exp": A}))["verdict"] == "missing"
    assert evaluate_claim(pipeline(), c, tidy({"exp": A, "other": [0.2]}))["verdict"] == (
        "undecided"
    )


def test_disjoint_ensembles_are_an_arm_of_their_own():
    rows = tidy({"exp": A})
    extra = rows.iloc[:2].assign(seed=["0+1", "2+3"], samples=2, value=[0.09, 0.091])
    whole = rows.iloc[:1].assign(seed="all", samples=5, value=0.08)
    table = pd.concat([rows, extra, whole], ignore_index=True)
    assert arm_values(table, "exp@2", "test_calibrated_nll").to_dict() == {
        "0+1": 0.09,
        "2+3": 0.091,
    }
    assert len(arm_values(table, "exp", "test_calibrated_nll")) == len(A)


def test_the_page_shows_the_test_and_the_verdict():
    record = evaluate_claim(pipeline(), claim(order=["exp", "other"]), tidy({"exp": A, "other": B}))
    page = claims_table([{"name": "c", **record}], {"exp": "Exp", "other": "Other"})
    assert "Welch t (one-sided) p < 0.0001" in page
    assert "✅ exploratory · holds" in page  # no confirmatory seeds: decided on the pilot
    assert "Calibrated NLL" in page and "Exp 0.1014 ± 0.0021 (5)" in page


def raw(claims: dict, **exp_fields) -> dict:
    return {
        "seeds": [0, 1],
        "datasets": {"digits": TINY_DATASET},
        "experiments": {
            "exp": {"dataset": "digits", "model": "lenet300_100", "method": {"name": "dense"}},
            "other": {
                "dataset": "digits",
                "model": "lenet5",
                "method": {"name": "dense"},
                **exp_fields,
            },
        },
        "claims": claims,
    }


def problems(claims: dict, **exp_fields) -> str:
    with pytest.raises(SpecError) as err:
        validate_pipeline(raw(claims, **exp_fields))
    return str(err.value)


BASE = {"statement": "s", "paper": "Table 1", "metrics": ["test_error"]}


def test_schema_names_the_bad_claim_field():
    assert "claims.c.order: 'nope' is not an experiment" in problems(
        {"c": {**BASE, "order": ["exp", "nope"]}}
    )
    assert "exactly one of `order`" in problems(
        {"c": {**BASE, "order": ["exp", "other"], "equivalent": ["exp", "other"]}}
    )
    assert "needs a `margin`" in problems({"c": {**BASE, "equivalent": ["exp", "other"]}})
    assert "is not a metric of these experiments" in problems(
        {"c": {**BASE, "metrics": ["fid_judge"], "order": ["exp", "other"]}}
    )
    assert "`ensemble` block of at least 4 members" in problems(
        {"c": {**BASE, "order": ["exp@2", "other"]}}
    )
    assert "a paired test needs at least two seeds" in problems(
        {"c": {**BASE, "order": ["exp", "other"], "test": "paired"}}, seeds=[5]
    )
    assert "claims.c.study" in problems({"c": {**BASE, "study": "x", "order": ["exp", "other"]}})


def test_a_valid_claim_passes_the_schema():
    p = validate_pipeline(raw({"c": {**BASE, "order": ["exp", "other"], "test": "paired"}}))
    assert p.claims["c"].arms() == ["exp", "other"]


def test_a_threshold_arm_is_a_one_sample_test():
    """`order: [exp, 20]` on compression (higher is better): the runs' mean is above 20."""
    values = {"exp": [24.0, 25.5, 23.8, 26.1]}
    record = evaluate_claim(
        pipeline(), claim(order=["exp", 20], metrics=["compression"]), tidy(values, "compression")
    )
    c = record["comparisons"][0]
    assert record["verdict"] == "holds" and c["test"] == "one_sample"
    assert c["effect"] == pytest.approx(np.mean(values["exp"]) - 20)
    assert c["p_value"] == pytest.approx(
        stats.ttest_1samp(values["exp"], 20, alternative="greater").pvalue, rel=1e-5
    )
    low = evaluate_claim(
        pipeline(), claim(order=["exp", 30], metrics=["compression"]), tidy(values, "compression")
    )
    assert low["verdict"] == "contradicted"


def test_a_tolerance_makes_an_order_claim_non_inferiority():
    """Pruned error 7.7 % against dense 7.6 %: worse, but by less than 1.5 points."""
    values = {"exp": [0.077, 0.076, 0.078], "other": [0.076, 0.074, 0.077]}
    plain = claim(order=["exp", "other"], metrics=["test_error"], test="paired")
    assert evaluate_claim(pipeline(), plain, tidy(values, "test_error"))["verdict"] != "holds"
    tolerant = claim(order=["exp", "other"], metrics=["test_error"], test="paired", tolerance=0.015)
    record = evaluate_claim(pipeline(), tolerant, tidy(values, "test_error"))
    assert record["verdict"] == "holds"
    c = record["comparisons"][0]
    assert (
        c["effect"] == pytest.approx(0.004 / 3, rel=1e-5)
        and c["ci_low"] < c["effect"] < c["ci_high"] < 0.015
    )
    page = claims_table([{"name": "c", **record}], {})
    assert "non-inferiority within 1.50%" in page
