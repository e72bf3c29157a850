"""Star-shaped DDPM: the standardised tail statistic, learning on a fixed batch, sampling in
the data's domain, and the checks of its configuration."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from methodlib.errors import RunError
from methodlib.methods import DataInfo
from methodlib.methods.diffusion.ss_ddpm import SSDDPM, SSDDPMConfig, forward_tails

CASES = {  # distribution: (domain, a batch of data in it)
    "dirichlet": ("simplex", lambda g: torch.distributions.Dirichlet(torch.tensor([2.0, 5, 9]))),
    "vmf": ("sphere", None),
    "beta": ("cube", lambda g: torch.distributions.Beta(torch.tensor([2.0, 8]), 3.0)),
    "gaussian": ("simplex", lambda g: torch.distributions.Dirichlet(torch.ones(3))),
}


def data(distribution: str, n: int = 256) -> torch.Tensor:
    torch.manual_seed(1)
    if distribution == "vmf":
        x = torch.randn(n, 3) + torch.tensor([2.0, 0, 0])
        return x / x.norm(dim=1, keepdim=True)
    return CASES[distribution][1](None).sample((n,))


def method(distribution: str, steps: int = 20, **fields) -> SSDDPM:
    domain = CASES[distribution][0]
    shape = tuple(data(distribution, 1).shape[1:])
    config = SSDDPMConfig(distribution=distribution, steps=steps, **fields)
    return SSDDPM(config, "mlp_denoiser", DataInfo(shape, 1, 256, domain))


@pytest.mark.parametrize("distribution", sorted(CASES))
def test_standardised_tails_have_zero_mean_and_unit_spread(distribution):
    m = method(distribution)
    x = data(distribution, 2000)
    m.on_train_start(None, x)
    torch.manual_seed(2)
    tails = forward_tails(m.family, x)  # fresh draws, not those the statistics came from
    t = torch.arange(1, m.config.steps + 1)[:, None].expand(-1, len(x))
    standard = m.standardise(tails.reshape(-1, *x.shape[1:]), t.reshape(-1))
    standard = standard.view(m.config.steps, len(x), -1)
    torch.testing.assert_close(
        standard.mean(1), torch.zeros_like(standard[:, 0]), atol=0.15, rtol=0
    )
    torch.testing.assert_close(standard.std(1), torch.ones_like(standard[:, 0]), atol=0.15, rtol=0)


def test_forward_tails_agree_with_the_exact_gaussian_tail():
    """The Gaussian tail is N(S_t x0, S_t I) in closed form; the sum of drawn steps matches."""
    m = method("gaussian", steps=10)
    x0 = torch.tensor([[0.2, 0.3, 0.5]]).expand(4000, 3)
    torch.manual_seed(0)
    drawn = forward_tails(m.family, x0)
    exact = m.family.tail_snr[1:].float()
    for step in (0, 5, 9):
        z = (drawn[step].mean(0) - exact[step] * x0[0]) / (exact[step] / len(x0)).sqrt()
        assert z.abs().max() < 4, z  # the mean within four standard errors
        torch.testing.assert_close(
            drawn[step].var(0) / exact[step], torch.ones(3), atol=0.1, rtol=0
        )


@pytest.mark.parametrize("distribution", ["dirichlet", "vmf", "beta"])
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(distribution):
    torch.manual_seed(0)
    m = method(distribution)
    model = m.build_model()
    x = data(distribution, 128)
    m.on_train_start(model, x)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def fixed_loss() -> float:
        with torch.random.fork_rng():
            torch.manual_seed(5)
            return m.losses(model, x).mean().item()

    before = fixed_loss()
    for _ in range(30):
        loss = m.loss(model, x, None, None)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert fixed_loss() < 0.8 * before


@pytest.mark.parametrize("distribution", ["dirichlet", "vmf", "beta"])
def test_samples_lie_in_the_domain(distribution):
    torch.manual_seed(0)
    m = method(distribution, projection="none")
    model = m.build_model().eval()
    m.on_train_start(model, data(distribution))
    samples = m.generate(model, 64, "cpu")
    assert samples.shape == (64, *data(distribution, 1).shape[1:])
    assert torch.isfinite(samples).all()
    assert m.run_metrics(model)["raw_out_of_domain"] == 0.0


def test_standardisation_is_method_state():
    m = method("dirichlet")
    m.on_train_start(None, data("dirichlet"))
    fresh = method("dirichlet")
    fresh.load_state_dict(m.state_dict())
    torch.testing.assert_close(fresh.tail_std, m.tail_std)


def test_family_of_another_domain_is_refused():
    config = SSDDPMConfig(distribution="vmf", steps=5)
    with pytest.raises(RunError, match="sphere"):
        SSDDPM(config, "mlp_denoiser", DataInfo((3,), 1, 10, "simplex"))


def test_unknown_schedule_field_is_a_config_error():
    with pytest.raises(ValidationError, match="kappa_max"):
        SSDDPMConfig(distribution="dirichlet", schedule={"kappa_max": 10.0})


@pytest.mark.parametrize("distribution", sorted(CASES))
def test_rescaled_loss_is_each_kl_over_its_scale(distribution):
    x = data(distribution, 64)
    losses = {}
    for weighting in ("elbo", "rescaled"):
        m = method(distribution, weighting=weighting)
        m.on_train_start(None, x)
        torch.manual_seed(0)
        model = m.build_model()
        torch.manual_seed(3)
        losses[weighting] = m.losses(model, x)
    torch.manual_seed(3)
    t = torch.randint(1, 21, (len(x),))
    scale = m.family.kl_scale(x, t - 1)
    torch.testing.assert_close(losses["rescaled"] * scale, losses["elbo"], rtol=1e-4, atol=1e-6)
