"""The statistical tests that decide a paper's claim on our seeds.

A claim is directional ("A's calibrated NLL is lower than B's"), so each comparison is a
one-sided test at level alpha of the effect (mean of A minus mean of B) against a null boundary
`null` (0 for "A beats B"; a tolerance for non-inferiority, a margin for each side of an
equivalence). It is reported with the effect, its two-sided (1 - 2 alpha) confidence interval
(90 % at alpha = 0.05: the interval lies on the claimed side of `null` exactly when the
one-sided test rejects, so the interval and the p-value never disagree), the p-value and the
number of values on each side. With fewer than two values on a side no test is possible and
the comparison is `undecided`, never passed. The t-tests and TOST equal statsmodels'
(`ttest_ind(usevar="unequal")`, `ttost_ind`, `ttost_paired`) to the printed precision
(tests/report/test_claim_tests_statsmodels.py).

- `paired`: the arms share seeds and weights (stochastic BN on the dense run of its seed): a
  paired t-test on the per-seed differences.
- `welch`: independent runs: Welch's t-test (unequal variances).
- `bootstrap`: a percentile bootstrap of the difference of means (each arm resampled on its
  own), p the share of resampled differences on the wrong side of `null`.
- `tost`: equivalence within a margin: two one-sided tests against -margin and +margin (Welch,
  or paired on shared seeds).
- `one_sample`: values against a constant (a paper's threshold).
- `bootstrap_statistic`: a statistic of the seed mean against a constant, its interval and p
  from resampling the seeds (the deep-ensemble equivalent of the seed-mean calibrated NLL
  against k, as Ashukha et al. 2020 read it: a per-seed DEE would carry the seed-to-seed
  spread of single networks into every point).

Zero spread (every value of each arm equal, to 1e-12 of the values' scale, which float noise
cannot reach and no measured metric has) is decided with certainty and marked `exact`: an
effect on the claimed side of `null` passes with p = 0, one on the other side has p = 1. An
exact tie (the effect at `null`) has p = 1/2, as a t-test gives for equal means at any spread:
it is never passed and never contradicted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import stats

BOOTSTRAP_RESAMPLES = 10_000
EXACT_RTOL = 1e-12
"""Spread (standard error) or distance to the null below this share of the values' magnitude
is zero: float noise from shifting or averaging is ~1e-16 of it."""


@dataclass(frozen=True)
class Comparison:
    """One test's outcome; `effect` is mean(a) - mean(b) (or mean - constant), `exact` says
    zero spread decided it with certainty (the page says "exact", never "p = 0")."""

    test: str
    effect: float
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    n_a: int
    n_b: int
    passed: bool
    exact: bool = False

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


def _scale(*values: float) -> float:
    return max(abs(float(v)) for v in values)


def _decide(
    test: str,
    effect: float,
    se: float,
    df: float,
    null: float,
    lower: bool,
    alpha: float,
    n: tuple[int, int],
    scale: float,
) -> Comparison:
    """The one-sided t decision of `effect` against `null` (below it for `lower`), or the
    exact decision at zero spread; `scale` is the magnitude of the values compared."""
    level = 1 - 2 * alpha
    distance = effect - null
    if se <= EXACT_RTOL * scale:
        tie, claimed = abs(distance) <= EXACT_RTOL * scale, (distance < 0) == lower
        p = 0.5 if tie else 0.0 if claimed else 1.0
        return Comparison(test, effect, effect, effect, level, p, *n, p < alpha, exact=True)
    t = distance / se
    p = float(stats.t.cdf(t, df) if lower else stats.t.sf(t, df))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return Comparison(test, effect, effect - half, effect + half, level, p, *n, p < alpha)


def welch(a, b, lower: bool, alpha: float = 0.05, null: float = 0.0) -> Comparison:
    """Is mean(a) - mean(b) below (`lower`) / above `null`? Welch's t-test, one-sided."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return _undecided("welch", a, b, 1 - 2 * alpha)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    spread = va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)
    df = (va + vb) ** 2 / spread if spread > 0 else 1.0
    effect = float(a.mean() - b.mean())
    scale = _scale(a.mean(), b.mean(), null)
    return _decide(
        "welch", effect, float(np.sqrt(va + vb)), df, null, lower, alpha, (len(a), len(b)), scale
    )


