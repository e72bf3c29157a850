"""The MH GAN's scoring discriminator (`refit.py`): the refit stops on its held-out loss and
ends with its best weights, Platt scaling recovers a known over-confidence, and the scale is
folded into the model's last layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from methodlib.methods import DataInfo
from methodlib.methods.mh.configs import MHGANConfig
from methodlib.methods.mh.gan import MHGAN
from methodlib.methods.mh.refit import (
    MAX_LOG_SCALE,
    StoppingRule,
    logistic_loss,
    platt_scaling,
    refit_to_convergence,
)


def gaussians(n: int, shift: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Reals N(shift, 1) and fakes N(0, 1): the optimal logit is shift·x − shift²/2."""
    return shift + torch.randn(n, 1), torch.randn(n, 1)


def test_refit_stops_on_the_held_out_loss_with_its_best_weights():
    torch.manual_seed(0)
    critic = nn.Linear(1, 1)
    x_train, _ = gaussians(2000)
    held_out = gaussians(2000)
    rule = StoppingRule(max_steps=5000, check_every=10, patience=3)
    steps, loss = refit_to_convergence(
        list(critic.parameters()),
        lambda x: critic(x).squeeze(1),
        lambda n: torch.randn(n, 1),
        x_train,
        held_out,
        batch_size=64,
        lr=0.05,
        rule=rule,
    )
    assert 0 < steps < rule.max_steps  # stopped by the held-out loss, not the step budget
    with torch.no_grad():
        assert float(logistic_loss(lambda x: critic(x).squeeze(1), *held_out)) == loss
    assert float(critic.weight.detach()) == pytest.approx(
        2.0, abs=0.4
    )  # near the optimal log ratio
    assert float(critic.bias.detach()) == pytest.approx(-2.0, abs=0.4)


def test_a_refit_shorter_than_one_check_keeps_its_steps():
    torch.manual_seed(1)
    critic = nn.Linear(1, 1)
    before = critic.weight.detach().clone()
    x_train, _ = gaussians(500)
    steps, _ = refit_to_convergence(
        list(critic.parameters()),
        lambda x: critic(x).squeeze(1),
        lambda n: torch.randn(n, 1),
        x_train,
        gaussians(500),
        batch_size=64,
        lr=0.05,
        rule=StoppingRule(max_steps=5, check_every=25, patience=4),
    )
    assert steps == 5
    assert not torch.equal(critic.weight, before)


def test_platt_scaling_undoes_a_known_overconfidence():
    torch.manual_seed(2)
    real, fake = gaussians(50_000, shift=1.0)
    true_logit = lambda x: x.squeeze(1) - 0.5  # noqa: E731  log N(x; 1, 1)/N(x; 0, 1)
    scale, shift = platt_scaling(2.5 * true_logit(real) + 1.0, 2.5 * true_logit(fake) + 1.0)
    assert scale == pytest.approx(0.4, abs=0.02)
    assert shift == pytest.approx(-0.4, abs=0.03)  # a·1.0 + b = 0: the constant removed


def test_platt_scaling_is_bounded_on_separated_logits():
    """Perfectly separated reals and fakes: the loss falls as the scale grows, and the scale
    stays finite, within the bound."""
    scale, _ = platt_scaling(torch.full((10,), 1.0), torch.full((10,), -1.0))
    assert 10.0 < scale <= torch.tensor(MAX_LOG_SCALE).exp().item() * (1 + 1e-9)


def test_rescale_logit_folds_the_calibration_into_the_discriminator():
    torch.manual_seed(3)
    model = MHGAN(MHGANConfig(), "mlp_gan", DataInfo((4,), 1, 64, "real")).build_model()
    x = torch.randn(16, 4)
    before = model.logit(x).detach()
    model.rescale_logit(0.5, 0.3)
    torch.testing.assert_close(model.logit(x), 0.5 * before + 0.3)
