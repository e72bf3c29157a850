"""Imputation: the test split with some entries hidden by the dataset's `missing` mask (the same
for every method on the dataset, `methodlib/methods/imputation/masks.py`), and methods that see
the observed entries and sample the hidden ones.

Training sees complete, standardised data (training statistics, as the reference code does);
the methods draw their own training masks. A run saves, in the data's units, `truth` (the test
split), `missing` (True = hidden) and `imputations` (K, N, *shape): K samples per example with
the observed entries kept (K = 1 for a deterministic method). The methods get the hidden
entries as NaN, so none can read them. The log has `val_loss` (the neural methods' objective
on the validation split). The hooks: `routines/imputation.py`, its metrics in
`routines/imputation_eval.py`."""

from __future__ import annotations

from typing import Any

from methodlib.tasks.base import Task


class Imputation(Task):
    name = "imputation"
    routine = "methodlib.routines.imputation:ImputationRoutine"
    metrics = (
        "nrmse",
        "psnr_best",
        "judge_classes",
        "judge_classes_ambiguous",
        "ambiguous_share",
        "flops",
    )
    log_columns = ("val_loss",)
    index_links = None

    def needs_judge(self, dataset: Any) -> bool:
        return dataset.source != "sklearn_tabular"  # images: `judge_classes`

    def evaluation_reads_data(self, dataset: Any) -> bool:
        return self.needs_judge(dataset)  # the training split: `judge_classes_ambiguous`

    def dataset_problem(self, dataset: Any) -> str | None:
        if getattr(dataset, "missing", None) is None:
            return (
                "has no test mask; imputation methods need one "
                "(missing: {kind: mcar, rate: 0.5}, or kind half or square for images)"
            )
        return None

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        return [f"inpainting/{experiment}.png"]
