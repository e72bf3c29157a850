"""The semi-implicit VAEs as the reference code builds and trains them (artsobolev/IWHVI,
issue 31): ψ in every encoder layer and the variance, the K schedule that starts at the HVM
bound (K = 0), the KL warm-up, DReG gradients for τ against the surrogate of Tucker et al.
(2019) written out, and the semi-implicit VampPrior on the VampPrior's own encoder."""

from __future__ import annotations

import pytest
import torch

from methodlib.methods.base import DataInfo, StepContext
from methodlib.methods.latent_vi.base import gaussian_log_density
from methodlib.methods.latent_vi.configs import (
    GaussianVAEConfig,
    IWHVIConfig,
    SIVampPriorConfig,
    SIVIConfig,
    VampPriorConfig,
)
from methodlib.methods.latent_vi.dsivi import SIVampPrior
from methodlib.methods.latent_vi.gaussian import GaussianVAE
from methodlib.methods.latent_vi.iwhvi import IWHVI
from methodlib.methods.latent_vi.sivi import SIVI, mixing_log_weight
from methodlib.methods.latent_vi.vampprior import VampPrior

pytestmark = pytest.mark.usefixtures("double_precision")

INFO = DataInfo(input_shape=(1, 2, 3), n_classes=2, n_train=8)
X = torch.tensor(
    [
        [1, 0, 1, 1, 0, 0],
        [0, 0, 1, 0, 1, 1],
        [1, 1, 1, 0, 0, 0],
        [0, 1, 0, 1, 0, 1],
        [1, 0, 0, 0, 1, 1],
    ],
    dtype=torch.float64,
).view(5, 1, 2, 3)


def built(cls, config):
    torch.manual_seed(0)
    method = cls(config, "vae_mlp", INFO)
    return method, method.build_model()


def at(epoch: int, step: int = 0, epochs: int = 10) -> StepContext:
    return StepContext(epoch=epoch, step=step, steps_per_epoch=4, epochs=epochs, n_train=8)


def test_psi_reaches_every_encoder_layer_and_the_variance():
    _, model = built(SIVI, SIVIConfig(latent_dim=2, hidden=6, noise_dim=3))
    h = model.features(X[:1])
    psi = torch.randn(2, 1, 3, requires_grad=True)
    mean, log_var = model.encode(h, psi)
    assert not torch.allclose(log_var[0], log_var[1])  # the variance reads ψ
    (mean.sum() + log_var.sum()).backward()
    hidden = [n for n, p in model.named_parameters() if p.grad is not None and "noise" in n]
    assert len(hidden) == 2  # a weight of ψ into each of the two hidden layers


def test_the_k_schedule_starts_on_the_hvm_bound_and_ends_on_k():
    config = SIVIConfig(latent_dim=2, hidden=6, noise_dim=3, k=4, k_schedule=[[0, 0], [2, 4]])
    assert [config.k_at(e) for e in range(4)] == [0, 0, 4, 4]
    method, model = built(SIVI, config)
    torch.manual_seed(5)
    hvm = method.scheduled_bound(model, X, at(0))
    torch.manual_seed(5)
    h, psi0, z = method.draw(model, X, 1)
    log_q = gaussian_log_density(z, *model.encode(h, psi0))
    expected = method.log_likelihood(model, X, z) + method.log_prior(model, z) - log_q
    torch.testing.assert_close(hvm, expected[0])
    torch.manual_seed(5)
    late = method.scheduled_bound(model, X, at(3))
    torch.manual_seed(5)
    torch.testing.assert_close(late, method.bound(model, X))
    with pytest.raises(ValueError, match="method.k_schedule ends on K = 2"):
        SIVIConfig(k=4, k_schedule=[[0, 0], [2, 2]])
    with pytest.raises(ValueError, match="the first at epoch 0"):
        SIVIConfig(k=4, k_schedule=[[1, 4]])


@pytest.mark.parametrize("cls", [GaussianVAE, SIVI])
def test_the_warm_up_weighs_the_kl_part_linearly_up_to_one(cls):
    config = cls.Config(latent_dim=2, hidden=6, kl_warmup=0.5)
    method, model = built(cls, config)
    assert [method.kl_weight(at(e, epochs=4)) for e in (0, 1, 2, 3)] == [0.0, 0.5, 1.0, 1.0]
    bounds = []
    for epoch in (0, 1, 2):
        torch.manual_seed(2)
        bounds.append(method.scheduled_bound(model, X, at(epoch, epochs=4)))
    start, mid, full = bounds
    torch.manual_seed(2)
    torch.testing.assert_close(full, method.bound(model, X))
    torch.testing.assert_close(mid, (start + full) / 2)  # linear in the weight
    if cls is GaussianVAE:  # at weight 0 the bound is log p(x | z) alone
        torch.manual_seed(2)
        mean, log_var = model.encode(model.features(X))
        z = mean + (0.5 * log_var).exp() * torch.randn(1, *mean.shape)
        torch.testing.assert_close(start, method.log_likelihood(model, X, z)[0])


