"""The variational autoencoder (Kingma & Welling 2014): PAGAN's pixel-likelihood baseline,
with the same generator and encoder networks.

Per example, the negative ELBO: −E_q[log p(x | z)] + KL(q(z | x) ‖ N(0, I)), one
reparameterised draw z ~ q(z | x) = N(μ_E(x), diag σ²_E(x)), the KL in closed form.
Likelihoods on [0, 1] images (`likelihood`):
- `bernoulli`: cross-entropy of the pixel intensities with G's logits (the common choice for
  MNIST, used here for grey levels as well: its mean is G's sigmoid output);
- `gaussian`: N(x; G(z), `sigma`² I), a fixed scale, with its normalising constant, so the
  loss is a true negative ELBO in nats.
Samples and reconstructions are G's mean image, not a draw of the likelihood (the usual
practice; a Bernoulli draw is salt-and-pepper noise).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.autoencoders.autoencoding import AutoencodingMethod
from methodlib.methods.autoencoders.configs import VAEConfig


class VAE(AutoencodingMethod):
    Config = VAEConfig

    def losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        mean, log_var = model.encoder(x)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
        logits = model.generator.logits(z)
        if self.config.likelihood == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        else:
            sigma = self.config.sigma
            nll = 0.5 * ((torch.sigmoid(logits) - x) / sigma).pow(2) + math.log(
                sigma * math.sqrt(2 * math.pi)
            )
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        return nll.flatten(1).sum(1) + kl
