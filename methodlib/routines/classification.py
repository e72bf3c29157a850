"""The classification task's hooks (declaration: `tasks/classification.py`): the per-epoch
validation NLL and accuracy, the test probabilities with their samples axis, the run's
metrics (`classification_eval.py`) and the deep ensemble of an experiment's runs
(`classification_ensembles.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.base import Routine, run_result

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from methodlib.data import Prepared, Split
    from methodlib.methods.base import ClassifierMethod


class ClassificationRoutine(Routine):
    task = "classification"

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
        from methodlib.routines.classification_eval import (
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

    def evaluate_ensemble(self, experiment: str, predictions: list[Path]) -> dict[str, Any]:
        from methodlib.routines.classification_ensembles import evaluate_ensemble

        return evaluate_ensemble(experiment, predictions)


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
