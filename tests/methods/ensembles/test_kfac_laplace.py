"""`kfac_laplace`: Kronecker factors against per-example computations and the exact Fisher, the
posterior draws' covariance, the choice of the noise scale, and a run through the training
loop."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods import DataInfo, EpochContext
from methodlib.methods.ensembles.kfac_laplace import (
    KFACLaplace,
    KFACLaplaceConfig,
    inverse_sqrt_factor,
    kronecker_factors,
    laplace_layers,
)
from tests.methods.ensembles.pitfalls_helpers import smoke_run

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=64)


def _with_one(a: torch.Tensor) -> torch.Tensor:
    return torch.cat([a, torch.ones(len(a), 1)], dim=1)


def test_linear_factors_are_the_per_example_averages():
    """A = mean of ā·āᵀ, G = mean of g·gᵀ with g = softmax − one-hot (the gradient of the
    cross-entropy with respect to the logits), here for given labels."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3))
    x, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    ((a, g),) = kronecker_factors(model, laplace_layers(model), x, batch_size=7, y=y).values()
    rows = _with_one(x)
    grads = F.softmax(model(x), -1).detach() - F.one_hot(y, 3)
    torch.testing.assert_close(a, rows.T @ rows / 20)
    torch.testing.assert_close(g, grads.T @ grads / 20)


def test_conv_factors_follow_kfc_over_patches_and_positions():
    """Ω = E[Σ_t ā_t ā_tᵀ] over each example's receptive-field patches, Γ = E[Σ_t g_t g_tᵀ]/T,
    computed here with explicit loops over examples and output positions."""
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(3 * 16, 4))
    x, y = torch.randn(5, 2, 4, 4), torch.randint(0, 4, (5,))
    factors = kronecker_factors(model, laplace_layers(model), x, batch_size=2, y=y)
    a, g = factors["0"]

    out = conv(x)
    out.retain_grad()
    F.cross_entropy(model[1:](out), y, reduction="sum").backward()
    padded = F.pad(x, (1, 1, 1, 1))
    a_expected, g_expected = torch.zeros(19, 19), torch.zeros(3, 3)
    for i in range(5):
        for h in range(4):
            for w in range(4):
                patch = torch.cat([padded[i, :, h : h + 3, w : w + 3].flatten(), torch.ones(1)])
                a_expected += torch.outer(patch, patch)
                grad = out.grad[i, :, h, w]
                g_expected += torch.outer(grad, grad) / 16
    torch.testing.assert_close(a, a_expected / 5)
    torch.testing.assert_close(g, g_expected / 5)


def test_kronecker_fisher_matches_the_exact_fisher_where_it_is_exact():
    """For a linear softmax model whose predictive does not depend on the input (zero weights)
    the Fisher E_x E_{y~p}[∇∇ᵀ] = E[ā āᵀ] ⊗ (diag p − p pᵀ) factorises exactly; the K-FAC factors
    from labels sampled from the predictive must recover it."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor([0.5, -0.5, 1.0, 0.0]))
    x = torch.randn(40, 3)

    def log_proba(flat: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        matrix = flat.view(4, 4)
        return F.log_softmax(matrix[:, :3] @ xi + matrix[:, 3], -1)

    w_star = torch.cat([model[0].weight, model[0].bias[:, None]], 1).detach().flatten()
    exact = torch.zeros(16, 16)
    for xi in x:
        jac = torch.autograd.functional.jacobian(lambda w, xi=xi: log_proba(w, xi), w_star)
        probs = log_proba(w_star, xi).exp()
        exact += torch.einsum("y,yi,yj->ij", probs, jac, jac) / len(x)

    repeated = x.repeat(500, 1)
    ((a, g),) = kronecker_factors(model, laplace_layers(model), repeated, batch_size=5000).values()
    kfac = torch.einsum("ij,ab->aibj", a, g).reshape(16, 16)  # vec over (out, in), rows first
    torch.testing.assert_close(kfac, exact, atol=0.01, rtol=0.05)


def test_posterior_draws_have_the_kronecker_covariance():
    """Noise C_G·Z·C_Aᵀ has E[n_oi n_o'i'] = (Ḡ⁻¹)_oo' (Ā⁻¹)_ii'."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3))
    a = torch.tensor([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]])
    g = torch.tensor([[0.5, -0.2, 0.0], [-0.2, 0.4, 0.1], [0.0, 0.1, 0.3]])
    method = KFACLaplace(KFACLaplaceConfig(), "lenet300_100", INFO)
    method.factors = {
        "0": {"rows": inverse_sqrt_factor(g, 4.0, 0.5), "cols": inverse_sqrt_factor(a, 4.0, 0.5)}
    }
    draws = torch.stack([method._noise(model)["0"] for _ in range(40_000)]).flatten(1)
    empirical = draws.T @ draws / len(draws)
    eye = torch.eye(3)
    expected = torch.kron(torch.linalg.inv(4 * g + 0.5 * eye), torch.linalg.inv(4 * a + 0.5 * eye))
    torch.testing.assert_close(empirical, expected, atol=0.01, rtol=0.05)


def _fitted(right: bool) -> KFACLaplace:
    """Fit on random data a confident network, validated on the classes it finds most likely
    (`right`) or least likely."""
    torch.manual_seed(0)
    method = KFACLaplace(KFACLaplaceConfig(noise_scales=[1e-3, 1e-1, 10.0]), "lenet300_100", INFO)
    model = method.build_model()
    with torch.no_grad():
        model.net[-1].weight.mul_(30)  # a confident network, as training makes it
    x, x_val = torch.randn(64, *INFO.input_shape) * 3, torch.randn(200, *INFO.input_shape) * 3
    y = torch.randint(0, 10, (64,))
    with torch.no_grad():
        logits = model(x_val)
    y_val = logits.argmax(1) if right else logits.argmin(1)
    method.on_epoch_end(model, EpochContext(0, 1, x, y, x_val, y_val, batch_size=32))
    return method


def test_the_noise_scale_is_the_grid_point_with_the_lowest_validation_nll():
    """The confident network's own predictions favour the least noise; the classes it rules
    out the most. Either way the kept τ is the grid's validation-NLL minimiser."""
    confident, random = _fitted(True), _fitted(False)
    assert confident.noise_scale == 1e-3
    assert random.noise_scale == 10.0
    for method in (confident, random):
        nll = method.grid_nll
        assert len(nll) == 3
        assert method.noise_scale == [1e-3, 1e-1, 10.0][int(nll.argmin())]
        assert method.run_metrics(None)["laplace_val_nll"] == nll.min().item()


def test_before_the_fit_it_predicts_as_the_trained_network():
    torch.manual_seed(0)
    method = KFACLaplace(KFACLaplaceConfig(), "lenet5", INFO)
    model = method.build_model().eval()
    x = torch.randn(4, *INFO.input_shape)
    probs = method.predict_proba(model, x)
    assert probs.shape == (1, 4, 10)
    torch.testing.assert_close(probs[0], F.softmax(model(x), -1))
    assert method.state_dict() == {} and method.run_metrics(model) == {}


def test_end_to_end_on_tiny_digits(tmp_path, data_root):
    record, probs, accuracy = smoke_run(
        tmp_path, data_root, method={"name": "kfac_laplace", "samples": 4}
    )
    assert probs.shape[0] == 4
    assert not (probs[0] == probs[1]).all()
    assert accuracy > 0.5  # chance is 0.1
    assert record["model_stats"]["laplace_noise_scale"] in KFACLaplaceConfig().noise_scales
