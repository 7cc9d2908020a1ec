"""Weighted distance correlation of two 1-D samples, exact in O(N log^2 N) time and O(N) memory.

The squared distance correlation (Szekely, Rizzo and Bakirov, Ann. Statist. 35 (2007) 2769, eq 2.8-2.9) with event
weights normalised to ``p_i = w_i / sum w`` is the V-statistic DisCo regularises (Kasieczka and Shih,
arXiv:2001.05310, whose ``distance_corr`` returns this squared value)::

    dCov^2(x, y) = sum_ij p_i p_j A_ij B_ij,    A_ij = a_ij - a_i. - a_.j + a_..,   a_ij = |x_i - x_j|
    dCorr^2(x, y) = dCov^2(x, y) / sqrt(dCov^2(x, x) dCov^2(y, y))

(``a_i. = sum_j p_j a_ij``, ``a_.. = sum_i p_i a_i.``; B likewise from y). It is 0 for independent variables
(up to a positive finite-sample bias of order 1/N), 1 for ``y = c x + d``, and for a bivariate Gaussian of
correlation rho it tends to (Szekely et al. 2007, Theorem 7)::

    R^2(rho) = (rho asin(rho) + sqrt(1 - rho^2) - rho asin(rho/2) - sqrt(4 - rho^2) + 1) / (1 + pi/3 - sqrt(3))

The N x N matrices are never built. Expanding the double centring,
``dCov^2 = S1 + a_.. b_.. - 2 sum_i p_i a_i. b_i.`` with ``S1 = sum_ij p_i p_j a_ij b_ij``: the row sums ``a_i.``
follow from cumulative sums over the sorted sample, and ``S1`` from a divide and conquer over the x order in which
each level pairs the left half of every block with its right half through cumulative sums over y ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from hepnb.errors import InputError, as_finite_array, check_same_length, is_whole_number

__all__ = ["DistanceCorrelation", "distance_correlation", "gaussian_distance_correlation"]


@dataclass(frozen=True)
class DistanceCorrelation:
    """The squared distance correlation ``value`` (DisCo's dCorr^2) of two samples, with its jackknife error.

    ``n_events`` is the number of events, ``n_effective`` Kish's ``(sum w)^2 / sum w^2``, ``jackknife_groups`` the
    number of delete-a-group jackknife groups behind ``error`` (0: no error computed, ``error`` is NaN).
    """

    value: float
    error: float
    n_events: int
    n_effective: float
    jackknife_groups: int


def gaussian_distance_correlation(rho: float) -> float:
    """Squared distance correlation of a bivariate Gaussian with Pearson correlation ``rho`` (the closed form).

    Examples
    --------
    >>> round(gaussian_distance_correlation(0.5), 4)
    0.2062
    >>> gaussian_distance_correlation(0.0), gaussian_distance_correlation(1.0)
    (0.0, 1.0)
    """
    if not -1.0 <= rho <= 1.0:
        raise InputError(f"a correlation coefficient must be in [-1, 1], got rho={rho}")
    r = abs(float(rho))
    numerator = r * np.arcsin(r) + np.sqrt(1 - r**2) - r * np.arcsin(r / 2) - np.sqrt(4 - r**2) + 1
    return float(round(numerator / (1 + np.pi / 3 - np.sqrt(3)), 12))


def _row_sums(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``sum_j p_j |x_i - x_j|`` for every i, from cumulative sums over the sorted sample."""
    order = np.argsort(x, kind="stable")
    xs, ps = x[order], p[order]
    cum_p, cum_px = np.cumsum(ps), np.cumsum(ps * xs)
    sums = xs * cum_p - cum_px + (cum_px[-1] - cum_px) - xs * (cum_p[-1] - cum_p)
    out = np.empty_like(sums)
    out[order] = sums
    return out


def _cross_sum(x: np.ndarray, y: np.ndarray, p: np.ndarray) -> float:
    """``S1 = sum_ij p_i p_j |x_i - x_j| |y_i - y_j|`` by divide and conquer over the x order."""
    n = len(x)
    order = np.argsort(x, kind="stable")
    xs, ys, ps = x[order], y[order], p[order]
    rank_y = np.empty(n, dtype=np.int64)
    rank_y[np.argsort(ys, kind="stable")] = np.arange(n)
    # per event: p, p y, p x, p x y; a left event i < j (x_i <= x_j) contributes p_i (x_j - x_i) |y_j - y_i|
    moments = np.column_stack([ps, ps * ys, ps * xs, ps * xs * ys])
    position = np.arange(n)
    total = 0.0
    half = 1
    while half < n:
        block = position // (2 * half)
        left = (position % (2 * half)) < half
        left_index, right_index = position[left], position[~left]
        left_key = block[left_index] * n + rank_y[left_index]
        sort = np.argsort(left_key)  # keys are unique: no stability needed
        left_key = left_key[sort]
        cumulative = np.vstack([np.zeros(4), np.cumsum(moments[left_index[sort]], axis=0)])
        right_block = block[right_index]
        start = np.searchsorted(left_key, right_block * n, side="left")
        below = np.searchsorted(left_key, right_block * n + rank_y[right_index], side="right")
        end = np.searchsorted(left_key, (right_block + 1) * n, side="left")
        lower = cumulative[below] - cumulative[start]  # left events with y_i <= y_j
        upper = cumulative[end] - cumulative[below]  # left events with y_i > y_j
        xj, yj = xs[right_index], ys[right_index]
        signed = lower - upper
        term = xj * yj * signed[:, 0] - xj * signed[:, 1] - yj * signed[:, 2] + signed[:, 3]
        total += float(np.dot(ps[right_index], term))
        half *= 2
    return 2.0 * total


def _dcov_terms(x: np.ndarray, y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    """``dCov^2(x, y)``, ``dCov^2(x, x)``, ``dCov^2(y, y)`` for weights p summing to 1."""
    row_x, row_y = _row_sums(x, p), _row_sums(y, p)
    mean_x, mean_y = float(p @ row_x), float(p @ row_y)
    dcov = _cross_sum(x, y, p) + mean_x * mean_y - 2.0 * float(p @ (row_x * row_y))

    def dvar(v: np.ndarray, row: np.ndarray, mean: float) -> float:
        squares = 2.0 * (float(p @ v**2) - float(p @ v) ** 2)  # sum_ij p_i p_j (v_i - v_j)^2
        return squares + mean**2 - 2.0 * float(p @ row**2)

    return dcov, dvar(x, row_x, mean_x), dvar(y, row_y, mean_y)


def _dcorr2(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    total = w.sum()
    if not total > 0:
        raise InputError(
            f"the weights sum to {total:g}: the distance correlation needs a positive total weight; check the "
            "weights of the selected events"
        )
    p = w / total
    dcov, var_x, var_y = _dcov_terms(x, y, p)
    if var_x < 0 or var_y < 0:
        raise InputError(
            "the weighted distance variance is negative: negative weights dominate this sample; use more events, "
            "or pass weights=abs(w) to measure the correlation of the positive-weight distribution"
        )
    if var_x == 0 or var_y == 0:  # a constant variable is independent of everything (Szekely et al. 2007)
        return 0.0
    return dcov / np.sqrt(var_x * var_y)


def distance_correlation(
    x: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None, *, jackknife_groups: int = 10, progress: bool = False
) -> DistanceCorrelation:
    """Squared, weighted distance correlation of two 1-D samples (DisCo's dCorr^2), with a jackknife error.

    Parameters
    ----------
    x, y
        The two variables, one value per event (e.g. the classifier score and the protected mass).
    weights
        Event weights (negative allowed as long as the weighted distance variances stay positive); 1 if omitted.
    jackknife_groups
        G >= 2: the error is the delete-a-group jackknife over G groups (at most one per event; event i in group
        ``i % G``), which costs G more evaluations; 0 skips it (``error`` is NaN).
    progress
        Show a progress bar over the jackknife groups (each one evaluation: seconds per million events).

    Returns
    -------
    DistanceCorrelation
        ``value`` in [0, 1] for positive weights: 0 for independent samples (plus a bias of order 1/N), 1 for a
        linear relation.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=20_000)
    >>> y = 0.5 * x + np.sqrt(0.75) * rng.normal(size=20_000)  # Pearson correlation 0.5
    >>> result = distance_correlation(x, y)
    >>> abs(result.value - gaussian_distance_correlation(0.5)) < 4 * result.error
    True
    """
    xv = as_finite_array(x, "x", ndim=1)
    yv = as_finite_array(y, "y", ndim=1)
    n = check_same_length(x=xv, y=yv)
    w = np.ones(n) if weights is None else as_finite_array(weights, "weights", ndim=1)
    check_same_length(x=xv, weights=w)
    if n < 2:
        raise InputError(f"the distance correlation needs at least 2 events, got {n}")
    if not is_whole_number(jackknife_groups) or jackknife_groups == 1 or jackknife_groups < 0:
        raise InputError(f"jackknife_groups must be 0 (no error) or an integer >= 2, got {jackknife_groups!r}")
    groups = min(int(jackknife_groups), n)
    # the statistic is invariant under x -> a x + b: standardising keeps the cumulative sums well conditioned
    xv = (xv - xv.mean()) / (xv.std() or 1.0)
    yv = (yv - yv.mean()) / (yv.std() or 1.0)
    value = _dcorr2(xv, yv, w)
    error = float("nan")
    if groups:
        member = np.arange(n) % groups
        leave_out = np.array(
            [
                _dcorr2(xv[member != g], yv[member != g], w[member != g])
                for g in tqdm(range(groups), desc="jackknife", disable=not progress)
            ]
        )
        error = float(np.sqrt((groups - 1) / groups * np.sum((leave_out - leave_out.mean()) ** 2)))
    n_effective = float(w.sum() ** 2 / np.sum(w**2)) if np.any(w) else 0.0
    return DistanceCorrelation(float(value), error, n, n_effective, groups)
