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
