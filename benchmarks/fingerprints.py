"""Fingerprints of every registered method's tiny run, to show that a refactoring changed no
number: each method's moment of training and evaluation (`tests/tasks/tiny_runs.py`, the runs
the declaration test makes), a deep ensemble of two of them (`evaluate_group`), the judges of an
image and of a text dataset (a short `train_judge`) and the runs that need a judge evaluated
with it. Each fingerprint is the sha256 of a run's outputs: the arrays of predictions.npz, the
weights of model.pt, metrics.json and train_log.csv without wall-clock times (any key or column
named `*seconds*`) and provenance (a judge's record: host, versions, date), which are all that
differ between two identical runs.

    python benchmarks/fingerprints.py --out benchmarks/results/fingerprints_before.json
    # ... refactor ...
    python benchmarks/fingerprints.py --against benchmarks/results/fingerprints_before.json

writes `benchmarks/results/<name>.json` (name from --out, default `fingerprints`); with
`--against`, the comparison too, and exits 1 when a fingerprint differs or is missing.
A few minutes on one core (torch is held to one thread, as the method tests do)."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import RESULTS, ROOT, write_result

sys.path.insert(0, str(ROOT))  # the tiny runs are the test suite's (tests/tasks/tiny_runs.py)

from methodlib.evaluate import evaluate_run  # noqa: E402
from methodlib.evaluate_group import evaluate_group  # noqa: E402
from methodlib.io import read_json, read_npz  # noqa: E402
from methodlib.judge import train_judge  # noqa: E402
from methodlib.methods import METHOD_CONFIGS  # noqa: E402
from methodlib.tasks import get_task  # noqa: E402
from tests.tasks.tiny_runs import experiment, has_data, tiny_pipeline, tiny_run  # noqa: E402

ENSEMBLE_METHOD = "dense"
JUDGE_EPOCHS = 1


def volatile(name: str) -> bool:
    """Wall-clock times and provenance: what two identical runs do not share."""
    return "seconds" in name or name == "provenance"


def stable(value: Any) -> Any:
    """`value` (parsed JSON) without its wall-clock entries."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if not volatile(k)}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def hash_arrays(h: Any, arrays: dict[str, Any]) -> None:
    for key in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[key]))
        h.update(f"{key}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())


def hash_file(h: Any, path: Path) -> None:
    """Feed `path`'s content, wall-clock times left out, into `h`."""
    h.update(path.name.encode())
    if path.suffix == ".npz":
        with read_npz(path) as outputs:
            hash_arrays(h, {k: outputs[k] for k in outputs.files})
    elif path.suffix == ".pt":
        state = torch.load(path, map_location="cpu", weights_only=True)
        for part in sorted(k for k in state if isinstance(state[k], dict)):
            tensors = {k: v for k, v in state[part].items() if isinstance(v, torch.Tensor)}
            others = {k: v for k, v in state[part].items() if k not in tensors}
            hash_arrays(h, {f"{part}.{k}": v.numpy() for k, v in tensors.items()})
            h.update(json.dumps(stable(others), sort_keys=True, default=repr).encode())
    elif path.suffix == ".csv":
        with path.open() as f:
            for row in csv.DictReader(f):
                h.update(json.dumps({k: v for k, v in row.items() if not volatile(k)}).encode())
    else:
        h.update(json.dumps(stable(read_json(path)), sort_keys=True).encode())


def fingerprint(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        hash_file(h, path)
    return h.hexdigest()


def run_files(run: Path) -> list[Path]:
    return [run / f for f in ("predictions.npz", "model.pt", "train_log.csv", "metrics.json")]


def fingerprints(work: Path) -> tuple[dict[str, str], list[str]]:
    """Every fingerprint by name (`method/<name>`, `ensemble/<name>`, `judge/<dataset>`,
    `judged/<name>`), and the methods left out for want of their raw data."""
    prepared, out, skipped = work / "prepared", {}, []
    for name in sorted(METHOD_CONFIGS):
        if not has_data(name):
            skipped.append(name)
            continue
        tiny_run(name, prepared, work / name)
        out[f"method/{name}"] = fingerprint(*run_files(work / name))
        print(f"{name}: {out[f'method/{name}']}", file=sys.stderr)

    members = [work / "ensemble" / "exp" / f"seed{seed}" for seed in (0, 1)]
    for seed, run in enumerate(members):
        tiny_run(ENSEMBLE_METHOD, prepared, run, seed=seed)
    group = work / "ensemble" / "exp" / "group"
    predictions = [m / "predictions.npz" for m in members]
    evaluate_group("exp", predictions, group / "metrics.json", group / "curve.csv")
    out[f"ensemble/{ENSEMBLE_METHOD}"] = fingerprint(group / "metrics.json", group / "curve.csv")

    judges = {}
    for name in sorted(METHOD_CONFIGS):
        if f"method/{name}" not in out:
            continue
        dataset = experiment(name)["dataset"]
        if not get_task(METHOD_CONFIGS[name].task).needs_judge(
            tiny_pipeline(name).datasets[dataset]
        ):
            continue
        if dataset not in judges:
            judges[dataset] = work / "judges" / dataset / "model.pt"
            train_judge(prepared / dataset, judges[dataset], epochs=JUDGE_EPOCHS, device="cpu")
            out[f"judge/{dataset}"] = fingerprint(judges[dataset])
        judged = work / name / "judged.json"
        evaluate_run(work / name, out=judged, judge=judges[dataset], data=prepared / dataset)
        out[f"judged/{name}"] = fingerprint(judged)
    return out, skipped


def compare(now: dict[str, str], before: dict[str, str]) -> dict[str, list[str]]:
    return {
        "identical": sorted(k for k in now if before.get(k) == now[k]),
        "different": sorted(k for k in now if k in before and before[k] != now[k]),
        "missing": sorted(k for k in before if k not in now),
        "new": sorted(k for k in now if k not in before),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "fingerprints.json")
    parser.add_argument("--against", type=Path, help="an earlier result to compare with")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    with tempfile.TemporaryDirectory() as work:
        prints, skipped = fingerprints(Path(work))
    seconds = round(time.time() - started, 1)
    result: dict[str, Any] = {"seconds": seconds, "skipped": skipped, "fingerprints": prints}
    summary = f"{len(prints)} fingerprints in {seconds} s ({len(skipped)} methods without data)"
    failed = False
    if args.against is not None:
        diff = compare(prints, json.loads(args.against.read_text())["fingerprints"])
        result["against"] = str(args.against.resolve().relative_to(ROOT))
        result["comparison"] = diff
        failed = bool(diff["different"] or diff["missing"])
        summary += (
            f"; against {result['against']}: {len(diff['identical'])} identical, "
            f"{len(diff['different'])} different, {len(diff['missing'])} missing"
        )
    write_result(args.out.stem, summary, **result)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
