"""Config models of the VAEs of the implicit-reparameterisation studies (`dirichlet_vae`,
`vmf_vae`, `von_mises_vae`), torch-free: see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt

from methodlib.methods.latent_vi.configs import LatentVAEConfig

RUN_METRICS = ("test_elbo", "seconds_per_step")
"""What these VAEs' runs add to the latent-variable family's metrics."""


class EstimatorVAEConfig(LatentVAEConfig):
    """What the VAEs of `gradients/estimator_vae.py` share: `test_elbo` (the ELBO of the test
    split averaged over `eval_samples` draws), `seconds_per_step` (mean CPU seconds of a
    training step: forward, backward, update) and the score-function arm's baseline."""

    reconstructs: ClassVar[bool] = False  # the autoencoder figure interpolates Gaussian codes
    metrics: ClassVar[tuple[str, ...]] = (*LatentVAEConfig.metrics, *RUN_METRICS)

    baseline_decay: float = Field(
        0.99, ge=0, lt=1, description="decay of the score-function arm's moving-average baseline"
    )


class DirichletVAEConfig(EstimatorVAEConfig):
    """A VAE with a Dirichlet latent z on the simplex (`latent_dim` components), a Dirichlet
    prior of equal concentrations `prior_concentration` (below 1: sparse codes) and a
    Bernoulli decoder on `vae_mlp`; the KL term is in closed form, so the four `gradient`
    arms differ only in how the expected log-likelihood's gradient reaches the encoder:
    `implicit` (our implicit reparameterisation, `gradients.implicit.dirichlet_rsample`),
    `torch` (`torch.distributions.Dirichlet.rsample`, torch's own implicit Gamma gradient),
    `rsvi` (reparameterisation through Marsaglia–Tsang's rejection sampler with the
    correction term, shape augmented by `rsvi_boost`; `gradients.rsvi`) or `score_function`
    (REINFORCE with a moving-average baseline; the decoder's gradient stays pathwise). `test_elbo`: the ELBO of the test split averaged over `eval_samples` draws;
    `seconds_per_step`: mean CPU seconds of a training step (forward, backward, update)."""

    name: Literal["dirichlet_vae"] = "dirichlet_vae"
    display_name: ClassVar[str] = "Dirichlet VAE"
    implementation: ClassVar[str] = "methodlib.methods.gradients.dirichlet_vae:DirichletVAE"

    gradient: Literal["implicit", "score_function", "torch", "rsvi"] = Field(
        "implicit", description="gradient estimator of the expected log-likelihood"
    )
    rsvi_boost: int = Field(
        1, ge=1, le=10, description="shape augmentation B of the `rsvi` arm (Gamma(α + B) drawn)"
    )
    prior_concentration: PositiveFloat = Field(
        0.3, le=100, description="concentration α₀ of each component of the Dirichlet prior"
    )
    min_concentration: PositiveFloat = Field(
        0.01, le=1, description="floor added to the encoder's softplus concentrations"
    )


class VMFVAEConfig(EstimatorVAEConfig):
    """A hyperspherical VAE (Davidson et al. 2018): z on the unit sphere S^{latent_dim − 1} of
    R^latent_dim, q(z | x) = vMF(μ(x), κ(x)), p(z) uniform, KL in closed form, Bernoulli
    decoder on `vae_mlp`. `gradient`: `implicit` (the radial component w = μᵀz with our
    implicit gradient `vmf_radial_rsample`, the tangent direction by a Householder
    reflection), `rejection` (Davidson et al.'s reparameterisation through Wood's rejection
    sampler, with the correction term of the accepted proposal's density) or `score_function`
    (REINFORCE with a moving-average baseline)."""

    name: Literal["vmf_vae"] = "vmf_vae"
    display_name: ClassVar[str] = "vMF VAE"
    implementation: ClassVar[str] = "methodlib.methods.gradients.vmf_vae:VMFVAE"

    latent_dim: int = Field(
        10, ge=3, le=512, description="dimension m of the space whose unit sphere z lies on"
    )
    gradient: Literal["implicit", "rejection", "score_function"] = Field(
        "implicit", description="gradient estimator of the expected log-likelihood"
    )
    min_concentration: PositiveFloat = Field(
        1.0, le=100, description="floor added to the encoder's softplus concentration κ"
    )


class VonMisesVAEConfig(EstimatorVAEConfig):
    """A VAE on the torus: z = `latent_dim` angles, each von Mises(μ_j(x), κ_j(x)) under q and
    uniform on the circle under p (KL in closed form); the decoder reads (cos z, sin z).
    `gradient`: `implicit` (`von_mises_rsample`) or `score_function` (REINFORCE with a
    moving-average baseline)."""

    name: Literal["von_mises_vae"] = "von_mises_vae"
    display_name: ClassVar[str] = "von Mises VAE"
    implementation: ClassVar[str] = "methodlib.methods.gradients.von_mises_vae:VonMisesVAE"

    latent_dim: PositiveInt = Field(5, le=256, description="number of angles of z")
    gradient: Literal["implicit", "score_function"] = Field(
        "implicit", description="gradient estimator of the expected log-likelihood"
    )
    min_concentration: PositiveFloat = Field(
        0.01, le=100, description="floor added to the encoder's softplus concentrations κ_j"
    )
