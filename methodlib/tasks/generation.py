"""Generation: samples (and, for autoencoders, reconstructions of the test split) scored
against the test split; image datasets with their judge classifier too."""

from __future__ import annotations

from typing import Any

from methodlib.tasks.base import Task


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

    def needs_judge(self, dataset: Any) -> bool:
        return dataset.source != "synthetic"  # images: `fid_judge` in the judge's features

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        targets = [f"samples/{experiment}.png"]
        if getattr(method, "reconstructs", False):
            targets.append(f"autoencoders/{experiment}.png")
        return targets
