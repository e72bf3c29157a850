"""Star-Shaped DDPM (Okhotin et al. 2023): diffusion whose noise lives on the data's domain.

The forward process noises x_0 independently at every step, q(x_{1:T} | x_0) = Π_t q(x_t | x_0),
with q from an exponential family (`distribution`, see `star_families`): Gaussian (any data;
with matched schedules it is DDPM), Beta on [0, 1]^d, Dirichlet on the simplex, von
Mises–Fisher on the sphere. The tail statistic G_t = Σ_{s≥t} A_sᵀ T(x_s) is sufficient for x_0
given x_{t:T}, so the reverse model is p(x_{t−1} | x_{t:T}) = q(x_{t−1} | x̂_0) with
x̂_0 = clamp(f_θ((G_t − m_t)/s_t, t)).

Training (the paper's Algorithm 1): t ~ U{1..T}, x_s ~ q(x_s | x_0) for every s ≥ t (drawn in one
batched call over s), G_t as above, loss KL(q(x_{t−1} | x_0) ‖ q(x_{t−1} | x̂_0)). At t = 1 the
term is the KL at the family's extra, sharper level t = 0 (for the Gaussian: DDPM's decoder
weight 1/(2β_1)). The prior term KL(q(x_T | x_0) ‖ p(x_T)) does not depend on θ and is left out,
so the loss is the negative ELBO up to a constant. `weighting: rescaled` divides each step's KL
by its concentration (`StarFamily.kl_scale`), the reference code's `kl_rescaled`: like DDPM's
L_simple it stops the sharpest steps, whose weights reach 10²–10³, from drowning the others.

Standardisation: G_t's scale grows with the concentrations summed into it (10³–10⁴ for the
default schedules), far from what a network reads well. Its per-step, per-coordinate mean m_t
and standard deviation s_t are estimated once, before training, from one forward chain of up to
`standardise_examples` training examples, and kept in the method's state (checkpoints and
model.pt), so sampling uses the same m_t, s_t.

Sampling: x_T ~ p(x_T) (the family's x_0-free limit), G_{T+1} = 0; for t = T..1:
G_t = G_{t+1} + A_tᵀ T(x_t), x̂_0 = clamp(f_θ(standardised G_t, t)), x_{t−1} ~ q(x_{t−1} | x̂_0).
The sample is the last x̂_0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.diffusion.base import DiffusionMethod
from methodlib.methods.diffusion.configs import SSDDPMConfig
from methodlib.methods.diffusion.star_families import StarFamily, make_family


def forward_tails(family: StarFamily, x0: torch.Tensor) -> torch.Tensor:
    """G_t for t = 1..T of one forward chain per example, shape (T, B, *event): every step's
    x_s ~ q(x_s | x_0) is drawn in one batched call, and G is their reverse cumulative sum."""
    steps = family.steps
    s = torch.arange(1, steps + 1, device=x0.device).repeat_interleave(len(x0))
    x_rep = x0.unsqueeze(0).expand(steps, *x0.shape).reshape(-1, *x0.shape[1:])
    terms = family.stat(family.sample(x_rep, s), s).view(steps, *x0.shape)
    return terms.flip(0).cumsum(0).flip(0)


class SSDDPM(DiffusionMethod):
    Config = SSDDPMConfig

    def __init__(self, config: SSDDPMConfig, model_name, info):
        super().__init__(config, model_name, info)
        self.family = make_family(config.distribution, config.steps, **config.schedule)
        if self.family.domain not in ("real", info.domain):
            raise RunError(
                f"ss_ddpm: distribution {config.distribution!r} lives on the "
                f"{self.family.domain}, but the data live on the {info.domain}; pick the "
                "family of the data's domain (cube: beta, simplex: dirichlet, sphere: vmf)"
            )
        shape = (config.steps + 1, *info.input_shape)  # index t = 1..T; row 0 unused
        self.tail_mean = torch.zeros(shape)
        self.tail_std = torch.ones(shape)

    def on_train_start(self, model: nn.Module, x_train: torch.Tensor) -> None:
        x0 = x_train[: self.config.standardise_examples]
        tails = forward_tails(self.family, x0).double()
        self.tail_mean[1:] = tails.mean(1).float().cpu()
        self.tail_std[1:] = tails.std(1).clamp_min(1e-6).float().cpu()

    def standardise(self, tail: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        mean, std = self.tail_mean.to(tail.device)[t], self.tail_std.to(tail.device)[t]
        return (tail - mean) / std

    def predict_x0(self, model: nn.Module, tail: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.family.clamp(model(self.standardise(tail, t), t))

    def losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        t = torch.randint(1, self.config.steps + 1, (len(x),), device=x.device)
        tail = forward_tails(self.family, x)[t - 1, torch.arange(len(x), device=x.device)]
        kl = self.family.kl(x, self.predict_x0(model, tail, t), t - 1)
        if self.config.weighting == "rescaled":
            return kl / self.family.kl_scale(x, t - 1)
        return kl

    def elbo_losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The KL terms for one draw of t and then of G_t by `StarFamily.sample_tail` (for the
        Gaussian family one N(S_t x0, S_t I) draw, whose ε is DDPM's under the same seed)."""
        t = torch.randint(1, self.config.steps + 1, (len(x),), device=x.device)
        tail = self.family.sample_tail(x, t)
        return self.family.kl(x, self.predict_x0(model, tail, t), t - 1)

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device) -> torch.Tensor:
        shape = (n, *self.info.input_shape)
        x_t = self.family.prior_sample(shape, device=device)
        tail = torch.zeros(shape, device=device)
        for step in range(self.config.steps, 0, -1):
            t = torch.full((n,), step, device=device, dtype=torch.long)
            tail = tail + self.family.stat(x_t, t)
            x0_hat = self.predict_x0(model, tail, t)
            if step > 1:
                x_t = self.family.sample(x0_hat, t - 1)
        return self.into_domain(x0_hat)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "tail_mean": self.tail_mean, "tail_std": self.tail_std}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.tail_mean = state["tail_mean"]
        self.tail_std = state["tail_std"]
