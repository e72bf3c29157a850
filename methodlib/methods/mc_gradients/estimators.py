"""Unbiased estimators of the gradient of E_{x ~ N(μ, diag σ²)}[f(x)] with respect to μ and σ
(Mohamed et al. 2020, sections 4–7), for any cost f that maps points (..., D) to values (...).

Each estimator returns per-sample terms `(g_mu, g_sigma)`, both (n, D): their mean over the n
samples is the gradient estimate, and their spread is what the survey compares.

- `score_function`: f(x) ∇_θ log N(x | μ, σ²) (eq. 13); only f's values are needed.
- `score_function_baseline`: (f(x_i) − b_i) ∇_θ log N(x_i), b_i the mean of f over the other
  n − 1 samples (leave-one-out). The reference code uses a moving average across steps and its
  notebook the exact optimal baseline; the leave-one-out mean needs neither state nor
  integrals, is independent of x_i (so the estimator stays unbiased) and is the same in a
  one-off estimate and in training. With n = 1 there is no other sample and no baseline.
- `pathwise`: ∇_x f(x) ∂x/∂θ with x = μ + σ ε (eq. 35): f must be differentiable.
- `measure_valued`: the weak derivatives of the Gaussian (Table 1) with the couplings of
  section 7.2, one coordinate d at a time with the others at the sample's values:
  ∂/∂μ_d: (f(x; x_d = μ_d + σ_d W) − f(x; x_d = μ_d − σ_d W)) / (σ_d √(2π)), one Weibull(√2, 2)
  draw W for both sides; ∂/∂σ_d: (f(x; x_d = μ_d + σ_d M) − f(x; x_d = μ_d + σ_d M U)) / σ_d,
  M double-sided Maxwell and U uniform, so that M U is a standard normal coupled with M.
  4 D evaluations of f per sample: cheap in low dimension, the survey's caveat in high.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Cost = Callable[[torch.Tensor], torch.Tensor]

ESTIMATORS = ("score_function", "score_function_baseline", "pathwise", "measure_valued")

EVALS_PER_SAMPLE = {
    "score_function": lambda d: 1,
    "score_function_baseline": lambda d: 1,
    "pathwise": lambda d: 1,  # one value and its gradient (a backward pass)
    "measure_valued": lambda d: 4 * d,
}
"""Evaluations of f per sample for a D-dimensional measure (the estimators' cost)."""

_CHUNK = 2**22
"""Most points the measure-valued estimator passes to f at once (memory in high D)."""


def gradient_terms(
    estimator: str,
    f: Cost,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    samples: int | tuple[int, ...],
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample terms (*samples, D) of `estimator` for ∇_μ and ∇_σ of E_{N(μ, σ²)}[f];
    `mu` and `sigma` are (D,) and treated as constants (no graph is kept). A `samples` shape
    (replicates, n) gives independent groups of n (the baseline uses its own group only)."""
    mu, sigma = mu.detach(), sigma.detach()
    shape = (samples,) if isinstance(samples, int) else tuple(samples)
    eps = torch.randn(*shape, *mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    if estimator == "pathwise":
        x = (mu + sigma * eps).requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(f(x).sum(), x)
        return grad, grad * eps
    if estimator in ("score_function", "score_function_baseline"):
        with torch.no_grad():
            values = f(mu + sigma * eps)
            n = shape[-1]
            if estimator == "score_function_baseline" and n > 1:
                values = values - (values.sum(-1, keepdim=True) - values) / (n - 1)
            weight = values.unsqueeze(-1)
            return weight * eps / sigma, weight * (eps**2 - 1) / sigma
    if estimator == "measure_valued":
        with torch.no_grad():
            g_mu, g_sigma = _measure_valued(f, mu, sigma, eps.reshape(-1, len(mu)), generator)
        return g_mu.reshape(eps.shape), g_sigma.reshape(eps.shape)
    raise ValueError(f"unknown estimator {estimator!r}; one of {', '.join(ESTIMATORS)}")


def _measure_valued(f, mu, sigma, eps, generator):
    n, d = eps.shape
    shape, kw = (n, d), {"generator": generator, "dtype": mu.dtype, "device": mu.device}
    weibull = torch.sqrt(-2 * torch.log1p(-torch.rand(shape, **kw)))  # density w e^{-w²/2}
    maxwell = torch.randn(n, d, 3, **kw).norm(dim=-1)  # |M|: the norm of 3 standard normals
    maxwell = maxwell * torch.where(torch.rand(shape, **kw) < 0.5, -1.0, 1.0)
    uniform = torch.rand(shape, **kw)
    x = mu + sigma * eps
    # the four replacement values of coordinate d for each sample: (n, 4, d)
    sides = mu + sigma * torch.stack((weibull, -weibull, maxwell, maxwell * uniform), dim=1)
    values = torch.empty(n, 4, d, dtype=mu.dtype, device=mu.device)
    per_sample = 4 * d * d
    step = max(1, _CHUNK // per_sample)
    eye = torch.eye(d, dtype=torch.bool, device=mu.device)
    for start in range(0, n, step):
        base = x[start : start + step, None, None, :]  # (s, 1, 1, D)
        swapped = torch.where(eye, sides[start : start + step, :, :, None], base)  # (s, 4, d, D)
        values[start : start + step] = f(swapped)
    g_mu = (values[:, 0] - values[:, 1]) / (sigma * math.sqrt(2 * math.pi))
    g_sigma = (values[:, 2] - values[:, 3]) / sigma
    return g_mu, g_sigma
