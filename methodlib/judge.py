"""The judge: a LeNet-5 classifier trained on a dataset's prepared splits, whose penultimate
layer is the feature space of `fid_judge` — the Fréchet distance between generated images and
the test images, in the spirit of FID (Heusel et al. 2017) with a classifier of the same data
instead of Inception, which knows nothing of 8×8 digits.

One judge per dataset (`results/judges/<dataset>/model.pt`, the `train_judge` rule), shared by
every image-generation experiment on it and by any other task that scores images. It reads
images in [0, 1] (not standardised), the space generated samples live in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from methodlib.data import load_prepared
from methodlib.errors import RunError
from methodlib.io import atomic_path, read_json
from methodlib.models import build_model
from methodlib.provenance import provenance

JUDGE_MODEL = "lenet5"
JUDGE_EPOCHS = 10
JUDGE_BATCH = 128
JUDGE_LR = 1e-3
JUDGE_SEED = 0


def train_judge(
    data_dir: str | Path,
    out: str | Path,
    epochs: int = JUDGE_EPOCHS,
    seed: int = JUDGE_SEED,
    device: str = "auto",
) -> dict[str, Any]:
    """Train the judge, a `dense` run of LeNet-5 through the shared loop (`train.fit`: Adam at
    1e-3, batches of 128, no schedule) on `device` (`auto`: CUDA when present); save its
    weights and validation accuracy. A text dataset's judge is a language model
    (`methodlib.text_judge`)."""
    from methodlib.device import resolve_device
    from methodlib.methods import DataInfo
    from methodlib.methods.pruning.dense import Dense
    from methodlib.spec import TrainingSpec
    from methodlib.train import fit, seed_everything

    if read_json(Path(data_dir) / "meta.json").get("task") == "text":
        from methodlib.text_judge import train_text_judge

        return train_text_judge(data_dir, out, device=device)
    torch_device = resolve_device(device)
    seed_everything(seed)
    data = load_prepared(data_dir, standardise=False)
    meta = data.meta
    if len(meta["input_shape"]) != 3:
        raise RunError(f"{data_dir}: the judge scores images, not {meta['input_shape']} vectors")
    info = DataInfo(tuple(meta["input_shape"]), meta["n_classes"], len(data.train))
    method = Dense(Dense.Config(), JUDGE_MODEL, info)
    model = method.build_model().to(torch_device)
    training = TrainingSpec(epochs=epochs, batch_size=JUDGE_BATCH, lr=JUDGE_LR)
    fit(method, model, training, data, torch_device, seed, f"judge of {meta['name']}")
    model.cpu().eval()
    with torch.no_grad():
        accuracy = (model(data.val.x).argmax(1) == data.val.y).float().mean().item()
    record = {
        "dataset": meta["name"],
        "input_shape": meta["input_shape"],
        "n_classes": meta["n_classes"],
        "val_accuracy": accuracy,
        "epochs": epochs,
        "dataset_checksums": meta["checksums"],
        "provenance": provenance(str(torch_device)),
    }
    with atomic_path(out) as tmp:
        torch.save({"model": model.state_dict(), "record": record}, tmp)
    return record


def load_judge(path: str | Path) -> nn.Module:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which one and what to do
        raise RunError(f"{path}: unreadable judge ({exc}); delete it to train it again") from None
    record = state["record"]
    model = build_model(JUDGE_MODEL, tuple(record["input_shape"]), record["n_classes"])
    model.load_state_dict(state["model"])
    return model.eval()


@torch.no_grad()
def judge_features(model: nn.Module, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """The judge's penultimate layer (LeNet-5's 500 hidden units after ReLU) per image."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    head = model.classifier[:-1]
    parts = [head(model.features(x[i : i + 500])).double().numpy() for i in range(0, len(x), 500)]
    return np.concatenate(parts) if parts else np.zeros((0, 500))


@torch.no_grad()
def judge_probs(model: nn.Module, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """The judge's class probabilities per image: `is_judge`, `rid`."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    parts = [
        F.softmax(model(x[i : i + 500]), dim=1).double().numpy() for i in range(0, len(x), 500)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, model.classifier[-1].out_features))
