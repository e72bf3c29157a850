"""Adversarially Learned Inference (ALI; Dumoulin et al. 2017), also BiGAN (Donahue et al.
2017): PAGAN's baseline of a joint distribution matched adversarially.

One discriminator on pairs tells (x, z ~ E(x)) from (G(z), z ~ N(0, I)). At its optimum the
two joints are equal, so E inverts G; reconstruction is only implied, never asked for, and the
PAGAN paper's point is that ALI's reconstructions often lose the content of x.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.autoencoders.adversarial import AdversarialMethod, Contest, Penalty
from methodlib.methods.autoencoders.configs import ALIConfig


class ALI(AdversarialMethod):
    Config = ALIConfig
    discriminators = ("joint",)

    def contests(self, model: nn.Module, x: torch.Tensor) -> tuple[list[Contest], Penalty]:
        prior = torch.randn(len(x), model.latent_dim, device=x.device)
        encoded = (x, model.encoder.sample(x))
        generated = (model.generator(prior), prior)
        return [Contest("joint", real=encoded, fake=generated, real_from_model=True)], 0.0
