"""`stoch_bn`: stochastic batch normalisation (Atanov, Ashukha, Molchanov, Neklyudov, Vetrov
2018, "Uncertainty estimation via stochastic batch normalization", ICLR workshop).

A network with batch normalisation is trained by maximum likelihood as usual. In training every
batch-norm layer normalises with the statistics of its mini-batch B,

    μ_B = mean of the layer's input over B,   σ²_B = its (biased) variance over B,

which are random: they depend on which examples share the batch. The paper reads training as
inference in a model where (μ_B, σ²_B) are latent, and predicts by averaging over their
distribution instead of plugging in the running averages:

    p(y | x) ≈ 1/S Σ_s p(y | x, μ^(s), σ²^(s)),   (μ^(s), σ²^(s)) ~ r(μ, σ²).

Stochastic BN approximates r per layer and per unit by the fully factorised

    μ ~ N(m_μ, s_μ²),   log σ² ~ N(m_ℓ, s_ℓ²)   (a log-normal variance),

fitted by the sample mean and standard deviation of μ_B and log σ²_B over mini-batches.

Here, as in the Pitfalls paper's evaluation (Ashukha et al. 2020), the statistics are gathered
once, from the final network, at the end of training: `stat_batches` mini-batches of the
training batch size, drawn as in training (shuffled passes over the training set, full batches
only), each passed through the network with every batch-norm layer normalising by its own batch
statistics, so deeper layers see what they saw in training. Their per-unit μ_B and σ²_B are kept
(in the method's state_dict), and at test time each of the `samples` predictions draws one set
of statistics for every layer, then runs the network with the batch-norm layers in evaluation
mode using the drawn values. `distribution: empirical` draws one of the collected mini-batches
instead of the fitted distribution (the exact, more expensive inference the paper
approximates). The per-epoch validation prediction uses the ordinary running averages.

The method needs batch normalisation: the pipeline file refuses it on a model without it (use
the `_bn` variant).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import ClassifierMethod, DataInfo, EpochContext
from methodlib.methods.ensembles.configs import StochBNConfig


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _reduced_dims(x: torch.Tensor) -> list[int]:
    """Every dimension but the channels: batch, and the spatial ones of a convolution."""
    return [0, *range(2, x.dim())]


@torch.no_grad()
def batch_statistics(
    model: nn.Module, x: torch.Tensor, batch_size: int, batches: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per batch-norm layer: the (batches, units) means and biased variances of its input over
    `batches` mini-batches of `x` (shuffled passes, full batches only), every batch-norm layer
    normalising with its own batch's statistics as in training. The model is left as it was:
    running averages untouched, modes restored."""
    norms = batch_norms(model)
    n = len(x)
    size = min(batch_size, n)
    passes = math.ceil(batches / (n // size))
    order = torch.cat([torch.randperm(n)[: n // size * size] for _ in range(passes)])
    order = order[: batches * size].view(batches, size).to(x.device)
    captured: dict[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]] = {bn: [] for bn in norms}

    def capture(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        dims = _reduced_dims(inputs[0])
        mean = inputs[0].mean(dims)
        var = inputs[0].var(dims, unbiased=False)
        captured[module].append((mean.cpu(), var.cpu()))

    modes = {m: m.training for m in model.modules()}
    tracking = [bn.track_running_stats for bn in norms]
    handles = [bn.register_forward_pre_hook(capture) for bn in norms]
    model.eval()
    for bn in norms:  # batch statistics without touching the running averages
        bn.train()
        bn.track_running_stats = False
    try:
        for idx in order:
            model(x[idx])
    finally:
        for handle in handles:
            handle.remove()
        for bn, track in zip(norms, tracking, strict=True):
            bn.track_running_stats = track
        for m, mode in modes.items():
            m.train(mode)
    return [
        (torch.stack([m for m, _ in captured[bn]]), torch.stack([v for _, v in captured[bn]]))
        for bn in norms
    ]


class StochBN(ClassifierMethod):
    Config = StochBNConfig
    config: StochBNConfig

    def __init__(self, config: StochBNConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.means: list[torch.Tensor] = []
        self.variances: list[torch.Tensor] = []

    def build_model(self) -> nn.Module:
        model = super().build_model()
        if not batch_norms(model):  # the spec refuses this; a direct caller gets told too
            raise RunError(
                f"stoch_bn: model {self.model_name!r} has no batch norm; use '{self.model_name}_bn'"
            )
        return model

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        if not ctx.last:
            return
        stats = batch_statistics(model, ctx.x_train, ctx.batch_size, self.config.stat_batches)
        self.means = [m for m, _ in stats]
        self.variances = [v for _, v in stats]

    def draw(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One set of statistics (mean, variance) per batch-norm layer."""
        if self.config.distribution == "empirical":
            i = torch.randint(len(self.means[0]), ()).item()  # one mini-batch for every layer
            return [(m[i], v[i]) for m, v in zip(self.means, self.variances, strict=True)]
        draws = []
        for means, variances in zip(self.means, self.variances, strict=True):
            log_var = variances.clamp_min(1e-12).log()
            mean = means.mean(0) + means.std(0) * torch.randn(means.shape[1])
            draws.append((mean, (log_var.mean(0) + log_var.std(0) * torch.randn_like(mean)).exp()))
        return draws

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """`samples` passes, each with batch-norm layers in evaluation mode normalising by one
        draw of statistics; running averages and modes are restored afterwards."""
        norms = batch_norms(model)
        if not norms:
            return super().predict_proba(model, x)
        if not self.means:
            raise RunError(
                "stoch_bn: no batch statistics collected; they are gathered after the last "
                "training epoch (a run's final predictions come after it)"
            )
        saved = [(bn.running_mean.clone(), bn.running_var.clone(), bn.training) for bn in norms]
        try:
            probs = []
            for _ in range(self.config.samples):
                for bn, (mean, var) in zip(norms, self.draw(), strict=True):
                    bn.eval()
                    bn.running_mean.copy_(mean)
                    bn.running_var.copy_(var)
                probs.append(F.softmax(model(x), dim=-1))
            return torch.stack(probs)
        finally:
            for bn, (mean, var, mode) in zip(norms, saved, strict=True):
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                bn.train(mode)

    @torch.no_grad()
    def validation_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The running-average prediction of ordinary batch norm."""
        return super().predict_proba(model, x)

    def state_dict(self) -> dict[str, Any]:
        return {"means": self.means, "variances": self.variances}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.means = list(state["means"])
        self.variances = list(state["variances"])
