"""Text metrics against hand-worked values (BLEU, distinct-n, memorization), a brute-force BLEU
for the leave-one-out shortcut, and MAUVE's limiting cases on Gaussian feature blobs (MAUVE
against the reference package: test_mauve_vs_mauve_text.py)."""

from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import pytest

from methodlib.metrics.text import (
    distinct_n,
    divergence_curve,
    length_stats,
    mauve,
    mauve_of_histograms,
    memorization,
    self_bleu,
    text_metrics,
    tokenize_words,
)


def split(*texts: str) -> list[list[str]]:
    return [text.split() for text in texts]


def blob(n: int, dim: int, center: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mean = np.zeros(dim)
    mean[0] = center
    return mean + rng.standard_normal((n, dim))


# --- tokenization, distinct-n, memorization, lengths -------------------------------------------


def test_tokenize_words_lowercases_and_splits_off_punctuation():
    assert tokenize_words("Hello, World! It's 2024.") == [
        "hello",
        ",",
        "world",
        "!",
        "it",
        "'",
        "s",
        "2024",
        ".",
    ]
    assert tokenize_words("   ") == []


def test_distinct_n_pools_ngrams_over_texts():
    texts = split("a b a b", "a b c")
    # bigrams: ab ba ab | ab bc -> 5 in all, unique {ab, ba, bc}
    assert distinct_n(texts, 2) == pytest.approx(3 / 5)
    # unigrams: 7 in all, unique {a, b, c}
    assert distinct_n(texts, 1) == pytest.approx(3 / 7)


def test_distinct_n_without_ngrams_is_zero():
    assert distinct_n([], 2) == 0.0
    assert distinct_n(split("a", ""), 2) == 0.0
    with pytest.raises(ValueError, match="positive"):
        distinct_n(split("a b"), 0)


def test_memorization_counts_generated_ngrams_with_multiplicity():
    train = split("the cat sat on the mat")
    generated = split("the cat sat on a mat", "the cat sat on", "short")
    # 4-grams: "the cat sat on" (in train), "cat sat on a", "sat on a mat" | "the cat sat on"
    assert memorization(generated, train, n=4) == pytest.approx(2 / 4)
    assert memorization(split("a b"), train, n=4) == 0.0
    assert memorization(train, train, n=4) == 1.0


def test_length_stats():
    stats = length_stats(split("a b c", "", "a"))
    assert stats["mean_length"] == pytest.approx(4 / 3)
    assert stats["std_length"] == pytest.approx(np.std([3, 0, 1]))
    assert stats["empty_fraction"] == pytest.approx(1 / 3)
    assert length_stats([]) == {"mean_length": 0.0, "std_length": 0.0, "empty_fraction": 0.0}


# --- self-BLEU ---------------------------------------------------------------------------------


def naive_bleu(hyp: list[str], refs: list[list[str]], n_max: int = 4) -> float:
    """nltk's sentence_bleu with SmoothingFunction().method1, written out directly."""
    log_p = 0.0
    for n in range(1, n_max + 1):
        counts = Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
        best: Counter = Counter()
        for ref in refs:
            ref_counts = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
            for gram, count in ref_counts.items():
                best[gram] = max(best[gram], count)
        matches = sum(min(count, best[gram]) for gram, count in counts.items())
        total = max(1, sum(counts.values()))
        if matches == 0:
            if n == 1:
                return 0.0
            matches = 0.1
        log_p += math.log(matches / total)
    c = len(hyp)
    r = min((len(ref) for ref in refs), key=lambda length: (abs(length - c), length))
    penalty = 1.0 if c > r else math.exp(1 - r / c)
    return penalty * math.exp(log_p / n_max)


def naive_self_bleu(texts: list[list[str]]) -> float:
    return float(
        np.mean([naive_bleu(hyp, texts[:i] + texts[i + 1 :]) for i, hyp in enumerate(texts)])
    )


def test_self_bleu_hand_computed():
    # "a b c d" against "a b c e" (and "x y", which matches nothing and is farther in length):
    # p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 -> 0.1 / 1; equal lengths, no brevity penalty.
    # Symmetric for "a b c e"; "x y" matches no unigram and scores 0.
    pair = 0.025**0.25
    assert self_bleu(split("a b c d", "a b c e")) == pytest.approx(pair)
    assert self_bleu(split("a b c d", "a b c e", "x y")) == pytest.approx(2 * pair / 3)


def test_self_bleu_hand_computed_with_clipping_and_brevity_penalty():
    # "a a a b" against "a b": unigrams a×3 clipped to 1 plus b -> 2/4; bigrams aa aa ab -> 1/3;
    # trigrams 0/2 -> 0.1/2; 4-grams 0/1 -> 0.1; longer than the reference, no penalty.
    long = (2 / 4 * 1 / 3 * 0.05 * 0.1) ** 0.25
    # "a b" against "a a a b": p1 = 1, p2 = 1, no trigrams or 4-grams -> 0.1 / 1 each; c = 2 is
    # shorter than r = 4, penalty exp(1 - 4/2).
    short = math.exp(-1) * (0.1 * 0.1) ** 0.25
    assert self_bleu(split("a a a b", "a b")) == pytest.approx((long + short) / 2)


def test_self_bleu_matches_a_brute_force_bleu():
    rng = np.random.default_rng(0)
    vocab = list("abcdef")
    texts = [list(rng.choice(vocab, size=rng.integers(0, 9))) for _ in range(60)]
    texts += [texts[3], texts[3], texts[7]]  # duplicates: the leave-one-out max must see them
    assert self_bleu(texts) == pytest.approx(naive_self_bleu(texts), rel=1e-12)


def test_self_bleu_limits():
    assert self_bleu(split(*["the cat sat on the mat"] * 5)) == pytest.approx(1.0)
    assert self_bleu(split("a b c d", "e f g h", "i j k l")) == pytest.approx(0.0, abs=1e-12)
    assert self_bleu(split("a b c d")) == 0.0
    assert self_bleu([]) == 0.0
    assert self_bleu(split("", "a b")) == 0.0


def test_self_bleu_subsample_is_seeded_and_uses_all_references():
    rng = np.random.default_rng(1)
    texts = [list(rng.choice(list("abcdefgh"), size=8)) for _ in range(40)]
    sub = self_bleu(texts, max_texts=10, seed=3)
    assert sub == self_bleu(texts, max_texts=10, seed=3)
    picked = sorted(np.random.default_rng(3).choice(40, size=10, replace=False).tolist())
    expected = np.mean([naive_bleu(texts[i], texts[:i] + texts[i + 1 :]) for i in picked])
    assert sub == pytest.approx(expected, rel=1e-12)


def test_self_bleu_is_fast():
    rng = np.random.default_rng(2)
    vocab = [f"w{i}" for i in range(2000)]
    texts = [list(rng.choice(vocab, size=rng.integers(10, 30))) for _ in range(1000)]
    start = time.process_time()  # CPU time: a loaded machine does not inflate it
    self_bleu(texts, max_texts=500)
    assert time.process_time() - start < 5.0


# --- MAUVE -------------------------------------------------------------------------------------


def test_mauve_of_identical_features_is_one():
    x = blob(300, 16, 0.0, seed=0)
    assert mauve(x, x) > 0.98


def test_mauve_of_separated_blobs_is_small_and_a_mixture_is_between():
    p = blob(300, 16, 0.0, seed=0)
    q = blob(300, 16, 20.0, seed=1)
    same = blob(300, 16, 0.0, seed=2)
    half = np.vstack([p[:150], q[:150]])
    far, middle, near = mauve(p, q), mauve(half, same), mauve(p, same)
    assert far < 0.1
    assert far < middle < near
    assert near > 0.8


def test_mauve_is_roughly_symmetric_and_deterministic():
    p = blob(300, 16, 0.0, seed=0)
    q = blob(300, 16, 1.5, seed=1)
    assert mauve(p, q, seed=4) == mauve(p, q, seed=4)
    assert mauve(p, q) == pytest.approx(mauve(q, p), abs=0.1)


def test_divergence_curve_end_points_and_equal_histograms():
    h = np.array([0.5, 0.3, 0.2])
    curve = divergence_curve(h, h, divergence_points=5)
    assert curve.shape == (7, 2)
    assert tuple(curve[0]) == (1.0, 0.0) and tuple(curve[-1]) == (0.0, 1.0)
    np.testing.assert_allclose(curve[1:-1], 1.0)  # every mixture is P itself: no divergence


def test_mauve_of_equal_histograms_is_exactly_one():
    """Where sorting the tied points (1, 1) could lose half the area."""
    h = np.array([0.5, 0.3, 0.2])
    assert mauve_of_histograms(h, h) == pytest.approx(1.0)
    assert mauve_of_histograms(np.ones(1), np.ones(1)) == pytest.approx(1.0)
    assert mauve(np.ones((5, 4)), 3 * np.ones((5, 4))) == pytest.approx(1.0)  # one direction


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        (np.zeros((0, 4)), np.ones((5, 4)), "empty"),
        (np.ones((5, 4)), np.ones((5, 3)), "different dimensions"),
        (np.full((5, 4), np.nan), np.ones((5, 4)), "NaN"),
        (np.ones(5), np.ones((5, 4)), "2-d"),
    ],
)
def test_mauve_rejects_bad_input(p, q, message):
    with pytest.raises(ValueError, match=message):
        mauve(p, q)


