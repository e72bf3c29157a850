"""Config models of the adaptive-computation family (torch-free): ACT, SACT and PACT on the
`adaptive_resnet` architecture (`methodlib/models/adaptive_resnet.py`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from methodlib.methods.config import MethodConfig


class AdaptiveConfig(MethodConfig):
    """What the three halting rules share: the ponder cost's weight τ and the network's size."""

    task: ClassVar[str] = "adaptive_classification"
    batch_norm: ClassVar[bool] = False
    # 2: batch norm in the halting branches, SACT's first convolution counted on the dilated
    # mask (mfigurnov/sact; issue 31)
    revision: ClassVar[int] = 2

    tau: NonNegativeFloat = Field(
        0.01, description="weight τ of the ponder cost in the loss: cross-entropy + τ ρ"
    )
    units: int = Field(3, ge=2, description="residual units per group")
    width: PositiveInt = Field(16, description="channels of every residual unit")
    groups: PositiveInt = Field(
        2, description="groups of units; each after the first halves the resolution"
    )


class HaltingSumConfig(AdaptiveConfig):
    """ACT's rule, per image or per position: halt once the scores sum to 1 − ε."""

    eps: PositiveFloat = Field(0.01, lt=1, description="halt once the scores reach 1 − ε")


class ACTConfig(HaltingSumConfig):
    name: Literal["act"] = "act"
    display_name: ClassVar[str] = "ACT"
    implementation: ClassVar[str] = "methodlib.methods.adaptive.act:ACT"


class SACTConfig(HaltingSumConfig):
    name: Literal["sact"] = "sact"
    display_name: ClassVar[str] = "SACT"
    implementation: ClassVar[str] = "methodlib.methods.adaptive.sact:SACT"


class PACTConfig(AdaptiveConfig):
    name: Literal["pact"] = "pact"
    display_name: ClassVar[str] = "PACT"
    implementation: ClassVar[str] = "methodlib.methods.adaptive.pact:PACT"
    temperature: PositiveFloat = Field(
        0.5, description="temperature λ of the Concrete relaxation of the halting variables"
    )
