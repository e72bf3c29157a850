"""Fully factorised Gaussian layers whose prior is a Gaussian of their own, for sequential
(incremental) variational inference.

Every weight and bias w has the posterior q(w) = N(μ, σ²) and the prior p(w) = N(μ_p, σ_p²).
μ is stored as the dense layer's `weight` / `bias` (so FLOPs counting and a dense checkpoint see
the layer they replace), log σ as `weight_log_sigma` / `bias_log_sigma`. The prior lives in
buffers (`weight_prior_mu`, `weight_prior_log_sigma`, and the bias's twins): it starts at
N(0, prior_std²) and `set_prior_to_posterior()` overwrites it with a frozen copy of q, which is
how the posterior after one chunk of data becomes the prior of the next. Buffers are part of the
model's state_dict, so checkpoints carry the prior.

The KL is in closed form, per weight:
    KL(N(μ, σ²) ‖ N(μ_p, σ_p²)) = log(σ_p/σ) + (σ² + (μ − μ_p)²)/(2σ_p²) − ½.

Forward passes always sample (training and test alike) with the local reparameterisation
trick of `layers.gaussian`: the pre-activation b = Wx + c is Gaussian with mean μ_W x + μ_c and
variance σ_W² x² + σ_c², and is drawn per example directly.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from methodlib.methods.layers.gaussian import ReparamConv2d, ReparamLinear


def gaussian_kl(
    mu: torch.Tensor, log_sigma: torch.Tensor, prior_mu: torch.Tensor, prior_log_sigma: torch.Tensor
) -> torch.Tensor:
    """Elementwise KL(N(μ, σ²) ‖ N(μ_p, σ_p²))."""
    variance_ratio = torch.exp(2 * (log_sigma - prior_log_sigma))
    shift = (mu - prior_mu).square() * torch.exp(-2 * prior_log_sigma)
    return prior_log_sigma - log_sigma + 0.5 * (variance_ratio + shift - 1)


class _GaussianPrior:
    """Mixed into nn.Linear / nn.Conv2d (see the module docstring)."""

    variational_parameters = ("weight_log_sigma", "bias_log_sigma")
    weight: nn.Parameter
    bias: nn.Parameter

    def _init_gaussian(self, prior_std: float, log_sigma_init: float) -> None:
        self.weight_log_sigma = nn.Parameter(torch.full_like(self.weight, log_sigma_init))
        self.bias_log_sigma = nn.Parameter(torch.full_like(self.bias, log_sigma_init))
        for name in ("weight", "bias"):
            like = getattr(self, name)
            self.register_buffer(f"{name}_prior_mu", torch.zeros_like(like.detach()))
            self.register_buffer(
                f"{name}_prior_log_sigma", torch.full_like(like.detach(), math.log(prior_std))
            )

    def _pairs(self):
        """(μ, log σ, μ_p, log σ_p) of the weight and of the bias."""
        for name in ("weight", "bias"):
            yield (
                getattr(self, name),
                getattr(self, f"{name}_log_sigma"),
                getattr(self, f"{name}_prior_mu"),
                getattr(self, f"{name}_prior_log_sigma"),
            )

    def kl(self) -> torch.Tensor:
        return sum(gaussian_kl(*pair).sum() for pair in self._pairs())

    @torch.no_grad()
    def set_prior_to_posterior(self) -> None:
        for mu, log_sigma, prior_mu, prior_log_sigma in self._pairs():
            prior_mu.copy_(mu)
            prior_log_sigma.copy_(log_sigma)

    def weight_moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.weight, torch.exp(2 * self.weight_log_sigma)

    def bias_variance(self) -> torch.Tensor:
        return torch.exp(2 * self.bias_log_sigma)


class GaussianPriorLinear(_GaussianPrior, ReparamLinear):
    def __init__(self, n_in: int, n_out: int, prior_std: float, log_sigma_init: float):
        nn.Linear.__init__(self, n_in, n_out)
        self._init_gaussian(prior_std, log_sigma_init)


class GaussianPriorConv2d(_GaussianPrior, ReparamConv2d):
    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        padding: int,
        prior_std: float,
        log_sigma_init: float,
    ):
        nn.Conv2d.__init__(self, c_in, c_out, kernel, padding=padding)
        self._init_gaussian(prior_std, log_sigma_init)


def gaussian_layers(model: nn.Module) -> list[_GaussianPrior]:
    return [m for m in model.modules() if isinstance(m, _GaussianPrior)]


def total_kl(model: nn.Module) -> torch.Tensor:
    """Σ KL(q ‖ p) over every Gaussian layer of the model."""
    return sum(layer.kl() for layer in gaussian_layers(model))
