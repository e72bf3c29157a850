"""Generation: samples (and, for autoencoders, reconstructions of the test split) scored
against the test split; image datasets with their judge classifier too.

A run models the data as they are (in their domain, not standardised) and saves `samples`
(n, *input shape) drawn from the trained model (n = the test split's size unless the method's
`samples` says) and `reference`, the test split, plus `reconstructions` of `reference` for
methods that reconstruct (the autoencoders: PAGAN, ALI, the VAE); the log has `val_loss`. The
metrics are in `generation_eval.py`, imported when a run is evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.tasks.base import Task, run_result

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.generative_base import GenerativeMethod


class Generation(Task):
    name = "generation"
    metrics = (
        "out_of_domain",
        "nonfinite",
        "n_generated",
        "sliced_w",
        "sym_kl",
        "recon_rmse",
        "fid_judge",
        "is_judge",
        "rid",
        "rid_augmentation",
        "flops",
    )
    log_columns = ("val_loss",)
    standardise_inputs = False

    def needs_judge(self, dataset: Any) -> bool:
        return dataset.source != "synthetic"  # images: `fid_judge` in the judge's features

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        targets = [f"samples/{experiment}.png"]
        if getattr(method, "reconstructs", False):
            targets.append(f"autoencoders/{experiment}.png")
        return targets

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
        from methodlib.tasks.generation_eval import (
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
