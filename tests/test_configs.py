"""Every pipeline under `configs/` validates, and each of its experiments takes a training step.

The paper configs are not run by the project (they need full datasets and a GPU), so nothing
else would notice one that a change of a method, model or schema has broken. Validation is
checked for every file; the step (`tests/config_steps.py`: the method and model as the config
builds them, on a tiny CPU stand-in for the data of the same kind and shape) runs by default
for one experiment of each (method, model, data kind) across the configs without the
method's epoch-end work, and for every experiment with it under `-m slow`. A failure's id names the config and the experiment.

Each paper-scale config opens with its reference's setup beside its own (`test_paper_config_
opens_with_its_reference_setup`), so a change of either shows where they part."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from methodlib.spec import Pipeline, load_pipeline
from tests.config_steps import config_files, one_step, prepared_stand_in

SLOW = [pytest.mark.slow]
GPU_SIZED = {"transformer_base": "BERT-base sized: a step on one CPU core takes too long"}
"""Models whose step runs only in the slow set."""


PAPER_CONFIGS = sorted(
    p for p in config_files() if p.stem.endswith("_paper") or p.stem.startswith("paper-")
) + [p for p in config_files() if p.name == "pagan_cifar10.yaml"]
"""The configs at a paper's scale (for a GPU machine, not run by the project)."""
TABLE_ITEMS = {"data", "architecture", "optimiser", "schedule", "epochs", "batch"}
STATUSES = {"same", "departs", "not implemented", "not checked"}
"""A row's last cell: where the config stands against the reference."""


def reference_table(text: str) -> list[list[str]]:
    """The rows (item, reference, this config, status) of the table a config opens with: a
    first line `# Reference setup: <source>`, a header row, rows of `|`-separated cells, and a
    bare `#` line that ends it."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# Reference setup: ") or len(lines[0]) < 25:
        raise ValueError("the first line must be '# Reference setup: <paper, reference code>'")
    rows = []
    for line in lines[1:]:
        if line.strip() == "#":
            break
        cells = [c.strip() for c in line.removeprefix("#").split("|")]
        if not line.startswith("#   ") or len(cells) != 4 or not all(cells):
            raise ValueError(f"not a row of four non-empty cells: {line!r}")
        rows.append(cells)
    else:
        raise ValueError("the table must end with a bare '#' line")
    if rows[:1] != [["item", "reference", "this config", "status"]]:
        raise ValueError("the first row must be 'item | reference | this config | status'")
    return rows[1:]


def _pipelines() -> dict[str, Pipeline]:
    pipelines = {}
    for path in config_files():
        try:
            pipelines[path.name] = load_pipeline(path)
        except Exception:  # test_config_validates names the problem
            continue
    return pipelines


PIPELINES = _pipelines()


def _kind(pipeline: Pipeline, experiment: str) -> tuple:
    exp = pipeline.experiments[experiment]
    spec = pipeline.datasets[exp.dataset]
    kind = (spec.source, getattr(spec, "format", None), getattr(spec, "kind", None))
    return exp.method.name, exp.model, kind, getattr(spec, "clutter", None) is not None


def _step_params() -> list:
    """(config, experiment, epoch_end) of each step: the first experiment of each kind without
    its epoch-end work by default, and every experiment with it in the slow set."""
    seen, params = set(), []
    for config, pipeline in PIPELINES.items():
        for experiment in pipeline.experiments:
            key = _kind(pipeline, experiment)
            ident = f"{config}:{experiment}"
            if key not in seen and pipeline.experiments[experiment].model not in GPU_SIZED:
                params.append(pytest.param(config, experiment, False, id=ident))
            seen.add(key)
            params.append(
                pytest.param(config, experiment, True, id=f"{ident}+epoch_end", marks=SLOW)
            )
    return params


@pytest.mark.parametrize("path", config_files(), ids=lambda p: p.name)
def test_config_validates(path: Path):
    pipeline = load_pipeline(path)
    assert pipeline.experiments, f"{path}: no experiments"


@pytest.fixture(scope="module")
def states() -> dict[tuple[str, str], dict[str, torch.Tensor]]:
    """The weights after each experiment's step, for the experiments that start from it."""
    return {}


def _step(
    config: str, experiment: str, epoch_end: bool, root: Path, states: dict
) -> dict[str, torch.Tensor]:
    key = (config, experiment, epoch_end)
    if key not in states:
        pipeline = PIPELINES[config]
        exp = pipeline.experiments[experiment]
        source = exp.init_from and _step(config, exp.init_from, epoch_end, root, states)
        data = prepared_stand_in(pipeline, exp.dataset, root / config)
        states[key] = one_step(pipeline, experiment, data, source, epoch_end)
    return states[key]


@pytest.mark.parametrize(("config", "experiment", "epoch_end"), _step_params())
def test_experiment_takes_a_training_step(config, experiment, epoch_end, states, tmp_path_factory):
    root = tmp_path_factory.getbasetemp() / "config_steps"
    try:
        weights = _step(config, experiment, epoch_end, root, states)
    except Exception as exc:
        pytest.fail(f"configs/{config}: experiment {experiment} cannot take a step: {exc!r}")
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


@pytest.mark.parametrize("path", PAPER_CONFIGS, ids=lambda p: p.name)
def test_paper_config_opens_with_its_reference_setup(path: Path):
    rows = reference_table(path.read_text(encoding="utf-8"))
    missing = TABLE_ITEMS - {row[0] for row in rows}
    assert not missing, f"{path}: the reference table has no row for {sorted(missing)}"
    odd = [row for row in rows if row[3].split(" (")[0] not in STATUSES]
    assert not odd, f"{path}: status must open with one of {sorted(STATUSES)}: {odd}"


def test_a_table_without_its_rows_is_refused():
    good = "# Reference setup: a paper\n#   item | reference | this config | status\n"
    with pytest.raises(ValueError, match="first line"):
        reference_table("# The study at a larger scale\n")
    with pytest.raises(ValueError, match="bare"):
        reference_table(good + "#   data | MNIST | MNIST | same\n")
    with pytest.raises(ValueError, match="four"):  # a table run into the YAML
        reference_table(good + "#   data | MNIST | MNIST | same\nseeds: [0]\n")
    with pytest.raises(ValueError, match="four"):
        reference_table(good + "#   data | MNIST | same\n#\n")
    assert reference_table(good + "#   data | MNIST | MNIST | same\n#\n") == [
        ["data", "MNIST", "MNIST", "same"]
    ]
