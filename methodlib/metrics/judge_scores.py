"""Scores of generated and reconstructed images read off a judge classifier's class
probabilities (`methodlib/judge.py`), and the pixel error of reconstructions.

- `inception_score` (Salimans et al. 2016; `is_judge`): exp E_x KL(p(y | x) ‖ p(y)), p(y) the
  mean over the samples: high when each sample is confidently one class and the classes are
  balanced; between 1 and the number of classes.
- `rid` (the PAGAN paper's Reconstruction Inception Dissimilarity): E_x KL(p(y | x) ‖
  p(y | G(E(x)))), the information about the class lost by reconstructing; 0 when every
  reconstruction is judged as its original is. It asks for the same content, not the same
  pixels, which is where it parts from `recon_rmse`.
- `recon_rmse`: the root mean squared pixel error of reconstructions.

All in float64 with probabilities floored at `EPS`, so that a judge's hard zero gives a large
finite divergence instead of infinity.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def _kl_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p_i ‖ q_i) per row of two (n, classes) arrays of probabilities."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, None)
    q = np.clip(np.asarray(q, dtype=np.float64), EPS, None)
    p = p / p.sum(1, keepdims=True)
    q = q / q.sum(1, keepdims=True)
    return (p * (np.log(p) - np.log(q))).sum(1)


def inception_score(probs: np.ndarray) -> float:
    """exp of the mean KL from each sample's class distribution to their mean."""
    probs = np.asarray(probs, dtype=np.float64)
    marginal = np.broadcast_to(probs.mean(0, keepdims=True), probs.shape)
    return float(np.exp(_kl_rows(probs, marginal).mean()))


def rid(p_x: np.ndarray, p_rec: np.ndarray) -> float:
    """Mean KL(p(y | x) ‖ p(y | reconstruction of x)) over paired rows."""
    if np.shape(p_x) != np.shape(p_rec):
        raise ValueError(f"rid needs paired rows, got {np.shape(p_x)} and {np.shape(p_rec)}")
    return float(_kl_rows(p_x, p_rec).mean())


def recon_rmse(x: np.ndarray, x_rec: np.ndarray) -> float:
    """Root mean squared difference over every pixel of every image."""
    diff = np.asarray(x, dtype=np.float64) - np.asarray(x_rec, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))
