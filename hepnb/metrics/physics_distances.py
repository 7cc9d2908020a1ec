"""Fréchet and kernel physics distances (FPD, KPD) between two samples of features, as in JetNet.

Both are defined in Kansal et al., "Evaluating generative models in high energy physics", arXiv:2211.10295, and
implemented in JetNet's ``jetnet/evaluation/gen_metrics.py`` (functions ``fpd`` and ``kpd``); this module follows
that code's definitions and defaults:

- **Normalisation** (``normalise=True``): every feature of both samples is divided by its largest absolute value in
  the *real* sample (features that are 0 there are left alone).
- **FPD**: the Fréchet distance ``|mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^{1/2})`` of the Gaussians with the
  batches' means and covariances, averaged over ``num_batches`` batches drawn with replacement at each of
  ``num_points`` sizes evenly spaced in 1/N between ``min_samples`` (20 000) and ``max_samples`` (50 000). The
  estimate is biased by a term ~ 1/N, so a straight line in 1/N is fitted (intercept and slope bounded to >= 0) and
  its intercept, the N -> infinity value, is the FPD; the error is the intercept's fit uncertainty (arXiv:1911.07023
  for the extrapolation). With the same seed the batches are the ones JetNet draws.
- **FPD at N** (:func:`fpd_at_n`): the same Fréchet distance of the two whole samples, without the batches and the
  extrapolation. It is biased upwards by a term of order ``1/N``, but it does not carry the extrapolation's noise:
  the quantity to rank generators (or the epochs of one) on at a fixed size.
- **KPD**: the unbiased estimator of the squared maximum mean discrepancy (Gretton et al., JMLR 13 (2012) 723) with
  the polynomial kernel ``k(x, y) = (x.y / d + 1)^4`` (d features, JetNet's degree 4), on ``num_batches`` = 10
  batches of ``batch_size`` = 5000 drawn with replacement (batch i seeded with ``seed + 1000 i``, as JetNet). The KPD
  is the median over batches and its error half the 16.275-83.725 % inter-quantile range. Unbiased: it averages to 0
  for one distribution, and may come out negative.

Both samples should have at least 50 000 entries (:data:`RECOMMENDED_SIZE`); fewer raise a
:class:`SmallSampleWarning`. For jets, the features are the 36 EFPs of :func:`hepnb.metrics.jetnet.fpd_kpd_features`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import nnls

from hepnb.errors import InputError, as_finite_array

__all__ = [
    "RECOMMENDED_SIZE",
    "FPDResult",
    "KPDResult",
    "SmallSampleWarning",
    "fpd",
    "fpd_at_n",
    "frechet_distance",
    "kpd",
    "mmd2_polynomial_unbiased",
    "warn_if_small",
]

RECOMMENDED_SIZE = 50_000
"""Entries per sample below which FPD, KPD and the W1 metrics warn (JetNet's recommendation)."""

_BLOCK = 2048  # rows per block of the kernel sums: 2048 x 5000 doubles = 80 MB


class SmallSampleWarning(RuntimeWarning):
    """Fewer entries than a metric's recommended sample size: noisier values, not comparable to published ones."""


def warn_if_small(metric: str, recommended: int, **sizes: int) -> None:
    """Warn (:class:`SmallSampleWarning`) when any of the named sample ``sizes`` is below ``recommended``."""
    small = {name: n for name, n in sizes.items() if n < recommended}
    if small:
        described = ", ".join(f"{n} {name}" for name, n in small.items())
        warnings.warn(
            f"{metric}: {described}, fewer than the recommended {recommended}; values are noisier than, and not "
            "comparable to, published ones (compare with the real-vs-real baseline at this size)",
            SmallSampleWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class FPDResult:
    """Fréchet physics distance extrapolated to infinite samples, with what it was computed on.

    ``batch_sizes`` and ``mean_values`` are the points of the 1/N fit (the mean Fréchet distance at each size).
    """

    value: float
    error: float
    n_real: int
    n_generated: int
    n_features: int
    batch_sizes: tuple[int, ...]
    mean_values: tuple[float, ...]
    num_batches: int
    normalise: bool
    seed: int


@dataclass(frozen=True)
class KPDResult:
    """Kernel physics distance: median of the unbiased MMD^2 over batches, error half the 68 % range."""

    value: float
    error: float
    n_real: int
    n_generated: int
    n_features: int
    batch_size: int
    batch_values: tuple[float, ...]
    normalise: bool
    seed: int


def _feature_samples(real: Any, generated: Any) -> tuple[np.ndarray, np.ndarray]:
    x = as_finite_array(real, "real_features")
    y = as_finite_array(generated, "generated_features")
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    if x.ndim != 2 or y.ndim != 2:
        raise InputError(f"features must be [N, n_features], got shapes {x.shape} and {y.shape}")
    if x.shape[1] != y.shape[1]:
        raise InputError(f"the samples have different features: {x.shape[1]} real vs {y.shape[1]} generated")
    if len(x) < 2 or len(y) < 2:
        raise InputError(f"each sample needs at least 2 entries, got {len(x)} real and {len(y)} generated")
    return x, y


def _normalised(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.max(np.abs(x), axis=0)
    scale[scale == 0] = 1.0
    return x / scale, y / scale


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mean_a: Any, cov_a: Any, mean_b: Any, cov_b: Any) -> float:
    """Fréchet (squared Wasserstein-2) distance of two Gaussians,
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2})``.

    The trace of the square root is computed as ``sum sqrt(eig(S_a^{1/2} S_b S_a^{1/2}))``, a symmetric matrix with
    the same eigenvalues as ``S_a S_b``: no complex round-off to discard.

    Examples
    --------
    >>> frechet_distance([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [3.0, 0.0], [[4.0, 0.0], [0.0, 1.0]])
    10.0
    """
    mu_a, mu_b = np.atleast_1d(as_finite_array(mean_a, "mean_a")), np.atleast_1d(as_finite_array(mean_b, "mean_b"))
    s_a, s_b = np.atleast_2d(as_finite_array(cov_a, "cov_a")), np.atleast_2d(as_finite_array(cov_b, "cov_b"))
    if not (mu_a.shape == mu_b.shape and s_a.shape == s_b.shape == mu_a.shape * 2):
        raise InputError(f"means and covariances do not match: {mu_a.shape}, {mu_b.shape}, {s_a.shape}, {s_b.shape}")
    root_a = _psd_sqrt((s_a + s_a.T) / 2)
    middle = root_a @ ((s_b + s_b.T) / 2) @ root_a
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)))
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * trace_root)


