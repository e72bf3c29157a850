"""What the diffusion methods share: the validation scores they take at the last epoch.

- `val_elbo`: the negative ELBO on the validation split (up to the terms that do not depend
  on the network: the prior term and the decoder's constant), averaged over `elbo_draws`
  draws of (t, noise) per example, whatever loss the method trains on. The draws come from a
  fixed seed, t first and then the noise, in the same order in DDPM and in Gaussian SS-DDPM
  (which draws its G_t in one Gaussian draw, `GaussianFamily.sample_tail`), so two runs of the
  pair read the same t and ε: the paired equivalence claim compares the two methods on the
  same noise, and the seed-to-seed pairing (the same initial weights) does the rest.
- `val_sym_kl`, `val_sliced_w`: `validation_samples` samples from a fixed seed, scored
  against the validation split as the test samples are against the test split
  (`metrics.generative.sample_distances`, shared with
  `routines/generation_eval.py`), so that a selection can choose a noise schedule on samples
  (a schedule's own loss is not comparable across schedules: its prior and decoder terms,
  left out of the loss, change with it).

Why at the last epoch only: both need many passes (a sampling chain, many draws), too dear
for every epoch, and the last epoch's weights are those the run keeps and samples from. A run
stopped early (`training.early_stopping`) never reaches it and so has neither score.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from methodlib.methods.base import EpochContext
from methodlib.methods.generative_base import GenerativeMethod, fixed_rng
from methodlib.metrics.generative import sample_distances


class DiffusionMethod(GenerativeMethod):
    """A diffusion model: `elbo_losses` for `val_elbo`, and the last epoch's scores."""

    def __init__(self, config, model_name, info):
        super().__init__(config, model_name, info)
        self.validation_scores: dict[str, float] = {}

    def elbo_losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The negative ELBO's terms of each example for one draw of t and the noise, shape
        (B,): the ELBO-weighted loss, whatever the training loss's weighting."""
        raise NotImplementedError

    @torch.no_grad()
    def validation_elbo(self, model: nn.Module, x_val: torch.Tensor, batch_size: int) -> float:
        """`val_elbo`: the mean of `elbo_losses` over the split and `elbo_draws` draws each."""
        draws = self.config.elbo_draws
        with fixed_rng(x_val.device):
            total = sum(
                self.elbo_losses(model, x_val[i : i + batch_size]).sum().item()
                for _ in range(draws)
                for i in range(0, len(x_val), batch_size)
            )
        return total / (draws * len(x_val))

    @torch.no_grad()
    def validation_sample_scores(
        self, model: nn.Module, x_val: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """`val_sym_kl` and `val_sliced_w` of `validation_samples` samples against the
        validation split; these draws do not count towards the run's `raw_out_of_domain`."""
        n, drawn = self.config.validation_samples, list(self.drawn)
        with fixed_rng(x_val.device):
            samples = torch.cat(
                [
                    self.generate(model, min(batch_size, n - i), x_val.device).float().cpu()
                    for i in range(0, n, batch_size)
                ]
            )
        self.drawn = drawn
        finite = samples.isfinite().flatten(1).all(1)
        scores = sample_distances(samples[finite].numpy(), x_val.cpu().numpy(), self.info.domain)
        return {f"val_{name}": value for name, value in scores.items()}

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        if not ctx.last or not (self.config.elbo_draws or self.config.validation_samples):
            return
        model.eval()
        scores = {}
        if self.config.elbo_draws:
            scores["val_elbo"] = self.validation_elbo(model, ctx.x_val, ctx.batch_size)
        if self.config.validation_samples:
            scores.update(self.validation_sample_scores(model, ctx.x_val, ctx.batch_size))
        self.validation_scores = scores

    def state_dict(self) -> dict[str, Any]:
        """The scores, so that a run resumed after its last epoch still reports them."""
        return {"validation_scores": dict(self.validation_scores)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.validation_scores = dict(state.get("validation_scores", {}))

    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        return dict(self.validation_scores)

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return {**super().run_metrics(model), **self.validation_scores}
