"""Config models of the VAEs of the implicit-reparameterisation study (`dirichlet_vae`),
torch-free: see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat

from methodlib.methods.latent_vi.configs import LatentVAEConfig

RUN_METRICS = ("test_elbo", "seconds_per_step")
"""What a Dirichlet VAE's run adds to the latent-variable family's metrics."""


class DirichletVAEConfig(LatentVAEConfig):
    """A VAE with a Dirichlet latent z on the simplex (`latent_dim` components), a Dirichlet
    prior of equal concentrations `prior_concentration` (below 1: sparse codes) and a
    Bernoulli decoder on `vae_mlp`; the KL term is in closed form, so the three `gradient`
    arms differ only in how the expected log-likelihood's gradient reaches the encoder:
    `implicit` (our implicit reparameterisation, `gradients.implicit.dirichlet_rsample`),
    `torch` (`torch.distributions.Dirichlet.rsample`, torch's own implicit Gamma gradient) or
    `score_function` (REINFORCE with a moving-average baseline; the decoder's gradient stays
    pathwise). `test_elbo`: the ELBO of the test split averaged over `eval_samples` draws;
    `seconds_per_step`: mean CPU seconds of a training step (forward, backward, update)."""

    name: Literal["dirichlet_vae"] = "dirichlet_vae"
    display_name: ClassVar[str] = "Dirichlet VAE"
    reconstructs: ClassVar[bool] = False  # the autoencoder figure interpolates Gaussian codes
    implementation: ClassVar[str] = "methodlib.methods.gradients.dirichlet_vae:DirichletVAE"
    metrics: ClassVar[tuple[str, ...]] = (*LatentVAEConfig.metrics, *RUN_METRICS)

    gradient: Literal["implicit", "score_function", "torch"] = Field(
        "implicit", description="gradient estimator of the expected log-likelihood"
    )
    prior_concentration: PositiveFloat = Field(
        0.3, le=100, description="concentration α₀ of each component of the Dirichlet prior"
    )
    min_concentration: PositiveFloat = Field(
        0.01, le=1, description="floor added to the encoder's softplus concentrations"
    )
    baseline_decay: float = Field(
        0.99, ge=0, lt=1, description="decay of the score-function arm's moving-average baseline"
    )
