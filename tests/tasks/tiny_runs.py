"""A moment's run of every registered method, as the workflow makes it: the method on the first
architecture it takes, on tiny data of that architecture's kind, trained (`train_run`) and
evaluated (`evaluate_run`). `test_declarations.py` checks these runs against their task's
declarations; `benchmarks/fingerprints.py` hashes their outputs, so a refactoring can show
that every number stayed the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from methodlib.data import prepare_dataset
from methodlib.data.text import FORTUNES_DIR
from methodlib.evaluate import evaluate_run
from methodlib.methods import METHOD_CONFIGS, model_problem
from methodlib.model_catalog import MODEL_NAMES
from methodlib.spec import Pipeline, validate_pipeline
from methodlib.train import train_run

DATASETS = {
    "digits": {"source": "digits", "limit": 200, "id_classes": [0, 1, 2, 3, 4, 5, 6, 7]},
    "simplex3": {"source": "synthetic", "kind": "simplex", "dim": 3, "n": 200, "components": 2},
    "quotes": {"source": "fortunes", "limit": 120, "max_len": 12},
    "collections": {
        "source": "fortune_collections",
        "collections": ["law", "food"],
        "per_class": 60,
        "max_len": 12,
    },
    "ring": {"source": "synthetic", "kind": "ring", "dim": 2, "n": 200, "components": 1},
    "wine": {"source": "sklearn_tabular", "name": "wine", "missing": {"kind": "mcar"}},
}
METHOD_SETTINGS = {"bayes_incremental": {"chunks": 2}}
"""Where a default needs more epochs than a moment's training has."""
FORTUNE_DATASETS = ("quotes", "collections")
"""Read from Debian's fortune files (`apt-get install fortunes`)."""


def experiment(name: str) -> dict[str, Any]:
    """The method on the first architecture it takes, on data of that architecture's kind."""
    model = next(m for m in MODEL_NAMES if model_problem(name, m) is None)
    task = METHOD_CONFIGS[name].task
    if task == "text":
        dataset = "quotes"
    elif task in ("text_classification", "word_lm"):
        dataset = "collections"
    elif task == "imputation":
        dataset = "wine"
    elif model == "mlp_denoiser":
        dataset = "simplex3"
    elif getattr(METHOD_CONFIGS[name], "needs_density", False):  # a closed-form target
        dataset = "ring"
    else:
        dataset = "digits"
    method = {"name": name, **METHOD_SETTINGS.get(name, {})}
    if task in ("generation", "text"):
        method["samples"] = 16
    return {"dataset": dataset, "model": model, "method": method}


def has_data(name: str) -> bool:
    """Whether this machine has the raw data of the method's tiny run."""
    return experiment(name)["dataset"] not in FORTUNE_DATASETS or Path(FORTUNES_DIR).is_dir()


def tiny_pipeline(name: str) -> Pipeline:
    """A pipeline of one experiment `exp`: the method's tiny run, two epochs on the CPU."""
    exp = experiment(name)
    return validate_pipeline(
        {
            "defaults": {"device": "cpu", "training": {"epochs": 2, "batch_size": 64}},
            "datasets": {exp["dataset"]: DATASETS[exp["dataset"]]},
            "experiments": {"exp": exp},
        }
    )


def tiny_run(name: str, prepared: Path, run_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Train and evaluate the method's tiny run in `run_dir` (its data prepared once under
    `prepared`, shared by the runs on it); return its metrics.json."""
    pipeline = tiny_pipeline(name)
    dataset = experiment(name)["dataset"]
    data = prepared / dataset
    if not (data / "meta.json").is_file():
        prepare_dataset(dataset, pipeline.datasets[dataset], data)
    train_run(pipeline, "exp", seed, run_dir, data_dir=data, progress=False)
    return evaluate_run(run_dir, data=data)
