"""The layer factory that architectures build from.

Architectures never create weight layers directly: they ask a `Layers` object. Bayesian methods
(sparse variational dropout, structured pruning, MC dropout, ...) hand in their own factory, so
one LeNet definition serves every method.
"""

from __future__ import annotations

from torch import nn


class Layers:
    """Plain maximum-likelihood layers."""

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        return nn.Linear(n_in, n_out)

    def conv2d(self, c_in: int, c_out: int, kernel: int, padding: int = 0) -> nn.Module:
        return nn.Conv2d(c_in, c_out, kernel, padding=padding)

    def norm(self, kind: str, units: int) -> nn.Module:
        """Batch normalisation between a weight layer and its activation, in the `_bn`
        variants of the architectures (stochastic batch norm samples its statistics)."""
        return nn.BatchNorm2d(units) if kind == "conv" else nn.BatchNorm1d(units)

    def after(self, kind: str, units: int) -> nn.Module:
        """A per-unit module placed after each hidden activation (`kind` is "linear" or
        "conv"): identity here, dropout or multiplicative noise for the methods that need it."""
        return nn.Identity()
