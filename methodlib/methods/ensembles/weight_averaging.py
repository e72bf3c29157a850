"""What SWA and SWAG share: running moments of the flattened weights and networks built from them.

Both methods collect the weight vector θ_i at the end of epochs late in training. The running
mean is SWA's solution (Izmailov et al. 2018), updated with `torch.optim.swa_utils`'s
equal-weight rule θ̄ ← θ̄ + (θ_i − θ̄)/(n + 1); SWAG (Maddox et al. 2019) also keeps the mean of
the squares (its diagonal variance) and the last K deviations θ_i − θ̄ (its low-rank factor).

Weights averaged or sampled this way never met the batch-norm running statistics of training,
so a network built from them has those statistics recomputed with one pass over the training
data (`torch.optim.swa_utils.update_bn`). Such a network is kept as a state dict and evaluated
with `torch.func.functional_call`, leaving the trained model untouched.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.optim.swa_utils import get_swa_avg_fn, update_bn

Weights = dict[str, torch.Tensor]
"""A network's full state dict (parameters and buffers)."""

_average = get_swa_avg_fn()


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """All parameters as one detached vector (a copy)."""
    return parameters_to_vector(p.detach() for p in model.parameters()).clone()


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def weights_from_vector(
    model: nn.Module, flat: torch.Tensor, x_train: torch.Tensor | None, batch_size: int
) -> Weights:
    """The state dict of `model` with its parameters set to `flat` and, if it has batch norm,
    the statistics recomputed on `x_train` (required then)."""
    net = copy.deepcopy(model)
    vector_to_parameters(flat.to(next(model.parameters()).device), net.parameters())
    if has_batch_norm(net):
        if x_train is None:
            raise ValueError("recomputing batch-norm statistics needs the training inputs")
        batches = (x_train[i : i + batch_size] for i in range(0, len(x_train), batch_size))
        update_bn(batches, net)
    return {name: value.detach().clone() for name, value in net.state_dict().items()}


def proba_with(model: nn.Module, weights: Weights, x: torch.Tensor) -> torch.Tensor:
    """Softmax outputs (batch, classes) of `model`'s architecture with other weights, in the
    model's current mode (in training mode on copies, which batch norm may update)."""
    weights = {name: value.to(x.device, copy=model.training) for name, value in weights.items()}
    return F.softmax(functional_call(model, weights, (x,)), dim=-1)


class WeightMoments:
    """Running moments of a weight vector: the mean always; with `rank` set, the mean of the
    squares and the last `rank` deviations from the running mean too (SWAG)."""

    def __init__(self, rank: int | None = None):
        self.rank = rank
        self.n = 0
        self.mean: torch.Tensor | None = None
        self.sq_mean: torch.Tensor | None = None
        self.deviations: list[torch.Tensor] = []

    def update(self, flat: torch.Tensor) -> None:
        if self.mean is None:
            self.mean = torch.zeros_like(flat)
            self.sq_mean = torch.zeros_like(flat) if self.rank is not None else None
        self.mean = _average(self.mean.to(flat.device), flat, self.n)
        if self.rank is not None:
            self.sq_mean = _average(self.sq_mean.to(flat.device), flat.square(), self.n)
            self.deviations = [d.to(flat.device) for d in self.deviations]
            self.deviations = [*self.deviations, flat - self.mean][-self.rank :]
        self.n += 1

    def variance(self) -> torch.Tensor:
        """The diagonal variance E[θ²] − E[θ]², clamped at a tiny positive value (SWAG)."""
        return (self.sq_mean - self.mean.square()).clamp_min(1e-30)

    def state_dict(self) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        if self.mean is None:
            return {}
        state = {"n": torch.tensor(self.n), "mean": self.mean}
        if self.rank is not None:
            state.update(sq_mean=self.sq_mean, deviations=list(self.deviations))
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor | list[torch.Tensor]]) -> None:
        self.n = int(state["n"]) if state else 0
        self.mean = state.get("mean")
        self.sq_mean = state.get("sq_mean")
        self.deviations = list(state.get("deviations", []))
