"""Classification: predictive probabilities on the test split with a samples axis (MC samples,
snapshots, SWAG draws, ensemble members), every metric for all samples and, as a curve, for the
first k of them.

A run saves `probs` (samples, examples, classes) on the test split and `labels`, plus
`ood_probs` when the dataset has an out-of-domain split; the log has `val_nll` and
`val_accuracy` of the method's per-epoch validation prediction. The metrics are in
`classification_eval.py`, imported when a run is evaluated; metrics.json also holds the points
of the run's reliability diagram (`reliability`) and of its risk–coverage curve
(`risk_coverage`), which the study's figures draw."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.tasks.base import Task, run_result

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from methodlib.data import Prepared, Split
    from methodlib.methods.base import ClassifierMethod

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
    metrics = (
        *PREDICTION_METRICS,
        *(f"curve_{m}" for m in PREDICTION_METRICS),
        "n_samples",
        "flops",
    )
    log_columns = ("val_nll", "val_accuracy")
    uncertainty_figures = True

    def validation_columns(
        self, method: ClassifierMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, float]:
        import torch.nn.functional as F

        probs = predict(method, model, data.val, batch_size, device, final=False).mean(0)
        return {
            "val_nll": F.nll_loss(probs.clamp_min(1e-12).log(), data.val.y).item(),
            "val_accuracy": (probs.argmax(1) == data.val.y).float().mean().item(),
        }

    def test_outputs(
        self, method: ClassifierMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        outputs = {
            "probs": predict(method, model, data.test, batch_size, device).numpy(),
            "labels": data.test.y.numpy(),
        }
        if data.ood is not None:  # scored for out-of-domain detection
            outputs["ood_probs"] = predict(method, model, data.ood, batch_size, device).numpy()
        return outputs

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: Any, data: Any
    ) -> dict[str, Any]:
        from methodlib.metrics.classification import predictive
        from methodlib.metrics.selective import risk_coverage_curve
        from methodlib.metrics.uncertainty import reliability_bins
        from methodlib.tasks.classification_eval import (
            doubling_sizes,
            read_predictions,
            samples_curve,
        )

        probs, labels, ood_probs = read_predictions(run_dir / "predictions.npz")
        curve = samples_curve(probs, labels, doubling_sizes(probs.shape[0]), ood_probs)
        metrics = {
            **curve[-1]["metrics"],
            **record["model_stats"],
            "n_samples": int(probs.shape[0]),
            "train_seconds": record["train_seconds"],
        }
        p = predictive(probs)
        return run_result(
            record,
            metrics,
            samples=int(probs.shape[0]),
            curve=curve,
            reliability=reliability_bins(p, labels),
            risk_coverage=risk_coverage_curve(p, labels),
        )


def predict(
    method: ClassifierMethod,
    model: nn.Module,
    split: Split,
    batch_size: int,
    device,
    final: bool = True,
) -> torch.Tensor:
    """Probabilities (samples, examples, classes) on a split, in evaluation mode: the method's
    test-time prediction, or (`final=False`) its per-epoch validation prediction."""
    import torch

    model.eval()
    proba = method.predict_proba if final else method.validation_proba
    parts = [
        proba(model, split.x[i : i + batch_size].to(device)).float().cpu()
        for i in range(0, len(split), batch_size)
    ]
    return torch.cat(parts, dim=1)
