"""What the autoencoding generative models share (PAGAN and its ablations, ALI, the VAE): a
generator G(z) with z ~ N(0, I), an encoder E(x) = q(z | x), both in one `AutoencodingGAN`
module (`models/gan_nets.py`) that also holds the discriminators a method asks for.

Beyond sampling, these models reconstruct: `reconstruct(model, x)` is G(μ_E(x)), the decoded
mean of the encoder. The mean and not a draw: the reconstruction metrics (`recon_rmse`, `rid`)
then score the autoencoder itself, not the noise of one encoder sample, and a run's
reconstructions do not depend on the evaluation's random state.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from methodlib.methods.generative_base import GenerativeMethod
from methodlib.models import MODELS


class AutoencodingMethod(GenerativeMethod):
    """G and E in one module; subclasses say which discriminators it carries."""

    discriminators: ClassVar[tuple[str, ...]] = ()

    def build_model(self) -> nn.Module:
        return MODELS[self.model_name](
            self.info.input_shape,
            self.info.n_classes,
            self.layers(),
            latent_dim=self.config.latent_dim,
            width=self.config.width,
            discriminators=self.discriminators,
            max_log_var=10.0 if self.config.max_std is None else 2 * math.log(self.config.max_std),
        )

    def param_groups(self, model: nn.Module) -> list[dict]:
        """G and E only: the discriminators are an extra objective (`AdversarialMethod`)."""
        return [{"params": model.generator_parameters()}]

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        z = torch.randn(n, model.latent_dim, device=device)
        return self.into_domain(model.generator(z))

    @torch.no_grad()
    def reconstruct(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """G(μ_E(x)), in [0, 1] like every output of G (see the module docstring for why
        the mean)."""
        return model(x)
