"""The statistical tests that decide a paper's claim on our seeds.

A claim is directional ("A's calibrated NLL is lower than B's"), so each comparison is a
one-sided test at level alpha, reported with the effect (mean of A minus mean of B), its
two-sided (1 - 2 alpha) confidence interval (90 % at alpha = 0.05: it excludes zero exactly when
the one-sided test rejects, so the interval and the p-value never disagree), the p-value and the
number of seeds. With fewer than two values on a side no test is possible and the comparison is
`undecided`, never passed.

- `paired`: the arms share seeds and weights (stochastic BN on the dense run of its seed): a
  paired t-test on the per-seed differences.
- `welch`: independent runs: Welch's t-test (unequal variances).
- `bootstrap`: a percentile bootstrap of the difference of means (each arm resampled on its
  own), p the share of resampled differences on the wrong side of zero.
- `tost`: equivalence within a margin: two one-sided Welch tests against -margin and +margin.
- `one_sample`: values against a constant (a deep-ensemble equivalent against k).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import stats

BOOTSTRAP_RESAMPLES = 10_000


@dataclass(frozen=True)
class Comparison:
    """One test's outcome; `effect` is mean(a) - mean(b) (or mean - constant)."""

    test: str
    effect: float
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    n_a: int
    n_b: int
    passed: bool

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("effect", "ci_low", "ci_high", "p_value"):
            out[key] = _round(out[key])
        return out


def _round(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(f"{x:.6g}")


def _undecided(test: str, a: np.ndarray, b: np.ndarray, level: float) -> Comparison:
    effect = float(np.mean(a) - np.mean(b)) if len(a) and len(b) else float("nan")
    nan = float("nan")
    return Comparison(test, effect, nan, nan, level, nan, len(a), len(b), False)


def _t_interval(effect: float, se: float, df: float, level: float) -> tuple[float, float]:
    if se == 0:
        return effect, effect
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return effect - half, effect + half


def _one_sided_p(t: float, df: float, lower: bool) -> float:
    """P(T <= t) for `lower` (a < b claimed), P(T >= t) otherwise."""
    return float(stats.t.cdf(t, df) if lower else stats.t.sf(t, df))


def _degenerate_p(effect: float, lower: bool) -> float:
    """Zero spread: the sign of the effect decides with certainty."""
    return 0.0 if (effect < 0 if lower else effect > 0) else 1.0


def welch(a, b, lower: bool, alpha: float = 0.05) -> Comparison:
    """Is mean(a) below (`lower`) / above mean(b)? Welch's t-test, one-sided."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    level = 1 - 2 * alpha
    if len(a) < 2 or len(b) < 2:
        return _undecided("welch", a, b, level)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    effect, se = float(a.mean() - b.mean()), float(np.sqrt(va + vb))
    if se == 0:
        p, df = _degenerate_p(effect, lower), 1.0
    else:
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        p = _one_sided_p(effect / se, df, lower)
    low, high = _t_interval(effect, se, df, level)
    return Comparison("welch", effect, low, high, level, p, len(a), len(b), p < alpha)


def paired(a, b, lower: bool, alpha: float = 0.05) -> Comparison:
    """Paired t-test on a[i] - b[i] (the same seed's two runs), one-sided."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) != len(b):
        raise ValueError(f"a paired test needs equally many values ({len(a)} vs {len(b)})")
    return replace(one_sample(a - b, 0.0, lower, alpha), test="paired", n_b=len(b))


def one_sample(values, constant: float, lower: bool, alpha: float = 0.05) -> Comparison:
    """Is the mean of `values` below (`lower`) / above `constant`? One-sided t-test."""
    x = np.asarray(values, float)
    level = 1 - 2 * alpha
    if len(x) < 2:
        return _undecided("one_sample", x, np.array([constant]), level)
    effect, se, df = float(x.mean() - constant), float(x.std(ddof=1) / np.sqrt(len(x))), len(x) - 1
    p = _degenerate_p(effect, lower) if se == 0 else _one_sided_p(effect / se, df, lower)
    low, high = _t_interval(effect, se, df, level)
    return Comparison("one_sample", effect, low, high, level, p, len(x), 1, p < alpha)


def bootstrap(a, b, lower: bool, alpha: float = 0.05, seed: int = 0) -> Comparison:
    """Percentile bootstrap of mean(a) - mean(b), each arm resampled with replacement."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    level = 1 - 2 * alpha
    if len(a) < 2 or len(b) < 2:
        return _undecided("bootstrap", a, b, level)
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), (BOOTSTRAP_RESAMPLES, len(a)))
    ib = rng.integers(0, len(b), (BOOTSTRAP_RESAMPLES, len(b)))
    diffs = a[ia].mean(axis=1) - b[ib].mean(axis=1)
    effect = float(a.mean() - b.mean())
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    wrong_side = diffs >= 0 if lower else diffs <= 0
    p = float((wrong_side.sum() + 1) / (len(diffs) + 1))
    return Comparison("bootstrap", effect, low, high, level, p, len(a), len(b), p < alpha)


def tost(a, b, margin: float, alpha: float = 0.05) -> Comparison:
    """Equivalence: |mean(a) - mean(b)| < margin, shown by two one-sided Welch tests (the
    larger p decides; equivalently the 1 - 2 alpha interval lies inside ±margin)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    level = 1 - 2 * alpha
    if len(a) < 2 or len(b) < 2:
        return _undecided("tost", a, b, level)
    above = welch(a + margin, b, lower=False, alpha=alpha)  # effect > -margin
    below = welch(a - margin, b, lower=True, alpha=alpha)  # effect < +margin
    p = max(above.p_value, below.p_value)
    effect = float(a.mean() - b.mean())
    low, high = above.ci_low - margin, above.ci_high - margin
    return Comparison("tost", effect, low, high, level, p, len(a), len(b), p < alpha)


TESTS = {"welch": welch, "paired": paired, "bootstrap": bootstrap}
