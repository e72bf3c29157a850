"""Architectures by the name a pipeline file uses for them: the constructors. What task and
interface each serves is in the torch-free `methodlib.model_catalog`, under the same names."""

from __future__ import annotations

from functools import partial
from typing import Any

from torch import nn

from methodlib.model_catalog import MODEL_NAMES, model_interface, model_task
from methodlib.models.adaptive_resnet import AdaptiveResNet
from methodlib.models.cnn_wide import WideCNN
from methodlib.models.denoisers import ConvDenoiser, MLPDenoiser
from methodlib.models.gan_nets import AutoencodingGAN
from methodlib.models.imputation_mlp import IMPUTATION_SIZES
from methodlib.models.latent_vae import LatentVAENets
from methodlib.models.layers import Layers
from methodlib.models.lenet5 import LeNet5
from methodlib.models.lenet300 import LeNet300_100
from methodlib.models.lstm import LSTM_SIZES
from methodlib.models.mean_field import MeanFieldLinear
from methodlib.models.routed_resnet import RoutedResNet
from methodlib.models.samplers import MLPGAN, RealNVP
from methodlib.models.transformer import TRANSFORMER_SIZES

MODELS: dict[str, Any] = {
    "lenet300_100": LeNet300_100,
    "lenet300_100_bn": partial(LeNet300_100, batch_norm=True),
    "lenet5": LeNet5,
    "lenet5_bn": partial(LeNet5, batch_norm=True),
    "cnn_wide": WideCNN,
    "mlp_denoiser": MLPDenoiser,
    "conv_denoiser": ConvDenoiser,
    "dcgan": AutoencodingGAN,
    "realnvp": RealNVP,
    "mlp_gan": MLPGAN,
    "vae_mlp": LatentVAENets,
    **LSTM_SIZES,
    **TRANSFORMER_SIZES,
    **IMPUTATION_SIZES,
    "mean_field_logreg": MeanFieldLinear,
    "resnet_units": RoutedResNet,
    "adaptive_resnet": AdaptiveResNet,
}
"""Constructors taking (input_shape, n_classes, layers); `_bn` variants add batch norm. The
transformer sizes (text methods only) are no constructors: they carry the width, depth, heads
and feed-forward width from which each text method builds its own networks."""
if tuple(MODELS) != MODEL_NAMES:
    raise ImportError(
        "methodlib.models.MODELS and model_catalog.MODEL_CATALOG name different models"
    )


def build_model(
    name: str, input_shape: tuple[int, ...], n_classes: int, layers: Layers | None = None
) -> nn.Module:
    return MODELS[name](tuple(input_shape), n_classes, layers or Layers())


__all__ = ["MODELS", "Layers", "build_model", "model_interface", "model_task"]
