"""The generation task's hooks (declaration: `tasks/generation.py`): the method's validation
metrics per epoch, samples (and reconstructions) of the trained model, and their metrics
against the test split (`generation_eval.py`, the judge's for images)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.base import Routine, run_result

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.generative_base import GenerativeMethod


class GenerationRoutine(Routine):
    task = "generation"

    def validation_columns(
        self, method: GenerativeMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, float]:
        model.eval()
        return method.validation_metrics(model, data.val.x.to(device), batch_size)

    def test_outputs(
        self, method: GenerativeMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        import torch

        model.eval()
        method.score_test(model, data.test.x.to(device), batch_size)
        n = method.config.samples or len(data.test)
        samples = [
            method.generate(model, min(batch_size, n - i), device).float().cpu()
            for i in range(0, n, batch_size)
        ]
        outputs = {"samples": torch.cat(samples).numpy(), "reference": data.test.x.numpy()}
        if method.config.reconstructs:  # autoencoders: G(E(x)) of each test example
            outputs["reconstructions"] = torch.cat(
                [
                    method.reconstruct(model, data.test.x[i : i + batch_size].to(device)).cpu()
                    for i in range(0, len(data.test), batch_size)
                ]
            ).numpy()
        return outputs

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: str | Path | None, data: Any
    ) -> dict[str, Any]:
        from methodlib.routines.generation_eval import (
            generation_metrics,
            read_reconstructions,
            read_samples,
        )

        samples, reference = read_samples(run_dir / "predictions.npz")
        reconstructions = read_reconstructions(run_dir / "predictions.npz")
        metrics = {
            **generation_metrics(samples, reference, record["domain"], judge, reconstructions),
            **record["model_stats"],
            "train_seconds": record["train_seconds"],
        }
        return run_result(record, metrics)  # one model: `samples` counts predictive samples
