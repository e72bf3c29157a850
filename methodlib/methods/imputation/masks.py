"""Missingness masks: which entries of a batch are hidden (True) and must be imputed.

Two uses. The imputation task draws the test split's mask from the dataset's `missing` spec
(`test_mask`), so every method on a dataset imputes the same entries. VAEAC and the
zero-filled VAE draw a fresh mask for every training batch (`train_mask`), as the reference
code's mask generators do (tigvarts/vaeac, `mask_generators.py`): MCAR for vectors, and for
images a mixture of MCAR, a random half and a random rectangle covering 30–100 % of the image,
so that the network has seen every kind of test mask."""

from __future__ import annotations

import torch

SIDES = ("top", "bottom", "left", "right")


def mcar(shape: tuple[int, ...], rate: float, generator: torch.Generator | None = None):
    """Each entry missing independently with probability `rate`."""
    return torch.rand(shape, generator=generator) < rate


def half(shape: tuple[int, ...], side: str) -> torch.Tensor:
    """The `side` half of every image (N, C, H, W) missing (the larger half of an odd side)."""
    mask = torch.zeros(shape, dtype=torch.bool)
    h, w = shape[-2:]
    if side == "top":
        mask[..., : (h + 1) // 2, :] = True
    elif side == "bottom":
        mask[..., h // 2 :, :] = True
    elif side == "left":
        mask[..., :, : (w + 1) // 2] = True
    else:
        mask[..., :, w // 2 :] = True
    return mask


def square(shape: tuple[int, ...], size: int, generator: torch.Generator | None = None):
    """A `size` × `size` square of every image missing, placed uniformly at random."""
    n, h, w = shape[0], shape[-2], shape[-1]
    size_h, size_w = min(size, h), min(size, w)
    top = torch.randint(0, h - size_h + 1, (n,), generator=generator)
    left = torch.randint(0, w - size_w + 1, (n,), generator=generator)
    rows = torch.arange(h)[None, :, None]
    cols = torch.arange(w)[None, None, :]
    inside = (
        (rows >= top[:, None, None])
        & (rows < (top + size_h)[:, None, None])
        & (cols >= left[:, None, None])
        & (cols < (left + size_w)[:, None, None])
    )
    return inside[:, None].expand(shape).clone()


def rectangle(shape: tuple[int, ...], generator: torch.Generator | None = None, tries: int = 32):
    """A random axis-aligned rectangle of every image missing, covering 30–100 % of it (the
    reference's `RectangleGenerator`): corners drawn uniformly, redrawn until the area fits
    (`tries` draws at once per image, the first that fits is kept; the whole image when none
    does, which for 8×8 images happens with probability below 10⁻⁹)."""
    n, h, w = shape[0], shape[-2], shape[-1]
    ys = torch.randint(0, h, (n, tries, 2), generator=generator).sort(dim=-1).values
    xs = torch.randint(0, w, (n, tries, 2), generator=generator).sort(dim=-1).values
    area = (ys[..., 1] - ys[..., 0] + 1) * (xs[..., 1] - xs[..., 0] + 1)
    fits = area >= 0.3 * h * w
    first = torch.where(fits.any(dim=1), fits.int().argmax(dim=1), 0)
    rows = torch.arange(n)
    y, x = ys[rows, first], xs[rows, first]
    y[~fits.any(dim=1)] = torch.tensor([0, h - 1])
    x[~fits.any(dim=1)] = torch.tensor([0, w - 1])
    r = torch.arange(h)[None, :, None]
    c = torch.arange(w)[None, None, :]
    inside = (
        (r >= y[:, 0, None, None])
        & (r <= y[:, 1, None, None])
        & (c >= x[:, 0, None, None])
        & (c <= x[:, 1, None, None])
    )
    return inside.view(n, *([1] * (len(shape) - 3)), h, w).expand(shape).clone()


def test_mask(missing: dict, shape: tuple[int, ...]) -> torch.Tensor:
    """The dataset's test mask from its `missing` spec (a dict, as meta.json stores it)."""
    generator = torch.Generator().manual_seed(missing["seed"])
    if missing["kind"] == "mcar":
        return mcar(shape, missing["rate"], generator)
    if missing["kind"] == "half":
        return half(shape, missing["side"])
    return square(shape, missing["size"], generator)


def train_mask(x: torch.Tensor, rate: float) -> torch.Tensor:
    """A fresh training mask for the batch `x` (the global RNG: seeded runs repeat it). Vectors:
    MCAR at `rate`. Images: per example, one of MCAR at `rate` (per pixel, all channels), a
    random half and a random rectangle, with equal probability."""
    shape = tuple(x.shape)
    if x.ndim < 4:
        return mcar(shape, rate).to(x.device)
    pixels = (shape[0], 1, *shape[2:])
    halves = torch.stack([half(pixels[1:], side) for side in SIDES])
    halves = halves[torch.randint(0, len(SIDES), (shape[0],))]
    choices = torch.stack([mcar(pixels, rate), halves, rectangle(pixels)])
    kind = torch.randint(0, 3, (shape[0],))
    mask = choices[kind, torch.arange(shape[0])]
    return mask.expand(shape).to(x.device)
