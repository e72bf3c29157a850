"""What a method is: a config model plus hooks the shared training loop calls.

A method decides how the network is built (its layer factory) and what loss one batch gives;
what its task saves after training (`methodlib/routines/`) it provides through its task's base
class: `ClassifierMethod` here (class probabilities with a samples axis — MC samples, SWAG
draws, snapshots — so every classification metric applies to every method unchanged),
`GenerativeMethod` (`generative_base.py`) and `TextMethod` (`text/base.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods import model_problem
from methodlib.methods.config import MethodConfig
from methodlib.models import Layers, build_model

PAD, CLS, SEP, UNK = 0, 1, 2, 3
"""The special tokens' compact ids in every text dataset (see `TextInfo`)."""


@dataclass(frozen=True)
class TextInfo:
    """The token space of a text dataset. Examples are rows of compact ids, `[CLS] w1 .. wn
    [SEP] [PAD] ..`, `max_len` long; compact id i is the tokenizer's id `vocab[i]`. The
    compact vocabulary holds only the tokens of the training texts (plus the four specials),
    so output layers over it are a fraction of the tokenizer's 30k."""

    tokenizer: str  # folder of a Hugging Face tokenizer (and, for `tencdm`, its encoder)
    vocab: tuple[int, ...]
    max_len: int


@dataclass(frozen=True)
class DataInfo:
    input_shape: tuple[int, ...]
    n_classes: int  # for text: the compact vocabulary's size
    n_train: int
    domain: str = "cube"  # where examples live: generative methods sample into it
    text: TextInfo | None = None  # text datasets only
    density: dict | None = None  # a closed-form target's `data.densities.density` arguments


@dataclass(frozen=True)
class StepContext:
    """Where training is, for schedules such as a KL weight warm-up."""

    epoch: int
    step: int
    steps_per_epoch: int
    epochs: int
    n_train: int

    @property
    def progress(self) -> float:
        """Fraction of all training steps done before this one, in [0, 1)."""
        return (self.epoch * self.steps_per_epoch + self.step) / (
            self.epochs * self.steps_per_epoch
        )


@dataclass(frozen=True)
class EpochContext:
    """What an end-of-epoch hook may need: the finished epoch (0-based) and the data, already
    on the training device (SWA recomputes batch-norm statistics on the training data, K-FAC
    Laplace fits its curvature there and picks its noise scale on validation)."""

    epoch: int
    epochs: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    batch_size: int

    @property
    def last(self) -> bool:
        return self.epoch == self.epochs - 1


@dataclass(frozen=True)
class Objective:
    """A loss the shared loop minimises on every batch before the method's `loss`, with an
    optimizer of its own: Adam over `param_groups` (a group's other keys are Adam's options,
    `betas` for the GANs), no weight decay. `lr` is its base rate, which the experiment's
    `training.lr_schedule` (or the method's `lr_factor`) scales as it scales `training.lr`;
    `lr_key` says where the rate is set, for the error on a non-finite loss. The optimizer's and
    scheduler's states are checkpointed with the run's, and `<name>_loss`, the epoch's mean,
    is a column of the training log. `loss` takes the arguments of `Method.loss`."""

    name: str
    param_groups: list[dict[str, Any]]
    lr: float
    lr_key: str
    loss: Callable[[nn.Module, torch.Tensor, torch.Tensor, StepContext], torch.Tensor]


def sampled_proba(model: nn.Module, x: torch.Tensor, samples: int) -> torch.Tensor:
    """Softmax outputs of `samples` stochastic forward passes, stacked: (samples, batch,
    classes); the samples axis of MC dropout and of networks with sampled weights."""
    return torch.stack([F.softmax(model(x), dim=-1) for _ in range(samples)])


