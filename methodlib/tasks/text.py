"""Text: generated texts scored against the test texts (MAUVE on MiniLM features, the judge
LM's perplexity, diversity, memorisation of the training texts, lengths)."""

from __future__ import annotations

from typing import Any

from methodlib.tasks.base import Task

TEXT_METRICS = (
    "mauve",
    "judge_ppl",
    "distinct_2",
    "self_bleu",
    "memorization",
    "mean_length",
    "std_length",
    "empty_fraction",
)
"""Metrics of one generated set; a method's extra sets add them with a suffix
(`mauve_steps_5`)."""


class Text(Task):
    name = "text"
    metrics = (*TEXT_METRICS, *(f"{m}_*" for m in TEXT_METRICS), "judge_ppl_reference")
    log_columns = ("val_loss",)
    text_data = True

    def needs_judge(self, dataset: Any) -> bool:
        return True

    def evaluation_reads_data(self) -> bool:
        return True

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"samples/{experiment}.md"]
