"""Classification: predictive probabilities on the test split with a samples axis (MC samples,
snapshots, SWAG draws, ensemble members), every metric for all samples and, as a curve, for the
first k of them.

A run saves `probs` (samples, examples, classes) on the test split and `labels`, plus
`ood_probs` when the dataset has an out-of-domain split; the log has `val_nll` and
`val_accuracy` of the method's per-epoch validation prediction. metrics.json also holds the
points of the run's reliability diagram (`reliability`) and of its risk–coverage curve
(`risk_coverage`), which the study's figures draw. The hooks: `routines/classification.py`."""

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
    "test_aurc",
    "test_eaurc",
    "ood_auroc",
    "dee",
)
"""Metrics of a set of predictions; each also has a `curve_` form against the samples."""


class Classification(Task):
    name = "classification"
    routine = "methodlib.routines.classification:ClassificationRoutine"
    metrics = (
        *PREDICTION_METRICS,
        *(f"curve_{m}" for m in PREDICTION_METRICS),
        "n_samples",
        "flops",
    )
    log_columns = ("val_nll", "val_accuracy")
    uncertainty_figures = True
