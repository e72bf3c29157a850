"""Config models of the ensembles and approximate-inference family (`mc_dropout`,
`stoch_bn`, `swa`, `swag`, `sse`, `fge`, `ffg_vi`, `kfac_laplace`, `variance_net`), torch-free:
see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from methodlib.methods.config import MethodConfig
from methodlib.methods.pruning.configs import VariationalConfig


class MCDropoutConfig(MethodConfig):
    name: Literal["mc_dropout"] = "mc_dropout"
    display_name: ClassVar[str] = "MC dropout"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.mc_dropout:MCDropout"
    p: float = Field(0.5, ge=0, lt=1, description="dropout rate after fully connected layers")
    p_conv: float = Field(0.0, ge=0, lt=1, description="dropout rate after convolutions")
    samples: int = Field(20, ge=1, description="stochastic forward passes at test time")


class StochBNConfig(MethodConfig):
    name: Literal["stoch_bn"] = "stoch_bn"
    display_name: ClassVar[str] = "Stochastic BN"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.stoch_bn:StochBN"
    needs_batch_norm: ClassVar[bool] = True
    samples: int = Field(20, ge=1, description="sets of batch statistics drawn at test time")
    stat_batches: int = Field(
        100, ge=2, description="training mini-batches whose statistics are collected"
    )
    distribution: Literal["fitted", "empirical"] = Field(
        "fitted",
        description="fitted: per-unit Gaussian mean and log-normal variance (the paper's "
        "stochastic BN); empirical: the statistics of one collected mini-batch per draw",
    )


class SWAConfig(MethodConfig):
    name: Literal["swa"] = "swa"
    display_name: ClassVar[str] = "SWA"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.swa:SWA"
    metrics: ClassVar[tuple[str, ...]] = (
        "swa_val_accuracy",
        "swa_val_nll",
        "final_iterate_val_accuracy",
        "final_iterate_val_nll",
    )
    log_columns: ClassVar[tuple[str, ...]] = ("models_averaged",)
    start: float = Field(
        0.75, ge=0, lt=1, description="fraction of the epochs after which averaging starts"
    )
    swa_lr: float = Field(
        0.5, gt=0, description="learning rate while averaging, as a multiple of training.lr"
    )
    schedule: Literal["constant", "cyclic"] = Field(
        "constant",
        description="while averaging: swa_lr held constant, or cycles decaying linearly from "
        "the base rate to swa_lr",
    )
    cycle_epochs: int = Field(1, ge=1, description="cycle length of the cyclic schedule")
    predict_with: Literal["average", "final_iterate"] = Field(
        "average",
        description="test predictions of the averaged weights, or of the last iterate of the "
        "same (identical, seeded) training run: the paper's comparison on test data",
    )


class SWAGConfig(SWAConfig):
    name: Literal["swag"] = "swag"
    display_name: ClassVar[str] = "SWAG"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.swag:SWAG"
    max_rank: int = Field(20, ge=1, description="deviation columns K of the low-rank covariance")
    scale: float = Field(0.5, gt=0, description="multiplies the posterior covariance")
    samples: int = Field(30, ge=1, description="posterior draws at test time")
    predict_with: Literal["average"] = Field(
        "average", description="SWAG always predicts with its posterior draws"
    )


class SSEConfig(MethodConfig):
    name: Literal["sse"] = "sse"
    display_name: ClassVar[str] = "Snapshot ensemble"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.sse:SSE"
    log_columns: ClassVar[tuple[str, ...]] = ("snapshots",)
    cycles: int = Field(4, ge=1, description="cosine cycles, one snapshot each")


class FGEConfig(MethodConfig):
    name: Literal["fge"] = "fge"
    display_name: ClassVar[str] = "FGE"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.fge:FGE"
    log_columns: ClassVar[tuple[str, ...]] = ("snapshots",)
    cycle_epochs: int = Field(2, ge=1, description="epochs per cycle, one snapshot each")
    lr_high: float = Field(0.5, gt=0, description="peak learning rate, × training.lr")
    lr_low: float = Field(0.01, gt=0, description="learning rate at snapshots, × training.lr")

    @model_validator(mode="after")
    def _high_above_low(self) -> FGEConfig:
        if self.lr_low > self.lr_high:
            raise ValueError(f"lr_low ({self.lr_low}) must not exceed lr_high ({self.lr_high})")
        return self


class FFGVIConfig(VariationalConfig):
    name: Literal["ffg_vi"] = "ffg_vi"
    display_name: ClassVar[str] = "FFG VI"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.ffg_vi:FFGVI"
    log_columns: ClassVar[tuple[str, ...]] = ("kl_per_example", "median_sigma")
    prior_std: float = Field(0.1, gt=0, description="standard deviation s of the N(0, s²) prior")
    sigma_init: float = Field(1e-3, gt=0, description="initial posterior standard deviation σ")
    variational_lr_scale: float = Field(
        10.0,
        gt=0,
        description="learning-rate factor of log σ²: it must travel several units in a few "
        "hundred steps",
    )
    samples: int = Field(20, ge=1, description="weight samples averaged at test time")
    val_samples: int = Field(5, ge=1, description="weight samples of the per-epoch validation")


class KFACLaplaceConfig(MethodConfig):
    name: Literal["kfac_laplace"] = "kfac_laplace"
    display_name: ClassVar[str] = "K-FAC Laplace"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.kfac_laplace:KFACLaplace"
    metrics: ClassVar[tuple[str, ...]] = ("laplace_noise_scale", "laplace_val_nll")
    prior_precision: float = Field(
        1.0,
        gt=0,
        description="precision λ of the N(0, 1/λ) weight prior in the posterior (N·d matches a "
        "training.weight_decay of d)",
    )
    noise_scales: list[float] = Field(
        [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0],
        min_length=1,
        description="grid of posterior covariance scales τ; the one with the lowest "
        "validation NLL is kept",
    )
    samples: int = Field(20, ge=1, description="posterior weight samples averaged at test time")
    val_samples: int = Field(
        10, ge=1, description="weight samples per grid point and in the per-epoch validation"
    )


class VarianceNetConfig(MethodConfig):
    name: Literal["variance_net"] = "variance_net"
    display_name: ClassVar[str] = "Variance network"
    implementation: ClassVar[str] = "methodlib.methods.ensembles.variance_net:VarianceNet"
    variance_layers: Literal["hidden", "all"] | list[int] = Field(
        [0],
        description='which weight layers are variance layers: "hidden" (all but the last), '
        '"all", or positions in forward order (0 = first, -1 = last)',
    )
    samples: int = Field(20, ge=1, description="stochastic forward passes averaged at test time")
    val_samples: int = Field(5, ge=1, description="passes of the per-epoch validation")
