"""The imputation task's evaluation (`methodlib/metrics/imputation.py`): `nrmse` of every run;
for images also `psnr_best`, the PSNR of the best of the K inpaintings, and `judge_classes`,
the number of distinct classes the dataset's judge classifier gives the K inpaintings of one
image (1 for a deterministic method; more where the observed part leaves the digit open)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from methodlib.io import read_npz
from methodlib.metrics.imputation import best_psnr, distinct_classes, nrmse


def imputation_metrics(
    truth: np.ndarray,
    missing: np.ndarray,
    imputations: np.ndarray,
    judge: str | Path | None = None,
) -> dict[str, float]:
    metrics = {"nrmse": nrmse(truth, missing, imputations)}
    if truth.ndim == 4:  # images, in [0, 1]
        metrics["psnr_best"] = best_psnr(truth, imputations)
    if judge is not None:
        from methodlib.judge import judge_probs, load_judge  # torch: images

        model = load_judge(judge)
        k, n = imputations.shape[:2]
        probs = judge_probs(model, imputations.reshape(k * n, *imputations.shape[2:]))
        metrics["judge_classes"] = distinct_classes(probs.argmax(axis=1).reshape(k, n))
    return metrics


def read_imputations(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with read_npz(path) as outputs:
        return outputs["truth"], outputs["missing"], outputs["imputations"]
