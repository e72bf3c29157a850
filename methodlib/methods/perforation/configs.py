"""Config model of the perforation family (`perforated_cnn`), torch-free: see
`methodlib.methods.config`."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, PositiveInt

from methodlib.methods.config import MethodConfig

Rate = Annotated[float, Field(ge=0, lt=1)]


class PerforatedCNNConfig(MethodConfig):
    name: Literal["perforated_cnn"] = "perforated_cnn"
    display_name: ClassVar[str] = "PerforatedCNN"
    implementation: ClassVar[str] = "methodlib.methods.perforation.perforated_cnn:PerforatedCNN"
    batch_norm: ClassVar[bool] = False  # the measured loss change is of the conv alone
    revision: ClassVar[int] = 2  # 2: every mask keeps the grid's count in every layer (issue 31)
    metrics: ClassVar[tuple[str, ...]] = (
        "perforation_rate",
        "dense_val_loss",
        "perforated_val_loss",
        "perforation_loss_increase",
        "perforation_speedup",
        "perforation_speedup_torch",
        "loss_increase_at_rate_*",
    )
    mask: Literal["uniform", "grid", "pooling", "impact"] = Field(
        "grid", description="which output positions are kept (Figurnov et al. 2016, §3.2)"
    )
    rates: list[Rate] = Field(
        [0.5],
        min_length=1,
        description="perforation rate (fraction of output positions skipped) of each conv "
        "layer in order; one value applies to every conv layer",
    )
    dense_epochs: PositiveInt = Field(
        1,
        description="epochs trained dense before perforating (after `init_from`: more training "
        "of the loaded network); the remaining training.epochs fine-tune the perforated one",
    )
    sweep_rates: list[Rate] = Field(
        [],
        description="rates (every conv layer) at which the loss increase at perforation is "
        "also measured, from the same dense network, as `loss_increase_at_rate_<percent>`",
    )
    impact_steps: PositiveInt = Field(
        4,
        description="impact mask: equal steps of positions skipped, impacts recomputed after each",
    )
    impact_examples: PositiveInt = Field(
        1000, description="impact mask: training images its impacts are averaged over"
    )
    timing_batch: PositiveInt = Field(
        64, description="batch size at which the perforated layers' CPU speed-up is measured"
    )

    def rate_of(self, layer: int) -> float:
        return self.rates[layer] if len(self.rates) > 1 else self.rates[0]
