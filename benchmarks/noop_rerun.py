"""How long `snakemake` takes when everything is up to date. A temporary copy of the workflow is
run once, then rerun; the rerun must report that there is nothing to do.

    python benchmarks/noop_rerun.py [--repeats 5] [--pipeline FILE] [--real]

Times the default `pipeline.yaml` (about 360 jobs). A real first run of it takes hours, so by
default the first run is a skeleton: the same DAG, rules, params and Snakemake metadata, but
each job's `methodlib` call is replaced (through `shell.prefix`, in the copy only) by a shell
function that creates the job's outputs empty. The reruns are then exactly what a user's no-op
rerun does: build the DAG, stat every file, read every job's metadata. `--real` runs the jobs
for real (use it with `--pipeline configs/tiny.yaml`).
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

TARGET_SECONDS = 3.0
SKELETON = r"""
methodlib() {
  local command=$1; shift; local out="" run=""
  while [ $# -gt 0 ]; do
    case $1 in
      --out|--out-csv|--out-json|--out-curves|--curve) out="$out $2"; shift;;
      --run) run=$2; shift;;
    esac
    shift
  done
  case $command in
    prepare) mkdir -p $out;;
    train) mkdir -p $out; for f in predictions.npz model.pt train_log.csv run.json; do
             touch $out/$f; done;;
    evaluate) touch $run/metrics.json;;
    *) for f in $out; do mkdir -p $(dirname $f); touch $f; done;;
  esac
}
"""
"""Stands in for the `methodlib` command in a skeleton run: creates the outputs it names."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pipeline", default="pipeline.yaml", help="pipeline file to run")
    parser.add_argument("--real", action="store_true", help="run the first time for real")
    args = parser.parse_args()

    command = ["--cores", "2", "--configfile", args.pipeline]
    with workflow_copy() as copy:
        if not args.real:
            with (copy / "Snakefile").open("a") as f:
                escaped = SKELETON.replace("{", "{{").replace("}", "}}")  # a format string
                f.write(f"\nshell.prefix({escaped!r})\n")
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
        first_run="real" if args.real else "skeleton: outputs created empty (see the docstring)",
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
