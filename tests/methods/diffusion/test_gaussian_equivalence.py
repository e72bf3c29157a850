"""Gaussian SS-DDPM ≡ DDPM, end to end: the two methods' `losses` agree per example for the
same network, the same x0, the same t and the same noise.

The relation (Okhotin et al. 2023, Gaussian case). The star tail statistic is
G_t = S_t x0 + √S_t ε with S_t = SNR^DDPM_t and ε ~ N(0, I), and DDPM's x_t is
√ᾱ_t x0 + √(1 − ᾱ_t) ε with ᾱ_t = S_t / (1 + S_t), so x_t = G_t / √(S_t (1 + S_t)) for the
same ε; each star KL term is DDPM's ELBO term (`elbo_weight`). The methods are therefore the same
only in these parameterisations:
- DDPM with `prediction: x0, weighting: elbo` (the network's output is x̂0, as SS-DDPM's is;
  with ε-prediction the same weights mean another x̂0);
- SS-DDPM's network input standardised by m_t = 0, s_t = √(S_t (1 + S_t)), which makes it
  DDPM's x_t. SS-DDPM's own standardisation (`on_train_start`) uses the empirical mean and
  spread of G_t instead, a per-step affine map of x_t: the objectives and processes are the same,
  but a network reads a differently scaled input at each t (a reparameterisation, not a
  discrepancy of the losses).

The noise: SS-DDPM draws one x_s per step s ≥ t; ε is recovered from its G_t as
(G_t − S_t x0)/√S_t and handed to DDPM as its draw, and t is the same draw under the same seed
(both methods draw t first)."""

from __future__ import annotations

import pytest
import torch

from methodlib.methods import DataInfo
from methodlib.methods.diffusion.ddpm import DDPM, DDPMConfig
from methodlib.methods.diffusion.ss_ddpm import SSDDPM, SSDDPMConfig, forward_tails

INFO = DataInfo((3,), 1, 256, "simplex")


def pair(steps: int, schedule: str) -> tuple[DDPM, SSDDPM]:
    ddpm = DDPM(
        DDPMConfig(steps=steps, schedule=schedule, prediction="x0", weighting="elbo"),
        "mlp_denoiser",
        INFO,
    )
    ss = SSDDPM(
        SSDDPMConfig(distribution="gaussian", steps=steps, schedule={"schedule": schedule}),
        "mlp_denoiser",
        INFO,
    )
    tail_snr = ss.family.tail_snr.float()  # S_t, t = 0..T
    ss.tail_mean.zero_()
    ss.tail_std[1:] = torch.sqrt(tail_snr[1:] * (1 + tail_snr[1:]))[:, None]
    return ddpm, ss


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_gaussian_ss_ddpm_and_ddpm_give_the_same_losses_for_the_same_noise(schedule, monkeypatch):
    steps, n = 30, 512
    ddpm, ss = pair(steps, schedule)
    torch.manual_seed(0)
    model = ss.build_model().eval()
    x0 = torch.distributions.Dirichlet(torch.tensor([2.0, 3.0, 4.0])).sample((n,))

    torch.manual_seed(1)
    ss_losses = ss.losses(model, x0)
    torch.manual_seed(1)  # the same draws again: t, then every step's x_s
    t = torch.randint(1, steps + 1, (n,))
    tail = forward_tails(ss.family, x0)[t - 1, torch.arange(n)]
    s_t = ss.family.tail_snr.float()[t][:, None]
    eps = (tail - s_t * x0) / s_t.sqrt()
    assert abs(float(eps.mean())) < 0.1 and abs(float(eps.std()) - 1) < 0.1  # a N(0, I) draw

    torch.manual_seed(1)  # DDPM's t is the same first draw; its ε is SS-DDPM's
    monkeypatch.setattr(torch, "randn_like", lambda like: eps.to(like))
    ddpm_losses = ddpm.losses(model, x0)
    monkeypatch.undo()

    assert set(t.tolist()) >= {1, steps}  # the decoder term and the last step are both covered
    torch.testing.assert_close(ddpm_losses, ss_losses, rtol=1e-4, atol=1e-6)
    # and the inputs the network read were the same: x_t from ε is G_t rescaled
    torch.testing.assert_close(
        ddpm.noised(x0, t, eps), ss.family.tail_to_ddpm(tail, t), rtol=1e-4, atol=1e-5
    )


def test_the_paired_validation_elbo_is_the_same_for_the_same_network():
    """`val_elbo` of the claim `gaussian_ss_ddpm_equals_ddpm`: both methods draw t and then ε
    from the same fixed seed, so for the same network (and DDPM's input scaling) they score
    the same number, and a difference between two trained runs is the networks' alone."""
    ddpm, ss = pair(30, "linear")
    for method in (ddpm, ss):
        method.config = method.config.model_copy(update={"elbo_draws": 3})
    torch.manual_seed(0)
    model = ss.build_model().eval()
    x_val = torch.distributions.Dirichlet(torch.tensor([2.0, 3.0, 4.0])).sample((300,))
    scores = [m.validation_elbo(model, x_val, batch_size=128) for m in (ddpm, ss)]
    assert scores[0] == pytest.approx(scores[1], rel=1e-5)
    assert scores[0] == pytest.approx(ddpm.validation_elbo(model, x_val, 128), rel=0, abs=0)
    assert scores[0] != pytest.approx(
        ddpm.validation_elbo(model, x_val[:150], 128), rel=1e-3
    )  # it reads the data: another split gives another value


def test_the_pair_starts_from_the_same_weights_under_the_same_seed():
    """The pairing's other half: the two arms' runs of a seed build the same network."""
    ddpm, ss = pair(30, "linear")
    torch.manual_seed(3)
    first = ddpm.build_model().state_dict()
    torch.manual_seed(3)
    second = ss.build_model().state_dict()
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)
