"""Metrics of generated text, as in the TEncDM paper (Shabalin et al. 2024, "TEncDM: Understanding
the Properties of Diffusion Model in the Space of Language Model Encodings"): quality against
held-out text (MAUVE), diversity (distinct-n, self-BLEU), copying of the training set
(memorization) and lengths.

- `mauve` (Pillutla et al. 2021, NeurIPS): how well two distributions of sentence features
  match, from the divergence frontier of their quantised histograms, after the reference code
  (github.com/krishnap25/mauve, `compute_mauve.py`; the features come from MiniLM). Kept
  instead of the `mauve-text` package (GPLv3, faiss): its k-means starts at random points and,
  with the default 5 restarts, misses one of four well-separated clusters for 3 of 10 seeds
  (MAUVE 0.988 instead of 0.371), where scikit-learn's k-means++ finds them for all ten; on the
  same histograms the two agree to 1e-16, and end to end within the spread over k-means seeds
  (tests/metrics/test_mauve_vs_mauve_text.py).
- `distinct_n` (Li et al. 2016): unique n-grams over all n-grams of the corpus.
- `self_bleu` (Zhu et al. 2018, Texygen): BLEU-4 of each text against all the others; high
  when samples repeat one another (mode collapse).
- `memorization`: share of generated n-grams found in the training texts.

The n-gram metrics see words from `tokenize_words`, not the model's subword ids, so that they do
not depend on the tokenizer. Pure numpy / scikit-learn: no torch here.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

_WORD = re.compile(r"\w+|[^\w\s]")

# Smoothing method 1 of Chen & Cherry (2014), as nltk's SmoothingFunction().method1 that Texygen
# uses: a zero count of matching n-grams becomes this epsilon.
BLEU_EPSILON = 0.1

Ngram = tuple[str, ...]


def tokenize_words(text: str) -> list[str]:
    """Lowercased words and single punctuation marks (regex `\\w+|[^\\w\\s]`): the tokenization
    every n-gram metric here uses. It is independent of the model's subword vocabulary, so two
    methods with different tokenizers are scored on the same units."""
    return _WORD.findall(text.lower())


def _ngrams(tokens: Sequence[str], n: int) -> Counter[Ngram]:
    """Counts of the n-grams of one text; empty when the text is shorter than n."""
    return Counter(zip(*(tokens[i:] for i in range(n)), strict=False))


# ---------------------------------------------------------------------------------------------
# MAUVE


def _check_features(features: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (texts, dims), got shape {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty: MAUVE needs at least one feature vector")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _kl(p: np.ndarray, r: np.ndarray) -> float:
    """KL(p ‖ r) for histograms with r > 0 wherever p > 0 (r a mixture containing p)."""
    support = p > 0
    return float(np.sum(p[support] * np.log(p[support] / r[support])))


def _trapezoid(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def quantize(
    p_features: np.ndarray,
    q_features: np.ndarray,
    num_clusters: int,
    pca_variance: float = 0.9,
    kmeans_n_init: int = 5,
    kmeans_max_iter: int = 500,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Histograms of P and Q over k-means clusters fitted to both sets together, as the reference
    does: rows L2-normalised (the direction of a sentence embedding carries its meaning), a joint
    PCA keeping the fewest components that explain `pca_variance` of the variance (k-means works
    badly in many dimensions), then k-means. No smoothing: MAUVE uses the raw frequencies."""
    data = np.vstack([q_features, p_features])  # the reference's order, Q first
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    data = data / np.where(norms > 0, norms, 1.0)
    if np.allclose(data, data[0]):
        # One point: every cluster but one would be empty and PCA has no variance to explain.
        return np.ones(1), np.ones(1)
    pca = PCA(n_components=None, random_state=seed)
    projected = pca.fit_transform(data)
    explained = np.cumsum(pca.explained_variance_ratio_)
    dims = min(int(np.searchsorted(explained, pca_variance - 1e-12)) + 1, len(explained))
    kmeans = KMeans(
        n_clusters=num_clusters, n_init=kmeans_n_init, max_iter=kmeans_max_iter, random_state=seed
    )
    labels = kmeans.fit_predict(projected[:, :dims])
    q_counts = np.bincount(labels[: len(q_features)], minlength=num_clusters)
    p_counts = np.bincount(labels[len(q_features) :], minlength=num_clusters)
    return p_counts / p_counts.sum(), q_counts / q_counts.sum()


def divergence_curve(
    p: np.ndarray, q: np.ndarray, scaling: float = 5.0, divergence_points: int = 25
) -> np.ndarray:
    """Points (exp(-c KL(Q ‖ R_λ)), exp(-c KL(P ‖ R_λ))) for the mixtures R_λ = λP + (1-λ)Q,
    λ in linspace(1e-6, 1 - 1e-6, divergence_points), with the end points (1, 0) and (0, 1).
    The two KLs are the errors of the two kinds (Q's mass R misses, P's mass R misses); the
    mixtures trace the frontier between them and c = `scaling` only rescales the axes."""
    points = [(1.0, 0.0)]
    for lam in np.linspace(1e-6, 1 - 1e-6, divergence_points):
        r = lam * p + (1 - lam) * q
        points.append((math.exp(-scaling * _kl(q, r)), math.exp(-scaling * _kl(p, r))))
    points.append((0.0, 1.0))
    return np.asarray(points)


