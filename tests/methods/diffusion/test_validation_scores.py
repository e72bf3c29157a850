"""The diffusion methods' last-epoch validation scores (`methods/diffusion/base.py`): taken
once, at the last epoch, into that epoch's log row and the run's metrics; what a selection
on samples (the vMF κ schedule) and the paired equivalence claim read."""

from __future__ import annotations

import pytest
import torch

from methodlib.methods import DataInfo, EpochContext
from methodlib.methods.diffusion.ddpm import DDPM, DDPMConfig
from methodlib.methods.diffusion.ss_ddpm import SSDDPM, SSDDPMConfig
from methodlib.report.metric_registry import metric_info
from methodlib.tasks import get_task

SPHERE = DataInfo((3,), 1, 256, "sphere")


def sphere(n: int, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    x = torch.randn(n, 3) + torch.tensor([2.0, 0, 0])
    return x / x.norm(dim=1, keepdim=True)


def context(epoch: int, epochs: int, x_val: torch.Tensor) -> EpochContext:
    x = sphere(64, 0)
    y = torch.zeros(len(x), dtype=torch.long)
    return EpochContext(epoch, epochs, x, y, x_val, torch.zeros(len(x_val)), 64)


def vmf(**fields) -> SSDDPM:
    config = SSDDPMConfig(distribution="vmf", steps=8, **fields)
    return SSDDPM(config, "mlp_denoiser", SPHERE)


def test_the_scores_come_at_the_last_epoch_into_its_log_row_and_the_metrics():
    method = vmf(validation_samples=200, elbo_draws=2)
    torch.manual_seed(0)
    model = method.build_model()
    method.on_train_start(model, sphere(200, 1))
    x_val = sphere(150, 2)
    method.on_epoch_end(model, context(0, 2, x_val))
    assert method.epoch_metrics(model) == {}  # not before the last epoch
    method.on_epoch_end(model, context(1, 2, x_val))
    row = method.epoch_metrics(model)
    assert set(row) == {"val_elbo", "val_sym_kl", "val_sliced_w"}
    assert all(torch.isfinite(torch.tensor(v)) for v in row.values())
    assert method.run_metrics(model) == row  # no test draws yet: no raw_out_of_domain
    assert set(row) <= set(get_task("generation").all_log_columns(method.config))


def test_the_sample_scores_are_of_a_fixed_draw_against_the_validation_split():
    method = vmf(validation_samples=200)
    torch.manual_seed(0)
    model = method.build_model().eval()
    method.on_train_start(model, sphere(200, 1))
    x_val = sphere(150, 2)
    first = method.validation_sample_scores(model, x_val, 64)
    torch.rand(5)  # the global stream moves; the scores do not
    assert method.validation_sample_scores(model, x_val, 64) == first
    assert method.validation_sample_scores(model, sphere(150, 3), 64) != first
    assert method.drawn == []  # validation draws are not the run's raw_out_of_domain


def test_a_resumed_run_keeps_the_scores_through_the_method_state():
    method = vmf(elbo_draws=1)
    method.validation_scores = {"val_elbo": 1.5}
    again = vmf(elbo_draws=1)
    again.load_state_dict(method.state_dict())
    assert again.run_metrics(None) == {"val_elbo": 1.5}


def test_ddpm_scores_the_elbo_whatever_its_training_loss():
    info = DataInfo((3,), 1, 256, "simplex")
    simple = DDPM(DDPMConfig(steps=10, elbo_draws=2), "mlp_denoiser", info)
    elbo = DDPM(DDPMConfig(steps=10, elbo_draws=2, weighting="elbo"), "mlp_denoiser", info)
    torch.manual_seed(0)
    model = simple.build_model().eval()
    x_val = torch.distributions.Dirichlet(torch.ones(3)).sample((100,))
    assert simple.validation_elbo(model, x_val, 64) == pytest.approx(
        elbo.validation_elbo(model, x_val, 64), rel=1e-6
    )


def test_the_columns_are_declared_and_registered_lower_is_better():
    """A selection and a claim read a column's direction from the registry."""
    columns = {"val_elbo", "val_sym_kl", "val_sliced_w"}
    assert columns <= set(get_task("generation").all_metrics(DDPMConfig()))
    assert {metric_info(c).better for c in columns} == {"lower"}
