"""Adaptive classification: classification (`classification.py`: every metric, the same saved
probabilities) by networks that choose how much to compute per image or per position (ACT,
SACT, PACT, `methods/adaptive/`). A run also saves, per test image, the ponder cost, the ponder
map and the multiply-adds its evaluation spent (`macs`), and, on a cluttered dataset
(`datasets.<name>.clutter`), the digit's box, drawn again from the split's seed
(`data/clutter.py`).

Metrics beyond classification's: `flops` is the mean over test images of the multiply-adds the
evaluation spent (the run's own `flops`, one pass on a blank image, says little where the
depth depends on the image), `ponder_cost` the mean ponder cost, `ponder_auroc` (cluttered
datasets only) how well the ponder maps pick out the digit (`metrics/adaptive.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.tasks.classification import Classification

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.adaptive.base import AdaptiveMethod

PONDER_OUTPUTS = ("ponder_cost", "ponder_maps", "macs")
SHOWN = 8
"""Test images kept in predictions.npz for the ponder-map figure (`report/ponder_plots.py`)."""


class AdaptiveClassification(Classification):
    name = "adaptive_classification"
    metrics = (*Classification.metrics, "ponder_cost", "ponder_auroc")
    index_links = "Ponder maps"

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"ponder_maps/{experiment}.png"]

    def test_outputs(
        self, method: AdaptiveMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        import torch

        from methodlib.data.clutter import digit_boxes

        outputs = super().test_outputs(method, model, data, batch_size, device)
        model.eval()
        x = data.test.x
        parts = [
            method.ponder(model, x[i : i + batch_size].to(device))
            for i in range(0, len(x), batch_size)
        ]
        for key in PONDER_OUTPUTS:
            outputs[key] = torch.cat([p[key] for p in parts]).float().cpu().numpy()
        outputs["images"] = x[:SHOWN].numpy()
        spec = data.meta["spec"]
        if spec.get("clutter") is not None:
            outputs["digit_boxes"] = digit_boxes(spec["clutter"], len(x), spec["split"]["seed"])
        return outputs

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: Any, data: Any
    ) -> dict[str, Any]:
        import numpy as np

        from methodlib.metrics.adaptive import mean_box_auroc

        result = super().evaluate(run_dir, record, judge, data)
        with np.load(run_dir / "predictions.npz") as saved:
            metrics = result["metrics"]
            metrics["flops"] = float(saved["macs"].mean())
            metrics["ponder_cost"] = float(saved["ponder_cost"].mean())
            if "digit_boxes" in saved:
                canvas = record["config"]["dataset"]["clutter"]["canvas"]
                metrics["ponder_auroc"] = mean_box_auroc(
                    saved["ponder_maps"], saved["digit_boxes"], canvas
                )
        return result
