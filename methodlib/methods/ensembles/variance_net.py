"""`variance_net`: variance networks (Neklyudov, Molchanov, Ashukha, Vetrov, ICLR 2019,
"Variance Networks: When Expectation Does Not Meet Your Expectations"), a baseline of the
Pitfalls study (Ashukha et al. 2020).

In a variance layer every weight has a zero-mean posterior w ~ N(0, σ²) and only σ is learned.
With the local reparameterisation trick a pre-activation is

    b = bias + √(x²·σ²)·ε,    ε ~ N(0, 1),

so its mean carries nothing about the input: the information travels in the variance alone,
read out by the nonlinearity downstream (E[ReLU(b)] grows with √Var[b]). One forward pass is
therefore a random guess around the truth, and the prediction must average an ensemble of
`samples` passes; the mean network (all weights at their mean 0) predicts a constant.

Objective: the ELBO E_q[log p(y | x, w)] − KL(q ‖ p)/N per example. Under the paper's priors the
KL term does not depend on σ: the log-uniform prior p(|w|) ∝ 1/|w| is scale invariant, so
KL(N(0, σ²) ‖ log-U) is the same constant for every σ (the α = σ²/μ² → ∞ limit of sparse VD's
KL), and under the ARD prior N(0, τ²) the empirical-Bayes τ² = σ² makes it zero. Training hence
maximises the expected log-likelihood alone, estimated with one draw per example; that is what
the authors' PyTorch code does as well.

Which weight layers are variance layers is configurable (`variance_layers`: positions in forward
order, negative from the end, or "hidden" / "all"); the rest are ordinary deterministic layers
trained by maximum likelihood. The authors' LeNet-5 script makes any subset of the four layers
variance layers and trains 200 epochs on 60,000 images with batch normalisation after each
(the `_bn` models here). The default is the first layer only: in ~700 Adam steps (20 epochs of 3,500 MNIST
images) LeNet-5 then reaches 95.8 % test accuracy, both convolutions 90.9 %, every layer but the
last 79 % (80 % with batch norm); with all layers, the classifier included, LeNet-300-100 stalls
at chance (noise on the logits only costs likelihood at first, so its σ collapses).
"""

from __future__ import annotations

from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import SampledClassifier
from methodlib.methods.ensembles.configs import VarianceNetConfig
from methodlib.methods.layers.gaussian import VarianceConv2d, VarianceLinear
from methodlib.metrics.pruning import weight_layers
from methodlib.models import Layers, build_model


class VarianceLayers(Layers):
    """Hands out variance layers at the chosen positions, plain layers elsewhere."""

    def __init__(self, positions: set[int]):
        self.positions = positions
        self.count = 0

    def _variance(self) -> bool:
        self.count += 1
        return self.count - 1 in self.positions

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        return VarianceLinear(n_in, n_out) if self._variance() else nn.Linear(n_in, n_out)

    def conv2d(self, c_in: int, c_out: int, kernel: int, padding: int = 0) -> nn.Module:
        if self._variance():
            return VarianceConv2d(c_in, c_out, kernel, padding=padding)
        return nn.Conv2d(c_in, c_out, kernel, padding=padding)


class VarianceNet(SampledClassifier):
    Config = VarianceNetConfig
    config: VarianceNetConfig

    def _positions(self) -> set[int]:
        plain = build_model(self.model_name, self.info.input_shape, self.info.n_classes)
        n = len(weight_layers(plain))
        chosen = self.config.variance_layers
        if chosen == "all":
            return set(range(n))
        if chosen == "hidden":
            return set(range(n - 1))
        if any(not -n <= i < n for i in chosen):
            raise RunError(
                f"variance_net: variance_layers {chosen} out of range for {self.model_name}, "
                f"which has {n} weight layers (positions 0 to {n - 1}, or -{n} to -1)"
            )
        return {i % n for i in chosen}

    def layers(self) -> Layers:
        return VarianceLayers(self._positions())
