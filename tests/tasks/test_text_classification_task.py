"""The text classification task and its data: fortunes labelled by collection (the cap per
class, the seeded stratified split, the vocabulary from the training split only, word rows),
and the task's outputs, evaluation and table of top kept words."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodlib.data.fortune_collections import (
    encode_words,
    labelled_quotations,
    prepare_fortune_collections,
    stratified_split,
    word_vocabulary,
    words_of,
)
from methodlib.data.prepared import load_prepared
from methodlib.data.text import load_tokenizer
from methodlib.methods.base import PAD, UNK
from methodlib.report.word_tables import word_table
from methodlib.routines import get_routine
from methodlib.routines.text_classification_eval import top_words
from methodlib.spec import FortuneCollectionsDatasetSpec
from methodlib.tasks import get_task
from tests.methods.text.text_helpers import MINILM
from tests.tasks.task_helpers import record

TASK = get_task("text_classification")
ROUTINE = get_routine("text_classification")


def fortune_folder(tmp_path, sizes: dict[str, int]):
    """Fortune files of `sizes[name]` distinct quotations each, with attributions."""
    for name, n in sizes.items():
        entries = [f"{name} quotation number {i} here\n\t\t-- Someone" for i in range(n)]
        (tmp_path / name).write_text("\n%\n".join(entries) + "\n", encoding="latin-1")
    return tmp_path


def test_quotations_are_labelled_by_collection_and_capped_per_class(tmp_path):
    folder = fortune_folder(tmp_path, {"art": 30, "law": 12, "food": 50})
    texts, labels = labelled_quotations(folder, ["law", "art", "food"], 3, 20, seed=0)
    assert np.bincount(labels).tolist() == [12, 20, 20]
    assert all(t.startswith("law") for t, y in zip(texts, labels, strict=True) if y == 0)
    assert not any("Someone" in t for t in texts)  # attributions dropped
    again, _ = labelled_quotations(folder, ["law", "art", "food"], 3, 20, seed=0)
    other, _ = labelled_quotations(folder, ["law", "art", "food"], 3, 20, seed=1)
    assert again == texts and other != texts


def test_split_is_seeded_disjoint_and_stratified():
    labels = np.repeat(np.arange(4), [100, 100, 60, 40])
    parts = stratified_split(labels, val=0.1, test=0.2, seed=3)
    joined = np.concatenate(list(parts.values()))
    assert sorted(joined.tolist()) == list(range(300))
    assert len(parts["test"]) == 60 and len(parts["val"]) == 30
    for split, share in (("test", 0.2), ("val", 0.1)):  # each class in its share, ±1
        counts = np.bincount(labels[parts[split]], minlength=4)
        assert np.all(np.abs(counts - share * np.bincount(labels)) <= 1)
    same = stratified_split(labels, val=0.1, test=0.2, seed=3)
    assert all(np.array_equal(parts[k], same[k]) for k in parts)


def test_words_vocabulary_and_rows():
    tokenizer = load_tokenizer(MINILM)
    assert words_of("Don't PANIC, café!", tokenizer) == ["don", "'", "t", "panic", ",", "cafe", "!"]
    vocab = word_vocabulary([["b", "a", "b"], ["c", "a", "b"]], size=2)
    assert vocab == ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "b", "a"]
    rows = encode_words([["a", "c"], ["b", "b", "a", "a"]], vocab, max_len=3)
    assert rows.tolist() == [[5, UNK, PAD], [4, 4, 5]]


def test_prepared_dataset_keeps_validation_and_test_words_out_of_the_vocabulary(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    for name in ("art", "law"):
        lines = [f"{name} words shared {name}{i} only" for i in range(20)]
        (folder / name).write_text("\n%\n".join(lines), encoding="latin-1")
    spec = FortuneCollectionsDatasetSpec(
        source="fortune_collections",
        path=str(folder),
        collections=["art", "law"],
        per_class=None,
        vocab_size=100,
        max_len=8,
        tokenizer=MINILM,
        split={"val": 0.2, "test": 0.2, "seed": 0},
    )
    meta = prepare_fortune_collections("fc", spec, tmp_path / "prepared")
    data = load_prepared(tmp_path / "prepared")
    assert meta["class_counts"]["train"] == [12, 12] and meta["classes"] == ["art", "law"]
    train_words = {w for t in data.texts["train"] for w in t.split()}
    assert set(meta["vocab"][4:]) == train_words
    assert (data.test.x == UNK).sum(1).tolist() == [1] * len(data.test)  # the unseen `name{i}`
    assert data.test.y.tolist() == [0] * 4 + [1] * 4


def test_top_words_per_class_leave_out_dropped_words():
    scores = np.array([[0, 0], [2.0, -2.0], [-1.0, 1.0], [0.5, -0.5], [0, 0]])
    words = np.array(["[PAD]", "good", "bad", "fine", "dropped"])
    table = top_words(scores, words, np.array(["pos", "neg"]), k=2)
    assert table == {"pos": [["good", 2.0], ["fine", 0.5]], "neg": [["bad", 1.0]]}


def test_evaluation_and_word_table(tmp_path):
    probs = np.array([[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]])
    np.savez(
        tmp_path / "predictions.npz",
        probs=probs,
        labels=np.array([0, 1, 1]),
        word_scores=np.array([[0, 0], [0, 0], [0, 0], [0, 0], [1.0, -1.0]]),
        words=np.array(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "code"]),
        classes=np.array(["computers", "law"]),
    )
    stats = {"params": 10, "compression": 50.0, "kept_vocabulary": 1}
    result = ROUTINE.evaluate(
        tmp_path, record("text_classification", model_stats=stats), None, None
    )
    assert result["metrics"]["test_accuracy"] == pytest.approx(2 / 3)
    assert result["metrics"]["compression"] == 50.0 and result["metrics"]["vocabulary_size"] == 1
    assert result["top_words"] == {"computers": [["code", 1.0]], "law": []}
    word_table("exp", tmp_path / "predictions.npz", tmp_path / "words.md")
    text = (tmp_path / "words.md").read_text()
    assert "| computers | code (1.00) |" in text and "| law | *(none)* |" in text


def test_task_declarations():
    assert TASK.text_data and TASK.report_targets("e", None) == ["words/e.md"]
    assert TASK.dataset_problem(FortuneCollectionsDatasetSpec(source="fortune_collections")) is None
    assert torch.tensor(PAD) == 0
