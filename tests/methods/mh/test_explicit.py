"""`mh_explicit` and its proposal: the flow's density, both bounds against closed forms for a
Gaussian proposal of a standard normal target, and training raising the acceptance rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from methodlib.errors import RunError, SpecError
from methodlib.methods import DataInfo, StepContext
from methodlib.methods.mh.configs import MHExplicitConfig
from methodlib.methods.mh.explicit import MHExplicit
from methodlib.spec import validate_pipeline
from tests.methods.mh.test_acceptance import sym_kl_gauss


def method(kind: str = "std_normal", dim: int = 2, **fields) -> MHExplicit:
    info = DataInfo((dim,), 1, 100, "real", density={"kind": kind, "dim": dim})
    return MHExplicit(MHExplicitConfig(**fields), "realnvp", info)


def gaussian_flow(m: MHExplicit, mu: float, sigma: float):
    """The flow with its couplings at the identity: q = N(mu, σ² I) exactly."""
    model = m.build_model().double()
    for coupling in model.couplings:
        torch.nn.init.zeros_(coupling.net[-1].weight)
        torch.nn.init.zeros_(coupling.net[-1].bias)
    with torch.no_grad():
        model.loc.fill_(mu)
        model.log_scale.fill_(math.log(sigma))
    return model


def test_flow_density_is_normalised_and_matches_its_draws():
    torch.manual_seed(0)
    model = method().build_model().double()
    x, log_q = model.sample(64)
    torch.testing.assert_close(model.log_prob(x), log_q)
    grid = torch.linspace(-10, 10, 401, dtype=torch.float64)
    points = torch.cartesian_prod(grid, grid)
    with torch.no_grad():
        mass = model.log_prob(points).exp().sum() * (grid[1] - grid[0]) ** 2
    assert float(mass) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 1.0), (0.7, 1.5), (-0.5, 0.8)])
def test_bounds_match_closed_forms_for_a_gaussian_proposal(mu, sigma):
    torch.manual_seed(1)
    n, dim = 60_000, 2
    x_p = torch.randn(n, dim, dtype=torch.float64)  # exact draws of the target
    m = method(bound="symmetric_kl")
    model = gaussian_flow(m, mu, sigma)
    with torch.no_grad():
        # E_q[log q − log p̃] − E_p[log q] = sym KL − log Z + H(p) = sym KL + d/2 for p̃ = e^{−|x|²/2}
        expected = dim * sym_kl_gauss(mu, sigma) + dim / 2
        assert float(m.bound_loss(model, x_p)) == pytest.approx(expected, rel=0.02, abs=0.02)
        m_log = method()
        x_q = mu + sigma * torch.randn(n, dim, dtype=torch.float64)
        log_w = lambda x: (-0.5 * x**2 + 0.5 * ((x - mu) / sigma) ** 2).sum(1)  # noqa: E731
        direct = np.minimum(0.0, (log_w(x_q) - log_w(x_p)).numpy()).mean()
        assert float(m_log.bound_loss(model, x_p)) == pytest.approx(-direct, rel=0.03, abs=0.01)
        rate = np.exp(np.minimum(0.0, (log_w(x_q) - log_w(x_p)).numpy())).mean()
        metrics = m_log.validation_metrics(model, x_p.float().double())
        assert metrics["acceptance"] == pytest.approx(rate, abs=0.01)
        assert math.exp(-metrics["val_loss"]) <= metrics["acceptance"] + 1e-3


def test_training_raises_the_acceptance_rate_and_reaches_the_moments():
    torch.manual_seed(2)
    m = method("banana", moment_samples=4000)
    model = m.build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x_val = torch.as_tensor(m.target.sample(2000, np.random.default_rng(0))[0], dtype=torch.float32)
    before = m.validation_metrics(model, x_val)["acceptance"]
    for step in range(400):
        loss = m.loss(model, torch.zeros(1), torch.zeros(1), StepContext(0, step, 400, 1, 1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = m.validation_metrics(model, x_val)["acceptance"]
    assert after > before + 0.2
    metrics = m.run_metrics(model)
    assert metrics["acceptance_gain"] == pytest.approx(after - before)
    assert metrics["mean_error"] < 0.3 and metrics["cov_error"] < 0.2


def test_a_target_without_a_density_is_refused():
    with pytest.raises(RunError, match="closed form"):
        MHExplicit(MHExplicitConfig(), "realnvp", DataInfo((2,), 1, 100, "real"))


def test_the_spec_refuses_a_dataset_without_a_density():
    pipeline = {
        "datasets": {
            "cube2": {"source": "synthetic", "kind": "cube", "dim": 2},
            "ring": {"source": "synthetic", "kind": "ring", "dim": 2},
        },
        "experiments": {
            "bad": {"dataset": "cube2", "model": "realnvp", "method": {"name": "mh_explicit"}},
            "good": {"dataset": "ring", "model": "realnvp", "method": {"name": "mh_explicit"}},
        },
    }
    with pytest.raises(SpecError, match=r"experiments\.bad\.dataset: .*density") as error:
        validate_pipeline(pipeline)
    assert "good" not in str(error.value)
