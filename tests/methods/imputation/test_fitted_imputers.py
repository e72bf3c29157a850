"""The fitted baselines: the column mean, and scikit-learn's imputers fitted on the training
rows, each against the estimator used directly; their fit survives a checkpoint."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer

from methodlib.methods import DataInfo
from methodlib.methods.imputation.iterative_impute import IterativeImpute
from methodlib.methods.imputation.knn_impute import KNNImpute
from methodlib.methods.imputation.mean_impute import MeanImpute

INFO = DataInfo((4,), 1, 40)


def fitted(cls, **config):
    method = cls(cls.Config(name=cls.name, **config), "imputation_mlp", INFO)
    model = method.build_model()
    rng = np.random.default_rng(0)
    x_train = torch.as_tensor(
        rng.normal(size=(40, 4)) @ rng.normal(size=(4, 4)), dtype=torch.float32
    )
    method.on_train_start(model, x_train)
    x = torch.as_tensor(rng.normal(size=(10, 4)), dtype=torch.float32)
    hidden = torch.as_tensor(rng.random((10, 4)) < 0.4)
    return method, model, x_train, x.masked_fill(hidden, float("nan")), hidden


def test_mean_imputation_fills_training_means_and_keeps_the_rest():
    method, model, x_train, x, hidden = fitted(MeanImpute)
    out = method.impute(model, x)
    assert out.shape == (1, 10, 4)
    expected = torch.where(hidden, x_train.mean(0).expand_as(x), x)
    torch.testing.assert_close(out[0], expected)


def test_knn_imputer_is_sklearns():
    method, model, x_train, x, _ = fitted(KNNImpute, neighbours=3)
    expected = KNNImputer(n_neighbors=3).fit(x_train.double().numpy()).transform(x.double().numpy())
    np.testing.assert_allclose(method.impute(model, x)[0].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_iterative_imputer_is_sklearns():
    method, model, x_train, x, _ = fitted(IterativeImpute, max_iter=5)
    estimator = IterativeImputer(max_iter=5, random_state=0).fit(x_train.double().numpy())
    expected = estimator.transform(x.double().numpy())
    np.testing.assert_allclose(method.impute(model, x)[0].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_the_fit_is_method_state_and_the_loss_is_zero():
    method, model, _, x, _ = fitted(KNNImpute)
    fresh = KNNImpute(KNNImpute.Config(name="knn_impute"), "imputation_mlp", INFO)
    fresh.load_state_dict(method.state_dict())
    torch.testing.assert_close(fresh.impute(model, x), method.impute(model, x))
    loss = method.loss(model, x, torch.zeros(10), None)
    assert loss.item() == 0.0 and loss.requires_grad
