"""Mean imputation: every hidden entry is its column's training mean — 0 in standardised
units. The floor every imputer must beat: its NRMSE is about 1 (the column's spread)."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.imputation.base import FittedImputer
from methodlib.methods.imputation.configs import MeanImputeConfig


class MeanImpute(FittedImputer):
    Config = MeanImputeConfig

    def fit(self, x_train: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mean": x_train.mean(dim=0)}

    @torch.no_grad()
    def impute(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        mean = self.state["mean"].to(x.device, x.dtype).view(x.shape[1:])
        return torch.where(torch.isnan(x), mean.expand_as(x), x).unsqueeze(0)
