"""The seed budget: claims granted their needed n cheapest first, within the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from methodlib.errors import RunError
from methodlib.report.seed_budget import (
    ClaimNeed,
    allocate,
    budget_table,
    check_first_seed,
    confirmatory_seeds,
    cost_per_seed,
    costs_from,
)

ROOT = Path(__file__).resolve().parents[1]
BASE = {"a": 3, "b": 3, "c": 3}
COST = {"a": 10.0, "b": 100.0, "c": 1.0}
BASE_COST = 3 * (10 + 100 + 1)


def test_a_claim_the_base_powers_costs_nothing():
    result = allocate([ClaimNeed("x", 2, ("a", "b"))], BASE, COST, BASE_COST)
    assert result.claims["x"]["granted"] and result.claims["x"]["status"].startswith("powered by")
    assert result.cpu_seconds == BASE_COST


def test_cheapest_claims_first_and_the_budget_holds():
    needs = [
        ClaimNeed("dear", 5, ("b",)),
        ClaimNeed("cheap", 10, ("c",)),
        ClaimNeed("mid", 6, ("a",)),
    ]
    # cheap: 7 × 1 = 7, mid: 3 × 10 = 30, dear: 2 × 100 = 200; a budget for the first two only
    result = allocate(needs, BASE, COST, BASE_COST + 40)
    granted = {n for n, c in result.claims.items() if c["granted"]}
    assert granted == {"cheap", "mid"}
    assert result.seeds == {"a": 6, "b": 3, "c": 10}
    assert "needs n ≈ 5" in result.claims["dear"]["status"]
    assert result.cpu_seconds == BASE_COST + 37 <= BASE_COST + 40


def test_shared_experiments_are_paid_once():
    needs = [ClaimNeed("first", 6, ("a",)), ClaimNeed("second", 6, ("a", "c"))]
    result = allocate(needs, BASE, COST, BASE_COST + 33)
    # first costs 30; second then costs only c's 3 extra seeds
    assert all(c["granted"] for c in result.claims.values())
    assert result.claims["second"]["cost_cpu_seconds"] == 3.0


def test_no_plan_and_no_timing_are_never_granted():
    needs = [ClaimNeed("blind", None, ("a",), "no pilot runs"), ClaimNeed("untimed", 4, ("z",))]
    result = allocate(needs, {**BASE, "z": 3}, COST, 1e9)
    assert not result.claims["blind"]["granted"]
    assert result.claims["blind"]["status"] == "no pilot runs"
    assert result.claims["untimed"]["status"] == "no timing for z"
    assert "blind" in budget_table(result)


def test_cost_per_seed_reads_the_profile():
    profile = {
        "per_experiment": {
            "a": {
                "train_run": {"seeds": 2, "cpu_seconds": 20.0},
                "evaluate_run": {"seeds": 2, "cpu_seconds": 4.0},
            },
            "none": {
                "train_run": {"seeds": 0, "cpu_seconds": 0.0},
                "evaluate_run": {"seeds": 0, "cpu_seconds": 0.0},
            },
        }
    }
    assert cost_per_seed(profile) == pytest.approx({"a": 12.0})


def test_confirmatory_seeds_start_past_the_pilot_and_each_claim_gets_what_all_its_arms_run():
    needs = [ClaimNeed("cheap", 10, ("c",)), ClaimNeed("both", 5, ("b", "c"))]
    result = allocate(needs, BASE, COST, BASE_COST + 7)  # cheap only: both would cost 200 more
    seeds = confirmatory_seeds(result, first=100)
    assert seeds["experiments"]["c"] == list(range(100, 110))
    assert seeds["experiments"]["a"] == [100, 101, 102]
    assert seeds["claims"] == {"cheap": list(range(100, 110)), "both": [100, 101, 102]}


def test_confirmatory_seeds_may_not_overlap_a_pilot():
    plans = [{"study": "s", "claims": [{"name": "x", "pilot_seeds": ["0", "1", "7+8"]}]}]
    check_first_seed(plans, 9)
    with pytest.raises(RunError, match="--first-seed 9 or more"):
        check_first_seed(plans, 8)


def test_the_first_profile_that_timed_an_experiment_prices_it():
    def profile(**seconds):
        runs = {"seeds": 1, "cpu_seconds": 0.0}
        return {
            "per_experiment": {
                e: {"train_run": {"seeds": 1, "cpu_seconds": s}, "evaluate_run": runs}
                for e, s in seconds.items()
            }
        }

    fresh, old = profile(a=5.0), profile(a=50.0, b=7.0)
    assert costs_from([fresh, old]) == {"a": 5.0, "b": 7.0}


def test_a_floor_starts_the_pipeline_seeds_low_and_keeps_an_experiments_own(tmp_path):
    from methodlib.report.seed_budget import base_seeds
    from methodlib.spec import load_pipeline

    text = (
        (ROOT / "configs" / "tiny.yaml").read_text().replace("seeds: [0, 1]", "seeds: [0, 1, 2]", 1)
    )
    (tmp_path / "p.yaml").write_text(text)
    pipeline = load_pipeline(tmp_path / "p.yaml")
    full = base_seeds(pipeline)
    floored = base_seeds(pipeline, floor=2)
    own = {e for e, x in pipeline.experiments.items() if x.seeds}
    assert own and set(full) - own
    assert all(floored[e] == full[e] for e in own)
    assert all(floored[e] == 2 and full[e] == 3 for e in set(full) - own)
    with pytest.raises(RunError, match="at least 2"):
        base_seeds(pipeline, floor=1)


def test_a_claim_raises_the_runs_its_experiments_start_from():
    """SBP starts from the dense run of its seed: a claim on SBP that buys seeds buys the
    dense run's too (issue 32 raised dense_lenet5_mnist5k by hand after validation named it)."""
    from methodlib.report.seed_budget import claim_needs, with_sources
    from methodlib.spec import load_pipeline

    pipeline = load_pipeline(ROOT / "pipeline.yaml")
    read = {e for c in pipeline.claims.values() for e in pipeline.claim_experiments(c)}
    started = {e: x.init_from for e, x in pipeline.experiments.items() if x.init_from}
    experiment, source = next((e, s) for e, s in started.items() if e in read)
    assert with_sources(pipeline, [experiment]) == (
        experiment,
        source,
        *with_sources(pipeline, [source])[1:],
    )
    claim = next(
        n for n, c in pipeline.claims.items() if experiment in pipeline.claim_experiments(c)
    )
    plan = {"study": "x", "claims": [{"name": claim, "needed_n": 4}]}
    (need,) = claim_needs(pipeline, [plan])
    assert source in need.experiments
    seeds = allocate(
        [need], dict.fromkeys(need.experiments, 2), dict.fromkeys(need.experiments, 1.0), 1e9
    ).seeds
    assert seeds[source] == seeds[experiment] == 4
