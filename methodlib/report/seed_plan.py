"""`methodlib power STUDY`: how many seeds each claim of a study needs, planned from its pilot.

A claim's confirmatory seeds (`claims.<name>.seeds`) must be sized before they run, from runs
that will never decide it: the pilot, its arms' other seeds. Each claim is evaluated here on
its pilot only (`evaluate_claim(..., pilot_only=True)`, whatever confirmatory runs exist), and
each comparison's power (methodlib/report/power.py) gives the pilot's n and spread, the
target and the n per arm that reaches 80 % power at it; the claim needs the largest. A study
with no pilot runs at all is refused: planning from the confirmatory seeds would let the runs
that decide a claim also choose its size.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from methodlib.errors import RunError
from methodlib.io import write_json
from methodlib.report import power
from methodlib.report.claims import evaluate_claim, resolve_arms
from methodlib.report.tables import read_tidy, seed_members
from methodlib.spec import ClaimSpec, Pipeline

COMPARISON_FIELDS = ("metric", "a", "b", "samples", "test", "direction", "effect")


def _pilot_seeds(record: dict[str, Any]) -> list[str]:
    seeds = {
        seed
        for arm in record["arms"]
        for summary in arm["metrics"].values()
        if summary is not None
        for seed in summary["seeds"]
    }
    return sorted(seeds, key=seed_members)


def plan_claim(
    pipeline: Pipeline,
    name: str,
    claim: ClaimSpec,
    tidy: pd.DataFrame,
    selections: Mapping[str, dict[str, Any]] | None = None,
) -> dict:
    """One claim's plan: its pilot seeds, each comparison's power and the n the claim needs.
    An arm naming a selection is planned on the member the selection chose (as the claim will
    be decided on it); a selection that has not run leaves the claim unplanned, with a note."""
    resolved, chosen = resolve_arms(pipeline, claim, selections or {})
    record = evaluate_claim(pipeline, resolved, tidy, pilot_only=True)
    comparisons = [
        {**{k: c[k] for k in COMPARISON_FIELDS if k in c}, **c["power"]}
        for c in record["comparisons"]
    ]
    pilot = _pilot_seeds(record)
    note = None
    not_run = [arm for arm, member in chosen.items() if member is None]
    if not_run:
        note = "; ".join(f"selection {arm} has not run" for arm in not_run)
        comparisons, record["needed_n"] = [], None
    elif not pilot:
        note = (
            f"no pilot runs: run seeds outside claims.{name}.seeds to plan from"
            if claim.seeds
            else "not run"
        )
    elif not comparisons:
        note = "no comparison: an arm has no pilot runs"
    return {
        "name": name,
        "statement": claim.statement,
        "alpha": claim.alpha,
        "confirmatory_seeds": list(claim.seeds),
        "pilot_seeds": pilot,
        "needed_n": record["needed_n"],
        "note": note,
        "comparisons": comparisons,
    }


def plan_study(
    pipeline: Pipeline,
    study: str,
    tidy: pd.DataFrame,
    selections: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The plan of every claim of `study` (`selections`: the selections' records by name, for
    arms naming one); refused when no claim has a pilot to plan from."""
    if study not in pipeline.study_names():
        raise RunError(
            f"study {study!r} is not in the pipeline file; its studies: "
            + ", ".join(pipeline.study_names())
        )
    claims = {n: c for n, c in pipeline.claims.items() if c.study == study}
    if not claims:
        raise RunError(f"study {study!r} declares no claims (`claims:` with `study: {study}`)")
    plans = [plan_claim(pipeline, n, c, tidy, selections) for n, c in claims.items()]
    if not any(p["pilot_seeds"] for p in plans):
        raise RunError(
            f"study {study!r}: no pilot runs to plan from. `methodlib power` plans from the "
            "pilot only, never from the confirmatory seeds that decide a claim "
            "(claims.<name>.seeds): run the arms on seeds outside them first"
        )
    return {
        "study": study,
        "power": power.POWER,
        "max_n": power.MAX_N,
        "claims": plans,
    }


def _number(x: float | int | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def plan_table(plan: dict[str, Any]) -> str:
    """The plan as a fixed-width table: claim, comparison, pilot n, sd, target, needed n."""
    header = ("claim", "comparison", "pilot n", "sd", "target (kind)", "needed n")
    rows = []
    for claim in plan["claims"]:
        if claim["note"]:
            rows.append((claim["name"], claim["note"], "", "", "", "—"))
        for c in claim["comparisons"]:
            b = f"k = {c['samples']}" if "samples" in c else c["b"]
            target = (
                "none (pilot effect against the claim)"
                if c["target"] is None
                else f"{_number(c['target'])} ({c['target_kind']})"
            )
            needed = str(c["needed_n"]) if c["needed_n"] else f"> {plan['max_n']}"
            if c["target"] is None or c["sd"] is None:
                needed = "—"
            rows.append(
                (claim["name"], f"{c['metric']}: {c['a']} vs {b}", str(c["n"]), _number(c["sd"]))
                + (target, needed)
            )
        if claim["comparisons"]:
            total = claim["needed_n"]
            rows.append((claim["name"], "claim (every comparison)", "", "", "", _number(total)))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def write_plan(
    pipeline: Pipeline,
    study: str,
    metrics_csv: str | Path,
    out: str | Path,
    selections: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Plan the study's claims from the tidy table and write the plan's JSON atomically."""
    tidy = read_tidy(metrics_csv)
    plan = {"metrics": str(metrics_csv), **plan_study(pipeline, study, tidy, selections)}
    write_json(out, plan)
    return plan
