"""Config models of the Metropolis–Hastings samplers (`mh_explicit`, `mh_gan`), torch-free:
see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from methodlib.methods.config import GenerativeConfig


class MHConfig(GenerativeConfig):
    """What both samplers have: the acceptance-rate log column and run metrics, and the
    independent MH chain that turns proposals into final samples."""

    metrics: ClassVar[tuple[str, ...]] = (
        *GenerativeConfig.metrics,
        "acceptance_first",
        "acceptance_last",
        "acceptance_gain",
    )
    log_columns: ClassVar[tuple[str, ...]] = ("acceptance",)

    projection: Literal["none", "clip", "project"] = Field(
        "none", description="how final samples are mapped into a constrained data domain"
    )
    mh_steps: NonNegativeInt = Field(
        20,
        description="independent MH steps from a proposal draw to each saved sample (0: the "
        "raw proposal draws)",
    )


class MHExplicitConfig(MHConfig):
    """A learned independent proposal q (a `realnvp` flow) for a target known up to a constant
    (a `synthetic` dataset of kind ring, banana or mixture2d), trained by the lower bound on
    the acceptance rate."""

    name: Literal["mh_explicit"] = "mh_explicit"
    display_name: ClassVar[str] = "MH explicit sampler"
    implementation: ClassVar[str] = "methodlib.methods.mh.explicit:MHExplicit"
    interface: ClassVar[str | None] = "flow"
    needs_density: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = (*MHConfig.metrics, "mean_error", "cov_error")

    bound: Literal["log_min", "symmetric_kl"] = Field(
        "log_min",
        description="log_min: E log min{1, ξ} (Jensen), symmetric_kl: KL(q‖p) + KL(p‖q) (the "
        "Pinsker bound 1 − √(sym KL / 2)); both estimated on the chain's states for x ~ p",
    )
    chains: PositiveInt = Field(256, description="parallel MH chains that stand in for x ~ p")
    moment_samples: PositiveInt = Field(
        4000, description="samples whose mean and covariance are checked against the target's"
    )


class MHGANConfig(MHConfig):
    """A generator as the independent proposal and a discriminator as the acceptance test, for
    a target given by samples; the generator maximises the acceptance-rate bound."""

    name: Literal["mh_gan"] = "mh_gan"
    display_name: ClassVar[str] = "MH GAN"
    implementation: ClassVar[str] = "methodlib.methods.mh.gan:MHGAN"
    interface: ClassVar[str | None] = "gan"
    log_columns: ClassVar[tuple[str, ...]] = (
        *MHConfig.log_columns,
        "disc_loss",
        "refit_steps",
        "disc_val_loss",
    )
    revision: ClassVar[int] = 2  # 2: refit to convergence and calibrate at every scored epoch
    # (issue 31), the discriminator sees the draws in the data's domain
    generator_loss: Literal["mh_bound", "nonsaturating"] = Field(
        "mh_bound",
        description="mh_bound: maximise E log min{1, D-ratio(x')/D-ratio(x)}; nonsaturating: "
        "the usual −log D(G(z)) (a baseline)",
    )
    discriminator_lr: PositiveFloat = Field(1e-3, description="Adam step of the discriminator")
    scored_epochs: int = Field(
        5,
        ge=2,
        description="epochs (evenly spread, the first and the last among them) at which the "
        "acceptance rate is scored by a discriminator refitted to convergence against the "
        "frozen generator and calibrated on the validation split; the others log NaN",
    )
    calibration_steps: PositiveInt = Field(
        1000,
        description="the most discriminator steps of each refit (it stops earlier when its "
        "held-out loss stops improving: `refit_patience`)",
    )
    refit_check_every: PositiveInt = Field(
        25, description="refit steps between checks of the held-out logistic loss"
    )
    refit_patience: PositiveInt = Field(
        4, description="checks without a new best held-out loss after which a refit stops"
    )
