"""Config models of the gradient-estimator family's training methods (torch-free)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat

from methodlib.methods.config import MethodConfig


class BinaryActivationsConfig(MethodConfig):
    name: Literal["binary_activations"] = "binary_activations"
    display_name: ClassVar[str] = "Binary activations"
    implementation: ClassVar[str] = "methodlib.methods.gradients.binary_lenet:BinaryActivations"
    estimator: Literal["st", "st_identity", "st_tanh", "concrete", "reinforce"] = Field(
        "st",
        description="gradient estimator of the stochastic binary hidden units "
        "(methodlib/methods/gradients/binary.py): principled straight-through (2F'(a)), the "
        "identity or tanh proxies, the Concrete relaxation or REINFORCE with the mean-field "
        "baseline",
    )
    tau: PositiveFloat = Field(1.0, description="Concrete temperature")
    samples: int = Field(
        20, ge=1, description="sampled binary states whose class probabilities are averaged"
    )
    val_samples: int = Field(5, ge=1, description="samples of the per-epoch validation")
