"""The zero-filled VAE's objective against a direct computation, and its imputations."""

from __future__ import annotations

import math

import torch

from methodlib.methods import DataInfo
from methodlib.methods.imputation.zero_fill_vae import ZeroFillVAE

D = 5


def test_loss_is_the_negative_elbo_of_the_whole_vector_from_zero_filled_input():
    torch.manual_seed(0)
    config = ZeroFillVAE.Config(name="vae_zero_fill")
    method = ZeroFillVAE(config, "imputation_mlp", DataInfo((D,), 1, 50))
    model = method.build_model()
    x = torch.randn(6, D)
    missing = torch.rand(6, D) < 0.5
    torch.manual_seed(1)
    loss = method.losses(model, x, missing)

    mu, raw = model.encoder(torch.where(missing, 0.0, x)).chunk(2, 1)
    s = torch.log1p(torch.exp(raw)).clamp_min(1e-3)
    torch.manual_seed(1)
    z = mu + s * torch.randn_like(mu)
    mean, raw_x = model.decoder(z).chunk(2, 1)
    s_x = torch.log1p(torch.exp(raw_x)).clamp_min(0.01)
    log_lik = (-0.5 * ((x - mean) / s_x) ** 2 - torch.log(s_x) - 0.5 * math.log(2 * math.pi)).sum(1)
    kl = (-torch.log(s) + (s**2 + mu**2) / 2 - 0.5).sum(1)  # KL(N(μ, s²) ‖ N(0, 1))
    torch.testing.assert_close(loss, -(log_lik - kl) / D)


def test_imputations_are_decoder_means_of_posterior_draws():
    torch.manual_seed(0)
    config = ZeroFillVAE.Config(name="vae_zero_fill", imputations=4)
    method = ZeroFillVAE(config, "imputation_mlp", DataInfo((1, 4, 4), 1, 50))
    model = method.build_model()
    x = torch.rand(3, 1, 4, 4)
    hidden = torch.zeros_like(x, dtype=torch.bool)
    hidden[..., 2:, :] = True
    out = method.impute(model, x.masked_fill(hidden, float("nan")))
    assert out.shape == (4, 3, 1, 4, 4) and torch.isfinite(out).all()
    assert (out.std(0) > 0).any()
