"""The imputation task's evaluation (`methodlib/metrics/imputation.py`): `nrmse` of every run;
for images also `psnr_best`, the PSNR of the best of the K inpaintings, and `judge_classes`,
the number of distinct classes the dataset's judge classifier gives the K inpaintings of one
image (1 for a deterministic method; more where the observed part leaves the digit open), and
`judge_classes_ambiguous`, the same over the images whose observed part the training split
shares between classes (`ambiguous_halves`; their share is `ambiguous_share`): a sampler's
diversity where the paper says it matters, comparable between samplers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from methodlib.io import read_npz
from methodlib.metrics.imputation import ambiguous_halves, best_psnr, distinct_classes, nrmse


def imputation_metrics(
    truth: np.ndarray,
    missing: np.ndarray,
    imputations: np.ndarray,
    judge: str | Path | None = None,
    train: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """`train` is the training split (images in the data's units, labels), which tells the
    ambiguous test images apart; without it only `judge_classes` over every image is scored."""
    metrics = {"nrmse": nrmse(truth, missing, imputations)}
    if truth.ndim == 4:  # images, in [0, 1]
        metrics["psnr_best"] = best_psnr(truth, imputations)
    if judge is not None:
        from methodlib.judge import judge_probs, load_judge  # torch: images

        model = load_judge(judge)
        k, n = imputations.shape[:2]
        probs = judge_probs(model, imputations.reshape(k * n, *imputations.shape[2:]))
        classes = probs.argmax(axis=1).reshape(k, n)
        metrics["judge_classes"] = distinct_classes(classes)
        if train is not None:
            ambiguous = ambiguous_halves(*train, truth, missing)
            metrics["judge_classes_ambiguous"] = distinct_classes(classes, where=ambiguous)
            metrics["ambiguous_share"] = float(ambiguous.mean())
    return metrics


def read_imputations(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with read_npz(path) as outputs:
        return outputs["truth"], outputs["missing"], outputs["imputations"]
