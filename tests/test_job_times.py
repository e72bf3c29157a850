"""The time estimate of planned jobs from earlier benchmark files: which file times which job,
the fallbacks (same experiment, the rule's median, nothing) and what the console line says."""

from __future__ import annotations

import pytest

from methodlib.job_times import PlannedJob, duration, estimate, read_benchmark

TRAIN = "results/benchmarks/train_run/{experiment}/{hash}/seed{seed}.tsv"
PLOT = "results/benchmarks/reports/plot_curves/{experiment}.tsv"
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(path, *seconds, cpu="1.5", rss="400.0"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{s}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n" for s in seconds)
    path.write_text(HEADER + rows)


def train_job(experiment, hash, seed):
    wildcards = {"experiment": experiment, "hash": hash, "seed": str(seed)}
    return PlannedJob("train_run", TRAIN.format(**wildcards), TRAIN, wildcards)


@pytest.fixture
def timed(tmp_path, monkeypatch):
    """Earlier runs: experiment a (config h1, seeds 0 and 1; an older config h0), b (seed 0)."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "results" / "benchmarks" / "train_run"
    write(root / "a" / "h1" / "seed0.tsv", 10)
    write(root / "a" / "h1" / "seed1.tsv", 20)
    write(root / "a" / "h0" / "seed0.tsv", 60)
    write(root / "b" / "h2" / "seed0.tsv", 100)
    return tmp_path


def test_a_job_with_its_own_earlier_file_takes_that_time(timed):
    result = estimate([train_job("a", "h1", 1)])
    assert result.seconds == 20 and result.jobs["own"] == 1


def test_a_new_seed_takes_the_mean_of_its_experiments_files_across_configs(timed):
    result = estimate([train_job("a", "h1", 7)])
    assert result.seconds == pytest.approx((10 + 20 + 60) / 3)
    assert result.jobs["similar"] == 1


def test_a_new_experiment_takes_the_rules_median_and_an_untimed_rule_counts_zero(timed):
    plot = PlannedJob("plot_curves", PLOT.format(experiment="c"), PLOT, {"experiment": "c"})
    target = PlannedJob("all", None, None)
    result = estimate([train_job("c", "h9", 0), plot, target])
    assert result.seconds == 40  # median of 10, 20, 60, 100
    assert result.jobs == {"own": 0, "similar": 0, "rule": 1, "unknown": 1}


def test_the_console_line_says_where_the_time_comes_from(timed):
    jobs = [train_job("a", "h1", 0), train_job("a", "h1", 5), train_job("z", "h", 0)]
    line = estimate(jobs).line(2)
    assert line.startswith("Time estimate: about 40 s with 2 core(s), 1 min of job time for 3 jobs")
    assert "1 timed by an earlier run" in line and "1 by other seeds" in line
    assert "1 by their rule's median" in line
    assert "core" not in estimate(jobs).line(None), "a cluster: the job time only"
    nothing = PlannedJob("plot_curves", PLOT.format(experiment="c"), PLOT, {"experiment": "c"})
    assert estimate([nothing]).line(2).startswith("Time estimate: none (1 jobs")


def test_benchmark_files_average_repeats_and_read_na_as_zero(tmp_path):
    path = tmp_path / "x.tsv"
    write(path, 4, 6, cpu="NA", rss="12.5")
    timing = read_benchmark(path)
    assert (timing.seconds, timing.cpu_seconds, timing.max_rss_mb) == (5, 0, 12.5)
    (tmp_path / "empty.tsv").write_text("")
    assert read_benchmark(tmp_path / "empty.tsv") is None
    assert read_benchmark(tmp_path / "missing.tsv") is None


def test_a_truncated_file_is_skipped_not_fatal(timed):
    (timed / "results/benchmarks/train_run/a/h1/seed0.tsv").write_text("")
    result = estimate([train_job("a", "h1", 0)])
    assert result.jobs["similar"] == 1 and result.seconds == pytest.approx(40)


@pytest.mark.parametrize(
    ("seconds", "text"), [(42.4, "42 s"), (61, "1 min"), (1020, "17 min"), (7500, "2 h 05 min")]
)
def test_durations_read_at_a_glance(seconds, text):
    assert duration(seconds) == text
