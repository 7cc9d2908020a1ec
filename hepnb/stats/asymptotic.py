"""Asymptotic likelihood scans of mu: the one scan interface, Asimov scans and confidence intervals.

Every scan of ``q(mu)`` in hepnb (:class:`AsimovScan` here, :class:`~hepnb.stats.interference.InterferenceScan`
of the binned model and its pyhf twin, :class:`~hepnb.lfi.inference.LikelihoodScan` of the unbinned methods) is a
:class:`Scan`: ``mu``, ``q``, ``mu_hat``, and from them ``z``, ``p_value`` and ``interval(cl)``. p-values use Wilks'
theorem with one parameter, ``chi2.sf(q, 1)`` (Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554,
arXiv:1007.1727, section 3); intervals are read off where ``q <= chi2.ppf(cl, 1)`` and may come in pieces, because
``N(mu) = mu S + sqrt(mu) I + B`` takes each value at two mu (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020,
HAL tel-03324250, sections 7.1 and 7.7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from hepnb.errors import InputError, as_finite_array, broadcast_finite, check_same_length
from hepnb.stats.deviance import poisson_half_deviance
from hepnb.stats.yields import positive_yield

__all__ = ["Scan", "ConfidenceInterval", "AsimovScan", "asimov_scan", "confidence_interval", "refine_minimum"]


@dataclass(frozen=True)
class ConfidenceInterval:
    """Where ``q(mu) <= q_threshold``: one or several intervals (the sqrt(mu) degeneracy can split them).

    ``crossings`` are the interpolated mu values where q crosses the threshold. ``open_at_edge`` says the region
    reaches the end of the scanned grid, so the interval there is a bound of the grid, not of the data.
    """

    cl: float
    q_threshold: float
    intervals: tuple[tuple[float, float], ...]
    crossings: tuple[float, ...]
    open_at_edge: bool


class Scan:
    """The interface every ``q(mu)`` scan shares: the grid ``mu``, ``q`` (minimum 0) and the best fit ``mu_hat``.

    Subclasses are frozen dataclasses that provide ``mu``, ``q`` and ``mu_hat`` (fields or properties);
    this base adds the significance, the p-value and the interval.
    """

    mu: np.ndarray
    q: np.ndarray
    mu_hat: float

    @property
    def z(self) -> np.ndarray:
        """``sqrt(q)``: the (median expected, for Asimov data) significance with which each mu is rejected."""
        return np.sqrt(self.q)

    @property
    def p_value(self) -> np.ndarray:
        """``chi2.sf(q, 1)``: asymptotic p-value of each mu (Wilks, one parameter)."""
        return stats.chi2.sf(self.q, 1)

    def interval(self, cl: float = 0.6827) -> ConfidenceInterval:
        """Region ``q(mu) <= chi2.ppf(cl, 1)`` (0.6827: q <= 1; 0.95: q <= 3.84), possibly in pieces."""
        return confidence_interval(self.mu, self.q, cl=cl, subtract_minimum=False)


@dataclass(frozen=True, eq=False)
class AsimovScan(Scan):
    """The Asimov test statistic ``q(mu_test; mu_true)`` on a grid of ``mu_test``."""

    mu: np.ndarray
    q: np.ndarray
    mu_true: float
    shape_only: bool

    @property
    def mu_hat(self) -> float:  # type: ignore[override]
        """The best fit to Asimov data is the true signal strength."""
        return self.mu_true


def asimov_scan(
    mu_test: ArrayLike, s: ArrayLike, i: ArrayLike, b: ArrayLike, *, mu_true: float = 1.0, shape_only: bool = False
) -> AsimovScan:
    """Asimov test statistic ``q(mu_test; mu_true)`` for binned ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k``.

    ``q = 2 sum_k [nu_k - n_k + n_k ln(n_k/nu_k)]`` with Asimov data ``n_k = N_k(mu_true)`` and
    ``nu_k = N_k(mu_test)`` (Poisson, shape and rate). ``shape_only`` compares the normalised shapes
    (multinomial): ``q = 2 sum_k n_k ln(n_k/nu_k) - 2 n ln(n/nu)``. ``q = 0`` wherever ``nu = n``: for one bin
    at ``mu_true`` and its partner :func:`~hepnb.stats.yields.degenerate_mu`. ``sqrt(q(0; 1))`` is ``iZ'`` for
    one bin.

    Parameters
    ----------
    mu_test
        Grid of tested signal strengths (>= 0).
    s, i, b
        Per-bin signal-only, interference (may be negative) and background yields at the SM.
    mu_true
        Signal strength that generates the Asimov data.
    shape_only
        Drop the information from the total rate.

    Examples
    --------
    >>> scan = asimov_scan([0.0, 1.0, 9.0], 1.0, -4.0, 20.0)  # one bin: mu = 9 has the SM yield
    >>> scan.q.round(6).tolist()
    [0.474356, 0.0, 0.0]
    """
    s_, i_, b_ = (np.atleast_1d(a) for a in broadcast_finite(s=s, i=i, b=b))
    mu = as_finite_array(mu_test, "mu_test")
    mu = np.atleast_1d(mu)
    if mu.ndim != 1:
        raise InputError(f"mu_test must be a scalar or a 1-d grid, got shape {mu.shape}")
    n = positive_yield(s_, i_, b_, float(mu_true))
    q = np.empty(len(mu))
    for j, m in enumerate(mu):
        nu = positive_yield(s_, i_, b_, float(m))
        q_j = 2 * np.sum(poisson_half_deviance(n, nu))
        if shape_only:
            q_j -= 2 * poisson_half_deviance(n.sum(), nu.sum())
        q[j] = max(q_j, 0.0)
    return AsimovScan(mu, q, float(mu_true), bool(shape_only))


def confidence_interval(
    mu: ArrayLike, q: ArrayLike, cl: float = 0.6827, *, subtract_minimum: bool = True
) -> ConfidenceInterval:
    """Read the region ``q(mu) <= chi2.ppf(cl, 1)`` off a scanned test statistic (linear interpolation).

    ``cl = 0.6827`` gives ``q = 1`` (+-1 sigma), ``cl = 0.95`` gives ``q = 3.84``.

    Parameters
    ----------
    mu
        Increasing grid of the parameter.
    q
        Test statistic on the grid (``-2 ln L`` differences).
    cl
        Confidence level in (0, 1).
    subtract_minimum
        Subtract ``min(q)`` first (needed for fitted, not Asimov, curves).

    Examples
    --------
    >>> ci = confidence_interval([0.0, 1.0, 2.0, 3.0], [4.0, 0.0, 0.0, 4.0], cl=0.6827)
    >>> [round(edge, 3) for edge in ci.intervals[0]]
    [0.75, 2.25]
    """
    mu_ = as_finite_array(mu, "mu", ndim=1)
    q_ = as_finite_array(q, "q", ndim=1)
    check_same_length(mu=mu_, q=q_)
    if len(mu_) < 2 or np.any(np.diff(mu_) <= 0):
        raise InputError("mu must be a strictly increasing grid of at least two points")
    if not 0 < cl < 1:
        raise InputError(f"cl must be in (0, 1), e.g. 0.6827 or 0.95, got {cl}")
    if subtract_minimum:
        q_ = q_ - q_.min()
    level = float(stats.chi2.ppf(cl, 1))
    inside = q_ <= level
    crossings: list[float] = []
    for k in np.flatnonzero(inside[1:] != inside[:-1]):
        q0, q1 = q_[k] - level, q_[k + 1] - level
        crossings.append(float(mu_[k] + (mu_[k + 1] - mu_[k]) * q0 / (q0 - q1)))
    intervals: list[tuple[float, float]] = []
    edges = iter(crossings)
    lo: float | None = float(mu_[0]) if inside[0] else None
    for k in range(1, len(mu_)):
        if inside[k] and not inside[k - 1]:
            lo = next(edges)
        elif not inside[k] and inside[k - 1]:
            intervals.append((lo, next(edges)))  # type: ignore[arg-type]
            lo = None
    if lo is not None:
        intervals.append((lo, float(mu_[-1])))
    return ConfidenceInterval(float(cl), level, tuple(intervals), tuple(crossings), bool(inside[0] or inside[-1]))


def refine_minimum(mu: np.ndarray, values: np.ndarray, function: Callable[[float], float]) -> tuple[float, float]:
    """Minimum of ``function(mu)`` over ``[mu[0], mu[-1]]``: the best grid point, refined in ``sqrt(mu)`` nearby.

    >>> mu_hat, minimum = refine_minimum(np.array([0.0, 1.0, 4.0]), np.array([4.0, 1.0, 4.0]),
    ...                                  lambda m: (m - 2.0) ** 2)
    >>> round(mu_hat, 6), round(minimum, 9)
    (2.0, 0.0)
    """
    k = int(np.argmin(values))
    best_mu, best = float(mu[k]), float(values[k])
    lo, hi = np.sqrt(mu[max(k - 1, 0)]), np.sqrt(mu[min(k + 1, len(mu) - 1)])
    if hi > lo:
        result = optimize.minimize_scalar(
            lambda r: function(float(r) ** 2),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-10 * max(hi, 1.0)},
        )
        if result.fun < best:
            best_mu, best = float(result.x) ** 2, float(result.fun)
    return best_mu, best
