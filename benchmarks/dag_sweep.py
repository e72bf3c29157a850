"""How long Snakemake takes to plan a 1,000-experiment sweep (`snakemake -n --quiet`), and how
long `methodlib validate` takes on the same file. Runs in a temporary copy of the workflow with
nothing prepared or trained, so the dry run plans every job. `--quiet` hides the job counts, so
one more, untimed dry run (`--quiet rules`) records them.

    python benchmarks/dag_sweep.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import sys

import yaml
from _common import (
    median,
    run_timed,
    snakemake,
    startup_seconds,
    target,
    workflow_copy,
    write_result,
)

GRID = {
    "training.lr": [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2, 5e-2],
    "training.batch_size": [16, 32, 48, 64, 96, 128, 192, 256, 384, 512],
    "training.epochs": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
}
PIPELINE = {
    "datasets": {"digits": {"source": "digits"}},
    "sweeps": {
        "grid": {
            "base": {"dataset": "digits", "model": "lenet300_100", "method": {"name": "dense"}},
            "grid": GRID,
        }
    },
    "reports": {
        "error_vs_lr": {"kind": "line", "x": "training.lr", "y": "test_error", "logx": True}
    },
}
TARGET_SECONDS = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with workflow_copy() as copy:
        pipeline = copy / "sweep1000.yaml"
        pipeline.write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
        dry, validate = [], []
        for _ in range(args.repeats):
            dry.append(snakemake(copy, "-n", "--quiet", "--configfile", pipeline.name))
            validate.append(
                run_timed([sys.executable, "-m", "methodlib.cli", "validate", pipeline.name], copy)
            )
        planned = snakemake(copy, "-n", "--quiet", "rules", "--configfile", pipeline.name).output
        startup = startup_seconds(copy)

    jobs = _job_counts(planned)
    figure = median([t.wall for t in dry])
    validate_median = median([t.wall for t in validate])
    write_result(
        "dag_sweep",
        f"dag_sweep: snakemake -n on 1,000 experiments ({jobs.get('total', '?')} jobs): "
        f"{figure:.2f} s median (target < {TARGET_SECONDS:g} s); "
        f"methodlib validate {validate_median:.2f} s",
        what=(
            "wall time of `python -m snakemake -n --quiet --configfile sweep1000.yaml` in a fresh "
            "workflow copy (nothing prepared), and of `python -m methodlib.cli validate` on it"
        ),
        pipeline=PIPELINE,
        experiments=math.prod(len(values) for values in GRID.values()),
        validate_output=validate[-1].output.strip().splitlines(),
        jobs=jobs,
        dry_run_seconds=[t.wall for t in dry],
        dry_run_cpu_seconds=[t.cpu for t in dry],
        validate_seconds=[t.wall for t in validate],
        validate_cpu_seconds=[t.cpu for t in validate],
        dry_run=target(figure, "<", TARGET_SECONDS),
        startup_seconds=startup,
        validate_median_seconds=validate_median,
    )


def _job_counts(output: str) -> dict[str, int]:
    """The job-stats table a quiet dry run prints: `rule  count` lines, then `total  N`."""
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "job":
            counts[parts[0]] = int(parts[1])
    return counts


if __name__ == "__main__":
    main()
