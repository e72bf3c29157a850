"""What an imputation method is: the `Method` hooks the shared training loop calls, plus
`impute`, which the imputation task (`methodlib/tasks/imputation.py`) calls on the test split
with the hidden entries as NaN and saves as (K, N, *shape) samples.

Two kinds. `NeuralImputer`: a latent-variable model trained on complete data under masks it
draws itself (`masks.train_mask`), with a Gaussian likelihood in standardised units.
`FittedImputer`: a baseline fitted once on the training split (`on_train_start`); it keeps what
it fitted in the method state (checkpointed with the run) and has no network, so the loop's
single epoch steps a zero-size placeholder parameter and costs nothing."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import Method, StepContext
from methodlib.methods.generative_base import fixed_rng
from methodlib.methods.imputation.masks import train_mask
from methodlib.models.imputation_mlp import IMPUTATION_SIZES, MLPSize

MIN_SIGMA = 0.01  # the reference's floor on a learned Gaussian scale


class ImputationMethod(Method):
    @torch.no_grad()
    def impute(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Samples of `x` (NaN where hidden) with its hidden entries filled: (K, B, *shape);
        observed entries may be anything (the task puts the truth back)."""
        raise NotImplementedError

    @torch.no_grad()
    def validation_metrics(
        self, model: nn.Module, x_val: torch.Tensor, batch_size: int = 1000
    ) -> dict[str, float]:
        return {}


class NeuralImputer(ImputationMethod):
    """Shared by VAEAC and the zero-filled VAE: the size of the networks, the training masks,
    the Gaussian likelihood and the validation loss. Distributions skip argument checks: they
    cost more than these small networks' steps."""

    @property
    def size(self) -> MLPSize:
        return IMPUTATION_SIZES[self.model_name]

    @property
    def dim(self) -> int:
        return math.prod(self.info.input_shape)

    def losses(self, model: nn.Module, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        """The negative variational lower bound per example and feature, shape (B,), with
        `missing` (True = hidden) the mask to learn to impute."""
        raise NotImplementedError

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return self.losses(model, x, train_mask(x, self.config.mask_rate)).mean()

    @torch.no_grad()
    def validation_metrics(
        self, model: nn.Module, x_val: torch.Tensor, batch_size: int = 1000
    ) -> dict[str, float]:
        """The loss on the validation split under the same masks and noise every epoch."""
        with fixed_rng(x_val.device):
            total = sum(
                self.losses(model, xb, train_mask(xb, self.config.mask_rate)).sum().item()
                for xb in x_val.split(batch_size)
            )
        return {"val_loss": total / len(x_val)}

    def gaussian(self, params: torch.Tensor) -> torch.distributions.Normal:
        """The likelihood N(mean, σ²) of each entry from a network's (B, 2D) output: σ is the
        config's `sigma`, or softplus of the second half, at least `MIN_SIGMA`."""
        mean, raw = params.chunk(2, dim=1)
        if self.config.sigma is not None:
            sigma = torch.full_like(mean, self.config.sigma)
        else:
            sigma = F.softplus(raw).clamp_min(MIN_SIGMA)
        return torch.distributions.Normal(mean, sigma, validate_args=False)


def observed_part(x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """`x` with its hidden entries set to 0 (the training mean, in standardised units)."""
    return torch.where(missing, torch.zeros_like(x), x)


def latent_normal(params: torch.Tensor) -> torch.distributions.Normal:
    """N(μ, σ²) from a network's (B, 2L) output: σ = softplus, at least 1e-3 (the reference's
    `normal_parse_params`)."""
    mu, raw = params.chunk(2, dim=1)
    return torch.distributions.Normal(mu, F.softplus(raw).clamp_min(1e-3), validate_args=False)


class Placeholder(nn.Module):
    """The network of a fitted baseline: none. One zero-size parameter gives the loop's
    optimizer something to hold; the forward pass is the identity."""

    def __init__(self):
        super().__init__()
        self.placeholder = nn.Parameter(torch.zeros(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class FittedImputer(ImputationMethod):
    """A baseline fitted on the (standardised) training split before the first epoch; its
    `state` (tensors) is what it fitted."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.state: dict[str, torch.Tensor] = {}

    def build_model(self) -> nn.Module:
        return Placeholder()

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return model.placeholder.sum()  # 0: nothing to learn by gradient

    def on_train_start(self, model: nn.Module, x_train: torch.Tensor) -> None:
        self.state = self.fit(x_train.flatten(1).cpu())

    def fit(self, x_train: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return dict(self.state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = dict(state)


class SklearnImputer(FittedImputer):
    """A scikit-learn imputer fitted on the training rows, kept as those rows (an estimator is
    no tensor): refitted, deterministically, where it imputes."""

    def fit(self, x_train: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"x_train": x_train.clone()}

    def estimator(self) -> Any:
        raise NotImplementedError

    @torch.no_grad()
    def impute(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        estimator = self.estimator().fit(self.state["x_train"].double().numpy())
        filled = estimator.transform(x.flatten(1).cpu().double().numpy())
        return torch.as_tensor(filled, dtype=x.dtype).view_as(x).unsqueeze(0).to(x.device)
