"""The papers' claims (`claims:` in the pipeline file) decided on the tidy results table.

Each claim becomes one record of `claims.json`: its statement and source, the mean, sd and
seeds of every arm, and one comparison per metric and adjacent pair of arms (or per point of a
deep-ensemble-equivalent curve), each with the test, the effect, its interval and the p-value
(methodlib/report/claim_tests.py). The verdict:

- `holds`: every comparison passes its one-sided test (or equivalence test) at `alpha`;
- `contradicted`: some comparison is significant in the opposite direction;
- `not shown`: neither: the difference is inside the noise of these seeds;
- `undecided`: an arm has fewer than two seeds (no test is possible);
- `missing`: an arm has no results (its study was not run, or the selection it names has
  not chosen yet: `reason` says which).

An arm may name a selection (`methodlib.selection`): the claim is decided on the member that
the selection chose on validation, and `selections` records arm → member.

Comparing two means without a test never decides a claim here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from methodlib.errors import RunError
from methodlib.io import write_json
from methodlib.report import claim_tests
from methodlib.report.labels import ensemble_label, experiment_labels
from methodlib.report.metric_registry import metric_info
from methodlib.report.registration import read_lock, registration_state
from methodlib.report.tables import CURVE_PREFIX, DEE_OF, read_tidy, run_rows
from methodlib.spec import ClaimSpec, Pipeline, split_arm

VERDICTS = ("holds", "not shown", "contradicted", "undecided", "missing")


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


def _compare(
    claim: ClaimSpec, metric: str, a: pd.Series | float, b: pd.Series | float
) -> claim_tests.Comparison:
    """a beats b (or, with a `tolerance`, is worse by less than it); a number is a threshold."""
    lower = _direction(metric)
    shift = claim.tolerance or 0.0
    shift = shift if lower else -shift  # a - shift beats b  ⇔  a is worse by < tolerance
    sign = 1.0
    if isinstance(b, float):
        result = claim_tests.one_sample(a - shift, b, lower, claim.alpha)
    elif isinstance(a, float):  # tested as b against a; reported as a - b like the others
        result, sign = claim_tests.one_sample(b, a - shift, not lower, claim.alpha), -1.0
    elif claim.test == "paired":
        shared = sorted(set(a.index) & set(b.index), key=str)
        result = claim_tests.paired(a[shared] - shift, b[shared], lower, claim.alpha)
    else:
        result = claim_tests.TESTS[claim.test](a - shift, b, lower, claim.alpha)
    low, high = sorted((sign * result.ci_low + shift, sign * result.ci_high + shift))
    return replace(result, effect=sign * result.effect + shift, ci_low=low, ci_high=high)


def _order(claim: ClaimSpec, tidy: pd.DataFrame) -> tuple[dict, list[dict]]:
    arms, comparisons = {}, []
    for metric in claim.metrics:
        values = {
            arm: arm if isinstance(arm, float) else arm_values(tidy, arm, metric)
            for arm in claim.order
        }
        for arm, v in values.items():
            if not isinstance(arm, float):
                arms.setdefault(arm, {})[metric] = _summary(v) if len(v) else None
        for better, worse in zip(claim.order, claim.order[1:], strict=False):
            a, b = values[better], values[worse]
            if all(isinstance(v, float) or len(v) for v in (a, b)):
                result = _compare(claim, metric, a, b).as_dict()
                if claim.tolerance is not None:
                    result["tolerance"] = claim.tolerance
                comparisons.append({"metric": metric, "a": better, "b": worse, **result})
    return arms, comparisons


def _equivalent(claim: ClaimSpec, tidy: pd.DataFrame) -> tuple[dict, list[dict]]:
    arms, comparisons = {}, []
    first, second = claim.equivalent
    for metric in claim.metrics:
        a, b = arm_values(tidy, first, metric), arm_values(tidy, second, metric)
        arms.setdefault(first, {})[metric] = _summary(a) if len(a) else None
        arms.setdefault(second, {})[metric] = _summary(b) if len(b) else None
        if len(a) and len(b):
            margin = claim.margin * abs(float(b.mean()))
            result = claim_tests.tost(a, b, margin, claim.alpha).as_dict()
            comparisons.append(
                {"metric": metric, "a": first, "b": second, "margin": margin, **result}
            )
    return arms, comparisons


def reference_size(pipeline: Pipeline, study: str, tidy: pd.DataFrame) -> int:
    """K: the largest deep ensemble of the study's `dee_reference` (0 when it has not run)."""
    reference = pipeline.studies[study].dee_reference
    curve = tidy[
        (tidy["experiment"] == reference)
        & (tidy["seed"] == "all")
        & (tidy["metric"] == CURVE_PREFIX + DEE_OF)
    ]
    return int(curve["samples"].max()) if len(curve) else 0