class Method:
    """What every method has, whatever its task; subclasses override the hooks they change.

    A concrete method sets `Config`, its config model; its name, task and the architectures it
    takes are read from there (`MethodConfig`'s class variables), so they are said once."""

    Config: ClassVar[type[MethodConfig]] = MethodConfig
    name: ClassVar[str]
    task: ClassVar[str] = MethodConfig.task
    batch_norm: ClassVar[bool] = MethodConfig.batch_norm
    needs_batch_norm: ClassVar[bool] = MethodConfig.needs_batch_norm
    interface: ClassVar[str | None] = MethodConfig.interface

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        config = cls.Config
        cls.task, cls.interface = config.task, config.interface
        cls.batch_norm, cls.needs_batch_norm = config.batch_norm, config.needs_batch_norm
        if "Config" in vars(cls):
            cls.name = config.method_name()

    @classmethod
    def model_problem(cls, model: str) -> str | None:
        """Why the method cannot train this architecture; None if it can."""
        return model_problem(cls.name, model)

    @classmethod
    def takes_model(cls, model: str) -> bool:
        return cls.model_problem(model) is None

    def __init__(self, config: MethodConfig, model_name: str, info: DataInfo):
        self.config = config
        self.model_name = model_name
        self.info = info

    def layers(self) -> Layers:
        return Layers()

    def build_model(self) -> nn.Module:
        return build_model(
            self.model_name, self.info.input_shape, self.info.n_classes, self.layers()
        )

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        """The training objective of a batch (a scalar)."""
        raise NotImplementedError

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        """The optimizer's parameter groups; a group may carry an `lr_scale` that multiplies
        the experiment's learning rate (variational parameters that must travel far), and
        optimizer options such as Adam's `betas` (the GANs' β₁ = 0.5)."""
        return [{"params": list(model.parameters())}]

    def objectives(self, model: nn.Module) -> list[Objective]:
        """Losses with optimizers of their own (the GANs' discriminators), stepped in this
        order on each batch, before `loss` (see `Objective`)."""
        return []

    def lr_factor(self, ctx: StepContext) -> float | None:
        """The learning rate of this step as a multiple of each group's base rate, for methods
        with a schedule of their own (cyclic rates of snapshot ensembles and FGE, SWA's
        constant tail); None keeps the experiment's `training.lr_schedule`."""
        return None

    def epoch_subset(self, epoch: int) -> torch.Tensor | None:
        """Indices of the training examples this epoch draws its batches from (data arriving
        in chunks); None means all of them."""
        return None

    def on_train_start(self, model: nn.Module, x_train: torch.Tensor) -> None:
        """Called once before the first epoch of a fresh run (not when resuming: `state_dict`
        carries what it computed), with the training inputs on the training device."""

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        """Called after every epoch (SWA averaging, snapshots, fitting a posterior at the
        end of training, ...)."""

    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        """Extra columns for the training log (sparsity, KL, ...)."""
        return {}

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        """Extra metrics of the finished run (compression, ...), merged into metrics.json."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Method state outside the model (running averages, snapshots) for checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def init_from(self, model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
        """Start from another experiment's final weights (the `init_from` YAML field)."""
        model.load_state_dict(weights)


class ClassifierMethod(Method):
    """Maximum-likelihood classification: cross-entropy training and one softmax prediction.
    The classification task (`tasks/classification.py`) saves `predict_proba` on the test
    split and logs `validation_proba` on the validation split after every epoch."""

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return F.cross_entropy(model(x), y)

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities with a leading samples axis: (samples, batch, classes)."""
        return F.softmax(model(x), dim=-1).unsqueeze(0)

    @torch.no_grad()
    def validation_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The per-epoch validation predictions of the training log; methods whose test-time
        prediction is expensive (many posterior samples) may return a cheaper one."""
        return self.predict_proba(model, x)


class SampledClassifier(ClassifierMethod):
    """A classifier whose network is stochastic at test time (sampled weights or outputs): it
    predicts with `config.samples` forward passes and validates, every epoch, with the cheaper
    `config.val_samples`."""

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return sampled_proba(model, x, self.config.samples)

    @torch.no_grad()
    def validation_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return sampled_proba(model, x, self.config.val_samples)
