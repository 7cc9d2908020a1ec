"""Limits side by side: the CLs upper limit, the two-sided intervals, mu_hat and q(0) of every method (notebook 03).

At 36.1 fb^-1 every 95% region of this study starts at mu = 0, so its "width" is an upper limit; this module reports
what each method's scans say in the usual terms: the one-sided 95% CL CLs upper limit (asymptotic ``q~_mu``,
Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, arXiv:1007.1727) on the Asimov data at ``mu_true``
with the background-only Asimov scan (``mu_true = 0``) of the same method for ``q~_A``, the expected band from the
latter, the Wilks 68% / 95% intervals, ``mu_hat`` and ``q(mu = 0)``, and which of these the grid end cuts. The limits
come from :func:`hepnb.stats.cls.scan_upper_limit` (the formulae of the binned :func:`hepnb.stats.cls.upper_limit`).
As in A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, section 7.7, but with CLs limits.

:func:`event_coverage` checks the intervals' coverage with toys drawn from the evaluation events
(:func:`hepnb.stats.coverage.unbinned_coverage`), for the oracle (:func:`oracle_log_r_grid`) or an estimator's
``log r_hat`` grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hepnb.errors import InputError
from hepnb.lfi._limit_rows import compare_to_reference, limit_row
from hepnb.lfi.inference import LikelihoodScan
from hepnb.lfi.oracle import oracle_log_density
from hepnb.offshell import Events
from hepnb.stats.cls import ScanUpperLimit, scan_upper_limit
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI
from hepnb.stats.coverage import Coverage, unbinned_coverage
from hepnb.stats.yields import combine, mu_from_kappa

__all__ = ["method_limits", "limit_table", "oracle_log_r_grid", "event_coverage"]


def method_limits(
    scan: LikelihoodScan, background: LikelihoodScan | None, *, cl: float = 0.95
) -> tuple[ScanUpperLimit | None, dict[str, Any]]:
    """The CLs limit of one method (None without a background-only scan) and its row of :func:`limit_table`.

    Parameters
    ----------
    scan
        The method's scan of the Asimov (or observed) data.
    background
        The same method's scan of the background-only Asimov data (``mu_true = 0``), same grid and rate choice.
    cl
        Confidence level of the upper limit.

    Examples
    --------
    >>> from hepnb.stats.interference import BinnedInterferenceModel
    >>> from hepnb.lfi.scans import histogram_scan
    >>> model = BinnedInterferenceModel.from_arrays([2.0, 1.0], [-1.0, -0.5], [10.0, 5.0])
    >>> limit, row = method_limits(histogram_scan(model, 1.0, method="h"), histogram_scan(model, 0.0, method="h"))
    >>> round(limit.expected[2], 2), row["cut at grid end"]
    (3.97, '')
    """
    if background is not None and background.include_rate != scan.include_rate:
        raise InputError("the background-only scan must have the same include_rate as the data scan")
    limit = None if background is None else scan_upper_limit(scan, background, cl=cl, at_grid_end="nan")
    q0 = float(scan.q[0]) if scan.mu[0] == 0 else float("nan")
    missing = "" if background is not None else "no mu_true = 0 scan: no limit"
    row = limit_row(scan, limit, best_fit="mu_hat", q_null=("q(mu=0)", q0), missing=missing)
    return limit, row


def limit_table(
    scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]],
    mu_true: float = 1.0,
    include_rate: bool = True,
    *,
    reference: str = "oracle",
    cl: float = 0.95,
) -> pd.DataFrame:
    """One row per method: CLs limit, expected band, intervals, ``mu_hat``, ``q(0)`` and grid-end cuts.

    Parameters
    ----------
    scans
        ``{method: {(mu_true, include_rate): scan}}`` (notebook 03's ``scans``); the background-only scan is the
        entry at ``(0.0, include_rate)`` (a method without one gets NaN limits and a note).
    mu_true, include_rate
        Which scans to report.
    reference
        The method the limits are divided by (the oracle).
    cl
        Confidence level of the upper limits.

    Returns
    -------
    pandas.DataFrame
        Columns ``limit`` (CLs limit on the Asimov data at ``mu_true``), ``limit / <reference>``, ``median
        expected`` (background only) and its ratio, the expected 68% / 95% bands, ``islands`` (excluded regions
        below the limit), the Wilks intervals as text (``>`` marks an end at the grid end), ``mu_hat``, ``q(mu=0)``
        ``cut at grid end`` and ``beyond the <reference>`` (the limit or the median expected limit more than
        :data:`~hepnb.lfi.tables.BEYOND_ORACLE_MARGIN` below the reference's: over-confidence, not a success).

    Examples
    --------
    >>> from hepnb.stats.interference import BinnedInterferenceModel
    >>> from hepnb.lfi.scans import histogram_scans
    >>> model = BinnedInterferenceModel.from_arrays([2.0, 1.0], [-1.0, -0.5], [10.0, 5.0])
    >>> scans = {"oracle": histogram_scans(model, None, [0.0, 1.0], method="oracle")}
    >>> limit_table(scans)["limit / oracle"].tolist()
    [1.0]
    """
    key, key0 = (float(mu_true), bool(include_rate)), (0.0, bool(include_rate))
    rows = {}
    for method, by_key in scans.items():
        if key not in by_key:
            raise InputError(
                f"method {method!r} has no scan at (mu_true, include_rate) = {key}; it has {sorted(by_key)}"
            )
        rows[method] = method_limits(by_key[key], by_key.get(key0), cl=cl)[1]
    frame = compare_to_reference(rows, reference)
    frame.index.name = "method"
    return frame.astype({c: float for c in ("limit", "median expected", "mu_hat", "q(mu=0)")})


def oracle_log_r_grid(events: Events, kappa: Any = THESIS_KAPPA_GRID, reference_kappa: float = 1.0) -> np.ndarray:
    """Exact ``log r(x_i | kappa_j, reference)`` ``(len(kappa), n)`` of ``detector="none"`` VBF events.

    The same values as :func:`hepnb.offshell.oracle_log_ratio` per grid point, from one evaluation of the helicity
    sums (:func:`hepnb.lfi.oracle_log_density`, as :func:`hepnb.lfi.oracle_scan`).

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> log_r = oracle_log_r_grid(events, [0.5, 1.0, 1.5])
    >>> exact = osh.oracle_log_ratio(events, 1.5**4, 1.0)
    >>> log_r.shape, float(abs(log_r[1]).max()), bool(np.allclose(log_r[2], exact))
    ((3, 666), 0.0, True)
    """
    k = np.asarray(kappa, dtype=float)
    log_p = oracle_log_density(events, np.r_[k, float(reference_kappa)])
    return log_p[:-1] - log_p[-1]


def event_coverage(
    log_r: Any,
    events: Events,
    mu_true: float = 1.0,
    *,
    kappa: Any = THESIS_KAPPA_GRID,
    lumi: float = THESIS_LUMI,
    n_toys: int = 2000,
    seed: int = 0,
    label: str = "",
    **options: Any,
) -> tuple[Coverage, ...]:
    """:func:`hepnb.stats.coverage.unbinned_coverage` of a method's ``log r`` grid on weighted events.

    Toys are drawn from ``events`` with weights ``w_i(mu_true)`` at ``lumi`` (rescaled from the events' own
    luminosity, as the Asimov scans), ``N(mu) = mu S + sqrt(mu) I + B`` from the events' yields, and the CLs test
    uses the events' mu = 0 weights. ``options`` go to :func:`~hepnb.stats.coverage.unbinned_coverage`
    (``include_rate``, ``levels``, ``max_reuse``, ``progress``).

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(8_000, seed=1, detector="none", progress=False))
    >>> rate, shape = event_coverage(oracle_log_r_grid(events), events, 1.0, n_toys=50, seed=1)
    >>> rate.n_toys, rate.covered, shape.covered, round(rate.reuse, 2)  # covered at 68.27%, 95%
    (50, (39, 50), (41, 48), 0.56)
    """
    if not isinstance(events, Events):
        raise InputError(f"events must be hepnb.offshell.Events, got {type(events).__name__}")
    scale = float(lumi) / float(events.meta.get("config", {}).get("lumi", lumi))
    mu = mu_from_kappa(np.asarray(kappa, dtype=float))
    y = events.yields
    nu = combine(mu, *(float(y[c]) * scale for c in ("S", "I", "B")))
    return unbinned_coverage(
        log_r,
        events.weight(float(mu_true)) * scale,
        nu,
        mu,
        float(mu_true),
        n_toys=n_toys,
        seed=seed,
        background_weights=events.weight(0.0) * scale,
        label=label,
        **options,
    )
