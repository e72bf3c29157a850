"""Text: generated texts scored against the test texts (MAUVE on MiniLM features, the judge
LM's perplexity, diversity, memorisation of the training texts, lengths).

A run saves `sample_ids` (n, max_len) of compact token ids and `samples`, their texts (n = the
test split's size unless the method's `samples` says), `reference`, the test texts, and
`samples_<key>`/`sample_ids_<key>` for each extra sample set of the method (TEncDM's
fewer-step samplers, `steps_5`, ...; a key of `main_set_keys` holds the main set); texts are stored as fixed-width unicode (no pickles).
The log has `val_loss` (and a column for each loss term the method names). The metrics are in
`text_eval.py`, imported when a run is evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodlib.tasks.base import Task

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.text.base import TextMethod

TEXT_METRICS = (
    "mauve",
    "judge_ppl",
    "distinct_2",
    "self_bleu",
    "memorization",
    "mean_length",
    "std_length",
    "empty_fraction",
    "grammatical",
    "grammar_nll",
)
"""Metrics of one generated set; a method's extra sets add them with a suffix
(`mauve_steps_5`)."""


class Text(Task):
    name = "text"
    metrics = (
        *TEXT_METRICS,
        *(f"{m}_*" for m in TEXT_METRICS),
        "judge_ppl_reference",
        "grammar_nll_reference",
    )
    log_columns = ("val_loss",)
    text_data = True
    index_links = "Generated texts"

    def needs_judge(self, dataset: Any) -> bool:
        # A grammar corpus is judged exactly by its grammar; a judge LM would only cost time.
        return dataset.source != "grammar"

    def dataset_problem(self, dataset: Any) -> str | None:
        # fortune_collections rows are word ids of its own vocabulary, not the tokenizer's
        # token ids that text methods embed and decode: refused before anything runs
        if dataset.source == "fortune_collections":
            return (
                "is word-level (fortune_collections, for text_classification and word_lm); "
                "text methods need a tokenised corpus: source fortunes, grammar or local_text"
            )
        return None

    def evaluation_reads_data(self) -> bool:
        return True

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"samples/{experiment}.md"]

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
        from methodlib.tasks.text_eval import evaluate_text

        return evaluate_text(run_dir, record, judge, data)
