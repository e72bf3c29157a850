"""Generation: samples (and, for autoencoders, reconstructions of the test split) scored
against the test split; image datasets with their judge classifier too.

A run models the data as they are (in their domain, not standardised) and saves `samples`
(n, *input shape) drawn from the trained model (n = the test split's size unless the method's
`samples` says) and `reference`, the test split, plus `reconstructions` of `reference` for
methods that reconstruct (the autoencoders: PAGAN, ALI, the VAE); the log has `val_loss`. The
hooks: `routines/generation.py`, its metrics in `routines/generation_eval.py`."""

from __future__ import annotations

from typing import Any

from methodlib.tasks.base import Task


class Generation(Task):
    name = "generation"
    routine = "methodlib.routines.generation:GenerationRoutine"
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
