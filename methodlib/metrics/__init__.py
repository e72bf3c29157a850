"""Evaluation, one module per task; every method of a task gets all of its metrics."""

from methodlib.metrics.classification import classification_metrics

__all__ = ["classification_metrics"]
