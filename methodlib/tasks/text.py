"""Text: generated texts scored against the test texts (MAUVE on MiniLM features, the judge
LM's perplexity, diversity, memorisation of the training texts, lengths).

A run saves `sample_ids` (n, max_len) of compact token ids and `samples`, their texts (n = the
test split's size unless the method's `samples` says), `reference`, the test texts, and
`samples_<key>`/`sample_ids_<key>` for each extra sample set of the method (TEncDM's
fewer-step samplers, `steps_5`, ...; a key of `main_set_keys` holds the main set); texts are stored as fixed-width unicode (no pickles).
The log has `val_loss` (and a column for each loss term the method names). The hooks:
`routines/text.py`, its metrics in `routines/text_eval.py`."""

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
    "grammatical",
    "grammar_nll",
)
"""Metrics of one generated set; a method's extra sets add them with a suffix
(`mauve_steps_5`)."""


class Text(Task):
    name = "text"
    routine = "methodlib.routines.text:TextRoutine"
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

    def evaluation_reads_data(self, dataset: Any) -> bool:
        return True

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"samples/{experiment}.md"]
