"""The generation task's evaluation: the generated samples against the test split
(`reference`): `sym_kl` (k-NN estimate, k = 10, in the domain's intrinsic dimension; vectors
only: in image dimensions it says little), `sliced_w`, `out_of_domain` (by the dataset's
domain), and for images `fid_judge`, the Fréchet distance in the feature space of the dataset's
judge classifier (`methodlib/judge.py`), and `is_judge`, the Inception-style score from its
class probabilities. Runs that saved `reconstructions` (the autoencoders) also get
`recon_rmse`, `rid` (`metrics/judge_scores.py`) and `rid_augmentation`: the RID of PAGAN's
augmentation (`methodlib/data/augment.py`) of the test images, the floor a content-preserving
reconstruction can reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from methodlib.io import read_npz
from methodlib.metrics.generative import frechet_distance, out_of_domain, sample_distances
from methodlib.metrics.judge_scores import inception_score, recon_rmse, rid


def generation_metrics(
    samples: np.ndarray,
    reference: np.ndarray,
    domain: str,
    judge: str | Path | None = None,
    reconstructions: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of generated `samples` against `reference` examples of the data, and of
    `reconstructions` of them where given."""
    flat = samples.reshape(len(samples), -1)
    finite = np.isfinite(flat).all(axis=1)
    metrics = {
        "out_of_domain": float(out_of_domain(flat, domain)),
        "nonfinite": float(1.0 - finite.mean()),
        "n_generated": len(samples),
    }
    metrics.update(sample_distances(samples[finite], reference, domain))
    if reconstructions is not None:
        metrics["recon_rmse"] = recon_rmse(reference, reconstructions)
    if judge is not None:
        from methodlib.judge import judge_features, judge_probs, load_judge  # torch: images

        model = load_judge(judge)
        real = judge_features(model, reference)
        fake = judge_features(model, samples[finite])
        metrics["fid_judge"] = float(frechet_distance(fake, real))
        metrics["is_judge"] = inception_score(judge_probs(model, samples[finite]))
        if reconstructions is not None:
            metrics.update(reconstruction_rids(model, reference, reconstructions))
    return metrics


def reconstruction_rids(
    judge: Any, reference: np.ndarray, reconstructions: np.ndarray
) -> dict[str, float]:
    """`rid` of the reconstructions and `rid_augmentation` of PAGAN's augmentation of the
    same images (a fixed draw, so that every run of a dataset has the same floor)."""
    import torch

    from methodlib.data.augment import augment
    from methodlib.judge import judge_probs

    with torch.random.fork_rng():
        torch.manual_seed(0)
        augmented = augment(torch.as_tensor(reference, dtype=torch.float32))
    p_x = judge_probs(judge, reference)
    return {
        "rid": rid(p_x, judge_probs(judge, reconstructions)),
        "rid_augmentation": rid(p_x, judge_probs(judge, augmented)),
    }


def read_samples(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    with read_npz(path) as outputs:
        return outputs["samples"], outputs["reference"]


def read_reconstructions(path: str | Path) -> np.ndarray | None:
    """The saved reconstructions of `reference`, None for methods that do not reconstruct."""
    with read_npz(path) as outputs:
        return outputs.get("reconstructions", None)
