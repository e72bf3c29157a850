"""Zero spread decides with certainty (`exact`), and an exact tie is *not shown*: never passed,
never contradicted (LeNet-5's pooling mask equals its uniform mask, bit for bit, and was once
reported as contradicted)."""

from __future__ import annotations

import pytest

from methodlib.report import claim_tests
from methodlib.report.claims import evaluate_claim, verdict
from tests.report.test_claims import claim, pipeline, tidy

SAME = [0.25, 0.25, 0.25]


@pytest.mark.parametrize("test", ["welch", "paired", "bootstrap"])
def test_an_exact_tie_is_neither_passed_nor_contradicted(test):
    c = claim_tests.TESTS[test](SAME, SAME, lower=True)
    assert c.exact and not c.passed and c.p_value == 0.5
    assert (c.ci_low, c.ci_high) == (0.0, 0.0)


@pytest.mark.parametrize("test", ["welch", "paired", "bootstrap"])
def test_zero_spread_in_the_claimed_direction_passes_exactly(test):
    c = claim_tests.TESTS[test](SAME, [0.5, 0.5, 0.5], lower=True)
    assert c.exact and c.passed and c.p_value == 0.0 and c.effect == -0.25
    against = claim_tests.TESTS[test]([0.5, 0.5, 0.5], SAME, lower=True)
    assert against.exact and not against.passed and against.p_value == 1.0


def test_an_effect_exactly_at_the_tolerance_or_threshold_is_a_tie():
    """0.3 - 0.1 is 0.19999999999999998 in floats: still the tolerance, not below it."""
    at_tolerance = claim_tests.welch([0.3] * 3, [0.1] * 3, lower=True, null=0.2)
    assert at_tolerance.exact and not at_tolerance.passed and at_tolerance.p_value == 0.5
    at_threshold = claim_tests.one_sample([20.0] * 4, 20.0, lower=False)
    assert at_threshold.exact and at_threshold.p_value == 0.5
    at_margin = claim_tests.tost([1.1] * 3, [1.0] * 3, margin=0.1)
    assert at_margin.exact and not at_margin.passed


def test_a_spread_is_not_mistaken_for_none():
    """A real spread, however small beside the values, is tested, not decided exactly."""
    c = claim_tests.welch([1e6, 1e6 + 1e-3, 1e6 - 1e-3], [1e6 + 1] * 3, lower=True)
    assert not c.exact and c.passed and 0 < c.p_value < 0.05


def test_an_exact_tie_is_not_shown_through_the_verdict():
    record = evaluate_claim(
        pipeline(), claim(order=["exp", "other"]), tidy({"exp": SAME, "other": SAME})
    )
    (c,) = record["comparisons"]
    assert c["exact"] and c["p_value"] == 0.5 and record["verdict"] == "not shown"


def test_a_tie_beside_an_underpowered_comparison_is_still_not_shown():
    """No number of seeds turns an exact tie into a pass: the claim is not shown, not
    underpowered (LeNet-5's impact < pooling = uniform)."""
    values = {"exp": [0.2, 0.28, 0.24], "other": SAME, "third": SAME}
    c = claim(order=["exp", "other", "third"], test="paired")
    record = evaluate_claim(pipeline(), c, tidy(values))
    first, tie = record["comparisons"]
    assert not first["passed"] and first["power"]["power_at_n"] < 0.8
    assert tie["exact"] and record["verdict"] == "not shown" and record["needed_n"] is None


def test_zero_spread_holds_exactly_and_the_opposite_is_contradicted():
    values = {"exp": SAME, "other": [0.5, 0.5, 0.5]}
    holds = evaluate_claim(pipeline(), claim(order=["exp", "other"]), tidy(values))
    assert holds["verdict"] == "holds" and holds["comparisons"][0]["exact"]
    assert holds["comparisons"][0]["power"]["power_at_n"] == 1.0
    flipped = evaluate_claim(pipeline(), claim(order=["other", "exp"]), tidy(values))
    assert flipped["verdict"] == "contradicted" and flipped["comparisons"][0]["exact"]


def test_verdict_reads_exact_ties_from_the_records():
    tie = {"p_value": 0.5, "passed": False, "exact": True, "power": {"power_at_n": None}}
    arms = {"exp": {"m": {"n": 3}}, "other": {"m": {"n": 3}}}
    assert verdict(claim(order=["exp", "other"]), arms, [tie]) == "not shown"
    loose = {"p_value": 0.3, "passed": False, "exact": False, "power": {"power_at_n": 0.2}}
    assert verdict(claim(order=["exp", "other"]), arms, [loose]) == "underpowered"
    strong = {**loose, "power": {"power_at_n": 0.95}}
    assert verdict(claim(order=["exp", "other"]), arms, [strong]) == "not shown"
    against = {**strong, "p_value": 0.97}
    assert verdict(claim(order=["exp", "other"]), arms, [against]) == "contradicted"
    # at alpha_used = 0.01 (five looks), p = 0.97 is no longer significant the other way
    assert verdict(claim(order=["exp", "other"]), arms, [against], alpha_used=0.01) == "not shown"
