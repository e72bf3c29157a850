"""Config models of the latent-variable VAE family (`gaussian_vae`, `vampprior`, `sivi`,
`iwhvi`, `dsivi`, `robust_vae`), torch-free: see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveInt

from methodlib.methods.config import GenerativeConfig

BOUND_KS = (1, 10, 100)
"""The numbers K of ψ draws at which semi-implicit runs report the sandwich on log q(z | x)."""


class LatentVAEConfig(GenerativeConfig):
    """A fully connected VAE (`vae_mlp`) with a Bernoulli decoder on binarised images: each
    training batch is binarised afresh (dynamic binarisation), the test split once with a fixed
    seed. `test_ll` is the importance-sampled bound on log p(x) of the test split with
    `eval_samples` draws (the IWAE bound of Burda et al. 2016), in nats per image."""

    interface: ClassVar[str | None] = "latent_vae"
    reconstructs: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = (*GenerativeConfig.metrics, "test_ll")

    latent_dim: PositiveInt = Field(8, le=512, description="dimension of z")
    hidden: PositiveInt = Field(200, le=4096, description="width of the hidden layers")
    eval_samples: PositiveInt = Field(
        100, le=100_000, description="importance samples of `test_ll` per test image"
    )
    eval_examples: PositiveInt | None = Field(
        None, description="score `test_ll` on the first this many test images (None: all)"
    )


class GaussianVAEConfig(LatentVAEConfig):
    name: Literal["gaussian_vae"] = "gaussian_vae"
    display_name: ClassVar[str] = "Gaussian encoder (ELBO)"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.gaussian:GaussianVAE"


class VampPriorConfig(LatentVAEConfig):
    name: Literal["vampprior"] = "vampprior"
    display_name: ClassVar[str] = "VampPrior"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.vampprior:VampPrior"
    pseudo_inputs: PositiveInt = Field(100, le=5000, description="number of pseudo-inputs")


class SIVIConfig(LatentVAEConfig):
    name: Literal["sivi"] = "sivi"
    display_name: ClassVar[str] = "SIVI"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.sivi:SIVI"
    metrics: ClassVar[tuple[str, ...]] = (
        *LatentVAEConfig.metrics,
        "logq_gap_k*",
        "logq_gap_drop_1_10",
        "logq_gap_drop_10_100",
    )

    noise_dim: PositiveInt = Field(8, le=512, description="dimension of the mixing noise ψ")
    k: PositiveInt = Field(
        10, le=10_000, description="ψ draws of the bound on log q(z | x) in training"
    )
    eval_k: PositiveInt = Field(
        10, le=10_000, description="ψ draws of the bound on log q(z | x) inside `test_ll`"
    )
    bound_examples: PositiveInt = Field(
        100, description="test images on which the sandwich on log q(z | x) is reported"
    )


class IWHVIConfig(SIVIConfig):
    name: Literal["iwhvi"] = "iwhvi"  # type: ignore[assignment]
    display_name: ClassVar[str] = "IWHVI"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.iwhvi:IWHVI"
    metrics: ClassVar[tuple[str, ...]] = (
        *SIVIConfig.metrics,
        "sivi_logq_gap_k*",
        "iwhvi10_sivi100_margin",
    )

    tau_fit: float = Field(
        0.0,
        ge=0,
        description="weight of a maximum-likelihood fit of τ to the encoder's own draws (ψ_0, z) "
        "added to the training loss (0: τ learns from the bound alone, as in the paper)",
    )


class DSIVIConfig(SIVIConfig):
    """SIVI's semi-implicit encoder with a semi-implicit VampPrior (Molchanov et al. 2019)."""

    name: Literal["dsivi"] = "dsivi"  # type: ignore[assignment]
    display_name: ClassVar[str] = "DSIVI (semi-implicit VampPrior)"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.dsivi:DSIVI"
    metrics: ClassVar[tuple[str, ...]] = (
        *SIVIConfig.metrics,
        "prior_gap_k*",
        "prior_gap_drop_1_10",
        "prior_gap_drop_10_100",
    )

    prior_noise: PositiveInt = Field(
        8, le=512, description="dimension of the noise ζ the prior's pseudo-inputs are made of"
    )
    prior_k: PositiveInt = Field(
        100, le=100_000, description="draws of the prior's mixing variable in training"
    )
    prior_eval_k: PositiveInt = Field(
        500, le=100_000, description="draws of the prior's mixing variable inside `test_ll`"
    )


class RobustVAEConfig(LatentVAEConfig):
    name: Literal["robust_vae"] = "robust_vae"
    display_name: ClassVar[str] = "Robust VI"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.robust:RobustVAE"

    log_epsilon: float = Field(
        -350.0,
        description="log ε (nats per image) of the robust evidence log(ε + p(x)): images "
        "whose log-likelihood falls well below it stop pulling on the model",
    )
    log_epsilon_start: float = Field(
        -2000.0,
        description="log ε at the start of training, raised linearly to `log_epsilon` over "
        "the first `warmup` of training (at ε far below every p(x) the bound is the ELBO)",
    )
    warmup: float = Field(0.3, ge=0, le=1, description="share of training spent raising ε")
    draws: PositiveInt = Field(1, le=10_000, description="draws of z inside log(ε + ·)")
