"""The survey's univariate costs f(x; k) (Mohamed et al. 2020, section 3, Figs. 2–3) and the
exact gradients of their expectations under N(μ, σ²), against which the estimators are judged.

- square: (x − k)²; E = (μ − k)² + σ²; ∂μ = 2(μ − k), ∂σ = 2σ.
- cos: cos(kx); E = cos(kμ) e^{−k²σ²/2}; ∂μ = −k sin(kμ) e^{−k²σ²/2}, ∂σ = −k²σ E.
- exp: exp(−kx²); with s = 1 + 2kσ², E = s^{−1/2} exp(−kμ²/s); ∂μ = −2kμ E / s,
  ∂σ = E (4k²σμ²/s² − 2kσ/s).
"""

from __future__ import annotations

import math

import torch

COSTS = ("square", "cos", "exp")

K_GRID = {"square": (2, 3, 4, 5, 6), "cos": (1, 2, 3, 5, 8), "exp": (1, 2, 3, 5, 8)}
"""The k of each cost's figure (integers: the metric names carry them). With μ = 1 the square
cost's k = 2..6 spans |μ − k| = 1..5 (the survey's k ∈ [−3, 3] spans 0..4; at k = μ the coupled
measure-valued ∂μ estimate is exactly 0, which a log axis cannot show)."""


def cost(name: str, k: float):
    """f(·; k) as a function of points (..., 1) to values (...)."""
    if name == "square":
        return lambda x: (x[..., 0] - k) ** 2
    if name == "cos":
        return lambda x: torch.cos(k * x[..., 0])
    if name == "exp":
        return lambda x: torch.exp(-k * x[..., 0] ** 2)
    raise ValueError(f"unknown cost {name!r}; one of {', '.join(COSTS)}")


def exact_gradient(name: str, k: float, mu: float, sigma: float) -> tuple[float, float]:
    """(∂/∂μ, ∂/∂σ) of E_{N(μ, σ²)}[f(x; k)]."""
    if name == "square":
        return 2 * (mu - k), 2 * sigma
    if name == "cos":
        damp = math.exp(-(k**2) * sigma**2 / 2)
        return -k * math.sin(k * mu) * damp, -(k**2) * sigma * math.cos(k * mu) * damp
    if name == "exp":
        s = 1 + 2 * k * sigma**2
        value = s**-0.5 * math.exp(-k * mu**2 / s)
        return -2 * k * mu * value / s, value * (
            4 * k**2 * sigma * mu**2 / s**2 - 2 * k * sigma / s
        )
    raise ValueError(f"unknown cost {name!r}; one of {', '.join(COSTS)}")
