"""Stochastic binary weights and their mirror-descent straight-through update (Shekhovtsov &
Yanush 2021, arXiv 2006.06880, section "latent weights"; Ajanthan et al. 2021, "Mirror descent
view for neural network quantization").

Each weight is an independent ±1 variable with P(w = +1) = σ(η), η the latent real parameter,
so its mean is μ = E[w] = tanh(η/2). The expected loss E_w[L] is multilinear in μ. Mirror
descent on μ ∈ (−1, 1)^n with the Bernoulli negative entropy φ(μ) = Σ p log p + (1 − p) log(1 − p),
p = (1 + μ)/2, as the mirror map has ∇φ(μ) = η/2, so its step ∇φ(μ') = ∇φ(μ) − ε ∇_μ E[L]
is η' = η − 2ε ∇_μ E[L]: a plain gradient step on the latent weights with the gradient in the
*mean*, not in η (no Jacobian dμ/dη = (1 − μ²)/2). Estimating ∇_μ E[L] by the straight-through
∂L/∂w at a sampled w (exact when L is linear in each weight, which E[L] is in μ; biased through
the loss's curvature otherwise) gives the update BinaryConnect uses with latent weights: the
identity straight-through from the sign to η. That is the estimator here: forward the sampled
signs, backward ∂L/∂w unchanged into η (`mirror_straight_through`); Adam on η then applies a
diagonally preconditioned version of the step.

`BinaryWeightLinear` replaces an `nn.Linear`: its `weight` parameter is η (same state-dict
keys), the forward draws one w per call (shared by the batch; fresh each call, so a sampled
classifier's predictive averages over weight draws) and scales w x by 1/√fan_in so the
pre-activations keep unit scale under ±1 weights; the bias stays real.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from methodlib.methods.gradients.binary import logistic_noise, sample_sign


def mirror_straight_through(eta: Tensor, noise: Tensor) -> Tensor:
    """w = sign(η − Z) ∈ {−1, 1} forward, dw/dη := 1 backward (the mirror-descent update)."""
    return sample_sign(eta, noise) + (eta - eta.detach())


class BinaryWeightLinear(nn.Module):
    """A linear layer with stochastic ±1 weights, P(w = +1) = σ(weight): see the module."""

    def __init__(self, linear: nn.Linear, init_scale: float):
        super().__init__()
        fan_in = linear.in_features
        # η from the dense layer's initialisation (uniform in ±1/√fan_in) stretched by
        # √fan_in · init_scale: P(w = +1) spread over σ(±init_scale) rather than all at ½
        self.weight = nn.Parameter(linear.weight.detach() * math.sqrt(fan_in) * init_scale)
        self.bias = linear.bias
        self.scale = 1 / math.sqrt(fan_in)

    def forward(self, x: Tensor) -> Tensor:
        w = mirror_straight_through(self.weight, logistic_noise(self.weight))
        return F.linear(x, w * self.scale, self.bias)


def replace_modules(model: nn.Module, kind: type[nn.Module], make) -> list[nn.Module]:
    """Replace every module of type `kind` in `model` by `make(module)`, in place; returns the
    new modules. Binarising a network's units or its weights is this one walk."""
    made = []
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, kind):
                module = make(child)
                setattr(parent, name, module)
                made.append(module)
    return made


def binarize_weights(model: nn.Module, init_scale: float) -> list[BinaryWeightLinear]:
    """Replace every `nn.Linear` of `model` by a `BinaryWeightLinear`, in place."""
    return replace_modules(model, nn.Linear, lambda layer: BinaryWeightLinear(layer, init_scale))
