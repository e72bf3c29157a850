"""Wall time of the default experiments: `snakemake --cores all` on pipeline.yaml, from a clean
temporary copy of the workflow, one study at a time (`study_<name>` targets, in sequence), then
the final `all`. Also sums the per-job times of Snakemake's `benchmark:` files per rule.

    python benchmarks/default_pipeline.py                 # pipeline.yaml: up to two hours
    python benchmarks/default_pipeline.py --pipeline configs/tiny.yaml   # a quick check

`METHODLIB_BENCH_PIPELINE=configs/tiny.yaml` does the same as `--pipeline`. Another pipeline
file than pipeline.yaml writes `default_pipeline_<stem>.json`, so a check never overwrites the
real figures.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from _common import ROOT, benchmark_sums, snakemake, workflow_copy, write_result

from methodlib.paths import BENCHMARKS, Layout
from methodlib.spec import load_pipeline

DEFAULT = "pipeline.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipeline", default=os.environ.get("METHODLIB_BENCH_PIPELINE", DEFAULT))
    args = parser.parse_args()
    if not (ROOT / args.pipeline).is_file():
        raise SystemExit(f"{args.pipeline} not found in {ROOT}")

    pipeline = load_pipeline(ROOT / args.pipeline)
    studies = [s for s in pipeline.study_names() if pipeline.experiments_in(s)]
    config = [] if args.pipeline == DEFAULT else ["--configfile", args.pipeline]
    stages = {}
    with workflow_copy() as copy:
        for target in [*(f"study_{s}" for s in studies), "all"]:
            run = snakemake(copy, target, "--cores", "all", *config)
            stages[target] = {
                "seconds": run.wall,
                "cpu_seconds": run.cpu,
                "jobs": _jobs_done(run.output),
            }
            print(f"  {target}: {run.wall:.1f} s, {stages[target]['jobs']} jobs", flush=True)
        reports = Layout(pipeline, args.pipeline).reports  # args.pipeline: relative to ROOT
        per_rule = benchmark_sums(copy / BENCHMARKS, copy / BENCHMARKS / reports)

    total = sum(stage["seconds"] for stage in stages.values())
    name = (
        "default_pipeline"
        if args.pipeline == DEFAULT
        else f"default_pipeline_{Path(args.pipeline).stem}"
    )
    write_result(
        name,
        f"{name}: {args.pipeline}, {len(pipeline.runs())} runs in {len(studies)} studies: "
        f"{total:.1f} s ({total / 60:.1f} min) with --cores all",
        what=(
            "wall time of `python -m snakemake --cores all [--configfile FILE] TARGET` in a clean "
            "workflow copy, for each study_<name> target in turn and then `all`; total_seconds is "
            "their sum (studies do not overlap, so it can exceed one plain `snakemake` run)"
        ),
        pipeline=args.pipeline,
        studies=studies,
        runs=len(pipeline.runs()),
        stages=stages,
        total_seconds=total,
        per_rule=per_rule,
        target=None,
        met=None,
    )


def _jobs_done(output: str) -> int:
    """Jobs a run finished: its last `N of M steps (100%) done` line (0 when nothing ran)."""
    done = re.findall(r"(\d+) of \d+ steps \(100%\) done", output)
    return int(done[-1]) if done else 0


if __name__ == "__main__":
    main()
