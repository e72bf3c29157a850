"""The GPU path, checked rather than assumed: one tiny run of each task (classification,
generation, text) trained on CUDA and on the CPU from the same seed and compared, and the
`amp` and `compile` options on CUDA (`pytest -m gpu`; skipped where torch sees no CUDA;
`benchmarks/gpu_check.sh` runs them on a GPU machine).

The two runs start from the same weights (built on the CPU from the seed) and see the same
batches (shuffled by a CPU generator). Their random draws (diffusion times and noise, sampled
tokens) would come from each device's own generator; here every draw comes from the CPU
generator and moves to the device (`cpu_random_stream`), so the runs differ by rounding only
and a fault on the device shows as a difference. How large rounding differences grow was
measured on the CPU, by perturbing the initial weights by 1e-3 relative (TF32's rounding, which
cuDNN uses for float32 convolutions by default; float32 matrix products on CUDA round far less),
four times:

- classification (dense LeNet-5, 240 training digits) is the sensitive one: per-epoch losses
  moved by up to 2.8 % relative, test probabilities by 0.006 on average, at most 1 of 60 test
  predictions changed. Tolerances: losses 10 %, mean probability difference 0.03, 3 changed
  predictions.
- generation (DDPM, 20 steps) and text (autoregressive LM): losses moved by at most 0.04 %,
  generated points by at most 0.0013, and at most 1 of 16 sampled texts changed (a near tie
  in a token's sampling). Tolerances: losses 0.2 %, points 0.005, 12 of 16 texts the same.
- `amp` rounds the training steps to bfloat16 (8 mantissa bits, 2.5 orders of magnitude
  coarser than TF32): that run is held to the float32 CUDA run by its training losses (15 %)
  and test accuracy (3 of 60). `compile` changes no arithmetic that matters here: it is held
  to the classification tolerances above.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from methodlib.data import prepare_dataset
from methodlib.spec import validate_pipeline
from methodlib.train import train_run

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (torch sees no GPU)"),
]

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "while",
    "the",
    "dog",
    "ran",
    "after",
    "a",
    "red",
    "ball",
    "in",
    "the",
    "park",
]


def text_file(path: Path, n: int = 240) -> Path:
    """n short sentences of a small vocabulary, one per line (a local_text dataset)."""
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, rng.integers(4, 9))) for _ in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def pipeline(task: str, device: str, root: Path, **training) -> dict:
    """A tiny pipeline with one experiment of `task` on `device`."""
    datasets = {
        "classification": {"source": "digits", "limit": 300},
        "generation": {
            "source": "synthetic",
            "kind": "simplex",
            "dim": 3,
            "n": 600,
            "components": 2,
        },
        "text": {
            "source": "local_text",
            "format": "lines",
            "path": str(root / "texts.txt"),
            "max_len": 12,
        },
    }
    experiments = {
        "classification": {"model": "lenet5", "method": {"name": "dense"}},
        "generation": {"model": "mlp_denoiser", "method": {"name": "ddpm", "steps": 20}},
        "text": {"model": "transformer_tiny", "method": {"name": "ar_lm", "samples": 16}},
    }
    return {
        "defaults": {
            "device": device,
            "training": {"epochs": 3, "batch_size": 32, "lr": 0.003, **training},
        },
        "datasets": {"data": datasets[task]},
        "experiments": {"exp": {"dataset": "data", **experiments[task]}},
    }


def train(task: str, device: str, root: Path, seed: int = 0, **training):
    """Train the task's tiny run; its training log and its predictions.npz arrays."""
    root.mkdir(parents=True, exist_ok=True)
    if task == "text" and not (root / "texts.txt").exists():
        text_file(root / "texts.txt")
    p = validate_pipeline(pipeline(task, device, root, **training))
    data = root / "data"
    if not data.exists():
        prepare_dataset("data", p.datasets["data"], data)
    name = f"{device.replace(':', '')}-seed{seed}-{json.dumps(training, sort_keys=True)}"
    out = root / "runs" / name
    record = train_run(p, "exp", seed, out, data_dir=data, progress=False)
    assert record["provenance"]["device"].startswith(device.split(":")[0])
    if device.startswith("cuda"):
        major, minor = torch.cuda.get_device_capability(torch.device(device))
        assert record["provenance"]["gpu_capability"] == f"{major}.{minor}"
    with np.load(out / "predictions.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    return pd.read_csv(out / "train_log.csv"), arrays


@pytest.fixture(autouse=True)
def _same_random_numbers(monkeypatch):
    cpu_random_stream(monkeypatch)


def cpu_random_stream(monkeypatch) -> None:
    """Draw every random number of a run from the CPU generator, then move it to the run's
    device: a CUDA run then sees the CPU run's diffusion times, noise and sampled tokens, so
    the two differ by rounding only (the computation stays on the device)."""
    original = {name: getattr(torch, name) for name in ("rand", "randn", "randint", "multinomial")}

    def on_cpu(name):
        def draw(*args, device=None, **kwargs):
            values = original[name](*args, device="cpu", **kwargs)
            return values if device is None else values.to(device)

        return draw

    def like(name):
        def draw(x, *, dtype=None, **kwargs):
            return original[name](x.shape, dtype=dtype or x.dtype).to(x.device)

        return draw

    def multinomial(probs, *args, **kwargs):
        return original["multinomial"](probs.cpu(), *args, **kwargs).to(probs.device)

    for name in ("rand", "randn", "randint"):
        monkeypatch.setattr(torch, name, on_cpu(name))
    monkeypatch.setattr(torch, "rand_like", like("rand"))
    monkeypatch.setattr(torch, "randn_like", like("randn"))
    monkeypatch.setattr(torch, "multinomial", multinomial)


LOSS_COLUMNS = {
    "classification": ["train_loss", "val_nll"],
    "generation": ["train_loss", "val_loss"],
    "text": ["train_loss", "val_loss"],
}
LOSS_RTOL = {"classification": 0.1, "generation": 0.002, "text": 0.002}


def assert_close_runs(task: str, runs, loss_rtol: float | None = None) -> None:
    """The second run of `runs` [(log, arrays), (log, arrays)] against the first, within the
    task's tolerances (see the module docstring)."""
    (log_a, a), (log_b, b) = runs
    for column in LOSS_COLUMNS[task]:
        np.testing.assert_allclose(
            log_b[column], log_a[column], rtol=loss_rtol or LOSS_RTOL[task], err_msg=column
        )
    if task == "classification":
        assert np.abs(b["probs"] - a["probs"]).mean() <= 0.03
        predicted = [arrays["probs"].mean(0).argmax(-1) for arrays in (a, b)]
        assert (predicted[0] != predicted[1]).sum() <= 3
    elif task == "generation":
        np.testing.assert_allclose(b["samples"], a["samples"], atol=0.005)
    else:
        assert (b["sample_ids"] == a["sample_ids"]).all(1).sum() >= 12


@pytest.mark.parametrize("task", ["classification", "generation", "text"])
def test_a_run_on_cuda_matches_the_cpu_up_to_rounding(task, tmp_path):
    assert_close_runs(task, [train(task, "cpu", tmp_path), train(task, "cuda", tmp_path)])


def test_compile_on_cuda_matches_float32(tmp_path):
    plain = train("classification", "cuda", tmp_path)
    assert_close_runs(
        "classification", [plain, train("classification", "cuda", tmp_path, compile=True)]
    )


@pytest.mark.parametrize("option", [{"amp": True}, {"amp": True, "compile": True}])
def test_amp_on_cuda_trains_close_to_float32(option, tmp_path):
    (plain_log, plain), (log, fast) = [
        train("classification", "cuda", tmp_path, **o) for o in ({}, option)
    ]
    np.testing.assert_allclose(log["train_loss"], plain_log["train_loss"], rtol=0.15)
    predicted = [arrays["probs"].mean(0).argmax(-1) for arrays in (plain, fast)]
    correct = [(p == plain["labels"]).sum() for p in predicted]
    assert abs(int(correct[0]) - int(correct[1])) <= 3, correct
