"""Helpers the benchmark scripts share: machine description, result files, timed commands and
throw-away copies of the workflow (so a benchmark never touches the project's results/)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from methodlib.job_times import read_benchmark
from methodlib.provenance import cpu_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORKFLOW_FILES = ("Snakefile", "rules", "configs", "profiles", "envs", "pipeline.yaml", "studies")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def machine_info() -> dict[str, Any]:
    import torch

    cpu = cpu_record()
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": cpu["model"] or "unknown",
        "cpu_capability": cpu["capability"],
        "torch": torch.__version__,
        "torch_threads": cpu["threads"],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def write_result(name: str, summary: str, **figures: Any) -> Path:
    """Write `benchmarks/results/<name>.json` (machine info + figures) and print the summary."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        **figures,
        "summary": summary,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{summary}  -> {path.relative_to(ROOT)}")
    return path


def benchmark_files(folder: Path, reports: Path) -> Iterator[tuple[str, tuple[str, ...], Path]]:
    """(rule, wildcard values, path) of each TSV of the `benchmark:` directive: `folder`/<rule>/
    <values...>.tsv for the runs' rules, `reports`/<rule>/<values...>.tsv or `reports`/<rule>.tsv
    (inside `folder`) for the report rules of one pipeline file; the report rules of other
    pipeline files (`folder`/reports/pipelines/...) are left out."""
    all_reports = folder / "reports"
    for path in sorted(folder.rglob("*.tsv")):
        if path.is_relative_to(reports):
            if reports == all_reports and path.is_relative_to(all_reports / "pipelines"):
                continue
            parts = path.relative_to(reports).with_suffix("").parts
        elif path.is_relative_to(all_reports):
            continue
        else:
            parts = path.relative_to(folder).with_suffix("").parts
        yield parts[0], parts[1:], path


def benchmark_sums(
    folder: Path, reports: Path, keep: Callable[[str, tuple[str, ...]], bool] | None = None
) -> dict[str, dict[str, float]]:
    """Per rule: job count, summed wall and CPU seconds, largest max_rss (MB), of the files of
    `benchmark_files` for which `keep(rule, values)` holds (all without `keep`)."""
    sums: dict[str, dict[str, float]] = defaultdict(
        lambda: {"jobs": 0, "seconds": 0.0, "cpu_seconds": 0.0, "max_rss_mb": 0.0}
    )
    for rule, values, path in benchmark_files(folder, reports):
        timing = read_benchmark(path)
        if timing is None or (keep is not None and not keep(rule, values)):
            continue
        entry = sums[rule]
        entry["jobs"] += 1
        entry["seconds"] += timing.seconds
        entry["cpu_seconds"] += timing.cpu_seconds
        entry["max_rss_mb"] = max(entry["max_rss_mb"], timing.max_rss_mb)
    return {rule: {k: round(v, 3) for k, v in entry.items()} for rule, entry in sums.items()}


RUN_RULES = ("train_run", "evaluate_run", "evaluate_group")  # wildcard 0 is the experiment
SHARED_RULES = ("prepare_dataset", "train_judge")  # wildcard 0 is the dataset


def study_seconds(
    pipeline: Any, files: Iterable[tuple[str, tuple[str, ...], Path]], cores: int
) -> dict[str, dict[str, float]]:
    """Per study with timed jobs, from `benchmark_files` entries: its runs and how many were
    trained here (`train_run` files), the job count, wall and CPU seconds of its runs' jobs
    (RUN_RULES), the wall seconds of the shared jobs (SHARED_RULES) of the datasets it uses,
    and alone_seconds = (job + shared seconds) / cores: what its `study_<name>` target takes on
    its own with every core busy. The one definition both default_pipeline.py and
    profile_rules.py report."""
    studies: dict[str, dict[str, float]] = defaultdict(
        lambda: {"jobs": 0, "runs_timed": 0, "job_seconds": 0.0, "cpu_seconds": 0.0}
    )
    shared: dict[str, float] = defaultdict(float)
    for rule, values, path in files:
        timing = read_benchmark(path)
        if timing is None or not values:
            continue
        if rule in SHARED_RULES:
            shared[values[0]] += timing.seconds
        elif rule in RUN_RULES and values[0] in pipeline.experiments:
            entry = studies[pipeline.experiments[values[0]].study]
            entry["jobs"] += 1
            entry["runs_timed"] += rule == "train_run"
            entry["job_seconds"] += timing.seconds
            entry["cpu_seconds"] += timing.cpu_seconds
    table = {}
    for study, entry in studies.items():
        experiments = pipeline.experiments_in(study)
        datasets = {pipeline.experiments[e].dataset for e in experiments}
        entry["runs"] = sum(len(pipeline.seeds_of(e)) for e in experiments)
        entry["shared_seconds"] = sum(shared[d] for d in datasets)
        entry["alone_seconds"] = (entry["job_seconds"] + entry["shared_seconds"]) / cores
        table[study] = {k: round(v, 1) for k, v in entry.items()}
    return dict(sorted(table.items(), key=lambda item: -item[1]["alone_seconds"]))


def median(values: list[float]) -> float:
    return statistics.median(values)


def target(value: float, op: str, bound: float) -> dict[str, Any]:
    """A target as recorded in every result file: what it is and whether it was met."""
    met = value >= bound if op == ">=" else value < bound
    return {"value": value, "target": f"{op} {bound}", "met": met}


class Timed(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the command and everything it waited for
    output: str  # stdout + stderr


def run_timed(args: list[str], cwd: Path, check: bool = True) -> Timed:
    """Run a command and time it. The CPU seconds help read wall times taken on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    output = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(args)}\n{output[-4000:]}")
    return Timed(wall, cpu, output)


@contextlib.contextmanager
def workflow_copy() -> Iterator[Path]:
    """A temporary copy of the workflow files (the methodlib package itself is installed)."""
    with tempfile.TemporaryDirectory(prefix="methodlib-bench-") as tmp:
        copy = Path(tmp)
        for name in WORKFLOW_FILES:
            source = ROOT / name
            if source.is_dir() and any(p.is_file() for p in source.rglob("*")):
                # an empty folder is skipped: an empty profiles/default stops snakemake
                shutil.copytree(source, copy / name)
            elif source.is_file():
                shutil.copy2(source, copy / name)
        yield copy


def snakemake(copy: Path, *args: str, check: bool = True) -> Timed:
    """Time one `snakemake` invocation in a workflow copy."""
    return run_timed([*SNAKEMAKE, *args], cwd=copy, check=check)


def startup_seconds(cwd: Path, repeats: int = 3) -> dict[str, float]:
    """Fixed costs inside every `snakemake` call, for reading its time: the interpreter, the
    snakemake CLI alone, and importing the pipeline validator that rules/common.smk loads."""
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "snakemake --version": [*SNAKEMAKE, "--version"],
        "python -c 'import methodlib.spec'": [sys.executable, "-c", "import methodlib.spec"],
    }
    return {
        name: median([run_timed(command, cwd).wall for _ in range(repeats)])
        for name, command in commands.items()
    }


def nothing_to_do(output: str) -> bool:
    return "Nothing to be done" in output
