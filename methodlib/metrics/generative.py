"""Metrics of generated samples against held-out data: numpy arrays of shape (n, d) in, a float
out. Two complementary distances: the k-NN KL divergence sees density mismatch (missing modes,
spread) and needs no fitted model; the sliced Wasserstein distance sees geometry (how far mass
has to move) and stays finite for disjoint supports. `out_of_domain` checks the constraint a
diffusion on a manifold is meant to keep, and `frechet_distance` is the FID formula for
features of images.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import sqrtm
from scipy.spatial import cKDTree

# Neighbours queried beyond the k-th, so that exact duplicates can be skipped (see `knn_kl`).
_DUPLICATE_SLACK = 16


def _kth_distinct_distance(
    tree: cKDTree, points: np.ndarray, k: int, skip_self: bool
) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in `tree` counting only neighbours
    at a positive distance. Where fewer than k of the queried neighbours are distinct (a point
    duplicated more than `_DUPLICATE_SLACK` times), the farthest queried one stands in."""
    query = min(k + skip_self + _DUPLICATE_SLACK, tree.n)
    distances, _ = tree.query(points, k=query)
    distances = distances.reshape(len(points), query)
    positive = distances > 0
    rank = np.cumsum(positive, axis=1)
    found = rank[:, -1] >= k
    column = np.where(found, np.argmax(rank >= k, axis=1), query - 1)
    return distances[np.arange(len(points)), column]


def knn_kl(x: np.ndarray, y: np.ndarray, k: int = 10, dim: int | None = None) -> float:
    """D(P ‖ Q) from x ~ P (n points) and y ~ Q (m points), the k-nearest-neighbour estimator of
    Wang, Kulkarni & Verdú (2009): (d / n) Σ_i log(ν_k(i) / ρ_k(i)) + log(m / (n - 1)), where
    ρ_k(i) is the distance from x_i to its k-th neighbour among the other x and ν_k(i) to its
    k-th neighbour among y. It is consistent without fitting a density, in any dimension.

    `dim` is the intrinsic dimension d of the data, which sets how distance ratios turn into
    density ratios: K - 1 for points on a simplex of K coordinates, 2 on the sphere S² in R³
    (Euclidean distances are fine there; locally they match the manifold's). It defaults to the
    number of columns.

    Exact duplicates (generated samples collapsed onto one point, or discretised data) would give
    ρ_k = 0 or ν_k = 0 and an infinite term. Neighbours at distance 0, copies of the query point
    itself, are therefore skipped; copies of other points still count. This keeps the estimate
    finite and changes nothing for continuous data.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    n, m = len(x), len(y)
    if n <= k or m < k:
        raise ValueError(
            f"knn_kl needs more than k={k} points in x and at least k in y; got {n}, {m}"
        )
    d = x.shape[1] if dim is None else dim
    rho = _kth_distinct_distance(cKDTree(x), x, k, skip_self=True)
    nu = _kth_distinct_distance(cKDTree(y), x, k, skip_self=False)
    return float(d * np.mean(np.log(nu / rho)) + np.log(m / (n - 1)))


def sym_kl(x: np.ndarray, y: np.ndarray, k: int = 10, dim: int | None = None) -> float:
    """D(P ‖ Q) + D(Q ‖ P) by `knn_kl`: penalises both missing modes and invented ones."""
    return knn_kl(x, y, k, dim) + knn_kl(y, x, k, dim)


def _quantiles(values: np.ndarray, size: int) -> np.ndarray:
    """The empirical quantile function of each column at `size` mid-point levels."""
    if len(values) == size:
        return np.sort(values, axis=0)
    levels = (np.arange(size) + 0.5) / size
    return np.quantile(values, levels, axis=0)


def sliced_wasserstein(
    x: np.ndarray, y: np.ndarray, projections: int = 256, seed: int = 0, p: int = 2
) -> float:
    """Sliced Wasserstein-p distance: (E_θ W_p^p(θᵀP, θᵀQ))^{1/p} over uniformly random unit
    directions θ. One-dimensional W_p is a comparison of sorted projections, so this costs a
    sort rather than an optimal-transport solve. Unequal sample sizes are compared through
    their quantile functions at max(n, m) levels (linear interpolation). The directions come
    from `seed`, so two models scored with the same seed see the same slices.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    theta = np.random.default_rng(seed).standard_normal((x.shape[1], projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    size = max(len(x), len(y))
    gap = np.abs(_quantiles(x @ theta, size) - _quantiles(y @ theta, size)) ** p
    return float(np.mean(gap) ** (1 / p))


def out_of_domain(x: np.ndarray, domain: str, tol: float = 1e-6) -> float:
    """Fraction of samples off the domain the data lives on: "cube" ([0, 1]^d), "simplex"
    (a coordinate below 0 or a sum off 1, beyond `tol`), "sphere" (| ‖x‖ - 1 | > tol); nothing
    is off "real". A sampler that should respect the domain by construction scores 0."""
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(len(x), -1)
    if domain == "real":
        off = np.zeros(len(x), dtype=bool)
    elif domain == "cube":
        off = ((x < -tol) | (x > 1 + tol)).any(axis=1)
    elif domain == "simplex":
        off = (x < -tol).any(axis=1) | (np.abs(x.sum(axis=1) - 1) > tol)
    elif domain == "sphere":
        off = np.abs(np.linalg.norm(x, axis=1) - 1) > tol
    else:
        raise ValueError(f"domain {domain!r} is unknown; use 'real', 'cube', 'simplex' or 'sphere'")
    return float(off.mean())


def frechet_distance(feat_a: np.ndarray, feat_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples):
    ‖μa - μb‖² + tr(Σa + Σb - 2 (Σa Σb)^{1/2}), the FID formula. The matrix square root of a
    product of covariances can pick up tiny imaginary parts and, for singular covariances,
    non-finite entries; the first are dropped and the second avoided by adding 1e-6 I to both,
    as the reference FID code does."""
    a = np.asarray(feat_a, dtype=np.float64).reshape(len(feat_a), -1)
    b = np.asarray(feat_b, dtype=np.float64).reshape(len(feat_b), -1)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    root = sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():
        eye = np.eye(len(cov_a)) * 1e-6
        root = sqrtm((cov_a + eye) @ (cov_b + eye))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(root))
    return float(distance)


def intrinsic_dim(domain: str, ambient: int) -> int:
    """The dimension of the manifold the data live on: what the k-NN KL estimator scales by."""
    return ambient - 1 if domain in ("simplex", "sphere") else ambient


def sample_distances(samples: np.ndarray, reference: np.ndarray, domain: str) -> dict[str, float]:
    """`sliced_w` and, for vectors (`samples` of shape (n, d)), `sym_kl` (k = 10, in the
    domain's intrinsic dimension) of finite samples against reference examples: what the test
    evaluation and a diffusion run's last-epoch validation scores share."""
    flat, ref = samples.reshape(len(samples), -1), reference.reshape(len(reference), -1)
    scores = {"sliced_w": float(sliced_wasserstein(flat, ref))}
    if samples.ndim == 2:
        dim = intrinsic_dim(domain, ref.shape[1])
        scores["sym_kl"] = float(sym_kl(flat, ref, k=10, dim=dim))
    return scores
