"""The metric registry: every metric a task or method declares, and every column a figure or
table of a pipeline in the repository names, has a display name, unit, direction and format."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from methodlib.methods import METHOD_CONFIGS
from methodlib.report.index import RATIOS, TABLE_METRICS
from methodlib.report.metric_registry import (
    METRICS,
    UnknownMetricError,
    axis_label,
    format_value,
    metric_info,
)
from methodlib.spec import TABLE_KEYS, load_pipeline
from methodlib.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = [ROOT / "pipeline.yaml", *sorted((ROOT / "configs").glob("*.yaml"))]


def declared() -> set[str]:
    """Every metric pattern and train_log.csv column of every task with every method."""
    names: set[str] = set()
    for config in METHOD_CONFIGS.values():
        task = TASKS[config.task]
        names.update(task.all_metrics(config), task.all_log_columns(config))
    for task in TASKS.values():
        names.update(task.metrics, task.log_columns)
    return names


@pytest.mark.parametrize("name", sorted(declared()))
def test_every_declared_metric_is_registered(name):
    info = metric_info(name)
    assert info.display and info.better in ("lower", "higher", None)
    format(0.5, info.fmt)  # a valid format spec


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_every_figure_column_and_claim_metric_of_every_pipeline_is_registered(path):
    pipeline = load_pipeline(path)
    for name, figure in pipeline.reports.items():
        for column in (figure.x, figure.y, figure.hue, figure.col, *figure.filters):
            if column is None or column in TABLE_KEYS or "." in column:
                continue
            assert axis_label(column), f"{path.name}: reports.{name} names {column!r}"
    for claim in pipeline.claims.values():  # the claims page writes them with the registry
        for metric in claim.metrics:
            metric_info(metric)


def test_every_table_metric_is_registered():
    for name in (*TABLE_METRICS, *RATIOS):
        metric_info(name)


def test_every_metric_of_the_published_table_is_registered():
    path = ROOT / "reports" / "metrics.csv"
    if not path.exists():
        pytest.skip("no published reports/metrics.csv")
    for name in pd.read_csv(path, usecols=["metric"])["metric"].unique():
        metric_info(name)


def test_an_unknown_metric_names_the_closest_known_ones():
    with pytest.raises(UnknownMetricError, match="test_nll") as err:
        metric_info("test_nl")
    assert isinstance(err.value, KeyError)
    assert "metric_registry.py" in str(err.value)


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("curve_test_calibrated_nll", "Calibrated NLL (nats) ↓"),
        ("test_calibrated_nll", "Calibrated NLL (nats) ↓"),
        ("ood_auroc", "OOD AUROC ↑"),
        ("mauve_steps_5", "MAUVE (5 steps) ↑"),
        ("mauve_steps_*", "MAUVE ↑"),
        ("accuracy_after_chunk_2", "Validation accuracy after chunk 2 (%) ↑"),
        ("decoder_acc_t_005", "Decoder accuracy at t = 0.05 (%) ↑"),
        ("x0_norm_step_012", "Norm of the predicted clean latent at step 12"),
        ("compression", "Compression (×) ↑"),
        ("samples", "Samples or ensemble members"),
        ("method", "Method"),
        ("method.strategy", "Strategy"),
    ],
)
def test_axis_labels(name, label):
    assert axis_label(name) == label


def test_values_are_written_in_the_metric_format():
    assert format_value("test_error", 0.046) == "4.60%"
    assert format_value("params", 2219008.0) == "2,219,008"
    assert format_value("curve_test_nll", 0.123456) == "0.1235"
    assert format_value("compression", 60.04) == "60.0"


def test_registered_names_are_their_keys():
    assert all(info.name == key for key, info in METRICS.items())
    assert metric_info("curve_test_nll").name == "curve_test_nll"
