"""The contract every registered method must meet: it builds from its default config, takes a
training step on tiny data on the CPU, saves and reloads, and is deterministic under a seed.
Classification methods are checked on every classification architecture through their
probabilities, generation methods on every denoiser through their samples, text methods on the
small transformer sizes through the rows of token ids they generate."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import torch

from methodlib.methods import METHOD_CONFIGS, METHODS, DataInfo, EpochContext, StepContext
from methodlib.methods import model_problem as pair_problem
from methodlib.methods.base import CLS
from methodlib.model_catalog import MODEL_NAMES
from methodlib.models import MODELS
from tests.methods.text.text_helpers import TEXT_VOCAB, text_batch, text_info

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=64)
TEXT_INFO = text_info(max_len=8)


DENSITY_INFO = replace(INFO, density={"kind": "std_normal", "dim": 64})
"""For methods that sample a target known in closed form (`mh_explicit`)."""


def info_of(name: str) -> DataInfo:
    if getattr(METHODS[name].Config, "needs_density", False):
        return DENSITY_INFO
    if METHODS[name].task in ("text_classification", "word_lm"):  # word rows, lengths as labels
        return replace(TEXT_INFO, n_classes=10)
    return TEXT_INFO if METHODS[name].task == "text" else INFO


def make(name: str, model: str):
    cls = METHODS[name]
    return cls(cls.Config(name=name), model, info_of(name))


def batch(seed: int = 0, info: DataInfo = INFO):
    if info.text is not None:  # rows of token ids and their lengths
        return text_batch(info, 16, seed)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(16, *INFO.input_shape, generator=g), torch.randint(0, 10, (16,), generator=g)


def one_step(name: str, model_name: str, seed: int = 0):
    torch.manual_seed(seed)
    method = make(name, model_name)
    model = method.build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = batch(info=method.info)
    method.on_train_start(model, x)
    loss = method.loss(model, x, y, StepContext(1, 0, 4, 2, INFO.n_train))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    x_val, y_val = batch(5, method.info)
    method.on_epoch_end(model, EpochContext(1, 2, x, y, x_val, y_val, batch_size=8))
    return method, model, loss


@pytest.fixture(params=sorted(METHODS))
def method_name(request) -> str:
    return request.param


def outputs(method, model, x: torch.Tensor) -> torch.Tensor:
    """What the method's task saves: class probabilities of `x`, or as many samples, or
    imputations of `x` with half its entries hidden."""
    if method.task in ("generation", "text"):
        return method.generate(model, len(x), "cpu")
    if method.task == "word_lm":  # per-word NLL of the rows
        return method.token_nll(model, x)
    if method.task == "imputation":
        hidden = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.5
        return method.impute(model, x.masked_fill(hidden, float("nan")))
    return method.predict_proba(model, x)


def a_model(method_name: str, classifier: str) -> str:
    cls = METHODS[method_name]
    if cls.task == "text":
        return "transformer_tiny"
    if cls.task != "classification":
        return next(m for m in sorted(MODELS) if cls.takes_model(m))
    return classifier + "_bn" if cls.needs_batch_norm else classifier


GPU_SIZED = {"transformer_base": "BERT-base sized: a GPU size, too big for a unit test"}
"""Architectures a CPU unit test does not train (their pairs are skipped, with the reason)."""


def fitting_pairs() -> list:
    """Every method with every architecture it takes, as the declarations say
    (`methods.model_problem`: task, interface, batch norm): the pairs the spec accepts."""
    return [
        pytest.param(
            name,
            model,
            id=f"{name}-{model}",
            marks=[pytest.mark.skip(reason=GPU_SIZED[model])] if model in GPU_SIZED else [],
        )
        for name in sorted(METHOD_CONFIGS)
        for model in sorted(MODEL_NAMES)
        if pair_problem(name, model) is None
    ]


@pytest.mark.parametrize(("method_name", "model_name"), fitting_pairs())
def test_training_step_gives_finite_loss_and_probabilities(method_name, model_name):
    method, model, loss = one_step(method_name, model_name)
    assert loss.ndim == 0 and torch.isfinite(loss)
    model.eval()
    probs = outputs(method, model, batch(1, method.info)[0])
    if method.task == "text":
        assert probs.shape == (16, 8) and probs.dtype == torch.long
        assert (probs[:, 0] == CLS).all() and probs.min() >= 0 and probs.max() < len(TEXT_VOCAB)
    elif method.task == "generation":
        assert probs.shape == (16, *INFO.input_shape) and torch.isfinite(probs).all()
    elif method.task == "imputation":
        assert probs.shape[1:] == (16, *INFO.input_shape) and torch.isfinite(probs).all()
    elif method.task == "word_lm":
        assert probs.shape == (16, 8) and torch.isfinite(probs).all() and (probs >= 0).all()
    else:
        assert probs.ndim == 3 and probs.shape[1:] == (16, 10)
        torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:2]))
    for key, value in {**method.run_metrics(model), **method.epoch_metrics(model)}.items():
        assert isinstance(value, float | int), key


def test_save_and_reload_gives_the_same_predictions(method_name):
    model_name = a_model(method_name, "lenet300_100")
    method, model, _ = one_step(method_name, model_name)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "method": method.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh_method = make(method_name, model_name)
    fresh = fresh_method.build_model()
    fresh.load_state_dict(state["model"])
    fresh_method.load_state_dict(state["method"])
    model.eval()
    fresh.eval()
    x = batch(2, method.info)[0]
    torch.manual_seed(7)
    expected = outputs(method, model, x)
    torch.manual_seed(7)
    torch.testing.assert_close(outputs(fresh_method, fresh, x), expected)


def test_deterministic_under_a_seed(method_name):
    model_name = a_model(method_name, "lenet5")
    _, a, loss_a = one_step(method_name, model_name, seed=3)
    _, b, loss_b = one_step(method_name, model_name, seed=3)
    assert loss_a.item() == loss_b.item()
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0, msg=name)


def test_every_method_has_a_documented_module_and_config(method_name):
    cls = METHODS[method_name]
    assert cls.name == method_name
    assert cls.Config(name=method_name).name == method_name
    assert (__import__(cls.__module__, fromlist=["_"]).__doc__ or "").strip()
