"""The VAE: its negative ELBO against torch.distributions, and that it learns to reconstruct."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from methodlib.methods.autoencoders.vae import VAE
from tests.methods.autoencoders.autoencoding_helpers import blobs, build, train


def reference_loss(model, x, likelihood, sigma=0.1):
    """The same draw of z as `VAE.losses` under the same seed, scored by torch.distributions."""
    mean, log_var = model.encoder(x)
    q = Normal(mean, (0.5 * log_var).exp())
    z = mean + q.scale * torch.randn_like(mean)
    logits = model.generator.logits(z)
    if likelihood == "bernoulli":  # the continuous relaxation: x log p + (1 − x) log(1 − p)
        log_lik = x * torch.nn.functional.logsigmoid(logits) + (
            1 - x
        ) * torch.nn.functional.logsigmoid(-logits)
    else:
        log_lik = Normal(torch.sigmoid(logits), sigma).log_prob(x)
    kl = kl_divergence(q, Normal(0.0, 1.0)).sum(1)
    return -log_lik.flatten(1).sum(1) + kl


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_loss_is_the_negative_elbo(likelihood):
    torch.manual_seed(0)
    method, model = build(VAE, likelihood=likelihood)
    x = blobs(6) * 0.8 + 0.1  # grey levels too
    torch.manual_seed(3)
    losses = method.losses(model, x)
    torch.manual_seed(3)
    torch.testing.assert_close(losses, reference_loss(model, x, likelihood))


def test_it_has_no_discriminators_and_learns_to_reconstruct():
    torch.manual_seed(0)
    method, model = build(VAE)
    assert len(model.discriminators) == 0 and method.state_dict() == {}
    x = blobs(32)
    losses = train(method, model, x, 60)
    assert losses[-1] < 0.5 * losses[0]
