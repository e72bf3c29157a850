"""Datasets: sources, deterministic preparation and loading of the prepared splits.

`prepare_dataset` is imported on first use (PEP 562): preparing draws the splits with
scikit-learn (and scipy beneath it), about 1.2 s to import on this 2-core machine, which every
training, judging and evaluation job, which only loads prepared splits, would otherwise pay
(issue 32: a job's fixed overhead; `import methodlib.train` 2.9 s → 1.7 s)."""

from typing import Any

from methodlib.data.prepared import Prepared, Split, load_prepared

__all__ = ["Prepared", "Split", "load_prepared", "prepare_dataset"]


def __getattr__(name: str) -> Any:
    if name == "prepare_dataset":
        from methodlib.data.prepare import prepare_dataset

        return prepare_dataset
    raise AttributeError(f"module 'methodlib.data' has no attribute {name!r}")
