"""`methodlib seed-budget`: which claims a time budget can power, and at how many seeds.

`methodlib power STUDY` says how many seeds per arm each claim needs (its pilot's spread
against its target). Seeds cost time, and a default pipeline that must end in two hours cannot
give every claim what it needs: this module spends a budget where power says it decides
something. Every experiment runs at least its pipeline seeds (the base); a claim whose
needed n exceeds that raises every experiment it reads (a selection's members all) to its n.
Claims share experiments, so one claim's seeds may pay for another's: the allocation is greedy
by marginal cost, cheapest first, re-priced after every grant, and a claim is granted only
while the total stays within the budget. What it does not grant stays *underpowered (needs
n ≈ N)*, and says so, rather than running at an n that decides nothing.

The result is a plan to register, not a decision: nothing here reads a confirmatory result.
Its inputs are the pilot plans (`reports/power/*.json`), the per-experiment CPU seconds of one
seed (`benchmarks/results/profile_rules.json`, `per_experiment`) and the budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from methodlib.errors import RunError
from methodlib.report.tables import seed_members
from methodlib.spec import Pipeline

RUN_RULES = ("train_run", "evaluate_run")


@dataclass(frozen=True)
class ClaimNeed:
    """One claim as the allocation sees it: the n its pilot plan asks for (None: no plan)
    and the experiments whose seeds decide it."""

    name: str
    needed_n: int | None
    experiments: tuple[str, ...]
    note: str | None = None


@dataclass
class Allocation:
    """The seeds per experiment and the verdict of the budget on each claim."""

    budget_cpu_seconds: float
    base_cpu_seconds: float
    seeds: dict[str, int]
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def cpu_seconds(self) -> float:
        return sum(c["cost_cpu_seconds"] for c in self.claims.values() if c["granted"]) + (
            self.base_cpu_seconds
        )


def _marginal(need: ClaimNeed, seeds: dict[str, int], cost: dict[str, float]) -> float:
    n = need.needed_n or 0
    return sum(max(0, n - seeds[e]) * cost[e] for e in need.experiments)


def allocate(
    needs: list[ClaimNeed],
    base_seeds: dict[str, int],
    cost_per_seed: dict[str, float],
    budget_cpu_seconds: float,
) -> Allocation:
    """Grant claims their needed n, cheapest marginal cost first, within the budget.

    `base_seeds`: the seeds every experiment runs anyway; `cost_per_seed`: CPU seconds of
    one seed (training and evaluation) per experiment; the base itself counts against the
    budget. A claim with no plan, or reading an experiment with no timing, is not granted.
    """
    seeds = dict(base_seeds)
    base = sum(n * cost_per_seed.get(e, 0.0) for e, n in base_seeds.items())
    result = Allocation(budget_cpu_seconds, base, seeds)
    pending: list[ClaimNeed] = []
    for need in needs:
        untimed = [e for e in need.experiments if e not in cost_per_seed]
        status = None
        if need.needed_n is None:
            status = need.note or "no plan: the pilot gives no n"
        elif untimed:
            status = "no timing for " + ", ".join(untimed)
        elif need.needed_n <= min((seeds[e] for e in need.experiments), default=0):
            status = "powered by the base seeds"
        if status is None:
            pending.append(need)
        else:
            result.claims[need.name] = _record(need, status, granted=status.startswith("pow"))
    while pending:
        pending.sort(key=lambda need: (_marginal(need, seeds, cost_per_seed), need.name))
        need = pending.pop(0)
        marginal = _marginal(need, seeds, cost_per_seed)
        if result.cpu_seconds + marginal > budget_cpu_seconds:
            status = f"underpowered at this budget (needs n ≈ {need.needed_n})"
            result.claims[need.name] = _record(need, status, granted=False, cost=marginal)
            continue
        for e in need.experiments:
            seeds[e] = max(seeds[e], need.needed_n or 0)
        status = f"powered at n = {need.needed_n}"
        result.claims[need.name] = _record(need, status, granted=True, cost=marginal)
    return result


def confirmatory_seeds(allocation: Allocation, first: int) -> dict[str, dict[str, list[int]]]:
    """The seeds to register: each experiment runs `first`, `first` + 1, … up to its allocated
    count, and each claim is decided on the seeds every one of its experiments runs.

    Confirmatory seeds start past the pilot's (`first` above every pilot seed), so the runs
    that sized a claim never decide it; a claim not granted its n is registered at what its
    experiments run anyway, where it is decided as underpowered rather than dropped."""
    experiments = {e: list(range(first, first + n)) for e, n in allocation.seeds.items()}
    claims = {
        name: list(range(first, first + min(allocation.seeds[e] for e in c["experiments"])))
        for name, c in allocation.claims.items()
        if c["experiments"]
    }
    return {"experiments": experiments, "claims": claims}


def _record(need: ClaimNeed, status: str, granted: bool, cost: float = 0.0) -> dict[str, Any]:
    return {
        "needed_n": need.needed_n,
        "experiments": list(need.experiments),
        "granted": granted,
        "cost_cpu_seconds": round(cost, 1),
        "status": status,
    }


def base_seeds(pipeline: Pipeline, floor: int | None = None) -> dict[str, int]:
    """The seeds every experiment runs before any claim buys more: its own `seeds` if it lists
    them (an ensemble's members, a pairing), else the pipeline's, or `floor` of them.

    With a floor the budget goes where power says it decides something: an experiment that no
    claim reads, or whose claims' pilots give no n (the effect goes against the claim, so no n
    powers it), runs the floor, and a claim whose plan needs more pays for its experiments'
    extra seeds like any other grant."""
    if floor is not None and floor < 2:
        raise RunError(f"--floor {floor}: a claim's test needs at least 2 seeds per arm")
    base = {}
    for name, experiment in pipeline.experiments.items():
        n = len(pipeline.seeds_of(name))
        base[name] = n if floor is None or experiment.seeds else min(n, floor)
    return base


def with_sources(pipeline: Pipeline, experiments: list[str]) -> tuple[str, ...]:
    """The experiments and, after each, the runs it starts from (`init_from`, transitively):
    a run at seed s starts from its source's run at s, so a claim that raises an experiment to
    n seeds raises the source with it and pays for both (validation refuses the plan else)."""
    names: list[str] = []
    for experiment in experiments:
        while experiment is not None and experiment not in names:
            names.append(experiment)
            experiment = pipeline.experiments[experiment].init_from
    return tuple(names)


def claim_needs(pipeline: Pipeline, plans: list[dict[str, Any]]) -> list[ClaimNeed]:
    """Each planned claim's needed n (from its study's plan) and the experiments whose seeds
    it raises: those it reads and the runs they start from."""
    needs = []
    for plan in plans:
        for claim in plan["claims"]:
            name = claim["name"]
            if name not in pipeline.claims:
                continue  # a plan of a claim since removed from the pipeline
            read = pipeline.claim_experiments(pipeline.claims[name])
            experiments = with_sources(pipeline, read)
            needs.append(ClaimNeed(name, claim["needed_n"], experiments, claim.get("note")))
    return needs


def cost_per_seed(profile: dict[str, Any]) -> dict[str, float]:
    """CPU seconds of one seed of each timed experiment: its training and evaluation jobs'
    CPU seconds summed, divided by the seeds timed (profile_rules.json, `per_experiment`)."""
    costs = {}
    for experiment, entry in profile["per_experiment"].items():
        timed = entry["train_run"]["seeds"]
        if timed:
            costs[experiment] = sum(entry[r]["cpu_seconds"] for r in RUN_RULES) / timed
    return costs


def costs_from(profiles: list[dict[str, Any]]) -> dict[str, float]:
    """Each experiment's CPU seconds per seed from the first profile that timed it: a fresh
    profile of the studies just rerun goes first, an older one fills in the rest."""
    costs: dict[str, float] = {}
    for profile in reversed(profiles):
        costs.update(cost_per_seed(profile))
    return costs


def read_plans(folder: str | Path) -> list[dict[str, Any]]:
    """Every study plan that `methodlib power` wrote into the folder."""
    paths = sorted(Path(folder).glob("*.json"))
    if not paths:
        raise RunError(
            f"{folder}: no plans; run `methodlib power STUDY` for each study with claims first"
        )
    plans = [json.loads(p.read_text()) for p in paths]
    return [plan for plan in plans if "study" in plan]  # not an allocation written here


def check_first_seed(plans: list[dict[str, Any]], first: int) -> None:
    """Refuse confirmatory seeds that overlap a pilot: a seed that sized a claim must not
    also decide it (a pilot seed "0+1" names the members of a deep ensemble)."""
    pilot = {
        member
        for plan in plans
        for claim in plan["claims"]
        for seed in claim["pilot_seeds"]
        for member in seed_members(seed)
    }
    if pilot and first <= max(pilot):
        raise RunError(
            f"--first-seed {first}: the pilots ran seeds up to {max(pilot)}; confirmatory "
            f"seeds must start above them (--first-seed {max(pilot) + 1} or more)"
        )


def budget_table(allocation: Allocation) -> str:
    """Claims by what the budget does for them, then the totals."""
    rows = [("claim", "needed n", "extra CPU s", "status")]
    for name, c in sorted(allocation.claims.items(), key=lambda kv: kv[1]["status"]):
        n = "—" if c["needed_n"] is None else str(c["needed_n"])
        rows.append((name, n, f"{c['cost_cpu_seconds']:.0f}", c["status"]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.append(
        f"base {allocation.base_cpu_seconds:.0f} CPU s + granted → "
        f"{allocation.cpu_seconds:.0f} of {allocation.budget_cpu_seconds:.0f} CPU s"
    )
    return "\n".join(lines)


def allocation_record(allocation: Allocation, args: Any) -> dict[str, Any]:
    """The allocation as JSON: the budget and how it was reckoned, each claim, the seeds."""
    return {
        "budget": {
            "wall_seconds": args.wall_seconds,
            "cores": args.cores,
            "utilisation": args.utilisation,
            "floor": args.floor,
            "cpu_seconds": round(allocation.budget_cpu_seconds, 1),
        },
        "profile": [str(p) for p in args.profile],
        "base_cpu_seconds": round(allocation.base_cpu_seconds, 1),
        "cpu_seconds": round(allocation.cpu_seconds, 1),
        "claims": allocation.claims,
        "seeds": allocation.seeds,
        "first_confirmatory_seed": args.first_seed,
        "confirmatory_seeds": confirmatory_seeds(allocation, args.first_seed),
    }
