"""Two-dimensional targets known in closed form: an unnormalised log-density (what an explicit
sampler such as `mh_explicit` is trained on), an exact sampler (what the `synthetic` dataset
source draws its splits from, so generated samples are scored against true draws) and the first
two moments (what a learned sampler's samples are checked against).

The dataset kinds `ring`, `banana` and `mixture2d` are these targets; a prepared dataset names
its target in `meta.json` (`density`), and `DataInfo.density` carries it to the method.
`std_normal` (any dimension) is the standard normal: the reference target of the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from methodlib.dataset_kinds import DENSITY_KINDS

RING_RADIUS, RING_WIDTH = 2.0, 0.2
BANANA_SCALE, BANANA_BEND = 2.0, 0.5
MIXTURE_RADIUS, MIXTURE_WIDTH = 2.0, 0.25


@dataclass(frozen=True)
class Density:
    """A target: `log_prob` up to a constant, `sample`, and `mean`/`cov` in closed form."""

    kind: str
    dim: int = 2
    components: int = 8  # mixture2d only: modes evenly spaced on a circle

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Unnormalised log-density of each row of `x` (n, dim)."""
        if self.kind == "std_normal":
            return -0.5 * (x**2).sum(dim=1)
        if self.kind == "ring":  # radius ~ N(R, w²), angle uniform: density p(r) / (2π r)
            r = x.norm(dim=1).clamp_min(1e-12)
            return -0.5 * ((r - RING_RADIUS) / RING_WIDTH) ** 2 - r.log()
        if self.kind == "banana":  # x1 ~ N(0, a²), x2 | x1 ~ N(b (x1² − a²), 1)
            x1, x2 = x[:, 0], x[:, 1]
            bend = BANANA_BEND * (x1**2 - BANANA_SCALE**2)
            return -0.5 * (x1 / BANANA_SCALE) ** 2 - 0.5 * (x2 - bend) ** 2
        centres = torch.as_tensor(self._centres(), dtype=x.dtype, device=x.device)
        sq = ((x[:, None, :] - centres[None]) ** 2).sum(dim=2)
        return torch.logsumexp(-0.5 * sq / MIXTURE_WIDTH**2, dim=1)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`n` exact draws (n, dim) and their component labels (0 except for the mixture)."""
        labels = np.zeros(n, dtype=np.int64)
        if self.kind == "std_normal":
            return rng.standard_normal((n, self.dim)), labels
        if self.kind == "ring":
            r = np.abs(rng.normal(RING_RADIUS, RING_WIDTH, n))  # P(r < 0) is 10⁻²³: no change
            angle = rng.uniform(0.0, 2 * math.pi, n)
            return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1), labels
        if self.kind == "banana":
            x1 = rng.normal(0.0, BANANA_SCALE, n)
            x2 = rng.standard_normal(n) + BANANA_BEND * (x1**2 - BANANA_SCALE**2)
            return np.stack([x1, x2], axis=1), labels
        labels = rng.integers(0, self.components, n)
        noise = rng.normal(0.0, MIXTURE_WIDTH, (n, 2))
        return self._centres()[labels] + noise, labels

    def mean(self) -> np.ndarray:
        return np.zeros(self.dim)  # every target here is centred

    def cov(self) -> np.ndarray:
        if self.kind == "std_normal":
            return np.eye(self.dim)
        if self.kind == "ring":  # E r² / 2 per coordinate (the truncation at 0 is negligible)
            return np.eye(2) * (RING_RADIUS**2 + RING_WIDTH**2) / 2
        if self.kind == "banana":  # Var x2 = 1 + b² Var(x1²) = 1 + 2 b² a⁴; Cov(x1, x2) = 0
            return np.diag([BANANA_SCALE**2, 1 + 2 * BANANA_BEND**2 * BANANA_SCALE**4])
        centres = self._centres()
        return np.eye(2) * MIXTURE_WIDTH**2 + centres.T @ centres / len(centres)

    def _centres(self) -> np.ndarray:
        angles = 2 * math.pi * np.arange(self.components) / self.components
        return MIXTURE_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def density(kind: str, dim: int = 2, components: int = 8) -> Density:
    """The target named `kind` (a `DENSITY_KINDS` dataset kind, or `std_normal`)."""
    if kind not in (*DENSITY_KINDS, "std_normal"):
        raise ValueError(f"no closed-form density {kind!r}; use one of {DENSITY_KINDS}")
    return Density(kind, dim, components)
