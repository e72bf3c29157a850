"""The adaptive classification task's hooks (declaration: `tasks/adaptive.py`): the
classification routine's, plus each test image's ponder cost, ponder map and multiply-adds (and
the digit boxes of a cluttered dataset) in predictions.npz, and the metrics read off them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.classification import ClassificationRoutine
from methodlib.tasks.adaptive import PONDER_OUTPUTS, SHOWN

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.adaptive.base import AdaptiveMethod


class AdaptiveRoutine(ClassificationRoutine):
    task = "adaptive_classification"

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
        from methodlib.io import read_npz
        from methodlib.metrics.adaptive import mean_box_auroc

        result = super().evaluate(run_dir, record, judge, data)
        with read_npz(run_dir / "predictions.npz") as saved:
            macs, ponder_cost, maps = saved["macs"], saved["ponder_cost"], saved["ponder_maps"]
            boxes = saved.get("digit_boxes")
        metrics = result["metrics"]
        metrics["flops"] = float(macs.mean())
        metrics["ponder_cost"] = float(ponder_cost.mean())
        if boxes is not None:
            canvas = record["config"]["dataset"]["clutter"]["canvas"]
            metrics["ponder_auroc"] = mean_box_auroc(maps, boxes, canvas)
        return result
