"""Implicit reparameterisation gradients (Figurnov, Mohamed & Mnih 2018).

A sample z = F⁻¹(u; θ) of a distribution with CDF F has dz/dθ = −(∂F/∂θ)/(∂F/∂z): the sampler
itself (rejection or otherwise) need not be differentiable, only the CDF. The functions here
draw with torch's samplers and no gradient, and attach that derivative in a
`torch.autograd.Function`, so `gamma_rsample` & co. can stand in for `Distribution.rsample`.

The CDF derivatives are computed in float64 whatever the input dtype:

- Gamma(α), F = P(α, z) the regularised lower incomplete gamma function, ∂F/∂z the density p.
  `gamma_sample_grad` returns the ratio −(∂P/∂α)/p directly, never forming P, p or z^α, so it
  neither underflows for the tiny samples of α ≈ 0.01 (z ~ 1e-100) nor overflows for α ~ 1e3.
  Two regimes, split at z = max(α + 1, 4) (Numerical Recipes' incomplete gamma splits at
  α + 1; TensorFlow's `gamma_sample_der_alpha` differentiates the same series and continued
  fraction): below it the series P = e^{−z} Σ_n z^{α+n}/Γ(α+n+1), whose terms stay positive,
  differentiated term by term; above it Legendre's continued fraction for Q = 1 − P,
  differentiated alongside its convergents. Both are evaluated on whole tensors with a fixed
  number of terms set by the largest α of a group (the series as one cumprod/cumsum, the
  fraction as a tree of 2×2 matrix products carrying their α-derivative), enough for float64
  convergence everywhere in the group, so there is no per-term Python loop and no fitted
  approximation — PyTorch's `_standard_gamma_grad` uses a fitted bivariate rational
  approximation in part of the plane and an asymptotic expansion for α > 8, which is where its
  error comes from. (No large-α asymptotic regime here: the expansions torch uses miss 1e-6 by
  two orders, and the exact fraction costs only ~3 √α terms.)
- Beta(a, b) = X/(X+Y) and Dirichlet(α) = X/ΣX with independent Gammas: the Gamma gradients
  propagate through the normalisation by ordinary autograd (the paper's construction).
- von Mises(κ) around its mean, F(x; κ) = (x+π)/(2π) + (1/π) Σ_j (I_j/I_0)(κ) sin(jx)/j and
  ∂F/∂x the density. `von_mises_sample_grad`: for κ < `VON_MISES_SERIES_BELOW` the series
  differentiated term by term, d(I_j/I_0)/dκ = (R_{j−1} + R_{j+1})/2 − R_1 R_j with R_j = I_j/I_0
  from the backward recurrence of Bessel ratios (number of terms as in Hill's algorithm 518 /
  scipy's `vonmises.cdf`); above it Hill's normal approximation of the CDF differentiated by
  autograd (the paper's appendix and TensorFlow Probability's `von_mises_cdf` do the same).
- von Mises–Fisher on S^{m−1} through its radial component w = μᵀz (Wood's rejection sampler),
  density ∝ (1 − w²)^{(m−3)/2} e^{κw}: ∂F/∂κ = ∫_{−1}^{w} p(t)(t − A_m(κ)) dt with
  A_m = I_{m/2}/I_{m/2−1} = E w, both by tanh-sinh quadrature taken on the side of w (and of
  the mode) where the density ratio stays ≤ 1. `vmf_radial_rsample` returns w; the sample is
  z = w μ + √(1 − w²) v, v uniform on the sphere orthogonal to μ, which needs no new gradient.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch.distributions import VonMises

VON_MISES_SERIES_BELOW = 50.0
"""κ at which von Mises CDF derivatives switch from the Bessel series to the normal
approximation."""

_EPS = torch.finfo(torch.float64).eps
GAMMA_SERIES_BELOW = 4.0
"""Gamma samples below max(α + 1, this) take the series, the others the continued fraction.
At small α the fraction converges slowly near z = 1, while the series cancels more as z grows
(at α = 0.01: 1e-14 relative error at z = 4, 6e-8 at z = 8)."""
GAMMA_SHAPE_EDGES = (50.0, 500.0)
"""α at which the Gamma derivatives start a new group with more terms."""
_WIDE_MAX_ENTRIES = 1 << 18
"""Up to this many samples × terms (× 16 for the fraction's 4×4 blocks) the Gamma derivatives
are evaluated on whole (samples, terms) arrays in a few tensor operations, where Python's cost
per operation dominates; beyond it by loops over the terms on vectors, where arithmetic does."""

Sampler = Callable[[torch.Tensor], torch.Tensor]  # θ -> z, without gradient
GradFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z, θ) -> dz/dθ


def _series_terms(z_max: float, a_min: float, a_max: float) -> int:
    """Terms of the series: c_n/c_0 = ∏_{k≤n} z/(α+k) must fall below float64 eps. Where
    z < α + 1, (α+1)/(α+n) makes it ≲ e^{−n²/2(α+n)}, below eps after 9 √α terms (34 more
    cover z < 4 at small α); the group's largest z and smallest α often need fewer."""
    bound = int(math.ceil(34 + 9 * math.sqrt(a_max)))
    ratio, n = 1.0, 0
    while ratio > _EPS / 100 and n < bound:
        n += 1
        ratio *= z_max / (a_min + n)
    return n + 1


def _gamma_grad_series(z: torch.Tensor, a: torch.Tensor, terms: int) -> torch.Tensor:
    """−(∂P/∂α)/p below the switch: with c_n = Γ(α) z^n / Γ(α+n+1) = c_0 r_n (c_0 = 1/α,
    r_n = ∏_{k≤n} z/(α+k)), P/p = z Σ c_n and (∂P/∂α)/p = z Σ c_n (log z − ψ(α+n+1)), where
    ψ(α+n+1) = ψ(α+1) + H_n, H_n = Σ_{k≤n} 1/(α+k): so −(∂P/∂α)/p =
    −(z/α) ((log z − ψ(α+1)) Σ r_n − Σ r_n H_n) over `terms` terms. For few samples r and H
    are one cumprod and one cumsum over a (samples, terms) array; for many, a loop over n on
    whole vectors."""
    if len(z) * terms <= _WIDE_MAX_ENTRIES:
        inv = (a[:, None] + torch.arange(1, terms, dtype=z.dtype, device=z.device)).reciprocal()
        ratio = torch.cumprod(z[:, None] * inv, 1)
        total_r = 1.0 + ratio.sum(1)
        total_rh = torch.linalg.vecdot(ratio, inv.cumsum(1))
    else:
        ratio, harmonic = torch.ones_like(z), torch.zeros_like(z)
        total_r, total_rh = torch.ones_like(z), torch.zeros_like(z)
        for n in range(1, terms):
            inv = 1.0 / (a + n)
            ratio = ratio * z * inv
            harmonic = harmonic + inv
            total_r = total_r + ratio
            total_rh = total_rh + ratio * harmonic
    return -z / a * ((z.log() - torch.digamma(a + 1.0)) * total_r - total_rh)


Convergents = tuple[torch.Tensor, torch.Tensor]  # f = A_K/B_K and ∂f/∂α


def _fraction_tree(b: torch.Tensor, ak: torch.Tensor, dak: torch.Tensor) -> Convergents:
    """f and ∂f/∂α from the product of the (K, 4, 4, n) block matrices [[M, ∂M], [0, M]],
    K a power of 2, multiplied pairwise in log₂ K rounds, each partial product rescaled by its
    largest entry (the ratios do not change)."""
    e = b.new_zeros(len(b), 4, 4, b.shape[1])
    e[:, 0, 0] = e[:, 2, 2] = b
    e[:, 1, 0] = e[:, 3, 2] = ak
    e[:, 0, 1] = e[:, 2, 3] = 1.0
    e[:, 0, 2] = -1.0
    e[:, 1, 2] = dak
    while len(e) > 1:
        e = (e[0::2, :, :, None] * e[1::2, None, :, :]).sum(2)
        e = e / e.abs().amax((1, 2), keepdim=True)
    p = e[0]
    f = p[1, 0] / p[0, 0]
    return f, (p[1, 2] - f * p[0, 2]) / p[0, 0]


def _fraction_forward(b: torch.Tensor, ak: torch.Tensor, dak: torch.Tensor) -> Convergents:
    """f and ∂f/∂α by the forward recurrences A_k = b_k A_{k−1} + a_k A_{k−2} (B alike) and
    their α-derivatives, rescaled by B_k each step: a quarter of the tree's arithmetic, but one
    Python step per term."""
    one, zero = torch.ones_like(b[0]), torch.zeros_like(b[0])
    a_prev, b_prev, da_prev, db_prev = one, zero, zero, zero  # A_{k-2}, B_{k-2} and ∂/∂α
    a_cur, b_cur, da_cur, db_cur = zero, one, zero, zero  # A_{k-1}, B_{k-1}
    for bk, akk, dakk in zip(b, ak, dak.expand_as(ak), strict=True):
        b_new = bk * b_cur + akk * b_prev
        a_new = (bk * a_cur + akk * a_prev) / b_new
        da_new = (bk * da_cur - a_cur + dakk * a_prev + akk * da_prev) / b_new
        db_new = (bk * db_cur - b_cur + dakk * b_prev + akk * db_prev) / b_new
        a_prev, b_prev = a_cur / b_new, b_cur / b_new
        da_prev, db_prev = da_cur / b_new, db_cur / b_new
        a_cur, b_cur, da_cur, db_cur = a_new, one, da_new, db_new
    return a_cur, da_cur - a_cur * db_cur


def _fraction_terms(largest: float) -> int:
    """Terms of the continued fraction, a power of 2 (the tree pairs them): where
    z ≥ max(α + 1, 4) it converges to float64 in ≤ 29 terms for α ≤ 30 and in about 2.9 √α
    beyond."""
    return 2 ** math.ceil(math.log2(32 + 3 * math.sqrt(max(largest - 30.0, 0.0))))


def _gamma_grad_fraction(z: torch.Tensor, a: torch.Tensor, terms: int) -> torch.Tensor:
    """−(∂P/∂α)/p = (∂Q/∂α)/p above the switch: Q/p = z f with Legendre's continued fraction
    f = 1/(b_1 + a_2/(b_2 + …)), b_k = z + 2k − 1 − α, a_k = −(k−1)(k−1−α), so
    (∂Q/∂α)/p = z ((log z − ψ(α)) f + ∂f/∂α). The `terms`-th convergent A_K/B_K is read off the
    product M_1 ⋯ M_K of M_k = [[b_k, 1], [a_k, 0]] (B_K = P₀₀, A_K = P₁₀), carried with its
    α-derivative: for few samples multiplied pairwise in a tree, log₂ K rounds of tensor
    operations instead of K Python steps; for many by the forward recurrence."""
    k = torch.arange(1, terms + 1, dtype=z.dtype, device=z.device)[:, None]
    ak = (1 - k) * (k - 1 - a)
    ak[0] = 1.0
    wide = len(z) * terms * 16 <= _WIDE_MAX_ENTRIES
    f, df = (_fraction_tree if wide else _fraction_forward)(z + (2 * k - 1) - a, ak, k - 1)
    return z * ((z.log() - torch.digamma(a)) * f + df)


def _series_group_terms(z: torch.Tensor, a: torch.Tensor) -> int:
    return _series_terms(float(z.max()), float(a.min()), float(a.max()))


def _fraction_group_terms(z: torch.Tensor, a: torch.Tensor) -> int:
    return _fraction_terms(float(a.max()))


def gamma_sample_grad(z: torch.Tensor, concentration: torch.Tensor) -> torch.Tensor:
    """dz/dα of a standard Gamma(α) sample z (unit rate), −(∂P(α, z)/∂α)/p(z; α), computed in
    float64 and returned in z's dtype. z = 0 (an underflowed sample) has gradient 0. The
    samples are split by regime (series below z = max(α + 1, `GAMMA_SERIES_BELOW`), continued
    fraction above) and by shape (`GAMMA_SHAPE_EDGES`: the number of terms grows as √α, so
    small shapes do not pay for the largest one's)."""
    z64, a64 = torch.broadcast_tensors(z.double(), concentration.double())
    out = torch.zeros_like(z64)
    positive = z64 > 0
    series = z64 < (a64 + 1.0).clamp(min=GAMMA_SERIES_BELOW)
    largest = float(a64.max()) if a64.numel() else 0.0
    edges = (0.0, *GAMMA_SHAPE_EDGES, math.inf)
    for lower, upper in zip(edges[:-1], edges[1:], strict=True):
        if lower > largest:
            break
        bucket = positive & (a64 >= lower) if lower > 0 else positive
        if upper <= largest:
            bucket = bucket & (a64 < upper)
        for mask, regime, terms in (
            (bucket & series, _gamma_grad_series, _series_group_terms),
            (bucket & ~series, _gamma_grad_fraction, _fraction_group_terms),
        ):
            if mask.any():
                z_in, a_in = z64[mask], a64[mask]
                out[mask] = regime(z_in, a_in, terms(z_in, a_in))
    return out.to(z.dtype)


class _Implicit(torch.autograd.Function):
    """z = sample(θ) drawn without gradient; backward multiplies by dz/dθ = grad(z, θ), summed
    over the sample dimensions θ was broadcast along."""

    @staticmethod
    def forward(ctx, theta: torch.Tensor, sample: Sampler, grad: GradFn) -> torch.Tensor:
        z = sample(theta)
        ctx.save_for_backward(theta, z)
        ctx.grad = grad
        return z

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        theta, z = ctx.saved_tensors
        return (grad_out * ctx.grad(z, theta)).sum_to_size(theta.shape), None, None


def _standard_gamma(concentration: torch.Tensor, sample_shape: torch.Size) -> torch.Tensor:
    # what Gamma(α, 1).sample() calls, without building (and validating) a distribution
    z = torch._standard_gamma(concentration.expand(sample_shape + concentration.shape))
    return z.clamp(min=torch.finfo(z.dtype).tiny)


def gamma_rsample(
    concentration: torch.Tensor,
    rate: torch.Tensor | None = None,
    sample_shape: torch.Size | tuple[int, ...] = (),
) -> torch.Tensor:
    """Gamma(α, rate) samples, differentiable in α (implicitly) and in the rate (z = g / rate)."""
    sample = functools.partial(_standard_gamma, sample_shape=torch.Size(sample_shape))
    z = _Implicit.apply(concentration, sample, gamma_sample_grad)
    return z if rate is None else z / rate


def dirichlet_rsample(
    concentration: torch.Tensor, sample_shape: torch.Size | tuple[int, ...] = ()
) -> torch.Tensor:
    """Dirichlet(α) samples (α along the last dimension) as normalised Gammas."""
    g = gamma_rsample(concentration, sample_shape=sample_shape)
    return g / g.sum(-1, keepdim=True)


def beta_rsample(
    a: torch.Tensor, b: torch.Tensor, sample_shape: torch.Size | tuple[int, ...] = ()
) -> torch.Tensor:
    """Beta(a, b) samples X/(X+Y), X ~ Gamma(a), Y ~ Gamma(b)."""
    a, b = torch.broadcast_tensors(a, b)
    return dirichlet_rsample(torch.stack([a, b], -1), sample_shape)[..., 0]


def _von_mises_dcdf_series(x: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """∂F/∂κ from the Fourier series of the CDF, with R_j = I_j(κ)/I_0(κ)."""
    terms = int(math.ceil(28.0 + 0.5 * float(kappa.max()) - 100.0 / (float(kappa.max()) + 5.0)))
    rho = torch.zeros_like(kappa)  # I_{j}/I_{j-1} by backward recurrence, started deeper
    ratios = {}
    for j in range(terms + 30, 0, -1):
        rho = 1.0 / (2.0 * j / kappa + rho)
        if j <= terms + 1:
            ratios[j] = rho
    r = [torch.ones_like(kappa)]
    for j in range(1, terms + 2):
        r.append(r[-1] * ratios[j])
    total = torch.zeros_like(x)
    for j in range(1, terms + 1):
        dr = 0.5 * (r[j - 1] + r[j + 1]) - r[1] * r[j]
        total = total + dr * torch.sin(j * x) / j
    return total / math.pi


def _von_mises_dcdf_normal(x: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """∂F/∂κ of Hill's (1977) normal approximation of the CDF, by autograd."""
    with torch.enable_grad():
        k = kappa.detach().requires_grad_(True)
        c = 24.0 * k
        v = c - 56.0
        r = torch.sqrt((54.0 / (347.0 / v + 26.0 - c) - 6.0 + c) / 12.0)
        z = torch.sin(x / 2.0) * r
        s = 2.0 * z**2
        v = v - s + 3.0
        y = (c - s - s - 16.0) / 3.0
        y = ((s + 1.75) * s + 83.5) / v - y
        arg = z * (1.0 - s / y**2)
        cdf = 0.5 * torch.special.erfc(-arg)  # Φ(√2 arg)
        (grad,) = torch.autograd.grad(cdf.sum(), k)
    return grad


def von_mises_sample_grad(x: torch.Tensor, concentration: torch.Tensor) -> torch.Tensor:
    """dx/dκ of a von Mises(0, κ) sample x ∈ [−π, π], −(∂F/∂κ)/p(x), in float64 and returned
    in x's dtype; p(x) = exp(κ(cos x − 1)) / (2π I_0(κ) e^{−κ})."""
    x64, k64 = torch.broadcast_tensors(x.double(), concentration.double())
    dcdf = torch.empty_like(x64)
    series = k64 < VON_MISES_SERIES_BELOW
    if series.any():
        dcdf[series] = _von_mises_dcdf_series(x64[series], k64[series])
    if (~series).any():
        dcdf[~series] = _von_mises_dcdf_normal(x64[~series], k64[~series])
    density = torch.exp(k64 * (torch.cos(x64) - 1.0)) / (2 * math.pi * torch.special.i0e(k64))
    return (-dcdf / density).to(x.dtype)


def _von_mises_angle(concentration: torch.Tensor, sample_shape: torch.Size) -> torch.Tensor:
    loc = torch.zeros_like(concentration)
    return VonMises(loc, concentration).sample(sample_shape)  # Best–Fisher rejection


def von_mises_rsample(
    loc: torch.Tensor, concentration: torch.Tensor, sample_shape: torch.Size | tuple[int, ...] = ()
) -> torch.Tensor:
    """von Mises(loc, κ) samples loc + x, x ∈ [−π, π] (not wrapped again, so d/d loc = 1),
    differentiable in loc and, implicitly, in κ."""
    loc, concentration = torch.broadcast_tensors(loc, concentration)
    sample = functools.partial(_von_mises_angle, sample_shape=torch.Size(sample_shape))
    return loc + _Implicit.apply(concentration, sample, von_mises_sample_grad)


def _tanh_sinh(
    device: torch.device, step: float = 1 / 16, half: int = 64
) -> tuple[torch.Tensor, ...]:
    """Tanh-sinh (double-exponential) rule on [0, 1]: nodes x, 1 − x (kept apart, so that
    the distance to either end stays exact) and weights. It integrates functions with
    integrable endpoint singularities or narrow features at an end to float64 accuracy."""
    tau = torch.arange(-half, half + 1, dtype=torch.float64, device=device) * step
    u = 0.5 * math.pi * torch.sinh(tau)
    x, x_bar = torch.sigmoid(2 * u), torch.sigmoid(-2 * u)
    return x, x_bar, step * math.pi * torch.cosh(tau) * x * x_bar


def _log_radial(one_minus: torch.Tensor, one_plus: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    """ν log(1 − t²), 0 when ν = 0 (the 3-sphere) even at t = ±1."""
    return torch.where(nu > 0, nu * (one_minus.log() + one_plus.log()), torch.zeros_like(nu))


def vmf_mean_w(concentration: torch.Tensor, dim: int) -> torch.Tensor:
    """A_m(κ) = E[w] = I_{m/2}(κ)/I_{m/2−1}(κ) of the vMF radial component on S^{m−1}, by
    tanh-sinh quadrature of the density ∝ (1 − t²)^ν e^{κt}, ν = (m − 3)/2, on both sides of
    its mode t* (1 − t* = 2ν/(κ + ν + √(ν² + κ²)))."""
    x, x_bar, weight = _tanh_sinh(concentration.device)
    kappa = concentration.double()[..., None]
    nu = torch.full_like(kappa, (dim - 3) / 2)
    gap = 2 * nu / (kappa + nu + torch.sqrt(nu**2 + kappa**2))  # 1 − mode
    ref = _log_radial(gap, 2 - gap, nu)
    below, above = (2 - gap) * x, gap * x  # distances from the mode
    t_lo, t_hi = 1 - gap - below, 1 - gap + above
    q_lo = torch.exp(_log_radial(gap + below, (2 - gap) * x_bar, nu) - ref - kappa * below)
    q_hi = torch.exp(_log_radial(gap * x_bar, 2 - gap + above, nu) - ref + kappa * above)
    q_lo, q_hi = q_lo * weight * (2 - gap), q_hi * weight * gap
    mean = ((q_lo * t_lo).sum(-1) + (q_hi * t_hi).sum(-1)) / (q_lo.sum(-1) + q_hi.sum(-1))
    return mean.to(concentration.dtype)


def vmf_radial_grad(w: torch.Tensor, concentration: torch.Tensor, dim: int) -> torch.Tensor:
    """dw/dκ of a vMF radial sample w = μᵀz on S^{m−1}: −(∂F/∂κ)/p(w) with
    ∂F/∂κ = ∫_{−1}^{w} p(t)(t − A_m(κ)) dt, by tanh-sinh quadrature on the side of w away from
    the mode (where p(t)/p(w) ≤ 1): below the mode −∫_{−1}^{w}, above it +∫_{w}^{1} (the two
    differ by ∫ p (t − A) = 0). In float64, returned in w's dtype."""
    x, x_bar, weight = _tanh_sinh(w.device)
    w64, k64 = torch.broadcast_tensors(w.double(), concentration.double())
    mean = vmf_mean_w(k64, dim)[..., None]
    kappa, wv = k64[..., None], w64[..., None]
    nu = torch.full_like(kappa, (dim - 3) / 2)
    gap = 2 * nu / (kappa + nu + torch.sqrt(nu**2 + kappa**2))
    ref = _log_radial(1 - wv, 1 + wv, nu)
    lower = wv <= 1 - gap
    span = torch.where(lower, 1 + wv, 1 - wv)
    s = span * x  # distance from w, towards −1 below the mode, towards +1 above it
    t = torch.where(lower, wv - s, wv + s)
    one_minus = torch.where(lower, 1 - wv + s, span * x_bar)
    one_plus = torch.where(lower, span * x_bar, 1 + wv + s)
    ratio = torch.exp(_log_radial(one_minus, one_plus, nu) - ref + kappa * (t - wv))
    integral = (ratio * (t - mean) * weight).sum(-1) * span[..., 0]
    return torch.where(lower[..., 0], -integral, integral).to(w.dtype)


def vmf_radial_sample(
    concentration: torch.Tensor, dim: int, sample_shape: torch.Size | tuple[int, ...] = ()
) -> torch.Tensor:
    """Wood's (1994) rejection sampler for w = μᵀz of vMF(μ, κ) on S^{m−1} (no gradient)."""
    shape = torch.Size(sample_shape) + concentration.shape
    kappa = concentration.detach().double().expand(shape)
    m1 = dim - 1
    b = m1 / (2 * kappa + torch.sqrt(4 * kappa**2 + m1**2))
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + m1 * torch.log(1 - x0**2)
    half = torch.tensor(m1 / 2.0, dtype=torch.float64, device=kappa.device)
    beta = torch.distributions.Beta(half, half)
    w = torch.empty_like(kappa)
    todo = torch.ones_like(kappa, dtype=torch.bool)
    while todo.any():
        z = beta.sample(kappa.shape)
        proposal = (1 - (1 + b) * z) / (1 - (1 - b) * z)
        log_u = torch.rand_like(kappa).log()
        accept = todo & (kappa * proposal + m1 * torch.log(1 - x0 * proposal) - c >= log_u)
        w = torch.where(accept, proposal, w)
        todo = todo & ~accept
    return w.to(concentration.dtype)


def vmf_radial_rsample(
    concentration: torch.Tensor, dim: int, sample_shape: torch.Size | tuple[int, ...] = ()
) -> torch.Tensor:
    """w = μᵀz of vMF(μ, κ) samples on S^{dim−1} (dim ≥ 3), differentiable in κ implicitly.
    The full sample is z = w μ + √(1 − w²) v with v uniform on the sphere orthogonal to μ."""
    if dim < 3:
        raise ValueError(
            f"vmf_radial_rsample needs dim >= 3 (got {dim}); on the circle use von Mises"
        )
    sample = functools.partial(vmf_radial_sample, dim=dim, sample_shape=torch.Size(sample_shape))
    grad = functools.partial(vmf_radial_grad, dim=dim)
    return _Implicit.apply(concentration, sample, grad)
