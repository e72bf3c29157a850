"""Rejection-sampler reparameterisation (RSVI; Naesseth, Ruiz, Linderman & Blei 2017) of Gamma
and Dirichlet samples: the alternative implicit reparameterisation replaces (Figurnov et al.
2018 compare against it), kept here as the baseline of the `implicit_vae` study.

Marsaglia & Tsang's sampler draws ε ~ N(0, 1) and proposes z = h(ε, α) = (α − 1/3)(1 + ε/√(9α −
3))³, accepting with a probability that makes z ~ Gamma(α) (α ≥ 1). The accepted ε then has the
density π(ε; α) = q(h(ε, α); α) |∂h/∂ε| (the Gamma density carried back through h; the
envelope constant cancels on normalising), so with ε fixed

    ∇_α E_q f(z) = E_π[f'(h) ∂h/∂α]  (g_rep)  +  E_π[f(h) ∇_α log π(ε; α)]  (g_cor).

`rsvi_gamma` returns z differentiable along h (g_rep) together with log π(ε; α), whose
gradient the caller weights by f (the correction term; `EstimatorVAE.score_function` does,
with its baseline, which keeps it unbiased since E_π ∇ log π = 0).

Shape augmentation (the paper's Section 4): for small α the acceptance is poor and g_cor noisy,
so z̃ ~ Gamma(α + B) is drawn instead and z = z̃ ∏_{i<B} u_i^{1/(α+i)} with u_i ~ U(0, 1) (an
exact Gamma(α) draw); the u_i's law does not depend on α, so they are reparameterised
directly and only z̃'s ε carries a correction term, one that shrinks as B grows.
Everything is computed in α's dtype; `rsvi_dirichlet` normalises the Gammas in log space, since
u^{1/α} underflows float32 for α ≈ 0.01."""

from __future__ import annotations

import math

import torch


def marsaglia_tsang_noise(shape_param: torch.Tensor) -> torch.Tensor:
    """The accepted ε of Marsaglia & Tsang's Gamma(α) sampler, α ≥ 1 (no gradient): rounds of
    proposals on the still-rejected entries until all are accepted (acceptance ≥ 0.95)."""
    alpha = shape_param.detach()
    d = alpha - 1.0 / 3.0
    c = torch.rsqrt(9.0 * d)
    eps = torch.zeros_like(alpha)
    todo = torch.ones_like(alpha, dtype=torch.bool)
    while bool(todo.any()):
        proposal = torch.randn_like(alpha)
        v = 1.0 + c * proposal
        log_u = torch.rand_like(alpha).log()
        positive = v > 0
        v3 = torch.where(positive, v, torch.ones_like(v)) ** 3
        accept = todo & positive & (log_u < 0.5 * proposal**2 + d - d * v3 + d * v3.log())
        eps = torch.where(accept, proposal, eps)
        todo = todo & ~accept
    return eps


def _log_h(eps: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log h(ε, α) and log |∂h/∂ε| of Marsaglia & Tsang's proposal h = d (1 + c ε)³,
    d = α − 1/3, c = 1/√(9d)."""
    d = alpha - 1.0 / 3.0
    c = torch.rsqrt(9.0 * d)
    log_v = torch.log1p(c * eps)
    return d.log() + 3.0 * log_v, math.log(3.0) + (d * c).log() + 2.0 * log_v


def accepted_log_density(eps: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """log π(ε; α) = log Gamma(h(ε, α); α) + log |∂h/∂ε|, the density of an accepted ε."""
    log_h, log_jac = _log_h(eps, alpha)
    return (alpha - 1.0) * log_h - log_h.exp() - torch.lgamma(alpha) + log_jac


def rsvi_log_gamma(
    concentration: torch.Tensor, boost: int = 1, sample_shape: torch.Size | tuple[int, ...] = ()
) -> tuple[torch.Tensor, torch.Tensor]:
    """log z of z ~ Gamma(α, 1) by Marsaglia–Tsang at α + `boost` and the shape augmentation,
    differentiable in α along the sampler's path (ε and the uniforms fixed), and log π(ε; α + B)
    of the accepted noise (same shape; its α-gradient is the correction term's score)."""
    if boost < 1:
        raise ValueError(f"rsvi needs boost >= 1 (got {boost}): Marsaglia–Tsang needs α >= 1")
    alpha = concentration.expand(torch.Size(sample_shape) + concentration.shape)
    boosted = alpha + boost
    eps = marsaglia_tsang_noise(boosted)
    log_z = _log_h(eps, boosted)[0]
    for i in range(boost):
        log_u = torch.rand_like(alpha).clamp(min=torch.finfo(alpha.dtype).tiny).log()
        log_z = log_z + log_u / (alpha + i)
    return log_z, accepted_log_density(eps, boosted)


def rsvi_gamma(
    concentration: torch.Tensor, boost: int = 1, sample_shape: torch.Size | tuple[int, ...] = ()
) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, log π): Gamma(α, 1) samples reparameterised through the rejection sampler, and the
    log density of the accepted noise for the correction term (see `rsvi_log_gamma`)."""
    log_z, log_pi = rsvi_log_gamma(concentration, boost, sample_shape)
    return log_z.exp(), log_pi


def rsvi_dirichlet(
    concentration: torch.Tensor, boost: int = 1, sample_shape: torch.Size | tuple[int, ...] = ()
) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, log π): Dirichlet(α) samples (α along the last axis) as normalised RSVI Gammas, and
    the summed log density of their accepted noise (one per sample: the ε are independent)."""
    log_g, log_pi = rsvi_log_gamma(concentration, boost, sample_shape)
    return torch.softmax(log_g, -1), log_pi.sum(-1)
