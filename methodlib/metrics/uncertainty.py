"""Uncertainty metrics of classification outputs: calibration, the calibrated log-likelihood and
deep-ensemble equivalent of Ashukha et al. 2020 ("Pitfalls of in-domain uncertainty estimation
and ensembling in deep learning"), and out-of-domain detection.

Functions take the predictive distribution `p` of shape (examples, classes), the mean over the
samples axis (`methodlib.metrics.classification.predictive`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from methodlib.metrics.classification import EPS, predictive

ECE_BINS = 15
CALIBRATION_SPLITS = 5
CALIBRATION_SEED = 0
# Temperatures from e^-3 ≈ 0.05 to e^3 ≈ 20. Where the fitting half has (almost) no errors its
# NLL keeps falling as T → 0, and an unbounded fit would give the other half's few errors an
# arbitrarily large loss: seen with pruned nets on the 360-image digits test split.
_LOG_INVERSE_T_BOUNDS = (-3.0, 3.0)


def ece(p: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS, mass: bool = False) -> float:
    """Expected calibration error: the example-weighted mean over confidence bins of
    |accuracy - mean confidence|, confidence being the top class probability.

    Equal-width bins (`mass=False`) split [0, 1] into `bins` intervals (lo, hi]; equal-mass bins
    hold the same number of examples (±1) after sorting by confidence.
    """
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == labels).astype(np.float64)
    if mass:
        groups = np.array_split(np.argsort(confidence, kind="stable"), bins)
    else:
        which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
        groups = [np.flatnonzero(which == b) for b in range(bins)]
    gap = sum(abs(correct[g].sum() - confidence[g].sum()) for g in groups if len(g))
    return float(gap / len(labels))


def reliability_bins(
    p: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, float]]:
    """The points of a reliability diagram: per equal-width confidence bin (lo, hi] that holds
    examples, its mean confidence, accuracy and number of examples (the terms of `ece`)."""
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    return [
        {
            "lower": b / bins,
            "upper": (b + 1) / bins,
            "confidence": float(confidence[which == b].mean()),
            "accuracy": float(correct[which == b].mean()),
            "count": int((which == b).sum()),
        }
        for b in range(bins)
        if (which == b).any()
    ]


def fit_temperature(log_p: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the NLL of softmax(log_p / T). That NLL is convex in 1/T,
    so a bounded scalar search over log(1/T) finds the optimum."""
    rows = np.arange(len(labels))

    def loss(log_inverse_t: float) -> float:
        return -log_softmax(log_p * np.exp(log_inverse_t), axis=1)[rows, labels].mean()

    best = minimize_scalar(
        loss, bounds=_LOG_INVERSE_T_BOUNDS, method="bounded", options={"xatol": 1e-6}
    )
    return float(np.exp(-best.x))


def tempered_nll(log_p: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(log_p / temperature, axis=1)[np.arange(len(labels)), labels].mean())


def calibrated_nll(
    p: np.ndarray,
    labels: np.ndarray,
    splits: int = CALIBRATION_SPLITS,
    seed: int = CALIBRATION_SEED,
) -> float:
    """NLL after temperature scaling with test-time cross-validation (Ashukha et al. 2020):
    split the test set in two halves at random, fit the temperature on one half and score the
    other, swap; average over both halves and `splits` random splits. The seed is fixed so the
    metric is a deterministic function of the predictions."""
    log_p = np.log(np.clip(p, EPS, None))
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(splits):
        order = rng.permutation(len(labels))
        halves = order[: len(order) // 2], order[len(order) // 2 :]
        for fit, score in (halves, halves[::-1]):
            t = fit_temperature(log_p[fit], labels[fit])
            scores.append(tempered_nll(log_p[score], labels[score], t))
    return float(np.mean(scores))


def calibration_metrics(
    probs: np.ndarray, labels: np.ndarray, prefix: str = "test"
) -> dict[str, float]:
    """ECE (equal-width and equal-mass bins) and calibrated NLL of outputs with a samples axis."""
    p = predictive(probs)
    return {
        f"{prefix}_ece": ece(p, labels),
        f"{prefix}_ece_mass": ece(p, labels, mass=True),
        f"{prefix}_calibrated_nll": calibrated_nll(p, labels),
    }


def deep_ensemble_equivalent(value: float, sizes: list[int], curve: list[float]) -> float:
    """DEE: the size of a deep ensemble whose calibrated NLL equals `value`, read off the deep
    ensemble's calibrated-NLL-against-size `curve` by linear interpolation between sizes.

    The first crossing counts: the smallest (interpolated) size whose NLL is at most `value`.
    Outside the curve the result is clipped to its ends: a method no better than the smallest
    ensemble gets `sizes[0]` (1: "as good as one network"), one better than the largest gets
    `sizes[-1]`, to be read as "at least that many networks". Extrapolating a flattening curve
    would invent sizes that were never measured.
    """
    if len(sizes) != len(curve) or not sizes:
        raise ValueError(f"sizes and curve must be equally long and non-empty: {sizes}, {curve}")
    if list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sizes must increase: {sizes}")
    if value >= curve[0]:
        return float(sizes[0])
    for i in range(1, len(sizes)):
        if curve[i] <= value:  # curve[i - 1] > value, so the segment crosses it
            k0, k1, v0, v1 = sizes[i - 1], sizes[i], curve[i - 1], curve[i]
            return float(k0 + (k1 - k0) * (v0 - value) / (v0 - v1))
    return float(sizes[-1])


def deep_ensemble_equivalents(
    values: np.ndarray, sizes: list[int], curve: list[float]
) -> np.ndarray:
    """`deep_ensemble_equivalent` of each of `values` (a bootstrap's resampled seed means: few
    distinct ones, each read off the curve once)."""
    distinct, where = np.unique(np.asarray(values, float), return_inverse=True)
    read = np.array([deep_ensemble_equivalent(float(v), sizes, curve) for v in distinct])
    return read[where].reshape(np.shape(values))


def entropy(p: np.ndarray) -> np.ndarray:
    """Predictive entropy of each example, in nats."""
    return -(p * np.log(np.clip(p, EPS, None))).sum(axis=1)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of the values of `x` (flattened), tied values sharing the mean of their
    ranks: `scipy.stats.rankdata`'s default, exactly (every rank is a half-integer, computed
    from integers; all NaN if any value is), without importing scipy.stats for it."""
    x = np.ravel(x)
    if np.isnan(x).any():  # as scipy's default, nan_policy="propagate"
        return np.full(len(x), np.nan)
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]  # first of each run of equal values
    group = np.cumsum(starts)  # 1-based run of each sorted position
    bounds = np.r_[np.flatnonzero(starts), len(x)]  # run g covers sorted positions
    mean_rank = 0.5 * (bounds[group - 1] + bounds[group] + 1)  # bounds[g-1] .. bounds[g]-1
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = mean_rank
    return ranks


def auroc(scores_negative: np.ndarray, scores_positive: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a positive scores higher than a negative,
    ties counting one half (the Mann-Whitney statistic)."""
    ranks = average_ranks(np.concatenate([scores_negative, scores_positive]))
    n_neg, n_pos = len(scores_negative), len(scores_positive)
    return float((ranks[n_neg:].sum() - n_pos * (n_pos + 1) / 2) / (n_neg * n_pos))


def ood_auroc(p_in: np.ndarray, p_out: np.ndarray) -> float:
    """Out-of-domain detection by predictive entropy: AUROC of telling out-of-domain examples
    (positives) from in-domain ones. 0.5 is chance, 1 perfect."""
    return auroc(entropy(p_in), entropy(p_out))
