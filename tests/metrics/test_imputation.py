"""Imputation metrics against the reference code's column-by-column computation
(tigvarts/vaeac, `data/evaluate_results.py`) and against hand-computed values."""

from __future__ import annotations

import numpy as np

from methodlib.metrics.imputation import (
    ambiguous_halves,
    best_psnr,
    distinct_classes,
    nrmse,
    pfc,
)


def reference_nrmse(gt, mask, imputations):  # one column, imputations (N, K)
    std = gt.std()
    pred = imputations[mask].mean(1)
    return np.sqrt(((pred - gt[mask]) ** 2).mean()) / std


def reference_pfc(gt, mask, imputations):  # one column, imputations (N, K)
    imputations = np.round(imputations).astype("int")
    gt, imputations = gt[mask], imputations[mask]
    categories = sorted(set(imputations.ravel()).union(set(gt.ravel())))
    counts = np.hstack([(imputations == c).sum(1).reshape(-1, 1) for c in categories])
    return (np.asarray(categories)[np.argmax(counts, 1)] != gt).mean()


def test_nrmse_is_the_reference_averaged_over_columns():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(50, 4)) * [1, 2, 3, 4]
    missing = rng.random((50, 4)) < 0.5
    imputations = truth[None] + rng.normal(size=(7, 50, 4))
    expected = np.mean(
        [reference_nrmse(truth[:, j], missing[:, j], imputations[:, :, j].T) for j in range(4)]
    )
    np.testing.assert_allclose(nrmse(truth, missing, imputations), expected)


def test_nrmse_skips_constant_and_complete_columns_and_reads_images():
    truth = np.zeros((3, 1, 2, 2))
    truth[:, 0, 0, 0] = [0.0, 1.0, 2.0]  # the only column with spread
    missing = np.zeros_like(truth, dtype=bool)
    missing[:, 0, 0, :] = True  # (0, 1) is hidden but constant
    imputations = np.ones((2, 3, 1, 2, 2))
    assert (
        nrmse(truth, missing, imputations) == np.sqrt(np.mean([1, 0, 1])) / truth[:, 0, 0, 0].std()
    )


def test_mean_imputation_scores_about_one():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(20000, 3))
    missing = rng.random(truth.shape) < 0.5
    assert abs(nrmse(truth, missing, np.zeros((1, *truth.shape))) - 1.0) < 0.02


def test_pfc_is_the_reference_over_every_missing_entry():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 3, size=(40, 1)).astype(float)
    missing = rng.random((40, 1)) < 0.6
    imputations = rng.integers(0, 3, size=(5, 40, 1)) + rng.normal(0, 0.2, size=(5, 40, 1))
    expected = reference_pfc(truth[:, 0].astype(int), missing[:, 0], imputations[:, :, 0].T)
    np.testing.assert_allclose(pfc(truth, missing, imputations), expected)


def test_best_psnr_takes_each_images_best_sample():
    truth = np.zeros((2, 1, 2, 2))
    imputations = np.stack([np.full_like(truth, 0.1), np.full_like(truth, 0.01)])
    imputations[1, 1] = 0.5  # image 1: the first sample is the better one
    expected = np.mean([10 * np.log10(1 / 0.01**2), 10 * np.log10(1 / 0.1**2)])
    np.testing.assert_allclose(best_psnr(truth, imputations), expected)


def test_distinct_classes_counts_per_example():
    classes = np.array([[1, 2, 3], [1, 2, 4], [1, 5, 3]])  # (K = 3, N = 3)
    assert distinct_classes(classes) == (1 + 2 + 2) / 3


def test_ambiguous_halves_are_those_whose_nearest_training_halves_disagree():
    # 2×2 images, the bottom row hidden: tops (1, 1) come with labels 0 and 1, (0, 0) with 2
    shared, alone = [1.0, 1.0], [0.0, 0.0]
    train_x = np.array([[shared, [0, 0]], [shared, [1, 1]], [alone, [1, 0]], [alone, [0, 1]]])
    train_y = np.array([0, 1, 2, 2])
    test_x = np.array([[shared, [0, 0]], [alone, [0, 0]], [[0.1, 0.0], [1, 1]]])[:, None]
    missing = np.zeros_like(test_x, dtype=bool)
    missing[:, :, 1, :] = True
    ambiguous = ambiguous_halves(train_x[:, None], train_y, test_x, missing, neighbours=2)
    np.testing.assert_array_equal(ambiguous, [True, False, False])


def test_ambiguity_reads_only_the_observed_entries():
    train_x = np.array([[[0.0, 0.0], [5.0, 5.0]], [[0.0, 0.0], [9.0, 9.0]]])[:, None]
    test_x = np.zeros((1, 1, 2, 2))
    missing = np.zeros_like(test_x, dtype=bool)
    missing[:, :, 1, :] = True
    # the hidden bottom rows differ, the observed tops agree: both neighbours count
    assert ambiguous_halves(train_x, np.array([3, 4]), test_x, missing, neighbours=2).all()


def test_distinct_classes_over_the_ambiguous_examples_only():
    classes = np.array([[0, 1, 2], [0, 1, 3], [1, 1, 4]])  # K = 3 samples of N = 3 examples
    assert distinct_classes(classes) == (2 + 1 + 3) / 3
    assert distinct_classes(classes, where=np.array([True, False, True])) == (2 + 3) / 2
    assert np.isnan(distinct_classes(classes, where=np.zeros(3, dtype=bool)))
