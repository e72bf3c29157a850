"""Config models of the diffusion family (`ddpm`, `ss_ddpm`), torch-free: see
`methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from methodlib.methods.config import GenerativeConfig

FAMILY_SCHEDULES: dict[str, dict[str, float | str]] = {
    "gaussian": {"schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02, "cosine_s": 0.008},
    "beta": {"nu_max": 1e4, "nu_min": 1e-3, "spacing": "geometric"},
    "dirichlet": {"nu_max": 2000.0, "nu_min": 1e-6},
    "vmf": {"kappa_max": 1e3, "kappa_min": 1e-3, "max_rounds": 100},
}
"""Each star-shaped noise family's schedule fields and their defaults (the keywords of its
class in `star_families`, which a test keeps equal)."""

_CHOICES = {
    ("gaussian", "schedule"): ("linear", "cosine"),
    ("beta", "spacing"): ("geometric", "cosine"),
}
_FALLING = {"beta": "nu", "dirichlet": "nu", "vmf": "kappa"}


def check_falling(name: str, high: float, low: float, family: str) -> None:
    """A concentration schedule must fall from `<name>_max` to `<name>_min` > 0."""
    if not 0 < low < high:
        raise ValueError(
            f"{family} family: need 0 < {name}_min < {name}_max, got {name}_min={low}, "
            f"{name}_max={high}"
        )


def family_schedule(family: str, schedule: dict[str, float | str]) -> dict[str, float | str]:
    """The family's full schedule, `schedule` over the defaults; a ValueError names what is
    wrong (an unknown family or field, a bound or choice the family does not take)."""
    if family not in FAMILY_SCHEDULES:
        raise ValueError(
            f"star family {family!r} is unknown; choose one of {sorted(FAMILY_SCHEDULES)}"
        )
    allowed = list(FAMILY_SCHEDULES[family])
    unknown = sorted(set(schedule) - set(allowed))
    if unknown:
        raise ValueError(f"star family {family!r}: unknown fields {unknown}; it takes {allowed}")
    full = {**FAMILY_SCHEDULES[family], **schedule}
    if family in _FALLING:
        bound = _FALLING[family]
        check_falling(bound, full[f"{bound}_max"], full[f"{bound}_min"], family)
    for (where, field), choices in _CHOICES.items():
        if where == family and full[field] not in choices:
            raise ValueError(
                f"{family} family: {field} {full[field]!r} is unknown; use {', '.join(choices)}"
            )
    return full


class DiffusionConfig(GenerativeConfig):
    """Fields of the diffusion methods (`ddpm`, `ss_ddpm`).

    The validation scores (`methodlib.methods.diffusion.base`) are taken once, at the last
    epoch, and enter that row of the training log (where a selection reads them) and the
    run's metrics (where a claim reads them)."""

    metrics: ClassVar[tuple[str, ...]] = (
        *GenerativeConfig.metrics,
        "val_elbo",
        "val_sym_kl",
        "val_sliced_w",
    )
    log_columns: ClassVar[tuple[str, ...]] = ("val_elbo", "val_sym_kl", "val_sliced_w")
    revision: ClassVar[int] = 2  # 2: the last epoch's validation scores (issue 31)

    steps: PositiveInt = Field(100, le=10_000, description="diffusion steps T")
    elbo_draws: NonNegativeInt = Field(
        0,
        description="draws of (t, noise) per validation example for `val_elbo`, the negative "
        "ELBO on the validation split (0: not measured); the draws come from a fixed seed and "
        "in the same order in ddpm and Gaussian ss_ddpm, so two runs are paired on them",
    )
    validation_samples: NonNegativeInt = Field(
        0,
        description="samples drawn at the last epoch and scored against the validation split "
        "(`val_sym_kl`, `val_sliced_w`), for a selection that chooses on samples (0: none)",
    )


class DDPMConfig(DiffusionConfig):
    name: Literal["ddpm"] = "ddpm"
    display_name: ClassVar[str] = "DDPM"
    implementation: ClassVar[str] = "methodlib.methods.diffusion.ddpm:DDPM"
    schedule: Literal["linear", "cosine"] = "linear"
    beta_start: PositiveFloat = Field(1e-4, description="linear β_1 for T = 1000 (× 1000/T)")
    beta_end: PositiveFloat = Field(0.02, description="linear β_T for T = 1000 (× 1000/T)")
    prediction: Literal["eps", "x0"] = "eps"
    weighting: Literal["simple", "elbo"] = "simple"
    clip_denoised: bool = Field(
        False,
        description="clamp x̂0 to the domain's bounding box ([0, 1], or [-1, 1] on the sphere) "
        "at every sampling step, as Ho et al.'s image code does",
    )

    @model_validator(mode="after")
    def _increasing(self) -> DDPMConfig:
        if self.beta_start >= self.beta_end:
            raise ValueError(f"beta_start {self.beta_start:g} must be below beta_end")
        return self


class SSDDPMConfig(DiffusionConfig):
    name: Literal["ss_ddpm"] = "ss_ddpm"
    display_name: ClassVar[str] = "SS-DDPM"
    implementation: ClassVar[str] = "methodlib.methods.diffusion.ss_ddpm:SSDDPM"
    distribution: Literal["gaussian", "beta", "dirichlet", "vmf"] = "gaussian"
    schedule: dict[str, float | str] = Field(
        {},
        description="the family's schedule fields: gaussian schedule/beta_start/beta_end "
        "(as ddpm's), beta nu_max/nu_min/spacing, dirichlet nu_max/nu_min, vmf kappa_max/kappa_min",
    )
    weighting: Literal["elbo", "rescaled"] = Field(
        "elbo",
        description="the loss: the ELBO's KL terms, or each divided by its step's concentration "
        "(the reference code's kl_rescaled, the analogue of DDPM's L_simple)",
    )
    standardise_examples: PositiveInt = Field(
        2000, description="training examples whose forward chain gives G_t's mean and std"
    )

    @model_validator(mode="after")
    def _family_takes_schedule(self) -> SSDDPMConfig:
        family_schedule(self.distribution, self.schedule)  # an unknown field, a bad bound
        return self
