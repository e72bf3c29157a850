"""`binary_activations`: a classifier with stochastic binary (±1) hidden units (Yanush,
Shekhovtsov, Molchanov & Vetrov 2021, arXiv 2006.06880, the LeNet-300-100 experiment), trained
with one of the gradient estimators of `binary.py`.

Every hidden activation of the architecture (its `nn.ReLU` modules: after the first and second
fully connected layers of LeNet-300-100, after each convolution and the hidden fully connected
layer of LeNet-5) becomes a stochastic binary neuron x = sign(a − Z), Z logistic, so
P(x = +1) = σ(a); the input and output layers stay real. The activation is swapped in the built
network rather than through `Layers`, whose hooks sit around the ReLU (`after` sees ReLU(a),
which has lost the sign); a ReLU has no parameters, so the state-dict keys stay those of the
plain architecture.

Training minimises the expected cross-entropy E_Z[L] with one noise draw per example:

- `st`, `st_identity`, `st_tanh`: the sampled state forward, the proxy's derivative backward
  (`binary.straight_through`: 2F'(a) for the principled estimator, 1 and 1 − tanh²(a) for the
  ad-hoc ones);
- `concrete`: the relaxation 2σ((a − Z)/τ) − 1 during training (`binary.concrete`), the hard
  sign at test time;
- `reinforce`: the score function (L − b) Σ_k ∇ log p(x^k | a^k) plus the output layer's
  pathwise gradient, the baseline b the loss of the mean-field network (every unit at
  E[x | a] = tanh(a/2)) on the same example, as in `binary.surrogate_loss` with one sample.
  (On the `_bn` architectures the baseline pass also moves batch norm's running statistics;
  the study uses plain LeNet-300-100.)
- `psa`: path sample-analytic (Shekhovtsov et al. 2020), `binary.surrogate_loss` on the
  network's fully connected layers (LeNet-300-100 only). Its per-layer analytic term is not a
  re-forward per flipped unit: flipping input unit i of a fully connected layer moves every
  pre-activation by −2 w_{:, i} x_i, so all flips of a layer are one [batch, n_in, n_out]
  tensor (300 × 100 for the second layer), and the last binary layer's flips one
  [batch, 100, 10] batch of logits; about 10 × the step time of the straight-through
  (52 vs 4.7 ms at batch 100 on one core).

With `binary_weights` every fully connected layer's weights are stochastic ±1 too
(`binary_weights.py`: latent η, P(w = +1) = σ(η), the mirror-descent straight-through update),
one weight draw per batch and per prediction sample.

The prediction is the mean of the class probabilities over `samples` sampled binary states
(the stochastic network's predictive distribution), the per-epoch validation over
`val_samples`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import SampledClassifier, StepContext
from methodlib.methods.gradients.binary import (
    PROXIES,
    BinaryNetwork,
    _log_prob_sign,
    concrete,
    logistic_noise,
    sample_sign,
    straight_through,
    surrogate_loss,
)
from methodlib.methods.gradients.binary_weights import binarize_weights, replace_modules
from methodlib.methods.gradients.configs import BinaryActivationsConfig


class StochasticBinary(nn.Module):
    """sign(a − Z) with logistic Z, differentiated by `estimator`. In `mean_field` mode it
    returns E[x | a] = tanh(a/2) (REINFORCE's baseline network); with `estimator` "reinforce"
    it keeps log p(x | a) of its sample per example in `log_prob`."""

    def __init__(self, estimator: str, tau: float):
        super().__init__()
        self.estimator, self.tau = estimator, tau
        self.mean_field = False
        self.log_prob: torch.Tensor | None = None

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if self.mean_field:
            return PROXIES["st"](a)
        noise = logistic_noise(a)
        if not self.training or self.estimator == "reinforce":
            out = sample_sign(a, noise)
            if self.training:
                self.log_prob = _log_prob_sign(out.flatten(1), a.flatten(1))
            return out
        if self.estimator == "concrete":
            return concrete(a, noise, self.tau)
        # psa trains through `binary.surrogate_loss`; a plain training-mode forward is ST's
        return straight_through(a, noise, self.estimator if self.estimator in PROXIES else "st")


def binarize(model: nn.Module, estimator: str, tau: float) -> list[StochasticBinary]:
    """Replace every `nn.ReLU` of `model` by a `StochasticBinary`, in place; returns them."""
    return replace_modules(model, nn.ReLU, lambda _: StochasticBinary(estimator, tau))


class BinaryActivations(SampledClassifier):
    Config = BinaryActivationsConfig
    config: BinaryActivationsConfig

    def build_model(self) -> nn.Module:
        model = super().build_model()
        if not binarize(model, self.config.estimator, self.config.tau):
            raise RunError(f"binary_activations: {self.model_name} has no nn.ReLU to binarise")
        if self.config.estimator == "psa" and self.model_name != "lenet300_100":
            raise RunError("binary_activations: estimator psa takes lenet300_100 only")
        if self.config.binary_weights:
            binarize_weights(model, self.config.weight_init_scale)
        return model

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        if self.config.estimator == "psa":
            linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
            net = BinaryNetwork([m.weight for m in linears], [m.bias for m in linears])
            return surrogate_loss(net, x.flatten(1), y, "psa")
        if self.config.estimator != "reinforce":
            return F.cross_entropy(model(x), y)
        units = [m for m in model.modules() if isinstance(m, StochasticBinary)]
        rows = F.cross_entropy(model(x), y, reduction="none")
        log_p = sum(unit.log_prob for unit in units)
        with torch.no_grad():
            for unit in units:
                unit.mean_field = True
            try:
                baseline = F.cross_entropy(model(x), y, reduction="none")
            finally:
                for unit in units:
                    unit.mean_field = False
        return (rows + (rows.detach() - baseline) * log_p).mean()
