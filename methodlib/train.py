"""The training loop every method shares.

A run is one (experiment, seed). Its state is checkpointed atomically after every epoch in
`<run>/state/`, which Snakemake does not own and so does not delete when a job dies: rerunning
the job resumes from the last finished epoch and ends with the same weights as an uninterrupted
run (shuffling is seeded per epoch, and the RNG state is part of the checkpoint).

Outputs, written only when training has finished: `predictions.npz`, `model.pt` (weights),
`train_log.csv`, and `run.json` (config, provenance, the task) last. The same four files for
every task, so the rules do not depend on it; what `predictions.npz` holds and the log's
validation columns are the method's task's (`Task.test_outputs`, `Task.validation_columns`
in `methodlib/tasks/`), and so is whether the inputs are standardised.
"""

from __future__ import annotations

import csv
import math
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from methodlib.data import Prepared, load_prepared
from methodlib.data.text import resolve_tokenizer
from methodlib.device import resolve_device
from methodlib.errors import RunError
from methodlib.io import atomic_path, write_json, write_npz
from methodlib.methods import METHODS, DataInfo, EpochContext, StepContext
from methodlib.methods.base import TextInfo
from methodlib.models.stats import count_flops, count_params
from methodlib.provenance import provenance
from methodlib.spec import Pipeline, TrainingSpec
from methodlib.tasks import get_task

CHECKPOINT = Path("state") / "checkpoint.pt"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def make_optimizer(groups: list[dict[str, Any]], training: TrainingSpec) -> torch.optim.Optimizer:
    """An optimizer over a method's parameter groups; a group's `lr_scale` multiplies
    `training.lr` (and what the schedule makes of it) for that group, and its other keys
    (Adam's `betas` for the GANs) are the optimizer's per-group options."""
    params = [
        {
            **{k: v for k, v in g.items() if k != "lr_scale"},
            "lr": training.lr * g.get("lr_scale", 1.0),
        }
        for g in groups
    ]
    if training.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=training.lr, momentum=training.momentum, weight_decay=training.weight_decay
        )
    return torch.optim.Adam(params, lr=training.lr, weight_decay=training.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, training: TrainingSpec):
    if training.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=training.epochs)
    if training.lr_schedule == "step":  # ÷10 at half and three quarters of training
        milestones = [training.epochs // 2, (3 * training.epochs) // 4]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


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

    task = get_task(METHODS[exp.method.name].task)
    data = load_prepared(data_dir, standardise=task.standardise_inputs)
    info = data_info(data)
    method = METHODS[exp.method.name](exp.method, exp.model, info)
    model = method.build_model().to(device)
    if exp.init_from is not None:
        if init_dir is None:
            raise RunError(f"{experiment} starts from {exp.init_from!r}: give its run folder")
        method.init_from(model, load_weights(Path(init_dir)))
    optimizer = make_optimizer(method.param_groups(model), training)
    scheduler = make_scheduler(optimizer, training)

    state_path = run_dir / CHECKPOINT
    start_epoch, log = 0, []
    if state_path.exists():
        start_epoch, log = _resume(
            state_path, config_hash, seed, model, optimizer, scheduler, method
        )

    x_train, y_train = data.train.x.to(device), data.train.y.to(device)
    x_val, y_val = data.val.x.to(device), data.val.y.to(device)
    bs = training.batch_size
    if start_epoch == 0:
        method.on_train_start(model, x_train)
    started = time.time()
    for epoch in range(start_epoch, training.epochs):
        epoch_start = time.time()
        subset = method.epoch_subset(epoch)
        n = len(y_train) if subset is None else len(subset)
        steps = math.ceil(n / bs)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        order = (order if subset is None else subset[order]).to(device)
        model.train()
        total = torch.zeros((), device=device)
        bar = tqdm(
            range(steps),
            desc=f"{experiment} seed {seed} epoch {epoch + 1}/{training.epochs}",
            disable=not progress,
            file=sys.stderr,
            mininterval=1.0,
        )
        for step in bar:
            idx = order[step * bs : (step + 1) * bs]
            ctx = StepContext(epoch, step, steps, training.epochs, n)
            factor = method.lr_factor(ctx)
            if factor is not None:
                for group in optimizer.param_groups:
                    group["lr"] = group["initial_lr"] * factor
            loss = method.loss(model, x_train[idx], y_train[idx], ctx)
            if not torch.isfinite(loss):
                raise RunError(
                    f"{experiment} seed {seed}: loss is {loss.item()} at epoch {epoch + 1}, "
                    f"step {step + 1}; lower training.lr or check the data"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{total.item() / (step + 1):.4f}")
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        method.on_epoch_end(
            model, EpochContext(epoch, training.epochs, x_train, y_train, x_val, y_val, bs)
        )
        row = {
            "epoch": epoch + 1,
            "train_loss": total.item() / steps,
            **task.validation_columns(method, model, data, training.eval_batch_size, device),
            "lr": lr,
            "seconds": time.time() - epoch_start,
            **method.epoch_metrics(model),
        }
        log.append(row)
        bar.close()
        _save_state(
            state_path, config_hash, seed, epoch + 1, model, optimizer, scheduler, method, log
        )

    outputs = task.test_outputs(method, model, data, training.eval_batch_size, device)
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


def load_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    path = run_dir / "model.pt"
    if not path.is_file():
        raise RunError(f"cannot initialise from {path}: it does not exist (has that run finished?)")
    return _torch_load(path)["model"]


def _torch_load(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which one and what to do
        raise RunError(f"{path}: unreadable checkpoint ({exc}); delete it to start over") from None


def _resume(state_path, config_hash, seed, model, optimizer, scheduler, method):
    state = _torch_load(state_path)
    if state.get("config_hash") != config_hash or state.get("seed") != seed:
        print(f"{state_path}: checkpoint of another config; starting from scratch", file=sys.stderr)
        return 0, []
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    method.load_state_dict(state["method"])
    torch.set_rng_state(state["rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    print(f"{state_path}: resuming after epoch {state['epoch']}", file=sys.stderr)
    return state["epoch"], state["log"]


def _save_state(path, config_hash, seed, epoch, model, optimizer, scheduler, method, log) -> None:
    state = {
        "config_hash": config_hash,
        "seed": seed,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "method": method.state_dict(),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "log": log,
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
