"""The papers' claims (`claims:` in the pipeline file) decided on the tidy results table.

Each claim becomes one record of `claims.json`: its statement and source, the mean, sd and
seeds of every arm, and one comparison per metric and adjacent pair of arms (or per point of a
deep-ensemble-equivalent curve: DEE of the seed-mean calibrated NLL, bootstrapped over the
seeds), each with the test, the effect, its interval, the p-value
(methodlib/report/claim_tests.py), the claimed `direction` of a - b, the `threshold` when a
side is a number, and its `power` (methodlib/report/power.py).

Which seeds decide (`basis`): a claim with confirmatory `seeds` is decided on those seeds only,
once every arm has all of them ("confirmatory"; a deep-ensemble value counts when all its
members are confirmatory: members of `ensemble_seeds` where the claim has them, else of
`seeds`); until then, and for a claim without `seeds`, on the arms' other seeds, the pilot
("pilot": exploratory). Pilot and confirmatory values are never mixed.

Looks: a claim decided again after seeds were added is tested at alpha / looks (Bonferroni
over looks: the chance that any of the looks declares a false claim stays below alpha);
`looks` comes from the registration (claims.lock), 1 when unregistered, and the record keeps
`looks` and `alpha_used`. Every comparison's test, interval and power use `alpha_used`.

The verdict:

- `holds`: every comparison passes its one-sided test (or equivalence test) at `alpha_used`;
- `contradicted`: some comparison is significant in the opposite direction;
- `underpowered`: neither, and some comparison that did not pass had under 80 % power at its
  target (or no target): the design could not have seen the effect; `needed_n` says how many
  seeds per arm would (the largest over the comparisons, since every one must pass);
- `not shown`: neither, at adequate power: the difference is inside the noise of a design
  that would have seen the target effect. An exact tie (zero spread, the effect at its null)
  lands here, never passed and never contradicted, and so does any claim with one: a failure
  decided with certainty, which no number of seeds changes;
- `undecided`: an arm has fewer than two seeds (no test is possible);
- `missing`: an arm has no results (its study was not run, or the selection it names has
  not chosen yet: `reason` says which).

An arm may name a selection (`methodlib.selection`): the claim is decided on the member that
the selection chose on validation, and `selections` records arm → member.

Comparing two means without a test never decides a claim here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from methodlib.errors import RunError
from methodlib.io import write_json
from methodlib.metrics.uncertainty import deep_ensemble_equivalents
from methodlib.report import claim_tests, power
from methodlib.report.labels import ensemble_label, experiment_labels
from methodlib.report.metric_registry import metric_info
from methodlib.report.registration import read_lock, registration_state
from methodlib.report.tables import CURVE_PREFIX, DEE_OF, read_tidy, reference_curve, run_rows
from methodlib.spec import ClaimSpec, Pipeline, split_arm

VERDICTS = ("holds", "not shown", "underpowered", "contradicted", "undecided", "missing")


def arm_values(tidy: pd.DataFrame, arm: str, metric: str) -> pd.Series:
    """The arm's values of `metric`, indexed by seed: one per run, or one per disjoint
    k-member ensemble (`deep_ensemble@2`, indexed by its members' seeds `0+1`, ...)."""
    experiment, members = split_arm(arm)
    rows = tidy[(tidy["experiment"] == experiment) & (tidy["metric"] == metric)]
    if members is None:
        rows = run_rows(rows)
    else:
        rows = rows[rows["seed"].astype(str).str.contains("+", regex=False)]
        rows = rows[rows["samples"] == members]
    return pd.Series(rows["value"].to_numpy(float), index=rows["seed"].astype(str).to_numpy())


def _summary(values: pd.Series) -> dict[str, Any]:
    return {
        "mean": float(f"{values.mean():.6g}"),
        "sd": float(f"{values.std(ddof=1):.6g}") if len(values) > 1 else None,
        "n": len(values),
        "seeds": list(values.index),
    }


def _direction(metric: str) -> bool:
    """True when lower is better (the claimed direction of `a beats b`)."""
    better = metric_info(metric).better
    if better is None:
        raise RunError(f"metric {metric!r} has no better direction in the metric registry")
    return better == "lower"


Keep = Callable[[str], bool]
"""Whether a value, by its seed label (`3`, or an ensemble's members `0+1`), takes part."""


def _members(label: str) -> set[str]:
    return set(label.split("+"))


def _is_ensemble(label: str) -> bool:
    return "+" in label


Confirmatory = tuple[set[str], set[str]]
"""A claim's confirmatory seeds as labels: those of its runs, those of its ensembles' members."""


def _confirmatory_labels(claim: ClaimSpec) -> Confirmatory:
    runs = {str(s) for s in claim.seeds}
    return runs, {str(s) for s in claim.ensemble_seeds} or runs


def _of(label: str, confirmatory: Confirmatory) -> set[str]:
    return confirmatory[1] if _is_ensemble(label) else confirmatory[0]


def _pilot(confirmatory: Confirmatory) -> Keep:
    return lambda label: not _members(label) & _of(label, confirmatory)


def _confirmatory(confirmatory: Confirmatory) -> Keep:
    return lambda label: _members(label) <= _of(label, confirmatory)


def _complete(values: pd.Series, arm: str, confirmatory: Confirmatory) -> bool:
    """Whether an arm has every confirmatory seed: each one for a run arm; for a k-member
    ensemble arm, as many all-confirmatory ensembles as disjoint k-sets the seeds make."""
    labels = {label for label in values.index if _confirmatory(confirmatory)(label)}
    members = split_arm(arm)[1]
    if members is None:
        return confirmatory[0] <= labels
    return len(labels) >= len(confirmatory[1]) // members


def _claim_metrics(claim: ClaimSpec) -> list[str]:
    """The per-run metrics a claim is decided on: a DEE claim's are the runs' calibrated-NLL
    curves, whose seed means it reads off the reference ensemble's curve."""
    return [CURVE_PREFIX + DEE_OF] if claim.below_samples else claim.metrics


def basis(claim: ClaimSpec, tidy: pd.DataFrame, pilot_only: bool = False) -> tuple[str, Keep]:
    """("confirmatory" | "pilot", which values take part) by the rule of the module
    docstring; `pilot_only` takes the pilot whatever the confirmatory runs (planning)."""
    confirmatory = _confirmatory_labels(claim)
    complete = all(
        _complete(arm_values(tidy, arm, metric), arm, confirmatory)
        for arm in claim.arms()
        for metric in _claim_metrics(claim)
    )
    if claim.seeds and not pilot_only and complete:
        return "confirmatory", _confirmatory(confirmatory)
    return "pilot", _pilot(confirmatory)


def _kept(values: pd.Series, keep: Keep) -> pd.Series:
    return values[[keep(label) for label in values.index]]


def _compare(
    claim: ClaimSpec,
    metric: str,
    a: pd.Series | float,
    b: pd.Series | float,
    alpha: float,
) -> dict[str, Any]:
    """a beats b (or, with a `tolerance`, is worse by less than it); a number is a threshold.
    The test's outcome with its claimed direction, threshold and power."""
    lower = _direction(metric)
    null = claim.tolerance or 0.0
    null = null if lower else -null  # a - b below the tolerance / above minus it
    extra: dict[str, Any] = {"direction": "lower" if lower else "higher"}
    if isinstance(b, float):
        result = claim_tests.one_sample(a, b, lower, alpha, null)
        design, extra["threshold"] = power.design_of("one_sample", a, b), b
    elif isinstance(a, float):  # tested as b against a; reported as a - b like the others
        flipped = claim_tests.one_sample(b, a, not lower, alpha, -null)
        result = replace(
            flipped,
            effect=-flipped.effect,
            ci_low=-flipped.ci_high,
            ci_high=-flipped.ci_low,
            n_a=1,
            n_b=flipped.n_a,
        )
        design, extra["threshold"] = power.design_of("one_sample", b, a), a
    else:
        if claim.test == "paired":
            shared = sorted(set(a.index) & set(b.index), key=str)
            a, b = a[shared], b[shared]
        result = claim_tests.TESTS[claim.test](a, b, lower, alpha, null)
        design = power.design_of(claim.test, a, b)
    observed = null - result.effect if lower else result.effect - null
    extra["power"] = power.plan(
        design, alpha, observed, claim.effect_of_interest, tolerance=claim.tolerance
    )
    if claim.tolerance is not None:
        extra["tolerance"] = claim.tolerance
    return {**result.as_dict(), **extra}


def _order(claim: ClaimSpec, tidy: pd.DataFrame, keep: Keep, alpha: float) -> tuple[dict, list]:
    arms, comparisons = {}, []
    for metric in claim.metrics:
        values = {
            arm: arm if isinstance(arm, float) else _kept(arm_values(tidy, arm, metric), keep)
            for arm in claim.order
        }
        for arm, v in values.items():
            if not isinstance(arm, float):
                arms.setdefault(arm, {})[metric] = _summary(v) if len(v) else None
        for better, worse in zip(claim.order, claim.order[1:], strict=False):
            a, b = values[better], values[worse]
            if all(isinstance(v, float) or len(v) for v in (a, b)):
                result = _compare(claim, metric, a, b, alpha)
                comparisons.append({"metric": metric, "a": better, "b": worse, **result})
    return arms, comparisons


def _equivalent(
    claim: ClaimSpec, tidy: pd.DataFrame, keep: Keep, alpha: float
) -> tuple[dict, list]:
    """|mean a - mean b| < margin × |mean b| by TOST: paired on shared seeds when the claim's
    test is `paired`, else two Welch tests."""
    arms, comparisons = {}, []
    first, second = claim.equivalent
    pair = claim.test == "paired"
    for metric in claim.metrics:
        a = _kept(arm_values(tidy, first, metric), keep)
        b = _kept(arm_values(tidy, second, metric), keep)
        arms.setdefault(first, {})[metric] = _summary(a) if len(a) else None
        arms.setdefault(second, {})[metric] = _summary(b) if len(b) else None
        if len(a) and len(b):
            margin = claim.margin * abs(float(b.mean()))
            if pair:
                shared = sorted(set(a.index) & set(b.index), key=str)
                a, b = a[shared], b[shared]
            result = claim_tests.tost(a, b, margin, alpha, pair).as_dict()
            design = power.design_of("paired" if pair else "welch", a, b, equivalence=True)
            plan = power.plan(design, alpha, float("nan"), claim.effect_of_interest, margin=margin)
            comparisons.append(
                {
                    "metric": metric,
                    "a": first,
                    "b": second,
                    "margin": margin,
                    **result,
                    "direction": "equivalent",
                    "power": plan,
                }
            )
    return arms, comparisons


def reference_size(pipeline: Pipeline, study: str, tidy: pd.DataFrame) -> int:
    """K: the largest deep ensemble of the study's `dee_reference` (0 when it has not run)."""
    curve = reference_curve(pipeline, study, tidy)
    return int(curve["samples"].max()) if len(curve) else 0


def _dee_of_mean(
    values: np.ndarray, sizes: list[int], curve: list[float], k: float, alpha: float
) -> claim_tests.Comparison:
    """DEE(seed-mean calibrated NLL) - k, its interval and p from resampling the seeds."""
    return claim_tests.bootstrap_statistic(
        values, lambda means: deep_ensemble_equivalents(means, sizes, curve), k, True, alpha
    )


def _dee_power(
    claim: ClaimSpec, values: np.ndarray, sizes: list[int], curve: list[float], k: int, alpha: float
) -> dict[str, Any]:
    """The power record of DEE(k) < k, planned as the one-sample t-test that the bootstrap
    approximates on the NLL scale, where DEE(mean) < k is mean NLL > the ensemble's NLL at k:
    the observed distance is mean NLL - curve(k), and an `effect_of_interest` e (in networks:
    DEE = k - e) is curve(k - e) - curve(k)."""
    at_k = float(np.interp(k, sizes, curve))
    goal = claim.effect_of_interest
    if goal is not None:
        goal = float(np.interp(k - goal, sizes, curve)) - at_k
    design = power.design_of("one_sample", values, at_k)
    return power.plan(design, alpha, float(values.mean()) - at_k, goal)


def _below_samples(
    claim: ClaimSpec, tidy: pd.DataFrame, reference: pd.DataFrame, keep: Keep, alpha: float
) -> tuple[dict, list[dict], list[dict]]:
    """DEE(k) < k at every readable k ≥ 2, DEE read from the seed-mean calibrated NLL at k
    against the `reference` curve and decided by a bootstrap over the seeds (Ashukha et al.
    2020). A point is unreadable when k is at or beyond the reference ensemble's size K
    (DEE ≤ K there by construction) or when the seed-mean DEE is clipped at K ("≥ K": the
    method beats every ensemble measured). A DEE clipped at 1 ("< 1") is an upper bound and
    counts as it is (conservative for this claim); so do resamples clipped at K. Each arm's
    `dee` is the seed-mean DEE of its final samples, with the bootstrap interval `ci` of its
    comparisons' level."""
    sizes, curve = reference["samples"].tolist(), reference["value"].tolist()
    size = max(sizes, default=0)
    arms, comparisons, excluded = {}, [], []
    curves = run_rows(tidy[tidy["metric"] == CURVE_PREFIX + DEE_OF])
    curves = curves[[keep(str(seed)) for seed in curves["seed"]]]
    for experiment in claim.below_samples:
        final = _kept(arm_values(tidy, experiment, DEE_OF), keep)
        arms[experiment] = {"dee": _dee_summary(final, sizes, curve, alpha) if size else None}
        rows = curves[curves["experiment"] == experiment]
        for k, points in rows.groupby("samples"):
            values = points["value"].to_numpy(float)
            if k < 2 or not size:
                continue
            result = _dee_of_mean(values, sizes, curve, float(k), alpha)
            if k >= size or result.effect + k >= size:
                excluded.append({"a": experiment, "samples": int(k), "reason": f"≥ {size}"})
                continue
            comparisons.append(
                {
                    "metric": "dee",
                    "a": experiment,
                    "samples": int(k),
                    **result.as_dict(),
                    "direction": "lower",
                    "threshold": float(k),
                    "power": _dee_power(claim, values, sizes, curve, int(k), alpha),
                }
            )
    return arms, comparisons, excluded


def _dee_summary(
    values: pd.Series, sizes: list[int], curve: list[float], alpha: float
) -> dict[str, Any] | None:
    """The seed-mean DEE of an arm's runs, no sd (one number), its bootstrap interval."""
    if not len(values):
        return None
    result = _dee_of_mean(values.to_numpy(float), sizes, curve, 0.0, alpha)
    ci = [result.ci_low, result.ci_high]
    return {
        "mean": float(f"{result.effect:.6g}"),
        "sd": None,
        "ci": None if np.isnan(ci[0]) else [float(f"{c:.6g}") for c in ci],
        "n": len(values),
        "seeds": list(values.index),
    }


def evaluate_claim(
    pipeline: Pipeline,
    claim: ClaimSpec,
    tidy: pd.DataFrame,
    looks: int = 1,
    pilot_only: bool = False,
) -> dict[str, Any]:
    """The claim's record, decided at alpha / `looks` on its basis (the module docstring);
    `pilot_only` decides it on the pilot seeds whatever the confirmatory runs (for planning:
    `methodlib power`, which must never read the confirmatory seeds)."""
    if looks < 1:
        raise ValueError(f"looks is a count of decisions, at least 1 (got {looks})")
    alpha = claim.alpha / looks
    seeds, keep = basis(claim, tidy, pilot_only)
    excluded: list[dict] = []
    extra = {}
    if claim.order:
        arms, comparisons = _order(claim, tidy, keep, alpha)
    elif claim.equivalent:
        arms, comparisons = _equivalent(claim, tidy, keep, alpha)
    else:
        reference = reference_curve(pipeline, claim.study, tidy)
        extra["reference_size"] = int(reference["samples"].max()) if len(reference) else 0
        arms, comparisons, excluded = _below_samples(claim, tidy, reference, keep, alpha)
    arm_list = [{"arm": arm, "metrics": arms[arm]} for arm in claim.arms() if arm in arms]
    return {
        "study": claim.study,
        "statement": claim.statement,
        "paper": claim.paper,
        "paper_value": claim.paper_value,
        "origin": claim.origin,
        "metrics": claim.metrics,
        "test": "bootstrap_dee" if claim.below_samples else claim.test,
        "alpha": claim.alpha,
        "looks": looks,
        "alpha_used": alpha,
        "basis": seeds,
        "verdict": verdict(claim, arms, comparisons, alpha),
        "needed_n": power.claim_needed_n(comparisons),
        "arms": arm_list,
        "comparisons": comparisons,
        "excluded": excluded,
        **extra,
    }


def verdict(
    claim: ClaimSpec, arms: dict, comparisons: list[dict], alpha_used: float | None = None
) -> str:
    """The verdict of the module docstring; `alpha_used` (default: the claim's alpha) is the
    level the comparisons were tested at."""
    alpha = claim.alpha if alpha_used is None else alpha_used
    if not arms or any(s is None for a in arms.values() for s in a.values()):
        return "missing"
    if not comparisons or any(c["p_value"] is None for c in comparisons):
        return "undecided"
    if all(c["passed"] for c in comparisons):
        return "holds"
    if not claim.equivalent and any(c["p_value"] > 1 - alpha for c in comparisons):
        return "contradicted"
    failed = [c for c in comparisons if not c["passed"]]
    if any(c["exact"] for c in failed):  # a certain failure: no number of seeds changes it
        return "not shown"
    return "not shown" if all(power.adequate(c) for c in failed) else "underpowered"


def resolve_arms(
    pipeline: Pipeline, claim: ClaimSpec, selections: Mapping[str, dict[str, Any]]
) -> tuple[ClaimSpec, dict[str, str | None]]:
    """The claim with each arm that names a selection replaced by the member it chose
    (`selections`: the records of `methodlib.selection` by name), and arm → chosen member
    (None where the selection has not run: that arm stays, finds no results and the claim is
    `missing`). The claim is decided on the member a validation score picked, never on a
    member picked by looking at the test split."""
    chosen: dict[str, str | None] = {}
    for arm in claim.arms():
        if arm not in pipeline.selections:
            continue
        record = selections.get(arm)
        member = None if record is None else record["chosen"]
        if member is not None and member not in pipeline.selections[arm].members:
            raise RunError(
                f"the record of selection {arm!r} chose {member!r}, which is not one of its "
                f"members; rerun `methodlib select --selection {arm}`"
            )
        chosen[arm] = member
    if not chosen:
        return claim, chosen

    def swap(arms: list) -> list:
        return [chosen.get(a) or a if isinstance(a, str) else a for a in arms]

    fields = ("order", "equivalent", "below_samples")
    update = {f: swap(getattr(claim, f)) for f in fields if getattr(claim, f)}
    return claim.model_copy(update=update), chosen


def evaluate_claims(
    pipeline: Pipeline,
    tidy: pd.DataFrame,
    lock: dict[str, dict[str, Any]] | None = None,
    selections: Mapping[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every claim of the pipeline's record, in file order (a list: JSON keys get sorted),
    with its origin and its registration in `lock` (claims.lock; None: nothing registered,
    every claim is exploratory), whose looks correct the level it is decided at. An arm that
    names a selection is decided on its chosen member (`resolve_arms`; `selections`: the
    selections' records by name); the registration is of the claim as declared."""
    records = []
    for name, claim in pipeline.claims.items():
        registration = registration_state(lock or {}, pipeline, name, claim)
        resolved, chosen = resolve_arms(pipeline, claim, selections or {})
        record = evaluate_claim(pipeline, resolved, tidy, looks=registration["looks"])
        record = {
            "name": name,
            **record,
            "registration": registration,
            "selections": chosen,
        }
        not_run = [arm for arm, member in chosen.items() if member is None]
        if not_run:
            reason = "; ".join(f"selection {arm} has not run" for arm in not_run)
            record.update(verdict="missing", reason=reason)
        records.append(record)
    return records


def arm_labels(pipeline: Pipeline, claim: ClaimSpec) -> dict[str, str]:
    """What each arm of the claim reads as: "MC dropout", "Deep ensemble of 2" (an arm that
    names a selection not yet run has none: the page shows its name)."""
    arms = [a for a in claim.arms() if split_arm(a)[0] in pipeline.experiments]
    names = experiment_labels(pipeline, [split_arm(a)[0] for a in arms])
    out = {}
    for arm in arms:
        experiment, members = split_arm(arm)
        label = names[experiment]
        out[arm] = label if members is None else ensemble_label(pipeline, experiment, label)
        out[arm] += "" if members is None else f" of {members}"
    return out


def write_claims(
    pipeline: Pipeline,
    metrics_csv: str | Path,
    out: str | Path,
    lock_path: str | Path | None = None,
    selections: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`claims.json`: every claim's record and the display label of every arm; `lock_path`
    is the pipeline's claims.lock (None or a missing file: every claim is exploratory),
    `selections` the selections' records by name (the members the claims are decided on)."""
    tidy = read_tidy(metrics_csv)
    selections = selections or {}
    lock = read_lock(lock_path) if lock_path else None
    claims = evaluate_claims(pipeline, tidy, lock, selections)
    labels = {
        arm: label
        for c in pipeline.claims.values()
        for arm, label in arm_labels(pipeline, resolve_arms(pipeline, c, selections)[0]).items()
    }
    data = {"metrics": str(metrics_csv), "claims": claims, "labels": labels}
    write_json(out, data)
    return data
