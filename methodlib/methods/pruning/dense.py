"""`dense`: ordinary maximum-likelihood training, the baseline every method is compared with."""

from __future__ import annotations

from torch import nn

from methodlib.methods.base import ClassifierMethod
from methodlib.methods.pruning.configs import DenseConfig
from methodlib.metrics.pruning import pruning_metrics


class Dense(ClassifierMethod):
    Config = DenseConfig

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        """The pruning metrics too (compression 1, nothing removed), so that the dense
        baseline sits on the same error-against-compression figures as the pruning methods.
        Architectures with batch norm are not shrunk (no pruning method uses them)."""
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            return {}
        return pruning_metrics(model, self.info.input_shape)