def _below_samples(
    claim: ClaimSpec, tidy: pd.DataFrame, size: int
) -> tuple[dict, list[dict], list[dict]]:
    """DEE(k) < k at every readable k ≥ 2. A point is unreadable when k is at or beyond the
    reference ensemble's size K (DEE ≤ K there by construction) or when a seed's DEE is
    clipped at K ("≥ K": the run beats every ensemble measured). A DEE clipped at 1 ("< 1") is
    an upper bound and counts as it is (conservative for this claim)."""
    arms, comparisons, excluded = {}, [], []
    curves = run_rows(tidy[tidy["metric"] == "curve_dee"])
    for experiment in claim.below_samples:
        rows = curves[curves["experiment"] == experiment]
        final = arm_values(tidy, experiment, "dee")
        arms[experiment] = {"dee": _summary(final) if len(final) else None}
        for k, points in rows.groupby("samples"):
            values = points["value"].to_numpy(float)
            if k < 2:
                continue
            if k >= size or (values >= size).any():
                excluded.append({"a": experiment, "samples": int(k), "reason": f"≥ {size}"})
                continue
            result = claim_tests.one_sample(values, float(k), True, claim.alpha).as_dict()
            comparisons.append({"metric": "dee", "a": experiment, "samples": int(k), **result})
    return arms, comparisons, excluded


def evaluate_claim(
    pipeline: Pipeline, claim: ClaimSpec, tidy: pd.DataFrame, looks: int = 1
) -> dict[str, Any]:
    excluded: list[dict] = []
    extra = {}
    if claim.order:
        arms, comparisons = _order(claim, tidy)
    elif claim.equivalent:
        arms, comparisons = _equivalent(claim, tidy)
    else:
        extra["reference_size"] = reference_size(pipeline, claim.study, tidy)
        arms, comparisons, excluded = _below_samples(claim, tidy, extra["reference_size"])
    arm_list = [{"arm": arm, "metrics": arms[arm]} for arm in claim.arms() if arm in arms]
    return {
        "study": claim.study,
        "statement": claim.statement,
        "paper": claim.paper,
        "paper_value": claim.paper_value,
        "metrics": claim.metrics,
        "test": "one_sample" if claim.below_samples else claim.test,
        "alpha": claim.alpha,
        "verdict": verdict(claim, arms, comparisons),
        "arms": arm_list,
        "comparisons": comparisons,
        "excluded": excluded,
        **extra,
    }


def verdict(claim: ClaimSpec, arms: dict, comparisons: list[dict]) -> str:
    if not arms or any(s is None for a in arms.values() for s in a.values()):
        return "missing"
    if not comparisons or any(c["p_value"] is None for c in comparisons):
        return "undecided"
    if all(c["passed"] for c in comparisons):
        return "holds"
    opposite = 1 - claim.alpha
    if not claim.equivalent and any(c["p_value"] > opposite for c in comparisons):
        return "contradicted"
    return "not shown"


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
            "origin": claim.origin,
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
