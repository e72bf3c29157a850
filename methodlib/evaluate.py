"""Evaluation of one finished run: the task's metrics on its saved test outputs.

Classification: every metric for all of its samples and, as a curve, for the first k of them
(k = 1, 2, 4, ..., all). Generation: the generated samples against the test split
(`reference`): `sym_kl` (k-NN estimate, k = 10, in the domain's intrinsic dimension; vectors
only: in image dimensions it says little), `sliced_w`, `out_of_domain` (by the dataset's
domain), and for images `fid_judge`, the Fréchet distance in the feature space of the dataset's
judge classifier (`methodlib/judge.py`), and `is_judge`, the Inception-style score from its
class probabilities. Runs that saved `reconstructions` (the autoencoders) also get
`recon_rmse`, `rid` (`metrics/judge_scores.py`) and `rid_augmentation`: the RID of PAGAN's
augmentation of the test images, the floor a content-preserving reconstruction can reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from methodlib.errors import RunError
from methodlib.io import read_json, write_json
from methodlib.metrics import classification_metrics
from methodlib.metrics.classification import predictive
from methodlib.metrics.generative import frechet_distance, out_of_domain, sliced_wasserstein, sym_kl
from methodlib.metrics.judge_scores import inception_score, recon_rmse, rid
from methodlib.metrics.uncertainty import calibration_metrics, ood_auroc, reliability_bins


def prediction_metrics(
    probs: np.ndarray, labels: np.ndarray, ood_probs: np.ndarray | None = None
) -> dict[str, float]:
    """Every metric of classification outputs (samples, examples, classes); `ood_auroc` too
    when the outputs on an out-of-domain split are given."""
    metrics = {**classification_metrics(probs, labels), **calibration_metrics(probs, labels)}
    if ood_probs is not None:
        metrics["ood_auroc"] = ood_auroc(predictive(probs), predictive(ood_probs))
    return metrics


def samples_curve(
    probs: np.ndarray, labels: np.ndarray, sizes: list[int], ood_probs: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """The metrics of the first k samples, for each k in `sizes`."""
    return [
        {
            "samples": k,
            "metrics": prediction_metrics(
                probs[:k], labels, None if ood_probs is None else ood_probs[:k]
            ),
        }
        for k in sizes
    ]


def doubling_sizes(n: int) -> list[int]:
    """1, 2, 4, ... below n, then n: where a metric-against-samples curve is measured."""
    return [*(2**i for i in range(n.bit_length()) if 2**i < n), n]


def read_predictions(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A run's test probabilities (samples, examples, classes), labels, and the probabilities
    on the out-of-domain split (None when the dataset has none)."""
    try:
        with np.load(path) as outputs:
            ood = outputs.get("ood_probs", None)
            return outputs["probs"], outputs["labels"], ood
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(f"{path}: unreadable ({exc}); rerun that training job") from None


def intrinsic_dim(domain: str, ambient: int) -> int:
    """The dimension of the manifold the data live on: what the k-NN KL estimator scales by."""
    return ambient - 1 if domain in ("simplex", "sphere") else ambient


