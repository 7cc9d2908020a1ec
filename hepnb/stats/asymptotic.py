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

__all__ = [
    "Scan",
    "ConfidenceInterval",
    "AsimovScan",
    "asimov_scan",
    "confidence_interval",
    "refine_minimum",
    "refine_maximum",
    "log_ratio_table",
    "rate_log_likelihood",
    "unbinned_log_likelihood",
]


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

    For a function that can be evaluated between grid points (a fit); a scan known only on its grid is refined
    with :func:`refine_maximum` (a parabola through the best point and its neighbours).

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


def refine_maximum(grid: ArrayLike, values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each row of ``values`` over ``grid`` and where it is, refined by a parabola.

    Per row (the last axis runs over the grid): the best grid point; at an interior maximum, the vertex of the
    parabola through it and its two neighbours, and the parabola's value there. The one refinement of every scan
    known only on its grid (:attr:`hepnb.lfi.GenericScan.theta_hat`, the toys of :mod:`hepnb.stats.coverage`); for
    a minimum, pass ``-values``.

    Parameters
    ----------
    grid
        The increasing grid, ``(n,)``.
    values
        ``(..., n)``: one scan per row (``ln L``, or ``-q / 2``).

    Returns
    -------
    maximum, position
        Arrays of shape ``values.shape[:-1]`` (0-d for one scan).

    Examples
    --------
    >>> best, where = refine_maximum([0.0, 1.0, 2.0, 3.0], [[0.0, 3.0, 4.0, 3.0], [4.0, 3.0, 2.0, 1.0]])
    >>> best.tolist(), where.tolist()
    ([4.0, 4.0], [2.0, 0.0])
    >>> [round(float(v), 6) for v in refine_maximum([0.0, 1.0, 2.0], [-1.0, 0.0, -0.25])]
    [0.05625, 1.3]
    """
    x = as_finite_array(grid, "grid", ndim=1)
    ll = np.asarray(values, dtype=float)
    if ll.ndim == 0 or ll.shape[-1] != len(x) or len(x) < 3 or np.any(np.diff(x) <= 0):
        raise InputError(
            f"values must have the grid along the last axis ({len(x)} points, increasing, at least 3); "
            f"got values of shape {ll.shape}"
        )
    flat = ll.reshape(-1, len(x))
    k = np.argmax(flat, axis=1)
    rows = np.arange(len(flat))
    best, at = flat[rows, k], x[k]
    inner = (k > 0) & (k < len(x) - 1)
    j = np.clip(k, 1, len(x) - 2)
    x0, x1, x2 = x[j - 1], x[j], x[j + 1]
    y0, y1, y2 = flat[rows, j - 1], flat[rows, j], flat[rows, j + 1]
    d01, d12 = (y1 - y0) / (x1 - x0), (y2 - y1) / (x2 - x1)
    curv = (d12 - d01) / (x2 - x0)  # second-order coefficient, < 0 at a maximum
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.clip(0.5 * (x0 + x1) - d01 / (2 * curv), x0, x2)
    value = y0 + d01 * (vertex - x0) + curv * (vertex - x0) * (vertex - x1)
    use = inner & np.isfinite(value) & (curv < 0) & (value > best)  # a -inf neighbour: no parabola
    shape = ll.shape[:-1]
    return np.where(use, value, best).reshape(shape), np.where(use, vertex, at).reshape(shape)


def log_ratio_table(log_r: ArrayLike, n_grid: int | None = None, grid: str = "theta") -> np.ndarray:
    """``log r(x_i | theta_j, ref)`` as a float ``(n_grid, n_events)`` array, or an :class:`InputError` saying why not.

    Non-finite values are kept (a zero-weight event may have one); a ragged list, a non-numeric entry, a tensor
    that requires grad or the wrong shape is refused with what to pass instead (``n_grid=None``: any number of rows).

    >>> log_ratio_table([[0.0, 1.0], [2.0, 3.0]], 2).shape
    (2, 2)
    >>> log_ratio_table([[0.0, 1.0], [2.0]], 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: log_r must be a rectangular (len(theta), n_events) = (2, n) array of numbers: ...
    """
    expected = f"(len({grid}), n_events) = ({'len' if n_grid is None else n_grid}, n)"
    try:
        table = np.asarray(log_r, dtype=np.float64)
    except (ValueError, TypeError, RuntimeError) as err:
        raise InputError(
            f"log_r must be a rectangular {expected} array of numbers: one row of per-event log r per grid "
            f"point, every row as long (a torch tensor: .detach().cpu().numpy()); numpy says: {err}"
        ) from None
    if table.ndim != 2 or (n_grid is not None and table.shape[0] != n_grid):
        hint = "; transpose it" if table.ndim == 2 and table.shape[1] == n_grid else ""
        hint = "; for one event pass log_r[:, None]" if table.ndim == 1 else hint
        raise InputError(
            f"log_r must have shape {expected} (one row of per-event log r per grid point), got {table.shape}{hint}"
        )
    return table


def rate_log_likelihood(n: ArrayLike, nu: np.ndarray, nu_ref: float | None = None) -> np.ndarray:
    """The Poisson rate term ``n ln nu(theta_j) - nu(theta_j)`` of an extended likelihood, ``n.shape + nu.shape``.

    With ``nu_ref``: ``n ln(nu / nu_ref) - (nu - nu_ref)``, zero at the reference. ``n`` is one observed count
    (or weight sum) or one per toy.

    >>> rate_log_likelihood(2.0, np.array([1.0, 2.0]), nu_ref=2.0).round(6).tolist()
    [-0.386294, 0.0]
    """
    n_ = np.asarray(n)
    if nu_ref is None:
        return np.multiply.outer(n_, np.log(nu)) - nu
    return np.multiply.outer(n_, np.log(nu / nu_ref)) - (nu - nu_ref)


def unbinned_log_likelihood(
    log_r: ArrayLike,
    weights: ArrayLike | None = None,
    nu: ArrayLike | None = None,
    *,
    n: float | None = None,
    nu_ref: float | None = None,
    grid: str = "theta",
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """The extended unbinned log likelihood on a grid, kinematic and rate parts: the engine of every unbinned scan.

    ``ln L_kin(theta_j) = sum_i w_i log r(x_i | theta_j, ref)`` and ``ln L_rate(theta_j) = n ln nu(theta_j) -
    nu(theta_j)`` (:func:`rate_log_likelihood`), ``n = sum_i w_i`` unless given. Events of zero weight do not
    enter (their ``log r`` may be infinite). Used by :func:`hepnb.lfi.likelihood_scan`,
    :func:`hepnb.lfi.scan_from_log_ratios` and the Asimov scans of :mod:`hepnb.stats.coverage`.

    Parameters
    ----------
    log_r
        ``(len(grid), n_events)`` (checked by :func:`log_ratio_table`).
    weights
        ``(n_events,)`` weights ``>= 0`` with a positive sum (default 1 per event: observed data).
    nu
        Expected events per grid point (``> 0``), or None (no rate term: ``None`` is returned for it).
    n, nu_ref
        The observed count (default ``sum_i w_i``); the reference yield of the rate term (default none).
    grid
        The grid's name, for messages.

    Returns
    -------
    log_likelihood_kinematic, log_likelihood_rate, n

    Examples
    --------
    >>> kin, rate, n = unbinned_log_likelihood([[0.0, 0.0], [0.5, -0.5], [1.0, -2.0]], [2.0, 1.0], [2.0, 3.0, 4.0])
    >>> kin.tolist(), rate.round(4).tolist(), n
    ([0.0, 0.5, 0.0], [0.0794, 0.2958, 0.1589], 3.0)
    """
    table = log_ratio_table(log_r, None, grid)
    n_grid = len(table)
    w = np.ones(table.shape[1]) if weights is None else as_finite_array(weights, "weights", ndim=1)
    if w.shape != (table.shape[1],):
        raise InputError(f"weights must have one value per event ({table.shape[1]}), got shape {w.shape}")
    if np.any(w < 0) or not w.sum() > 0:
        raise InputError("weights must be >= 0 with a positive sum (expected events, or 1 per observed event)")
    finite = np.isfinite(table).all(axis=0)
    if not np.all(finite[w != 0]):
        raise InputError(
            "log_r is not finite for some events with non-zero weight (a zero estimated or exact density at a grid "
            "point); drop those events or restrict the grid"
        )
    kinematic = table @ w if finite.all() else table[:, finite] @ w[finite]  # no copy of the (grid x events) table
    count = float(w.sum()) if n is None else float(n)
    if nu is None:
        return kinematic, None, count
    nus = as_finite_array(nu, "nu", ndim=1)
    if nus.shape != (n_grid,) or np.any(nus <= 0) or (nu_ref is not None and not nu_ref > 0):
        raise InputError(f"nu must give one expected yield > 0 per grid point ({n_grid}), got {nus!r}")
    return kinematic, rate_log_likelihood(count, nus, nu_ref), count
