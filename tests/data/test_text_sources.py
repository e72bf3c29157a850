"""Text datasets: the fortunes corpus, local files in both of the paper's formats (written here),
cleaning, the compact vocabulary, and ids back to texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from methodlib.data import load_prepared, prepare_dataset
from methodlib.data.text import (
    FORTUNES_DIR,
    TextCorpus,
    clean,
    decode_ids,
    default_tokenizer,
    fortune_texts,
    load_tokenizer,
)
from methodlib.errors import RunError
from methodlib.methods.base import CLS, PAD, SEP, UNK, TextInfo
from methodlib.spec import FortunesDatasetSpec, LocalTextDatasetSpec, validate_pipeline

WORDS = [
    "the",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "a",
    "mat",
    "hat",
    "big",
    "small",
    "red",
    "blue",
    "house",
    "tree",
]


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(3, 9))).capitalize() + "." for _ in range(n)]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(default_tokenizer())


def lines_spec(path: Path, **fields) -> LocalTextDatasetSpec:
    return LocalTextDatasetSpec(source="local_text", format="lines", path=str(path), **fields)


def test_lines_file_prepares_rows_texts_and_vocab(tmp_path):
    texts = sentences(200)
    (tmp_path / "corpus.txt").write_text("\n".join(texts) + "\n")
    meta = prepare_dataset("toy", lines_spec(tmp_path / "corpus.txt", max_len=16), tmp_path / "p")
    data = load_prepared(tmp_path / "p")
    assert meta["task"] == "text" and meta["domain"] == "text"
    assert sum(meta["sizes"].values()) == len(set(t.lower() for t in texts))
    assert data.train.x.shape[1] == 16 and data.train.x.dtype.is_floating_point is False
    rows = data.train.x.numpy()
    assert (rows[:, 0] == CLS).all()
    ends = data.train.y.numpy() - 1
    assert (rows[np.arange(len(rows)), ends] == SEP).all()
    assert all((row[n:] == PAD).all() for row, n in zip(rows, data.train.y.numpy(), strict=True))
    # the vocabulary is the training split's tokens after the four specials
    assert len(meta["vocab"]) == meta["n_classes"] < 40
    info = TextInfo(default_tokenizer(), tuple(meta["vocab"]), 16)
    assert [t.lower() for t in data.texts["train"]] == decode_ids(rows, info)


def test_splits_are_disjoint_and_seeded(tmp_path):
    (tmp_path / "c.txt").write_text("\n".join(sentences(300)))
    a = prepare_dataset("a", lines_spec(tmp_path / "c.txt"), tmp_path / "a")
    b = prepare_dataset("b", lines_spec(tmp_path / "c.txt"), tmp_path / "b")
    texts_a = load_prepared(tmp_path / "a").texts
    assert texts_a == load_prepared(tmp_path / "b").texts and a["vocab"] == b["vocab"]
    train, val, test = (set(texts_a[s]) for s in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)


def test_pairs_file_keeps_sources(tmp_path):
    rows = [
        {"src": f"how do i {w} {v}?", "trg": f"what is the way to {w} {v}?"}
        for w in WORDS
        for v in WORDS[:3]
    ]
    (tmp_path / "qqp.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    spec = LocalTextDatasetSpec(
        source="local_text", format="pairs", path=str(tmp_path / "qqp.jsonl")
    )
    prepare_dataset("qqp", spec, tmp_path / "p")
    stored = json.loads((tmp_path / "p" / "texts.json").read_text())
    for split in ("train", "val", "test"):
        for source, target in zip(stored["sources"][split], stored["texts"][split], strict=True):
            assert source.split()[-2:] == target.split()[-2:]


def test_bad_pairs_line_names_the_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"src": "a", "trg": "b c d"}\n{"source": "x"}\n')
    spec = LocalTextDatasetSpec(
        source="local_text", format="pairs", path=str(tmp_path / "bad.jsonl")
    )
    with pytest.raises(RunError, match=r"bad.jsonl:2: expected a JSON object with `src`"):
        prepare_dataset("bad", spec, tmp_path / "p")


def test_missing_file_and_too_few_texts_are_clear_errors(tmp_path):
    with pytest.raises(RunError, match="text file not found"):
        prepare_dataset("x", lines_spec(tmp_path / "nope.txt"), tmp_path / "p")
    (tmp_path / "few.txt").write_text("one two three\nfour five six\n")
    with pytest.raises(RunError, match="2 texts left after cleaning"):
        prepare_dataset("x", lines_spec(tmp_path / "few.txt"), tmp_path / "p")
    assert not (tmp_path / "p").exists()  # nothing half-written


def test_modified_texts_are_detected(tmp_path):
    (tmp_path / "c.txt").write_text("\n".join(sentences(100)))
    prepare_dataset("c", lines_spec(tmp_path / "c.txt"), tmp_path / "p")
    path = tmp_path / "p" / "texts.json"
    path.write_text(path.read_text().replace("cat", "cow"))
    with pytest.raises(RunError, match="texts.json: missing or modified"):
        load_prepared(tmp_path / "p")


def test_cleaning_filters_length_duplicates_and_whitespace(tokenizer):
    corpus = TextCorpus(
        ["  A   cat\tsat. ", "a cat sat.", "Too short", " ".join(["word"] * 40), "The\x07 dog ran."]
    )
    kept = clean(corpus, tokenizer, max_len=16, min_words=3).texts
    assert kept == ["A cat sat.", "The dog ran."]


def test_unseen_tokens_become_unk_and_decoding_stops_at_sep(tmp_path):
    (tmp_path / "c.txt").write_text("\n".join(sentences(100)))
    meta = prepare_dataset("c", lines_spec(tmp_path / "c.txt"), tmp_path / "p")
    info = TextInfo(default_tokenizer(), tuple(meta["vocab"]), 32)
    cat = meta["vocab"].index(load_tokenizer(default_tokenizer()).token_to_id("cat"))
    rows = np.array([[CLS, cat, cat, SEP, cat, PAD], [CLS, UNK, cat, PAD, PAD, PAD]])
    assert decode_ids(rows, info) == ["cat cat", "cat"]


@pytest.mark.skipif(not Path(FORTUNES_DIR).is_dir(), reason="Debian's fortunes is not installed")
def test_fortunes_corpus_has_ten_thousand_short_texts(tokenizer):
    corpus = fortune_texts()
    kept = clean(corpus, tokenizer, max_len=32, min_words=3).texts
    assert len(corpus.texts) > 14_000 and len(kept) >= 10_000
    assert not any("\n" in t or t.startswith("--") for t in kept)


def test_fortunes_missing_folder_says_how_to_install(tmp_path):
    spec = FortunesDatasetSpec(source="fortunes", path=str(tmp_path / "none"))
    with pytest.raises(RunError, match="apt-get install fortunes"):
        prepare_dataset("f", spec, tmp_path / "p")


def test_spec_refuses_a_text_method_on_images_and_back():
    base = {"datasets": {"digits": {"source": "digits"}, "quotes": {"source": "fortunes"}}}
    with pytest.raises(Exception, match=r"'quotes' is a text dataset, but method 'dense'"):
        validate_pipeline(
            {
                **base,
                "experiments": {
                    "e": {"dataset": "quotes", "model": "lenet5", "method": {"name": "dense"}}
                },
            }
        )


def test_spec_refuses_a_text_method_on_word_level_collections():
    """fortune_collections rows are word ids of their own vocabulary, which a text method would
    embed and decode as tokenizer ids: refused when the file is read, naming the field."""
    experiment = {"dataset": "quotes", "model": "transformer_small", "method": {"name": "tencdm"}}
    with pytest.raises(Exception, match=r"experiments\.e\.dataset: 'quotes' is word-level"):
        validate_pipeline(
            {
                "datasets": {"quotes": {"source": "fortune_collections"}},
                "experiments": {"e": experiment},
            }
        )
