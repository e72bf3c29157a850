"""Classification: predictive probabilities on the test split with a samples axis (MC samples,
snapshots, SWAG draws, ensemble members), every metric for all samples and, as a curve, for the
first k of them."""

from __future__ import annotations

from methodlib.tasks.base import Task

PREDICTION_METRICS = (
    "test_accuracy",
    "test_error",
    "test_nll",
    "test_brier",
    "test_calibrated_nll",
    "test_ece",
    "test_ece_mass",
    "ood_auroc",
    "dee",
)
"""Metrics of a set of predictions; each also has a `curve_` form against the samples."""


class Classification(Task):
    name = "classification"
    metrics = (
        *PREDICTION_METRICS,
        *(f"curve_{m}" for m in PREDICTION_METRICS),
        "n_samples",
        "flops",
    )
    log_columns = ("val_nll", "val_accuracy")
