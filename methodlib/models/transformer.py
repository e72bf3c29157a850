"""Transformer networks of the text methods, by size.

A size (`TransformerSize`) is what a pipeline file's `model:` names for text: `transformer_tiny`
(tests), `transformer_small` (the CPU default: an epoch over 10k texts of 32 tokens in about a
minute on two cores) and `transformer_base` (BERT-base shaped, the TEncDM paper's scale, for a
GPU). The methods build their own networks from it, since what surrounds the blocks differs:
- `Denoiser`: a bidirectional stack over latent sequences (x_t, t, self-conditioning estimate)
  → x̂0, as TEncDM's score estimator: the step and the self-conditioning estimate are added
  before every block, and the second half of the blocks receives the first half's inputs
  (U-Net-style long skips);
- `TokenDecoder`: a bidirectional stack (or one linear map) from latents to token logits;
- `CausalLM`: a GPT-style stack with a head tied to the token embeddings.
Blocks are pre-LN `nn.TransformerEncoderLayer`s with learned position embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from methodlib.models.denoisers import TimeEmbedding
from methodlib.models.layers import Layers

TIME_SCALE = 1000.0
"""Continuous t ∈ [0, 1] is embedded as t·1000: the sinusoids' frequencies (1 .. 10⁻⁴) were laid
out for integer steps, and on [0, 1] most of them would barely move."""


@dataclass(frozen=True)
class TransformerSize:
    """Width (model dimension), depth (blocks), attention heads and feed-forward width."""

    width: int
    depth: int
    heads: int
    ff: int


TRANSFORMER_SIZES: dict[str, TransformerSize] = {
    "transformer_tiny": TransformerSize(64, 2, 2, 128),
    "transformer_small": TransformerSize(128, 4, 4, 512),
    "transformer_base": TransformerSize(768, 12, 12, 3072),
}


def embedding(n: int, width: int) -> nn.Embedding:
    """Token or position embeddings initialised N(0, 0.02²) (GPT-2): at N(0, 1) they would swamp
    the other inputs of the first block and, tied to the output, give huge initial logits."""
    layer = nn.Embedding(n, width)
    nn.init.normal_(layer.weight, std=0.02)
    return layer


def blocks(size: TransformerSize, depth: int, dropout: float) -> nn.ModuleList:
    return nn.ModuleList(
        nn.TransformerEncoderLayer(
            size.width,
            size.heads,
            size.ff,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        for _ in range(depth)
    )


class Denoiser(nn.Module):
    """(x_t (B, L, D), t (B,), x̂0 estimate (B, L, D) or None) → x̂0 (B, L, D)."""

    def __init__(
        self,
        size: TransformerSize,
        latent_dim: int,
        max_len: int,
        self_conditioning: bool,
        dropout: float = 0.0,
    ):
        super().__init__()
        width = size.width
        self.inp = nn.Linear(latent_dim, width)
        self.position = embedding(max_len, width)
        self.time = TimeEmbedding(Layers(), width, width)
        self.blocks = blocks(size, size.depth, dropout)
        self.step_shifts = nn.ModuleList(nn.Linear(width, width) for _ in range(size.depth))
        self.self_cond = (
            nn.ModuleList(nn.Linear(latent_dim, width) for _ in range(size.depth))
            if self_conditioning
            else None
        )
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, latent_dim)

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, x0_estimate: torch.Tensor | None = None
    ) -> torch.Tensor:
        positions = torch.arange(x_t.shape[1], device=x_t.device)
        h = self.inp(x_t) + self.position(positions)
        emb = self.time(t * TIME_SCALE)[:, None, :]
        if self.self_cond is not None and x0_estimate is None:
            x0_estimate = torch.zeros_like(x_t)
        skips, half = [], len(self.blocks) // 2
        for i, block in enumerate(self.blocks):
            if i < half:
                skips.append(h)
            elif skips:
                h = h + skips.pop()
            h = h + self.step_shifts[i](emb)
            if self.self_cond is not None:
                h = h + self.self_cond[i](x0_estimate)
            h = block(h)
        return self.out(self.norm(h))


class TokenDecoder(nn.Module):
    """Latents (B, L, D) → logits (B, L, V): `depth` bidirectional blocks (contextual), or with
    depth 0 one linear map per position (the per-token decoder of the paper's ablation)."""

    def __init__(
        self,
        size: TransformerSize,
        latent_dim: int,
        vocab: int,
        max_len: int,
        depth: int,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.contextual = depth > 0
        if self.contextual:
            self.inp = nn.Linear(latent_dim, size.width)
            self.position = embedding(max_len, size.width)
            self.blocks = blocks(size, depth, dropout)
            self.norm = nn.LayerNorm(size.width)
        self.out = nn.Linear(size.width if self.contextual else latent_dim, vocab)

    def forward(self, z: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Logits at every position, or (B, K) `positions` only: (B, K, V)."""
        h = z
        if self.contextual:
            h = self.inp(z) + self.position(torch.arange(z.shape[1], device=z.device))
            for block in self.blocks:
                h = block(h)
            h = self.norm(h)
        if positions is not None:
            h = h.gather(1, positions[..., None].expand(-1, -1, h.shape[-1]))
        return self.out(h)


class CausalLM(nn.Module):
    """Token ids (B, L) → next-token logits (B, L, V); position i sees tokens 0..i only."""

    def __init__(self, size: TransformerSize, vocab: int, max_len: int, dropout: float = 0.0):
        super().__init__()
        self.embed = embedding(vocab, size.width)
        self.position = embedding(max_len, size.width)
        self.blocks = blocks(size, size.depth, dropout)
        self.norm = nn.LayerNorm(size.width)
        self.head = nn.Linear(size.width, vocab, bias=False)
        self.head.weight = self.embed.weight  # tied, as in GPT-2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[1]
        h = self.embed(x) + self.position(torch.arange(length, device=x.device))
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=x.device)
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return self.head(self.norm(h))
