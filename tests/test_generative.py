"""Classifier two-sample test and Wasserstein-1: 0.5 for one distribution, 1 for separated ones, seeds fix results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hepnb.errors import InputError
from hepnb.metrics.generative import auc_standard_error, classifier_two_sample_test, wasserstein_1d


def gaussians(n: int, shift: float, seed: int, n_features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    offset = np.array([shift] + [0.0] * (n_features - 1))
    return rng.normal(size=(n, n_features)), rng.normal(size=(n, n_features)) + offset


def test_same_distribution_gives_auc_one_half_within_errors() -> None:
    a, b = gaussians(3000, 0.0, seed=1)
    result = classifier_two_sample_test(a, b, seed=0, max_iter=50, n_threads=1)
    # held out: 1500 + 1500; the Hanley-McNeil error of an AUC of 0.5 is sqrt(3001 / (12 * 1500^2)) = 0.0105
    assert result.error == pytest.approx(np.sqrt(3001 / (12 * 1500**2)), rel=0.05)
    assert abs(result.auc - 0.5) < 3 * result.error
    assert result.n_test == 3000 and result.n_features == 3
    assert (result.n_reference, result.n_generated) == (3000, 3000)


def test_the_error_describes_the_spread_over_independent_samples() -> None:
    aucs, errors = [], []
    for seed in range(12):
        a, b = gaussians(600, 0.0, seed=100 + seed)
        result = classifier_two_sample_test(a, b, seed=seed, max_iter=20, n_threads=1)
        aucs.append(result.auc)
        errors.append(result.error)
    pulls = (np.array(aucs) - 0.5) / np.array(errors)
    assert abs(np.mean(pulls)) < 3 / np.sqrt(12)  # no bias towards AUC > 0.5
    assert 0.5 < np.std(pulls, ddof=1) < 1.6  # chi2 with 11 dof: 99.9 % of the time inside


def test_clearly_different_distributions_give_auc_near_one() -> None:
    a, b = gaussians(1000, 6.0, seed=2)
    result = classifier_two_sample_test(a, b, seed=0, max_iter=50, n_threads=1)
    assert result.auc > 0.99
    assert result.significance > 30


def test_auc_of_a_known_shift_matches_the_analytic_value() -> None:
    # two unit Gaussians shifted by d: the best classifier (a cut on x0) has AUC = Phi(d / sqrt(2))
    a, b = gaussians(4000, 1.0, seed=3)
    result = classifier_two_sample_test(a, b, seed=1, max_iter=50, n_threads=1)
    expected = stats.norm.cdf(1.0 / np.sqrt(2))  # 0.760
    assert result.auc == pytest.approx(expected, abs=4 * result.error + 0.01)
    assert result.auc < expected + 3 * result.error  # a finite-sample classifier cannot beat the optimum


def test_mlp_classifier_also_separates() -> None:
    a, b = gaussians(800, 3.0, seed=4)
    result = classifier_two_sample_test(a, b, seed=0, classifier="mlp", max_iter=200, n_threads=1)
    assert result.auc > 0.9 and result.classifier == "mlp"


def test_the_seed_fixes_the_result() -> None:
    a, b = gaussians(600, 0.5, seed=5)
    first = classifier_two_sample_test(a, b, seed=7, max_iter=30, n_threads=1)
    again = classifier_two_sample_test(a, b, seed=7, max_iter=30, n_threads=1)
    other = classifier_two_sample_test(a, b, seed=8, max_iter=30, n_threads=1)
    assert first == again
    assert first.auc != other.auc


def test_hanley_mcneil_error() -> None:
    assert auc_standard_error(0.5, 100, 100) == pytest.approx(np.sqrt(201 / (12 * 100 * 100)), rel=0.01)
    assert auc_standard_error(1.0, 50, 50) == 0.0
    with pytest.raises(InputError, match="both classes"):
        auc_standard_error(0.5, 0, 10)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        auc_standard_error(1.5, 10, 10)


def test_bad_inputs_raise_clear_errors() -> None:
    a, b = gaussians(50, 0.0, seed=6)
    with pytest.raises(InputError, match="different features"):
        classifier_two_sample_test(a, b[:, :2], seed=0)
    with pytest.raises(InputError, match="too few entries"):
        classifier_two_sample_test(a[:6], b, seed=0)
    with pytest.raises(InputError, match="test_fraction"):
        classifier_two_sample_test(a, b, seed=0, test_fraction=1.0)
    with pytest.raises(InputError, match="not known"):
        classifier_two_sample_test(a, b, seed=0, classifier="svm")
    with pytest.raises(InputError, match="non-finite"):
        classifier_two_sample_test(np.full((50, 3), np.nan), b, seed=0)
    with pytest.raises(InputError, match="seed"):
        classifier_two_sample_test(a, b, seed=-1)


def test_wasserstein_of_a_shift_and_its_bootstrap_error() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, 5000)
    b = rng.normal(0.3, 1.0, 5000)
    result = wasserstein_1d(a, b, n_bootstrap=50, seed=1)
    assert result.value == pytest.approx(0.3, abs=4 * result.error)  # W1 of a pure shift is the shift
    assert 0.005 < result.error < 0.05
    assert wasserstein_1d(a, b, n_bootstrap=50, seed=1) == result
    assert wasserstein_1d(a, a, n_bootstrap=0).value == 0.0
    with pytest.raises(InputError, match="both samples"):
        wasserstein_1d([], b)


def test_paired_split_keeps_twins_together_and_removes_the_memorisation_bias() -> None:
    # row-aligned twins: shared conditions (5 columns) and one feature differing only by independent noise
    rng = np.random.default_rng(8)
    conditions = rng.normal(size=(600, 5))
    a = np.column_stack([conditions, rng.normal(size=600)])
    b = np.column_stack([conditions, rng.normal(size=600)])
    unpaired = classifier_two_sample_test(a, b, seed=1, max_iter=50, n_threads=1)
    paired = classifier_two_sample_test(a, b, seed=1, max_iter=50, n_threads=1, paired=True)
    # unpaired, the classifier learns a training row's conditions and calls its twin in the test the same
    assert unpaired.auc < 0.5 - 4 * unpaired.error
    assert abs(paired.auc - 0.5) < 3 * paired.error
    assert paired.n_test == 600 and paired.n_features == 6
    with pytest.raises(InputError, match="equal length"):
        classifier_two_sample_test(a, b[:500], seed=1, paired=True)
    with pytest.raises(InputError, match="paired must be True or False"):
        classifier_two_sample_test(a, b, seed=1, paired="yes")
