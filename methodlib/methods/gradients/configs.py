"""Config models of the gradient-estimator family's training methods (torch-free)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, model_validator

from methodlib.methods.config import MethodConfig


class BinaryActivationsConfig(MethodConfig):
    name: Literal["binary_activations"] = "binary_activations"
    display_name: ClassVar[str] = "Binary activations"
    implementation: ClassVar[str] = "methodlib.methods.gradients.binary_lenet:BinaryActivations"
    models: ClassVar[tuple[str, ...]] = ("lenet300_100", "lenet300_100_bn", "lenet5", "lenet5_bn")
    """It binarises the ReLUs of the LeNets it was studied on (`binarize`)."""
    estimator: Literal["st", "st_identity", "st_tanh", "concrete", "reinforce", "psa"] = Field(
        "st",
        description="gradient estimator of the stochastic binary hidden units "
        "(methodlib/methods/gradients/binary.py): principled straight-through (2F'(a)), the "
        "identity or tanh proxies, the Concrete relaxation, REINFORCE with the mean-field "
        "baseline or path sample-analytic (fully connected networks only)",
    )
    tau: PositiveFloat = Field(1.0, description="Concrete temperature")
    binary_weights: bool = Field(
        False,
        description="stochastic ±1 weights in every fully connected layer, P(w = +1) = σ(η), "
        "trained by the mirror-descent straight-through update of the latent η "
        "(methodlib/methods/gradients/binary_weights.py)",
    )
    weight_init_scale: PositiveFloat = Field(
        3.0,
        description="binary weights: initial η is the dense initialisation × √fan_in × this "
        "(P(w = +1) initially spread over σ(±scale))",
    )

    @model_validator(mode="after")
    def _psa_has_real_weights(self) -> BinaryActivationsConfig:
        if self.estimator == "psa" and self.binary_weights:
            raise ValueError("estimator psa takes real weights (binary_weights: false)")
        return self

    samples: int = Field(
        20, ge=1, description="sampled binary states whose class probabilities are averaged"
    )
    val_samples: int = Field(5, ge=1, description="samples of the per-epoch validation")
