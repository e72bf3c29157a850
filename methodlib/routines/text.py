"""The text task's hooks (declaration: `tasks/text.py`): the method's validation metrics per
epoch, the generated sets as rows of ids and as texts, and their metrics against the test texts
(`text_eval.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.routines.base import Routine

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.text.base import TextMethod


class TextRoutine(Routine):
    task = "text"

    def validation_columns(
        self, method: TextMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, float]:
        model.eval()
        return method.validation_metrics(
            model, data.val.x.to(device), data.val.y.to(device), batch_size
        )

    def test_outputs(
        self, method: TextMethod, model: nn.Module, data: Prepared, batch_size: int, device
    ) -> dict[str, np.ndarray]:
        import numpy as np
        import torch

        from methodlib.data.text import decode_ids

        model.eval()
        n = method.config.samples or len(data.test)

        def drawn(draw) -> np.ndarray:
            return torch.cat(
                [draw(min(batch_size, n - i)).cpu() for i in range(0, n, batch_size)]
            ).numpy()

        sets = {"": drawn(lambda k: method.generate(model, k, device))}
        extra = [
            method.extra_samples(model, min(batch_size, n - i), device)
            for i in range(0, n, batch_size)
        ]
        for key in extra[0] if extra else []:
            sets[f"_{key}"] = torch.cat([part[key].cpu() for part in extra]).numpy()
        for key in method.main_set_keys():
            sets[f"_{key}"] = sets[""]
        outputs = {"reference": np.array(data.texts["test"], dtype=str)}
        for suffix, ids in sets.items():
            outputs[f"sample_ids{suffix}"] = ids
            outputs[f"samples{suffix}"] = np.array(decode_ids(ids, method.info.text), dtype=str)
        return outputs

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: str | Path | None, data: Any
    ) -> dict[str, Any]:
        from methodlib.routines.text_eval import evaluate_text

        return evaluate_text(run_dir, record, judge, data)
