"""How long `snakemake` takes when everything is up to date. A temporary copy of the workflow is
run for real once, then rerun; the rerun must report that there is nothing to do.

    python benchmarks/noop_rerun.py [--repeats 5]

Runs `configs/tiny.yaml` unless `--pipeline` names another file (`--pipeline pipeline.yaml`
times the default experiments, after a first full run that can take hours).
"""

from __future__ import annotations

import argparse

from _common import (
    ROOT,
    median,
    nothing_to_do,
    snakemake,
    startup_seconds,
    target,
    workflow_copy,
    write_result,
)

TARGET_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pipeline", default="configs/tiny.yaml", help="pipeline file to run")
    args = parser.parse_args()

    command = ["--cores", "2", "--configfile", args.pipeline]
    with workflow_copy() as copy:
        first = snakemake(copy, *command).wall
        reruns = [snakemake(copy, *command) for _ in range(args.repeats)]
        startup = startup_seconds(copy)
    idle = all(nothing_to_do(rerun.output) for rerun in reruns)
    if not idle:
        raise SystemExit(f"a rerun had work to do; its output:\n{reruns[-1].output[-4000:]}")

    figure = median([rerun.wall for rerun in reruns])
    write_result(
        "noop_rerun",
        f"noop_rerun: up-to-date `snakemake --cores 2` on {args.pipeline}: {figure:.2f} s median "
        f"(target < {TARGET_SECONDS:g} s; first full run {first:.1f} s)",
        what=(
            "wall time of `python -m snakemake " + " ".join(command) + "` in a workflow copy "
            "whose outputs are all present and up to date"
        ),
        pipeline=args.pipeline,
        pipeline_yaml_exists=(ROOT / "pipeline.yaml").is_file(),
        first_run_seconds=first,
        rerun_seconds=[rerun.wall for rerun in reruns],
        rerun_cpu_seconds=[rerun.cpu for rerun in reruns],
        reruns_did_nothing=idle,
        rerun_output=reruns[-1].output.strip().splitlines()[-3:],
        rerun=target(figure, "<", TARGET_SECONDS),
        startup_seconds=startup,
    )


if __name__ == "__main__":
    main()
