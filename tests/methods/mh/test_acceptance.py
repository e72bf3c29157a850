"""The MH arithmetic against direct computations: the acceptance rate of an independent
Gaussian proposal for a Gaussian target (a simulated chain's acceptance frequency), both lower
bounds below it, and the MH step leaving its target invariant."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from methodlib.methods.mh.acceptance import (
    acceptance_rate,
    log_min_bound,
    mh_step,
    pinsker_bound,
    run_chains,
)

N = 200_000


def log_normal(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


def gaussian_proposal(mu: float, sigma: float):
    """Draws of q = N(mu, sigma²) with log w = log p − log q for p = N(0, 1)."""

    def propose(n: int):
        x = mu + sigma * torch.randn(n, 1, dtype=torch.float64)
        return x, (log_normal(x, 0, 1) - log_normal(x, mu, sigma)).squeeze(1)

    return propose


def sym_kl_gauss(mu: float, sigma: float) -> float:
    """KL(N(0,1) ‖ N(mu, σ²)) + KL(N(mu, σ²) ‖ N(0,1)) in closed form."""
    kl_pq = math.log(sigma) + (1 + mu**2) / (2 * sigma**2) - 0.5
    kl_qp = -math.log(sigma) + (sigma**2 + mu**2) / 2 - 0.5
    return kl_pq + kl_qp


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 1.0), (1.0, 1.0), (0.5, 2.0), (-1.0, 0.7)])
def test_acceptance_rate_matches_a_simulated_chain_and_bounds_lie_below(mu, sigma):
    torch.manual_seed(0)
    propose = gaussian_proposal(mu, sigma)
    x_p = torch.randn(N, 1, dtype=torch.float64)
    log_w_p = (log_normal(x_p, 0, 1) - log_normal(x_p, mu, sigma)).squeeze(1)
    log_ratio = propose(N)[1] - log_w_p
    rate = float(acceptance_rate(log_ratio))
    _, accepted = mh_step((x_p, log_w_p), propose(N))  # a chain at stationarity, one step
    assert rate == pytest.approx(float(accepted.double().mean()), abs=0.01)
    assert math.exp(float(log_min_bound(log_ratio))) <= rate + 1e-3
    assert pinsker_bound(sym_kl_gauss(mu, sigma)) <= rate + 1e-3
    if mu == 0.0 and sigma == 1.0:  # q = p: every move is accepted, and both bounds are tight
        assert rate == pytest.approx(1.0) and pinsker_bound(sym_kl_gauss(mu, sigma)) == 1.0


def test_mh_step_leaves_the_target_invariant():
    torch.manual_seed(1)
    propose = gaussian_proposal(1.0, 2.0)
    x = torch.randn(N, 1, dtype=torch.float64)
    state = (x, (log_normal(x, 0, 1) - log_normal(x, 1.0, 2.0)).squeeze(1))
    for _ in range(5):
        state, _ = mh_step(state, propose(N))
    moved = state[0].squeeze(1).numpy()
    assert moved.mean() == pytest.approx(0.0, abs=0.01)
    assert moved.var() == pytest.approx(1.0, abs=0.02)


def test_chains_from_a_poor_proposal_reach_the_target():
    torch.manual_seed(2)
    samples, rate = run_chains(gaussian_proposal(1.0, 1.5), 50_000, 40)
    x = samples.squeeze(1).numpy()
    assert 0 < rate < 1
    assert x.mean() == pytest.approx(0.0, abs=0.03)
    assert x.var() == pytest.approx(1.0, abs=0.05)
    assert np.isnan(run_chains(gaussian_proposal(0.0, 1.0), 10, 0)[1])
