"""Turn a dataset spec into deterministic train/val/test splits on disk.

The splits are stratified and drawn from the spec's split seed only, so every experiment and
every machine sees the same examples. Normalisation statistics come from the train split alone
(per channel for images, per coordinate for vectors). Images are stored as uint8 pixels with a
scale, vectors as float32 with scale 1; `meta.json` names the data's domain. The folder is
written atomically and is what DVC versions.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from methodlib.data.clutter import clutter_splits
from methodlib.data.layout import (
    FORMAT_VERSION,
    GRAMMAR_FILE,
    OOD_SPLIT,
    SPLITS,
    TEXTS_FILE,
    file_sha256,
)
from methodlib.data.sources import RawData, load_source
from methodlib.data.text import (
    build_vocab,
    clean,
    encode_texts,
    load_text_source,
    load_tokenizer,
    resolve_tokenizer,
    split_indices,
)
from methodlib.errors import RunError
from methodlib.io import atomic_dir, write_json, write_npz

TEXT_SOURCES = ("fortunes", "grammar", "local_text")


def prepare_dataset(name: str, spec, out_dir: str | Path) -> dict:
    """Write `{train,val,test}.npz` and `meta.json` into `out_dir`; return the meta."""
    if spec.source in TEXT_SOURCES:
        return prepare_text(name, spec, out_dir)
    if spec.source == "fortune_collections":
        from methodlib.data.fortune_collections import prepare_fortune_collections

        return prepare_fortune_collections(name, spec, out_dir)
    raw = load_source(spec)
    splits = split_data(raw, spec)
    id_classes = getattr(spec, "id_classes", None)
    if id_classes is not None:
        splits = split_domains(splits, id_classes, name)
    if getattr(spec, "noise_share", 0.0) > 0:
        splits = add_noise(splits, spec.noise_share, raw.scale, spec.split.seed)
    if getattr(spec, "clutter", None) is not None:
        splits = clutter_splits(splits, spec.clutter.model_dump(), spec.split.seed)
    train_x = splits["train"][0].astype(np.float64) / raw.scale
    axes = (0, *range(2, train_x.ndim))  # all but the channel (image) or coordinate axis
    mean = train_x.mean(axis=axes)
    std = train_x.std(axis=axes)
    with atomic_dir(out_dir) as tmp:
        checksums = {}
        for split, (x, y) in splits.items():
            write_npz(tmp / f"{split}.npz", x=x, y=y)
            checksums[f"{split}.npz"] = file_sha256(tmp / f"{split}.npz")
        in_domain = [y for split, (_, y) in splits.items() if split != OOD_SPLIT]
        classes = sorted(int(c) for c in np.unique(np.concatenate(in_domain)))
        meta = {
            "name": name,
            "format_version": FORMAT_VERSION,
            "spec": spec.model_dump(mode="json"),
            "input_shape": list(splits["train"][0].shape[1:]),
            "n_classes": len(classes),
            "classes": classes,
            "id_classes": id_classes,
            "sizes": {split: len(y) for split, (_, y) in splits.items()},
            "class_counts": {
                split: np.bincount(y, minlength=max(classes) + 1).tolist()
                for split, (_, y) in splits.items()
            },
            "scale": raw.scale,
            "domain": raw.domain,
            **({"density": raw.density} if raw.density else {}),  # closed-form targets only
            "mean": mean.tolist(),
            "std": np.maximum(std, 1e-8).tolist(),
            "checksums": checksums,
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        write_json(tmp / "meta.json", meta)
    return meta


def prepare_text(name: str, spec, out_dir: str | Path) -> dict:
    """A text dataset: cleaned texts split at random (`split.seed`), `{split}.npz` holding the
    rows of compact token ids (`x`) and their lengths (`y`), `texts.json` the texts themselves
    (what generated texts are compared with), `meta.json` the compact vocabulary, and for the
    `grammar` source `grammar.json`, the grammar the texts were drawn from."""
    tokenizer = load_tokenizer(resolve_tokenizer(spec.tokenizer))
    corpus = clean(load_text_source(spec), tokenizer, spec.max_len, spec.min_words)
    n = len(corpus.texts) if spec.limit is None else min(spec.limit, len(corpus.texts))
    if n < 20:
        raise RunError(
            f"datasets.{name}: {n} texts left after cleaning (min_words {spec.min_words}, "
            f"max_len {spec.max_len}); at least 20 are needed"
        )
    order = np.random.default_rng(spec.split.seed).permutation(len(corpus.texts))[:n]
    parts = split_indices(n, spec.split.val, spec.split.test, spec.split.seed)
    texts = {split: [corpus.texts[order[i]] for i in idx] for split, idx in parts.items()}
    vocab = build_vocab(tokenizer, texts["train"])
    with atomic_dir(out_dir) as tmp:
        checksums = {}
        for split in SPLITS:
            x, lengths = encode_texts(texts[split], tokenizer, vocab, spec.max_len)
            write_npz(tmp / f"{split}.npz", x=x, y=lengths)
            checksums[f"{split}.npz"] = file_sha256(tmp / f"{split}.npz")
        stored = {"texts": texts}
        if corpus.sources is not None:
            stored["sources"] = {
                split: [corpus.sources[order[i]] for i in idx] for split, idx in parts.items()
            }
        write_json(tmp / TEXTS_FILE, stored)
        checksums[TEXTS_FILE] = file_sha256(tmp / TEXTS_FILE)
        if corpus.grammar is not None:
            write_json(tmp / GRAMMAR_FILE, corpus.grammar.to_json())
            checksums[GRAMMAR_FILE] = file_sha256(tmp / GRAMMAR_FILE)
        meta = {
            "name": name,
            "format_version": FORMAT_VERSION,
            "task": "text",
            "spec": spec.model_dump(mode="json"),
            "input_shape": [spec.max_len],
            "n_classes": len(vocab),
            "vocab": vocab,
            "tokenizer": spec.tokenizer,
            "sizes": {split: len(texts[split]) for split in SPLITS},
            "cleaned_texts": len(corpus.texts),
            "scale": 1.0,
            "domain": "text",
            "checksums": checksums,
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        write_json(tmp / "meta.json", meta)
    return meta


def add_noise(
    splits: dict[str, tuple[np.ndarray, np.ndarray]], share: float, scale: float, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Replace `share` of the training and validation images (a seeded draw) by images of
    independent uniform pixels on [0, `scale`], for robust VI's noisy data (Figurnov et al.
    2016); the test split stays clean, labels stay (generation ignores them). Replacing,
    not adding, keeps a run's cost the same at every share."""
    rng = np.random.default_rng([seed, 19])
    noisy = dict(splits)
    for split in ("train", "val"):
        x, y = splits[split]
        x = x.copy()
        picked = rng.permutation(len(x))[: round(share * len(x))]
        shape = (len(picked), *x.shape[1:])
        if np.issubdtype(x.dtype, np.integer):
            x[picked] = rng.integers(0, int(scale) + 1, size=shape)
        else:
            x[picked] = rng.uniform(0.0, scale, size=shape)
        noisy[split] = (x, y)
    return noisy


