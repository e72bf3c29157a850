"""Gaussian DDPM: its forward process, its ELBO weights (those of Gaussian SS-DDPM), sampling
into a constrained domain, and the Euclidean projection onto the simplex."""

from __future__ import annotations

import pytest
import torch

from methodlib.methods import DataInfo
from methodlib.methods.diffusion.ddpm import DDPM, DDPMConfig
from methodlib.methods.diffusion.star_families import make_family
from methodlib.methods.generative_base import project_simplex, to_domain


def ddpm(shape=(3,), domain="simplex", **fields) -> DDPM:
    return DDPM(DDPMConfig(**fields), "mlp_denoiser", DataInfo(shape, 1, 100, domain))


def test_schedule_reaches_the_prior():
    method = ddpm(steps=50)
    assert method.abar[0] == 1 and (method.abar.diff() < 0).all()
    assert method.abar[-1] < 1e-3


def test_forward_marginals_match_the_closed_form():
    torch.manual_seed(0)
    method = ddpm(steps=20)
    x0 = torch.tensor([[0.2, 0.3, 0.5]]).expand(20_000, 3)
    for step in (1, 10, 20):
        t = torch.full((len(x0),), step)
        x_t = method.noised(x0, t, torch.randn_like(x0))
        abar = method.abar[step]
        torch.testing.assert_close(x_t.mean(0), abar.sqrt() * x0[0], atol=0.03, rtol=0)
        torch.testing.assert_close(x_t.var(0), (1 - abar).expand(3), atol=0.03, rtol=0.05)


def test_elbo_weights_are_the_gaussian_star_kl_weights():
    """The paper's equivalence: DDPM's ELBO term at t is Gaussian SS-DDPM's KL at t − 1."""
    method = ddpm(steps=30, weighting="elbo")
    family = make_family("gaussian", 30)
    expected = 0.5 * family.snr[:-1].float()  # KL weight at s = t − 1, t = 1..T
    torch.testing.assert_close(method.elbo_weight[1:], expected, rtol=1e-4, atol=0)


@pytest.mark.parametrize(
    ("domain", "shape", "projection"),
    [("simplex", (3,), "project"), ("simplex", (3,), "clip"), ("sphere", (3,), "project")]
    + [("cube", (1, 8, 8), "clip")],
)
def test_samples_have_the_data_shape_and_lie_in_the_domain(domain, shape, projection):
    torch.manual_seed(0)
    method = DDPM(
        DDPMConfig(steps=10, projection=projection),
        "conv_denoiser" if len(shape) == 3 else "mlp_denoiser",
        DataInfo(shape, 1, 100, domain),
    )
    samples = method.generate(method.build_model().eval(), 32, "cpu")
    assert samples.shape == (32, *shape)
    flat = samples.flatten(1)
    if domain == "sphere":
        torch.testing.assert_close(flat.norm(dim=1), torch.ones(32))
    else:
        assert flat.min() >= 0 and flat.max() <= 1
    if domain == "simplex":
        torch.testing.assert_close(flat.sum(1), torch.ones(32))
    assert 0 <= method.run_metrics(None)["raw_out_of_domain"] <= 1


def test_simplex_projection_is_the_nearest_point():
    """Optimality of a projection onto a convex set: ⟨x − p, q − p⟩ ≤ 0 for every q in it."""
    g = torch.Generator().manual_seed(0)
    x = 2 * torch.randn(200, 4, generator=g, dtype=torch.float64)
    p = project_simplex(x)
    assert p.min() >= 0
    torch.testing.assert_close(p.sum(1), torch.ones(200, dtype=torch.float64))
    q = torch.distributions.Dirichlet(torch.ones(4, dtype=torch.float64)).sample((200,))
    assert (((x - p) * (q - p)).sum(1) <= 1e-9).all()
    inside = torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=torch.float64)
    torch.testing.assert_close(project_simplex(inside), inside)


def test_no_projection_leaves_samples_alone():
    x = torch.randn(5, 3)
    torch.testing.assert_close(to_domain(x, "simplex", "none"), x)
