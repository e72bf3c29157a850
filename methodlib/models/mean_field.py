"""A mean-field Gaussian posterior over the weights of a linear softmax classifier: the
variational family of the Monte Carlo gradient study's Bayesian logistic regression
(`methods/mc_gradients/`). No layers: the method samples the weights and asks the gradient
estimators for ∇ of the expected log-likelihood with respect to their means and scales."""

from __future__ import annotations

import math

import torch
from torch import nn

from methodlib.models.layers import Layers

INIT_SIGMA = 0.1


class MeanFieldLinear(nn.Module):
    """q(w) = N(μ, diag σ²) over the (inputs + 1) × classes weights of logits = [x, 1] w;
    σ = exp(log_sigma), as the reference code parameterises its scales."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, layers: Layers | None = None):
        super().__init__()
        self.shape = (math.prod(input_shape) + 1, n_classes)
        self.mu = nn.Parameter(torch.zeros(self.shape))
        self.log_sigma = nn.Parameter(torch.full(self.shape, math.log(INIT_SIGMA)))

    @property
    def dim(self) -> int:
        return self.mu.numel()

    def flat(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, σ) as vectors of `dim` entries, differentiable."""
        return self.mu.reshape(-1), self.log_sigma.exp().reshape(-1)

    def logits(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Logits (..., batch, classes) of inputs `x` under weight vectors (..., dim)."""
        inputs = torch.cat([x.flatten(1), x.new_ones(len(x), 1)], dim=1)
        return torch.einsum(
            "bi,...ic->...bc", inputs, weights.reshape(*weights.shape[:-1], *self.shape)
        )

    def macs(self, inp: torch.Tensor, out: torch.Tensor) -> int:
        """One weight draw's logits (`count_flops`)."""
        return self.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits of one weight draw from q."""
        mu, sigma = self.flat()
        return self.logits(x, mu + sigma * torch.randn_like(mu))
