"""A VAE with a Dirichlet latent (Figurnov, Mohamed & Mnih 2018, Section 6): the test of
implicit reparameterisation in a model, against the score-function estimator it replaces.

q(z | x) = Dir(α(x)), α(x) = softplus(encoder head) + `min_concentration`, on the simplex of
`latent_dim` components; p(z) = Dir(α₀, …, α₀); p(x | z) Bernoulli (`vae_mlp`'s decoder read
at z). The ELBO is E_q log p(x | z) − KL(q ‖ p) with the KL in closed form (`dirichlet_kl`), so
only the first term needs a gradient estimator, chosen by `gradient`:

- `implicit`: z = `dirichlet_rsample(α)`, normalised Gammas whose dz/dα is the implicit
  reparameterisation gradient −(∂F/∂α)/(∂F/∂z) of the Gamma CDF (`gradients/implicit.py`);
- `torch`: `torch.distributions.Dirichlet(α).rsample()`, torch's own implicit Gamma gradient
  (a fitted approximation in part of the plane): the reference kernel;
- `score_function`: REINFORCE, ∇_α E_q f = E_q[(f(z) − b) ∇_α log q(z | x)] with f = log p(x | z)
  and b a moving average of f over training batches (`baseline_decay`), which keeps the
  estimator unbiased (b does not depend on z; only the first step's b, that batch's mean, does)
  and lowers its variance; the decoder's gradient is the pathwise one at the same draw.

All three give the same ELBO value; only the encoder's gradient differs. `seconds_per_step` is
the mean CPU time (`time.process_time`, all threads: wall time on a shared machine measures
the neighbours too) between consecutive calls of `lr_factor`, i.e. one training step's
forward, backward and update; the last step of each epoch (which would include validation) is
left out. `test_elbo` is the ELBO on the test split, binarised once with a fixed seed, with the
expected log-likelihood averaged over `eval_samples` draws; `test_ll` the importance-sampled
bound of the latent-variable family with the same draws' log-weights."""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Dirichlet

from methodlib.methods.base import DataInfo, StepContext
from methodlib.methods.gradients.implicit import dirichlet_rsample
from methodlib.methods.gradients.vae_configs import DirichletVAEConfig
from methodlib.methods.latent_vi.base import EVAL_FLOATS, LatentVAE

TINY = 1e-30
"""Floor of z's components inside log densities: a Gamma draw at α ≈ 0.01 underflows float32."""


def dirichlet_kl(alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """KL(Dir(α) ‖ Dir(β)) over the last axis (broadcasting), in closed form."""
    alpha, beta = torch.broadcast_tensors(alpha, beta)
    a0, b0 = alpha.sum(-1), beta.sum(-1)
    return (
        torch.lgamma(a0)
        - torch.lgamma(alpha).sum(-1)
        - torch.lgamma(b0)
        + torch.lgamma(beta).sum(-1)
        + ((alpha - beta) * (torch.digamma(alpha) - torch.digamma(a0).unsqueeze(-1))).sum(-1)
    )


def dirichlet_log_density(z: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """log Dir(z; α) over the last axis, with z's components floored at `TINY`."""
    return Dirichlet(alpha).log_prob(z.clamp_min(TINY))


class DirichletVAE(LatentVAE):
    Config = DirichletVAEConfig

    def __init__(self, config: DirichletVAEConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.baseline: float | None = None
        self.step_seconds: list[float] = []
        self._step_start: float | None = None

    def concentration(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """α(x) of q(z | x): (B, latent)."""
        head = model.encode(model.features(x))[0]
        return F.softplus(head) + self.config.min_concentration

    def _prior(self, model: nn.Module) -> torch.Tensor:
        device = next(model.parameters()).device
        return torch.full((model.latent_dim,), self.config.prior_concentration, device=device)

    def log_prior(self, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return dirichlet_log_density(z, self._prior(model))

    def sample_prior(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        return Dirichlet(self._prior(model).to(device)).sample((n,))

    def expected_log_likelihood(
        self, model: nn.Module, x: torch.Tensor, alpha: torch.Tensor
    ) -> torch.Tensor:
        """The one-draw estimate of E_q log p(x | z), (B,), whose gradient w.r.t. α is the
        configured estimator's (its value is log p(x | z) in every arm)."""
        gradient = self.config.gradient
        if gradient == "implicit":
            return self.log_likelihood(model, x, dirichlet_rsample(alpha))
        if gradient == "torch":
            return self.log_likelihood(model, x, Dirichlet(alpha).rsample())
        z = Dirichlet(alpha.detach()).sample()
        f = self.log_likelihood(model, x, z)
        baseline = f.detach().mean().item() if self.baseline is None else self.baseline
        if model.training and torch.is_grad_enabled():
            decay = self.config.baseline_decay
            mean = f.detach().mean().item()
            self.baseline = (
                mean if self.baseline is None else decay * self.baseline + (1 - decay) * mean
            )
        surrogate = (f.detach() - baseline) * dirichlet_log_density(z, alpha)
        return f + surrogate - surrogate.detach()

    def bound(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        alpha = self.concentration(model, x)
        kl = dirichlet_kl(alpha, self._prior(model))
        return self.expected_log_likelihood(model, x, alpha) - kl

    def log_weights(self, model: nn.Module, x: torch.Tensor, samples: int) -> torch.Tensor:
        alpha = self.concentration(model, x)
        z = Dirichlet(alpha).sample((samples,))
        log_q = dirichlet_log_density(z, alpha)
        return self.log_likelihood(model, x, z) + self.log_prior(model, z) - log_q

    def bound_scores(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        samples = self.config.eval_samples
        chunk = max(1, EVAL_FLOATS // (samples * x[0].numel()))
        total = 0.0
        for i in range(0, len(x), chunk):
            b = x[i : i + chunk]
            alpha = self.concentration(model, b)
            z = Dirichlet(alpha).sample((samples,))
            ell = self.log_likelihood(model, b, z).mean(0)
            total += (ell - dirichlet_kl(alpha, self._prior(model))).sum().item()
        return {"test_elbo": total / len(x)}

    def lr_factor(self, ctx: StepContext) -> float | None:
        now = time.process_time()
        if ctx.step > 0 and self._step_start is not None:
            self.step_seconds.append(now - self._step_start)
        self._step_start = now
        return super().lr_factor(ctx)

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        seconds = sum(self.step_seconds) / len(self.step_seconds) if self.step_seconds else 0.0
        return {**super().run_metrics(model), "seconds_per_step": seconds}

    def state_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "step_seconds": list(self.step_seconds)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.baseline = state.get("baseline")
        self.step_seconds = list(state.get("step_seconds", []))