def split_domains(
    splits: dict[str, tuple[np.ndarray, np.ndarray]], id_classes: list[int], name: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Keep the in-domain classes in train/val/test, relabelled 0..k-1 in `id_classes` order,
    and put the test split's other examples in an `ood` split (original labels): an
    out-of-domain set from the same source, so detection needs no second download."""
    present = set(np.unique(splits["train"][1]).tolist())
    missing = [c for c in id_classes if c not in present]
    if missing:
        raise RunError(
            f"datasets.{name}.id_classes: {missing} not among the dataset's classes "
            f"{sorted(present)}"
        )
    relabel = np.full(max(max(present), *id_classes) + 1, -1, dtype=np.int64)
    relabel[id_classes] = np.arange(len(id_classes))
    out = {}
    for split, (x, y) in splits.items():
        keep = relabel[y] >= 0
        out[split] = (x[keep], relabel[y[keep]])
    x_test, y_test = splits["test"]
    outside = relabel[y_test] < 0
    if not outside.any():
        raise RunError(f"datasets.{name}.id_classes: every class is in-domain; nothing is left out")
    out[OOD_SPLIT] = (x_test[outside], y_test[outside])
    return out


def split_data(raw: RawData, spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stratified splits drawn from `spec.split.seed`; the official test set is kept as the
    test split when the source has one and the spec asks for it."""
    rng = np.random.default_rng(spec.split.seed)
    x, y = raw.x, raw.y
    keep_official = raw.x_test is not None and getattr(spec, "official_test", False)
    if raw.x_test is not None and not keep_official:
        x, y = np.concatenate([x, raw.x_test]), np.concatenate([y, raw.y_test])
    if spec.limit is not None and spec.limit < len(y):
        x, y = _stratified_take(x, y, spec.limit, rng)
    seed = int(rng.integers(2**31))
    if keep_official:
        x_test, y_test = raw.x_test, raw.y_test
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=spec.split.val, stratify=y, random_state=seed
        )
    else:
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=spec.split.test, stratify=y, random_state=seed
        )
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest,
            y_rest,
            test_size=spec.split.val / (1 - spec.split.test),
            stratify=y_rest,
            random_state=seed + 1,
        )
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}


def _stratified_take(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    seed = int(rng.integers(2**31))
    _, x_part, _, y_part = train_test_split(x, y, test_size=n, stratify=y, random_state=seed)
    return x_part, y_part
