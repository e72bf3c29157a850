"""What a generation method is: the `Method` hooks the shared training loop calls, read for a
model of the data instead of a classifier.

The loop is the same for every task; the generation task (`methodlib/tasks/generation.py`)
calls `validation_metrics` for the per-epoch validation columns (`val_loss`, on a fixed draw
of steps and noise so that epochs are comparable) and `generate` (and an autoencoder's
`reconstruct`) for the test outputs. Labels are ignored: a generative model learns p(x).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from methodlib.methods.base import DataInfo, Method, StepContext
from methodlib.methods.config import GenerativeConfig
from methodlib.metrics.generative import out_of_domain

VALIDATION_SEED = 0


@contextmanager
def fixed_rng(device: torch.device, seed: int = VALIDATION_SEED) -> Iterator[None]:
    """Draws inside come from a fork of the global RNG (of the CPU and of `device`) seeded with
    `seed`, so that repeated validations see the same noise and training's stream is untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class GenerativeMethod(Method):
    """A model of p(x): `losses` per example for training and validation, `generate` after."""

    def __init__(self, config: GenerativeConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.drawn: list[tuple[float, int]] = []  # (fraction off the domain, samples) per draw

    def losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The training objective of each example of a batch, shape (B,)."""
        raise NotImplementedError

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return self.losses(model, x).mean()

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        """`n` samples of the data's shape, in the data's domain where the method ensures it."""
        raise NotImplementedError

    @torch.no_grad()
    def validation_metrics(
        self, model: nn.Module, x_val: torch.Tensor, batch_size: int = 1000
    ) -> dict[str, float]:
        """The loss on the validation split with the same steps and noise every epoch (a
        forked RNG): the training curve's held-out column, free of the draw's noise."""
        with fixed_rng(x_val.device):
            total = sum(
                self.losses(model, x_val[i : i + batch_size]).sum().item()
                for i in range(0, len(x_val), batch_size)
            )
        return {"val_loss": total / len(x_val)}

    def score_test(self, model: nn.Module, x_test: torch.Tensor, batch_size: int) -> None:
        """Scores of the trained model on the test split that its samples cannot give (a
        VAE's importance-sampled log-likelihood), kept for `run_metrics`; called once by the
        generation task after training. None by default."""

    def into_domain(self, x: torch.Tensor) -> torch.Tensor:
        """Final samples mapped into the data's domain by `projection`; the fraction that
        were outside before it is counted, for `run_metrics` (`raw_out_of_domain`)."""
        outside = out_of_domain(x.flatten(1).cpu().double().numpy(), self.info.domain)
        self.drawn.append((float(outside), len(x)))
        return to_domain(x, self.info.domain, self.config.projection)

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        if not self.drawn:
            return {}
        total = sum(n for _, n in self.drawn)
        return {"raw_out_of_domain": sum(f * n for f, n in self.drawn) / total}


def to_domain(x: torch.Tensor, domain: str, how: str) -> torch.Tensor:
    """Map samples into the data's domain.

    `none` leaves them; `clip` clamps coordinates to [0, 1] (cube, and the box around the
    simplex, followed by renormalisation there) or rescales onto the sphere; `project` is the
    Euclidean projection: the same clamp for the cube, `project_simplex` for the simplex, x/‖x‖
    for the sphere.
    """
    if how == "none" or domain == "real":
        return x
    flat = x.flatten(1)
    if domain == "cube":
        out = flat.clamp(0.0, 1.0)
    elif domain == "sphere":
        out = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
    elif how == "clip":
        clipped = flat.clamp(0.0, 1.0)
        total = clipped.sum(dim=1, keepdim=True)
        uniform = torch.full_like(clipped, 1.0 / clipped.shape[1])
        out = torch.where(total > 0, clipped / total.clamp_min(1e-12), uniform)
    else:
        out = project_simplex(flat)
    return out.view_as(x)


def project_simplex(x: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row onto {p ≥ 0, Σp = 1} (Duchi et al. 2008): subtract the
    threshold θ = (Σ_{i≤ρ} u_i − 1)/ρ of the sorted values u and clamp at zero. In float64:
    the cumulative sums must resolve 1 next to large coordinates."""
    dtype, x = x.dtype, x.double()
    u, _ = torch.sort(x, dim=1, descending=True)
    css = u.cumsum(dim=1) - 1.0
    k = torch.arange(1, x.shape[1] + 1, device=x.device, dtype=x.dtype)
    rho = (u - css / k > 0).sum(dim=1, keepdim=True).clamp_min(1)  # ≥ 1 unless a row is NaN
    theta = css.gather(1, rho - 1) / rho.to(x.dtype)
    return (x - theta).clamp_min(0.0).to(dtype)
