"""Config models of the adversarial and autoencoding family (`pagan`, `ali`, `vae`),
torch-free: see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt

from methodlib.methods.config import GenerativeConfig


class AutoencodingConfig(GenerativeConfig):
    """The network sizes live here, not in the architecture's name: `dcgan` is one family of
    networks sized by the data's shape, and `latent_dim` and `width` scale it."""

    interface: ClassVar[str | None] = "autoencoder"
    reconstructs: ClassVar[bool] = True

    latent_dim: PositiveInt = Field(32, le=4096, description="dimension of z")
    width: PositiveInt = Field(
        32, le=1024, description="channels of the first convolution of every network"
    )
    max_std: PositiveFloat | None = Field(
        None,
        description="largest standard deviation of the encoder's q(z | x) per dimension "
        "(None: e^5, in effect unbounded)",
    )


class AdversarialConfig(AutoencodingConfig):
    log_columns: ClassVar[tuple[str, ...]] = ("disc_loss",)

    discriminator_lr: PositiveFloat = Field(2e-4, description="Adam step of the discriminators")


class PAGANConfig(AdversarialConfig):
    name: Literal["pagan"] = "pagan"
    display_name: ClassVar[str] = "PAGAN"
    implementation: ClassVar[str] = "methodlib.methods.autoencoders.pagan:PAGAN"
    variant: Literal["full", "no_augmentation", "pixel_reconstruction"] = "full"
    reconstruction_weight: PositiveFloat = Field(
        1.0, description="weight of the adversarial reconstruction loss in the G and E loss"
    )
    pixel_weight: PositiveFloat = Field(
        10.0, description="weight of the mean squared error (variant pixel_reconstruction)"
    )
    mismatched_pairs: bool = Field(
        False,
        description="the pair discriminator also learns to reject real pairs of different "
        "images, (x, a(x')), x' another image of the batch (the adversarial variants)",
    )


class ALIConfig(AdversarialConfig):
    name: Literal["ali"] = "ali"
    display_name: ClassVar[str] = "ALI"
    implementation: ClassVar[str] = "methodlib.methods.autoencoders.ali:ALI"


class VAEConfig(AutoencodingConfig):
    name: Literal["vae"] = "vae"
    display_name: ClassVar[str] = "VAE"
    implementation: ClassVar[str] = "methodlib.methods.autoencoders.vae:VAE"
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    sigma: PositiveFloat = Field(0.1, description="pixel scale of the gaussian likelihood")
