"""Every registered method, trained for a moment and evaluated as the workflow would: every
metric of its metrics.json and every column of its train_log.csv is one its task and its config
declare (`Task.all_metrics`, `Task.all_log_columns`), so the declarations that pipeline files'
figures are validated against cannot drift from what runs produce."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from methodlib.methods import METHOD_CONFIGS
from methodlib.tasks import get_task
from methodlib.tasks.base import matches
from tests.tasks.tiny_runs import has_data, tiny_run


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
    if not has_data(name):
        pytest.skip("apt-get install fortunes")
    metrics = tiny_run(name, prepared, tmp_path)["metrics"]

    config = METHOD_CONFIGS[name]
    task = get_task(config.task)
    declared = task.all_metrics(config)
    assert [m for m in metrics if not matches(m, declared)] == [], "declare them in the config"
    with (tmp_path / "train_log.csv").open() as f:
        columns = next(csv.reader(f))
    declared = task.all_log_columns(config)
    assert [c for c in columns if not matches(c, declared)] == [], "declare them in the config"
