"""Deep ensembles across runs and metric-against-samples curves: the group evaluation averages
the members' predictive distributions, the pipeline file says which runs are members, and the
tidy table carries both as rows with a `samples` column."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from methodlib.errors import RunError, SpecError
from methodlib.evaluate import evaluate_run
from methodlib.evaluate_group import evaluate_group
from methodlib.io import read_json, write_json, write_npz
from methodlib.metrics.selective import risk_coverage_curve
from methodlib.metrics.uncertainty import reliability_bins
from methodlib.report.tables import COLUMNS, headline, run_rows, tidy_from_runs
from methodlib.routines.classification_ensembles import member_subsets
from methodlib.routines.classification_eval import doubling_sizes, prediction_metrics
from methodlib.spec import validate_pipeline

CLASSES, EXAMPLES = 4, 120


def random_probs(samples: int, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(samples, EXAMPLES, CLASSES)) * 3
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


LABELS = np.random.default_rng(99).integers(0, CLASSES, EXAMPLES)


def write_run(root: Path, seed: int, samples: int = 1, labels: np.ndarray = LABELS) -> Path:
    run = root / "exp" / f"seed{seed}"
    write_npz(run / "predictions.npz", probs=random_probs(samples, seed), labels=labels)
    record = {
        "experiment": "exp",
        "seed": seed,
        "config_hash": "x",
        "task": "classification",
        "model_stats": {"params": 10},
        "train_seconds": 1.0,
    }
    write_json(run / "run.json", record)
    return run


def test_ensemble_sizes_average_over_member_subsets(tmp_path: Path) -> None:
    runs = [write_run(tmp_path, seed, samples=2) for seed in (3, 1, 2)]
    out = tmp_path / "exp" / "group" / "metrics.json"
    result = evaluate_group("exp", [r / "predictions.npz" for r in runs], out, out.parent / "c.csv")
    assert read_json(out) == result
    assert result["seed"] == "all" and result["members"] == [3, 1, 2] and result["samples"] == 3
    members = np.stack([random_probs(2, seed).mean(axis=0) for seed in (3, 1, 2)])
    assert [c["samples"] for c in result["curve"]] == [1, 2, 3]
    for point in result["curve"]:  # 3 members: every subset of each size
        subsets = list(itertools.combinations(range(3), point["samples"]))
        each = [prediction_metrics(members[list(s)], LABELS) for s in subsets]
        expected = {key: np.mean([m[key] for m in each]) for key in each[0]}
        assert point["metrics"] == pytest.approx(expected, rel=1e-12)
        assert point["ensembles"] == len(subsets)
    assert result["metrics"] == result["curve"][-1]["metrics"]
    table = pd.read_csv(out.parent / "c.csv")
    assert list(table["samples"]) == [1, 2, 3]
    assert table["test_nll"].tolist() == pytest.approx(
        [c["metrics"]["test_nll"] for c in result["curve"]]
    )


def test_member_subsets_start_with_the_first_members_and_are_distinct() -> None:
    assert member_subsets(3, 2) == [[0, 1], [0, 2], [1, 2]]
    many = member_subsets(8, 4, limit=10)
    assert many[0] == [0, 1, 2, 3] and len(many) == 10
    assert len({tuple(s) for s in many}) == 10 and all(len(s) == 4 for s in many)
    assert member_subsets(8, 8) == [list(range(8))]
    assert member_subsets(8, 4, limit=10) == many  # deterministic


def test_out_of_domain_outputs_give_ood_auroc(tmp_path: Path) -> None:
    run = write_run(tmp_path, 0, samples=2)
    confident = random_probs(2, 0)
    flat = np.full((2, 30, CLASSES), 1 / CLASSES)
    write_npz(run / "predictions.npz", probs=confident, labels=LABELS, ood_probs=flat)
    result = evaluate_run(run)
    assert result["metrics"]["ood_auroc"] == 1.0  # uniform outputs have the highest entropy
    assert all("ood_auroc" in c["metrics"] for c in result["curve"])
    group = evaluate_group(
        "exp", [run / "predictions.npz"], tmp_path / "m.json", tmp_path / "c.csv"
    )
    assert group["metrics"]["ood_auroc"] == 1.0


def test_reliability_bins_are_the_terms_of_the_ece(tmp_path: Path) -> None:
    result = evaluate_run(write_run(tmp_path, 0, samples=3))
    bins = result["reliability"]
    assert sum(b["count"] for b in bins) == EXAMPLES
    gap = sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / EXAMPLES
    assert gap == pytest.approx(result["metrics"]["test_ece"])
    assert all(b["lower"] < b["confidence"] <= b["upper"] for b in bins)


def test_the_ensemble_keeps_its_reliability_bins_and_risk_coverage_curve(tmp_path: Path) -> None:
    runs = [write_run(tmp_path, seed) for seed in (0, 1)]
    out = tmp_path / "m.json"
    group = evaluate_group("exp", [r / "predictions.npz" for r in runs], out, tmp_path / "c.csv")
    ensemble = np.mean([random_probs(1, seed)[0] for seed in (0, 1)], axis=0)
    assert group["reliability"] == reliability_bins(ensemble, LABELS)
    assert group["risk_coverage"] == risk_coverage_curve(ensemble, LABELS)
    assert group["risk_coverage"][-1]["risk"] == pytest.approx(group["metrics"]["test_error"])


def test_members_must_share_the_test_labels(tmp_path: Path) -> None:
    a = write_run(tmp_path, 0)
    b = write_run(tmp_path, 1, labels=(LABELS + 1) % CLASSES)
    with pytest.raises(RunError, match="labels differ"):
        evaluate_group(
            "exp",
            [a / "predictions.npz", b / "predictions.npz"],
            tmp_path / "m.json",
            tmp_path / "c.csv",
        )


def test_a_run_is_evaluated_at_doubling_sample_counts(tmp_path: Path) -> None:
    assert doubling_sizes(1) == [1]
    assert doubling_sizes(20) == [1, 2, 4, 8, 16, 20]
    result = evaluate_run(write_run(tmp_path, 0, samples=5))
    probs = random_probs(5, 0)
    assert result["samples"] == 5 and result["metrics"]["n_samples"] == 5
    assert [c["samples"] for c in result["curve"]] == [1, 2, 4, 5]
    assert result["curve"][1]["metrics"] == pytest.approx(prediction_metrics(probs[:2], LABELS))
    for name in ("test_calibrated_nll", "test_ece", "test_ece_mass", "test_accuracy"):
        assert result["metrics"][name] == result["curve"][-1]["metrics"][name]


RAW = {
    "seeds": [0, 1, 2],
    "datasets": {"digits": {"source": "digits"}},
    "experiments": {
        "exp": {
            "dataset": "digits",
            "model": "lenet300_100",
            "method": {"name": "dense"},
            "ensemble": {"size": 2},
        },
        "single": {"dataset": "digits", "model": "lenet5", "method": {"name": "mc_dropout"}},
    },
}


def test_the_pipeline_names_the_members() -> None:
    pipeline = validate_pipeline(RAW)
    assert pipeline.ensemble_members("exp") == [0, 1]
    assert pipeline.ensemble_members("single") == []
    everything = {**RAW["experiments"]["exp"], "ensemble": {}}
    raw = {**RAW, "experiments": {"exp": everything}}
    assert validate_pipeline(raw).ensemble_members("exp") == [0, 1, 2]


def test_an_ensemble_larger_than_the_seeds_is_refused() -> None:
    too_big = {**RAW["experiments"]["exp"], "ensemble": {"size": 4}}
    with pytest.raises(SpecError, match=r"experiments\.exp\.ensemble\.size: 4 members"):
        validate_pipeline({**RAW, "experiments": {"exp": too_big}})


def test_tidy_rows_of_runs_groups_and_curves(tmp_path: Path) -> None:
    runs = [write_run(tmp_path, seed, samples=3) for seed in (0, 1)]
    for run in runs:
        evaluate_run(run)
    files = [run / "metrics.json" for run in runs]
    group = tmp_path / "exp" / "group" / "metrics.json"
    evaluate_group("exp", [r / "predictions.npz" for r in runs], group, group.parent / "c.csv")
    tidy = tidy_from_runs(validate_pipeline(RAW), [*files, group])
    assert list(tidy.columns) == COLUMNS
    nll = tidy[tidy["metric"] == "test_calibrated_nll"]
    assert nll[["seed", "samples"]].values.tolist() == [["0", 3], ["1", 3], ["all", 2]]
    curve = tidy[(tidy["metric"] == "curve_test_calibrated_nll")]
    assert curve[["seed", "samples"]].values.tolist() == [
        ["0", 1],
        ["0", 2],
        ["0", 3],
        ["1", 1],
        ["1", 2],
        ["1", 3],
        ["all", 1],
        ["all", 2],
    ]
    assert not headline(tidy)["metric"].str.startswith("curve_").any()


def test_disjoint_ensembles_are_rows_of_their_own_not_runs(tmp_path: Path) -> None:
    """Four members give two disjoint pairs (seeds 0+1 and 2+3): independent ensembles that a
    claim can test over, kept out of every per-run summary."""
    runs = [write_run(tmp_path, seed) for seed in range(4)]
    for run in runs:
        evaluate_run(run)
    group = tmp_path / "exp" / "group" / "metrics.json"
    record = evaluate_group(
        "exp", [r / "predictions.npz" for r in runs], group, group.parent / "c.csv"
    )
    assert [(d["samples"], d["members"]) for d in record["disjoint"]] == [(2, [0, 1]), (2, [2, 3])]
    pair = np.mean([random_probs(1, s)[0] for s in (0, 1)], axis=0)
    assert record["disjoint"][0]["metrics"]["test_nll"] == pytest.approx(
        -np.mean(np.log(pair[np.arange(EXAMPLES), LABELS]))
    )
    raw = {**RAW, "seeds": [0, 1, 2, 3]}
    tidy = tidy_from_runs(validate_pipeline(raw), [*(r / "metrics.json" for r in runs), group])
    nll = tidy[tidy["metric"] == "test_nll"]
    assert sorted(nll["seed"]) == ["0", "0+1", "1", "2", "2+3", "3", "all"]
    assert sorted(run_rows(nll)["seed"]) == ["0", "1", "2", "3"]
