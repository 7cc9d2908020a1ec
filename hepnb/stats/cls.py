"""CLs and one-sided upper limits on mu from the asymptotic formulae.

For an upper limit the test statistic is ``q~_mu`` (Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011)
1554, arXiv:1007.1727, eq 16): ``-2 ln [L(mu) / L(mu_hat)]`` with ``mu_hat >= 0`` fitted, and 0 when
``mu_hat > mu`` (an excess above mu is no evidence against it). Its distribution follows from the same statistic
on the background-only Asimov data, ``q~_mu,A`` (eq 65-66)::

    CLs+b = Phi(-sqrt(q~))                              if q~ <= q~_A
          = Phi(-(q~ + q~_A) / (2 sqrt(q~_A)))          otherwise
    CLb   = Phi(sqrt(q~_A) - sqrt(q~))  (likewise)      CLs = CLs+b / CLb

and the expected CLs for background-only data fluctuating by ``n`` standard deviations is
``Phi(-(n + sqrt(q~_A))) / Phi(-n)``. These are pyhf's ``hypotest(..., test_stat="qtilde",
calctype="asymptotics")`` numbers (``tests/test_stats_cls.py`` checks one bin against pyhf).

The model is :class:`~hepnb.stats.interference.BinnedInterferenceModel`, ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k``.
:func:`scan_upper_limit` (and :func:`grid_upper_limit`, on arrays) reads the same limits off two q(mu) scans on a grid,
the data's and the background-only Asimov data's, of any method (binned, or unbinned as in :mod:`hepnb.lfi.limits`);
all of them go through :func:`cls_from_q`. With interference the yield is not monotonic in mu (mu = 0 and
``(I/S)^2`` have the same rate), the excluded set need not be a half-line (islands below the limit are reported)
and the asymptotic distribution is an approximation
(the thesis, A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, section 7.7, quotes
Wilks-based limits); with ``I = 0`` it is the textbook case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from hepnb.errors import InputError, as_finite_array
from hepnb.stats.asymptotic import Scan, refine_minimum
from hepnb.stats.interference import BinnedInterferenceModel

__all__ = [
    "N_SIGMA",
    "CLs",
    "UpperLimit",
    "ScanUpperLimit",
    "q_tilde",
    "cls",
    "cls_from_q",
    "upper_limit",
    "grid_upper_limit",
    "scan_upper_limit",
]

#: The fluctuations of background-only data, in standard deviations, of the expected CLs values (pyhf's order).
N_SIGMA: tuple[int, ...] = (2, 1, 0, -1, -2)

_FIT_POINTS = 41  # grid in sqrt(mu) on which the fit of mu_hat starts (the likelihood can have two minima)


@dataclass(frozen=True)
class CLs:
    """CLs of one tested mu: observed, its parts, and the expected values at :data:`N_SIGMA`."""

    mu: float
    q_tilde: float
    q_tilde_asimov: float
    cls: float
    clsb: float
    clb: float
    expected: tuple[float, ...]


@dataclass(frozen=True)
class UpperLimit:
    """The mu where CLs falls to ``1 - cl``: observed, and expected at :data:`N_SIGMA` (from -2 to +2 sigma)."""

    cl: float
    observed: float
    expected: tuple[float, ...]


def _counts(model: BinnedInterferenceModel, data: ArrayLike | None) -> np.ndarray:
    return model.asimov_data(0.0) if data is None else np.asarray(data, dtype=float)


def q_tilde(
    model: BinnedInterferenceModel,
    mu: float,
    data: ArrayLike | None = None,
    *,
    mu_max: float = 16.0,
    include_rate: bool = True,
    profile_mc_stat: bool = False,
) -> float:
    """The upper-limit test statistic ``q~_mu`` of ``data`` (background-only Asimov data if None).

    ``mu_hat`` is fitted in ``[0, mu_max]`` (a grid in ``sqrt(mu)``, then refined), where every bin must have a
    positive expectation.

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    >>> round(q_tilde(model, 1.0, [10.0]), 4)  # 2 (15 - 10 - 10 ln 1.5)
    1.8907
    """
    mu = float(mu)
    if not np.isfinite(mu) or not 0 < mu <= mu_max:
        raise InputError(f"the tested mu must be in (0, mu_max = {mu_max:g}], got {mu}")
    model.check_positive([0.0, mu_max])
    n = _counts(model, data)
    options = {"include_rate": include_rate, "profile_mc_stat": profile_mc_stat}
    grid = np.linspace(0.0, np.sqrt(mu_max), _FIT_POINTS) ** 2
    deviance = model.twice_nll_deviance(grid, n, **options)
    mu_hat, minimum = refine_minimum(grid, deviance, lambda m: float(model.twice_nll_deviance(m, n, **options)[0]))
    if mu_hat > mu:
        return 0.0
    return max(float(model.twice_nll_deviance(mu, n, **options)[0]) - minimum, 0.0)


def cls_from_q(q_tilde: ArrayLike, q_tilde_asimov: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(CLs, CLs+b, CLb, expected CLs)`` from ``q~_mu`` and ``q~_mu,A`` (arrays; arXiv:1007.1727 eq 65-66).

    The one implementation of the asymptotic formulae: :func:`cls`, :func:`upper_limit`, :func:`scan_upper_limit`
    and :mod:`hepnb.stats.coverage` all call it. ``expected`` has a leading axis over :data:`N_SIGMA`. Where
    ``q~_A = 0`` (the data cannot tell mu from 0) CLs is 1: nothing is excluded.

    Examples
    --------
    >>> value, clsb, clb, expected = cls_from_q(1.8907, 1.8907)  # Asimov-like data: observed = median expected
    >>> round(float(value), 4), round(float(expected[2]), 4)
    (0.1691, 0.1691)
    """
    q, q_a = np.broadcast_arrays(
        np.maximum(np.asarray(q_tilde, float), 0.0), np.maximum(np.asarray(q_tilde_asimov, float), 0.0)
    )
    sqrt_q, sqrt_qa = np.sqrt(q), np.sqrt(q_a)
    near = (sqrt_q < sqrt_qa) | (sqrt_qa == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(near, sqrt_q - sqrt_qa, (q - q_a) / (2 * np.where(sqrt_qa > 0, sqrt_qa, 1.0)))
    log_clsb, log_clb = stats.norm.logcdf(-(t + sqrt_qa)), stats.norm.logcdf(-t)
    n = np.asarray(N_SIGMA, dtype=float).reshape((-1,) + (1,) * q.ndim)
    expected = np.exp(stats.norm.logcdf(-(n + sqrt_qa)) - stats.norm.logcdf(-n))
    # the ratio in log space: far in the tail CLs+b and CLb both underflow and their quotient would be 0/0
    return np.exp(log_clsb - log_clb), np.exp(log_clsb), np.exp(log_clb), expected


def _expected_sqrt_q(alpha: float) -> np.ndarray:
    """``sqrt(q~_A)`` at which the expected CLs of each :data:`N_SIGMA` equals ``alpha`` (inverting the formula)."""
    n = np.asarray(N_SIGMA, dtype=float)
    return -stats.norm.ppf(alpha * stats.norm.cdf(-n)) - n


def cls(
    model: BinnedInterferenceModel,
    mu: float,
    data: ArrayLike | None = None,
    *,
    mu_max: float = 16.0,
    include_rate: bool = True,
    profile_mc_stat: bool = False,
) -> CLs:
    """Asymptotic CLs of the signal strength ``mu`` given ``data`` (background-only Asimov data if None).

    Parameters
    ----------
    model
        The binned templates.
    mu
        Tested signal strength, in ``(0, mu_max]``.
    data
        Observed counts per bin.
    mu_max
        Upper end of the range in which ``mu_hat`` is fitted.
    include_rate, profile_mc_stat
        As in :meth:`~hepnb.stats.interference.BinnedInterferenceModel.scan`.

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    >>> round(cls(model, 1.0, [10.0]).cls, 4)
    0.1691
    """
    options = {"mu_max": mu_max, "include_rate": include_rate, "profile_mc_stat": profile_mc_stat}
    q = q_tilde(model, mu, data, **options)
    q_asimov = q_tilde(model, mu, None, **options)
    if not q_asimov > 0:
        raise InputError(f"the data cannot tell mu = {mu:g} from mu = 0 (q~_A = 0): test a larger mu")
    value, clsb, clb, expected = cls_from_q(q, q_asimov)
    return CLs(float(mu), q, q_asimov, float(value), float(clsb), float(clb), tuple(float(e) for e in expected))


def upper_limit(
    model: BinnedInterferenceModel,
    data: ArrayLike | None = None,
    *,
    cl: float = 0.95,
    mu_max: float = 16.0,
    include_rate: bool = True,
    profile_mc_stat: bool = False,
    xtol: float = 1e-8,
) -> UpperLimit:
    """The one-sided CLs upper limit on mu at ``cl``: where CLs (observed, expected) falls to ``1 - cl``.

    Each limit is the root of ``CLs(mu) - (1 - cl)`` in ``(0, mu_max]`` (Brent's method); a limit above
    ``mu_max`` raises :class:`InputError` (raise ``mu_max``).

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    >>> limit = upper_limit(model, [10.0])
    >>> round(limit.observed, 3), round(limit.expected[2], 3)  # Asimov-like data: observed = median expected
    (1.508, 1.508)
    """
    if not 0 < cl < 1:
        raise InputError(f"cl must be in (0, 1), e.g. 0.95, got {cl}")
    alpha = 1.0 - cl
    options = {"mu_max": mu_max, "include_rate": include_rate, "profile_mc_stat": profile_mc_stat}
    lowest = 1e-6 * mu_max

    def solve(excess: Callable[[float], float], what: str) -> float:
        if excess(mu_max) > 0:
            raise InputError(f"the {what} CLs limit is above mu_max = {mu_max:g}: raise mu_max")
        return float(optimize.brentq(excess, lowest, mu_max, xtol=xtol))

    observed = solve(lambda m: cls(model, m, data, **options).cls - alpha, "observed")
    # expected: CLs_exp(n) = alpha where sqrt(q~_A) reaches the inverted formula's value (as scan_upper_limit)
    thresholds = _expected_sqrt_q(alpha)
    expected = tuple(
        solve(lambda m, x=x: x - np.sqrt(q_tilde(model, m, None, **options)), f"{-n:+d} sigma expected limit")
        for n, x in zip(N_SIGMA, thresholds)
    )
    return UpperLimit(float(cl), observed, expected)


# ------------------------------------------------------------------------------------------------------------------
# limits from q(mu) scans on a grid
# ------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanUpperLimit(UpperLimit):
    """A CLs upper limit read off two q(mu) scans on one grid (:func:`scan_upper_limit`).

    ``observed`` and ``expected`` (from -2 to +2 sigma) are the smallest mu above which every mu of the grid is
    excluded (interpolated between grid points); NaN where nothing up to the grid end is excluded, flagged in
    ``cut_at_grid_end`` (observed first, then the expected from -2 to +2 sigma). ``islands`` and
    ``expected_islands`` are the excluded ``(lo, hi)`` regions *below* each limit: with interference
    ``N(mu) = mu S + sqrt(mu) I + B`` is not monotonic and the excluded set need not be a half-line.
    """

    islands: tuple[tuple[float, float], ...]
    expected_islands: tuple[tuple[tuple[float, float], ...], ...]
    cut_at_grid_end: tuple[bool, ...]
    grid_end: float

    @property
    def truncated(self) -> bool:
        """Whether any limit (observed or expected) is cut by the grid end."""
        return any(self.cut_at_grid_end)


def _tilde_nodes(mu: np.ndarray, q: np.ndarray, mu_hat: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``(mu, sqrt(q~))``: ``q~ = 0`` below ``mu_hat`` (inserted as a node), ``q`` clipped at 0 above."""
    root = np.sqrt(np.where(mu < mu_hat, 0.0, np.maximum(q, 0.0)))
    if mu[0] < mu_hat < mu[-1] and not np.any(np.isclose(mu, mu_hat, rtol=0, atol=1e-12)):
        k = int(np.searchsorted(mu, mu_hat))
        return np.insert(mu, k, mu_hat), np.insert(root, k, 0.0)
    return mu, root


def _excluded_regions(
    nodes: np.ndarray, excess: Callable[[float], float], xtol: float
) -> tuple[tuple[float, float], ...]:
    """Regions where ``excess < 0`` (excluded), each edge a root of ``excess`` between two nodes."""
    values = np.array([excess(float(m)) for m in nodes])
    excluded = values < 0
    regions: list[tuple[float, float]] = []
    lo = float(nodes[0]) if excluded[0] else None
    for k in np.flatnonzero(excluded[1:] != excluded[:-1]):
        edge = float(optimize.brentq(excess, nodes[k], nodes[k + 1], xtol=xtol)) if values[k + 1] != 0 else nodes[k + 1]
        if excluded[k + 1]:
            lo = float(edge)
        else:
            regions.append((lo, float(edge)))  # type: ignore[arg-type]
            lo = None
    if lo is not None:
        regions.append((lo, float(nodes[-1])))
    return tuple(regions)


def _limit_of(regions: tuple[tuple[float, float], ...], grid_end: float) -> tuple[float, tuple, bool]:
    """(limit, islands below it, cut at the grid end) from the excluded regions."""
    if not regions or regions[-1][1] < grid_end:
        return float("nan"), regions, True
    return regions[-1][0], regions[:-1], False


def grid_upper_limit(
    mu: ArrayLike,
    q: ArrayLike,
    q_background: ArrayLike,
    *,
    mu_hat: float | None = None,
    mu_hat_background: float | None = None,
    cl: float = 0.95,
    at_grid_end: str = "raise",
    xtol: float = 1e-9,
) -> ScanUpperLimit:
    """The CLs upper limit from ``q(mu)`` of the data and ``q(mu)`` of background-only Asimov data on one grid.

    ``q~_mu`` is ``q`` with 0 where ``mu_hat > mu`` (both scans); CLs from :func:`cls_from_q`, the same formulae as
    :func:`upper_limit`. Between grid points ``sqrt(q~)`` is interpolated linearly (exact for a Gaussian
    likelihood). The limit is the smallest mu above which every mu up to the grid end is excluded
    (``CLs < 1 - cl``); excluded regions below it are reported as islands.

    Parameters
    ----------
    mu
        Increasing grid of mu >= 0.
    q, q_background
        ``-2 ln [L(mu) / L(mu_hat)]`` of the data and of the background-only (mu = 0) Asimov data on ``mu``.
    mu_hat, mu_hat_background
        The best fits (default: the grid point of smallest q).
    cl
        Confidence level (0.95).
    at_grid_end
        ``"raise"`` (default): raise :class:`InputError` when a limit is above the grid end; ``"nan"``: return NaN
        for it and set :attr:`ScanUpperLimit.cut_at_grid_end`.
    xtol
        Tolerance in mu of the interpolated crossings.

    Examples
    --------
    >>> mu = np.linspace(0.0, 10.0, 101)
    >>> limit = grid_upper_limit(mu, (mu - 1.0) ** 2, mu**2)  # Gaussian, sigma = 1: data at mu_hat = 1
    >>> round(limit.observed, 3), round(limit.expected[2], 3)
    (2.727, 1.96)
    """
    if not 0 < cl < 1:
        raise InputError(f"cl must be in (0, 1), e.g. 0.95, got {cl}")
    if at_grid_end not in ("raise", "nan"):
        raise InputError(f"at_grid_end must be 'raise' or 'nan', got {at_grid_end!r}")
    grid = as_finite_array(mu, "mu", ndim=1)
    values = {
        "q": as_finite_array(q, "q", ndim=1),
        "q_background": as_finite_array(q_background, "q_background", ndim=1),
    }
    for name, v in values.items():
        if v.shape != grid.shape:
            raise InputError(f"{name} has {len(v)} points for a mu grid of {len(grid)}: scan both on the same grid")
    if len(grid) < 2 or np.any(np.diff(grid) <= 0) or grid[0] < 0:
        raise InputError("mu must be an increasing grid of at least two values >= 0")
    q_d, q_b = values["q"], values["q_background"]
    hat_d = float(grid[np.argmin(q_d)]) if mu_hat is None else float(mu_hat)
    hat_b = float(grid[np.argmin(q_b)]) if mu_hat_background is None else float(mu_hat_background)
    nodes_d, root_d = _tilde_nodes(grid, q_d, hat_d)
    nodes_b, root_b = _tilde_nodes(grid, q_b, hat_b)
    nodes = np.union1d(nodes_d, nodes_b)
    alpha = 1.0 - cl

    def root_b_at(m: float) -> float:
        return float(np.interp(m, nodes_b, root_b))

    def observed(m: float) -> float:
        return float(cls_from_q(np.interp(m, nodes_d, root_d) ** 2, root_b_at(m) ** 2)[0]) - alpha

    end = float(grid[-1])
    regions = [_excluded_regions(nodes, observed, xtol)]
    regions += [_excluded_regions(nodes, lambda m, x=x: float(x) - root_b_at(m), xtol) for x in _expected_sqrt_q(alpha)]
    limits = [_limit_of(r, end) for r in regions]
    cut = tuple(c for _, _, c in limits)
    if at_grid_end == "raise" and any(cut):
        which = ["observed", *(f"{n:+d} sigma expected" for n in N_SIGMA)]
        raise InputError(
            f"nothing up to the grid end mu = {end:g} is excluded for the "
            f"{', '.join(w for w, c in zip(which, cut) if c)} limit: extend the grid, or pass at_grid_end='nan'"
        )
    return ScanUpperLimit(
        float(cl),
        limits[0][0],
        tuple(lim for lim, _, _ in limits[1:]),
        limits[0][1],
        tuple(isl for _, isl, _ in limits[1:]),
        cut,
        end,
    )


def scan_upper_limit(data: Scan, background: Scan, *, cl: float = 0.95, at_grid_end: str = "raise") -> ScanUpperLimit:
    """:func:`grid_upper_limit` of two :class:`~hepnb.stats.asymptotic.Scan` objects on the same mu grid.

    ``data`` is the scan of the (Asimov or observed) data, ``background`` that of the background-only Asimov data
    (``mu_true = 0``) of the same method; their ``mu_hat`` are used.

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    >>> grid = np.linspace(0.0, 10.0, 201)
    >>> limit = scan_upper_limit(model.scan(grid, [10.0]), model.scan(grid, mu_true=0.0))
    >>> round(limit.observed, 3)  # upper_limit(model, [10.0]).observed is 1.508
    1.508
    """
    for name, scan in (("data", data), ("background", background)):
        if not isinstance(scan, Scan):
            raise InputError(f"{name} must be a q(mu) scan (hepnb.stats.Scan), got {type(scan).__name__}")
    if data.mu.shape != background.mu.shape or not np.allclose(data.mu, background.mu):
        raise InputError("the data and background-only scans must be on the same mu grid")
    return grid_upper_limit(
        data.mu,
        data.q,
        background.q,
        mu_hat=data.mu_hat,
        mu_hat_background=background.mu_hat,
        cl=cl,
        at_grid_end=at_grid_end,
    )
