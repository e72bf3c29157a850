"""Cluttered digits: each 28 × 28 digit pasted at a random place of a larger blank canvas, with
pieces of other digits scattered around it (the cluttered MNIST of the spatial transformer and
SACT papers, built here from the dataset's own digits). A classifier must find the digit among
the clutter, so a network that spends its computation where it matters (SACT) should spend it
on the digit.

Applied at prepare time to each split after the split is drawn (like `noise_share`), from the
split's seed, so that the digits' places can be drawn again without storing them:
`digit_boxes` replays the draw of `digit_corners` and gives each image's digit box. MNIST
normalises every digit into the central 20 × 20 of its 28 × 28 square, so the box is that
20 × 20 square on the canvas: the pixels a network should attend to.
"""

from __future__ import annotations

import numpy as np

DIGIT = 28  # side of a source digit
BOX_MARGIN = 4  # MNIST's digits lie in the central 20 × 20 of their 28 × 28 square
SPLIT_STREAMS = {"train": 0, "val": 1, "test": 2, "ood": 3}


def _rng(seed: int, split: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, 31, SPLIT_STREAMS[split], stream])


def digit_corners(n: int, canvas: int, seed: int, split: str) -> np.ndarray:
    """(n, 2) top-left corners (row, column) of the n digits of `split` on the canvas."""
    return _rng(seed, split, 0).integers(0, canvas - DIGIT + 1, size=(n, 2))


def digit_boxes(clutter: dict, n: int, seed: int, split: str = "test") -> np.ndarray:
    """(n, 4) boxes (top, left, bottom, right; bottom and right exclusive) of the digits of
    the first n images of `split` of a dataset cluttered by `clutter` (the dataset spec's
    `clutter` as a dict) from split seed `seed`."""
    corners = digit_corners(n, clutter["canvas"], seed, split) + BOX_MARGIN
    side = DIGIT - 2 * BOX_MARGIN
    return np.concatenate([corners, corners + side], axis=1)


def box_masks(boxes: np.ndarray, canvas: int) -> np.ndarray:
    """(n, canvas, canvas) booleans: True inside each image's box."""
    rows = np.arange(canvas)
    inside_rows = (rows >= boxes[:, :1]) & (rows < boxes[:, 2:3])
    inside_cols = (rows >= boxes[:, 1:2]) & (rows < boxes[:, 3:4])
    return inside_rows[:, :, None] & inside_cols[:, None, :]


def clutter_images(
    x: np.ndarray, canvas: int, pieces: int, size: int, seed: int, split: str
) -> np.ndarray:
    """(n, 1, canvas, canvas) images: each digit of `x` (n, 1, 28, 28) at the corner
    `digit_corners` draws, over `pieces` random `size` × `size` crops of other digits of `x`
    (taken from the central 20 × 20, where the strokes are) at random places; where they
    overlap the brighter pixel wins."""
    n = len(x)
    out = np.zeros((n, 1, canvas, canvas), dtype=x.dtype)
    rng = _rng(seed, split, 1)
    lo, hi = BOX_MARGIN, DIGIT - BOX_MARGIN - size
    for _ in range(pieces):
        others = (np.arange(n) + rng.integers(1, max(n, 2), size=n)) % n  # never the digit
        crops = rng.integers(lo, max(hi, lo) + 1, size=(n, 2))
        places = rng.integers(0, canvas - size + 1, size=(n, 2))
        for i in range(n):
            (r, c), (pr, pc) = crops[i], places[i]
            piece = x[others[i], 0, r : r + size, c : c + size]
            view = out[i, 0, pr : pr + size, pc : pc + size]
            np.maximum(view, piece, out=view)
    for i, (r, c) in enumerate(digit_corners(n, canvas, seed, split)):
        view = out[i, 0, r : r + DIGIT, c : c + DIGIT]
        np.maximum(view, x[i, 0], out=view)
    return out


def clutter_splits(
    splits: dict[str, tuple[np.ndarray, np.ndarray]], clutter: dict, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every split's images cluttered (`clutter` is the dataset spec's `clutter` as a dict);
    labels unchanged."""
    return {
        split: (
            clutter_images(x, clutter["canvas"], clutter["pieces"], clutter["size"], seed, split),
            y,
        )
        for split, (x, y) in splits.items()
    }
