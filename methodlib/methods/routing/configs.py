"""Config models of the routing family (`reset`, `resnet_fixed`), torch-free: see
`methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt

from methodlib.methods.config import MethodConfig

ROUTE_METRICS = (
    "route_separation",
    "route_class_distance",
    "route_shuffled_distance",
    "route_unit*_class*",
)
"""What `ReSet.run_metrics` reports of the routes on the validation split."""


class ResidualUnitsConfig(MethodConfig):
    """The network both methods share: a convolutional stem that brings the image to
    `channels` maps at a quarter of its side, `units` residual units, and a linear head."""

    interface: ClassVar[str | None] = "routing"
    batch_norm: ClassVar[bool] = False
    channels: PositiveInt = Field(16, description="feature maps of the stem and every unit")
    units: PositiveInt = Field(4, description="K, the residual units (two 3×3 convolutions)")


class FixedResNetConfig(ResidualUnitsConfig):
    name: Literal["resnet_fixed"] = "resnet_fixed"
    display_name: ClassVar[str] = "ResNet (fixed depth)"
    implementation: ClassVar[str] = "methodlib.methods.routing.reset:FixedResNet"


class ReSetConfig(ResidualUnitsConfig):
    name: Literal["reset"] = "reset"
    display_name: ClassVar[str] = "ReSet"
    implementation: ClassVar[str] = "methodlib.methods.routing.reset:ReSet"
    metrics: ClassVar[tuple[str, ...]] = ROUTE_METRICS
    steps: PositiveInt = Field(
        8, description="T, the routing steps: each applies one of the K units to the state"
    )
    temperature: PositiveFloat = Field(
        1.0, description="τ of the Gumbel-softmax whose straight-through choice trains routing"
    )
    shuffles: PositiveInt = Field(
        20, description="label permutations averaged in the shuffled baseline of route_separation"
    )