def mauve_of_histograms(
    p: np.ndarray, q: np.ndarray, scaling: float = 5.0, divergence_points: int = 25
) -> float:
    """Area under the `divergence_curve` of two histograms, by the trapezoid rule.

    The curve is monotone in λ (KL(Q ‖ R_λ) grows from 0 and KL(P ‖ R_λ) falls to 0, both
    convex), so walking it backwards is walking it by increasing x. The reference sorts the
    points by x instead, which gives the same area except at ties: for P = Q every mixture point
    is (1, 1), and a sort can put the end point (1, 0) after them and lose half the area.
    """
    x, y = divergence_curve(p, q, scaling, divergence_points)[::-1].T
    return _trapezoid(x, y)


def mauve(
    p_features: np.ndarray,
    q_features: np.ndarray,
    *,
    num_clusters: int | None = None,
    pca_variance: float = 0.9,
    kmeans_n_init: int = 5,
    kmeans_max_iter: int = 500,
    scaling: float = 5.0,
    divergence_points: int = 25,
    seed: int = 0,
) -> float:
    """MAUVE between features of texts from P (generated) and Q (reference): the area under the
    divergence curve of their cluster histograms, in (0, 1], 1 when the histograms coincide.

    `num_clusters` defaults to max(2, round(min(n_p, n_q) / 10)), the reference's "auto". The
    area is the trapezoid rule along the curve (the reference averages the rule along x and
    along y, which agree on this monotone curve). Deterministic for a given `seed`; scores depend
    on the clustering, so compare methods at equal sample sizes and seed.
    """
    p = _check_features(p_features, "p_features")
    q = _check_features(q_features, "q_features")
    if p.shape[1] != q.shape[1]:
        raise ValueError(
            f"p_features and q_features have different dimensions: {p.shape[1]} and {q.shape[1]}"
        )
    if not 0 < pca_variance <= 1:
        raise ValueError(f"pca_variance must be in (0, 1], got {pca_variance}")
    if divergence_points < 1:
        raise ValueError(f"divergence_points must be positive, got {divergence_points}")
    k = max(2, round(min(len(p), len(q)) / 10)) if num_clusters is None else num_clusters
    if not 2 <= k <= len(p) + len(q):
        raise ValueError(
            f"num_clusters must be between 2 and the number of points {len(p) + len(q)}, got {k}"
        )
    p_hist, q_hist = quantize(p, q, k, pca_variance, kmeans_n_init, kmeans_max_iter, seed)
    return mauve_of_histograms(p_hist, q_hist, scaling, divergence_points)


# ---------------------------------------------------------------------------------------------
# n-gram statistics


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float:
    """Distinct-n of Li et al. (2016): unique n-grams over all n-grams, pooled over the texts
    (corpus level), so repetition across samples counts as well as within one. 0.0 when there
    are no n-grams."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    unique: set[Ngram] = set()
    total = 0
    for tokens in token_lists:
        counts = _ngrams(tokens, n)
        unique.update(counts)
        total += sum(counts.values())
    return len(unique) / total if total else 0.0


def memorization(
    generated_token_lists: Sequence[Sequence[str]],
    train_token_lists: Sequence[Sequence[str]],
    n: int = 4,
) -> float:
    """Share of the generated n-grams (with multiplicity) that occur anywhere in the training
    texts: how much of the output is copied phrases rather than new combinations. Texts shorter
    than n contribute nothing; 0.0 when the generated texts have no n-grams."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    seen: set[Ngram] = set()
    for tokens in train_token_lists:
        seen.update(_ngrams(tokens, n))
    total = copied = 0
    for tokens in generated_token_lists:
        for gram, count in _ngrams(tokens, n).items():
            total += count
            copied += count if gram in seen else 0
    return copied / total if total else 0.0


