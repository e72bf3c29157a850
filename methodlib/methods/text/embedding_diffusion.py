"""Diffusion in the space of trainable token embeddings (Diffusion-LM, Li et al. 2022): the
baseline TEncDM is compared against, with the same denoiser, schedule, sampler and
self-conditioning (`text.diffusion`).

The latent of a row is its tokens' embeddings E_w (`embedding_dim` wide, initialised N(0, 1),
trained end to end). Decoding is rounding: the logits of token w at a position are −‖z − E_w‖²,
so the arg max is the nearest embedding. The objective is Diffusion-LM's: the x0-prediction
squared error plus the rounding loss, the cross-entropy of those logits on latents corrupted by
the forward process at small t (`decoder_t_max`); the rounding term keeps the embeddings apart,
which the squared error alone would let collapse.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.text.configs import EmbeddingDiffusionConfig
from methodlib.methods.text.diffusion import TextDiffusion


class EmbeddingDiffusion(TextDiffusion):
    Config = EmbeddingDiffusionConfig

    @property
    def latent_dim(self) -> int:
        return self.config.embedding_dim

    def build_model(self) -> nn.Module:
        embedding = nn.Embedding(self.vocab_size, self.latent_dim)
        return nn.ModuleDict({"denoiser": self.denoiser(), "embedding": embedding})

    def clean_latents(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.embedding(x)

    def decoder_logits(self, model: nn.Module, z: torch.Tensor, positions=None) -> torch.Tensor:
        """−‖z − E_w‖² for every token w: (B, L, V), or (B, K, V) at (B, K) `positions`."""
        if positions is not None:
            z = z.gather(1, positions[..., None].expand(-1, -1, z.shape[-1]))
        e = model.embedding.weight
        return 2 * z @ e.T - e.square().sum(dim=1) - z.square().sum(dim=-1, keepdim=True)
