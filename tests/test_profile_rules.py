"""benchmarks/profile_rules.py and the per-rule sums it shares with default_pipeline.py: which
benchmark files count (this pipeline file's report rules, current configs) and how they add up."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
OLD, NEW = "0123456789abcdef", "fedcba9876543210"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import _common
    import profile_rules

    return _common, profile_rules


def write(path: Path, seconds: float, cpu: float = 1.0, rss: float = 100.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0\t{rss}\t0\t0\t0\t0\t0\t50\t{cpu}\n")


def test_sums_count_this_pipelines_report_rules_and_current_configs(tmp_path, bench):
    common, profile = bench
    folder = tmp_path / "results" / "benchmarks"
    write(folder / "train_run" / "a" / NEW / "seed0.tsv", 10, cpu=5, rss=300)
    write(folder / "train_run" / "a" / NEW / "seed1.tsv", 20, cpu=6, rss=200)
    write(folder / "train_run" / "a" / OLD / "seed0.tsv", 99)
    write(folder / "reports" / "plot_curves" / "a.tsv", 3)
    write(folder / "reports" / "aggregate_all.tsv", 2)
    write(folder / "reports" / "pipelines" / "configs" / "tiny" / "aggregate_all.tsv", 50)

    everything = common.benchmark_sums(folder, folder / "reports")
    assert everything["train_run"] == {
        "jobs": 3,
        "seconds": 129.0,
        "cpu_seconds": 12.0,
        "max_rss_mb": 300.0,
    }
    assert set(everything) == {"train_run", "plot_curves", "aggregate_all"}
    assert everything["aggregate_all"]["seconds"] == 2.0, "not the tiny pipeline's report rule"

    current = common.benchmark_sums(
        folder, folder / "reports", keep=lambda _, values: profile.is_current(values, {NEW})
    )
    assert current["train_run"]["jobs"] == 2 and current["train_run"]["seconds"] == 30.0
    tiny = folder / "reports" / "pipelines" / "configs" / "tiny"
    assert common.benchmark_sums(folder, tiny)["aggregate_all"]["seconds"] == 50.0


def test_a_studys_time_alone_is_its_runs_and_its_datasets_shared_jobs(tmp_path, bench):
    common, _ = bench
    from methodlib.spec import load_pipeline

    pipeline = load_pipeline(ROOT / "configs" / "tiny.yaml")
    experiment = next(iter(pipeline.experiments))
    study, dataset = (
        pipeline.experiments[experiment].study,
        pipeline.experiments[experiment].dataset,
    )
    folder = tmp_path / "benchmarks"
    write(folder / "train_run" / experiment / NEW / "seed0.tsv", 10, cpu=8)
    write(folder / "evaluate_run" / experiment / NEW / "seed0.tsv", 2, cpu=1)
    write(folder / "prepare_dataset" / dataset / f"{OLD}.tsv", 4)
    write(folder / "prepare_dataset" / "other_dataset" / f"{OLD}.tsv", 100)  # not its dataset
    write(folder / "train_run" / "not_an_experiment" / NEW / "seed0.tsv", 100)

    files = common.benchmark_files(folder, folder / "reports")
    entry = common.study_seconds(pipeline, files, cores=2)[study]
    runs = sum(len(pipeline.seeds_of(e)) for e in pipeline.experiments_in(study))
    assert entry == {
        "jobs": 2,
        "runs_timed": 1,
        "job_seconds": 12.0,
        "cpu_seconds": 9.0,
        "runs": runs,
        "shared_seconds": 4.0,
        "alone_seconds": 8.0,
    }


ESTIMATED = """\
seeds: [0, 1]
datasets:
  digits: {source: digits, limit: 200}
  digits_half: {source: digits, limit: 200, missing: {kind: half}}
studies:
  gen: {}
  cls: {}
  other: {}
experiments:
  timed: {study: gen, dataset: digits, model: conv_denoiser, method: {name: ddpm}}
  new: {study: gen, dataset: digits_half, model: conv_denoiser, method: {name: ddpm}, seeds: [5]}
  mlp: {study: cls, dataset: digits, model: lenet300_100, method: {name: dense}, ensemble: {}}
  never: {study: other, dataset: digits, model: lenet300_100, method: {name: dense}}
"""


def _entry(seeds: int, train: float, evaluate: float, group: float = 0.0) -> dict:
    def rule(n, cpu):
        return {"seeds": n, "seconds": cpu, "mean_seconds": None, "cpu_seconds": cpu}

    return {
        "study": "",
        "train_run": rule(seeds, train),
        "evaluate_run": rule(seeds, evaluate),
        "evaluate_group": rule(1 if group else 0, group),
    }


def test_estimate_prices_the_planned_runs_from_per_seed_costs(bench):
    """Issue 32: `--estimate` did not exist; the pipeline's cost is its run list priced at
    each experiment's measured CPU seconds per seed, nothing run."""
    import yaml

    from methodlib.paths import Layout
    from methodlib.spec import validate_pipeline

    _, profile_rules = bench
    pipeline = validate_pipeline(yaml.safe_load(ESTIMATED))
    profile = {
        "created": "then",
        "per_experiment": {
            "timed": _entry(seeds=2, train=30.0, evaluate=10.0),  # 20 per seed
            "mlp": _entry(seeds=1, train=4.0, evaluate=1.0, group=2.0),  # 5 per seed
            "gone": _entry(seeds=3, train=999.0, evaluate=0.0),  # not in the pipeline
        },
        "per_rule": {
            "train_run": {"jobs": 9, "cpu_seconds": 1e6},
            "train_judge": {"jobs": 2, "cpu_seconds": 100.0},
            "prepare_dataset": {"jobs": 4, "cpu_seconds": 8.0},
            "plot_curves": {"jobs": 3, "cpu_seconds": 6.0},
        },
    }
    estimate = profile_rules.pipeline_estimate(pipeline, Layout(pipeline), profile)
    assert (estimate["runs"], estimate["priced"], estimate["guessed"]) == (7, 4, 1)
    assert estimate["unpriced"] == 2 and estimate["unpriced_experiments"] == ["never"]
    assert estimate["judges"] == 1, "digits_half shares the digits judge"
    assert estimate["cpu_seconds"] == {
        "runs": 2 * 20.0 + 20.0 + 2 * 5.0,  # `new` at its study's median per seed
        "ensembles": 2.0,
        "judges": 50.0,
        "datasets": 2 * 2.0,
        "reports": 6.0,
        "total": 132.0,
    }
    assert estimate["per_study"]["gen"] == {"runs": 3, "cpu_seconds": 60.0}
    text = profile_rules.estimate_text(estimate, cores=2)
    assert "CPU seconds: 132" in text and "at least 66 s" in text and "unpriced" in text
