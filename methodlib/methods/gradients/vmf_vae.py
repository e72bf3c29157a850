"""A hyperspherical VAE (Davidson, Falorsi, De Cao, Kipf & Tomczak 2018; reference code
nicola-decao/s-vae-pytorch) trained with implicit reparameterisation gradients (Figurnov,
Mohamed & Mnih 2018), against the rejection-sampler reparameterisation it replaces and the
score-function estimator.

q(z | x) = vMF(μ(x), κ(x)) on S^{m−1} (m = `latent_dim`): μ the normalised mean head of
`vae_mlp`'s encoder, κ = softplus(first log-variance head output) + `min_concentration` (the
reference's +1 keeps κ off 0, where the rejection sampler's envelope is poorest); p(z) uniform
on the sphere; p(x | z) Bernoulli. A draw is z = H(μ) (w, √(1 − w²) v): w = μᵀz the radial
component, drawn by Wood's (1994) rejection sampler, v uniform on S^{m−2}, and H(μ) the
Householder reflection taking e₁ to μ, so z's gradient w.r.t. μ is pathwise in every arm.
KL(q ‖ p) = κ A_m(κ) + log C_m(κ) + log |S^{m−1}| with A_m = I_{m/2}/I_{m/2−1} and
C_m(κ) = κ^{m/2−1} / ((2π)^{m/2} I_{m/2−1}(κ)), in closed form (`vmf_uniform_kl`, also the von
Mises VAE's with m = 2). The arms (`gradient`) differ only in dw/dκ:

- `implicit`: `vmf_radial_rsample`, dw/dκ = −(∂F/∂κ)/p(w) of w's CDF (`gradients/implicit.py`);
- `rejection`: Davidson et al.'s reparameterisation of the sampler: w = h(ε, κ) =
  (1 − (1 + b)ε)/(1 − (1 − b)ε) of the accepted proposal ε ~ Beta((m−1)/2, (m−1)/2), b(κ) =
  (m − 1)/(2κ + √(4κ² + (m − 1)²)), differentiated at fixed ε (g_rep), plus the correction
  g_cor = E[f ∇_κ log π(ε; κ)] for the density π of accepted ε, here with the moving-average
  baseline (E ∇ log π = 0, so it stays unbiased). π(ε; κ) = q_w(h(ε, κ); κ) |∂h/∂ε| because
  the accepted w are exact draws. ε is recovered from the sampler's w by inverting h (the
  sampler is the implicit arm's, `vmf_radial_sample`). The reference code drops g_cor;
- `score_function`: REINFORCE on log q(z | x) = log C_m(κ) + κ μᵀz, with the baseline.

Bessel functions are scipy's exponentially scaled `ive` in float64, with their derivatives
from the recurrences (as the reference's `ive` op): A_m' = 1 − A_m² − (m − 1)A_m/κ,
(log I_{m/2−1})' = A_m + (m/2 − 1)/κ."""

from __future__ import annotations

import math

import numpy as np
import scipy.special
import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.gradients.estimator_vae import EstimatorVAE
from methodlib.methods.gradients.implicit import vmf_radial_rsample, vmf_radial_sample
from methodlib.methods.gradients.vae_configs import VMFVAEConfig


def _ive(order: float, kappa: torch.Tensor) -> torch.Tensor:
    values = scipy.special.ive(order, kappa.detach().double().cpu().numpy())
    return torch.from_numpy(np.asarray(values)).to(kappa.device)


class _BesselRatio(torch.autograd.Function):
    """A_m(κ) = I_{m/2}(κ)/I_{m/2−1}(κ), differentiable in κ."""

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, dim: int) -> torch.Tensor:
        ratio = (_ive(dim / 2, kappa) / _ive(dim / 2 - 1, kappa)).to(kappa.dtype)
        ctx.save_for_backward(kappa, ratio)
        ctx.dim = dim
        return ratio

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        kappa, ratio = ctx.saved_tensors
        return grad * (1 - ratio**2 - (ctx.dim - 1) * ratio / kappa), None


