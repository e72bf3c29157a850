"""Config models of the text family (`tencdm`, `embedding_diffusion`, `ar_lm`), torch-free:
see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt

from methodlib.methods.config import MethodConfig


class TextConfig(MethodConfig):
    """Fields every text method has."""

    task: ClassVar[str] = "text"
    batch_norm: ClassVar[bool] = False

    samples: PositiveInt | None = Field(
        None, description="texts generated after training (default: the test split's size)"
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout in the transformer blocks")


class TextDiffusionConfig(TextConfig):
    """Fields of the diffusion text methods (`tencdm`, `embedding_diffusion`)."""

    metrics: ClassVar[tuple[str, ...]] = ("decoder_acc_*", "x0_norm_*")
    log_columns: ClassVar[tuple[str, ...]] = ("val_mse", "val_decoder_ce")
    """The two terms of the training loss (`loss_terms`), validated like `val_loss`."""

    schedule: Literal["tan_d", "cosine"] = "tan_d"
    d: PositiveFloat = Field(9.0, description="the tan-d schedule's d (cosine is d = 1)")
    self_conditioning: bool = True
    sampling_steps: PositiveInt = Field(50, le=10_000, description="Euler steps of the sampler")
    sampler: Literal["sde", "ode", "ddpm"] = Field(
        "sde",
        description="Euler–Maruyama on the reverse SDE, Euler on the ODE, or ancestral "
        "sampling from the forward process's posterior (ddpm)",
    )
    steps_curve: list[PositiveInt] = Field(
        default_factory=list,
        description="extra sample sets with these step counts (samples_steps_<k>)",
    )
    ema_decay: float = Field(0.9995, ge=0.0, lt=1.0, description="EMA of the denoiser's weights")
    decoder_t_max: float = Field(
        0.15, ge=0.0, le=1.0, description="the decoder trains on latents noised at t ≤ this"
    )
    decoder_positions: PositiveInt = Field(
        8,
        description="positions per row (a random subset) at which the decoder's cross-entropy "
        "is taken in training: the vocabulary-wide softmax is the costliest part of a CPU step",
    )


class TEncDMConfig(TextDiffusionConfig):
    name: Literal["tencdm"] = "tencdm"
    display_name: ClassVar[str] = "TEncDM"
    implementation: ClassVar[str] = "methodlib.methods.text.tencdm:TEncDM"
    encoder: str | None = Field(
        None,
        description="folder of a Hugging Face BERT-style encoder with the dataset's vocabulary "
        "(default: the dataset's tokenizer folder, MiniLM-L6)",
    )
    decoder: Literal["transformer", "linear"] = "transformer"
    decoder_layers: PositiveInt = Field(3, description="blocks of the transformer decoder")


class EmbeddingDiffusionConfig(TextDiffusionConfig):
    name: Literal["embedding_diffusion"] = "embedding_diffusion"
    display_name: ClassVar[str] = "Embedding diffusion"
    implementation: ClassVar[str] = "methodlib.methods.text.embedding_diffusion:EmbeddingDiffusion"
    embedding_dim: PositiveInt = Field(64, description="width of the token embeddings")


class ArLMConfig(TextConfig):
    name: Literal["ar_lm"] = "ar_lm"
    display_name: ClassVar[str] = "Autoregressive LM"
    implementation: ClassVar[str] = "methodlib.methods.text.ar_lm:ArLM"
    temperature: PositiveFloat = 1.0
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="nucleus sampling's mass")
