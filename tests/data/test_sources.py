"""Data sources: the embedded datasets, and MNIST IDX / CIFAR-10 batches written in their
distribution formats into a temporary folder."""

from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from methodlib.data import prepare_dataset
from methodlib.data.sources import load_source
from methodlib.errors import RunError
from methodlib.spec import EmbeddedDatasetSpec, LocalDatasetSpec

N_TRAIN, N_TEST = 100, 30  # CIFAR: five batches of 20
TRAIN_IMAGES, TEST_LABELS = "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def images(n: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def labels(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.uint8) % 10


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, gz: bool = False) -> dict[str, np.ndarray]:
    arrays = {
        TRAIN_IMAGES: images(N_TRAIN, (28, 28), 0),
        "train-labels-idx1-ubyte": labels(N_TRAIN),
        "t10k-images-idx3-ubyte": images(N_TEST, (28, 28), 1),
        TEST_LABELS: labels(N_TEST),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        data = idx_bytes(array)
        (folder / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(data) if gz else data)
    return arrays


def cifar_pickle(data: np.ndarray, numpy1_names: bool = False) -> bytes:
    """A batch as the official files hold it; `numpy1_names` spells numpy's modules as numpy 1
    did (numpy.core), the way the distributed files were written."""
    batch = {b"batch_label": b"test", b"data": data, b"labels": labels(len(data)).tolist()}
    blob = pickle.dumps(batch, protocol=3)  # protocol 3 names classes in plain text lines
    if numpy1_names:
        blob = blob.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    return blob


def write_cifar(folder: Path, numpy1_names: bool = False) -> dict[str, np.ndarray]:
    arrays = {name: images(N_TRAIN // 5, (3072,), i) for i, name in enumerate(CIFAR_FILES[:5])}
    arrays["test_batch"] = images(N_TEST, (3072,), 9)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in arrays.items():
        (folder / name).write_bytes(cifar_pickle(data, numpy1_names))
    return arrays


def local(fmt: str, folder: Path, **fields) -> LocalDatasetSpec:
    return LocalDatasetSpec(source="local", format=fmt, path=str(folder), **fields)


# --- embedded ----------------------------------------------------------------------------------


def test_embedded_digits() -> None:
    # mnist5k is left to the workflow tests: parsing it takes a few seconds
    raw = load_source(EmbeddedDatasetSpec(source="digits"))
    assert raw.x.shape == (1797, 1, 8, 8) and raw.y.shape == (1797,)
    assert raw.x.dtype == np.uint8 and raw.y.dtype == np.int64
    assert raw.scale == 16.0 and int(raw.x.max()) == 16
    assert sorted(np.unique(raw.y).tolist()) == list(range(10))
    assert raw.x_test is None


# --- local files -------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_mnist_idx_loads(tmp_path: Path, gz: bool) -> None:
    arrays = write_mnist(tmp_path, gz)
    raw = load_source(local("mnist_idx", tmp_path))
    assert raw.x.shape == (N_TRAIN, 1, 28, 28) and raw.x_test.shape == (N_TEST, 1, 28, 28)
    assert raw.scale == 255.0 and raw.y.dtype == np.int64
    np.testing.assert_array_equal(raw.x[:, 0], arrays[TRAIN_IMAGES])
    np.testing.assert_array_equal(raw.y_test, arrays[TEST_LABELS])


@pytest.mark.parametrize("numpy1_names", [False, True], ids=["numpy2", "numpy1"])
@pytest.mark.parametrize("nested", [False, True], ids=["batches-folder", "parent-folder"])
def test_cifar10_loads(tmp_path: Path, numpy1_names: bool, nested: bool) -> None:
    arrays = write_cifar(tmp_path / "cifar-10-batches-py" if nested else tmp_path, numpy1_names)
    raw = load_source(local("cifar10", tmp_path))
    assert raw.x.shape == (N_TRAIN, 3, 32, 32) and raw.x_test.shape == (N_TEST, 3, 32, 32)
    assert raw.scale == 255.0 and raw.y.dtype == np.int64
    np.testing.assert_array_equal(raw.x[:20].reshape(20, -1), arrays["data_batch_1"])
    np.testing.assert_array_equal(raw.x_test.reshape(N_TEST, -1), arrays["test_batch"])
    np.testing.assert_array_equal(raw.y_test, labels(N_TEST))


@pytest.mark.parametrize(
    ("fmt", "write", "shape"),
    [("mnist_idx", write_mnist, (1, 28, 28)), ("cifar10", write_cifar, (3, 32, 32))],
)
@pytest.mark.parametrize("official_test", [True, False])
def test_official_test_split(
    tmp_path: Path, fmt: str, write: Callable, shape: tuple[int, ...], official_test: bool
) -> None:
    write(tmp_path / "raw")
    spec = local(fmt, tmp_path / "raw", official_test=official_test)
    meta = prepare_dataset("local", spec, tmp_path / "prepared")
    assert meta["input_shape"] == list(shape)
    with np.load(tmp_path / "prepared" / "test.npz") as test:
        test_x = test["x"]
    official = load_source(spec).x_test
    if official_test:
        np.testing.assert_array_equal(test_x, official)
        assert meta["sizes"]["test"] == N_TEST
        assert meta["sizes"]["val"] == pytest.approx(spec.split.val * N_TRAIN, abs=1)
    else:
        n = N_TRAIN + N_TEST
        assert sum(meta["sizes"].values()) == n
        assert meta["sizes"]["test"] == pytest.approx(spec.split.test * n, abs=1)


# --- unusable local files ----------------------------------------------------------------------


def _move_away(folder: Path) -> None:
    folder.rename(folder.with_name("elsewhere"))


def _delete(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def _replace(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(content)


def _truncate(name: str, keep: int) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes((folder / name).read_bytes()[:keep])


def _truncated_gz(folder: Path) -> None:
    (folder / TRAIN_IMAGES).unlink()
    (folder / f"{TRAIN_IMAGES}.gz").write_bytes(
        gzip.compress(idx_bytes(images(N_TRAIN, (28, 28), 0)))[:50]
    )


class _RunsCode:
    """Unpickling this would call os.mkdir: a stand-in for any code a data file could run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def _code_in_pickle(folder: Path) -> None:
    batch = {b"data": _RunsCode(folder / "ran"), b"labels": [0]}
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=3))


def cases(fmt: str, *rows: tuple[str, Callable[[Path], None], str]) -> list:
    return [
        pytest.param(fmt, damage, message, id=f"{fmt}-{name}") for name, damage, message in rows
    ]


LABELS_HEADER = bytes([0, 0, 0x08, 1]) + np.array([N_TEST], dtype=">u4").tobytes()


@pytest.mark.parametrize(
    ("fmt", "damage", "message"),
    cases(
        "mnist_idx",
        ("no-folder", _move_away, "folder not found"),
        ("no-file", _delete(TEST_LABELS), f"missing {TEST_LABELS}"),
        ("bad-magic", _replace(TEST_LABELS, b"\x00\x00\x0d\x01" + LABELS_HEADER[4:]), "bad magic"),
        ("too-short-for-magic", _replace(TEST_LABELS, b"PK\x03"), "bad magic"),
        ("truncated-header", _truncate(TRAIN_IMAGES, 10), "too short"),
        ("truncated-data", _truncate(TRAIN_IMAGES, -10), "bytes, expected"),
        ("truncated-gz", _truncated_gz, "cannot be read"),
        (
            "extra-bytes",
            _replace(TEST_LABELS, LABELS_HEADER + bytes(N_TEST) + b"x"),
            "bytes, expected",
        ),
        ("count-mismatch", _replace(TEST_LABELS, idx_bytes(labels(N_TEST - 1))), "do not match"),
    )
    + cases(
        "cifar10",
        ("no-folder", _move_away, "folder not found"),
        ("no-file", _delete("test_batch"), "missing test_batch"),
        ("pickle-runs-code", _code_in_pickle, "refusing to load"),
        ("not-a-pickle", _replace("data_batch_3", b"\x00not a pickle"), "not a CIFAR-10 batch"),
        ("truncated", _truncate("data_batch_2", 100), "not a CIFAR-10 batch"),
        ("no-data", _replace("test_batch", pickle.dumps({b"labels": [1]})), "not a CIFAR-10"),
        ("wrong-shape", _replace("test_batch", cifar_pickle(images(4, (100,), 0))), "CIFAR-10's"),
    ),
)
def test_unusable_local_data_is_refused(
    tmp_path: Path, fmt: str, damage: Callable[[Path], None], message: str
) -> None:
    folder = tmp_path / "raw"
    (write_mnist if fmt == "mnist_idx" else write_cifar)(folder)
    damage(folder)
    with pytest.raises(RunError, match=message):
        load_source(local(fmt, folder))
    assert not (folder / "ran").exists()
