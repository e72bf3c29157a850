"""The method registry, torch-free: a pipeline file's `method.name` maps to its config model
here, and through the config's `implementation` to its `Method` class, imported only when a run
needs it. The schema and the workflow's DAG read the configs alone.

Adding a method: write its config model (in its family's `configs.py`) and its implementation
module, add one line to `METHOD_CONFIGS` below.

Families (each a subpackage with a `configs.py`): `pruning`, `ensembles` (and approximate
inference), `diffusion`, `text`, `autoencoders`, `latent_vi`, `tensor_train`, `routing`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field

from methodlib.methods.adaptive.configs import ACTConfig, PACTConfig, SACTConfig
from methodlib.methods.autoencoders.configs import ALIConfig, PAGANConfig, VAEConfig
from methodlib.methods.config import MethodConfig
from methodlib.methods.diffusion.configs import DDPMConfig, SSDDPMConfig
from methodlib.methods.ensembles.configs import (
    FFGVIConfig,
    FGEConfig,
    KFACLaplaceConfig,
    MCDropoutConfig,
    SSEConfig,
    StochBNConfig,
    SWAConfig,
    SWAGConfig,
    VarianceNetConfig,
)
from methodlib.methods.gradients.configs import BinaryActivationsConfig
from methodlib.methods.gradients.vae_configs import (
    DirichletVAEConfig,
    VMFVAEConfig,
    VonMisesVAEConfig,
)
from methodlib.methods.imputation.configs import (
    IterativeImputeConfig,
    KNNImputeConfig,
    MeanImputeConfig,
    VAEACConfig,
    ZeroFillVAEConfig,
)
from methodlib.methods.latent_vi.configs import (
    DSIVIConfig,
    GaussianVAEConfig,
    IWHVIConfig,
    RobustVAEConfig,
    SIVampPriorConfig,
    SIVIConfig,
    VampPriorConfig,
)
from methodlib.methods.mc_gradients.configs import MCGradientVIConfig
from methodlib.methods.mh.configs import MHExplicitConfig, MHGANConfig
from methodlib.methods.perforation.configs import PerforatedCNNConfig
from methodlib.methods.pruning.configs import (
    BayesIncrementalConfig,
    DenseConfig,
    SBPConfig,
    SparseVDConfig,
    VDARDConfig,
)
from methodlib.methods.rnn_compression.configs import (
    DenseLSTMConfig,
    DenseLSTMLMConfig,
    SparseVDLSTMConfig,
    SparseVDLSTMLMConfig,
    SparseVDVocLSTMConfig,
)
from methodlib.methods.routing.configs import FixedResNetConfig, ReSetConfig
from methodlib.methods.tensor_train.configs import TTLayersConfig
from methodlib.methods.text.configs import ArLMConfig, EmbeddingDiffusionConfig, TEncDMConfig
from methodlib.model_catalog import MODEL_NAMES, model_interface, model_task

if TYPE_CHECKING:
    from methodlib.methods.base import Method

METHOD_CONFIGS: dict[str, type[MethodConfig]] = {
    config.method_name(): config
    for config in (
        DenseConfig,
        SparseVDConfig,
        VDARDConfig,
        SBPConfig,
        MCDropoutConfig,
        StochBNConfig,
        BayesIncrementalConfig,
        SWAConfig,
        SWAGConfig,
        SSEConfig,
        FGEConfig,
        FFGVIConfig,
        KFACLaplaceConfig,
        VarianceNetConfig,
        DDPMConfig,
        SSDDPMConfig,
        PAGANConfig,
        ALIConfig,
        VAEConfig,
        GaussianVAEConfig,
        VampPriorConfig,
        SIVIConfig,
        IWHVIConfig,
        DSIVIConfig,
        SIVampPriorConfig,
        RobustVAEConfig,
        DirichletVAEConfig,
        VMFVAEConfig,
        VonMisesVAEConfig,
        TEncDMConfig,
        EmbeddingDiffusionConfig,
        ArLMConfig,
        VAEACConfig,
        ZeroFillVAEConfig,
        MeanImputeConfig,
        IterativeImputeConfig,
        KNNImputeConfig,
        MHExplicitConfig,
        MHGANConfig,
        MCGradientVIConfig,
        PerforatedCNNConfig,
        DenseLSTMConfig,
        SparseVDLSTMConfig,
        SparseVDVocLSTMConfig,
        DenseLSTMLMConfig,
        SparseVDLSTMLMConfig,
        BinaryActivationsConfig,
        TTLayersConfig,
        ReSetConfig,
        FixedResNetConfig,
        ACTConfig,
        SACTConfig,
        PACTConfig,
    )
}

_configs = tuple(METHOD_CONFIGS.values())
if len(_configs) == 1:  # a discriminated union needs two members; pydantic checks the tag anyway
    MethodConfigUnion = _configs[0]
else:
    MethodConfigUnion = Annotated[Union[_configs], Field(discriminator="name")]  # noqa: UP007


def method_config(name: str) -> type[MethodConfig]:
    """The config model of the method `name` (its task and flags are class variables)."""
    return METHOD_CONFIGS[name]


def load_method(name: str) -> type[Method]:
    """The `Method` class of the method `name`, importing its implementation (and torch)."""
    module, _, cls = METHOD_CONFIGS[name].implementation.partition(":")
    return getattr(importlib.import_module(module), cls)


def model_problem(method_name: str, model_name: str) -> str | None:
    """Why the method cannot train this architecture (another task or interface, one its
    config's `models` leaves out, batch norm where the method cannot take it or none where it
    needs it); None if it can."""
    config = METHOD_CONFIGS[method_name]

    def fits(model: str) -> bool:
        return model_task(model) == config.task and model_interface(model) == config.interface

    if not fits(model_name):
        fitting = ", ".join(m for m in MODEL_NAMES if fits(m))
        return (
            f"model {model_name!r} is not for {config.task} methods such as {method_name!r}; "
            f"use one of {fitting}"
        )
    if config.models is not None and model_name not in config.models:
        return (
            f"method {method_name!r} takes only the models {', '.join(config.models)}; "
            f"not {model_name!r}"
        )
    if model_name.endswith("_bn") and not config.batch_norm:
        return f"method {method_name!r} cannot use batch norm; use model {model_name[:-3]!r}"
    if config.needs_batch_norm and not model_name.endswith("_bn"):
        return f"method {method_name!r} needs batch norm; use model {model_name + '_bn'!r}"
    return None


class _LazyMethods(Mapping[str, "type[Method]"]):
    """`METHODS[name]` is `load_method(name)`: the names are known without torch, the classes
    are imported on first use."""

    def __getitem__(self, name: str) -> type[Method]:
        return load_method(name)

    def __iter__(self) -> Iterator[str]:
        return iter(METHOD_CONFIGS)

    def __len__(self) -> int:
        return len(METHOD_CONFIGS)


METHODS: Mapping[str, type[Method]] = _LazyMethods()

_BASE_NAMES = {"DataInfo", "EpochContext", "Method", "StepContext"}


def __getattr__(name: str) -> Any:
    """The base classes of `methodlib.methods.base`, imported (with torch) on first use."""
    if name in _BASE_NAMES:
        return getattr(importlib.import_module("methodlib.methods.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "METHODS",
    "METHOD_CONFIGS",
    "DataInfo",
    "EpochContext",
    "Method",
    "MethodConfig",
    "MethodConfigUnion",
    "StepContext",
    "load_method",
    "method_config",
    "model_problem",
]
