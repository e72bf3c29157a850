"""What ACT, SACT and PACT share: the `adaptive_resnet` network built with the method's halting
rule, the loss cross-entropy + τ ρ (ρ the image's ponder cost, `models/adaptive_resnet.py`),
one softmax prediction, and `ponder` (what each test image spent) for the
`adaptive_classification` task."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import ClassifierMethod, StepContext
from methodlib.models.adaptive_resnet import AdaptiveResNet


class AdaptiveMethod(ClassifierMethod):
    halting: ClassVar[str]

    def build_model(self) -> nn.Module:
        c = self.config
        return AdaptiveResNet(
            self.info.input_shape,
            self.info.n_classes,
            halting=self.halting,
            units=c.units,
            width=c.width,
            groups=c.groups,
            eps=getattr(c, "eps", 0.01),
            temperature=getattr(c, "temperature", 0.5),
        )

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        logits = model(x)
        return F.cross_entropy(logits, y) + self.config.tau * model.stats.cost.mean()

    @torch.no_grad()
    def ponder(self, model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per image of `x`: `ponder_cost` (B,), `ponder_maps` (B, H, W) at the first group's
        resolution and `macs` (B,), the multiply-adds its evaluation spent."""
        model(x)
        stats = model.stats
        return {"ponder_cost": stats.cost, "ponder_maps": stats.map, "macs": stats.macs}
