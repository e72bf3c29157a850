"""Preparing a dataset: stratified, disjoint, deterministic splits with train-only statistics,
and loading them back only while they are unmodified."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from methodlib.data import load_prepared, prepare_dataset
from methodlib.errors import RunError
from methodlib.io import read_json, write_json
from methodlib.spec import EmbeddedDatasetSpec

SPLITS = ("train", "val", "test")
N_DIGITS = 1797


def digits(**fields) -> EmbeddedDatasetSpec:
    return EmbeddedDatasetSpec(source="digits", **fields)


def read_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(folder / f"{split}.npz") as data:
        return data["x"], data["y"]


def rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Examples as sorted rows (pixels then label): equal multisets give equal arrays."""
    table = np.concatenate([x.reshape(len(x), -1).astype(np.int64), y[:, None]], axis=1)
    return table[np.lexsort(table.T[::-1])]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("digits") / "prepared"
    return folder, prepare_dataset("digits", digits(), folder)


def test_meta_describes_the_splits(prepared: tuple[Path, dict]) -> None:
    folder, meta = prepared
    assert read_json(folder / "meta.json") == meta
    assert sorted(p.name for p in folder.iterdir()) == [
        "meta.json",
        "test.npz",
        "train.npz",
        "val.npz",
    ]
    assert (meta["name"], meta["input_shape"], meta["n_classes"]) == ("digits", [1, 8, 8], 10)
    assert meta["classes"] == list(range(10))
    assert meta["spec"]["source"] == "digits"
    for split in SPLITS:
        x, y = read_split(folder, split)
        assert x.shape == (meta["sizes"][split], 1, 8, 8)
        assert np.bincount(y, minlength=10).tolist() == meta["class_counts"][split]


def test_splits_partition_the_data(prepared: tuple[Path, dict]) -> None:
    folder, _ = prepared
    parts = [read_split(folder, split) for split in SPLITS]
    x = np.concatenate([x for x, _ in parts])
    y = np.concatenate([y for _, y in parts])
    bunch = load_digits()
    assert len(y) == N_DIGITS  # disjoint: no example is counted twice ...
    np.testing.assert_array_equal(rows(x, y), rows(bunch.data, bunch.target))  # ... and all used


@pytest.mark.parametrize(
    ("split", "limit"),
    [({}, None), ({"val": 0.25, "test": 0.15}, None), ({"val": 0.2, "test": 0.3}, 500)],
)
def test_split_sizes_follow_the_fractions(tmp_path: Path, split: dict, limit: int | None) -> None:
    spec = digits(split=split, limit=limit)
    sizes = prepare_dataset("digits", spec, tmp_path / "d")["sizes"]
    n = limit or N_DIGITS
    assert sum(sizes.values()) == n
    assert abs(sizes["val"] - spec.split.val * n) <= 1
    assert abs(sizes["test"] - spec.split.test * n) <= 1


@pytest.mark.parametrize("limit", [None, 200])
def test_splits_are_stratified(tmp_path: Path, limit: int | None) -> None:
    meta = prepare_dataset("digits", digits(limit=limit), tmp_path / "d")
    overall = np.bincount(load_digits().target) / N_DIGITS
    for split in SPLITS:
        counts = np.asarray(meta["class_counts"][split])
        np.testing.assert_allclose(counts, overall * meta["sizes"][split], atol=2)


def test_same_seed_gives_identical_bytes_other_seed_differs(tmp_path: Path) -> None:
    def checksums(seed: int, name: str) -> dict[str, str]:
        return prepare_dataset("digits", digits(split={"seed": seed}), tmp_path / name)["checksums"]

    first, again, other = checksums(0, "a"), checksums(0, "b"), checksums(1, "c")
    assert first == again
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert other[name] != first[name]


def test_statistics_come_from_the_train_split_only(prepared: tuple[Path, dict]) -> None:
    folder, meta = prepared
    train_x = read_split(folder, "train")[0] / meta["scale"]
    np.testing.assert_allclose(meta["mean"], [train_x.mean()], rtol=1e-12)
    np.testing.assert_allclose(meta["std"], [train_x.std()], rtol=1e-12)
    assert meta["mean"] != [(load_digits().data / meta["scale"]).mean()]

    data = load_prepared(folder)
    assert abs(float(data.train.x.mean())) < 1e-5
    assert float(data.train.x.std()) == pytest.approx(1.0, abs=1e-4)


def test_load_prepared_returns_tensors(prepared: tuple[Path, dict]) -> None:
    folder, meta = prepared
    for standardise in (True, False):
        data = load_prepared(folder, standardise=standardise)
        assert data.meta == meta
        for split in SPLITS:
            part, (_, y) = getattr(data, split), read_split(folder, split)
            assert part.x.shape == (meta["sizes"][split], 1, 8, 8) and len(part) == len(y)
            assert str(part.x.dtype) == "torch.float32" and str(part.y.dtype) == "torch.int64"
            np.testing.assert_array_equal(part.y.numpy(), y)
    raw = load_prepared(folder, standardise=False).train.x
    assert float(raw.min()) == 0.0 and float(raw.max()) == 1.0


def _rewrite_npz(folder: Path) -> None:
    x, y = read_split(folder, "val")
    np.savez_compressed(folder / "val.npz", x=x[::-1], y=y[::-1])


def _truncate_npz(folder: Path) -> None:
    path = folder / "test.npz"
    path.write_bytes(path.read_bytes()[:-100])


def _old_format(folder: Path) -> None:
    write_json(folder / "meta.json", {**read_json(folder / "meta.json"), "format_version": 0})


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_rewrite_npz, "val.npz: missing or modified"),
        (_truncate_npz, "test.npz: missing or modified"),
        (lambda folder: (folder / "train.npz").unlink(), "train.npz: missing or modified"),
        (_old_format, "older format"),
        (shutil.rmtree, "prepared data not found"),
    ],
    ids=["modified", "truncated", "missing-split", "old-format", "missing-folder"],
)
def test_load_prepared_refuses_damaged_data(
    prepared: tuple[Path, dict], tmp_path: Path, damage: Callable[[Path], None], message: str
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(prepared[0], folder)
    damage(folder)
    with pytest.raises(RunError, match=message):
        load_prepared(folder)


def test_id_classes_hold_out_the_other_classes_as_out_of_domain(tmp_path: Path) -> None:
    spec = EmbeddedDatasetSpec(source="digits", limit=500, id_classes=[7, 0, 3, 1, 4])
    meta = prepare_dataset("d", spec, tmp_path / "d")
    data = load_prepared(tmp_path / "d")
    assert meta["n_classes"] == 5 and meta["id_classes"] == [7, 0, 3, 1, 4]
    for split in (data.train, data.val, data.test):
        assert set(split.y.tolist()) == {0, 1, 2, 3, 4}  # relabelled in id_classes order
    assert data.ood is not None and set(data.ood.y.tolist()) == {2, 5, 6, 8, 9}
    with np.load(tmp_path / "d" / "train.npz") as train:
        first_seven = train["x"][train["y"] == 0][0].astype(np.float32)
    digits = load_digits()
    sevens = digits.images[digits.target == 7]  # stored at the source's scale (0..16)
    assert np.abs(sevens - first_seven[0]).max(axis=(1, 2)).min() < 1  # label 0 holds sevens


def test_id_classes_must_exist(tmp_path: Path) -> None:
    spec = EmbeddedDatasetSpec(source="digits", limit=300, id_classes=[0, 11])
    with pytest.raises(RunError, match=r"id_classes: \[11\] not among"):
        prepare_dataset("d", spec, tmp_path / "d")
    assert not (tmp_path / "d").exists()
