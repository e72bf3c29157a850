"""An autoregressive transformer language model (GPT-style, `models.transformer.CausalLM`): a
baseline generator and, trained on a dataset's train split, the judge whose perplexity of
generated texts is `judge_ppl` (`methodlib.text_judge`, through `token_nll`).

Training minimises the next-token cross-entropy of every real token after [CLS] ([SEP]
included, so the model learns where texts end); a row's objective is its mean per-token
negative log-likelihood. Generation is ancestral sampling from [CLS] at `temperature`, from the
smallest set of tokens whose probability reaches `top_p` (nucleus sampling; 1 keeps them all),
never [PAD] or [CLS]; rows are padded after their [SEP].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import CLS, PAD, SEP
from methodlib.methods.text.base import TextMethod
from methodlib.methods.text.configs import ArLMConfig
from methodlib.models.transformer import CausalLM


def token_nll(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(B, L − 1): −log p(x[:, i + 1] | x[:, :i + 1]) under the causal LM `model`, 0 where the
    target is [PAD]."""
    logits = model(x[:, :-1])
    return F.cross_entropy(logits.transpose(1, 2), x[:, 1:], ignore_index=PAD, reduction="none")


def nucleus(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Logits (B, V) with every token outside the top-p nucleus set to −inf."""
    if top_p >= 1.0:
        return logits
    ordered, order = logits.sort(dim=-1, descending=True)
    probs = ordered.softmax(dim=-1)
    outside = probs.cumsum(dim=-1) - probs >= top_p  # the mass before it already reaches top_p
    ordered = ordered.masked_fill(outside, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, ordered)


class ArLM(TextMethod):
    Config = ArLMConfig

    def build_model(self) -> nn.Module:
        return CausalLM(self.size, self.vocab_size, self.text.max_len, self.config.dropout)

    def losses(self, model: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        tokens = (x[:, 1:] != PAD).sum(dim=1).clamp_min(1)
        return token_nll(model, x).sum(dim=1) / tokens

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device) -> torch.Tensor:
        x = torch.full((n, self.text.max_len), PAD, dtype=torch.long, device=device)
        x[:, 0] = CLS
        done = torch.zeros(n, dtype=torch.bool, device=device)
        for i in range(1, self.text.max_len):
            logits = model(x[:, :i])[:, -1] / self.config.temperature
            logits[:, [PAD, CLS]] = float("-inf")
            probs = nucleus(logits, self.config.top_p).softmax(dim=-1)
            token = torch.multinomial(probs, 1).squeeze(1)
            x[:, i] = token.masked_fill(done, PAD)
            done |= token == SEP
            if done.all():
                break
        return x
