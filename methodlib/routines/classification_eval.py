"""The classification task's evaluation (numpy): every metric of a run's saved probabilities,
for all of its samples and for the first k of them. Imported when a run is evaluated, and by
the deep ensembles across runs (`classification_ensembles.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from methodlib.io import read_npz
from methodlib.metrics import classification_metrics
from methodlib.metrics.classification import predictive
from methodlib.metrics.selective import selective_metrics
from methodlib.metrics.uncertainty import calibration_metrics, ood_auroc


def prediction_metrics(
    probs: np.ndarray, labels: np.ndarray, ood_probs: np.ndarray | None = None
) -> dict[str, float]:
    """Every metric of classification outputs (samples, examples, classes); `ood_auroc` too
    when the outputs on an out-of-domain split are given."""
    metrics = {
        **classification_metrics(probs, labels),
        **calibration_metrics(probs, labels),
        **selective_metrics(probs, labels),
    }
    if ood_probs is not None:
        metrics["ood_auroc"] = ood_auroc(predictive(probs), predictive(ood_probs))
    return metrics


def samples_curve(
    probs: np.ndarray, labels: np.ndarray, sizes: list[int], ood_probs: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """The metrics of the first k samples, for each k in `sizes`."""
    return [
        {
            "samples": k,
            "metrics": prediction_metrics(
                probs[:k], labels, None if ood_probs is None else ood_probs[:k]
            ),
        }
        for k in sizes
    ]


def doubling_sizes(n: int) -> list[int]:
    """1, 2, 4, ... below n, then n: where a metric-against-samples curve is measured."""
    return [*(2**i for i in range(n.bit_length()) if 2**i < n), n]


def read_predictions(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A run's test probabilities (samples, examples, classes), labels, and the probabilities
    on the out-of-domain split (None when the dataset has none)."""
    with read_npz(path) as outputs:
        ood = outputs.get("ood_probs", None)
        return outputs["probs"], outputs["labels"], ood
