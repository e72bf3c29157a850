"""What a job costs when it goes through SLURM (`profiles/slurm`) instead of the local executor.

A temporary copy of the workflow trains and evaluates every run of `configs/tiny.yaml` (its data
prepared beforehand), one job at a time, twice: `snakemake --cores 1` locally, then
`snakemake --workflow-profile profiles/slurm --jobs 1` on a real single-node SLURM started from
Debian's packages (tests/cluster/minislurm.py: needs root; apt-get installs SLURM if missing).
With one job at a time, (SLURM wall time - local wall time) / jobs is the overhead per job. It is
split, from squeue's times and the rules' benchmark files, into: queue wait (submit to start),
work inside the SLURM job around the rule's command (the job's Snakemake and the job step's
Snakemake under srun), and the rest, mostly the wait for the next status check.

The cluster has no slurmdbd, so job states come from squeue, first checked 1 s after submission;
the plugin adds 10 s to the wait after every check that finds nothing finished.

    python benchmarks/slurm_overhead.py
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

from _common import ROOT, median, snakemake, workflow_copy, write_result

sys.path.insert(0, str(ROOT / "tests" / "cluster"))
import minislurm  # noqa: E402  (the test cluster, shared with tests/cluster)

PIPELINE = "configs/tiny.yaml"


def layout(copy: Path):
    from methodlib.paths import Layout
    from methodlib.spec import load_pipeline

    return Layout(load_pipeline(copy / PIPELINE), PIPELINE)


def run_targets(copy: Path) -> list[str]:
    paths = layout(copy)
    runs = paths.pipeline.runs()
    return [f"{paths.run_dir(experiment, seed)}/metrics.json" for experiment, seed in runs]


def rule_seconds(copy: Path) -> dict[str, float]:
    """The rules' own command times, from their benchmark files
    (`results/benchmarks/<rule>/<experiment>/<hash>/seed<seed>.tsv`), keyed as SLURM job
    comments name them: `<rule>_<experiment>_<hash>_<seed>` (the wildcards in the path's order)."""
    from methodlib.paths import BENCHMARKS

    seconds = {}
    for tsv in (copy / BENCHMARKS).glob("*/*/*/seed*.tsv"):
        rule, experiment, config_hash = tsv.parts[-4:-1]
        key = f"{rule}_{experiment}_{config_hash}_{tsv.stem.removeprefix('seed')}"
        with tsv.open() as f:
            seconds[key] = float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return seconds


def slurm_jobs(cluster: minislurm.Cluster) -> list[dict]:
    def seconds(job: dict, since: str, until: str) -> float:
        return (
            datetime.fromisoformat(job[until]) - datetime.fromisoformat(job[since])
        ).total_seconds()

    return [
        {
            "job": job_id,
            "rule": job["comment"].removeprefix("rule_").replace("_wildcards", ""),
            "queue_wait": seconds(job, "submit", "start"),
            "elapsed": seconds(job, "start", "end"),
        }
        for job_id, job in cluster.jobs().items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    try:
        cluster = minislurm.start()
    except minislurm.Unavailable as exc:
        sys.exit(f"slurm_overhead: no test SLURM cluster on this machine: {exc}")
    try:
        with workflow_copy() as copy:
            targets = run_targets(copy)
            data = layout(copy).prepared("digits")
            snakemake(copy, data, "--cores", "1", "--configfile", PIPELINE)
            local = snakemake(copy, *targets, "--cores", "1", "--configfile", PIPELINE)
            shutil.rmtree(copy / "results")
            shutil.rmtree(copy / ".snakemake")
            os.environ.update(cluster.env())  # sbatch and squeue reach the test cluster
            on_slurm = snakemake(
                copy,
                *targets,
                "--workflow-profile",
                "profiles/slurm",
                "--jobs",
                "1",
                *minislurm.SNAKEMAKE_OPTIONS,
                "--configfile",
                PIPELINE,
            )
            commands = rule_seconds(copy)
            jobs = slurm_jobs(cluster)
    finally:
        cluster.stop()

    for job in jobs:
        job["command"] = commands[job["rule"]]
        job["inside_job"] = job["elapsed"] - job["command"]
    n = len(targets) * 2  # train_run and evaluate_run per run
    assert len(jobs) == n, f"expected {n} SLURM jobs, saw {len(jobs)}"
    per_job = (on_slurm.wall - local.wall) / n
    queue = median([j["queue_wait"] for j in jobs])
    inside = median([j["inside_job"] for j in jobs])
    write_result(
        "slurm_overhead",
        f"slurm_overhead: {per_job:.1f} s more per job through SLURM than locally "
        f"({n} jobs one at a time: {on_slurm.wall:.0f} s vs {local.wall:.0f} s); median queue wait "
        f"{queue:.0f} s, {inside:.0f} s in the job around the command, the rest status polling",
        what=(
            "train_run + evaluate_run of every run of configs/tiny.yaml, one job at a time: "
            "`snakemake --cores 1` against `snakemake --workflow-profile profiles/slurm --jobs 1` "
            "on a single-node SLURM in this machine"
        ),
        pipeline=PIPELINE,
        jobs=n,
        local_seconds=local.wall,
        local_cpu_seconds=local.cpu,
        slurm_seconds=on_slurm.wall,
        overhead_per_job_seconds=per_job,
        median_queue_wait_seconds=queue,
        median_inside_job_seconds=inside,
        median_status_wait_seconds=per_job - queue - inside,
        slurm_options=list(minislurm.SNAKEMAKE_OPTIONS),
        slurm_version=minislurm.version(),
        plugin_version=metadata.version("snakemake-executor-plugin-slurm"),
        slurm_jobs=jobs,
        slurm_output_tail=on_slurm.output.strip().splitlines()[-3:],
    )


if __name__ == "__main__":
    main()
