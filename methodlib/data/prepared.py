"""Read prepared splits back, checking they are complete and unmodified."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from methodlib.data.layout import (
    FORMAT_VERSION,
    GRAMMAR_FILE,
    OOD_SPLIT,
    SPLITS,
    TEXTS_FILE,
    file_sha256,
)
from methodlib.errors import RunError
from methodlib.io import read_json


@dataclass
class Split:
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Prepared:
    meta: dict
    train: Split
    val: Split
    test: Split
    ood: Split | None = None  # test examples of the classes left out of training (`id_classes`)
    texts: dict[str, list[str]] | None = None  # text datasets: the texts of each split


def _checked(folder: Path, meta: dict, name: str) -> Path:
    path = folder / name
    if not path.is_file() or file_sha256(path) != meta["checksums"][name]:
        raise RunError(f"{path}: missing or modified since it was prepared; prepare it again")
    return path


def load_prepared(folder: str | Path, standardise: bool = True) -> Prepared:
    """Load the three splits as float32 tensors: standardised with the train statistics for
    classification, or in the data's domain (`standardise=False`: [0, 1] for images, the
    simplex or the sphere for synthetic vectors) for generative models. uint8 images and float32
    vectors are read alike: divided by the stored scale (1 for vectors)."""
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise RunError(
            f"prepared data not found: {meta_path}; run `snakemake` (or `methodlib prepare`) first"
        )
    meta = read_json(meta_path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise RunError(f"{folder}: prepared with an older format; delete it and prepare again")
    if meta.get("task") in ("text", "text_classification"):  # rows of token ids
        return _load_text(folder, meta)
    trailing = (1,) * (len(meta["input_shape"]) - 1)  # (C, 1, 1) for images, (d,) for vectors
    mean = np.asarray(meta["mean"], dtype=np.float32).reshape(-1, *trailing)
    std = np.asarray(meta["std"], dtype=np.float32).reshape(-1, *trailing)
    splits = {}
    for split in [*SPLITS, *([OOD_SPLIT] if f"{OOD_SPLIT}.npz" in meta["checksums"] else [])]:
        with np.load(_checked(folder, meta, f"{split}.npz")) as data:
            x = data["x"].astype(np.float32) / np.float32(meta["scale"])
            y = data["y"].astype(np.int64)
        if standardise:
            x = (x - mean) / std
        splits[split] = Split(torch.from_numpy(x), torch.from_numpy(y))
    return Prepared(meta=meta, **splits)


def _load_text(folder: Path, meta: dict) -> Prepared:
    """Rows of compact token ids (`x`, int64) with their lengths (`y`; the labels for
    `text_classification`), and the texts."""
    splits = {}
    for split in SPLITS:
        with np.load(_checked(folder, meta, f"{split}.npz")) as data:
            splits[split] = Split(torch.from_numpy(data["x"]), torch.from_numpy(data["y"]))
    texts = read_json(_checked(folder, meta, TEXTS_FILE))["texts"]
    return Prepared(meta=meta, texts=texts, **splits)


def load_grammar(prepared: Prepared, folder: str | Path):
    """The grammar a `grammar` dataset was drawn from (checked against its checksum), or None
    for any other dataset."""
    if GRAMMAR_FILE not in prepared.meta.get("checksums", {}):
        return None
    from methodlib.data.grammar import Grammar

    return Grammar.load(_checked(Path(folder), prepared.meta, GRAMMAR_FILE))
