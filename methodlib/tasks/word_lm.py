"""Word-level language modelling (the word-level experiment of Bayesian compression of RNNs,
Chirkova et al. 2018) of a `fortune_collections` dataset: the same rows of word ids as
`text_classification` (its tokenisation and training-split vocabulary), the label unread.

Each word of a test text is predicted from the words before it (the first from the start
token); [PAD] positions are not scored and the end of a text is not predicted (a full row may
be a truncated text). A run saves `nll` (each test text's summed word NLL) and `words` (its
number of words); the log has `val_perplexity`. Metrics (`word_lm_eval`): the per-word test
perplexity exp(Σ NLL / Σ words), its log, and the method's compression metrics. The hooks:
`routines/word_lm.py`."""

from __future__ import annotations

from typing import Any

from methodlib.tasks.base import Task


class WordLM(Task):
    name = "word_lm"
    routine = "methodlib.routines.word_lm:WordLMRoutine"
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
