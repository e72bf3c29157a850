"""VAEAC's objective against a direct computation of each term, its KL against Monte Carlo,
and its imputations: drawn from the prior network, blind to the hidden entries."""

from __future__ import annotations

import math

import torch

from methodlib.methods import DataInfo
from methodlib.methods.imputation.vaeac import VAEAC

D = 6


def make(**config) -> tuple[VAEAC, torch.nn.Module]:
    torch.manual_seed(0)
    method = VAEAC(VAEAC.Config(name="vaeac", **config), "imputation_mlp", DataInfo((D,), 1, 50))
    return method, method.build_model()


def normal_logpdf(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - torch.log(sigma) - 0.5 * math.log(2 * math.pi)


def split_params(params, floor):
    mu, raw = params.chunk(2, dim=1)
    return mu, torch.log1p(torch.exp(raw)).clamp_min(floor)


def test_terms_match_a_direct_computation_of_the_bound():
    method, model = make(sigma_mu=3.0, sigma_sigma=0.5)  # strong enough to show in the sum
    x = torch.randn(8, D)
    missing = torch.rand(8, D) < 0.5
    torch.manual_seed(1)
    terms = method.terms(model, x, missing)
    torch.manual_seed(1)
    loss = method.losses(model, x, missing)

    b = missing.float()
    observed = x * (1 - b)
    mu_q, s_q = split_params(model.proposal(torch.cat([x, b], 1)), 1e-3)
    mu_p, s_p = split_params(model.prior(torch.cat([observed, b], 1)), 1e-3)
    torch.manual_seed(1)
    z = mu_q + s_q * torch.randn_like(mu_q)
    mean, s_x = split_params(model.generator(torch.cat([z, observed, b], 1)), 0.01)
    rec = (normal_logpdf(x, mean, s_x) * b).sum(1)
    kl = (torch.log(s_p / s_q) + (s_q**2 + (mu_q - mu_p) ** 2) / (2 * s_p**2) - 0.5).sum(1)
    reg = -(mu_p**2).sum(1) / (2 * 3.0**2) + 0.5 * (torch.log(s_p) - s_p).sum(1)
    torch.testing.assert_close(terms["rec"], rec)
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["reg"], reg)
    torch.testing.assert_close(loss, -(rec - kl + reg) / D)


def test_kl_term_is_the_monte_carlo_mean_of_log_q_over_p():
    method, model = make()
    x = torch.randn(2, D)
    missing = torch.rand(2, D) < 0.5
    kl = method.terms(model, x, missing)["kl"]
    b = missing.float()
    mu_q, s_q = split_params(model.proposal(torch.cat([x, b], 1)), 1e-3)
    mu_p, s_p = split_params(model.prior(torch.cat([x * (1 - b), b], 1)), 1e-3)
    torch.manual_seed(2)
    z = mu_q + s_q * torch.randn(200_000, *mu_q.shape)
    log_ratio = (normal_logpdf(z, mu_q, s_q) - normal_logpdf(z, mu_p, s_p)).sum(-1)
    torch.testing.assert_close(log_ratio.mean(0), kl.detach(), atol=0.02, rtol=0.01)


def test_fully_observed_entries_cost_no_reconstruction():
    method, model = make()
    x = torch.randn(4, D)
    terms = method.terms(model, x, torch.zeros(4, D, dtype=torch.bool))
    assert (terms["rec"] == 0).all()


def test_fixed_sigma_is_the_likelihood_scale():
    method, model = make(sigma=1.0)
    x = torch.randn(4, D)
    missing = torch.ones(4, D, dtype=torch.bool)
    torch.manual_seed(3)
    rec = method.terms(model, x, missing)["rec"]
    torch.manual_seed(3)
    b = missing.float()
    mu_q, s_q = split_params(model.proposal(torch.cat([x, b], 1)), 1e-3)
    z = mu_q + s_q * torch.randn_like(mu_q)
    mean = model.generator(torch.cat([z, x * 0, b], 1)).chunk(2, 1)[0]
    torch.testing.assert_close(rec, normal_logpdf(x, mean, torch.ones(1)).sum(1))


def test_imputations_vary_and_ignore_the_hidden_values():
    method, model = make(imputations=7)
    x = torch.randn(5, D)
    hidden = torch.rand(5, D) < 0.5
    other = torch.where(hidden, torch.randn(5, D), x)  # same observed part, other hidden values
    torch.manual_seed(4)
    a = method.impute(model, x.masked_fill(hidden, float("nan")))
    torch.manual_seed(4)
    b = method.impute(model, other.masked_fill(hidden, float("nan")))
    assert a.shape == (7, 5, D) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b)
    assert (a.std(0) > 0).any()  # samples of z, not one point
