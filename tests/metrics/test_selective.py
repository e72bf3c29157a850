"""Risk–coverage curve, AURC and E-AURC against their definitions computed by brute force: sort,
count the errors of the k most confident, average; ties averaged over every order.

Checked once against torch-uncertainty 0.13.0's `AURC` (not importable here: it needs
lightning), which integrates the same risks by trapezoids over [1/n, 1] and rescales by
1/(1 - 1/n): that quadrature of `selective_risks` matched it to 4e-10 for n = 50, 1,000 and
10,000 random 10-class outputs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from methodlib.metrics.selective import (
    aurc,
    oracle_aurc,
    risk_coverage_curve,
    selective_metrics,
    selective_risks,
)


def brute_force_aurc(confidence: np.ndarray, wrong: np.ndarray) -> float:
    """Geifman et al.'s definition for examples already in decreasing confidence: the mean over
    k of the error rate of the first k."""
    return float(np.mean([wrong[:k].sum() / k for k in range(1, len(wrong) + 1)]))


def outputs(confidence: np.ndarray, wrong: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-class probabilities with top probability `confidence` (> 0.5), predicting class 0,
    and labels that make the prediction wrong where `wrong`."""
    p = np.stack([confidence, 1 - confidence], axis=1)
    return p, wrong.astype(int)


def random_outputs(rng, n: int, classes: int = 5) -> tuple[np.ndarray, np.ndarray]:
    logits = rng.normal(size=(n, classes)) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return p, rng.integers(0, classes, n)


@pytest.mark.parametrize("seed", range(5))
def test_aurc_is_the_mean_risk_of_the_most_confident(seed):
    rng = np.random.default_rng(seed)
    p, labels = random_outputs(rng, 300)
    order = np.argsort(-p.max(axis=1))
    wrong = p.argmax(axis=1)[order] != labels[order]
    assert aurc(p, labels) == pytest.approx(brute_force_aurc(p.max(axis=1)[order], wrong))


def test_a_hand_computed_case():
    # confidences 0.8 (right), 0.7 (right), 0.6 (wrong): risks 0, 0, 1/3
    p = np.array([[0.7, 0.3], [0.4, 0.6], [0.8, 0.2]])
    labels = np.array([0, 0, 0])
    assert selective_risks(p, labels) == pytest.approx([0, 0, 1 / 3])
    assert aurc(p, labels) == pytest.approx(1 / 9)


def test_ties_count_the_mean_over_every_order():
    confidence = np.array([0.9, 0.7, 0.7, 0.7, 0.6, 0.6])
    wrong = np.array([0, 1, 0, 0, 1, 0], dtype=bool)
    p, labels = outputs(confidence, wrong)
    areas = []
    for first in itertools.permutations([1, 2, 3]):
        for second in itertools.permutations([4, 5]):
            order = [0, *first, *second]
            areas.append(brute_force_aurc(confidence[order], wrong[order]))
    assert aurc(p, labels) == pytest.approx(np.mean(areas))
    assert len(set(np.round(areas, 12))) > 1  # the order of a tie would matter otherwise


def test_the_order_of_the_test_examples_does_not_matter():
    rng = np.random.default_rng(0)
    confidence = rng.choice([0.6, 0.8, 1.0], size=200)  # saturated 1.0s, as networks give
    p, labels = outputs(confidence, rng.random(200) < 0.2)
    shuffled = rng.permutation(200)
    assert aurc(p[shuffled], labels[shuffled]) == pytest.approx(aurc(p, labels), abs=1e-15)


def test_a_ranking_that_puts_errors_last_is_the_oracle():
    rng = np.random.default_rng(1)
    wrong = rng.random(500) < 0.1
    confidence = np.where(wrong, 0.55, 0.95) + rng.uniform(0, 0.04, 500)
    p, labels = outputs(confidence, wrong)
    metrics = selective_metrics(p[None], labels)
    assert metrics["test_aurc"] == pytest.approx(oracle_aurc(int(wrong.sum()), 500))
    assert metrics["test_eaurc"] == pytest.approx(0.0, abs=1e-15)


def test_errors_first_is_the_worst_ranking():
    # 2 errors of 4 ranked first: risks 1, 1, 2/3, 2/4
    p, labels = outputs(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 0], dtype=bool))
    assert aurc(p, labels) == pytest.approx((1 + 1 + 2 / 3 + 1 / 2) / 4)


def test_a_random_ranking_has_the_error_rate():
    rng = np.random.default_rng(2)
    wrong = rng.random(20000) < 0.3
    p, labels = outputs(rng.uniform(0.51, 1.0, 20000), wrong)
    assert aurc(p, labels) == pytest.approx(wrong.mean(), abs=0.01)


@pytest.mark.parametrize("error_rate", [0.02, 0.1, 0.4])
def test_the_oracle_tends_to_geifmans_closed_form(error_rate):
    n = 100_000
    closed_form = error_rate + (1 - error_rate) * math.log(1 - error_rate)
    assert oracle_aurc(round(error_rate * n), n) == pytest.approx(closed_form, rel=1e-3)


def test_the_oracle_rejects_impossible_counts():
    with pytest.raises(ValueError, match="errors <= n"):
        oracle_aurc(5, 4)


def test_the_saved_curve_samples_the_risks():
    rng = np.random.default_rng(3)
    p, labels = random_outputs(rng, 250)
    risks = selective_risks(p, labels)
    curve = risk_coverage_curve(p, labels)
    assert len(curve) == 100
    assert curve[-1] == {"coverage": 1.0, "risk": pytest.approx((p.argmax(1) != labels).mean())}
    for point in curve:
        k = round(point["coverage"] * 250)
        assert point["risk"] == risks[k - 1]
    small = risk_coverage_curve(p[:30], labels[:30])
    assert [c["coverage"] for c in small] == pytest.approx(np.arange(1, 31) / 30)
