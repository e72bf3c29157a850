"""The judges of generated text: an autoregressive language model trained on the dataset's
train split (`judge_ppl`, the perplexity it assigns to generated texts, as the TEncDM paper
scores with GPT-2) and the MiniLM sentence encoder (the feature space of `mauve`).

One judge LM per text dataset (`results/judges/<dataset>/<hash>/model.pt`, the same
`train_judge` rule and recipe module, `methodlib/judge_recipes.py`, as the image judge): it is
an `ar_lm` of fixed size and schedule, so every text experiment on the dataset is scored by the
same model. Its own perplexity on the test texts is recorded with
it (`judge_ppl_reference` in every run's metrics): the level a perfect generator would reach.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from methodlib.data import load_prepared
from methodlib.data.text import default_tokenizer, encode_texts, load_tokenizer, resolve_tokenizer
from methodlib.device import resolve_device
from methodlib.errors import RunError
from methodlib.io import atomic_path
from methodlib.judge_recipes import TEXT_JUDGE
from methodlib.methods.base import DataInfo, TextInfo
from methodlib.provenance import provenance
from methodlib.spec import TrainingSpec

RECIPE = TEXT_JUDGE


def _judge_method(info: DataInfo):
    from methodlib.methods.text.ar_lm import ArLM

    return ArLM(ArLM.Config(), RECIPE.model, info)


def text_info(meta: dict) -> TextInfo:
    return TextInfo(
        resolve_tokenizer(meta["tokenizer"]), tuple(meta["vocab"]), meta["input_shape"][0]
    )


def train_text_judge(
    data_dir: str | Path,
    out: str | Path,
    epochs: int = RECIPE.epochs,
    seed: int = RECIPE.seed,
    device: str = "auto",
) -> dict[str, Any]:
    """Train the judge LM, an `ar_lm` run through the shared loop (`loop.fit`: Adam, no
    schedule) on `device` (`auto`: CUDA when present); save it with its test perplexity."""
    from methodlib.loop import fit, seed_everything

    torch_device = resolve_device(device)
    seed_everything(seed)
    data = load_prepared(data_dir)
    meta = data.meta
    info = DataInfo(
        tuple(meta["input_shape"]), meta["n_classes"], len(data.train), "text", text_info(meta)
    )
    method = _judge_method(info)
    model = method.build_model().to(torch_device)
    training = TrainingSpec(epochs=epochs, batch_size=RECIPE.batch_size, lr=RECIPE.lr)
    fit(method, model, training, data, torch_device, seed, f"judge of {meta['name']}")
    model.cpu()
    model.eval()
    record = {
        "dataset": meta["name"],
        "model": RECIPE.model,
        "epochs": epochs,
        "input_shape": meta["input_shape"],
        "n_classes": meta["n_classes"],
        "test_ppl": rows_perplexity(model, data.test.x),
        "val_ppl": rows_perplexity(model, data.val.x),
        "dataset_checksums": meta["checksums"],
        "provenance": provenance(str(torch_device)),
    }
    with atomic_path(out) as tmp:
        torch.save({"model": model.state_dict(), "record": record, "meta": _meta_of(meta)}, tmp)
    return record


def _meta_of(meta: dict) -> dict:
    return {k: meta[k] for k in ("name", "input_shape", "n_classes", "vocab", "tokenizer")}


class TextJudge:
    """A loaded judge LM and the token space it reads."""

    def __init__(self, path: str | Path):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say which one and what to do
            raise RunError(
                f"{path}: unreadable judge ({exc}); delete it to train it again"
            ) from None
        meta = state["meta"]
        self.record = state["record"]
        self.info = text_info(meta)
        data = DataInfo(tuple(meta["input_shape"]), meta["n_classes"], 0, "text", self.info)
        self.model = _judge_method(data).build_model()
        self.model.load_state_dict(state["model"])
        self.model.eval()

    def perplexity(self, texts: list[str]) -> float:
        """exp of the mean per-token NLL of the texts, cut with the dataset's tokenizer into
        its compact vocabulary ([UNK] for unseen tokens, truncated to the row length)."""
        if not texts:
            return float("nan")
        tokenizer = load_tokenizer(self.info.tokenizer)
        rows, _ = encode_texts(texts, tokenizer, self.info.vocab, self.info.max_len)
        return rows_perplexity(self.model, torch.from_numpy(rows))


@torch.no_grad()
def rows_perplexity(model: torch.nn.Module, rows: torch.Tensor, batch: int = 500) -> float:
    from methodlib.methods.text.ar_lm import token_nll

    total, count = 0.0, 0
    for i in range(0, len(rows), batch):
        x = rows[i : i + batch]
        nll = token_nll(model, x)
        total += nll.sum().item()
        count += int((x[:, 1:] != 0).sum())
    return math.exp(total / max(count, 1))


@lru_cache(maxsize=1)
def _sentence_encoder(folder: str) -> torch.nn.Module:
    """MiniLM, loaded once per process: a run's evaluation embeds several text sets."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel

    return AutoModel.from_pretrained(folder).eval()


@torch.no_grad()
def sentence_features(texts: list[str], batch: int = 256) -> np.ndarray:
    """MiniLM-L6 sentence embeddings (mean of the last layer over real tokens, L2-normalised:
    the all-MiniLM-L6-v2 recipe), the feature space of `mauve`."""
    folder = default_tokenizer()
    tokenizer = load_tokenizer(folder)
    model = _sentence_encoder(folder)
    parts = []
    for i in range(0, len(texts), batch):
        rows = [e.ids[:512] for e in tokenizer.encode_batch(list(texts[i : i + batch]))]
        ids = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, tokens in enumerate(rows):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        parts.append(torch.nn.functional.normalize(pooled, dim=1).double().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, model.config.hidden_size))