def paired(a, b, lower: bool, alpha: float = 0.05, null: float = 0.0) -> Comparison:
    """Paired t-test of mean(a[i] - b[i]) (the same seed's two runs) against `null`."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) != len(b):
        raise ValueError(f"a paired test needs equally many values ({len(a)} vs {len(b)})")
    if len(a) < 2:
        return _undecided("paired", a, b, 1 - 2 * alpha)
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(len(d)))
    scale = _scale(a.mean(), b.mean(), null)
    return _decide(
        "paired", float(d.mean()), se, len(d) - 1, null, lower, alpha, (len(a), len(b)), scale
    )


def one_sample(
    values, constant: float, lower: bool, alpha: float = 0.05, null: float = 0.0
) -> Comparison:
    """Is mean(values) - `constant` below (`lower`) / above `null`? One-sided t-test."""
    x = np.asarray(values, float)
    if len(x) < 2:
        return _undecided("one_sample", x, np.array([constant]), 1 - 2 * alpha)
    se = float(x.std(ddof=1) / np.sqrt(len(x)))
    effect, scale = float(x.mean() - constant), _scale(x.mean(), constant, null)
    return _decide("one_sample", effect, se, len(x) - 1, null, lower, alpha, (len(x), 1), scale)


def bootstrap(
    a, b, lower: bool, alpha: float = 0.05, null: float = 0.0, seed: int = 0
) -> Comparison:
    """Percentile bootstrap of mean(a) - mean(b) against `null`, each arm resampled with
    replacement; at zero spread every resample is the effect, so it is decided exactly."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    level = 1 - 2 * alpha
    if len(a) < 2 or len(b) < 2:
        return _undecided("bootstrap", a, b, level)
    effect, scale = float(a.mean() - b.mean()), _scale(a.mean(), b.mean(), null)
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    if se <= EXACT_RTOL * scale:
        return _decide("bootstrap", effect, se, 1.0, null, lower, alpha, (len(a), len(b)), scale)
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), (BOOTSTRAP_RESAMPLES, len(a)))
    ib = rng.integers(0, len(b), (BOOTSTRAP_RESAMPLES, len(b)))
    diffs = a[ia].mean(axis=1) - b[ib].mean(axis=1)
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    wrong_side = diffs >= null if lower else diffs <= null
    p = float((wrong_side.sum() + 1) / (len(diffs) + 1))
    return Comparison("bootstrap", effect, low, high, level, p, len(a), len(b), p < alpha)


def bootstrap_statistic(
    values,
    statistic: Callable[[np.ndarray], np.ndarray],
    constant: float,
    lower: bool,
    alpha: float = 0.05,
    seed: int = 0,
) -> Comparison:
    """Is statistic(mean(values)) below (`lower`) / above `constant`? A percentile bootstrap
    over the values (seeds, resampled with replacement): `statistic` maps an array of means to
    an array (vectorised), the effect is statistic(mean) - constant, its interval the resampled
    effects' alpha and 1 - alpha quantiles and p the share of resamples (plus one) on the wrong
    side of `constant`. A statistic that is not the mean itself (a curve read at the mean) is
    why this exists: the statistic of each seed, averaged, is another number. At zero spread
    every resample is the mean, so it is decided exactly."""
    x = np.asarray(values, float)
    level = 1 - 2 * alpha
    if len(x) < 2:
        return _undecided("bootstrap", x, np.array([constant]), level)
    effect = float(statistic(np.array([x.mean()]))[0]) - constant
    scale = _scale(effect + constant, constant)
    if float(x.std(ddof=1)) <= EXACT_RTOL * _scale(x.mean()):
        return _decide("bootstrap", effect, 0.0, 1.0, 0.0, lower, alpha, (len(x), 1), scale)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (BOOTSTRAP_RESAMPLES, len(x)))].mean(axis=1)
    effects = np.asarray(statistic(means), float) - constant
    low, high = np.quantile(effects, [alpha, 1 - alpha])
    wrong_side = effects >= 0 if lower else effects <= 0
    p = float((wrong_side.sum() + 1) / (len(effects) + 1))
    return Comparison("bootstrap", effect, low, high, level, p, len(x), 1, p < alpha)


def tost(a, b, margin: float, alpha: float = 0.05, pair: bool = False) -> Comparison:
    """Equivalence: |mean(a) - mean(b)| < margin, shown by two one-sided tests, Welch's or
    (`pair`: the arms share seeds) paired; the larger p decides, equivalently the 1 - 2 alpha
    interval lies inside ±margin."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return _undecided("tost", a, b, 1 - 2 * alpha)
    one_sided = paired if pair else welch
    above = one_sided(a, b, lower=False, alpha=alpha, null=-margin)
    below = one_sided(a, b, lower=True, alpha=alpha, null=margin)
    p = max(above.p_value, below.p_value)
    return replace(above, test="tost", p_value=p, passed=p < alpha, exact=above.exact)


TESTS = {"welch": welch, "paired": paired, "bootstrap": bootstrap}
