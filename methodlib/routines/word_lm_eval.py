"""The word-level language modelling task's evaluation (numpy): the per-word perplexity of a
run's test texts and its compression metrics (from run.json)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from methodlib.errors import RunError
from methodlib.routines.base import run_result
from methodlib.routines.text_classification_eval import read_outputs


def perplexity(nll: np.ndarray, words: np.ndarray) -> tuple[float, float]:
    """(perplexity, log perplexity) per word: exp(Σ NLL / Σ words) over all texts, so long
    texts weigh by their words, as a corpus perplexity does."""
    log_ppl = float(np.sum(nll, dtype=np.float64) / max(int(np.sum(words)), 1))
    return math.exp(log_ppl), log_ppl


def evaluate_word_lm(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    outputs = read_outputs(run_dir / "predictions.npz")
    try:
        nll, words, vocabulary = outputs["nll"], outputs["words"], outputs["vocabulary_size"]
    except KeyError as exc:
        raise RunError(f"{run_dir}: predictions.npz lacks {exc}; rerun that training job") from None
    ppl, log_ppl = perplexity(nll, words)
    metrics = {
        "test_perplexity": ppl,
        "test_log_perplexity": log_ppl,
        "test_words": int(np.sum(words)),
        "vocabulary_size": int(vocabulary),
        **record["model_stats"],
        "train_seconds": record["train_seconds"],
    }
    return run_result(record, metrics)
