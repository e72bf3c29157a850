"""Pruning metrics and the shrunk network: hand-made cases, and equivalence with the masked
network on the real architectures."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.methods import METHODS, DataInfo
from methodlib.metrics.pruning import chain, pruning_metrics, shrink, weight_layers

torch.set_num_threads(1)  # tiny networks: a second thread only waits for a busy core


def _tiny() -> nn.Sequential:
    """4 inputs → 3 hidden (ReLU) → 2 outputs, with hand-set weights."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Identity(), nn.Linear(3, 2))
    with torch.no_grad():
        net[1].weight.copy_(
            torch.tensor(
                [
                    [0.0, 0.0, 0.0, 0.0],  # dead: no input, bias ≤ 0
                    [1.0, 0.0, 2.0, 0.0],  # alive but its output is never read
                    [0.5, -1.0, 0.0, 0.0],  # kept
                ]
            )
        )
        net[1].bias.copy_(torch.tensor([-1.0, 0.3, 0.1]))
        net[4].weight.copy_(torch.tensor([[3.0, 0.0, 1.0], [-2.0, 0.0, 0.0]]))
    return net


def test_shrink_removes_dead_and_unread_units_and_unused_inputs():
    net = _tiny()
    shrunk = shrink(net, (4,))
    assert shrunk.kept["input"].tolist() == [True, True, False, False]
    assert shrunk.kept["fc1"].tolist() == [False, False, True]
    first, second = weight_layers(shrunk.network)
    assert (first.in_features, first.out_features, second.in_features) == (2, 1, 1)
    x = torch.randn(10, 4)
    torch.testing.assert_close(shrunk.network(x), net(x))


def test_a_constant_unit_that_is_read_is_kept():
    net = _tiny()
    with torch.no_grad():
        net[1].bias[0] = 0.7  # relu(0.7) reaches the output through weight 3.0
    shrunk = shrink(net, (4,))
    assert shrunk.kept["fc1"].tolist() == [True, False, True]


def test_metrics_of_the_hand_made_network():
    metrics = pruning_metrics(_tiny(), (4,), timed=False)
    # 18 weights in all; the small network keeps 2 (fc1) + 1 (fc2) non-zero ones.
    assert metrics["compression"] == pytest.approx(18 / 3)
    assert metrics["sparsity_fc1"] == pytest.approx(1 - 2 / 12)
    assert metrics["sparsity_fc2"] == pytest.approx(1 - 1 / 6)
    assert metrics["kept_units_fc1"] == 1 and metrics["kept_fraction_input"] == 0.5
    assert metrics["flops_reduction"] == pytest.approx(18 / (2 * 1 + 1 * 2))
    assert "kept_units_fc2" not in metrics  # the output layer keeps every class


def test_dense_networks_have_nothing_removed():
    method = METHODS["dense"](METHODS["dense"].Config(), "lenet5", DataInfo((1, 8, 8), 10, 50))
    metrics = method.run_metrics(method.build_model())
    assert metrics["compression"] == metrics["flops_reduction"] == metrics["cpu_speedup"] == 1.0
    assert all(metrics[k] == 1.0 for k in metrics if k.startswith("kept_fraction"))


def _pruned(method_name: str, model_name: str, input_shape, seed: int = 0):
    """A model of `method_name` with random parts pruned away, as after training."""
    torch.manual_seed(seed)
    cls = METHODS[method_name]
    method = cls(cls.Config(), model_name, DataInfo(input_shape, 10, 100))
    model = method.build_model()
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "log_sigma2"):  # about 90 % of weights beyond the threshold
                module.log_sigma2.copy_(torch.log(module.weight.square()) + 4.5)
                module.log_sigma2.add_(torch.randn_like(module.log_sigma2) * 1.2)
            if hasattr(module, "mu"):  # about half the groups with a low SNR
                module.mu.copy_(torch.randn_like(module.mu) - 1)
                module.log_sigma.copy_(torch.randn_like(module.log_sigma) * 0.7)
    return method, model


CASES = [
    (method, model, shape)
    for method in ("sparse_vd", "vd_ard", "sbp")
    for model, shape in (
        ("lenet300_100", (1, 28, 28)),
        ("lenet5", (1, 28, 28)),
        ("lenet5", (1, 8, 8)),
    )
]


@pytest.mark.parametrize(("method_name", "model_name", "input_shape"), CASES)
def test_shrunk_network_computes_the_masked_network(method_name, model_name, input_shape):
    _, model = _pruned(method_name, model_name, input_shape)
    shrunk = shrink(model, input_shape, check=False)
    model.eval()
    x = torch.randn(20, *input_shape)
    with torch.no_grad():
        torch.testing.assert_close(shrunk.network(x), model(x), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(shrunk.full(x), model(x), atol=1e-4, rtol=1e-4)
    hidden = [k for name, k in shrunk.kept.items() if name not in ("input", shrunk.names[-1])]
    assert any(not k.all() for k in hidden), "nothing was removed: the case tests nothing"


def test_sbp_keeps_exactly_the_groups_with_high_snr():
    method, model = _pruned("sbp", "lenet5", (1, 28, 28))
    expected = {name: (snr > 0) for name, (snr, _, _) in method.unit_statistics(model).items()}
    shrunk = shrink(model, (1, 28, 28))
    for name, kept in expected.items():
        assert torch.equal(shrunk.kept[name], kept), name
    k1, k2, k3 = (int(expected[n].sum()) for n in ("conv1", "conv2", "fc1"))
    macs = k1 * 25 * 24 * 24 + k2 * k1 * 25 * 8 * 8 + k2 * 16 * k3 + k3 * 10
    metrics = pruning_metrics(model, (1, 28, 28), timed=False)
    assert metrics["pruned_flops"] == macs
    assert metrics["flops_reduction"] == pytest.approx(2_293_000 / macs)


def test_cpu_speedup_is_measured_when_units_are_removed():
    method, model = _pruned("sbp", "lenet300_100", (1, 28, 28))
    metrics = method.run_metrics(model)
    assert metrics["flops_reduction"] > 1 and metrics["cpu_speedup"] > 0


class _Residual(nn.Module):
    """Its forward is not its modules in sequence: shrinking it must fail loudly."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.b(x + self.a(x))


def test_a_non_sequential_model_is_refused():
    assert len(chain(_Residual())) == 2
    with pytest.raises(RunError, match="differs from the masked one"):
        shrink(_Residual(), (4,))


def test_unknown_modules_are_refused():
    with pytest.raises(RunError, match="BatchNorm1d"):
        shrink(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)), (4,))
