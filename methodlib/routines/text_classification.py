"""The text classification task's hooks (declaration: `tasks/text_classification.py`): the
classification routine's outputs plus each kept word's class scores, the vocabulary and the
class names; its metrics are in `text_classification_eval.py`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.classification import ClassificationRoutine

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.rnn_compression.base import LSTMMethod


class TextClassificationRoutine(ClassificationRoutine):
    task = "text_classification"

    def test_outputs(
        self, method: LSTMMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        import numpy as np

        outputs = super().test_outputs(method, model, data, batch_size, device)
        outputs["word_scores"] = method.word_scores(model).float().cpu().numpy()
        outputs["words"] = np.array(data.meta["vocab"], dtype=str)
        outputs["classes"] = np.array(data.meta["classes"], dtype=str)
        return outputs

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: Any, data: Any
    ) -> dict[str, Any]:
        from methodlib.routines.text_classification_eval import evaluate_text_classification

        return evaluate_text_classification(run_dir, record)
