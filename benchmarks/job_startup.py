"""What every job and every `snakemake` call pays before it does any work.

1. The start-up of one job: `methodlib evaluate --run R` of a finished run R, minus its work.
   The work is `evaluate_run(R)` timed inside this process after a warm-up call (every module it
   needs already imported), so the difference is the interpreter, the command line and every
   import the job makes, lazy ones included.
2. `python -X importtime -c "import methodlib.spec"`: which heavy libraries the schema pulls in
   (none may: validation and the DAG build import neither torch, numpy, scipy nor plotting).

    python benchmarks/job_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median, run_timed, target, write_result

TARGET_SECONDS = 1.5
HEAVY = ("torch", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "sklearn")
PIPELINE = "configs/tiny.yaml"


def heavy_imports(module: str) -> tuple[list[str], float]:
    """The heavy top-level packages `import module` loads, and its cumulative import time (s)."""
    out = run_timed([sys.executable, "-X", "importtime", "-c", f"import {module}"], ROOT).output
    loaded, total = set(), 0.0
    for line in out.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if cumulative.isdigit() and name == module:
            total = int(cumulative) / 1e6
        top = name.split(".")[0]
        if top in HEAVY:
            loaded.add(top)
    return sorted(loaded), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from methodlib.evaluate import evaluate_run

    methodlib = [sys.executable, "-m", "methodlib.cli"]
    with tempfile.TemporaryDirectory(prefix="methodlib-startup-") as tmp:
        tmp = Path(tmp)
        data, run = tmp / "data", tmp / "run"
        pipeline = str(ROOT / PIPELINE)
        run_timed(
            [
                *methodlib,
                "prepare",
                "--pipeline",
                pipeline,
                "--dataset",
                "digits",
                "--out",
                str(data),
            ],
            ROOT,
        )
        train = ["train", "--pipeline", pipeline, "--experiment", "mlp", "--seed", "0"]
        run_timed([*methodlib, *train, "--data", str(data), "--out", str(run)], ROOT)
        evaluate_run(run, out=tmp / "warm.json")
        work = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            evaluate_run(run, out=tmp / "in_process.json")
            work.append(time.perf_counter() - start)
        job = [
            run_timed([*methodlib, "evaluate", "--run", str(run)], ROOT)
            for _ in range(args.repeats)
        ]

    job_wall, work_wall = median([t.wall for t in job]), median(work)
    startup = job_wall - work_wall
    spec_heavy, spec_seconds = heavy_imports("methodlib.spec")
    paths_heavy, paths_seconds = heavy_imports("methodlib.paths")
    write_result(
        "job_startup",
        f"job_startup: `methodlib evaluate` of a finished run {job_wall:.2f} s, of which work "
        f"{work_wall:.2f} s: start-up {startup:.2f} s (target < {TARGET_SECONDS:g} s); "
        f"import methodlib.spec {spec_seconds:.2f} s, heavy packages: {spec_heavy or 'none'}",
        what=(
            "wall time of `python -m methodlib.cli evaluate --run R` on a finished run of "
            f"{PIPELINE}'s `mlp`, minus evaluate_run(R) timed in-process after a warm-up"
        ),
        job_seconds=[t.wall for t in job],
        work_seconds=work,
        startup=target(startup, "<", TARGET_SECONDS),
        spec_import_seconds=spec_seconds,
        spec_heavy_imports=spec_heavy,
        paths_import_seconds=paths_seconds,
        paths_heavy_imports=paths_heavy,
        spec_imports_no_heavy_package=not spec_heavy and not paths_heavy,
    )


if __name__ == "__main__":
    main()
