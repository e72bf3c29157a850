"""The judge: a LeNet-5 classifier trained on a dataset's prepared splits, whose penultimate
layer is the feature space of `fid_judge` — the Fréchet distance between generated images and
the test images, in the spirit of FID (Heusel et al. 2017) with a classifier of the same data
instead of Inception, which knows nothing of 8×8 digits.

One judge per dataset (`results/judges/<dataset>/<hash>/model.pt`, the `train_judge` rule; the
hash covers the dataset's config and the recipe in `methodlib/judge_recipes.py`), shared by
every image-generation experiment on it and by any other task that scores images. It reads
images in [0, 1] (not standardised), the space generated samples live in, and is trained on
batches shifted by PAGAN's augmentation, so that a shifted copy of a digit is judged as the
digit (`rid_augmentation` near 0) rather than as a different image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from methodlib.data import load_prepared
from methodlib.data.augment import augment
from methodlib.errors import RunError
from methodlib.io import atomic_path, read_json
from methodlib.judge_recipes import IMAGE_JUDGE
from methodlib.methods.pruning.dense import Dense
from methodlib.models import build_model
from methodlib.provenance import provenance

RECIPE = IMAGE_JUDGE


class ShiftedDense(Dense):
    """`dense` training on batches shifted by PAGAN's augmentation (`augment`, a fresh offset
    per image and step from torch's seeded generator): the judge's data pipeline."""

    shift_fraction: float | None = RECIPE.shift_fraction

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.shift_fraction is None else augment(x, self.shift_fraction)

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: Any) -> torch.Tensor:
        return super().loss(model, self.batch(x), y, ctx)


def train_judge(
    data_dir: str | Path,
    out: str | Path,
    epochs: int = RECIPE.epochs,
    seed: int = RECIPE.seed,
    device: str = "auto",
) -> dict[str, Any]:
    """Train the judge, a `dense` run of LeNet-5 on shifted batches (`ShiftedDense`) through
    the shared loop (`loop.fit`: the recipe's Adam rate and batches, no schedule) on `device`
    (`auto`: CUDA when present); save its weights and validation accuracy, on the unshifted
    images and on shifted ones. A text dataset's judge is a language model
    (`methodlib.text_judge`)."""
    from methodlib.device import resolve_device
    from methodlib.loop import fit, seed_everything
    from methodlib.methods import DataInfo
    from methodlib.spec import TrainingSpec

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
    method = ShiftedDense(Dense.Config(), RECIPE.model, info)
    model = method.build_model().to(torch_device)
    training = TrainingSpec(epochs=epochs, batch_size=RECIPE.batch_size, lr=RECIPE.lr)
    fit(method, model, training, data, torch_device, seed, f"judge of {meta['name']}")
    model.cpu().eval()
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        accuracy = (model(data.val.x).argmax(1) == data.val.y).float().mean().item()
        shifted = model(method.batch(data.val.x)).argmax(1)
        shifted_accuracy = (shifted == data.val.y).float().mean().item()
    record = {
        "dataset": meta["name"],
        "input_shape": meta["input_shape"],
        "n_classes": meta["n_classes"],
        "val_accuracy": accuracy,
        "val_accuracy_shifted": shifted_accuracy,
        "epochs": epochs,
        "recipe": {**RECIPE.identity(), "epochs": epochs, "seed": seed},
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
    model = build_model(RECIPE.model, tuple(record["input_shape"]), record["n_classes"])
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
