"""Any simulator through the public API: a training sample from arrays and a likelihood scan in any parameter.

The rest of :mod:`hepnb.lfi` is written for the off-shell simulator (``mu = kappa^4``, S/I/B yields, its event
class). Here the user brings arrays:

* :func:`ratio_sample_from_arrays`: ``(x, theta0, theta1, y, r(x, z), t(x, z))`` rows from any simulator that can
  give the joint likelihood ratio and the joint score (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL
  tel-03324250, section 4.8; Brehmer, Louppe, Pavez, Cranmer, PNAS 117 (2020) 5242, arXiv:1805.12244), to train
  :class:`~hepnb.lfi.ParameterizedRatioEstimator` or :class:`~hepnb.lfi.DoublyParameterizedRatioEstimator` with
  :func:`~hepnb.lfi.train_estimator`;
* :func:`log_ratio_grid`: ``log r_hat(x_i | theta_j, theta_ref)`` of an estimator on a grid;
* :func:`likelihood_scan`: the unbinned scan ``q(theta) = -2 [ln L(theta) - max ln L]`` with
  ``ln L(theta) = sum_i w_i log r(x_i | theta, theta_ref) [+ n ln nu(theta) - nu(theta)]``, ``n = sum_i w_i``, for
  Asimov data (a weighted sample of the true model, weights in expected events) or observed data (weights 1). The
  result is a :class:`GenericScan`, a :class:`hepnb.stats.asymptotic.Scan` (``interval(cl)``, ``p_value``, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hepnb.errors import InputError, as_finite_array
from hepnb.lfi.augmented import RatioSample, Standardizer
from hepnb.stats.asymptotic import Scan, log_ratio_table, refine_maximum, unbinned_log_likelihood

__all__ = ["GenericScan", "likelihood_scan", "log_ratio_grid", "ratio_sample_from_arrays"]


def _column(values: Any, name: str, n: int, *, optional: bool = False) -> np.ndarray:
    """One number or one per row, as a float64 ``(n,)`` array (NaN for a missing optional column)."""
    if values is None:
        if optional:
            return np.full(n, np.nan)
        raise InputError(f"{name} is required")
    arr = as_finite_array(values, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"{name} must be one number or one value per row of x ({n}), got shape {arr.shape}")
    return arr


def ratio_sample_from_arrays(
    x: Any,
    theta0: Any,
    y: Any,
    *,
    theta1: Any = 0.0,
    r_xz: Any = None,
    log_r_xz: Any = None,
    t_xz: Any = None,
    t1_xz: Any = None,
    feature_names: Sequence[str] | None = None,
    seed: int = 0,
) -> RatioSample:
    """A :class:`~hepnb.lfi.RatioSample` from any simulator's arrays (MadMiner's ``x, theta, y, r_xz, t_xz``).

    Rows with ``y = 0`` are drawn at the numerator ``theta0``, rows with ``y = 1`` at the reference ``theta1`` (both
    carry ``theta0``); ``r_xz = r(x, z | theta0, theta1)`` is the joint likelihood ratio and ``t_xz = t(x, z |
    theta0)`` the joint score. CARL needs neither, ROLR and ALICE the ratio, CASCAL the score, RASCAL and ALICES
    both: a missing one is stored as NaN and :func:`~hepnb.lfi.train_estimator` refuses a method that needs it.
    The standardisations of ``x`` and theta are fitted here (theta on ``theta0``, or on ``theta0`` and ``theta1``
    together when the reference varies, as MadMiner).

    Parameters
    ----------
    x
        Observables, ``(n, d)`` (or ``(n,)`` for one observable).
    theta0
        Numerator parameter of each row (one number or ``(n,)``).
    y
        0 (row drawn at theta0) or 1 (drawn at theta1).
    theta1
        Reference parameter: one number (a :class:`~hepnb.lfi.ParameterizedRatioEstimator`) or one per row (a
        :class:`~hepnb.lfi.DoublyParameterizedRatioEstimator`).
    r_xz, log_r_xz
        The joint ratio ``r(x, z | theta0, theta1) > 0`` or its logarithm (give at most one).
    t_xz, t1_xz
        The joint score at theta0, and at theta1 (for ``reference_score=True``).
    feature_names
        Names of the columns of ``x`` (default ``x0, x1, ...``).
    seed
        Recorded with the sample.

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import lfi
    >>> toy = lfi.GaussianToy()
    >>> sample = lfi.ratio_sample_from_arrays(**toy.training_arrays(1_000, seed=1))
    >>> len(sample), sample.x.shape, sample.doubly_parameterized
    (1000, (1000, 1), False)
    >>> lfi.ratio_sample_from_arrays(np.zeros((2, 1)), 0.5, [0, 1], r_xz=[1.0, -2.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: r_xz must be > 0 (a ratio of densities); 1 rows have r_xz <= 0: ...
    """
    xs = as_finite_array(x, "x")
    if xs.ndim == 1:
        xs = xs[:, None]
    if xs.ndim != 2 or len(xs) < 2 or xs.shape[1] < 1:
        raise InputError(f"x must be an (n, d) array of observables with n >= 2 rows, got shape {xs.shape}")
    n = len(xs)
    a = _column(theta0, "theta0", n)
    b = _column(theta1, "theta1", n)
    labels = _column(y, "y", n)
    if not np.all((labels == 0) | (labels == 1)):
        raise InputError("y must be 0 (row drawn at theta0) or 1 (drawn at theta1)")
    if r_xz is not None and log_r_xz is not None:
        raise InputError("give the joint ratio once: r_xz or log_r_xz, not both")
    if r_xz is not None:
        r = _column(r_xz, "r_xz", n)
        if np.any(r <= 0):
            raise InputError(
                f"r_xz must be > 0 (a ratio of densities); {int(np.sum(r <= 0))} rows have r_xz <= 0: pass "
                "log_r_xz if you have it, or drop those rows"
            )
        log_r = np.log(r)
    else:
        log_r = _column(log_r_xz, "log_r_xz", n, optional=True)
    t0 = _column(t_xz, "t_xz", n, optional=True)
    t1 = _column(t1_xz, "t1_xz", n, optional=True)
    names = tuple(feature_names) if feature_names is not None else tuple(f"x{j}" for j in range(xs.shape[1]))
    if len(names) != xs.shape[1]:
        raise InputError(f"feature_names has {len(names)} names for {xs.shape[1]} columns of x")
    thetas = np.concatenate([a, b]) if np.ptp(b) > 0 else a
    return RatioSample(
        xs,
        a,
        b,
        labels,
        log_r,
        t0,
        t1,
        names,
        names,
        Standardizer.fit(xs),
        Standardizer.fit(thetas),
        {},
        int(seed),
    )


def log_ratio_grid(
    estimator: Any, x: Any, theta: Any, theta_ref: float | None = None, *, progress: bool | None = None
) -> np.ndarray:
    """``log r_hat(x_i | theta_j, theta_ref)`` of an estimator, shape ``(len(theta), n_events)``.

    Parameters
    ----------
    estimator
        Anything with ``log_ratio(x, theta)`` (and ``theta_ref`` when given) returning one value per event: a
        trained ratio or density estimator, an ensemble, :class:`~hepnb.lfi.GaussianToy`.
    x
        Raw observables ``(n_events, d)``.
    theta
        The grid.
    theta_ref
        The reference (default: the estimator's own).
    progress
        Show a tqdm bar over the grid (default: above 5 million values).

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import lfi
    >>> toy = lfi.GaussianToy()
    >>> lfi.log_ratio_grid(toy, np.array([-1.0, 0.0, 1.0]), [0.0, 1.0], 0.0).round(3).tolist()
    [[0.0, 0.0, 0.0], [-0.3, -0.1, 0.1]]
    """
    if not callable(getattr(estimator, "log_ratio", None)):
        raise InputError(
            "the estimator must have a log_ratio(x, theta[, theta_ref]) method (a trained ratio or density "
            f"estimator, an Ensemble, a GaussianToy); got a {type(estimator).__name__}"
        )
    grid = np.atleast_1d(as_finite_array(theta, "theta grid"))
    if grid.ndim != 1:
        raise InputError(f"theta must be one number or a 1-d grid, got shape {grid.shape}")
    args = () if theta_ref is None else (float(theta_ref),)
    rows = []
    show = progress if progress is not None else len(grid) * len(x) > 5_000_000
    for t in tqdm(grid, desc="log r on the grid", disable=not show):
        row = np.asarray(estimator.log_ratio(x, float(t), *args), dtype=float)
        if row.shape != (len(x),):
            raise InputError(
                f"{type(estimator).__name__}.log_ratio returned shape {row.shape} for {len(x)} events; it must "
                "return one log r per event (flatten an (n, 1) output, or pass x as (n_events, d))"
            )
        rows.append(row)
    return np.stack(rows)


@dataclass(frozen=True, eq=False)
class GenericScan(Scan):
    """A likelihood scan in one parameter of any simulator (kinematic and rate parts kept separately).

    :attr:`mu` and :attr:`mu_hat` are the :class:`~hepnb.stats.asymptotic.Scan` names of :attr:`theta` and
    :attr:`theta_hat`, so ``interval(cl)``, ``z`` and ``p_value`` work as for every hepnb scan.

    Attributes
    ----------
    theta
        The grid (increasing).
    log_likelihood_kinematic
        ``sum_i w_i log r(x_i | theta_j, theta_ref)``.
    log_likelihood_rate
        ``n ln nu(theta_j) - nu(theta_j)`` (zeros without ``nu``).
    include_rate
        Whether :attr:`q` includes the rate term.
    n_events
        ``n = sum_i w_i``.
    parameter
        The parameter's name.
    theta_true
        The parameter of Asimov data (NaN if unknown or observed).
    method
        Label.
    """

    theta: np.ndarray
    log_likelihood_kinematic: np.ndarray
    log_likelihood_rate: np.ndarray
    include_rate: bool
    n_events: float
    parameter: str = "theta"
    theta_true: float = float("nan")
    method: str = ""

    @property
    def log_likelihood(self) -> np.ndarray:
        """``ln L(theta)`` up to a constant (kinematic, plus the rate term if :attr:`include_rate`)."""
        rate = self.log_likelihood_rate if self.include_rate else 0.0
        return self.log_likelihood_kinematic + rate

    @property
    def q(self) -> np.ndarray:  # type: ignore[override]
        """``-2 [ln L(theta) - max ln L]``."""
        ll = self.log_likelihood
        return -2.0 * (ll - ll.max())

    @property
    def mu(self) -> np.ndarray:  # type: ignore[override]
        """:attr:`theta` (the name :class:`~hepnb.stats.asymptotic.Scan` reads)."""
        return self.theta

    @property
    def theta_hat(self) -> float:
        """The best fit: the grid point with the largest likelihood, refined by a parabola through its neighbours."""
        if len(self.theta) < 3:
            return float(self.theta[int(np.argmin(self.q))])
        return float(refine_maximum(self.theta, -0.5 * self.q)[1])

    @property
    def mu_hat(self) -> float:  # type: ignore[override]
        """:attr:`theta_hat`."""
        return self.theta_hat

    def with_rate(self, include_rate: bool) -> GenericScan:
        """The same scan with or without the rate term."""
        return dataclasses.replace(self, include_rate=bool(include_rate))


def likelihood_scan(
    log_r: Any,
    weights: Any = None,
    *,
    theta: Any,
    nu: Any = None,
    include_rate: bool | None = None,
    parameter: str = "theta",
    theta_true: float | None = None,
    method: str = "",
) -> GenericScan:
    """The unbinned likelihood scan of a generic parameter from per-event log likelihood ratios.

    ``ln L(theta_j) = sum_i w_i log r(x_i | theta_j, theta_ref) + n ln nu(theta_j) - nu(theta_j)`` with ``n = sum_i
    w_i`` (the extended likelihood; the rate term only with ``nu``). For Asimov data the events are a sample of the
    true model weighted to the expected number of events (:attr:`GenericScan.q` is then the median expected
    ``q``); for observed data the weights are 1. Intervals come from Wilks' theorem (``q <= 1``: 68%, ``q <=
    3.84``: 95%) via :meth:`GenericScan.interval`.

    Parameters
    ----------
    log_r
        ``(len(theta), n_events)`` log likelihood ratios against one reference (exact, or from
        :func:`log_ratio_grid`).
    weights
        ``(n_events,)`` non-negative event weights (default 1 per event: observed data).
    theta
        The increasing grid of the parameter.
    nu
        Expected number of events ``nu(theta_j) > 0`` per grid point (the Poisson rate term), or ``None``
        (shape only).
    include_rate
        Whether ``q`` includes the rate term (default: when ``nu`` is given).
    parameter, theta_true, method
        The parameter's name, the true value of Asimov data (recorded) and a label.

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import lfi
    >>> toy = lfi.GaussianToy()                        # p(x | theta) = N(theta, sqrt(5))
    >>> x = np.array([-1.0, 0.0, 1.0])
    >>> grid = np.linspace(-2.0, 2.0, 41)
    >>> scan = lfi.likelihood_scan([toy.log_ratio(x, t, 0.0) for t in grid], theta=grid)
    >>> round(scan.theta_hat, 6), [round(v, 3) for v in scan.interval(0.6827).intervals[0]]
    (0.0, [-1.291, 1.291])
    """
    grid = as_finite_array(theta, "theta grid", ndim=1)
    if len(grid) < 2 or np.any(np.diff(grid) <= 0):
        raise InputError(f"theta must be an increasing grid of at least two points, got {theta!r}")
    if nu is None and include_rate:
        raise InputError("include_rate=True needs nu, the expected number of events per grid point")
    ll_kin, ll_rate, n = unbinned_log_likelihood(log_ratio_table(log_r, len(grid)), weights, nu)
    if ll_rate is None:
        ll_rate = np.zeros(len(grid))
    rate = nu is not None if include_rate is None else bool(include_rate)
    truth = float("nan") if theta_true is None else float(theta_true)
    return GenericScan(grid, ll_kin, ll_rate, rate, n, str(parameter), truth, str(method))
