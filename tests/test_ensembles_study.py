"""The ensembles study against its reference setups (issue 31): SWA averages the second half of
its run and is compared, as Izmailov et al. compare it, with a separately trained SGD run
decayed as the reference decays it, on NLL and accuracy; MC dropout's rate and FFG-VI's KL
weight are chosen on validation, and every selection a claim names is planned."""

from __future__ import annotations

from pathlib import Path

import pytest

from methodlib.methods.ensembles.swa import SWA
from methodlib.paths import Layout
from methodlib.spec import TrainingSpec, load_pipeline
from tests.test_train import epoch_rates

ROOT = Path(__file__).resolve().parents[1]
STUDY = "ensembles"


@pytest.fixture(scope="module")
def pipeline():
    return load_pipeline(ROOT / "pipeline.yaml")


def _claims(pipeline):
    return {n: c for n, c in pipeline.claims.items() if c.study == STUDY}


def test_swa_averages_every_epoch_of_the_second_half(pipeline):
    exp = pipeline.experiments["swa_lenet5_mnist5k"]
    swa = object.__new__(SWA)  # the schedule reads the config only
    swa.config = exp.method
    epochs = exp.training.epochs
    averaged = [e for e in range(epochs) if swa.averages_after(e, epochs)]
    assert averaged == list(range(epochs // 2, epochs))


def test_the_anneal_schedule_is_the_reference_sgd_baseline():
    rates = epoch_rates(TrainingSpec(epochs=20, lr=1.0, lr_schedule="anneal"))
    assert rates[:11] == [1.0] * 11  # held to half of the epochs
    assert rates[14] == pytest.approx(1 - 0.99 * 0.2 / 0.4)  # t = 0.7: halfway down
    assert rates[18:] == [pytest.approx(0.01)] * 2  # 1 % from 90 % of the epochs


def test_swa_is_compared_with_a_separate_decayed_sgd_run_on_nll_and_accuracy(pipeline):
    swa = pipeline.experiments["swa_lenet5_mnist5k"]
    compared = [
        c
        for c in _claims(pipeline).values()
        if c.order and c.order[0] == "swa_lenet5_mnist5k" and len(c.order) == 2
    ]
    (claim,) = compared
    baseline = pipeline.experiments[claim.order[1]]
    assert baseline.method.name == "dense" and baseline.training.lr_schedule == "anneal"
    same = ("optimizer", "lr", "momentum", "weight_decay", "epochs", "batch_size")
    assert all(getattr(baseline.training, f) == getattr(swa.training, f) for f in same)
    assert {"test_accuracy", "test_nll"} <= set(claim.metrics)


def test_mc_dropout_arms_name_a_selection_of_its_rate_on_validation(pipeline):
    arms = [a for c in _claims(pipeline).values() for a in c.arms() if "mc_dropout" in a]
    assert arms and all(a in pipeline.selections for a in arms)
    for arm in set(arms):
        selection = pipeline.selections[arm]
        rates = {pipeline.experiments[m].method.p for m in selection.members}
        assert len(rates) in (2, 3) and len(selection.members) == len(rates)
        assert selection.by.startswith("val_")


def test_every_selection_a_claim_names_is_planned_with_all_its_members(pipeline):
    layout = Layout(pipeline)
    targets = set(layout.study_targets(STUDY))
    named = {a for c in _claims(pipeline).values() for a in c.arms() if a in pipeline.selections}
    assert {"ffg_vi_kl_weight", "mc_dropout_rate"} <= named
    runs = set(layout.run_metrics(pipeline.experiments_in(STUDY)))
    for name in named:
        assert layout.selection(name) in targets
        for member, logs in layout.selection_logs(name).items():
            assert pipeline.experiments[member].study == STUDY and logs
            assert {f"{Path(log).parent}/metrics.json" for log in logs.values()} <= runs


def test_the_dee_claim_covers_every_in_run_ensemble_of_the_study(pipeline):
    """One network per run (dense, SWA's average) has no samples curve; every other method of
    the study is an in-run ensemble that `dee_below_samples` must read, a selection's members
    through the selection."""
    (claim,) = [c for c in _claims(pipeline).values() if c.below_samples]
    covered = set()
    for arm in claim.below_samples:
        covered |= set(pipeline.selections[arm].members) if arm in pipeline.selections else {arm}
    in_run = {
        name
        for name in pipeline.experiments_in(STUDY)
        if pipeline.experiments[name].method.name not in ("dense", "swa")
    }
    assert covered == in_run
