"""MC dropout: dropout sits after hidden layers, stays on at test time, and its samples vary."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from methodlib.methods import DataInfo
from methodlib.methods.ensembles.mc_dropout import MCDropout, MCDropoutConfig

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=64)


def dropouts(model: nn.Module) -> list[nn.Dropout]:
    return [m for m in model.modules() if isinstance(m, nn.Dropout)]


def test_dropout_follows_the_hidden_layers_it_is_asked_for():
    mlp = MCDropout(MCDropoutConfig(p=0.3), "lenet300_100", INFO).build_model()
    assert [m.p for m in dropouts(mlp)] == [0.3, 0.3]
    conv = MCDropout(MCDropoutConfig(), "lenet5", INFO).build_model()
    assert [m.p for m in dropouts(conv)] == [0.5]  # the 500-unit layer only
    conv_all = MCDropout(MCDropoutConfig(p_conv=0.1), "lenet5", INFO).build_model()
    assert [m.p for m in dropouts(conv_all)] == [0.1, 0.1, 0.5]


def test_predictions_are_samples_with_dropout_on_and_modes_restored():
    torch.manual_seed(0)
    method = MCDropout(MCDropoutConfig(samples=7), "lenet300_100", INFO)
    model = method.build_model().eval()
    x = torch.randn(5, *INFO.input_shape)
    probs = method.predict_proba(model, x)
    assert probs.shape == (7, 5, 10)
    assert not torch.allclose(probs[0], probs[1])  # each sample draws its own masks
    assert not any(m.training for m in model.modules())
    torch.manual_seed(1)
    a = method.predict_proba(model, x)
    torch.manual_seed(1)
    torch.testing.assert_close(method.predict_proba(model, x), a)


def test_rates_are_validated():
    with pytest.raises(ValidationError):
        MCDropoutConfig(p=1.0)
    with pytest.raises(ValidationError):
        MCDropoutConfig(samples=0)
