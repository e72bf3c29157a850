"""Gaussian DDPM (Ho et al. 2020): the baseline that SS-DDPM is compared against.

Forward process q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with ᾱ_t = Π_{s≤t} (1 − β_s): Ho et
al.'s linear β schedule (10⁻⁴ to 0.02 for T = 1000) scaled by 1000/T, so that ᾱ_T ≈ 0 for the
short chains a CPU affords (unscaled, ᾱ_100 ≈ 0.37: the chain would not reach the prior), or
Nichol & Dhariwal's cosine schedule. The schedule is `star_families.ddpm_alpha_bar`, the one
Gaussian SS-DDPM derives its star schedule from, so the same fields give both the same process.

The network reads (x_t, t) and predicts ε (`prediction: eps`) or x_0 (`x0`); either gives
x̂_0 = (x_t − √(1 − ᾱ_t) ε̂)/√ᾱ_t. Losses, t ~ U{1..T}:
- `simple`: the mean squared error of the predicted quantity (Ho et al.'s L_simple);
- `elbo`: the ELBO term ½ (SNR_{t−1} − SNR_t) ‖x_0 − x̂_0‖², SNR_t = ᾱ_t/(1 − ᾱ_t) (Kingma et
  al. 2021), and at t = 1 the decoder term −log N(x_0; x̂_0, β_1 I) without its constant,
  ‖x_0 − x̂_0‖²/(2β_1). These are exactly Gaussian SS-DDPM's KL terms (`ss_ddpm`, the
  paper's equivalence), so the two training curves can be compared directly.
Sampling is ancestral: x_T ~ N(0, I), x_{t−1} ~ q(x_{t−1} | x_t, x̂_0) with variance β̃_t,
optionally with x̂_0 clamped to the domain's bounding box at every step (`clip_denoised`), and
the final x_0 is mapped into the data's domain by `projection` (none, clip, project: see
`generative_base.to_domain`). `val_elbo` (`diffusion.base`) uses the `elbo` terms whatever
the training loss.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.diffusion.base import DiffusionMethod
from methodlib.methods.diffusion.configs import DDPMConfig
from methodlib.methods.diffusion.star_families import ddpm_alpha_bar


class DDPM(DiffusionMethod):
    Config = DDPMConfig

    def __init__(self, config: DDPMConfig, model_name, info):
        super().__init__(config, model_name, info)
        abar = torch.from_numpy(
            ddpm_alpha_bar(config.steps, config.schedule, config.beta_start, config.beta_end)
        )
        snr = abar / (1 - abar)  # snr[0] = inf
        weight = torch.empty_like(abar)  # indexed by t = 1..T
        weight[2:] = 0.5 * (snr[1:-1] - snr[2:])
        weight[:2] = 0.5 / (1 - abar[1])  # the decoder's 1/(2β_1)
        self.abar = abar.float()
        self.elbo_weight = weight.float()

    def _x0_and_eps(self, out, x_t, abar):
        if self.config.prediction == "x0":
            return out, (x_t - abar.sqrt() * out) / (1 - abar).sqrt()
        return (x_t - (1 - abar).sqrt() * out) / abar.sqrt(), out

    def losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self._losses(model, x, self.config.weighting)

    def elbo_losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self._losses(model, x, "elbo")

    def _losses(self, model: nn.Module, x: torch.Tensor, weighting: str) -> torch.Tensor:
        """One draw of t, then of ε (the order Gaussian SS-DDPM's `elbo_losses` keeps), and
        each example's loss under `weighting`."""
        t = torch.randint(1, self.config.steps + 1, (len(x),), device=x.device)
        abar = self._per_example(self.abar, t, x)
        eps = torch.randn_like(x)
        x_t = self.noised(x, t, eps)
        out = model(x_t, t)
        x0_hat, eps_hat = self._x0_and_eps(out, x_t, abar)
        if weighting == "elbo":
            weight = self.elbo_weight.to(x.device)[t]
            return weight * (x - x0_hat).flatten(1).pow(2).sum(1)
        target = eps if self.config.prediction == "eps" else x
        return (target - out).flatten(1).pow(2).mean(1)

    def noised(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε: a draw of q(x_t | x_0) for ε ~ N(0, I)."""
        abar = self._per_example(self.abar, t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * eps

    @staticmethod
    def _per_example(values: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return values.to(x.device)[t].view(-1, *([1] * (x.ndim - 1)))

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device) -> torch.Tensor:
        x = torch.randn(n, *self.info.input_shape, device=device)
        abar = self.abar.to(device)
        for t in range(self.config.steps, 0, -1):
            steps = torch.full((n,), t, device=device, dtype=torch.long)
            x0_hat, _ = self._x0_and_eps(model(x, steps), x, abar[t])
            if self.config.clip_denoised:
                x0_hat = x0_hat.clamp(-1.0 if self.info.domain == "sphere" else 0.0, 1.0)
            alpha = abar[t] / abar[t - 1]
            mean = (
                abar[t - 1].sqrt() * (1 - alpha) * x0_hat + alpha.sqrt() * (1 - abar[t - 1]) * x
            ) / (1 - abar[t])
            if t > 1:
                variance = (1 - abar[t - 1]) / (1 - abar[t]) * (1 - alpha)
                x = mean + variance.sqrt() * torch.randn_like(x)
            else:
                x = mean
        return self.into_domain(x)
