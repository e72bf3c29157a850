"""`reset` (Kemaev, Polykovskiy, Vetrov 2018, "ReSet: learning recurrent dynamic routing in
ResNet-like neural networks") and `resnet_fixed`, its fixed-depth baseline: both build
`models.routed_resnet.RoutedResNet` from their config (the experiment's `model` names its
interface) and train it by maximum likelihood.

ReSet applies T steps chosen from K shared units, so at equal parameter count (K units plus a
controller of C·K + T·K weights against K units) it has T/K times the depth. Whether its routes
depend on the input is measured at the end of training on the validation split (the argmax
routes, as at test time):

- the route profile of class c is P_c[t, k], the share of class-c inputs sent to unit k at
  step t;
- `route_class_distance` D = mean over pairs of classes c ≠ c' of the mean over steps of the
  total-variation distance ½ Σ_k |P_c[t, k] − P_c'[t, k]|;
- `route_shuffled_distance` is D with the labels permuted (`shuffles` seeded permutations,
  averaged): what finite classes give when routes ignore the class;
- `route_separation` = D − D_shuffled, > 0 when classes take different routes;
- `route_unit<k>_class<c>` = mean over steps of P_c[t, k], the report's route figure.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from methodlib.methods.base import ClassifierMethod, EpochContext
from methodlib.methods.routing.configs import FixedResNetConfig, ReSetConfig
from methodlib.models.routed_resnet import RoutedResNet


def route_profiles(routes: torch.Tensor, labels: torch.Tensor, units: int, classes: int):
    """P[c, t, k]: the share of class-c inputs whose route takes unit k at step t (rows of
    absent classes are zero), and which classes are present."""
    onehot = nn.functional.one_hot(routes, units).float()  # (n, T, K)
    by_class = nn.functional.one_hot(labels, classes).float()  # (n, C)
    counts = by_class.sum(0)
    profiles = torch.einsum("nc,ntk->ctk", by_class, onehot) / counts.clamp_min(1)[:, None, None]
    return profiles, counts > 0


def mean_class_distance(profiles: torch.Tensor, present: torch.Tensor) -> float:
    """Mean over pairs of present classes of the step-averaged total-variation distance."""
    p = profiles[present]
    tv = 0.5 * (p[:, None] - p[None]).abs().sum(-1).mean(-1)  # (C, C)
    c = len(p)
    return float(tv.sum() / (c * (c - 1))) if c > 1 else 0.0


def route_statistics(
    routes: torch.Tensor, labels: torch.Tensor, units: int, classes: int, shuffles: int
) -> dict[str, float]:
    """The route metrics of the module docstring."""
    profiles, present = route_profiles(routes, labels, units, classes)
    distance = mean_class_distance(profiles, present)
    generator = torch.Generator().manual_seed(0)
    shuffled = [
        mean_class_distance(
            *route_profiles(
                routes, labels[torch.randperm(len(labels), generator=generator)], units, classes
            )
        )
        for _ in range(shuffles)
    ]
    shares = profiles.mean(1)  # (C, K)
    return {
        "route_class_distance": distance,
        "route_shuffled_distance": sum(shuffled) / shuffles,
        "route_separation": distance - sum(shuffled) / shuffles,
        **{
            f"route_unit{k}_class{c}": float(shares[c, k])
            for c in range(classes)
            if present[c]
            for k in range(units)
        },
    }


class FixedResNet(ClassifierMethod):
    Config = FixedResNetConfig

    def build_model(self) -> nn.Module:
        c = self.config
        return RoutedResNet(
            self.info.input_shape, self.info.n_classes, self.layers(), c.channels, c.units
        )


class ReSet(ClassifierMethod):
    Config = ReSetConfig

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.route_metrics: dict[str, float] = {}

    def build_model(self) -> nn.Module:
        c = self.config
        return RoutedResNet(
            self.info.input_shape,
            self.info.n_classes,
            self.layers(),
            c.channels,
            c.units,
            steps=c.steps,
            temperature=c.temperature,
        )

    @torch.no_grad()
    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        """After the last epoch: the routes of the validation split and their statistics."""
        if not ctx.last:
            return
        was_training = model.training
        model.eval()
        routes = torch.cat(
            [
                model.forward_with_routes(ctx.x_val[i : i + ctx.batch_size])[1]
                for i in range(0, len(ctx.x_val), ctx.batch_size)
            ]
        )
        model.train(was_training)
        self.route_metrics = route_statistics(
            routes.cpu(),
            ctx.y_val.cpu(),
            self.config.units,
            self.info.n_classes,
            self.config.shuffles,
        )

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return dict(self.route_metrics)

    def state_dict(self) -> dict[str, Any]:
        return {"route_metrics": dict(self.route_metrics)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.route_metrics = dict(state.get("route_metrics", {}))
