"""The diffusion study's design (studies/diffusion.yaml, issue 31): the vMF κ schedule is a
selection on validation over at least three seeds, and the Gaussian equivalence is a paired
TOST on the validation ELBO with its margin declared before the runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from methodlib.spec import load_pipeline

ROOT = Path(__file__).resolve().parents[3]
MIN_SEEDS = 3
"""Two seeds chose κ 100 → 0.01 on validation, which then lost on test (issue 31)."""


@pytest.fixture(scope="module")
def pipeline():
    return load_pipeline(ROOT / "pipeline.yaml")


def test_the_vmf_arm_is_a_selection_on_validation_samples_over_three_seeds(pipeline):
    claim = pipeline.claims["vmf_beats_ddpm_on_sphere"]
    chosen = [arm for arm in claim.order if arm in pipeline.selections]
    assert len(chosen) == 1, "the SS-DDPM arm names the κ-schedule selection"
    selection = pipeline.selections[chosen[0]]
    assert selection.by == "val_sym_kl" and selection.better == "lower"
    schedules = set()
    for member in selection.members:
        method = pipeline.experiments[member].method
        assert method.name == "ss_ddpm" and method.distribution == "vmf"
        assert method.validation_samples >= 1000, f"{member}: scores samples on validation"
        assert len(pipeline.seeds_of(member)) >= MIN_SEEDS, f"{member}: ≥ {MIN_SEEDS} seeds"
        schedules.add(tuple(sorted(method.schedule.items())))
    assert len(schedules) == len(selection.members), "the members differ in their schedule"


def test_the_equivalence_is_a_paired_tost_on_the_validation_elbo(pipeline):
    claim = pipeline.claims["gaussian_ss_ddpm_equals_ddpm"]
    assert claim.metrics == ["val_elbo"] and claim.test == "paired"
    ss, ddpm = (pipeline.experiments[arm] for arm in claim.equivalent)
    assert ss.method.elbo_draws == ddpm.method.elbo_draws > 0  # the same draws of (t, ε)
    assert pipeline.seeds_of(claim.equivalent[0]) == pipeline.seeds_of(claim.equivalent[1])
    assert ss.training == ddpm.training and ss.method.steps == ddpm.method.steps
    percent = f"{claim.margin:.0%}".replace("%", " %")
    description = pipeline.studies["diffusion"].description
    assert percent in description and percent in claim.statement, "the margin is stated"
