"""Word-level language modelling (the word-level experiment of Bayesian compression of RNNs,
Chirkova et al. 2018) of a `fortune_collections` dataset: the same rows of word ids as
`text_classification` (its tokenisation and training-split vocabulary), the label unread.

Each word of a test text is predicted from the words before it (the first from the start
token); [PAD] positions are not scored and the end of a text is not predicted (a full row may
be a truncated text). A run saves `nll` (each test text's summed word NLL) and `words` (its
number of words); the log has `val_perplexity`. Metrics (`word_lm_eval`): the per-word test
perplexity exp(Σ NLL / Σ words), its log, and the method's compression metrics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.tasks.base import Task

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from methodlib.data import Prepared, Split
    from methodlib.methods.rnn_compression.lm_base import LSTMLMMethod


class WordLM(Task):
    name = "word_lm"
    metrics = (
        "test_perplexity",
        "test_log_perplexity",
        "test_words",
        "vocabulary_size",
    )
    log_columns = ("val_perplexity",)
    text_data = True

    def dataset_problem(self, dataset: Any) -> str | None:
        if dataset.source != "fortune_collections":
            return "is not word-level; word_lm needs a `fortune_collections` dataset"
        return None

    def validation_columns(
        self, method: LSTMLMMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, float]:
        import math

        from methodlib.methods.base import PAD

        nll = text_nll(method, model, data.val, batch_size, device)
        words = (data.val.x != PAD).sum().item()
        return {"val_perplexity": math.exp(nll.sum().item() / max(words, 1))}

    def test_outputs(
        self, method: LSTMLMMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        from methodlib.methods.base import PAD

        return {
            "nll": text_nll(method, model, data.test, batch_size, device).double().numpy(),
            "words": (data.test.x != PAD).sum(dim=1).numpy(),
            "vocabulary_size": len(data.meta["vocab"]) - 4,
        }

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: Any, data: Any
    ) -> dict[str, Any]:
        from methodlib.tasks.word_lm_eval import evaluate_word_lm

        return evaluate_word_lm(run_dir, record)


def text_nll(
    method: LSTMLMMethod, model: nn.Module, split: Split, batch_size: int, device
) -> torch.Tensor:
    """Each text's summed word NLL (N,) under the method's test-time model, in evaluation
    mode, on the CPU."""
    import torch

    model.eval()
    with torch.no_grad():
        parts = [
            method.token_nll(model, split.x[i : i + batch_size].to(device)).sum(dim=1).cpu()
            for i in range(0, len(split.x), batch_size)
        ]
    model.train()
    return torch.cat(parts)
