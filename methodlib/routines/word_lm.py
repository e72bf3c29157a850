"""The word-level language modelling task's hooks (declaration: `tasks/word_lm.py`): the
validation perplexity per epoch, each test text's summed word NLL and number of words, and the
test perplexity (`word_lm_eval.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.base import Routine

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from methodlib.data import Prepared, Split
    from methodlib.methods.rnn_compression.lm_base import LSTMLMMethod


class WordLMRoutine(Routine):
    task = "word_lm"

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
        from methodlib.routines.word_lm_eval import evaluate_word_lm

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
