"""The table of a text classification run's top kept words per class (first seed), as
Markdown: whether the words a compressed LSTM keeps are informative, which no single number
shows (Chirkova et al. 2018 list SparseVD-Voc's kept IMDB words)."""

from __future__ import annotations

from pathlib import Path

from methodlib.io import atomic_path
from methodlib.routines.text_classification_eval import read_outputs, top_words


def word_table(experiment: str, predictions: str | Path, out: str | Path) -> None:
    outputs = read_outputs(Path(predictions))
    table = top_words(outputs["word_scores"], outputs["words"], outputs["classes"])
    kept = int((outputs["word_scores"] != 0).any(axis=1).sum())
    lines = [
        f"# {experiment}: top kept words per class (first seed)",
        "",
        f"{kept} words kept. A word's score for a class is the class's logit for the word "
        "alone, minus the mean logit over the classes.",
        "",
        "| class | words, best first (score) |",
        "|---|---|",
    ]
    for name, words in table.items():
        cell = ", ".join(f"{_escaped(w)} ({s:.2f})" for w, s in words) or "*(none)*"
        lines.append(f"| {name} | {cell} |")
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _escaped(word: str) -> str:
    return word.replace("|", "\\|")
