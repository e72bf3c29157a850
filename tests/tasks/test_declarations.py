"""Every registered method, trained for a moment and evaluated as the workflow would: every
metric of its metrics.json and every column of its train_log.csv is one its task and its config
declare (`Task.all_metrics`, `Task.all_log_columns`), so the declarations that pipeline files'
figures are validated against cannot drift from what runs produce."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from methodlib.data import prepare_dataset
from methodlib.data.text import FORTUNES_DIR
from methodlib.evaluate import evaluate_run
from methodlib.methods import METHOD_CONFIGS, model_problem
from methodlib.model_catalog import MODEL_NAMES
from methodlib.spec import validate_pipeline
from methodlib.tasks import get_task
from methodlib.tasks.base import matches
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


def experiment(name: str) -> dict:
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


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prepared")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(METHOD_CONFIGS))
def test_run_produces_only_declared_metrics_and_columns(name, prepared, tmp_path):
    exp = experiment(name)
    if exp["dataset"] in ("quotes", "collections") and not Path(FORTUNES_DIR).is_dir():
        pytest.skip("apt-get install fortunes")
    pipeline = validate_pipeline(
        {
            "defaults": {"device": "cpu", "training": {"epochs": 2, "batch_size": 64}},
            "datasets": {exp["dataset"]: DATASETS[exp["dataset"]]},
            "experiments": {"exp": exp},
        }
    )
    data = prepared / exp["dataset"]
    if not (data / "meta.json").is_file():
        prepare_dataset(exp["dataset"], pipeline.datasets[exp["dataset"]], data)
    train_run(pipeline, "exp", 0, tmp_path, data_dir=data, progress=False)
    metrics = evaluate_run(tmp_path, data=data)["metrics"]

    config = METHOD_CONFIGS[name]
    task = get_task(config.task)
    declared = task.all_metrics(config)
    assert [m for m in metrics if not matches(m, declared)] == [], "declare them in the config"
    with (tmp_path / "train_log.csv").open() as f:
        columns = next(csv.reader(f))
    declared = task.all_log_columns(config)
    assert [c for c in columns if not matches(c, declared)] == [], "declare them in the config"
