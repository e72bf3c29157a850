"""Config models of the latent-variable VAE family (`gaussian_vae`, `vampprior`, `sivi`,
`iwhvi`, `dsivi`, `si_vampprior`, `robust_vae`), torch-free: see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, NonNegativeInt, PositiveInt, model_validator

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
    kl_warmup: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="share of training (`training.epochs`) over which the weight of "
        "log p(z) − log q(z | x) in the training bound rises linearly from 0 to 1 (the "
        "reference's one-cycle `q_kl_warm_up_fraction`); validation and test use weight 1",
    )

    untriggered_defaults: ClassVar[dict[str, object]] = {"kl_warmup": 0.0}


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

    revision: ClassVar[int] = 2  # 2: ψ in every encoder layer and the variance (issue 31)

    noise_dim: PositiveInt = Field(8, le=512, description="dimension of the mixing noise ψ")
    k: PositiveInt = Field(
        10,
        le=10_000,
        description="ψ draws of the bound on log q(z | x) in training (the last K of "
        "`k_schedule` where there is one) and in the validation loss",
    )
    untriggered_defaults: ClassVar[dict[str, object]] = {
        **LatentVAEConfig.untriggered_defaults,
        "k_schedule": None,
    }

    k_schedule: list[tuple[NonNegativeInt, NonNegativeInt]] | None = Field(
        None,
        description="[epoch, K] pairs: training draws K ψ from that (0-based) epoch on, as "
        "the reference's `train_iwhvi_samples_step_schedule`; K = 0 is the HVM bound. It "
        "starts at epoch 0 and ends on K = `k` (None: K = `k` throughout)",
    )
    eval_k: PositiveInt = Field(
        10, le=10_000, description="ψ draws of the bound on log q(z | x) inside `test_ll`"
    )
    bound_examples: PositiveInt = Field(
        100, description="test images on which the sandwich on log q(z | x) is reported"
    )

    @model_validator(mode="after")
    def _schedule_ends_on_k(self) -> SIVIConfig:
        schedule = self.k_schedule
        if schedule is None:
            return self
        epochs = [epoch for epoch, _ in schedule]
        if not schedule or epochs[0] != 0 or epochs != sorted(set(epochs)):
            raise ValueError(
                f"method.k_schedule is {schedule}: give [epoch, K] pairs in increasing "
                "epochs, the first at epoch 0"
            )
        if schedule[-1][1] != self.k:
            raise ValueError(
                f"method.k_schedule ends on K = {schedule[-1][1]} but method.k is {self.k}: "
                "k is the K training ends on and validation uses; make them agree"
            )
        return self

    def k_at(self, epoch: int) -> int:
        """K of the training bound in `epoch` (0-based)."""
        if self.k_schedule is None:
            return self.k
        return [k for start, k in self.k_schedule if start <= epoch][-1]


class IWHVIConfig(SIVIConfig):
    name: Literal["iwhvi"] = "iwhvi"  # type: ignore[assignment]
    display_name: ClassVar[str] = "IWHVI"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.iwhvi:IWHVI"
    metrics: ClassVar[tuple[str, ...]] = (
        *SIVIConfig.metrics,
        "sivi_logq_gap_k*",
        "iwhvi10_sivi100_margin",
    )

    revision: ClassVar[int] = 2  # 2: τ reads x and z through two layers; DReG (issue 31)

    tau_gradient: Literal["dreg", "plain"] = Field(
        "dreg",
        description="gradient of τ's parameters: `dreg`, the doubly reparameterised estimator "
        "of the reference (`--tau_use_dreg`), or `plain`, the bound's own reparameterised "
        "gradient; the encoder and decoder take the plain gradient either way",
    )
    tau_fit: float = Field(
        0.0,
        ge=0,
        description="weight of a maximum-likelihood fit of τ to the encoder's own draws (ψ_0, z) "
        "added to the training loss (0: τ learns from the bound alone, as in the paper)",
    )


PRIOR_METRICS = ("prior_gap_k*", "prior_gap_drop_1_10", "prior_gap_drop_10_100")
"""The semi-implicit VampPrior's sandwich on log p(z) (`dsivi.SemiImplicitPrior`)."""


class SemiImplicitPriorFields(BaseModel):
    """The fields of DSIVI's semi-implicit VampPrior, on whichever encoder it sits."""

    prior_noise: PositiveInt = Field(
        8, le=512, description="dimension of the noise ζ the prior's pseudo-inputs are made of"
    )
    prior_k: PositiveInt = Field(
        100, le=100_000, description="draws of the prior's mixing variable in training"
    )
    prior_eval_k: PositiveInt = Field(
        500, le=100_000, description="draws of the prior's mixing variable inside `test_ll`"
    )


class DSIVIConfig(SIVIConfig, SemiImplicitPriorFields):
    """SIVI's semi-implicit encoder with a semi-implicit VampPrior (Molchanov et al. 2019)."""

    name: Literal["dsivi"] = "dsivi"  # type: ignore[assignment]
    display_name: ClassVar[str] = "DSIVI (semi-implicit encoder and VampPrior)"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.dsivi:DSIVI"
    metrics: ClassVar[tuple[str, ...]] = (*SIVIConfig.metrics, *PRIOR_METRICS)


class SIVampPriorConfig(LatentVAEConfig, SemiImplicitPriorFields):
    """DSIVI's semi-implicit VampPrior on the Gaussian encoder of `gaussian_vae` and
    `vampprior`: against the VampPrior it differs in the prior alone."""

    name: Literal["si_vampprior"] = "si_vampprior"
    display_name: ClassVar[str] = "Semi-implicit VampPrior (DSIVI)"
    implementation: ClassVar[str] = "methodlib.methods.latent_vi.dsivi:SIVampPrior"
    metrics: ClassVar[tuple[str, ...]] = (*LatentVAEConfig.metrics, *PRIOR_METRICS)

    bound_examples: PositiveInt = Field(
        100, description="draws z ~ p(z) on which the sandwich on log p(z) is reported"
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

    @model_validator(mode="after")
    def _own_warm_up(self) -> RobustVAEConfig:
        if self.kl_warmup:
            raise ValueError(
                "method.kl_warmup: robust_vae warms up ε instead (method.warmup); leave it 0"
            )
        return self
