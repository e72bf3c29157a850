"""Wall time of the default pipeline as a new user runs it: one `snakemake --cores all` over
`pipeline.yaml` with nothing trained yet, then each study's share of it from the `benchmark:`
files of its jobs (the time `snakemake --cores all study_<name>` would take alone, estimated as
its job seconds over the cores, plus the shared jobs it needs: prepared data and judges).

    python benchmarks/default_pipeline.py                 # pipeline.yaml: under two hours
    python benchmarks/default_pipeline.py --pipeline configs/tiny.yaml   # a quick check
    git clone REPO fresh && cd fresh && python benchmarks/default_pipeline.py --in-place

By default it runs in a temporary copy of the workflow, so the project's results/ and reports/
are never touched. `--in-place` runs in this checkout instead (it must have no results/ yet, a
fresh clone), leaving the reports it regenerated there to commit. The console output of the
snakemake call goes to `logs/default_pipeline.log` of the folder it runs in, as it runs.
`METHODLIB_BENCH_PIPELINE=configs/tiny.yaml` does the same as `--pipeline`. Another pipeline
file than pipeline.yaml writes `default_pipeline_<stem>.json`, so a check never overwrites the
real figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil
from _common import (
    ROOT,
    SNAKEMAKE,
    benchmark_files,
    benchmark_sums,
    study_seconds,
    target,
    workflow_copy,
    write_result,
)

from methodlib.paths import BENCHMARKS, Layout
from methodlib.spec import load_pipeline

DEFAULT = "pipeline.yaml"
LIMIT_SECONDS = 2 * 3600  # the README's promise for the default pipeline on 2 cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipeline", default=os.environ.get("METHODLIB_BENCH_PIPELINE", DEFAULT))
    parser.add_argument(
        "--in-place", action="store_true", help="run in this checkout (a fresh clone)"
    )
    args = parser.parse_args()
    if not (ROOT / args.pipeline).is_file():
        raise SystemExit(f"{args.pipeline} not found in {ROOT}")
    if args.in_place and (ROOT / "results").exists():
        raise SystemExit(
            f"{ROOT / 'results'} exists: --in-place times a pipeline from nothing; run it in a "
            "fresh clone (git clone ... && cd ... && python benchmarks/default_pipeline.py "
            "--in-place)"
        )

    pipeline = load_pipeline(ROOT / args.pipeline)
    studies = [s for s in pipeline.study_names() if pipeline.experiments_in(s)]
    config = [] if args.pipeline == DEFAULT else ["--configfile", args.pipeline]
    folder = contextlib.nullcontext(ROOT) if args.in_place else workflow_copy()
    with folder as where:
        wall, cpu, snakemake_cpu, output = _run_logged(
            [*SNAKEMAKE, "all", "--cores", "all", *config], where, where / "logs"
        )
        cores = len(os.sched_getaffinity(0))
        reports = Layout(pipeline, args.pipeline).reports  # args.pipeline: relative to ROOT
        per_rule = benchmark_sums(where / BENCHMARKS, where / BENCHMARKS / reports)
        files = benchmark_files(where / BENCHMARKS, where / BENCHMARKS / reports)
        per_study = study_seconds(pipeline, files, cores)
    name = (
        "default_pipeline"
        if args.pipeline == DEFAULT
        else f"default_pipeline_{Path(args.pipeline).stem}"
    )
    jobs = _jobs_done(output)
    write_result(
        name,
        f"{name}: {args.pipeline}, {len(pipeline.runs())} runs in {len(studies)} studies, "
        f"{jobs} jobs: {wall:.0f} s ({wall / 60:.1f} min) with --cores all on {cores} cores",
        what=(
            "wall time of one `python -m snakemake --cores all [--configfile FILE] all` with "
            "nothing trained yet; per_study: each study's jobs (training, evaluation, ensembles) "
            "summed from their benchmark files, and alone_seconds = (its job seconds + the "
            "prepared data and judges it needs) / cores, what its study_<name> target takes alone"
        ),
        pipeline=args.pipeline,
        in_place=args.in_place,
        studies=studies,
        runs=len(pipeline.runs()),
        jobs=jobs,
        seconds=round(wall, 1),
        cpu_seconds=round(cpu, 1),
        snakemake_process_cpu_seconds=round(snakemake_cpu, 1),
        cores=cores,
        per_study=per_study,
        per_rule=per_rule,
        target=target(round(wall, 1), "<", LIMIT_SECONDS) if args.pipeline == DEFAULT else None,
    )
    if args.pipeline == DEFAULT and wall >= LIMIT_SECONDS:
        sys.exit(f"over the limit: {wall:.0f} s >= {LIMIT_SECONDS} s")


def _run_logged(command: list[str], cwd: Path, logs: Path) -> tuple[float, float, float, str]:
    """Run `command` in `cwd` with its output streamed to logs/default_pipeline.log; return
    wall seconds, CPU seconds of it and its children, CPU seconds of the Snakemake process
    alone (sampled every 2 s until it ends: its scheduling cost), and the output. Stops on
    failure."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "default_pipeline.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    own_cpu = 0.0
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            with contextlib.suppress(psutil.Error):  # it may end between poll and read
                times = watched.cpu_times()
                own_cpu = times.user + times.system
            time.sleep(2)
        code = process.returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    output = log.read_text()
    if code != 0:
        sys.exit(f"snakemake failed ({code}) after {wall:.0f} s: see {log}\n{output[-3000:]}")
    return wall, cpu, own_cpu, output


def _jobs_done(output: str) -> int:
    """Jobs a run finished: its last `N of M steps (100%) done` line (0 when nothing ran)."""
    done = re.findall(r"(\d+) of \d+ steps \(100%\) done", output)
    return int(done[-1]) if done else 0


if __name__ == "__main__":
    main()
