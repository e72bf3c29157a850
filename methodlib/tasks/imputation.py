"""Imputation: the test split with some entries hidden by the dataset's `missing` mask (the same
for every method on the dataset, `methodlib/methods/imputation/masks.py`), and methods that see
the observed entries and sample the hidden ones.

Training sees complete, standardised data (training statistics, as the reference code does);
the methods draw their own training masks. A run saves, in the data's units, `truth` (the test
split), `missing` (True = hidden) and `imputations` (K, N, *shape): K samples per example with
the observed entries kept (K = 1 for a deterministic method). The methods get the hidden
entries as NaN, so none can read them. The log has `val_loss` (the neural methods' objective
on the validation split); the metrics are in `imputation_eval.py`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.tasks.base import Task, run_result
from methodlib.tasks.generation import Generation

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.imputation.base import ImputationMethod


class Imputation(Task):
    name = "imputation"
    metrics = ("nrmse", "psnr_best", "judge_classes", "flops")
    log_columns = ("val_loss",)
    index_links = None

    def needs_judge(self, dataset: Any) -> bool:
        return dataset.source != "sklearn_tabular"  # images: `judge_classes`

    def dataset_problem(self, dataset: Any) -> str | None:
        if getattr(dataset, "missing", None) is None:
            return (
                "has no test mask; imputation methods need one "
                "(missing: {kind: mcar, rate: 0.5}, or kind half or square for images)"
            )
        return None

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"inpainting/{experiment}.png"]

    # the generation task's hook: the method's `validation_metrics` on the validation split
    validation_columns = Generation.validation_columns

    def test_outputs(
        self, method: ImputationMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        import numpy as np
        import torch

        from methodlib.errors import RunError
        from methodlib.methods.imputation.masks import test_mask

        spec = data.meta["spec"]
        if spec.get("missing") is None:
            raise RunError(
                f"dataset {data.meta['name']!r} has no `missing` mask; imputation methods need "
                "one (datasets.<name>.missing: {kind: mcar, rate: 0.5})"
            )
        model.eval()
        x = data.test.x
        missing = test_mask(spec["missing"], tuple(x.shape))
        hidden = x.masked_fill(missing, float("nan"))
        parts = [
            method.impute(model, hidden[i : i + batch_size].to(device)).float().cpu()
            for i in range(0, len(x), batch_size)
        ]
        imputations = torch.where(missing, torch.cat(parts, dim=1), x)
        trailing = (1,) * (x.ndim - 2)  # per channel (images) or per coordinate (vectors)
        mean = torch.tensor(data.meta["mean"], dtype=torch.float32).reshape(-1, *trailing)
        std = torch.tensor(data.meta["std"], dtype=torch.float32).reshape(-1, *trailing)
        return {
            "truth": (x * std + mean).numpy(),
            "missing": missing.numpy().astype(np.bool_),
            "imputations": (imputations * std + mean).numpy(),
        }

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: str | Path | None, data: Any
    ) -> dict[str, Any]:
        from methodlib.tasks.imputation_eval import imputation_metrics, read_imputations

        truth, missing, imputations = read_imputations(run_dir / "predictions.npz")
        metrics = {
            **imputation_metrics(truth, missing, imputations, judge),
            **record["model_stats"],
            "train_seconds": record["train_seconds"],
        }
        return run_result(record, metrics, samples=len(imputations))
