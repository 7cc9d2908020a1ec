"""How far from one-dimensional the off-shell problem is: a binned 1-D statistic against the oracle's limits.

With interference, ``p(x | mu) ∝ mu f_S(x) + sqrt(mu) f_I(x) + f_B(x)`` depends on ``x`` through ``f_S/f_B`` and
``f_I/f_B``: the sufficient statistic is two-dimensional (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL
tel-03324250, section 7.2; arXiv:1805.00020). The ideal S-vs-B classifier ``c(x) = f_S/(f_S + f_B)`` keeps only the
first. :func:`ideal_classifier_limits` measures the cost: the expected 95% CL upper limit on ``mu`` of a histogram of
``c`` with exact templates ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k`` over the oracle's (:func:`hepnb.lfi.oracle_scan`),
with and without the rate term; :func:`statistic_limits` does it for any per-event statistic.

Convention: on Asimov data, ``q(mu) = -2 ln[L(mu) / L(mu_true)]``; the 95% region is ``{q <= 3.84}`` (Wilks, one
parameter, as :meth:`hepnb.lfi.LikelihoodScan.interval` and :func:`hepnb.lfi.interval_table`; not the CLs limit of
:mod:`hepnb.stats.cls`, which tests against background-only data), read on a kappa grid (``mu_true`` inserted) with
its edges refined by root finding; the expected upper limit is its largest ``mu``. The ``sqrt(mu)`` term can split
the region (a second minimum of ``q``): the table gives the largest ``mu``, the total width and the number of pieces;
``upper_open`` says the region reaches the top of the grid (the limit is then the grid's: widen ``kappa``).

The ratios are >= 1 on every sample: with helicity-summed weights (:func:`hepnb.lfi.helicity_summed`, exact densities
over the proposal) the oracle's ``q`` is ``2 N`` times the Kullback-Leibler divergence between the weighted sample at
``mu_true`` and at ``mu``, the histogram's that of the same events grouped in bins, which cannot be larger
(data-processing inequality); the rate term is common. A ratio below 1 would mean inconsistent templates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import optimize, stats

from hepnb.errors import InputError, as_finite_array, is_whole_number
from hepnb.lfi.oracle import helicity_summed
from hepnb.offshell import Events
from hepnb.stats.asymptotic import confidence_interval
from hepnb.stats.constants import THESIS_LUMI, thesis_kappa_grid
from hepnb.stats.deviance import poisson_half_deviance
from hepnb.stats.interference import BinnedInterferenceModel
from hepnb.stats.yields import combine, mu_from_kappa

__all__ = ["DEFAULT_KAPPA_GRID", "statistic_limits", "ideal_classifier_limits"]

#: kappa in [0, 3] (mu <= 81), 101 points: the thesis grid's mu <= 16 can cut the shape-only region at mu_true = 4.
DEFAULT_KAPPA_GRID: np.ndarray = thesis_kappa_grid(101, 3.0)
_LEVEL = float(stats.chi2.ppf(0.95, 1))  # 3.84


def _mu_trues(mu_true: Any) -> tuple[float, ...]:
    values = np.atleast_1d(as_finite_array(mu_true, "mu_true"))
    if values.ndim != 1 or values.size == 0 or np.any(values < 0):
        raise InputError(f"mu_true must be one or more finite numbers >= 0 (mu = kappa^4), got {mu_true!r}")
    return tuple(float(v) for v in values)


def _rates(rate: bool | Iterable[bool]) -> tuple[bool, ...]:
    values = [rate] if isinstance(rate, (bool, np.bool_)) else list(rate) if isinstance(rate, (list, tuple)) else []
    if not values or not all(isinstance(r, (bool, np.bool_)) for r in values):
        raise InputError(f"rate must be True, False or a list of them (True: Poisson rate term), got {rate!r}")
    return tuple(bool(r) for r in values)


def _edges(values: np.ndarray, w_sm: np.ndarray, bins: Any) -> np.ndarray:
    """``bins`` edges, or ``bins`` bins of equal SM (mu = 1) weight whose outer edges enclose every event."""
    if not np.isscalar(bins):
        edges = as_finite_array(bins, "bin edges", ndim=1)
        if values.min() < edges[0] or values.max() > edges[-1]:
            raise InputError(f"the edges must enclose every value, from {values.min():g} to {values.max():g}")
        return edges
    if not is_whole_number(bins) or bins < 1:
        raise InputError(f"bins must be a positive number of bins or an array of edges, got {bins!r}")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(np.clip(w_sm[order], 0.0, None))
    if not cum[-1] > 0:
        raise InputError("the events have no positive SM weight to place quantile bins; give bins as edges")
    inner = np.interp(np.linspace(0.0, 1.0, int(bins) + 1)[1:-1], cum / cum[-1], values[order])
    span = max(float(values.max() - values.min()), 1e-12)
    return np.unique(np.r_[values.min() - 1e-9 * span, inner, values.max() + 1e-9 * span])


def _q_parts(mu: float, templates: tuple[np.ndarray, ...], n: np.ndarray) -> tuple[float, float]:
    """``(q_shape, q_rate)`` at ``mu`` on Asimov data ``n`` in cells (bins, or events for the unbinned likelihood).

    ``q_shape = 2 sum_k n_k ln[(n_k/N) / (nu_k/NU)]`` (multinomial), ``q_rate`` the Poisson deviance of the totals;
    their sum is the Poisson deviance summed over the cells.
    """
    nu = combine(mu, *templates)
    if np.any((nu <= 0) & (n > 0)):
        return np.inf, np.inf
    total, total_nu, used = float(n.sum()), float(nu.sum()), n > 0
    log_ratio = np.log(np.where(used, n, 1.0) / np.where(used, nu, 1.0))
    shape = 2.0 * (float(np.dot(n, log_ratio)) - total * np.log(total / total_nu))
    return max(shape, 0.0), 2.0 * float(poisson_half_deviance(total, total_nu))


def _regions(templates: tuple, mu_true: float, mu: np.ndarray, rates: tuple[bool, ...]) -> dict[bool, Any]:
    """``{include_rate: (pieces, open at the top)}`` of ``{q <= 3.84}``, read on the grid (:func:`confidence_interval`)
    with the edges refined by brentq."""
    n = combine(mu_true, *templates)
    parts = np.array([_q_parts(float(m), templates, n) for m in mu])
    out = {}
    for r in rates:

        def excess(m: float, r: bool = r) -> float:
            shape, rate = _q_parts(m, templates, n)
            return min(shape + rate if r else shape, 1e300) - _LEVEL

        q = np.minimum(parts.sum(axis=1) if r else parts[:, 0], 1e300)
        ci = confidence_interval(mu, q, cl=0.95, subtract_minimum=False)
        steps = np.flatnonzero((q <= _LEVEL)[1:] != (q <= _LEVEL)[:-1])  # the grid steps of ci.crossings, in order
        exact = {
            c: optimize.brentq(excess, mu[j], mu[j + 1], xtol=1e-12, rtol=1e-12) for c, j in zip(ci.crossings, steps)
        }
        pieces = tuple((float(exact.get(lo, lo)), float(exact.get(hi, hi))) for lo, hi in ci.intervals)
        out[r] = pieces, bool(q[-1] <= _LEVEL)
    return out


def statistic_limits(
    values: Any,
    events: Events,
    mu_true: float | Iterable[float] = (1.0, 4.0),
    *,
    bins: int | Any = 20,
    rate: bool | Iterable[bool] = (True, False),
    kappa: Any = None,
    lumi: float = THESIS_LUMI,
    label: str = "binned",
    reference: str = "unbinned",
) -> Any:
    """Expected 95% upper limits on mu from a histogram of ``values`` against the per-event (unbinned) likelihood.

    The events' weights are taken as exact per-event densities (after :func:`hepnb.lfi.helicity_summed` the
    per-event likelihood is the oracle's); convention and bound in the module docstring.

    Parameters
    ----------
    values
        The statistic per event, shape ``(n,)``.
    events
        Weighted events: the templates (sums of ``w_S, w_I, w_B`` per bin) and the Asimov data.
    mu_true
        True signal strength(s) of the Asimov data (>= 0).
    bins
        Number of bins of equal SM (mu = 1) weight, or the bin edges.
    rate
        ``True``: Poisson (shape and rate); ``False``: shape only (multinomial; unbinned: no rate term); or both.
    kappa
        Increasing grid of kappa >= 0 (``mu = kappa^4``) to read the region on; default :data:`DEFAULT_KAPPA_GRID`.
    lumi
        Luminosity in fb^-1 (the weights are rescaled from the sample's own).
    label, reference
        Names of the binned statistic and of the unbinned likelihood in the columns.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(mu_true, include_rate)``: ``upper_<name>`` (expected upper limit), ``width_<name>`` (total
        length of the region), ``pieces_<name>`` for ``label`` and ``reference``, ``upper_ratio``, ``width_ratio``
        (label over reference) and ``upper_open``; ``attrs`` holds ``edges`` (a list), ``lumi`` and ``n_events``.

    Examples
    --------
    The four-lepton mass in five bins against the exact per-event likelihood (helicity-summed weights):

    >>> from hepnb import lfi, offshell as osh
    >>> events = lfi.helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> table = lfi.statistic_limits(events.x["m4l"], events, mu_true=1.0, bins=5, label="m4l")
    >>> table.index.tolist(), len(table.attrs["edges"])
    ([(1.0, True), (1.0, False)], 6)
    >>> table.loc[(1.0, True), ["upper_m4l", "upper_unbinned"]].round(1).tolist()
    [8.4, 6.9]
    >>> bool((table["upper_ratio"] >= 1).all()), table["upper_open"].tolist()  # shape only: m4l alone reaches the top
    (True, [False, True])
    """
    import pandas as pd

    if not isinstance(events, Events) or len(events) == 0:
        raise InputError(f"events must be a non-empty hepnb.offshell.Events sample, got {type(events).__name__}")
    v = as_finite_array(values, "values", ndim=1)
    if len(v) != len(events):
        raise InputError(f"values has {len(v)} entries for {len(events)} events: give one value per event")
    if not (np.isfinite(lumi) and lumi > 0):
        raise InputError(f"lumi must be a positive luminosity in fb^-1, got {lumi!r}")
    mus, rates = _mu_trues(mu_true), _rates(rate)
    k = DEFAULT_KAPPA_GRID if kappa is None else as_finite_array(kappa, "kappa grid", ndim=1)
    if len(k) < 2 or np.any(k < 0) or np.any(np.diff(k) <= 0):
        raise InputError(f"kappa must be an increasing grid of at least two kappa >= 0, got {kappa!r}")
    if max(mus) > mu_from_kappa(k[-1]):
        raise InputError(f"mu_true = {max(mus)} lies above the grid (mu <= {mu_from_kappa(k[-1]):g}): widen kappa")
    scale = float(lumi) / float(events.meta.get("config", {}).get("lumi", lumi))
    per_event = tuple(c * scale for c in events.components())
    edges = _edges(v, combine(1.0, *per_event), bins)
    model = BinnedInterferenceModel.from_weighted_events(v, *per_event, edges)
    binned = (model.s, model.i, model.b)
    rows = []
    for m_true in mus:
        if (negative := int(np.sum(combine(m_true, *per_event) < 0))) > 0:
            raise InputError(
                f"{negative} events have negative weight at mu_true = {m_true}; the Asimov likelihood "
                "needs w >= 0 (use the helicity-summed weights of a detector='none' VBF sample)"
            )
        mu = np.union1d(mu_from_kappa(k), [m_true])
        model.check_positive(mu)
        mine, ref = _regions(binned, m_true, mu, rates), _regions(per_event, m_true, mu, rates)
        for r in rates:
            row: dict[str, Any] = {"mu_true": m_true, "include_rate": r}
            for name, (pieces, _) in ((label, mine[r]), (reference, ref[r])):
                row[f"upper_{name}"] = max(hi for _, hi in pieces)
                row[f"width_{name}"] = sum(hi - lo for lo, hi in pieces)
                row[f"pieces_{name}"] = len(pieces)
            for what in ("upper", "width"):
                row[f"{what}_ratio"] = row[f"{what}_{label}"] / row[f"{what}_{reference}"]
            rows.append(row | {"upper_open": mine[r][1] or ref[r][1]})
    table = pd.DataFrame(rows).set_index(["mu_true", "include_rate"])
    table.attrs.update(edges=[float(e) for e in model.edges[0]], lumi=float(lumi), n_events=len(events))  # type: ignore[index]
    return table


def ideal_classifier_limits(
    events: Events,
    mu_true: float | Iterable[float] = (1.0, 4.0),
    *,
    bins: int | Any = 20,
    rate: bool | Iterable[bool] = (True, False),
    kappa: Any = None,
    lumi: float = THESIS_LUMI,
) -> Any:
    """Expected 95% upper limits of the ideal S-vs-B classifier ``f_S/(f_S + f_B)``, histogrammed, over the oracle's.

    The classifier (the values of :func:`hepnb.lfi.study.ideal_classifier`) is binned in ``bins`` bins of equal SM
    weight with exact templates; the oracle is :func:`hepnb.lfi.oracle_scan`'s exact likelihood. Both use the
    helicity-summed weights of ``events``. Columns as in :func:`statistic_limits` with ``label="classifier"``,
    ``reference="oracle"``: the ratios are >= 1 and measure the loss from keeping one of the two density ratios.

    Parameters
    ----------
    events
        A ``detector="none"`` VBF sample (the oracle's domain), any preset.
    mu_true, bins, rate, kappa, lumi
        As in :func:`statistic_limits`.

    Examples
    --------
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(20_000, seed=1, detector="none", preset="thesis-ch7", progress=False)
    >>> table = lfi.ideal_classifier_limits(events, mu_true=(1.0, 4.0), bins=10)
    >>> table.index.tolist()
    [(1.0, True), (1.0, False), (4.0, True), (4.0, False)]
    >>> bool((table["upper_ratio"] >= 1 - 1e-9).all() and (table["width_ratio"] >= 1 - 1e-9).all())
    True
    """
    cfg = events.meta.get("config", {}) if isinstance(events, Events) else {"process": type(events).__name__}
    if cfg.get("process") != "vbf" or cfg.get("detector") != "none":
        raise InputError(
            "ideal_classifier_limits needs the exact densities, which exist for a VBF sample without a detector; "
            f"got process={cfg.get('process')!r}, detector={cfg.get('detector')!r}: make the events with "
            "hepnb.offshell.generate(n, seed, process='vbf', detector='none')"
        )
    _mu_trues(mu_true)  # refuse a bad mu_true before the helicity sums
    summed = helicity_summed(events)
    w_s, _, w_b = summed.components()  # f_c / (q n_generated): the ratio is the oracle's f_S / (f_S + f_B)
    with np.errstate(divide="ignore", invalid="ignore"):
        classifier = w_s / (w_s + w_b)  # non-finite values (f_S + f_B = 0) are refused by statistic_limits
    options = dict(bins=bins, rate=rate, kappa=kappa, lumi=lumi)
    return statistic_limits(classifier, summed, mu_true, label="classifier", reference="oracle", **options)