def generation_metrics(
    samples: np.ndarray,
    reference: np.ndarray,
    domain: str,
    judge: str | Path | None = None,
    reconstructions: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of generated `samples` against `reference` examples of the data, and of
    `reconstructions` of them where given."""
    flat, ref = samples.reshape(len(samples), -1), reference.reshape(len(reference), -1)
    finite = np.isfinite(flat).all(axis=1)
    metrics = {
        "out_of_domain": float(out_of_domain(flat, domain)),
        "nonfinite": float(1.0 - finite.mean()),
        "n_generated": len(samples),
    }
    flat = flat[finite]
    metrics["sliced_w"] = float(sliced_wasserstein(flat, ref))
    if samples.ndim == 2:
        metrics["sym_kl"] = float(sym_kl(flat, ref, k=10, dim=intrinsic_dim(domain, ref.shape[1])))
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

    from methodlib.judge import judge_probs
    from methodlib.methods.autoencoders.pagan import augment

    with torch.random.fork_rng():
        torch.manual_seed(0)
        augmented = augment(torch.as_tensor(reference, dtype=torch.float32))
    p_x = judge_probs(judge, reference)
    return {
        "rid": rid(p_x, judge_probs(judge, reconstructions)),
        "rid_augmentation": rid(p_x, judge_probs(judge, augmented)),
    }


def read_samples(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path) as outputs:
            return outputs["samples"], outputs["reference"]
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(f"{path}: unreadable ({exc}); rerun that training job") from None


def read_reconstructions(path: str | Path) -> np.ndarray | None:
    """The saved reconstructions of `reference`, None for methods that do not reconstruct."""
    try:
        with np.load(path) as outputs:
            return outputs.get("reconstructions", None)
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(f"{path}: unreadable ({exc}); rerun that training job") from None


def evaluate_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    judge: str | Path | None = None,
    data: str | Path | None = None,
) -> dict[str, Any]:
    """Compute metrics.json from predictions.npz and run.json of a finished run; `judge` is
    the dataset's judge (image and text generation), `data` the prepared dataset (text: its
    training texts, for `memorization`)."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / "run.json")
    if record["task"] == "generation":
        return _evaluate_generation(run_dir, record, out, judge)
    if record["task"] == "text":
        return _evaluate_text(run_dir, record, out, judge, data)
    if record["task"] != "classification":
        raise RunError(f"{run_dir}: no evaluation for task {record['task']!r}")
    probs, labels, ood_probs = read_predictions(run_dir / "predictions.npz")
    curve = samples_curve(probs, labels, doubling_sizes(probs.shape[0]), ood_probs)
    metrics = {
        **curve[-1]["metrics"],
        **record["model_stats"],
        "n_samples": int(probs.shape[0]),
        "train_seconds": record["train_seconds"],
    }
    result = {
        "experiment": record["experiment"],
        "seed": record["seed"],
        "config_hash": record["config_hash"],
        "samples": int(probs.shape[0]),
        "metrics": metrics,
        "curve": curve,
        "reliability": reliability_bins(predictive(probs), labels),
    }
    write_json(out or run_dir / "metrics.json", result)
    return result


def _evaluate_generation(run_dir: Path, record: dict, out, judge) -> dict[str, Any]:
    samples, reference = read_samples(run_dir / "predictions.npz")
    reconstructions = read_reconstructions(run_dir / "predictions.npz")
    metrics = {
        **generation_metrics(samples, reference, record["domain"], judge, reconstructions),
        **record["model_stats"],
        "train_seconds": record["train_seconds"],
    }
    result = {
        "experiment": record["experiment"],
        "seed": record["seed"],
        "config_hash": record["config_hash"],
        "samples": 1,  # one model: the tidy table's `samples` counts predictive samples
        "metrics": metrics,
        "curve": [],
    }
    write_json(out or run_dir / "metrics.json", result)
    return result


def text_sets(path: str | Path) -> tuple[dict[str, list[str]], list[str]]:
    """The generated text sets of a text run (`""` for the main sampler, `"_steps_5"`, ... for
    the extra ones) and the reference texts."""
    try:
        with np.load(path) as outputs:
            sets = {
                key.removeprefix("samples"): outputs[key].tolist()
                for key in outputs.files
                if key.startswith("samples")
            }
            return sets, outputs["reference"].tolist()
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(f"{path}: unreadable ({exc}); rerun that training job") from None


def _evaluate_text(run_dir: Path, record: dict, out, judge, data) -> dict[str, Any]:
    """Every text metric (`metrics/text.py`) of each generated set against the test texts,
    with MiniLM features for `mauve` and the dataset's judge LM for `judge_ppl`; metrics of an
    extra set carry its key (`mauve_steps_5`)."""
    from methodlib.data import load_prepared
    from methodlib.metrics.text import text_metrics
    from methodlib.text_judge import TextJudge, sentence_features

    if data is None:
        raise RunError(f"{run_dir}: a text run is evaluated with its prepared data (--data)")
    train = load_prepared(data).texts["train"]
    sets, reference = text_sets(run_dir / "predictions.npz")
    ref_features = sentence_features(reference)
    scorer = TextJudge(judge) if judge is not None else None
    metrics: dict[str, Any] = {}
    for suffix, texts in sorted(sets.items()):
        scores = text_metrics(texts, reference, train, sentence_features(texts), ref_features)
        if scorer is not None:
            scores["judge_ppl"] = scorer.perplexity(texts)
        metrics.update({f"{name}{suffix}": value for name, value in scores.items()})
    if scorer is not None:
        metrics["judge_ppl_reference"] = scorer.perplexity(reference)
    metrics.update(record["model_stats"])
    metrics["train_seconds"] = record["train_seconds"]
    result = {
        "experiment": record["experiment"],
        "seed": record["seed"],
        "config_hash": record["config_hash"],
        "samples": 1,
        "metrics": metrics,
        "curve": [],
    }
    write_json(out or run_dir / "metrics.json", result)
    return result