def test_mauve_rejects_too_many_clusters():
    with pytest.raises(ValueError, match="num_clusters"):
        mauve(np.eye(3), np.eye(3), num_clusters=10)


def test_mauve_is_fast_on_sentence_encoder_sized_features():
    """A guard against an accidental quadratic step, in this process's CPU time (all its
    threads), which other work on a loaded machine does not inflate as it does wall time."""
    p = blob(1000, 384, 0.0, seed=0)
    q = blob(1000, 384, 0.5, seed=1)
    start = time.process_time()
    mauve(p, q)
    assert time.process_time() - start < 20.0


# --- everything at once ------------------------------------------------------------------------


def test_text_metrics_keys_and_values():
    generated = ["The cat sat on the mat.", "A dog ran home!", ""]
    train = ["the cat sat on the mat ."]
    metrics = text_metrics(generated, ["ref one", "ref two"], train)
    assert set(metrics) == {
        "distinct_2",
        "self_bleu",
        "memorization",
        "mean_length",
        "std_length",
        "empty_fraction",
    }
    words = [tokenize_words(text) for text in generated]
    assert metrics["distinct_2"] == distinct_n(words, 2)
    # 4 four-grams of the first text, all in train; 2 of "a dog ran home !", none in train
    assert metrics["memorization"] == pytest.approx(4 / 6)
    assert metrics["empty_fraction"] == pytest.approx(1 / 3)


def test_text_metrics_adds_mauve_with_features():
    generated = [f"text {i}" for i in range(40)]
    reference = [f"other {i}" for i in range(40)]
    feats = blob(40, 8, 0.0, seed=0)
    metrics = text_metrics(generated, reference, [], gen_features=feats, ref_features=feats)
    assert metrics["mauve"] > 0.98
    with pytest.raises(ValueError, match="both"):
        text_metrics(generated, reference, [], gen_features=feats)
    with pytest.raises(ValueError, match="one row per text"):
        text_metrics(generated, reference[:10], [], gen_features=feats, ref_features=feats)
