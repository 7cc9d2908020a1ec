"""How close a generated sample is to a reference one: the classifier two-sample test and Wasserstein-1.

The **classifier two-sample test** (C2ST; Lopez-Paz and Oquab, ICLR 2017) trains a classifier to tell generated from
reference entries on held-out folds. Its ROC AUC is 0.5 when the two samples come from one distribution (nothing can be
learnt) and reaches 1 when every entry can be told apart; unlike one-dimensional histograms it sees correlations
between all the features at once. The classifier is trained on one part of a stratified random split and the AUC is
measured on the held-out part, with the Hanley-McNeil standard error (Radiology 143 (1982) 29). A single held-out
split is used on purpose: the held-out AUCs of k folds are positively correlated (a pair of entries from two folds
enters two of them), so their mean is not k times more precise and its error would be underestimated.

``wasserstein_1d`` is the earth mover's distance of two 1-D samples (``scipy.stats.wasserstein_distance``) with a
bootstrap error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from hepnb.errors import InputError, as_finite_array, is_whole_number

__all__ = [
    "CLASSIFIERS",
    "C2STResult",
    "WassersteinResult",
    "auc_standard_error",
    "classifier_two_sample_test",
    "wasserstein_1d",
]

CLASSIFIERS = ("hgb", "mlp")
"""Classifiers of the two-sample test: histogram gradient boosting (default) or a small MLP."""


@dataclass(frozen=True)
class C2STResult:
    """Held-out ROC AUC of a classifier separating generated from reference entries.

    Attributes
    ----------
    auc
        ROC AUC on the held-out entries (0.5: indistinguishable, 1: fully separable).
    error
        Hanley-McNeil standard error of ``auc`` for the held-out class sizes.
    n_reference, n_generated
        Entries of each sample (training and held-out parts together).
    n_test
        Held-out entries the AUC is measured on.
    n_features
        Features per entry (per particle for :func:`hepnb.metrics.particle_classifier.particle_classifier_test`).
    classifier
        ``"hgb"`` or ``"mlp"`` (or ``"deepsets"`` for particle clouds).
    seed
        Seed of the split and of the classifier.
    """

    auc: float
    error: float
    n_reference: int
    n_generated: int
    n_test: int
    n_features: int
    classifier: str
    seed: int

    @property
    def value(self) -> float:
        """The AUC, under the name every metric result shares."""
        return self.auc

    @property
    def significance(self) -> float:
        """Distance of the AUC from 0.5 in units of its error."""
        return (self.auc - 0.5) / self.error if self.error > 0 else float("inf")


@dataclass(frozen=True)
class WassersteinResult:
    """Wasserstein-1 distance of two 1-D samples with its bootstrap standard error (units of the samples)."""

    value: float
    error: float
    n_a: int
    n_b: int
    n_bootstrap: int


def auc_standard_error(auc: float, n_positive: int, n_negative: int) -> float:
    """Hanley-McNeil standard error of an ROC AUC measured on ``n_positive`` and ``n_negative`` entries.

    At AUC = 0.5 it is close to ``sqrt((n_positive + n_negative + 1) / (12 n_positive n_negative))``.
    """
    if n_positive < 1 or n_negative < 1:
        raise InputError(f"the AUC error needs entries of both classes, got {n_positive} and {n_negative}")
    if not 0.0 <= auc <= 1.0:
        raise InputError(f"an AUC lies in [0, 1], got {auc}")
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc**2 / (1.0 + auc)
    variance = (auc * (1 - auc) + (n_positive - 1) * (q1 - auc**2) + (n_negative - 1) * (q2 - auc**2)) / (
        n_positive * n_negative
    )
    return float(np.sqrt(max(variance, 0.0)))


def _features(values: Any, name: str) -> np.ndarray:
    array = as_finite_array(values, name)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"{name} must be [N] or [N, n_features], got shape {array.shape}")
    return array


def _make_classifier(classifier: str, seed: int, max_iter: int) -> Any:
    if classifier == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=max_iter, learning_rate=0.1, max_leaf_nodes=31, early_stopping=False, random_state=seed
        )
    if classifier == "mlp":
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=max_iter, early_stopping=True, random_state=seed),
        )
    raise InputError(f"classifier={classifier!r} is not known; use one of {CLASSIFIERS}")


def classifier_two_sample_test(
    reference_features: Any,
    generated_features: Any,
    *,
    seed: int,
    classifier: str = "hgb",
    test_fraction: float = 0.5,
    max_iter: int = 200,
    n_threads: int | None = None,
    paired: bool = False,
) -> C2STResult:
    """Classifier two-sample test: held-out AUC of a classifier trained to tell the samples apart.

    Parameters
    ----------
    reference_features, generated_features
        ``[N, n_features]`` (or ``[N]``) features of each sample; the sizes may differ.
    seed
        Seeds the stratified split and the classifier: the same inputs and seed give the same result.
    classifier
        ``"hgb"`` (``HistGradientBoostingClassifier``, no early stopping) or ``"mlp"`` (standardised inputs, two
        hidden layers of 64).
    test_fraction
        Fraction of each sample held out to measure the AUC (the rest trains the classifier).
    max_iter
        Boosting iterations (``hgb``) or epochs (``mlp``).
    n_threads
        Limit of the OpenMP/BLAS threads while fitting (``None``: the libraries' default).
    paired
        The samples are row-aligned (row i of both shares its conditions, e.g. one generated shower per reference
        shower): both rows i go to the same side of the split. Unpaired, a classifier can learn a reference row's
        conditions in training and call its generated twin "reference" in the test, which pulls the AUC below its
        true value (twin samples that differ only by noise reach AUC 0.3); it needs samples of equal length.

    Returns
    -------
    C2STResult
        Held-out AUC and its standard error; 0.5 within the error for samples of one distribution.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    reference = _features(reference_features, "reference_features")
    generated = _features(generated_features, "generated_features")
    if reference.shape[1] != generated.shape[1]:
        raise InputError(
            f"the samples have different features: {reference.shape[1]} reference vs {generated.shape[1]} generated"
        )
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction={test_fraction} must be strictly between 0 and 1")
    smallest = min(len(reference), len(generated))
    if min(smallest * test_fraction, smallest * (1 - test_fraction)) < 5:
        raise InputError(
            f"too few entries for a held-out AUC: {len(reference)} reference and {len(generated)} generated with "
            f"test_fraction={test_fraction}; each part needs at least 5 entries of each sample"
        )
    if max_iter < 1:
        raise InputError(f"max_iter={max_iter} must be positive")
    if not isinstance(paired, (bool, np.bool_)):
        raise InputError(f"paired must be True or False, got {paired!r}")
    if paired:
        if len(reference) != len(generated):
            raise InputError(
                f"paired=True needs row-aligned samples of equal length, got {len(reference)} reference and "
                f"{len(generated)} generated rows; pass paired=False for independent samples"
            )
        train, test = train_test_split(np.arange(len(reference)), test_size=test_fraction, random_state=int(seed))
        parts = [np.concatenate([reference[rows], generated[rows]]) for rows in (train, test)]
        labels = [np.repeat(np.array([0, 1], dtype=np.int64), len(rows)) for rows in (train, test)]
        (x_train, x_test), (y_train, y_test) = parts, labels
    else:
        x = np.concatenate([reference, generated])
        y = np.concatenate([np.zeros(len(reference), dtype=np.int64), np.ones(len(generated), dtype=np.int64)])
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=test_fraction, stratify=y, random_state=int(seed)
        )
    with threadpool_limits(limits=n_threads):
        model = _make_classifier(classifier, int(seed), max_iter)
        model.fit(x_train, y_train)
        score = model.predict_proba(x_test)[:, 1]
    auc = float(roc_auc_score(y_test, score))
    n_pos = int(y_test.sum())
    return C2STResult(
        auc=auc,
        error=auc_standard_error(auc, n_pos, len(y_test) - n_pos),
        n_reference=len(reference),
        n_generated=len(generated),
        n_test=len(y_test),
        n_features=reference.shape[1],
        classifier=classifier,
        seed=int(seed),
    )


def wasserstein_1d(a: Any, b: Any, *, n_bootstrap: int = 100, seed: int = 0) -> WassersteinResult:
    """Wasserstein-1 distance of the 1-D samples ``a`` and ``b``, with the standard deviation of
    ``n_bootstrap`` resampled values (both samples resampled with replacement) as error.

    ``n_bootstrap=0`` skips the error (NaN).
    """
    x = as_finite_array(a, "a", ndim=1)
    y = as_finite_array(b, "b", ndim=1)
    if len(x) == 0 or len(y) == 0:
        raise InputError(f"both samples need entries, got {len(x)} and {len(y)}")
    if n_bootstrap < 0:
        raise InputError(f"n_bootstrap={n_bootstrap} must be >= 0")
    value = float(stats.wasserstein_distance(x, y))
    if n_bootstrap == 0:
        return WassersteinResult(value, float("nan"), len(x), len(y), 0)
    rng = np.random.default_rng(seed)
    replicas = [stats.wasserstein_distance(rng.choice(x, len(x)), rng.choice(y, len(y))) for _ in range(n_bootstrap)]
    return WassersteinResult(
        value, float(np.std(replicas, ddof=1)) if n_bootstrap > 1 else float("nan"), len(x), len(y), n_bootstrap
    )
