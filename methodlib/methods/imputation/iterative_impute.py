"""scikit-learn's `IterativeImputer` (MICE-style chained regressions, Bayesian ridge per
column): each hidden entry predicted from the others, round after round, starting from the
column means. Deterministic: one imputation per example."""

from __future__ import annotations

from typing import Any

from methodlib.methods.imputation.base import SklearnImputer
from methodlib.methods.imputation.configs import IterativeImputeConfig


class IterativeImpute(SklearnImputer):
    Config = IterativeImputeConfig

    def estimator(self) -> Any:
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        return IterativeImputer(max_iter=self.config.max_iter, random_state=0)
