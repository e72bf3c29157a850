"""The imputation task's hooks (declaration: `tasks/imputation.py`): the method's validation
metrics per epoch (as generation's), the test split with the dataset's mask hidden and the
method's imputations of it in the data's units, and their metrics (`imputation_eval.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.base import Routine, run_result
from methodlib.routines.generation import GenerationRoutine

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.imputation.base import ImputationMethod


class ImputationRoutine(Routine):
    task = "imputation"

    # the generation task's hook: the method's `validation_metrics` on the validation split
    validation_columns = GenerationRoutine.validation_columns

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
        from methodlib.routines.imputation_eval import imputation_metrics, read_imputations

        truth, missing, imputations = read_imputations(run_dir / "predictions.npz")
        train = None
        if data is not None:  # images: the training split tells the ambiguous halves apart
            from methodlib.data import load_prepared

            split = load_prepared(data, standardise=False).train
            train = (split.x.numpy(), split.y.numpy())
        metrics = {
            **imputation_metrics(truth, missing, imputations, judge, train),
            **record["model_stats"],
            "train_seconds": record["train_seconds"],
        }
        return run_result(record, metrics, samples=len(imputations))
