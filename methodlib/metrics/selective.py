"""Selective classification: the risk–coverage curve, its area (AURC) and the area in excess of
an oracle's (E-AURC), as in Geifman et al. 2018 ("Bias-reduced uncertainty estimation for deep
neural classifiers").

A classifier allowed to abstain answers its most confident examples only (confidence: the top
class probability). The selective risk at coverage k/n is the error rate among the k most
confident of n examples; AURC is the mean of the risks over k = 1..n. It rewards a ranking that
puts errors last, whatever the probabilities' scale, which calibration metrics do not measure.
The ranking that puts every error last has the smallest AURC the errors allow; E-AURC removes
it, leaving what the confidence ranking itself loses.

Tied confidences have no order (a network's saturated probabilities of exactly 1.0 are common),
so a cut inside a tied group counts the group's errors in proportion to how much of it the cut
takes: the expected risk over the orders of the tie. AURC is then a function of the predictions
alone, not of the order in which the test split lists its examples.

Functions take the predictive distribution `p` of shape (examples, classes), the mean over the
samples axis (`methodlib.metrics.classification.predictive`).
"""

from __future__ import annotations

import numpy as np

from methodlib.metrics.classification import predictive

CURVE_POINTS = 100
"""Coverage levels of the curve saved in a run's metrics.json: 1 %, 2 %, ..., 100 %."""


def selective_risks(p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Risk at coverage k/n for k = 1..n: the (expected, over tied confidences) error rate of
    the k most confident examples."""
    confidence = p.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    wrong = p.argmax(axis=1)[order] != labels[order]
    errors = np.r_[0.0, np.cumsum(wrong)]  # errors among the first k ranked, k = 0..n
    n = len(ranked)
    ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]) + 1, n]  # tied groups: [start, end)
    starts = np.r_[0, ends[:-1]]
    k = np.arange(1, n + 1)
    group = np.searchsorted(ends, k)  # the group the k-th ranked example belongs to
    start, end = starts[group], ends[group]
    expected = errors[start] + (k - start) * (errors[end] - errors[start]) / (end - start)
    return expected / k


def oracle_aurc(errors: int, n: int) -> float:
    """AURC of the ranking that puts all `errors` of n examples last: risk 0 until coverage
    (n - errors)/n, then (k - (n - errors))/k."""
    if not 0 <= errors <= n or n < 1:
        raise ValueError(f"need 0 <= errors <= n and n >= 1, got errors={errors}, n={n}")
    k = np.arange(n - errors + 1, n + 1)
    return float(((k - (n - errors)) / k).sum() / n)


def aurc(p: np.ndarray, labels: np.ndarray) -> float:
    """Area under the risk–coverage curve: the mean selective risk over coverages k/n."""
    return float(selective_risks(p, labels).mean())


def risk_coverage_curve(
    p: np.ndarray, labels: np.ndarray, points: int = CURVE_POINTS
) -> list[dict[str, float]]:
    """The curve at about `points` coverage levels (k = ceil(j n / points)): enough to draw it
    without the run's predictions, small enough for metrics.json."""
    risks = selective_risks(p, labels)
    n = len(risks)
    ks = np.unique(np.ceil(np.arange(1, points + 1) * n / points).astype(int))
    return [{"coverage": float(k / n), "risk": float(risks[k - 1])} for k in ks]


def selective_metrics(
    probs: np.ndarray, labels: np.ndarray, prefix: str = "test"
) -> dict[str, float]:
    """AURC and E-AURC (AURC minus the oracle's: 0 for a ranking that puts every error last)
    of outputs with a samples axis."""
    p = predictive(probs)
    area = aurc(p, labels)
    errors = int((p.argmax(axis=1) != labels).sum())
    return {f"{prefix}_aurc": area, f"{prefix}_eaurc": area - oracle_aurc(errors, len(labels))}
