"""Pairwise Augmented GANs (PAGAN; Alanov, Kochurov, Yashkov, Vetrov 2018) and the two
ablations of its adversarial reconstruction loss that the paper reports.

G(z) and a factorised-Gaussian encoder E(x) are trained jointly against three discriminators:
- marginals in x-space: an image discriminator tells x from G(z), z ~ N(0, I);
- marginals in z-space: an MLP tells draws of N(0, I) from draws of E(x);
- the adversarial reconstruction loss: a pair discriminator tells (x, a(x)) from
  (x, G(E(x))), each pair laid side by side (concatenated along the width). a is an
  augmentation (reflect padding by 10 % of the side, then a random crop back to size), so a
  reconstruction is rewarded for being a plausible variant of x that keeps its content, not
  for matching its pixels: the paper's case that pixel losses (a VAE's) blur.

`mismatched_pairs` (an addition to the paper, after the matching-aware discriminator of Reed
et al. 2016): the pair discriminator is also shown real pairs of two different images,
(x, a(x')), as fakes, in its own update only. Without it, on mnist5k, it judged only the
realism of the right half ((x, a(x)) and (x, a(x')) scored alike), so the reconstructions kept
the class a quarter of the time. Together with a cap on the encoder's σ (`max_std`, see
`models/gan_nets.Encoder`), which stops the encoder from meeting the prior with noise alone,
PAGAN's RID after 20 epochs fell from 6.0 (seed 0) to 2.8 ± 0.7 (3 seeds); the
no-augmentation ablation, whose pair discriminator compares aligned pairs, gains most (0.55).

Ablations (`variant`), as in the paper's ablation study:
- `no_augmentation`: the real pairs are (x, x); the discriminator can then reject any
  reconstruction that is not pixel-perfect, which the paper finds trains worse;
- `pixel_reconstruction`: the pair discriminator is replaced by a pixel-wise loss,
  `pixel_weight` × the mean squared error of G(E(x)) (the weight puts a per-pixel error of 0.05
  on the scale of a non-saturating loss near equilibrium, ln 2 ≈ 0.69).
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.data.augment import augment
from methodlib.methods.autoencoders.adversarial import AdversarialMethod, Contest, Penalty
from methodlib.methods.autoencoders.configs import PAGANConfig


def side_by_side(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) twice → (B, C, H, 2W): the pair discriminator's input."""
    return torch.cat([x, y], dim=3)


class PAGAN(AdversarialMethod):
    Config = PAGANConfig

    def __init__(self, config: PAGANConfig, model_name, info):
        super().__init__(config, model_name, info)
        pixel = config.variant == "pixel_reconstruction"
        self.discriminators = ("image", "latent") if pixel else ("image", "latent", "pair")

    def contests(self, model: nn.Module, x: torch.Tensor) -> tuple[list[Contest], Penalty]:
        prior = torch.randn(len(x), model.latent_dim, device=x.device)
        codes = model.encoder.sample(x)
        # one pass of G over both: its batch norm sees samples and reconstructions together,
        # the mix that its running statistics (used at test time) average over
        samples, reconstructions = model.generator(torch.cat([prior, codes])).chunk(2)
        contests = [
            Contest("image", real=(x,), fake=(samples,)),
            Contest("latent", real=(prior,), fake=(codes,)),
        ]
        if self.config.variant == "pixel_reconstruction":
            error = (reconstructions - x).pow(2).flatten(1).mean(1)
            return contests, self.config.pixel_weight * error
        target = x if self.config.variant == "no_augmentation" else augment(x)
        pair = Contest(
            "pair",
            real=(side_by_side(x, target),),
            fake=(side_by_side(x, reconstructions),),
            weight=self.config.reconstruction_weight,
        )
        if self.config.mismatched_pairs:
            other = target.roll(1, dims=0)  # the batch is shuffled: another image
            # the discriminator's lesson only: weight 0 in the G and E loss (nothing of G or E
            # is in it)
            mismatched = Contest("pair", real=pair.real, fake=(side_by_side(x, other),), weight=0.0)
            contests.append(mismatched)
        return [*contests, pair], 0.0
