"""Text classification: the class of each text (fortunes by collection), from rows of word ids,
with the compression of the classifier (Bayesian compression of RNNs, Chirkova et al. 2018).

A run saves what a classification run saves (`probs` with a samples axis, `labels`) plus, for
the report's table of informative words, `word_scores` (words × classes: what each kept word
alone says for each class, `LSTMMethod.word_scores`), the vocabulary `words` and the class
names `classes`. The log has `val_nll` and `val_accuracy`. Metrics (`text_classification_eval`)
are the classification metrics of the predictions and the method's compression metrics
(all weights / non-zero, kept vocabulary); metrics.json also lists each class's top words.
The hooks: `routines/text_classification.py`."""

from __future__ import annotations

from typing import Any

from methodlib.tasks.classification import PREDICTION_METRICS, Classification


class TextClassification(Classification):
    name = "text_classification"
    routine = "methodlib.routines.text_classification:TextClassificationRoutine"
    metrics = (*PREDICTION_METRICS, "vocabulary_size")
    text_data = True
    uncertainty_figures = False
    index_links = "Top kept words per class"

    def dataset_problem(self, dataset: Any) -> str | None:
        if dataset.source != "fortune_collections":
            return "has no labels; text_classification needs a `fortune_collections` dataset"
        return None

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"words/{experiment}.md"]
