"""What a text generation method is: the `Method` hooks the shared training loop calls, read for
a model of token sequences.

Examples are rows of compact token ids `[CLS] w1 .. wn [SEP] [PAD] ..` (see `TextInfo`), labels
are their lengths. A method returns a per-example objective (`losses`), draws rows of ids
(`generate`, plus named extra sets such as TEncDM's few-step samples, `extra_samples`), and
builds its own networks from the transformer size the experiment's `model:` names. The loop's
validation column is `val_loss` on a fixed draw of the method's randomness.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import PAD, DataInfo, Method, StepContext, TextInfo
from methodlib.methods.generative_base import fixed_rng
from methodlib.methods.text.configs import TextConfig
from methodlib.models.transformer import TRANSFORMER_SIZES, TransformerSize


def padding_mask(x: torch.Tensor) -> torch.Tensor:
    """True at the real tokens of rows of compact ids ([CLS] and [SEP] included)."""
    return x != PAD


class TextMethod(Method):
    """A model of token sequences: `losses` per example for training and validation,
    `generate` after."""

    def __init__(self, config: TextConfig, model_name: str, info: DataInfo):
        if info.text is None:
            raise RunError(f"{self.name} is a text method; the dataset has no token vocabulary")
        super().__init__(config, model_name, info)

    @property
    def text(self) -> TextInfo:
        return self.info.text

    @property
    def vocab_size(self) -> int:
        return len(self.text.vocab)

    @property
    def size(self) -> TransformerSize:
        return TRANSFORMER_SIZES[self.model_name]

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def losses(self, model: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The training objective of each row of a batch, shape (B,)."""
        raise NotImplementedError

    def loss_terms(
        self, model: nn.Module, x: torch.Tensor, lengths: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The per-row objective (`loss`) and any terms of it worth a validation column."""
        return {"loss": self.losses(model, x, lengths)}

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return self.losses(model, x, y).mean()

    @torch.no_grad()
    def validation_metrics(
        self, model: nn.Module, x_val: torch.Tensor, y_val: torch.Tensor, batch_size: int = 1000
    ) -> dict[str, float]:
        """`val_<term>` of every loss term on the validation split, with the same noise every
        epoch (a forked RNG): `val_loss` for every method."""
        sums: dict[str, float] = {}
        with fixed_rng(x_val.device):
            for i in range(0, len(x_val), batch_size):
                terms = self.loss_terms(model, x_val[i : i + batch_size], y_val[i : i + batch_size])
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + value.sum().item()
        return {f"val_{key}": total / len(x_val) for key, total in sums.items()}

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        """`n` rows of compact ids (n, max_len), each starting with [CLS]."""
        raise NotImplementedError

    @torch.no_grad()
    def extra_samples(
        self, model: nn.Module, n: int, device: torch.device | str
    ) -> dict[str, torch.Tensor]:
        """More sets of `n` rows, saved as `samples_<key>` beside the main ones."""
        return {}

    def main_set_keys(self) -> tuple[str, ...]:
        """Keys of extra sets that would be drawn exactly as the main set is (same weights,
        same sampler): the main set is saved under them instead of drawing it again."""
        return ()
