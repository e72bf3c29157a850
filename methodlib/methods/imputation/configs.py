"""Config models of the imputation methods (torch-free)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt

from methodlib.methods.config import MethodConfig


class ImputationConfig(MethodConfig):
    task: ClassVar[str] = "imputation"
    batch_norm: ClassVar[bool] = False


class NeuralImputationConfig(ImputationConfig):
    """Fields of the latent-variable imputers (VAEAC, the zero-filled VAE)."""

    imputations: PositiveInt = Field(10, description="samples drawn per test example")
    mask_rate: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="training masks: the MCAR rate (vectors; one of three mask kinds for images)",
    )
    sigma: PositiveFloat | None = Field(
        None,
        description="the Gaussian likelihood's scale in standardised units; None learns it per "
        "entry (at least 0.01), as the reference does for images; it fixes 1 for tables",
    )


class VAEACConfig(NeuralImputationConfig):
    implementation: ClassVar[str] = "methodlib.methods.imputation.vaeac:VAEAC"
    display_name: ClassVar[str] = "VAEAC"

    name: Literal["vaeac"] = "vaeac"
    sigma_mu: PositiveFloat = Field(
        1e4, description="prior regulariser: the scale of the Normal prior on the prior's means"
    )
    sigma_sigma: PositiveFloat = Field(
        1e-4, description="prior regulariser: the weight of Σ(log σ − σ) on the prior's scales"
    )


class ZeroFillVAEConfig(NeuralImputationConfig):
    implementation: ClassVar[str] = "methodlib.methods.imputation.zero_fill_vae:ZeroFillVAE"
    display_name: ClassVar[str] = "VAE (zero-filled)"

    name: Literal["vae_zero_fill"] = "vae_zero_fill"


class MeanImputeConfig(ImputationConfig):
    implementation: ClassVar[str] = "methodlib.methods.imputation.mean_impute:MeanImpute"
    display_name: ClassVar[str] = "Mean"

    name: Literal["mean_impute"] = "mean_impute"


class IterativeImputeConfig(ImputationConfig):
    implementation: ClassVar[str] = "methodlib.methods.imputation.iterative_impute:IterativeImpute"
    display_name: ClassVar[str] = "IterativeImputer"

    name: Literal["iterative_impute"] = "iterative_impute"
    max_iter: PositiveInt = Field(10, description="rounds of the chained regressions")


class KNNImputeConfig(ImputationConfig):
    implementation: ClassVar[str] = "methodlib.methods.imputation.knn_impute:KNNImpute"
    display_name: ClassVar[str] = "KNNImputer"

    name: Literal["knn_impute"] = "knn_impute"
    neighbours: PositiveInt = Field(5, description="training rows averaged per imputation")
