"""What the Bayesian pruning methods add to the contract every method keeps (tests/methods/
test_common.py): gradients reach the variational parameters, the KL weight warms up, the loss
is NLL + β·KL/N, dense checkpoints initialise them, they report pruning metrics, and a short
training run leaves a small network."""

from __future__ import annotations

import pytest
import torch

from methodlib.errors import RunError
from methodlib.methods import METHODS, DataInfo, StepContext
from methodlib.metrics.pruning import pruning_metrics

PRUNING = ("sparse_vd", "vd_ard", "sbp")
SHAPES = {"lenet300_100": (1, 6, 6), "lenet5": (1, 8, 8)}


def _method(name: str, model: str):
    cls = METHODS[name]
    return cls(cls.Config(), model, DataInfo(SHAPES[model], 10, 200))


def _batch(model: str, n: int = 16):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, *SHAPES[model], generator=g), torch.randint(0, 10, (n,), generator=g)


def _step(name: str, model_name: str, seed: int = 0):
    torch.manual_seed(seed)
    method = _method(name, model_name)
    model = method.build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = _batch(model_name)
    loss = method.loss(model, x, y, StepContext(0, 1, 4, 2, 200))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return method, model, loss


@pytest.mark.parametrize("model_name", list(SHAPES))
@pytest.mark.parametrize("name", PRUNING)
def test_training_step_reaches_every_parameter(name, model_name):
    _, model, loss = _step(name, model_name)
    assert torch.isfinite(loss)
    for param_name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", PRUNING)
def test_evaluation_is_the_deterministic_pruned_network(name):
    method, model, _ = _step(name, "lenet5")
    model.eval()
    x, _ = _batch("lenet5", 8)
    first = method.predict_proba(model, x)
    assert first.shape == (1, 8, 10)
    assert torch.equal(method.predict_proba(model, x), first)


@pytest.mark.parametrize("name", PRUNING)
def test_kl_weight_warms_up_linearly(name):
    cls = METHODS[name]
    method = cls(
        cls.Config(kl_weight=0.5, kl_warmup=0.4), "lenet300_100", DataInfo((1, 6, 6), 10, 200)
    )
    at = lambda epoch: method.beta(StepContext(epoch, 0, 1, 10, 200))  # noqa: E731
    assert [at(e) for e in (0, 1, 2, 4, 9)] == pytest.approx([0.0, 0.125, 0.25, 0.5, 0.5])
    assert (
        cls(cls.Config(), "lenet300_100", DataInfo((1, 6, 6), 10, 200)).beta(
            StepContext(0, 0, 1, 10, 200)
        )
        == 1.0
    )


@pytest.mark.parametrize("name", PRUNING)
def test_loss_is_per_example_nll_plus_scaled_kl(name):
    torch.manual_seed(0)
    method = _method(name, "lenet300_100")
    model = method.build_model()
    x, y = _batch("lenet300_100")
    ctx = StepContext(0, 0, 1, 1, 200)
    torch.manual_seed(5)
    loss = method.loss(model, x, y, ctx)
    torch.manual_seed(5)
    nll = torch.nn.functional.cross_entropy(model(x), y)
    torch.testing.assert_close(loss, nll + method.kl(model) / 200)


@pytest.mark.parametrize("name", PRUNING)
def test_init_from_a_dense_checkpoint(name):
    dense = _method("dense", "lenet5").build_model()
    method = _method(name, "lenet5")
    model = method.build_model()
    method.init_from(model, dense.state_dict())
    for key, value in dense.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize("name", PRUNING)
def test_init_from_another_architecture_or_input_size_fails_clearly(name):
    method = _method(name, "lenet5")
    other_model = _method("dense", "lenet300_100").build_model()
    with pytest.raises(RunError, match="does not fit"):
        method.init_from(method.build_model(), other_model.state_dict())
    cls = METHODS["dense"]
    other_data = cls(cls.Config(), "lenet5", DataInfo((1, 28, 28), 10, 9)).build_model()
    with pytest.raises(RunError, match="does not fit"):
        method.init_from(method.build_model(), other_data.state_dict())


@pytest.mark.parametrize("name", PRUNING)
def test_run_and_epoch_metrics(name):
    method, model, _ = _step(name, "lenet5")
    metrics = method.run_metrics(model)
    assert {"compression", "flops_reduction", "cpu_speedup", "kept_fraction_conv1"} <= set(metrics)
    epoch = method.epoch_metrics(model)
    assert set(epoch) == {"kl_per_example", "compression"}
    stats = method.unit_statistics(model)
    assert set(stats) >= {"conv1", "conv2", "fc1"}


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("sparse_vd", {"kl_weight": 0.1}),
        ("vd_ard", {"kl_weight": 0.1}),
        ("sbp", {"variational_lr_scale": 10}),
    ],
)
def test_learns_a_small_network_for_a_simple_problem(name, config):
    """Two of 36 features decide the class: a few hundred steps leave a network that is
    mostly pruned away and still classifies."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 1, 6, 6, generator=g)
    y = (x[:, 0, 0, 0] + x[:, 0, 0, 1] > 0).long()
    cls = METHODS[name]
    method = cls(cls.Config(**config), "lenet300_100", DataInfo((1, 6, 6), 2, 400))
    model = method.build_model()
    groups = method.param_groups(model)
    optimizer = torch.optim.Adam(
        [{"params": g["params"], "lr": 1e-2 * g.get("lr_scale", 1.0)} for g in groups]
    )
    for step in range(200):
        idx = torch.randint(0, 400, (100,), generator=g)
        loss = method.loss(model, x[idx], y[idx], StepContext(0, step, 200, 1, 400))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    metrics = pruning_metrics(model, (1, 6, 6), timed=False)
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.85
    assert metrics["compression"] > 20 and metrics["kept_units_fc1"] < 100
