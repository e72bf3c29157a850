"""The deep-ensemble equivalent as Ashukha et al. 2020 read it: the seed-mean calibrated NLL of
a method at k samples against the deep ensemble's curve, its uncertainty from resampling the
seeds; never the mean (or a t-test) of one DEE per seed, which carries the seed-to-seed spread
of single networks into every point."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from methodlib.report import claim_tests
from methodlib.report.claims import evaluate_claim
from methodlib.report.tables import COLUMNS
from methodlib.spec import StudySpec
from tests.conftest import tiny_pipeline
from tests.report.test_claims import claim

CURVE = [0.30, 0.20, 0.16, 0.14]  # the deep ensemble's calibrated NLL at sizes 1..4
MC_AT_2 = [0.18, 0.19, 0.33]  # per-seed DEE 2.5, 2.25, 1 (clipped); the mean NLL's: 5/3


def _table(per_seed: list[float]) -> pd.DataFrame:
    rows = [("exp", "all", k, "curve_test_calibrated_nll", v) for k, v in enumerate(CURVE, 1)]
    rows += [("mc", str(s), 2, "curve_test_calibrated_nll", v) for s, v in enumerate(per_seed)]
    rows += [("mc", str(s), 2, "test_calibrated_nll", v) for s, v in enumerate(per_seed)]
    frame = pd.DataFrame(rows, columns=["experiment", "seed", "samples", "metric", "value"])
    return frame.assign(method="dense", dataset="digits", model="lenet300_100")[COLUMNS]


def _pipeline():
    pipeline = tiny_pipeline(
        ensemble={},
        others={
            "mc": {"dataset": "digits", "model": "lenet300_100", "method": {"name": "mc_dropout"}}
        },
    )
    pipeline.studies["main"] = StudySpec(dee_reference="exp")
    return pipeline


def test_the_dee_claim_reads_the_seed_mean_off_the_ensemble_curve():
    c = claim(below_samples=["mc"], metrics=["dee"])
    record = evaluate_claim(_pipeline(), c, _table(MC_AT_2))
    (point,) = record["comparisons"]
    mean_dee = 1 + (CURVE[0] - np.mean(MC_AT_2)) / (CURVE[0] - CURVE[1])
    assert point["test"] == "bootstrap" and record["test"] == "bootstrap_dee"
    assert point["effect"] == pytest.approx(mean_dee - 2, abs=1e-5)  # not mean(2.5, 2.25, 1) - 2
    assert record["arms"][0]["metrics"]["dee"]["mean"] == pytest.approx(mean_dee, abs=1e-5)
    # DEE(mean) ≥ 2 exactly when a resample's mean NLL ≤ 0.20: no draw of the 0.33 seed
    assert point["p_value"] == pytest.approx((2 / 3) ** 3, abs=0.02)
    assert point["ci_low"] < point["effect"] < point["ci_high"]
    assert not point["passed"] and record["verdict"] != "holds"


def test_seeds_all_worse_than_two_networks_hold_and_an_ensemble_beater_is_unreadable():
    c = claim(below_samples=["mc"], metrics=["dee"])
    record = evaluate_claim(_pipeline(), c, _table([0.24, 0.25, 0.26]))
    assert record["verdict"] == "holds" and record["comparisons"][0]["p_value"] < 0.05
    beyond = evaluate_claim(_pipeline(), c, _table([0.10, 0.11, 0.12]))
    assert beyond["comparisons"] == [] and beyond["excluded"][0]["reason"] == "≥ 4"


def test_the_bootstrap_of_a_statistic_enumerates_the_resamples():
    values = np.array([0.1, 0.2, 0.6])
    result = claim_tests.bootstrap_statistic(values, np.square, 0.1, lower=True)
    means = [np.mean(r) for r in itertools.product(values, repeat=3)]
    wrong = np.mean([m**2 >= 0.1 for m in means])
    assert result.effect == pytest.approx(values.mean() ** 2 - 0.1)
    assert result.p_value == pytest.approx(wrong, abs=0.015) and result.n_a == 3
    exact = claim_tests.bootstrap_statistic([0.2, 0.2, 0.2], np.square, 0.1, lower=True)
    assert exact.exact and exact.passed and exact.p_value == 0.0
    assert np.isnan(claim_tests.bootstrap_statistic([0.2], np.square, 0.1, True).p_value)


def test_a_dee_claim_refuses_another_test_naming_the_bootstrap_that_decides_it():
    with pytest.raises(ValueError, match="bootstrap over seeds of the seed-mean DEE"):
        claim(below_samples=["mc"], metrics=["dee"], test="paired")
