"""Fortunes labelled by their collection, for the `text_classification` task: which fortune
file (art, computers, law, ...) does a quotation come from?

Quotations are read and cleaned as for the text study (`data/text.py`: attribution dropped,
one normalised line, at least `min_words` words, exact duplicates dropped, here across
collections too, so that no quotation has two labels). Words are the text study's tokenizer's
normalisation (lower case, accents stripped) and pre-tokenisation (words and punctuation
marks), not its WordPiece pieces: Bayesian compression of RNNs (Chirkova et al. 2018) drops
whole words of a word-level vocabulary. Each collection keeps at most `per_class` quotations
(a seeded draw, so that big files do not swamp the classes); the split is stratified by the
label and seeded; the vocabulary holds the four specials and the training split's
`vocab_size` most frequent words, so nothing of the validation and test texts leaks into it.
A row is `w1 .. wn [PAD] ..` (`max_len` words, longer texts truncated); `y` is the label.
"""

from __future__ import annotations

import platform
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from methodlib.data.layout import FORMAT_VERSION, SPLITS, TEXTS_FILE, file_sha256
from methodlib.data.text import (
    SPECIALS,
    fortune_entries,
    load_tokenizer,
    normalise,
    resolve_tokenizer,
)
from methodlib.errors import RunError
from methodlib.io import atomic_dir, write_json, write_npz
from methodlib.methods.base import PAD, UNK


def words_of(text: str, tokenizer) -> list[str]:
    """The words and punctuation marks of a text, as the tokenizer cuts them before WordPiece."""
    normalised = tokenizer.normalizer.normalize_str(text)
    return [word for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalised)]


def labelled_quotations(
    folder: Path, collections: list[str], min_words: int, per_class: int | None, seed: int
) -> tuple[list[str], np.ndarray]:
    """The cleaned quotations of each collection and their labels (the collection's index)."""
    seen: set[str] = set()
    texts, labels = [], []
    rng = np.random.default_rng([seed, 21])
    for label, name in enumerate(collections):
        path = folder / name
        if not path.is_file():
            raise RunError(
                f"{path}: no such fortune file; name collections of {folder} (apt-get install "
                "fortunes)"
            )
        kept = []
        for text in map(normalise, fortune_entries(path)):
            if len(text.split()) >= min_words and text.lower() not in seen:
                seen.add(text.lower())
                kept.append(text)
        if per_class is not None and len(kept) > per_class:
            kept = [kept[i] for i in np.sort(rng.permutation(len(kept))[:per_class])]
        texts += kept
        labels += [label] * len(kept)
    return texts, np.asarray(labels, dtype=np.int64)


def word_vocabulary(token_lists: list[list[str]], size: int) -> list[str]:
    """The specials, then the `size` most frequent words (ties alphabetical)."""
    counts = Counter(word for words in token_lists for word in words)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return [*SPECIALS, *ranked[:size]]


def encode_words(token_lists: list[list[str]], vocab: list[str], max_len: int) -> np.ndarray:
    """Rows of word ids (N, max_len), [PAD]-filled; words outside `vocab` become [UNK]."""
    lookup = {word: i for i, word in enumerate(vocab)}
    rows = np.full((len(token_lists), max_len), PAD, dtype=np.int64)
    for row, words in enumerate(token_lists):
        ids = [lookup.get(w, UNK) for w in words[:max_len]]
        rows[row, : len(ids)] = ids
    return rows


def stratified_split(labels: np.ndarray, val: float, test: float, seed: int):
    """Indices of train/val/test, stratified by the label and drawn from `seed`."""
    index = np.arange(len(labels))
    rest, test_idx = train_test_split(index, test_size=test, stratify=labels, random_state=seed)
    train_idx, val_idx = train_test_split(
        rest, test_size=val / (1 - test), stratify=labels[rest], random_state=seed + 1
    )
    return {"train": np.sort(train_idx), "val": np.sort(val_idx), "test": np.sort(test_idx)}


def prepare_fortune_collections(name: str, spec, out_dir: str | Path) -> dict:
    """`{split}.npz` with rows of word ids (`x`) and labels (`y`), `texts.json` the texts of
    each split, `meta.json` the vocabulary (words), the collections and the class sizes."""
    tokenizer = load_tokenizer(resolve_tokenizer(spec.tokenizer))
    texts, labels = labelled_quotations(
        Path(spec.path).expanduser(),
        spec.collections,
        spec.min_words,
        spec.per_class,
        spec.split.seed,
    )
    if spec.limit is not None and spec.limit < len(texts):
        keep = np.sort(np.random.default_rng(spec.split.seed).permutation(len(texts))[: spec.limit])
        texts, labels = [texts[i] for i in keep], labels[keep]
    parts = stratified_split(labels, spec.split.val, spec.split.test, spec.split.seed)
    words = [words_of(text, tokenizer) for text in texts]
    vocab = word_vocabulary([words[i] for i in parts["train"]], spec.vocab_size)
    with atomic_dir(out_dir) as tmp:
        checksums = {}
        for split, idx in parts.items():
            x = encode_words([words[i] for i in idx], vocab, spec.max_len)
            write_npz(tmp / f"{split}.npz", x=x, y=labels[idx])
            checksums[f"{split}.npz"] = file_sha256(tmp / f"{split}.npz")
        write_json(tmp / TEXTS_FILE, {"texts": {s: [texts[i] for i in parts[s]] for s in SPLITS}})
        checksums[TEXTS_FILE] = file_sha256(tmp / TEXTS_FILE)
        meta = {
            "name": name,
            "format_version": FORMAT_VERSION,
            "task": "text_classification",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "spec": spec.model_dump(mode="json"),
            "checksums": checksums,
            "domain": "text",
            "scale": 1.0,
            "input_shape": [spec.max_len],
            "tokenizer": spec.tokenizer,
            "vocab": vocab,
            "n_classes": len(spec.collections),
            "classes": list(spec.collections),
            "sizes": {s: len(idx) for s, idx in parts.items()},
            "class_counts": {
                s: np.bincount(labels[idx], minlength=len(spec.collections)).tolist()
                for s, idx in parts.items()
            },
        }
        write_json(tmp / "meta.json", meta)
    return meta
