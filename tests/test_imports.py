"""The schema and the method registry load without torch or the plotting stack, so that
building the DAG or validating a pipeline file is quick; every registered config names an
implementation whose `Config` it is."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from methodlib.methods import METHOD_CONFIGS, load_method, model_problem
from methodlib.model_catalog import MODEL_NAMES

HEAVY = ("torch", "numpy", "scipy", "matplotlib", "pandas", "seaborn")
PREPARE = "methodlib.data.prepare"  # scikit-learn's splits: only `methodlib prepare` needs it


@pytest.mark.parametrize(
    "module", ["methodlib.spec", "methodlib.report.pruning_targets", "methodlib.provenance"]
)
def test_module_imports_no_heavy_library(module):
    imported = _imported(module)
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert not heavy, f"import {module} imports {heavy[:5]}"


@pytest.mark.parametrize(
    "module",
    [
        "methodlib.train",
        "methodlib.judge",
        "methodlib.evaluate",
        "methodlib.routines.generation_eval",
    ],
)
def test_job_entry_points_import_no_preparation(module):
    """A training, judging or evaluation job reads prepared splits and never prepares any:
    scikit-learn (the splits' `train_test_split`, about 1 s to import with scipy beneath it)
    is for `prepare_dataset` and the imputers, not for the other 900-odd jobs of a pipeline."""
    imported = _imported(module)
    unwanted = sorted(m for m in imported if m.split(".")[0] == "sklearn" or m == PREPARE)
    assert not unwanted, f"import {module} imports {unwanted[:5]}"


def _imported(module: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {m.group(1) for m in re.finditer(r"\|\s+(\S+)\s*$", result.stderr, re.M)}


@pytest.mark.parametrize("name", sorted(METHOD_CONFIGS))
def test_every_config_names_its_implementation(name):
    config = METHOD_CONFIGS[name]
    cls = load_method(name)
    assert cls.Config is config
    assert cls.name == name
    assert (cls.task, cls.interface) == (config.task, config.interface)
    assert (cls.batch_norm, cls.needs_batch_norm) == (config.batch_norm, config.needs_batch_norm)
    # A method that declares `reconstructs` must implement it; one that inherits `reconstruct`
    # may still opt out (the Dirichlet VAE: its encoder's outputs are concentrations, not
    # points, so the autoencoder figure's interpolations would mean nothing).
    assert not config.reconstructs or hasattr(cls, "reconstruct")


def test_variational_pruning_flag_matches_the_implementation():
    from methodlib.methods.pruning.variational import VariationalMethod

    for name, config in METHOD_CONFIGS.items():
        assert config.variational_pruning == issubclass(load_method(name), VariationalMethod)


def test_model_catalog_names_the_constructors():
    from methodlib.models import MODELS

    assert tuple(MODELS) == MODEL_NAMES


def test_model_problem_names_the_fix():
    assert model_problem("dense", "lenet5") is None
    assert "cannot use batch norm" in model_problem("sparse_vd", "lenet5_bn")
    assert "needs batch norm" in model_problem("stoch_bn", "lenet5")
    assert "not for generation methods" in model_problem("ddpm", "lenet5")
