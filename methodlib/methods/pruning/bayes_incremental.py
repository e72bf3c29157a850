"""`bayes_incremental`: Bayesian incremental learning (Kochurov, Garipov, Podoprikhin, Molchanov,
Ashukha, Vetrov 2018, "Bayesian incremental learning for deep neural networks", ICLR workshop).

The training data arrive in K chunks D_1, ..., D_K and the model may see only the current chunk.
Bayes' rule is sequential, p(w | D_1..k) ∝ p(D_k | w)·p(w | D_1..k−1), so the approximate
posterior after chunk k − 1 can serve as the prior of chunk k. With a fully factorised Gaussian
q_k(w) = Π N(μ, σ²) (local reparameterisation trick; `layers.gaussian_prior`) chunk k maximises

    ELBO_k = Σ_{(x, y) ∈ D_k} E_q[log p(y | x, w)] − β·KL(q ‖ p_k),    p_1 = N(0, prior_std²),

where p_k (k > 1) is the frozen copy of q at the end of chunk k − 1; the loss is its per-example
form NLL + β·KL/|D_k|. Strategies (`strategy`):

- `bayes`: the above; predictions average `samples` Monte Carlo passes.
- `finetune`: maximum likelihood continued on each new chunk only (the baseline that forgets).
- `joint`: maximum likelihood on all the data every epoch (the upper bound).

Chunks: the training set is split at random into K parts of equal size (±1 example), seeded by
`seed`, as in the paper's random splits; a class-stratified split is not possible here because a
method learns the labels only once training has started. The run's `training.epochs` E are
shared evenly: epoch e (0-based) trains on chunk ⌊e·K/E⌋, which needs E ≥ K. `joint` draws from
all data but keeps the same schedule for its records. After the last epoch of every chunk the
validation accuracy is recorded (`accuracy_after_chunk_k` in metrics.json); the training log
has a `chunk` column (1-based).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import (
    ClassifierMethod,
    DataInfo,
    EpochContext,
    StepContext,
    sampled_proba,
)
from methodlib.methods.layers.factory import ReplacingLayers
from methodlib.methods.layers.gaussian_prior import (
    GaussianPriorConv2d,
    GaussianPriorLinear,
    gaussian_layers,
    total_kl,
)
from methodlib.methods.pruning.configs import BayesIncrementalConfig
from methodlib.models import Layers


def chunk_loss(
    nll: torch.Tensor, kl: torch.Tensor, chunk_size: int, kl_weight: float = 1.0
) -> torch.Tensor:
    """Chunk k's negative ELBO per example, NLL + β·KL(q ‖ p_k)/|D_k|, with `nll` the mean over
    examples of D_k (a minibatch's mean estimates it without bias) and `chunk_size` = |D_k|.

    Multiplied by |D_k| it is Σ_{D_k} E_q[−log p(y | x, w)] + β·KL(q ‖ p_k): at β = 1 its
    minimiser is the q closest in KL to p_k(w)·p(D_k | w), Bayes' rule with the previous
    posterior as the prior; and where q's family holds the exact posterior (a conjugate model)
    K chunk-by-chunk updates end where one update on all the data does. β ≠ 1 weights the data
    by 1/β (β = 0.01: each chunk counts a hundred times), a tempered posterior, not Bayes'."""
    return nll + kl_weight * kl / chunk_size


class BayesIncremental(ClassifierMethod):
    Config = BayesIncrementalConfig
    config: BayesIncrementalConfig

    def __init__(self, config: BayesIncrementalConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        order = torch.randperm(info.n_train, generator=torch.Generator().manual_seed(config.seed))
        self.chunk_indices = list(order.tensor_split(config.chunks))
        self.epochs = 0  # the run's length; learnt from the loop's contexts
        self.accuracy_after_chunk = torch.full((config.chunks,), math.nan, dtype=torch.float64)
        self._last_epoch = 0
        self._epoch_kl = 0.0

    @property
    def bayes(self) -> bool:
        return self.config.strategy == "bayes"

    def layers(self) -> Layers:
        if self.bayes:
            c = self.config
            return ReplacingLayers(
                GaussianPriorLinear, GaussianPriorConv2d, c.prior_std, c.log_sigma_init
            )
        return Layers()

    def chunk_of(self, epoch: int) -> int:
        """The 0-based chunk epoch `epoch` trains on: ⌊epoch·K/E⌋."""
        return 0 if epoch == 0 else epoch * self.config.chunks // self.epochs

    def _check_epochs(self, epochs: int) -> None:
        if epochs < self.config.chunks:
            raise RunError(
                f"bayes_incremental: training.epochs ({epochs}) is less than method.chunks "
                f"({self.config.chunks}); every chunk needs at least one epoch: raise "
                "training.epochs or lower method.chunks"
            )

    def epoch_subset(self, epoch: int) -> torch.Tensor | None:
        if epoch > 0:  # epoch 0 trains on chunk 0 whatever the run's length
            self._check_epochs(self.epochs)
        return None if self.config.strategy == "joint" else self.chunk_indices[self.chunk_of(epoch)]

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        named = list(model.named_parameters())
        is_log_sigma = [n.endswith("_log_sigma") for n, _ in named]
        return [
            {"params": [p for (_, p), s in zip(named, is_log_sigma, strict=True) if not s]},
            {
                "params": [p for (_, p), s in zip(named, is_log_sigma, strict=True) if s],
                "lr_scale": self.config.variational_lr_scale,
            },
        ]

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext):
        if ctx.epoch == 0 and ctx.step == 0:  # training starts: the run's length is known
            self._check_epochs(ctx.epochs)
        self.epochs = ctx.epochs
        nll = F.cross_entropy(model(x), y)
        if not self.bayes:
            return nll
        return chunk_loss(nll, total_kl(model), ctx.n_train, self.config.kl_weight)

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        samples = self.config.samples if self.bayes else 1
        return sampled_proba(model, x, samples)

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        self.epochs = ctx.epochs
        self._last_epoch = ctx.epoch
        if self.bayes:
            with torch.no_grad():  # the KL of the epoch's objective, before any prior update
                self._epoch_kl = total_kl(model).item()
        chunk = self.chunk_of(ctx.epoch)
        if not ctx.last and self.chunk_of(ctx.epoch + 1) == chunk:
            return
        self.accuracy_after_chunk[chunk] = self._accuracy(model, ctx)
        for layer in gaussian_layers(model):
            layer.set_prior_to_posterior()

    def _accuracy(self, model: nn.Module, ctx: EpochContext) -> float:
        was_training = model.training
        model.eval()
        try:
            correct = sum(
                (
                    self.predict_proba(model, ctx.x_val[i : i + ctx.batch_size]).mean(0).argmax(1)
                    == ctx.y_val[i : i + ctx.batch_size]
                )
                .sum()
                .item()
                for i in range(0, len(ctx.y_val), ctx.batch_size)
            )
        finally:
            model.train(was_training)
        return correct / len(ctx.y_val)

    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        metrics = {"chunk": float(self.chunk_of(self._last_epoch) + 1)}
        if self.bayes:
            chunk_size = len(self.chunk_indices[self.chunk_of(self._last_epoch)])
            metrics["kl_per_example"] = self._epoch_kl / chunk_size
        return metrics

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return {
            f"accuracy_after_chunk_{k + 1}": float(value)
            for k, value in enumerate(self.accuracy_after_chunk.tolist())
            if not math.isnan(value)
        }

    def state_dict(self) -> dict[str, Any]:
        """The priors are buffers of the model's layers and travel with its state_dict."""
        return {"epochs": self.epochs, "accuracy_after_chunk": self.accuracy_after_chunk.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs = state["epochs"]
        self.accuracy_after_chunk = state["accuracy_after_chunk"].clone()