def test_a_default_warm_up_and_schedule_stay_out_of_the_config_hash():
    from methodlib.spec import validate_pipeline

    def resolved(method: dict) -> dict:
        p = validate_pipeline(
            {
                "datasets": {"digits": {"source": "digits"}},
                "experiments": {"e": {"dataset": "digits", "model": "vae_mlp", "method": method}},
            }
        )
        return p.resolved_experiment("e")["method"]

    assert "kl_warmup" not in resolved({"name": "gaussian_vae"})
    assert resolved({"name": "gaussian_vae", "kl_warmup": 0.1})["kl_warmup"] == 0.1
    assert "k_schedule" not in resolved({"name": "sivi"})


def dreg_surrogate(method: IWHVI, model, x: torch.Tensor, k: int, kl: float) -> torch.Tensor:
    """Tucker et al.'s surrogate for τ written out: Σ_k s_k² β_k(ψ_k(φ)) with τ's density at
    detached parameters, plus s_0 β_0(φ) of the draw ψ_0 not made by τ, times −w; its
    gradient in τ's parameters is DReG's. Draws as `dreg_bound` makes them."""
    h, psi0, z = method.draw(model, x, 1)
    z = z.detach()
    mean, log_var = model.reverse_model(x, z)
    noise = torch.randn((k, *z.shape[:-1], model.noise_dim))
    psi = mean + (0.5 * log_var).exp() * noise
    stopped = (mean.detach(), log_var.detach())
    first = mixing_log_weight(model, h, z, psi0, (mean, log_var))
    betas = torch.cat([first.unsqueeze(0), mixing_log_weight(model, h, z, psi, stopped)])
    s = torch.softmax(betas.detach(), 0)
    weights = torch.cat([s[:1], s[1:] ** 2])
    return -kl * (weights * betas).sum(0)[0]


def test_dreg_gives_tau_the_doubly_reparameterised_gradient_and_the_rest_the_plain_one():
    config = IWHVIConfig(latent_dim=2, hidden=6, noise_dim=3, k=4)
    method, model = built(IWHVI, config)
    plain_method = IWHVI(config.model_copy(update={"tau_gradient": "plain"}), "vae_mlp", INFO)
    kl = 0.7

    def grads(bound_fn) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad()
        torch.manual_seed(9)
        value = bound_fn()
        value.sum().backward()
        return value.detach(), {
            n: torch.zeros_like(p) if p.grad is None else p.grad.clone()
            for n, p in model.named_parameters()
        }

    dreg_value, dreg = grads(lambda: method.training_bound(model, X, 4, kl))
    plain_value, plain = grads(lambda: plain_method.training_bound(model, X, 4, kl))
    _, surrogate = grads(lambda: dreg_surrogate(method, model, X, 4, kl))
    torch.testing.assert_close(dreg_value, plain_value)
    for name in dreg:
        if name.startswith("reverse."):
            torch.testing.assert_close(dreg[name], surrogate[name])
            assert not torch.allclose(dreg[name], plain[name])
        else:
            torch.testing.assert_close(dreg[name], plain[name])


def test_the_semi_implicit_vampprior_sits_on_the_vampprior_encoder():
    _, vamp = built(VampPrior, VampPriorConfig(latent_dim=2, hidden=6, pseudo_inputs=3))
    _, si = built(SIVampPrior, SIVampPriorConfig(latent_dim=2, hidden=6, prior_k=3))
    _, gauss = built(GaussianVAE, GaussianVAEConfig(latent_dim=2, hidden=6))

    def encoder(model) -> dict[str, torch.Size]:
        return {
            n: p.shape
            for n, p in model.named_parameters()
            if not n.startswith(("pseudo", "prior_generator"))
        }

    assert encoder(si) == encoder(vamp) == encoder(gauss)
    assert si.noise_dim == 0 and si.prior_generator is not None
    method = SIVampPrior(SIVampPriorConfig(latent_dim=2, hidden=6, prior_k=3), "vae_mlp", INFO)
    mean, log_var = method.prior_components(si, 4, "cpu")
    assert mean.shape == log_var.shape == (4, 2)
