"""CLs upper limits in any parameter: the limit table of :mod:`hepnb.lfi.limits` for :class:`~hepnb.lfi.GenericScan`.

:mod:`hepnb.lfi.limits` reads the one-sided CLs limit on a signal strength ``mu >= 0``, with the background-only
hypothesis at ``mu = 0``. A user's parameter theta has its own "no new physics" value, the null ``theta_0`` (0 for a
signal strength, the SM value of a coupling): the upper limit is on theta above ``theta_0``, with ``q~_theta``
(Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, arXiv:1007.1727, eq 16) fitted for ``theta_hat >=
theta_0``. That is :func:`hepnb.stats.cls.grid_upper_limit` in ``mu = theta - theta_0`` on a grid that starts at the
null, with the Asimov data generated at the null in the role of the background-only data (for a Gaussian
likelihood of width ``sigma_theta`` the median expected limit is ``theta_0 + 1.96 sigma_theta``, eq 89 of the paper).

* :func:`generic_upper_limit`: the limit, its expected band and excluded islands, in theta;
* :func:`generic_limit_table`: one row per method, as :func:`hepnb.lfi.limit_table`, from ``{method: {theta_true:
  scan}}``, with the ratios to a reference (the exact likelihood) and the over-confidence flag.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hepnb.errors import InputError
from hepnb.lfi._limit_rows import compare_to_reference, limit_row
from hepnb.lfi.generic import GenericScan
from hepnb.stats.cls import N_SIGMA, ScanUpperLimit, grid_upper_limit

__all__ = ["generic_upper_limit", "generic_limit_table"]


# ------------------------------------------------------------------------------------------------------------------
# the generic parameter
# ------------------------------------------------------------------------------------------------------------------
def _null_start(data_scan: Any, null_scan: Any, null: float) -> float:
    """The grid start, after checking that the two scans fit together and that the null is where the grid starts."""
    for name, scan in (("data_scan", data_scan), ("null_scan", null_scan)):
        if not isinstance(scan, GenericScan):
            raise InputError(
                f"{name} must be a GenericScan (from hepnb.lfi.likelihood_scan), got {type(scan).__name__}"
            )
    grid = data_scan.theta
    if null_scan.theta.shape != grid.shape or not np.allclose(null_scan.theta, grid, rtol=0, atol=1e-9 * np.ptp(grid)):
        raise InputError("the data and null scans must be on the same theta grid: scan both with the same theta")
    if data_scan.include_rate != null_scan.include_rate:
        raise InputError(
            f"the data scan has include_rate={data_scan.include_rate}, the null scan {null_scan.include_rate}: "
            "compare like with like (scan.with_rate(...))"
        )
    theta_0 = float(null)
    if not np.isfinite(theta_0):
        raise InputError(f"null must be a finite value of the parameter, got {null!r}")
    start, end = float(grid[0]), float(grid[-1])
    if abs(theta_0 - start) > 1e-9 * (end - start):
        raise InputError(
            f"the null {theta_0:g} is not the start of the grid [{start:g}, {end:g}]: the upper limit is one-sided "
            f"above the null (theta_hat >= theta_0), so scan theta from the null up, e.g. np.linspace({theta_0:g}, "
            f"{max(end, theta_0 + 1):g}, n)"
        )
    truth = null_scan.theta_true
    if not np.isfinite(truth):
        raise InputError(
            f"the null scan does not say which data it scanned (theta_true is NaN): build it from the Asimov data "
            f"generated at the null with likelihood_scan(..., theta_true={theta_0:g})"
        )
    if abs(truth - theta_0) > 1e-9 * (end - start):
        raise InputError(
            f"the null scan is of data at theta_true = {truth:g}, not at the null {theta_0:g}: pass the scan of the "
            "Asimov data generated at the null"
        )
    return start


def _shift(limit: ScanUpperLimit, by: float, grid_end: float) -> ScanUpperLimit:
    """``limit`` with every position moved by ``by`` (from ``theta - theta_0`` back to theta)."""

    def move(regions: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        return tuple((lo + by, hi + by) for lo, hi in regions)

    return dataclasses.replace(
        limit,
        observed=limit.observed + by,
        expected=tuple(e + by for e in limit.expected),
        islands=move(limit.islands),
        expected_islands=tuple(move(r) for r in limit.expected_islands),
        grid_end=grid_end,
    )


def generic_upper_limit(
    data_scan: GenericScan,
    null_scan: GenericScan,
    *,
    null: float,
    cl: float = 0.95,
    at_grid_end: str = "nan",
) -> ScanUpperLimit:
    """The one-sided CLs upper limit on theta above the null ``theta_0``, from two scans on one grid.

    :func:`hepnb.stats.cls.grid_upper_limit` in ``theta - theta_0``, with the scans' best fits, shifted back: the
    asymptotic ``q~`` (arXiv:1007.1727 eq 16, 65-66) with ``theta_hat >= theta_0``, the null Asimov scan giving
    ``q~_A`` and the expected band. The grid must start at the null.

    Parameters
    ----------
    data_scan
        The scan of the (Asimov or observed) data.
    null_scan
        The same method's scan of the Asimov data generated at the null, on the same grid and with the same
        ``include_rate``.
    null
        ``theta_0``, the "no new physics" value (0 for a signal strength); the first grid point.
    cl
        Confidence level.
    at_grid_end
        ``"nan"`` (default): a limit above the grid end is NaN, flagged in ``cut_at_grid_end``; ``"raise"``:
        :class:`~hepnb.errors.InputError`.

    Returns
    -------
    hepnb.stats.cls.ScanUpperLimit
        ``observed``, ``expected`` (-2 to +2 sigma), the excluded islands below them and ``grid_end``, in theta.

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import lfi
    >>> toy = lfi.GaussianToy()                              # x ~ N(theta, sqrt(5)) per event
    >>> nodes, h = np.polynomial.hermite_e.hermegauss(20)    # Asimov data by Gauss-Hermite quadrature
    >>> weights = 20 * h / h.sum()                           # 20 expected events: sigma_theta = sqrt(5 / 20) = 0.5
    >>> grid = np.linspace(2.0, 6.0, 81)                     # the null theta_0 = 2 starts the grid
    >>> def scan(theta_true):
    ...     x = theta_true + toy.sigma * nodes
    ...     log_r = [toy.log_ratio(x, t, 2.0) for t in grid]
    ...     return lfi.likelihood_scan(log_r, weights, theta=grid, theta_true=theta_true)
    >>> limit = lfi.generic_upper_limit(scan(2.0), scan(2.0), null=2.0)
    >>> round(limit.expected[2], 4), round(limit.observed, 4)  # 2 + 1.96 sigma_theta
    (2.98, 2.98)
    >>> round(lfi.generic_upper_limit(scan(3.0), scan(2.0), null=2.0).observed, 4)  # 3 + 0.5 Phi^-1(1 - 0.05 Phi(2))
    3.828
    """
    if at_grid_end not in ("raise", "nan"):
        raise InputError(f"at_grid_end must be 'raise' or 'nan', got {at_grid_end!r}")
    start = _null_start(data_scan, null_scan, null)
    grid = data_scan.theta
    limit = grid_upper_limit(
        grid - start,
        data_scan.q,
        null_scan.q,
        mu_hat=data_scan.theta_hat - start,
        mu_hat_background=null_scan.theta_hat - start,
        cl=cl,
        at_grid_end="nan",
    )
    end = float(grid[-1])
    if at_grid_end == "raise" and limit.truncated:
        which = ["observed", *(f"{n:+d} sigma expected" for n in N_SIGMA)]
        raise InputError(
            f"nothing up to the grid end {data_scan.parameter} = {end:g} is excluded for the "
            f"{', '.join(w for w, c in zip(which, limit.cut_at_grid_end) if c)} limit: extend the grid, or pass "
            "at_grid_end='nan'"
        )
    return _shift(limit, start, end)


def _entry(by_value: Mapping[float, GenericScan], value: float, method: str, what: str) -> GenericScan:
    for key, scan in by_value.items():
        if np.isclose(float(key), value, rtol=1e-12, atol=1e-12):
            return scan
    raise InputError(
        f"method {method!r} has no scan at theta_true = {value:g} ({what}); it has {sorted(map(float, by_value))}"
    )


def _with_rate(scan: GenericScan, include_rate: bool | None, method: str) -> GenericScan:
    if include_rate is None:
        return scan
    if include_rate and not np.any(scan.log_likelihood_rate):
        raise InputError(
            f"method {method!r}: include_rate=True needs scans with a rate term; build them with nu "
            "(lfi.likelihood_scan(..., nu=...)) or pass include_rate=False"
        )
    return scan.with_rate(include_rate)


def generic_limit_table(
    scans: Mapping[str, Mapping[float, GenericScan]],
    theta_true: float,
    *,
    null: float,
    include_rate: bool | None = None,
    reference: str | None = None,
    cl: float = 0.95,
) -> pd.DataFrame:
    """One row per method: CLs limit, expected band, Wilks intervals, ``theta_hat``, ``q(null)``, grid-end cuts.

    The columns of :func:`hepnb.lfi.limit_table`, for :class:`~hepnb.lfi.GenericScan` in any parameter, with the
    limits from :func:`generic_upper_limit`.

    Parameters
    ----------
    scans
        ``{method: {theta_true: scan}}``; the null scan of a method is its entry at ``null`` (Asimov data at the
        null), the reported one its entry at ``theta_true``.
    theta_true
        Which data to report (``null`` itself for the expected limits alone).
    null
        ``theta_0``, the start of every grid.
    include_rate
        Report the scans as built (None) or with / without their rate term (``scan.with_rate``).
    reference
        A method the limits are compared with (the exact likelihood), or None.
    cl
        Confidence level of the upper limits.

    Returns
    -------
    pandas.DataFrame
        ``limit`` (CLs limit on the data at ``theta_true``), ``median expected``, the expected 68% / 95% bands,
        ``islands`` (excluded regions below the limit), the Wilks intervals as text (``>`` marks an end at the
        grid end), ``theta_hat``, ``q(null)`` and ``cut at grid end``. With ``reference``: ``limit / <reference>``
        and ``median / <reference>``, the distances from the null divided by the reference's, and ``beyond the
        <reference>``, either ratio below ``1 -`` :data:`~hepnb.lfi.tables.BEYOND_ORACLE_MARGIN` (a limit tighter
        than the exact likelihood's is over-confidence, not a success).

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import lfi
    >>> toy = lfi.GaussianToy()                              # x ~ N(theta, sqrt(5)) per event
    >>> nodes, h = np.polynomial.hermite_e.hermegauss(20)    # Asimov data, 20 expected events: sigma_theta = 0.5
    >>> grid = np.linspace(0.0, 4.0, 81)                     # the null theta_0 = 0 starts the grid
    >>> def scan(theta_true, narrow=1.0):                    # narrow > 1: an over-confident log r
    ...     log_r = [narrow * toy.log_ratio(theta_true + toy.sigma * nodes, t, 0.0) for t in grid]
    ...     return lfi.likelihood_scan(log_r, 20 * h / h.sum(), theta=grid, theta_true=theta_true)
    >>> scans = {name: {t: scan(t, k) for t in (0.0, 1.0)} for name, k in (("exact", 1.0), ("narrow", 4.0))}
    >>> table = lfi.generic_limit_table(scans, 1.0, null=0.0, reference="exact")
    >>> table[["limit", "median / exact"]].round(3).to_dict("index")  # exact: 1 + 0.5 Phi^-1(1 - 0.05 Phi(2))
    {'exact': {'limit': 1.828, 'median / exact': 1.0}, 'narrow': {'limit': 1.411, 'median / exact': 0.5}}
    >>> table[["theta_hat", "q(null)"]].round(3).values.tolist(), table["beyond the exact"].tolist()
    ([[1.0, 4.0], [1.0, 16.0]], [False, True])
    """
    if not scans:
        raise InputError("scans is empty: pass {method: {theta_true: GenericScan}}")
    rows = {}
    for method, by_value in scans.items():
        data = _with_rate(_entry(by_value, float(theta_true), method, "the data"), include_rate, method)
        null_scan = _with_rate(_entry(by_value, float(null), method, "the null"), include_rate, method)
        limit = generic_upper_limit(data, null_scan, null=null, cl=cl)
        rows[method] = limit_row(data, limit, best_fit="theta_hat", q_null=("q(null)", float(data.q[0])))
    if reference is None:
        frame = pd.DataFrame.from_dict(rows, orient="index")
    else:
        frame = compare_to_reference(rows, reference, null=float(null))
    frame.index.name = "method"
    return frame.astype({c: float for c in ("limit", "median expected", "theta_hat", "q(null)")})
