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
- `rsvi`: the rejection-sampler reparameterisation the paper compares against (Naesseth et
  al. 2017; `gradients/rsvi.py`): z differentiable along Marsaglia–Tsang's accepted proposal
  with the shape augmented by `rsvi_boost`, plus the correction term, the score of the
  accepted noise weighted by f − b (the score-function arm's baseline b, unbiased as there);
- `score_function`: REINFORCE, ∇_α E_q f = E_q[(f(z) − b) ∇_α log q(z | x)] with f = log p(x | z)
  and b a moving average of f over training batches (`baseline_decay`), which keeps the
  estimator unbiased (b does not depend on z; only the first step's b, that batch's mean, does)
  and lowers its variance; the decoder's gradient is the pathwise one at the same draw.

All four give the same ELBO value; only the encoder's gradient differs. The score-function
estimate, `seconds_per_step`, `test_elbo` and `test_ll` are those of `EstimatorVAE`
(`gradients/estimator_vae.py`), shared with the vMF and von Mises VAEs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Dirichlet

from methodlib.methods.gradients.estimator_vae import EstimatorVAE
from methodlib.methods.gradients.implicit import dirichlet_rsample
from methodlib.methods.gradients.rsvi import rsvi_dirichlet
from methodlib.methods.gradients.vae_configs import DirichletVAEConfig

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


class DirichletVAE(EstimatorVAE):
    Config = DirichletVAEConfig

    def posterior(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
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

    def draw(self, params: torch.Tensor, samples: int) -> torch.Tensor:
        return Dirichlet(params.detach()).sample((samples,))

    def log_posterior(self, z: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return dirichlet_log_density(z, params)

    def kl(self, model: nn.Module, params: torch.Tensor) -> torch.Tensor:
        return dirichlet_kl(params, self._prior(model))

    def expected_log_likelihood(
        self, model: nn.Module, x: torch.Tensor, alpha: torch.Tensor
    ) -> torch.Tensor:
        gradient = self.config.gradient
        if gradient == "implicit":
            return self.log_likelihood(model, x, dirichlet_rsample(alpha))
        if gradient == "torch":
            return self.log_likelihood(model, x, Dirichlet(alpha).rsample())
        if gradient == "rsvi":
            z, log_pi = rsvi_dirichlet(alpha, self.config.rsvi_boost)
            return self.score_function(model, x, z, log_pi)
        return self.score_function_draw(model, x, alpha)