def length_stats(token_lists: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean and (population) standard deviation of the number of tokens, and the fraction of
    empty texts: a generator that stops at once or never stops shows here before anywhere else.
    All 0.0 for no texts."""
    lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.float64)
    if len(lengths) == 0:
        return {"mean_length": 0.0, "std_length": 0.0, "empty_fraction": 0.0}
    return {
        "mean_length": float(lengths.mean()),
        "std_length": float(lengths.std()),
        "empty_fraction": float((lengths == 0).mean()),
    }


# ---------------------------------------------------------------------------------------------
# Self-BLEU


class _LeaveOneOutMax:
    """For every n-gram, the largest count in one text and the second largest in another, so
    that the largest count over all texts but one is a lookup: the clipping count of BLEU with
    "every other text" as references, without rebuilding the references per hypothesis."""

    def __init__(self, counts: Sequence[Counter[Ngram]]) -> None:
        self.top: dict[Ngram, list[int]] = {}  # gram -> [largest, its text, second largest]
        for text, counter in enumerate(counts):
            for gram, count in counter.items():
                entry = self.top.get(gram)
                if entry is None:
                    self.top[gram] = [count, text, 0]
                elif count > entry[0]:
                    entry[2], entry[0], entry[1] = entry[0], count, text
                elif count > entry[2]:
                    entry[2] = count

    def without(self, gram: Ngram, text: int) -> int:
        entry = self.top.get(gram)
        if entry is None:
            return 0
        return entry[2] if entry[1] == text else entry[0]


class _LeaveOneOutLength:
    """The reference length closest to a hypothesis's among all other texts (ties: the shorter,
    as nltk)."""

    def __init__(self, lengths: Sequence[int]) -> None:
        self.frequency = Counter(lengths)
        self.values = sorted(self.frequency)

    def closest(self, length: int) -> int:
        if self.frequency[length] > 1:
            return length
        # The own length is present once (it is the hypothesis), so look beside it.
        i = bisect.bisect_left(self.values, length)
        below = self.values[i - 1] if i > 0 else None
        above = self.values[i + 1] if i + 1 < len(self.values) else None
        if below is None:
            return above  # type: ignore[return-value]
        if above is None or length - below <= above - length:
            return below
        return above


def _bleu(
    hypothesis: Sequence[str],
    index: int,
    hyp_counts: Sequence[Counter[Ngram]],
    references: Sequence[_LeaveOneOutMax],
    reference_length: int,
) -> float:
    """Sentence BLEU of text `index` against all others, as nltk's `sentence_bleu` with uniform
    weights and `SmoothingFunction().method1`: clipped precisions p_n = matches / max(1, total),
    a zero match count replaced by `BLEU_EPSILON`, 0 outright when no unigram matches, times the
    brevity penalty exp(1 - r / c) for a hypothesis of c tokens shorter than the closest
    reference length r."""
    c = len(hypothesis)
    log_precision = 0.0
    for order, (counts, refs) in enumerate(zip(hyp_counts, references, strict=True)):
        matches = sum(min(count, refs.without(gram, index)) for gram, count in counts.items())
        total = max(1, sum(counts.values()))
        if matches == 0:
            if order == 0:
                return 0.0
            matches = BLEU_EPSILON
        log_precision += math.log(matches / total)
    penalty = 1.0 if c > reference_length else math.exp(1 - reference_length / c)
    return penalty * math.exp(log_precision / len(hyp_counts))


def self_bleu(
    token_lists: Sequence[Sequence[str]], n_max: int = 4, max_texts: int = 500, seed: int = 0
) -> float:
    """Self-BLEU (Zhu et al. 2018, Texygen): the mean BLEU-`n_max` of each text against all the
    others as references; 1.0 when all samples are the same text, near 0 when they share no
    words. BLEU as in `_bleu`. At most `max_texts` hypotheses (a seeded subsample) are scored,
    each still against every other text, which keeps the cost linear in the corpus. 0.0 for
    fewer than two texts (no references)."""
    if n_max < 1:
        raise ValueError(f"n_max must be positive, got {n_max}")
    if len(token_lists) < 2:
        return 0.0
    counts = [[_ngrams(tokens, n) for n in range(1, n_max + 1)] for tokens in token_lists]
    references = [_LeaveOneOutMax([c[n] for c in counts]) for n in range(n_max)]
    lengths = _LeaveOneOutLength([len(tokens) for tokens in token_lists])
    chosen: Sequence[int] = range(len(token_lists))
    if len(token_lists) > max_texts:
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(len(token_lists), size=max_texts, replace=False).tolist())
    scores = [
        _bleu(token_lists[i], i, counts[i], references, lengths.closest(len(token_lists[i])))
        for i in chosen
    ]
    return float(np.mean(scores))


# ---------------------------------------------------------------------------------------------
# Everything at once


def text_metrics(
    generated: list[str],
    reference: list[str],
    train: list[str],
    gen_features: np.ndarray | None = None,
    ref_features: np.ndarray | None = None,
) -> dict[str, float]:
    """All text metrics of `generated` strings: distinct_2, self_bleu, memorization (4-grams of
    `train`), mean_length / std_length / empty_fraction (in `tokenize_words` words) and, when
    both feature arrays are given (one row per text of `generated` and of `reference`, from the
    sentence encoder), mauve of the generated against the reference texts."""
    if (gen_features is None) != (ref_features is None):
        raise ValueError("give both gen_features and ref_features for MAUVE, or neither")
    words = [tokenize_words(text) for text in generated]
    metrics = {
        "distinct_2": distinct_n(words, 2),
        "self_bleu": self_bleu(words),
        "memorization": memorization(words, [tokenize_words(text) for text in train]),
        **length_stats(words),
    }
    if gen_features is not None and ref_features is not None:
        if len(gen_features) != len(generated) or len(ref_features) != len(reference):
            raise ValueError(
                f"features must have one row per text: {len(gen_features)} rows for "
                f"{len(generated)} generated texts, {len(ref_features)} for {len(reference)} "
                "reference texts"
            )
        metrics["mauve"] = mauve(gen_features, ref_features)
    return metrics
