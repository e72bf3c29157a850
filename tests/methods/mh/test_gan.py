"""`mh_gan`: its generator objective against a direct computation of the bound, the
discriminator's logistic loss, and the MH correction with an exact density-ratio discriminator
turning a poor generator's draws into the target's."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from methodlib.methods import DataInfo, EpochContext, StepContext
from methodlib.methods.mh.configs import MHGANConfig
from methodlib.methods.mh.gan import MHGAN
from methodlib.methods.mh.refit import platt_scaling
from methodlib.spec import load_pipeline

CTX = StepContext(0, 0, 1, 1, 64)


def method(**fields) -> MHGAN:
    return MHGAN(MHGANConfig(**fields), "mlp_gan", DataInfo((2,), 1, 64, "real"))


def test_losses_match_direct_computations():
    m = method()
    torch.manual_seed(0)
    model = m.build_model()
    x = torch.randn(64, 2)
    torch.manual_seed(1)
    loss = m.loss(model, x, torch.zeros(64), CTX)
    torch.manual_seed(1)
    fake = model.generate(64)
    direct = -torch.minimum(torch.zeros(64), model.logit(fake) - model.logit(x)).mean()
    torch.testing.assert_close(loss, direct)
    torch.manual_seed(1)
    d_loss = m.discriminator_loss(model, x, torch.zeros(64), CTX)
    real_term = -F.logsigmoid(model.logit(x)).mean()
    fake_term = -torch.log1p(-torch.sigmoid(model.logit(fake))).mean()
    torch.testing.assert_close(d_loss, real_term + fake_term, rtol=1e-5, atol=1e-5)
    torch.manual_seed(1)
    saturating = method(generator_loss="nonsaturating").loss(model, x, torch.zeros(64), CTX)
    torch.testing.assert_close(saturating, -F.logsigmoid(model.logit(fake)).mean())


class ShiftedGaussian(torch.nn.Module):
    """A generator N(1, 1.5²) with the exact discriminator logit log N(x; 0, 1)/N(x; 1, 1.5²)."""

    latent_dim = 1

    def generate(self, n: int) -> torch.Tensor:
        return 1.0 + 1.5 * torch.randn(n, 1, dtype=torch.float64)

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        x = x.squeeze(1)
        return -0.5 * x**2 + 0.5 * ((x - 1.0) / 1.5) ** 2 + math.log(1.5)


def test_mh_correction_with_an_exact_discriminator_recovers_the_target():
    torch.manual_seed(2)
    m = MHGAN(MHGANConfig(mh_steps=40), "mlp_gan", DataInfo((1,), 1, 64, "real"))
    raw = method(mh_steps=0)
    x = m.generate(ShiftedGaussian(), 50_000, "cpu").squeeze(1)
    assert float(x.mean()) == pytest.approx(0.0, abs=0.03)
    assert float(x.var()) == pytest.approx(1.0, abs=0.05)
    assert float(raw.generate(ShiftedGaussian(), 50_000, "cpu").mean()) == pytest.approx(
        1, abs=0.03
    )


def far_data(n: int, seed: int) -> torch.Tensor:
    """Reals far from a fresh generator's draws: a discriminator refitted to them tells the
    two apart, while an untrained one cannot."""
    g = torch.Generator().manual_seed(seed)
    return 4.0 + 0.1 * torch.randn(n, 2, generator=g)


def context(epoch: int, epochs: int, x: torch.Tensor, x_val: torch.Tensor) -> EpochContext:
    return EpochContext(epoch, epochs, x, x[:, 0], x_val, x_val[:, 0], 32)


def parameters(net: torch.nn.Module) -> torch.Tensor:
    return torch.nn.utils.parameters_to_vector(net.parameters()).detach().clone()


def test_the_first_scored_epoch_reads_a_discriminator_refitted_on_held_out_data():
    """Issue 31: the first epoch's acceptance came from a barely trained discriminator (≈ 1
    whatever the generator); every scored epoch now refits a copy to convergence against
    the frozen generator, stopped on the validation split."""
    torch.manual_seed(3)
    m = method(scored_epochs=3, refit_check_every=10)
    model = m.build_model()
    x, x_val = far_data(512, 0), far_data(256, 1)
    generator, discriminator = parameters(model.generator), parameters(model.discriminator)
    m.on_epoch_end(model, context(0, 10, x, x_val))
    row = m.validation_metrics(model, x_val)
    assert row["acceptance"] < 0.05
    assert 0 < row["refit_steps"] <= m.config.calibration_steps
    assert math.isfinite(row["disc_val_loss"])
    assert torch.equal(parameters(model.discriminator), discriminator)  # a copy was refitted
    assert torch.equal(parameters(model.generator), generator)


def test_epochs_between_the_scored_ones_log_nan_and_stay_out_of_the_history():
    torch.manual_seed(4)
    m = method(scored_epochs=2, calibration_steps=20, refit_check_every=10)
    model = m.build_model()
    x = far_data(128, 0)
    m.on_epoch_end(model, context(1, 3, x, x))
    row = m.validation_metrics(model, x)
    assert math.isnan(row["acceptance"]) and math.isnan(row["refit_steps"])
    assert m.history == []
    m.on_epoch_end(model, context(2, 3, x, x))
    assert math.isfinite(m.validation_metrics(model, x)["acceptance"])
    assert len(m.history) == 1


def test_the_last_epoch_leaves_the_model_a_discriminator_calibrated_on_validation():
    """The saved chains' MH test reads the model's discriminator after the last epoch: refitted
    on 32 training reals it over-fits them, and the early stop and Platt scaling on the
    validation split bring its log ratios back to calibrated on fresh reals and fakes."""
    torch.manual_seed(5)
    m = MHGAN(
        MHGANConfig(calibration_steps=1500, refit_check_every=10, discriminator_lr=3e-3),
        "mlp_gan",
        DataInfo((2,), 1, 64, "real"),
    )
    model = m.build_model()
    g = torch.Generator().manual_seed(0)
    reals = torch.randn(4032, 2, generator=g) * 0.5 + 0.5
    x, x_val, x_fresh = reals[:32], reals[32:2032], reals[2032:]
    generator = parameters(model.generator)
    m.on_epoch_end(model, context(1, 2, x, x_val))
    assert torch.equal(parameters(model.generator), generator)
    with torch.no_grad():
        scale, _ = platt_scaling(model.logit(x_fresh), model.logit(model.generate(2000)))
    assert scale == pytest.approx(1.0, abs=0.25)


def test_the_study_scores_the_digits_gans_fid_on_at_least_1000_samples():
    """Issue 31: the MH-corrected FID was decided on 359 samples (the test split's size)."""
    pipeline = load_pipeline(Path(__file__).parents[3] / "pipeline.yaml")
    digits = {
        name: spec.method.samples
        for name, spec in pipeline.experiments.items()
        if spec.study == "mh" and spec.method.name == "mh_gan" and spec.dataset == "digits"
    }
    assert set(digits) == {"mh_gan_digits", "gan_raw_digits"}
    assert all(n is not None and n >= 1000 for n in digits.values()), digits
