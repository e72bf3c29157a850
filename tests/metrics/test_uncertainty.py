"""Uncertainty metrics against hand-worked examples and independent computations
(scikit-learn's `log_loss` and `roc_auc_score`, a brute-force temperature search)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from methodlib.metrics.uncertainty import (
    CALIBRATION_SEED,
    auroc,
    average_ranks,
    calibrated_nll,
    calibration_metrics,
    deep_ensemble_equivalent,
    ece,
    entropy,
    fit_temperature,
    ood_auroc,
)

# confidences 0.9 (right), 0.75 (wrong), 0.65 (right), 0.7 (right)
P = np.array([[0.9, 0.1], [0.75, 0.25], [0.65, 0.35], [0.3, 0.7]])
LABELS = np.array([0, 1, 0, 1])


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def overconfident(n: int = 400, classes: int = 5, sharpness: float = 4.0, seed: int = 0):
    """Labels drawn from softmax(z), predictions softmax(sharpness * z): overconfident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, classes)) * 1.5
    labels = np.array([rng.choice(classes, p=q) for q in softmax(z)])
    return softmax(sharpness * z), labels


def test_ece() -> None:
    # 5 bins of width 0.2: (0.6, 0.8] holds 0.75, 0.65, 0.7 (2 right, confidence sum 2.1),
    # (0.8, 1] holds 0.9 (right): (|2 - 2.1| + |1 - 0.9|) / 4
    assert ece(P, LABELS, bins=5) == pytest.approx(0.05)
    # 15 bins put every example in a bin of its own: mean |correct - confidence|
    assert ece(P, LABELS) == pytest.approx((0.1 + 0.75 + 0.35 + 0.3) / 4)


def test_ece_mass() -> None:
    # sorted confidences 0.65 0.7 | 0.75 0.9 : (|2 - 1.35| + |1 - 1.65|) / 4
    assert ece(P, LABELS, bins=2, mass=True) == pytest.approx(0.325)


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    p = np.array([[0.75, 0.25]] * 4)
    assert ece(p, np.array([0, 0, 0, 1])) == pytest.approx(0.0)
    assert ece(p, np.array([0, 0, 0, 1]), bins=1, mass=True) == pytest.approx(0.0)


def test_fit_temperature_matches_a_brute_force_search() -> None:
    p, labels = overconfident()
    log_p = np.log(p)
    grid = np.exp(np.linspace(np.log(0.2), np.log(20), 1001))
    losses = [log_loss(labels, softmax(log_p / t), labels=range(5)) for t in grid]
    assert fit_temperature(log_p, labels) == pytest.approx(grid[int(np.argmin(losses))], rel=5e-3)
    assert fit_temperature(log_p, labels) > 2  # overconfident predictions are cooled


