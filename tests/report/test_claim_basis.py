"""Which seeds decide a claim, and at which level: confirmatory seeds once every arm has all of
them, else the pilot, never the two mixed; a second look is tested at alpha / 2."""

from __future__ import annotations

import pandas as pd
import pytest

from methodlib.report.claims import arm_values, basis, evaluate_claim
from tests.report.test_claims import claim, pipeline, tidy

PILOT_EXP = {"0": 0.100, "1": 0.101, "2": 0.099}
PILOT_OTHER = {"0": 0.110, "1": 0.111, "2": 0.109}
NOISY_EXP = {"10": 0.098, "11": 0.104, "12": 0.110}
NOISY_OTHER = {"10": 0.099, "11": 0.105, "12": 0.110}


def test_a_claim_without_confirmatory_seeds_is_decided_on_its_pilot():
    record = evaluate_claim(
        pipeline(), claim(order=["exp", "other"]), tidy({"exp": PILOT_EXP, "other": PILOT_OTHER})
    )
    assert record["basis"] == "pilot" and record["verdict"] == "holds"
    assert record["arms"][0]["metrics"]["test_calibrated_nll"]["seeds"] == ["0", "1", "2"]


def test_complete_confirmatory_seeds_decide_and_the_pilot_is_left_out():
    """The pilot shows a clear effect, the confirmatory seeds do not: they decide."""
    values = {"exp": {**PILOT_EXP, **NOISY_EXP}, "other": {**PILOT_OTHER, **NOISY_OTHER}}
    c = claim(order=["exp", "other"], seeds=[10, 11, 12])
    record = evaluate_claim(pipeline(), c, tidy(values))
    assert record["basis"] == "confirmatory" and record["verdict"] != "holds"
    for arm in record["arms"]:
        assert arm["metrics"]["test_calibrated_nll"]["seeds"] == ["10", "11", "12"]
    assert record["comparisons"][0]["n_a"] == 3


def test_until_every_arm_has_every_confirmatory_seed_the_pilot_decides():
    partial = {k: v for k, v in NOISY_OTHER.items() if k != "12"}
    values = {"exp": {**PILOT_EXP, **NOISY_EXP}, "other": {**PILOT_OTHER, **partial}}
    c = claim(order=["exp", "other"], seeds=[10, 11, 12])
    record = evaluate_claim(pipeline(), c, tidy(values))
    assert record["basis"] == "pilot" and record["verdict"] == "holds"
    for arm in record["arms"]:
        assert arm["metrics"]["test_calibrated_nll"]["seeds"] == ["0", "1", "2"]


def test_a_deep_ensemble_is_confirmatory_when_all_its_members_are():
    rows = tidy({"exp": {**PILOT_EXP, **NOISY_EXP, "13": 0.1}, "other": {**NOISY_OTHER, "13": 0.1}})
    ensembles = rows.iloc[:3].assign(seed=["0+1", "2+10", "12+13"], samples=2)
    table = pd.concat([rows, ensembles], ignore_index=True)
    c = claim(order=["exp@2", "other"], seeds=[10, 11, 12, 13])
    seeds, keep = basis(c, table)
    assert seeds == "pilot"  # "2+10" mixes pilot and confirmatory: two confirmatory pairs lack
    values = arm_values(table, "exp@2", "test_calibrated_nll")
    assert [label for label in values.index if keep(label)] == ["0+1"]
    more = pd.concat([table, rows.iloc[:1].assign(seed="10+11", samples=2)], ignore_index=True)
    seeds, keep = basis(c, more)
    assert seeds == "confirmatory"
    values = arm_values(more, "exp@2", "test_calibrated_nll")
    assert [label for label in values.index if keep(label)] == ["12+13", "10+11"]


def test_a_second_look_is_tested_at_half_the_level():
    """p ≈ 0.03 holds at one look (α = 0.05), not at two (α = 0.025)."""
    values = {"exp": [0.100, 0.104, 0.098, 0.103], "other": [0.104, 0.106, 0.103, 0.107]}
    one = evaluate_claim(pipeline(), claim(order=["exp", "other"]), tidy(values))
    two = evaluate_claim(pipeline(), claim(order=["exp", "other"]), tidy(values), looks=2)
    assert 0.025 < one["comparisons"][0]["p_value"] < 0.05
    assert (one["looks"], one["alpha_used"], one["verdict"]) == (1, 0.05, "holds")
    assert (two["looks"], two["alpha_used"]) == (2, 0.025) and two["verdict"] != "holds"
    assert two["comparisons"][0]["ci_level"] == 0.95
    assert two["comparisons"][0]["power"]["mde"] > one["comparisons"][0]["power"]["mde"]
    with pytest.raises(ValueError, match="at least 1"):
        evaluate_claim(pipeline(), claim(order=["exp", "other"]), tidy(values), looks=0)


def test_every_comparison_says_its_direction_and_threshold():
    values = {"exp": [24.0, 25.5, 23.8, 26.1]}
    c = claim(order=["exp", 20], metrics=["compression"])
    (comparison,) = evaluate_claim(pipeline(), c, tidy(values, "compression"))["comparisons"]
    assert comparison["direction"] == "higher" and comparison["threshold"] == 20.0
    lower = evaluate_claim(
        pipeline(), claim(order=["exp", "other"]), tidy({"exp": PILOT_EXP, "other": PILOT_OTHER})
    )["comparisons"][0]
    assert lower["direction"] == "lower" and "threshold" not in lower
    equivalent = claim(equivalent=["exp", "other"], margin=0.2)
    record = evaluate_claim(pipeline(), equivalent, tidy({"exp": PILOT_EXP, "other": PILOT_OTHER}))
    assert record["comparisons"][0]["direction"] == "equivalent"
    assert record["comparisons"][0]["power"]["target_kind"] == "margin"


def test_an_ensemble_arm_takes_the_disjoint_sets_of_its_own_confirmatory_members():
    """`ensemble_seeds` (the ensemble's confirmatory members) widen the ensemble arm beyond
    the run arms' `seeds`: 10+11 and 12+13 both count, and the run arm stays on 10, 11."""
    rows = tidy({"exp": {**PILOT_EXP, **NOISY_EXP}, "other": {**PILOT_OTHER, **NOISY_OTHER}})
    ensembles = rows.iloc[:3].assign(seed=["0+1", "10+11", "12+13"], samples=2)
    table = pd.concat([rows, ensembles], ignore_index=True)
    narrow = claim(order=["exp@2", "other"], seeds=[10, 11])
    wide = claim(order=["exp@2", "other"], seeds=[10, 11], ensemble_seeds=[10, 11, 12, 13])
    values = arm_values(table, "exp@2", "test_calibrated_nll")
    runs = arm_values(table, "other", "test_calibrated_nll")
    seeds, keep = basis(narrow, table)
    assert seeds == "confirmatory" and [v for v in values.index if keep(v)] == ["10+11"]
    seeds, keep = basis(wide, table)
    assert seeds == "confirmatory" and [v for v in values.index if keep(v)] == ["10+11", "12+13"]
    assert [v for v in runs.index if keep(v)] == ["10", "11"]
    more = [10, 11, 12, 13, 14, 15]
    incomplete = claim(order=["exp@2", "other"], seeds=[10, 11], ensemble_seeds=more)
    seeds, keep = basis(incomplete, table)
    assert seeds == "pilot" and [v for v in values.index if keep(v)] == ["0+1"]
