"""Config model of the tensor-train family (`tt_layers`), torch-free: see
`methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveInt, model_validator

from methodlib.methods.config import MethodConfig

TT_METRICS = ("tt_layer_params", "dense_layer_params", "tt_layer_compression")
"""What `TTLayers.run_metrics` reports of the TT layer."""


class TTLayersConfig(MethodConfig):
    name: Literal["tt_layers"] = "tt_layers"
    display_name: ClassVar[str] = "TT layer"
    implementation: ClassVar[str] = "methodlib.methods.tensor_train.tt_net:TTNet"
    metrics: ClassVar[tuple[str, ...]] = TT_METRICS
    tt_rank: PositiveInt | list[PositiveInt] = Field(
        8, description="TT-ranks r_1..r_{d-1} of the matrix (one number: all equal)"
    )
    input_modes: list[PositiveInt] | None = Field(
        None,
        description="m_1..m_d with m_1·…·m_d = the layer's inputs (784 = 4·7·4·7); default: "
        "`order` near-equal factors of the input size",
    )
    output_modes: list[PositiveInt] | None = Field(
        None,
        description="n_1..n_d with n_1·…·n_d = the layer's outputs (300 = 3·4·5·5); default: "
        "`order` near-equal factors of the output size",
    )
    order: PositiveInt = Field(4, description="d, the number of TT-cores, when no modes are given")

    @model_validator(mode="after")
    def _same_order(self) -> TTLayersConfig:
        orders = {
            name: len(modes)
            for name, modes in (
                ("input_modes", self.input_modes),
                ("output_modes", self.output_modes),
            )
            if modes is not None
        }
        if isinstance(self.tt_rank, list):
            orders["tt_rank (+1)"] = len(self.tt_rank) + 1
        if len(set(orders.values()) | ({self.order} if not orders else set())) > 1:
            raise ValueError(f"the TT orders differ: {orders}; give d modes and d - 1 ranks")
        return self

    def d(self) -> int:
        """The number of TT-cores."""
        if self.input_modes is not None:
            return len(self.input_modes)
        if self.output_modes is not None:
            return len(self.output_modes)
        return len(self.tt_rank) + 1 if isinstance(self.tt_rank, list) else self.order
