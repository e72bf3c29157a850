"""The architectures a pipeline file can name, torch-free: what task each serves and which
interface its methods call. The schema and `methods.model_problem` read this; the constructors
are in `methodlib.models`, under the same names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelEntry:
    task: str = "classification"
    """The task whose methods can use the architecture."""
    interface: str | None = None
    """How methods use it beyond its task: None for a plain forward pass (the classifiers, the
    denoisers' forward(x, t)), "autoencoder" for `dcgan`, whose methods reach into its
    generator, encoder and discriminators, "flow" for `realnvp` (sample and log-density) and
    "gan" for `mlp_gan` (generator and discriminator), the MH samplers' proposals, "latent_vae" for `vae_mlp` (the fully connected VAEs of
    `methods/latent_vi/`), "routing" for `resnet_units` (the residual units that `reset` routes
    and `resnet_fixed` stacks, built from the method's config)."""


MODEL_CATALOG: dict[str, ModelEntry] = {
    "lenet300_100": ModelEntry(),
    "lenet300_100_bn": ModelEntry(),
    "lenet5": ModelEntry(),
    "lenet5_bn": ModelEntry(),
    "cnn_wide": ModelEntry(),
    "mlp_denoiser": ModelEntry("generation"),
    "conv_denoiser": ModelEntry("generation"),
    "dcgan": ModelEntry("generation", "autoencoder"),
    "realnvp": ModelEntry("generation", "flow"),
    "mlp_gan": ModelEntry("generation", "gan"),
    "vae_mlp": ModelEntry("generation", "latent_vae"),
    "lstm_small": ModelEntry("text_classification"),
    "lstm_imdb": ModelEntry("text_classification"),
    "lstm_lm_small": ModelEntry("word_lm"),
    "lstm_lm_ptb": ModelEntry("word_lm"),
    "transformer_tiny": ModelEntry("text"),
    "transformer_small": ModelEntry("text"),
    "transformer_base": ModelEntry("text"),
    "imputation_mlp": ModelEntry("imputation"),
    "imputation_mlp_large": ModelEntry("imputation"),
    "mean_field_logreg": ModelEntry("estimator"),
    "resnet_units": ModelEntry(interface="routing"),
    "adaptive_resnet": ModelEntry("adaptive_classification"),
}
"""`_bn` variants add batch norm. The transformer sizes are for text methods, which build their
own networks from the size."""

MODEL_NAMES: tuple[str, ...] = tuple(MODEL_CATALOG)


def model_task(name: str) -> str:
    return MODEL_CATALOG[name].task


def model_interface(name: str) -> str | None:
    return MODEL_CATALOG[name].interface