class _LogBessel(torch.autograd.Function):
    """log I_{m/2−1}(κ), differentiable in κ."""

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, dim: int) -> torch.Tensor:
        ctx.save_for_backward(kappa)
        ctx.dim = dim
        return (_ive(dim / 2 - 1, kappa).log() + kappa.double()).to(kappa.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (kappa,) = ctx.saved_tensors
        return grad * (_BesselRatio.apply(kappa, ctx.dim) + (ctx.dim / 2 - 1) / kappa), None


def bessel_ratio(kappa: torch.Tensor, dim: int) -> torch.Tensor:
    """A_m(κ) = E[μᵀz] of vMF(μ, κ) on S^{m−1} (the mean resultant length)."""
    return _BesselRatio.apply(kappa, dim)


def log_sphere_area(dim: int) -> float:
    """log |S^{m−1}| = log(2 π^{m/2} / Γ(m/2))."""
    return math.log(2.0) + dim / 2 * math.log(math.pi) - math.lgamma(dim / 2)


def vmf_log_normaliser(kappa: torch.Tensor, dim: int) -> torch.Tensor:
    """log C_m(κ) of the vMF density C_m(κ) e^{κ μᵀz} on S^{m−1} (m ≥ 2)."""
    nu = dim / 2 - 1
    return nu * kappa.log() - dim / 2 * math.log(2 * math.pi) - _LogBessel.apply(kappa, dim)


def vmf_uniform_kl(kappa: torch.Tensor, dim: int) -> torch.Tensor:
    """KL(vMF(μ, κ) ‖ uniform on S^{m−1}) = κ A_m(κ) + log C_m(κ) + log |S^{m−1}|; m = 2 is
    the von Mises distribution against the uniform on the circle, κ I₁/I₀ − log I₀(κ)."""
    return kappa * bessel_ratio(kappa, dim) + vmf_log_normaliser(kappa, dim) + log_sphere_area(dim)


def householder(loc: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """H x with H the reflection taking e₁ to the unit vector `loc` (…, m) (u = e₁ − μ; the
    identity when μ = e₁)."""
    u = -loc.clone()
    u[..., 0] = u[..., 0] + 1
    norm2 = (u * u).sum(-1, keepdim=True).clamp_min(1e-12)
    return x - 2 * (x * u).sum(-1, keepdim=True) / norm2 * u


def vmf_from_radial(loc: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """z = H(μ) (w, √(1 − w²) v) for radial components w (…, B) and a fresh v uniform on
    S^{m−2}: (…, B, m)."""
    v = torch.randn(*w.shape, loc.shape[-1] - 1, dtype=loc.dtype, device=loc.device)
    v = v / v.norm(dim=-1, keepdim=True)
    w = w.to(loc.dtype).unsqueeze(-1)
    x = torch.cat([w, (1 - w**2).clamp_min(torch.finfo(loc.dtype).tiny).sqrt() * v], -1)
    return householder(loc, x)


def wood_rsample(kappa: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A radial draw w = h(ε, κ) of Wood's sampler differentiable at its accepted proposal ε
    (g_rep), and log π(ε; κ) up to a constant in κ, the density of the accepted ε, whose
    κ-gradient is the correction term g_cor. In float64."""
    k = kappa.double()
    m1 = dim - 1
    b = m1 / (2 * k + torch.sqrt(4 * k**2 + m1**2))
    with torch.no_grad():
        w0 = vmf_radial_sample(k, dim)
        eps = (1 - w0) / ((1 + b) - (1 - b) * w0)
    w = (1 - (1 + b) * eps) / (1 - (1 - b) * eps)
    log_q_w = k * w + (dim - 3) / 2 * torch.log1p(-(w**2)) + vmf_log_normaliser(k, dim)
    log_pi = log_q_w + torch.log(2 * b) - 2 * torch.log1p(-(1 - b) * eps)
    return w, log_pi


class VMFVAE(EstimatorVAE):
    Config = VMFVAEConfig

    def posterior(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ (B, m) on the sphere, κ (B,))."""
        mean, log_var = model.encode(model.features(x))
        kappa = F.softplus(log_var[..., 0]) + self.config.min_concentration
        return F.normalize(mean, dim=-1), kappa

    def log_prior(self, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return torch.full(z.shape[:-1], -log_sphere_area(z.shape[-1]), device=z.device)

    def sample_prior(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        return F.normalize(torch.randn(n, model.latent_dim, device=device), dim=-1)

    def draw(self, params: tuple[torch.Tensor, torch.Tensor], samples: int) -> torch.Tensor:
        loc, kappa = params
        w = vmf_radial_sample(kappa.detach(), loc.shape[-1], (samples,))
        return vmf_from_radial(loc.detach(), w)

    def log_posterior(
        self, z: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        loc, kappa = params
        return vmf_log_normaliser(kappa, loc.shape[-1]) + kappa * (loc * z).sum(-1)

    def kl(self, model: nn.Module, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        loc, kappa = params
        return vmf_uniform_kl(kappa, loc.shape[-1])

    def expected_log_likelihood(
        self, model: nn.Module, x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        loc, kappa = params
        gradient = self.config.gradient
        if gradient == "implicit":
            w = vmf_radial_rsample(kappa, loc.shape[-1])
            return self.log_likelihood(model, x, vmf_from_radial(loc, w))
        if gradient == "rejection":
            w, log_pi = wood_rsample(kappa, loc.shape[-1])
            return self.score_function(model, x, vmf_from_radial(loc, w), log_pi)
        return self.score_function_draw(model, x, params)
