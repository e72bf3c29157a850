"""PAGAN's augmentation of images: the pair discriminator's real pairs (`methods/autoencoders/
pagan.py`) and the floor of the generation task's `rid_augmentation` (`routines/generation_eval.py`)."""

from __future__ import annotations

import torch

PAD_FRACTION = 0.1


def augment(x: torch.Tensor, fraction: float = PAD_FRACTION) -> torch.Tensor:
    """Reflect-pad each image of (B, C, H, W) by round(fraction × side) pixels and crop it back
    to H × W at an offset drawn per image (torch's global generator)."""
    _, _, height, width = x.shape
    pad_h, pad_w = max(1, round(fraction * height)), max(1, round(fraction * width))
    padded = torch.nn.functional.pad(x, (pad_w, pad_w, pad_h, pad_h), mode="reflect")
    n = len(x)
    dy = torch.randint(0, 2 * pad_h + 1, (n,), device=x.device)
    dx = torch.randint(0, 2 * pad_w + 1, (n,), device=x.device)
    rows = (dy[:, None] + torch.arange(height, device=x.device))[:, :, None]  # (B, H, 1)
    cols = (dx[:, None] + torch.arange(width, device=x.device))[:, None, :]  # (B, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
