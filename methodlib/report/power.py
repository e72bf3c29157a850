"""Power of a claim's comparisons: what their seeds can detect, and how many seeds a claim needs.

Every comparison is a one-sided t-test of its effect against a null boundary (0, a tolerance, a
threshold, or each side of an equivalence margin: methodlib/report/claim_tests.py). Its power
depends on the distance between the true effect and that boundary, in units of the arms'
spread, and on n. This module computes it with statsmodels:

- `paired`, `one_sample` (a threshold, a deep-ensemble equivalent against k): the one-sample t
  power of `TTestPower` on the per-seed differences (or values), their sd the spread;
- `welch`, `bootstrap`: `TTestIndPower`, the two-sample t power at the pooled sd, with the arms'
  sizes as run (`ratio`) and equal n per arm when planning. This approximates Welch's test by
  the pooled-variance test: exact for equal n and equal variances, close for equal n; the
  bootstrap is planned as the t-test it approximates;
- `tost`: two one-sided tests that must both pass. Their joint power is at least
  p(lower side) + p(upper side) - 1 (Bonferroni: P(both) >= 1 - P(miss one) - P(miss other)),
  each side a one-sided t power as above; at true difference 0 that is 2 p(margin) - 1, so 80 %
  needs 90 % per side. The bound is conservative: it never overstates TOST's power.

For each comparison (`plan`): n (per arm, as run: the smaller arm), sd, mde (the smallest
distance from the null boundary detectable at n and alpha with 80 % power; for TOST the
smallest margin at true difference 0), target and target_kind, power_at_n (at the target) and
needed_n (the smallest n per arm reaching 80 % power at the target; null above MAX_N). The
target, the distance the design must detect, is in order of precedence:

- `effect_of_interest` (the paper's effect, in the claimed direction): the distance is that
  effect plus the tolerance of a non-inferiority claim; for an equivalence claim it is the true
  difference, and the nearer margin is margin - effect away;
- `tolerance`: a non-inferiority claim at true difference 0, the tolerance away;
- `margin`: an equivalence claim at true difference 0 (TOST power);
- `pilot effect`: the observed distance, when it lies in the claimed direction;
- none (null): an effect against the claim gives nothing to plan for.

mde and target are on the same scale, so power_at_n >= 80 % exactly when target >= mde. At zero
spread every effect is detected with certainty: mde 0, power 1 at any positive target, needed_n
2 (a test's minimum), and an exact comparison counts as adequately powered whatever its target
(`adequate`). needed_n is planned from the pooled spread even when one arm has a single seed.
A claim passes only when every comparison passes (intersection-union), so a claim's needed_n is
the largest of its comparisons'.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from statsmodels.stats.power import TTestIndPower, TTestPower

from methodlib.report.claim_tests import EXACT_RTOL

POWER = 0.8
MAX_N = 1000
"""needed_n above this many seeds per arm is reported as null: no design we would run."""


@dataclass(frozen=True)
class Design:
    """What a comparison's power depends on: the t-test's family (two independent samples, or
    one sample of values or per-seed differences), the sd that standardises the effect, the
    values on each side as run, and whether the two sides of an equivalence must both pass."""

    two_sample: bool
    sd: float | None
    n_a: int
    n_b: int
    equivalence: bool = False

    @property
    def n(self) -> int:
        return min(self.n_a, self.n_b) if self.two_sample else self.n_a


def design_of(test: str, a, b, equivalence: bool = False) -> Design:
    """The design of a comparison by `test` of values `a` against values `b` (an array) or a
    constant (a number: a one-sample test); `paired` takes the per-seed differences."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(abs(float(x.mean())) for x in (a, np.atleast_1d(b)) if x.size)
    if b.ndim == 0:
        return Design(False, _sd(a, scale), len(a), 1, equivalence)
    if test == "paired":
        return Design(False, _sd(a - b, scale), len(a), len(b), equivalence)
    df = len(a) + len(b) - 2
    squares = sum(float(((x - x.mean()) ** 2).sum()) for x in (a, b) if len(x))
    pooled = _zero(float(np.sqrt(squares / df)), scale) if df > 0 else None
    return Design(True, pooled, len(a), len(b), equivalence)


def _sd(x: np.ndarray, scale: float) -> float | None:
    return _zero(float(x.std(ddof=1)), scale) if len(x) > 1 else None


def _zero(sd: float, scale: float) -> float:
    """Zero spread as the tests judge it (claim_tests.EXACT_RTOL of the values' magnitude)."""
    return 0.0 if sd <= EXACT_RTOL * scale else sd


