"""scikit-learn's `KNNImputer`: each hidden entry is the mean of that column over the
`neighbours` training rows nearest on the observed columns (NaN-aware Euclidean distance).
Deterministic: one imputation per example."""

from __future__ import annotations

from typing import Any

from methodlib.methods.imputation.base import SklearnImputer
from methodlib.methods.imputation.configs import KNNImputeConfig


class KNNImpute(SklearnImputer):
    Config = KNNImputeConfig

    def estimator(self) -> Any:
        from sklearn.impute import KNNImputer

        return KNNImputer(n_neighbors=self.config.neighbours)