def reference_calibrated_nll(p: np.ndarray, labels: np.ndarray, splits: int = 5) -> float:
    """Test-time cross-validation with a grid search over T, scored with sklearn's log_loss."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(50), 801))
    log_p = np.log(p)
    classes = range(p.shape[1])
    rng = np.random.default_rng(CALIBRATION_SEED)
    scores = []
    for _ in range(splits):
        order = rng.permutation(len(labels))
        a, b = order[: len(order) // 2], order[len(order) // 2 :]
        for fit, score in ((a, b), (b, a)):
            q = softmax(log_p[fit][None] / grid[:, None, None])[:, np.arange(len(fit)), labels[fit]]
            t = grid[int(np.argmin(-np.log(q).mean(axis=1)))]
            scores.append(log_loss(labels[score], softmax(log_p[score] / t), labels=classes))
    return float(np.mean(scores))


def test_calibrated_nll_matches_the_reference() -> None:
    p, labels = overconfident()
    value = calibrated_nll(p, labels)
    assert value == pytest.approx(reference_calibrated_nll(p, labels), rel=1e-4)
    assert value < 0.8 * log_loss(labels, p)  # temperature scaling fixes overconfidence
    assert calibrated_nll(p, labels) == value  # a fixed seed: deterministic


def test_calibrated_nll_ignores_the_temperature_of_the_input() -> None:
    p, labels = overconfident(sharpness=1.0)
    sharper = softmax(3 * np.log(p))
    assert calibrated_nll(sharper, labels) == pytest.approx(calibrated_nll(p, labels), rel=1e-4)


def test_calibration_metrics_average_the_samples_first() -> None:
    p, labels = overconfident(n=100)
    members = np.stack([p, softmax(np.log(p) * 0.5)])
    metrics = calibration_metrics(members, labels)
    assert set(metrics) == {"test_ece", "test_ece_mass", "test_calibrated_nll"}
    assert metrics["test_calibrated_nll"] == calibrated_nll(members.mean(axis=0), labels)
    assert metrics["test_ece"] == ece(members.mean(axis=0), labels)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.9, 1.5), (0.75, 2.5), (0.8, 2.0), (1.0, 1.0), (1.2, 1.0), (0.65, 4.0), (0.6, 4.0)],
)
def test_deep_ensemble_equivalent(value: float, expected: float) -> None:
    assert deep_ensemble_equivalent(value, [1, 2, 3, 4], [1.0, 0.8, 0.7, 0.65]) == pytest.approx(
        expected
    )


def test_deep_ensemble_equivalent_takes_the_first_crossing() -> None:
    # the curve dips below 0.82 between sizes 1 and 2, rises again, then falls
    assert deep_ensemble_equivalent(0.82, [1, 2, 4, 8], [1.0, 0.8, 0.85, 0.7]) == pytest.approx(1.9)
    with pytest.raises(ValueError, match="increase"):
        deep_ensemble_equivalent(0.9, [2, 1], [1.0, 0.8])


def test_auroc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    negative = np.round(rng.normal(size=300), 1)
    positive = np.round(rng.normal(0.7, size=200), 1)
    truth = np.r_[np.zeros(300), np.ones(200)]
    expected = roc_auc_score(truth, np.r_[negative, positive])
    assert auroc(negative, positive) == pytest.approx(expected, rel=1e-12)


def test_ood_auroc_scores_predictive_entropy() -> None:
    p_in, _ = overconfident(n=200)
    p_out = softmax(np.random.default_rng(1).normal(size=(100, 5)) * 0.1)  # nearly uniform
    assert ood_auroc(p_in, p_out) > 0.95
    assert ood_auroc(p_out, p_in) < 0.05
    truth = np.r_[np.zeros(200), np.ones(100)]
    expected = roc_auc_score(truth, np.r_[entropy(p_in), entropy(p_out)])
    assert ood_auroc(p_in, p_out) == pytest.approx(expected)
    assert entropy(np.array([[0.5, 0.5]]))[0] == pytest.approx(np.log(2))


def test_calibrated_nll_stays_finite_when_a_half_has_no_errors():
    """Nearly separable test sets must not drive the fitted temperature to zero."""
    n = 40
    labels = np.zeros(n, dtype=int)
    p = np.tile([0.9, 0.1], (n, 1))
    p[0] = [0.1, 0.9]  # a single confident error: most random halves have none
    single = -np.log(p[np.arange(n), labels]).mean()
    calibrated = calibrated_nll(p, labels)
    # 1/T is capped at e^3: the error costs at most 20 × log 9 ≈ 44 nats in the halves that
    # score it (an uncapped fit on an error-free half costs it thousands)
    assert single < calibrated < 1.5


@pytest.mark.parametrize("distinct", [1, 2, 5, 1000])
def test_average_ranks_are_scipys_rankdata_bit_for_bit(distinct):
    from scipy.stats import rankdata

    rng = np.random.default_rng(distinct)
    x = rng.integers(0, distinct, 300).astype(np.float64)  # ties unless distinct is large
    ranks = average_ranks(x)
    assert ranks.dtype == np.float64
    assert ranks.tobytes() == rankdata(x).tobytes()
    scores = np.round(rng.random(200), 1).astype(np.float32)  # auroc's entropies, rounded
    assert average_ranks(scores).tobytes() == rankdata(scores).tobytes()


def test_average_ranks_of_nan_are_nan_as_scipys():
    from scipy.stats import rankdata

    x = np.array([0.3, np.nan, 0.1])
    np.testing.assert_array_equal(average_ranks(x), rankdata(x))