def _one_sided(design: Design, distance: float, alpha: float, n_a: int, n_b: int) -> float:
    """The power of one one-sided t-test whose true effect lies `distance` beyond its null."""
    size = distance / design.sd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design.two_sample:
            return float(
                TTestIndPower().power(
                    effect_size=size, nobs1=n_a, alpha=alpha, ratio=n_b / n_a, alternative="larger"
                )
            )
        return float(
            TTestPower().power(effect_size=size, nobs=n_a, alpha=alpha, alternative="larger")
        )


def power(
    design: Design,
    target: float,
    alpha: float,
    n: int | None = None,
    theta: float = 0.0,
) -> float:
    """Power at `target` (the distance of the true effect from the nearer null boundary) with
    the arms as run, or with `n` per arm; an equivalence's far side is `target + 2 theta` away
    (`theta`: the true difference)."""
    n_a, n_b = (design.n_a, design.n_b) if n is None else (n, n)
    if design.sd == 0:
        return 1.0 if target > 0 else 0.0
    near = _one_sided(design, target, alpha, n_a, n_b)
    if not design.equivalence:
        return near
    far = _one_sided(design, target + 2 * theta, alpha, n_a, n_b)
    return max(0.0, near + far - 1.0)


def mde(design: Design, alpha: float) -> float | None:
    """The smallest distance from the null boundary that the design detects with 80 % power
    at its n as run (TOST: the smallest margin, at true difference 0)."""
    if design.sd is None or design.n < 2:
        return None
    if design.sd == 0:
        return 0.0
    goal = (1 + POWER) / 2 if design.equivalence else POWER
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design.two_sample:
            size = TTestIndPower().solve_power(
                nobs1=design.n_a,
                alpha=alpha,
                power=goal,
                ratio=design.n_b / design.n_a,
                alternative="larger",
            )
        else:
            size = TTestPower().solve_power(
                nobs=design.n_a, alpha=alpha, power=goal, alternative="larger"
            )
    return float(size) * design.sd


def needed_n(
    design: Design, target: float | None, alpha: float, theta: float = 0.0, cap: int = MAX_N
) -> int | None:
    """The smallest n per arm (at least 2) with 80 % power at `target`; None when no target,
    no spread to plan from, or more than `cap` are needed. Power grows with n, so a bisection
    over the integers finds it."""
    if design.sd is None or target is None:
        return None
    if design.sd == 0:
        return 2 if target > 0 else None

    def enough(n: int) -> bool:
        return power(design, target, alpha, n, theta) >= POWER

    if not enough(cap):
        return None
    low, high = 2, cap
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid + 1, high)
    return low


def target(
    observed: float,
    effect_of_interest: float | None = None,
    tolerance: float | None = None,
    margin: float | None = None,
) -> tuple[float | None, str | None, float]:
    """(target distance, its kind, the true difference an equivalence assumes) in the order
    of the module docstring; `observed` is the pilot's distance from the null boundary in
    the claimed direction (unused for equivalence and non-inferiority claims)."""
    if margin is not None:
        if effect_of_interest is not None:
            return margin - effect_of_interest, "effect_of_interest", effect_of_interest
        return margin, "margin", 0.0
    if effect_of_interest is not None:
        return effect_of_interest + (tolerance or 0.0), "effect_of_interest", 0.0
    if tolerance is not None:
        return tolerance, "tolerance", 0.0
    if math.isfinite(observed) and observed > 0:
        return observed, "pilot effect", 0.0
    return None, None, 0.0


def plan(
    design: Design,
    alpha: float,
    observed: float,
    effect_of_interest: float | None = None,
    tolerance: float | None = None,
    margin: float | None = None,
) -> dict[str, Any]:
    """A comparison's `power` record (the fields of the module docstring), at level `alpha`."""
    goal, kind, theta = target(observed, effect_of_interest, tolerance, margin)
    at_n = None
    if design.sd is not None and design.n >= 2 and goal is not None:
        at_n = power(design, goal, alpha, theta=theta)
    return {
        "n": design.n,
        "sd": _round(design.sd),
        "mde": _round(mde(design, alpha)),
        "target": _round(goal),
        "target_kind": kind,
        "needed_n": needed_n(design, goal, alpha, theta),
        "power_at_n": _round(at_n),
    }


def claim_needed_n(comparisons: list[dict[str, Any]]) -> int | None:
    """The n per arm a claim needs: every comparison must pass, so the largest of theirs;
    None when any comparison has none (no target, or more than MAX_N)."""
    needs = [c["power"]["needed_n"] for c in comparisons if "power" in c]
    if not needs or any(n is None for n in needs):
        return None
    return max(needs)


def adequate(comparison: dict[str, Any]) -> bool:
    """Whether a comparison's design had 80 % power at its target (an exact one always has)."""
    at_n = comparison.get("power", {}).get("power_at_n")
    return comparison.get("exact", False) or (at_n is not None and at_n >= POWER)


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(f"{x:.6g}")
