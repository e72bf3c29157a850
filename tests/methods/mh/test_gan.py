"""`mh_gan`: its generator objective against a direct computation of the bound, the
discriminator's logistic loss, and the MH correction with an exact density-ratio discriminator
turning a poor generator's draws into the target's."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from methodlib.methods import DataInfo, EpochContext, StepContext
from methodlib.methods.mh.configs import MHGANConfig
from methodlib.methods.mh.gan import MHGAN

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


def test_calibration_refits_only_the_discriminator_after_the_last_epoch():
    torch.manual_seed(3)
    m = method(calibration_steps=5)
    model = m.build_model()
    x = torch.randn(64, 2)
    generator = torch.nn.utils.parameters_to_vector(model.generator.parameters())
    discriminator = torch.nn.utils.parameters_to_vector(model.discriminator.parameters())

    def unchanged(net: torch.nn.Module, before: torch.Tensor) -> bool:
        return torch.equal(torch.nn.utils.parameters_to_vector(net.parameters()), before)

    m.on_epoch_end(model, EpochContext(0, 2, x, x[:, 0], x, x[:, 0], 32))
    assert unchanged(model.discriminator, discriminator)
    m.on_epoch_end(model, EpochContext(1, 2, x, x[:, 0], x, x[:, 0], 32))
    assert unchanged(model.generator, generator)
    assert not unchanged(model.discriminator, discriminator)
