"""Adaptive classification: classification (`classification.py`: every metric, the same saved
probabilities) by networks that choose how much to compute per image or per position (ACT,
SACT, PACT, `methods/adaptive/`). A run also saves, per test image, the ponder cost, the ponder
map and the multiply-adds its evaluation spent (`macs`), and, on a cluttered dataset
(`datasets.<name>.clutter`), the digit's box, drawn again from the split's seed
(`data/clutter.py`).

Metrics beyond classification's: `flops` is the mean over test images of the multiply-adds the
evaluation spent (the run's own `flops`, one pass on a blank image, says little where the
depth depends on the image), `ponder_cost` the mean ponder cost, `ponder_auroc` (cluttered
datasets only) how well the ponder maps pick out the digit (`metrics/adaptive.py`). The hooks:
`routines/adaptive.py`."""

from __future__ import annotations

from typing import Any

from methodlib.tasks.classification import Classification

PONDER_OUTPUTS = ("ponder_cost", "ponder_maps", "macs")
SHOWN = 8
"""Test images kept in predictions.npz for the ponder-map figure (`report/ponder_plots.py`)."""


class AdaptiveClassification(Classification):
    name = "adaptive_classification"
    routine = "methodlib.routines.adaptive:AdaptiveRoutine"
    metrics = (*Classification.metrics, "ponder_cost", "ponder_auroc")
    index_links = "Ponder maps"

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"ponder_maps/{experiment}.png"]
