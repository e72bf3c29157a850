"""The training loop every method shares.

A run is one (experiment, seed). Its state is checkpointed atomically after every epoch in
`<run>/state/`, which Snakemake does not own and so does not delete when a job dies: rerunning
the job resumes from the last finished epoch and ends with the same weights as an uninterrupted
run (shuffling is seeded per epoch, and the RNG state is part of the checkpoint).

Outputs, written only when training has finished: `predictions.npz`, `model.pt` (weights),
`train_log.csv`, and `run.json` (config, provenance, the task) last. The same four files for
every task, so the rules do not depend on it; what `predictions.npz` holds and the log's
validation columns are the method's task's routine's (`Routine.test_outputs`,
`Routine.validation_columns`, `methodlib/routines/`), and whether the inputs are standardised
its declaration's (`Task.standardise_inputs`). The epochs themselves are the shared loop's
(`methodlib/loop.py`), which knows nothing of tasks.
"""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from methodlib.data import Prepared, load_prepared
from methodlib.data.text import resolve_tokenizer
from methodlib.device import resolve_device
from methodlib.errors import RunError
from methodlib.io import atomic_path, write_json, write_npz
from methodlib.loop import Checkpoint, fit, load_weights, seed_everything
from methodlib.methods import METHODS, DataInfo
from methodlib.methods.base import TextInfo
from methodlib.models.stats import count_flops, count_params
from methodlib.provenance import provenance
from methodlib.routines import get_routine
from methodlib.spec import Pipeline
from methodlib.tasks import get_task

CHECKPOINT = Path("state") / "checkpoint.pt"


def data_info(data: Prepared) -> DataInfo:
    """What a method knows of its data: shapes, classes (the vocabulary for text), domain."""
    meta = data.meta
    text = None
    if data.texts is not None:  # a text dataset: its token space
        text = TextInfo(
            resolve_tokenizer(meta["tokenizer"]), tuple(meta["vocab"]), meta["input_shape"][0]
        )
    return DataInfo(
        tuple(meta["input_shape"]),
        meta["n_classes"],
        len(data.train),
        meta.get("domain", "cube"),
        text,
        meta.get("density"),
    )


def train_run(
    pipeline: Pipeline,
    experiment: str,
    seed: int,
    run_dir: str | Path,
    data_dir: str | Path,
    init_dir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train one run to completion (resuming if a matching checkpoint exists); return run.json.

    `data_dir` is the prepared dataset, `init_dir` the run folder of the experiment's
    `init_from` (the workflow passes both from `methodlib.paths`)."""
    run_dir = Path(run_dir)
    exp = pipeline.experiments[experiment]
    training = exp.training
    config_hash = pipeline.experiment_hash(experiment)
    device = resolve_device(pipeline.device_of(experiment))
    seed_everything(seed)

    task = METHODS[exp.method.name].task
    routine = get_routine(task)
    data = load_prepared(data_dir, standardise=get_task(task).standardise_inputs)
    info = data_info(data)
    method = METHODS[exp.method.name](exp.method, exp.model, info)
    model = method.build_model().to(device)
    if exp.init_from is not None:
        if init_dir is None:
            raise RunError(f"{experiment} starts from {exp.init_from!r}: give its run folder")
        method.init_from(model, load_weights(Path(init_dir)))
    started = time.time()
    log, start_epoch = fit(
        method,
        model,
        training,
        data,
        device,
        seed,
        f"{experiment} seed {seed}",
        validate=lambda: routine.validation_columns(
            method, model, data, training.eval_batch_size, device
        ),
        checkpoint=Checkpoint(run_dir / CHECKPOINT, config_hash),
        progress=progress,
    )

    outputs = routine.test_outputs(method, model, data, training.eval_batch_size, device)
    write_npz(run_dir / "predictions.npz", **outputs)
    with atomic_path(run_dir / "model.pt") as tmp:
        torch.save({"model": model.state_dict(), "method": method.state_dict()}, tmp)
    _write_log(run_dir / "train_log.csv", log)
    record = {
        "experiment": experiment,
        "seed": seed,
        "config": pipeline.resolved_experiment(experiment),
        "config_hash": config_hash,
        "task": method.task,
        "domain": info.domain,
        "dataset_checksums": data.meta["checksums"],
        "epochs_resumed_from": start_epoch,
        "train_seconds": time.time() - started,
        "model_stats": {
            "params": count_params(model),
            **({} if info.text else {"flops": count_flops(model, info.input_shape)}),
            **method.run_metrics(model),
        },
        "provenance": provenance(str(device)),
    }
    write_json(run_dir / "run.json", record)
    shutil.rmtree(run_dir / CHECKPOINT.parent, ignore_errors=True)  # model.pt supersedes it
    return record


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
