"""Ground truth for the implicit gradients of `implicit.py`, in float64 or better, for its
tests and `benchmarks/implicit_gradients.py`: dz/dθ = −(∂F/∂θ)/p(z) with ∂F/∂θ by mpmath
(Gamma, Beta, vMF's radial component) or by adaptive quadrature (von Mises). Slow (one point
at a time), never used in training."""

from __future__ import annotations

import math

import mpmath
from scipy import integrate, special


def gamma_grad(alpha: float, z: float) -> float:
    """dz/dα of Gamma(α, 1) at z: ∂P(α, z)/∂α by mpmath at 40 digits."""
    with mpmath.workdps(40):
        a, x = mpmath.mpf(alpha), mpmath.mpf(z)
        dcdf = mpmath.diff(lambda s: mpmath.gammainc(s, 0, x, regularized=True), a)
        return float(-dcdf / mpmath.exp((a - 1) * mpmath.log(x) - x - mpmath.loggamma(a)))


def beta_grad(a: float, b: float, z: float) -> float:
    """dz/da of Beta(a, b) at z along the Beta CDF's transport (torch's `Beta.rsample`)."""
    with mpmath.workdps(40):
        a_, b_, x = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(z)
        dcdf = mpmath.diff(lambda s: mpmath.betainc(s, b_, 0, x, regularized=True), a_)
        log_beta = mpmath.log(mpmath.beta(a_, b_))
        log_pdf = (a_ - 1) * mpmath.log(x) + (b_ - 1) * mpmath.log1p(-x) - log_beta
        return float(-dcdf / mpmath.exp(log_pdf))


def von_mises_grad(kappa: float, x: float) -> float:
    """dx/dκ of von Mises(0, κ) at x: −∫_{−π}^{x} e^{κ(cos t − cos x)} (cos t − I_1/I_0) dt,
    over the shorter side of x (the integral over the whole circle is 0)."""
    mean_cos = special.i1e(kappa) / special.i0e(kappa)

    def integrand(t: float) -> float:
        return math.exp(kappa * (math.cos(t) - math.cos(x))) * (math.cos(t) - mean_cos)

    options = {"epsabs": 1e-14, "epsrel": 1e-12, "limit": 200}
    if x <= 0:
        return -integrate.quad(integrand, -math.pi, x, **options)[0]
    return integrate.quad(integrand, x, math.pi, **options)[0]


def vmf_radial_grad(w: float, kappa: float, dim: int) -> float:
    """dw/dκ of vMF's radial component on S^{dim−1}: −∫_{−1}^{w} p(t)/p(w) (t − A) dt with
    A = I_{m/2}/I_{m/2−1}(κ), by mpmath at 30 digits, split at the mode."""
    with mpmath.workdps(30):
        nu, k, w_ = mpmath.mpf(dim - 3) / 2, mpmath.mpf(kappa), mpmath.mpf(w)
        mean = mpmath.besseli(mpmath.mpf(dim) / 2, k) / mpmath.besseli(mpmath.mpf(dim) / 2 - 1, k)

        def log_p(t):
            return (nu * mpmath.log(1 - t**2) if nu > 0 else 0) + k * t

        mode = (-nu + mpmath.sqrt(nu**2 + k**2)) / k
        points = [-1, w_] if w_ <= mode else [-1, mode, w_]
        return float(-mpmath.quad(lambda t: mpmath.exp(log_p(t) - log_p(w_)) * (t - mean), points))