def _sample_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """:func:`frechet_distance` of the Gaussians with the means and covariances of the samples ``x`` and ``y``."""
    return frechet_distance(x.mean(axis=0), np.cov(x, rowvar=False), y.mean(axis=0), np.cov(y, rowvar=False))


def _extrapolate(inverse_sizes: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Intercept of the least-squares line ``values = intercept + slope / N`` with both bounded to >= 0, and its
    error ``sqrt(s^2 [(X^T X)^-1]_00)`` with ``s^2`` the residual variance: what JetNet's bounded ``curve_fit``
    returns, solved exactly (non-negative least squares) instead of iteratively."""
    design = np.column_stack([np.ones_like(inverse_sizes), inverse_sizes])
    params = nnls(design, values)[0]
    residuals = values - design @ params
    variance = residuals @ residuals / (len(values) - 2)
    return float(params[0]), float(np.sqrt(variance * np.linalg.inv(design.T @ design)[0, 0]))


def fpd(
    real_features: Any,
    generated_features: Any,
    *,
    min_samples: int = 20_000,
    max_samples: int = 50_000,
    num_batches: int = 20,
    num_points: int = 10,
    normalise: bool = True,
    seed: int = 42,
) -> FPDResult:
    """Fréchet physics distance, extrapolated to infinite samples (JetNet's ``fpd`` and its defaults).

    Parameters
    ----------
    real_features, generated_features
        ``[N, n_features]`` samples; the sizes may differ (batches are drawn with replacement).
    min_samples, max_samples
        Smallest and largest batch size of the 1/N fit.
    num_batches
        Batches averaged at each size.
    num_points
        Batch sizes, evenly spaced in 1/N (at least 3, so the fit has an error).
    normalise
        Divide every feature by its largest absolute value in the real sample first.
    seed
        Seeds the batches (the same ones as JetNet's for the same seed).

    Examples
    --------
    >>> import warnings; warnings.simplefilter("ignore", SmallSampleWarning)
    >>> rng = np.random.default_rng(0)
    >>> real, shifted = rng.normal(size=(4000, 2)), rng.normal(size=(4000, 2)) + [0.5, 0.0]
    >>> result = fpd(real, shifted, min_samples=500, max_samples=2000, num_batches=5, num_points=4,
    ...              normalise=False)
    >>> abs(result.value - 0.25) < 4 * result.error + 0.02  # the squared shift
    True
    """
    x, y = _feature_samples(real_features, generated_features)
    if not 2 <= min_samples < max_samples:
        raise InputError(f"need 2 <= min_samples < max_samples, got {min_samples} and {max_samples}")
    if num_batches < 1 or num_points < 3:
        raise InputError(f"need num_batches >= 1 and num_points >= 3, got {num_batches} and {num_points}")
    warn_if_small("FPD", RECOMMENDED_SIZE, real=len(x), generated=len(y))
    if normalise:
        x, y = _normalised(x, y)
    sizes = (1.0 / np.linspace(1.0 / min_samples, 1.0 / max_samples, num_points)).astype(int)
    rng = np.random.default_rng(seed)
    means = []
    for size in sizes:
        values = []
        for _ in range(num_batches):
            a, b = x[rng.choice(len(x), size=size)], y[rng.choice(len(y), size=size)]
            values.append(_sample_frechet(a, b))
        means.append(float(np.mean(values)))
    intercept, error = _extrapolate(1.0 / sizes, np.asarray(means))
    return FPDResult(
        value=intercept,
        error=error,
        n_real=len(x),
        n_generated=len(y),
        n_features=x.shape[1],
        batch_sizes=tuple(int(s) for s in sizes),
        mean_values=tuple(means),
        num_batches=int(num_batches),
        normalise=bool(normalise),
        seed=int(seed),
    )


def fpd_at_n(real_features: Any, generated_features: Any, *, normalise: bool = True) -> float:
    """The Fréchet distance of the Gaussians with the means and covariances of the two whole samples: the FPD at
    their sizes, before :func:`fpd`'s extrapolation to infinite samples.

    It exceeds the FPD by a bias of order ``1/N`` (set by the two covariances, so nearly the same for generators
    close to the data), and has none of the noise of the extrapolation, whose intercept comes from a few resampled
    batches at sizes within a factor of two of each other: it ranks generators compared at one size (the per-epoch
    metric of the jet GANs, :mod:`hepnb.jets.epoch_metrics`).

    Parameters
    ----------
    real_features, generated_features
        ``[N, n_features]`` samples, used as they are (not resampled); the sizes may differ.
    normalise
        Divide every feature by its largest absolute value in the real sample first (as :func:`fpd`).

    Returns
    -------
    float
        The Fréchet distance (0 up to round-off for identical samples).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.normal(size=(20000, 2))
    >>> abs(fpd_at_n(real, real)) < 1e-12
    True
    >>> round(fpd_at_n(real, rng.normal(size=(20000, 2)) + [0.5, 0.0], normalise=False), 2)  # the squared shift
    0.25
    """
    x, y = _feature_samples(real_features, generated_features)
    if normalise:
        x, y = _normalised(x, y)
    return _sample_frechet(x, y)


def _kernel_sum(a: np.ndarray, b: np.ndarray) -> float:
    """``sum_ij (a_i . b_j / d + 1)^4`` in blocks of rows."""
    d = a.shape[1]
    return float(sum((((a[i : i + _BLOCK] @ b.T) / d + 1.0) ** 4).sum() for i in range(0, len(a), _BLOCK)))


def mmd2_polynomial_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of the samples ``x`` [m, d] and ``y`` [n, d] with the kernel ``(x.y / d + 1)^4``.

    ``sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1)) - 2 sum_ij k(x_i, y_j) / (m n)``.
    """
    m, n, d = len(x), len(y), x.shape[1]
    diag_x = float(((np.einsum("ij,ij->i", x, x) / d + 1.0) ** 4).sum())
    diag_y = float(((np.einsum("ij,ij->i", y, y) / d + 1.0) ** 4).sum())
    return (
        (_kernel_sum(x, x) - diag_x) / (m * (m - 1))
        + (_kernel_sum(y, y) - diag_y) / (n * (n - 1))
        - 2.0 * _kernel_sum(x, y) / (m * n)
    )


def kpd(
    real_features: Any,
    generated_features: Any,
    *,
    num_batches: int = 10,
    batch_size: int = 5_000,
    normalise: bool = True,
    seed: int = 42,
) -> KPDResult:
    """Kernel physics distance: median over batches of the unbiased MMD^2, polynomial kernel of degree 4
    (JetNet's ``kpd`` and its defaults).

    Parameters
    ----------
    real_features, generated_features
        ``[N, n_features]`` samples; the sizes may differ (batches are drawn with replacement).
    num_batches, batch_size
        Number and size of the batches.
    normalise
        Divide every feature by its largest absolute value in the real sample first.
    seed
        Batch i is drawn with ``numpy.random.default_rng(seed + 1000 i)``, as in JetNet.

    Examples
    --------
    >>> # JetNet's own check: all-ones (normalised twos) against zeros gives 2^4 + 1 - 2 = 15
    >>> import warnings; warnings.simplefilter("ignore", SmallSampleWarning)
    >>> kpd(np.full((100, 3), 2.0), np.zeros((100, 3)), num_batches=2, batch_size=50).value
    15.0
    """
    x, y = _feature_samples(real_features, generated_features)
    if num_batches < 1 or batch_size < 2:
        raise InputError(f"need num_batches >= 1 and batch_size >= 2, got {num_batches} and {batch_size}")
    warn_if_small("KPD", RECOMMENDED_SIZE, real=len(x), generated=len(y))
    if normalise:
        x, y = _normalised(x, y)
    values = []
    for i in range(num_batches):
        rng = np.random.default_rng(seed + 1000 * i)
        values.append(
            mmd2_polynomial_unbiased(x[rng.choice(len(x), size=batch_size)], y[rng.choice(len(y), size=batch_size)])
        )
    low, high = np.percentile(values, [16.275, 83.725])
    return KPDResult(
        value=float(np.median(values)),
        error=float((high - low) / 2),
        n_real=len(x),
        n_generated=len(y),
        n_features=x.shape[1],
        batch_size=int(batch_size),
        batch_values=tuple(float(v) for v in values),
        normalise=bool(normalise),
        seed=int(seed),
    )
