"""Linear and convolutional layers with fully factorised Gaussian weights, sampled with the local
reparameterisation trick (Kingma, Salimans, Welling 2015): for w_ij ~ N(μ_ij, σ²_ij), independent,
a pre-activation b = x·w + bias is Gaussian with

    E[b] = x·μ + bias,    Var[b] = x²·σ²,

so each forward pass draws b = E[b] + √Var[b]·ε, ε ~ N(0, 1) per example and unit: one
independent weight sample per example at the cost of two dense ops, and a lower-variance gradient
than one weight matrix per batch. (Convolutions likewise; neighbouring positions share weights, so
their noise is in truth correlated, which this approximation ignores, as in the paper.)

The layers sample in training and evaluation mode alike: their test-time prediction is an average
over passes. `ffg_vi` learns μ and σ² (`GaussianLinear`, `GaussianConv2d`); `variance_net` fixes
μ = 0 and learns σ only (`VarianceLinear`, `VarianceConv2d`); `bayes_incremental` adds a
Gaussian bias and a prior of the layer's own (`gaussian_prior`).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn


class _LocalReparam:
    """Mixed into nn.Linear / nn.Conv2d; subclasses say what the weight distribution is."""

    bias: nn.Parameter | None

    def _op(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        raise NotImplementedError

    def weight_moments(self) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Mean (None: zero) and variance of every weight."""
        raise NotImplementedError

    def bias_variance(self) -> torch.Tensor | None:
        """Variance of every bias; None: the bias is a point estimate."""
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean_weight, var_weight = self.weight_moments()
        var = self._op(x.square(), var_weight, self.bias_variance())
        if mean_weight is not None:
            mean = self._op(x, mean_weight, self.bias)
        elif self.bias is not None:
            mean = self.bias.view(-1, *[1] * (var.dim() - 2))
        else:
            mean = 0.0
        return mean + (var + 1e-16).sqrt() * torch.randn_like(var)


class ReparamLinear(_LocalReparam, nn.Linear):
    def _op(self, x, weight, bias):
        return F.linear(x, weight, bias)


class ReparamConv2d(_LocalReparam, nn.Conv2d):
    def _op(self, x, weight, bias):
        return self._conv_forward(x, weight, bias)


class _Gaussian:
    """`weight` is the posterior mean μ (a dense checkpoint's weights map onto it) and
    `log_sigma2` the log variance; the bias is a point estimate."""

    variational_parameters: ClassVar[tuple[str, ...]] = ("log_sigma2",)
    weight: nn.Parameter

    def _init_gaussian(self, sigma_init: float) -> None:
        self.log_sigma2 = nn.Parameter(torch.full_like(self.weight, 2 * math.log(sigma_init)))

    def weight_moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.weight, self.log_sigma2.exp()

    def kl(self, prior_std: float) -> torch.Tensor:
        """KL(N(μ, σ²) ‖ N(0, s²)) summed over the weights:
        log(s/σ) + (σ² + μ²)/(2s²) − ½ per weight."""
        prior_var = prior_std**2
        kl = math.log(prior_std) - 0.5 * self.log_sigma2
        kl = kl + (self.log_sigma2.exp() + self.weight.square()) / (2 * prior_var) - 0.5
        return kl.sum()


class GaussianLinear(_Gaussian, ReparamLinear):
    def __init__(self, n_in: int, n_out: int, sigma_init: float):
        nn.Linear.__init__(self, n_in, n_out)
        self._init_gaussian(sigma_init)


class GaussianConv2d(_Gaussian, ReparamConv2d):
    def __init__(self, c_in: int, c_out: int, kernel: int, padding: int, sigma_init: float):
        nn.Conv2d.__init__(self, c_in, c_out, kernel, padding=padding)
        self._init_gaussian(sigma_init)


class _Variance:
    """Zero-mean weights w ~ N(0, σ²): `weight` holds σ (its sign does not matter), so the
    layer keeps nn.Linear's initialisation U(±1/√fan_in), the one the paper's code uses for σ,
    and counts as the dense layer it replaces in FLOPs and parameter counts."""

    weight: nn.Parameter

    def weight_moments(self) -> tuple[None, torch.Tensor]:
        return None, self.weight.square()


class VarianceLinear(_Variance, ReparamLinear):
    pass


class VarianceConv2d(_Variance, ReparamConv2d):
    pass
