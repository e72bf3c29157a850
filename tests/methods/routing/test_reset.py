"""ReSet's routed network and route statistics against direct computations, and its parameter
count against the fixed-depth baseline's."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from methodlib.methods import METHODS, DataInfo, EpochContext
from methodlib.methods.routing.configs import FixedResNetConfig, ReSetConfig
from methodlib.methods.routing.reset import mean_class_distance, route_profiles, route_statistics
from methodlib.models import Layers
from methodlib.models.routed_resnet import RoutedResNet
from methodlib.models.stats import count_flops, count_params

MNIST = DataInfo(input_shape=(1, 28, 28), n_classes=10, n_train=100)


def build(name: str, **fields):
    config = {"reset": ReSetConfig, "resnet_fixed": FixedResNetConfig}[name](**fields)
    return METHODS[name](config, "resnet_units", MNIST)


def test_reset_has_the_parameter_count_of_the_fixed_depth_network():
    reset = count_params(build("reset").build_model())
    fixed = count_params(build("resnet_fixed").build_model())
    assert fixed < reset <= 1.01 * fixed
    assert reset - fixed == 16 * 4 + 8 * 4  # the controller: C·K weights and T·K step biases


def test_evaluation_applies_the_argmax_unit_to_each_input():
    torch.manual_seed(0)
    net = RoutedResNet((1, 8, 8), 10, Layers(), channels=4, units=3, steps=5).double().eval()
    torch.nn.init.normal_(net.step_bias)
    x = torch.randn(7, 1, 8, 8, dtype=torch.float64)
    logits, routes = net.forward_with_routes(x)
    h = net.stem(x)
    for t in range(5):  # the one-hot mixture of every unit's output, as in training
        choice = (net.controller(h.mean((2, 3))) + net.step_bias[t]).argmax(1)
        assert torch.equal(choice, routes[:, t])
        weights = F.one_hot(choice, 3).double()
        h = h + sum(weights[:, k, None, None, None] * unit(h) for k, unit in enumerate(net.units))
    torch.testing.assert_close(logits, net.head(F.relu(h).mean((2, 3))))


def test_training_applies_one_unit_and_trains_the_controller():
    torch.manual_seed(1)
    net = RoutedResNet((1, 8, 8), 10, Layers(), channels=4, units=3, steps=2).double().train()
    x = torch.randn(6, 1, 8, 8, dtype=torch.float64)
    torch.manual_seed(5)
    logits, routes = net.forward_with_routes(x)
    h = net.stem(x)
    for t in range(2):  # forward value: exactly the sampled unit
        h = torch.stack([h[i] + net.units[routes[i, t]](h[i : i + 1])[0] for i in range(6)])
    torch.testing.assert_close(logits, net.head(F.relu(h).mean((2, 3))))
    logits.sum().backward()
    assert net.controller.weight.grad.abs().sum() > 0 and net.step_bias.grad.abs().sum() > 0


def test_fixed_depth_stacks_every_unit_once():
    torch.manual_seed(2)
    net = RoutedResNet((1, 8, 8), 10, Layers(), channels=4, units=3)
    x = torch.randn(5, 1, 8, 8)
    h = net.stem(x)
    for unit in net.units:
        h = h + unit(h)
    logits, routes = net.forward_with_routes(x)
    torch.testing.assert_close(logits, net.head(F.relu(h).mean((2, 3))))
    assert routes.shape == (5, 0) and not hasattr(net, "controller")


def test_flops_count_one_unit_per_step():
    reset = build("reset", steps=8).build_model()
    fixed = build("resnet_fixed").build_model()
    unit = count_flops(reset.units[0], (16, 7, 7))
    controller = 8 * 16 * 4
    assert (
        count_flops(reset, (1, 28, 28)) - count_flops(fixed, (1, 28, 28)) == 4 * unit + controller
    )


def test_route_profiles_count_class_shares():
    routes = torch.tensor([[0, 1], [0, 2], [1, 1], [2, 2]])
    labels = torch.tensor([0, 0, 1, 2])
    profiles, present = route_profiles(routes, labels, units=3, classes=4)
    for c, t, k in itertools.product(range(3), range(2), range(3)):
        members = labels == c
        expected = (routes[members, t] == k).float().mean()
        assert profiles[c, t, k] == pytest.approx(expected.item())
    assert present.tolist() == [True, True, True, False]


def test_mean_class_distance_is_the_mean_total_variation_over_pairs_and_steps():
    torch.manual_seed(3)
    profiles = torch.rand(4, 3, 5)
    profiles /= profiles.sum(-1, keepdim=True)
    present = torch.tensor([True, True, False, True])
    kept = [0, 1, 3]
    pairs = [(a, b) for a in kept for b in kept if a != b]
    expected = sum(
        0.5 * (profiles[a, t] - profiles[b, t]).abs().sum() / 3 for a, b in pairs for t in range(3)
    ) / len(pairs)
    assert mean_class_distance(profiles, present) == pytest.approx(expected.item())


def test_routes_set_by_the_class_separate_and_random_routes_do_not():
    g = torch.Generator().manual_seed(4)
    labels = torch.arange(10).repeat(40)
    by_class = torch.stack([labels % 4, (labels // 4) % 4], 1)
    stats = route_statistics(by_class, labels, units=4, classes=10, shuffles=20)
    assert stats["route_separation"] > 0.5
    random_routes = torch.randint(0, 4, (400, 2), generator=g)
    noise = route_statistics(random_routes, labels, units=4, classes=10, shuffles=20)
    assert abs(noise["route_separation"]) < 0.05
    same = route_statistics(torch.zeros(400, 2).long(), labels, units=4, classes=10, shuffles=5)
    assert same["route_separation"] == same["route_class_distance"] == 0.0
    assert sum(same[f"route_unit0_class{c}"] for c in range(10)) == pytest.approx(10.0)


def test_reset_reports_route_metrics_after_the_last_epoch():
    torch.manual_seed(5)
    method = build("reset", channels=4, units=2, steps=3, shuffles=3)
    model = method.build_model()
    x = torch.randn(30, 1, 28, 28)
    y = torch.arange(10).repeat(3)
    method.on_epoch_end(model, EpochContext(0, 2, x, y, x, y, batch_size=8))
    assert method.run_metrics(model) == {}
    method.on_epoch_end(model, EpochContext(1, 2, x, y, x, y, batch_size=8))
    metrics = method.run_metrics(model)
    assert {"route_separation", "route_unit1_class9"} <= set(metrics)
    fresh = build("reset", channels=4, units=2, steps=3, shuffles=3)
    fresh.load_state_dict(method.state_dict())
    assert fresh.run_metrics(model) == metrics
