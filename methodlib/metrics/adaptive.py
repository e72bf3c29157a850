"""How well a ponder map finds the object: the AUROC of the ponder cost for the pixels inside
the digit's box against those outside, per image, averaged over images (Figurnov et al. 2017
score SACT's maps against human saliency the same way). A flat map (ACT: one depth per image)
scores exactly ½."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from methodlib.data.clutter import box_masks


def pixel_maps(maps: np.ndarray, canvas: int) -> np.ndarray:
    """(B, canvas, canvas): each pixel gets the value of the map cell above it (nearest
    upsampling by the network's stride, canvas / map side rounded up, cropped)."""
    stride = -(-canvas // maps.shape[1])
    return maps.repeat(stride, axis=1).repeat(stride, axis=2)[:, :canvas, :canvas]


def mean_box_auroc(maps: np.ndarray, boxes: np.ndarray, canvas: int) -> float:
    """Mean over images of the AUROC of `maps` (B, h, w) for the pixels inside `boxes`
    (B, 4: top, left, bottom, right) against the rest (ties count one half)."""
    scores = pixel_maps(maps, canvas).reshape(len(maps), -1)
    inside = box_masks(boxes, canvas).reshape(len(maps), -1)
    ranks = rankdata(scores, axis=1)  # average ranks: ties count one half
    positives = inside.sum(1)
    negatives = inside.shape[1] - positives
    u = (ranks * inside).sum(1) - positives * (positives + 1) / 2
    return float(np.mean(u / (positives * negatives)))
