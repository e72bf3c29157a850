"""The text classification task's evaluation (numpy): the classification metrics of a run's
test probabilities, its compression metrics (from run.json) and each class's top kept words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from methodlib.errors import RunError
from methodlib.io import read_npz
from methodlib.routines.base import run_result
from methodlib.routines.classification_eval import prediction_metrics

TOP_WORDS = 10


def top_words(
    scores: np.ndarray, words: np.ndarray, classes: np.ndarray, k: int = TOP_WORDS
) -> dict[str, list[list[Any]]]:
    """Per class, the k kept words with the largest score for it ([word, score] pairs, best
    first); words that score 0 (dropped words, specials) are left out."""
    table = {}
    for c, name in enumerate(classes.tolist()):
        order = np.argsort(-scores[:, c], kind="stable")
        best = [i for i in order[:k] if scores[i, c] > 0]
        table[name] = [[str(words[i]), round(float(scores[i, c]), 4)] for i in best]
    return table


def read_outputs(path: Path) -> dict[str, np.ndarray]:
    with read_npz(path) as outputs:
        return {key: outputs[key] for key in outputs.files}


def evaluate_text_classification(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    outputs = read_outputs(run_dir / "predictions.npz")
    try:
        probs, labels = outputs["probs"], outputs["labels"]
        scores, words, classes = outputs["word_scores"], outputs["words"], outputs["classes"]
    except KeyError as exc:
        raise RunError(f"{run_dir}: predictions.npz lacks {exc}; rerun that training job") from None
    metrics = {
        **prediction_metrics(probs, labels),
        **record["model_stats"],
        "vocabulary_size": len(words) - 4,
        "train_seconds": record["train_seconds"],
    }
    return run_result(
        record, metrics, samples=int(probs.shape[0]), top_words=top_words(scores, words, classes)
    )
