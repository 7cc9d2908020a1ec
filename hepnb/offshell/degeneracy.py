"""The mu = 0 <-> mu* degeneracy of the interference notebook: S, I, B histograms, per-bin rate partners, and how
well each observable separates two signal strengths of the same total yield (thesis sections 4.10 and 6.6).

With ``N(mu) = mu S + sqrt(mu) I + B`` the total yield is a parabola in sqrt(mu): every mu has a partner
``mu' = (-I/S - sqrt(mu))^2`` with the same yield (:func:`hepnb.stats.yields.degenerate_mu`). An observable breaks
the degeneracy where ``I/S`` changes across its bins. Every histogram here is a ``hist.Hist`` with ``Weight``
storage (MC errors from the sums of squared weights); the figures are in :mod:`hepnb.offshell.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hist
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hepnb import style
from hepnb.errors import InputError
from hepnb.hists import Comparison
from hepnb.offshell.events import Events, mu_array
from hepnb.offshell.histograms import BinSpec, make_axis

__all__ = [
    "LABELS",
    "DEGENERACY_OBSERVABLES",
    "component_histograms",
    "degeneracy_comparisons",
    "bin_partners",
    "degeneracy_table",
]

#: Axis labels (with units) of the observables the notebook shows.
LABELS: dict[str, str] = {
    "m4l": style.axis_label("$m_{4\\ell}$", "GeV"),
    "pt_j1": style.axis_label("$p_{T}^{j_1}$ (leading jet)", "GeV"),
    "pt_j2": style.axis_label("$p_{T}^{j_2}$", "GeV"),
    "delta_eta_jj": "$\\Delta\\eta_{jj}$",
    "mjj": style.axis_label("$m_{jj}$", "GeV"),
}

#: Default binnings of the degeneracy plots (the high-m4l region, where I/S no longer depends on m4l).
DEGENERACY_OBSERVABLES: dict[str, tuple[int, float, float]] = {
    "m4l": (8, 500.0, 1300.0),
    "pt_j1": (8, 30.0, 430.0),
    "delta_eta_jj": (8, 2.0, 9.0),
}


def _label(observable: str) -> str:
    return LABELS.get(observable, observable)


def _check_events(events: Any, name: str = "vbf") -> Events:
    if not isinstance(events, Events):
        raise InputError(f"{name} must be hepnb.offshell Events (osh.generate), got {type(events).__name__}")
    if len(events) == 0:
        raise InputError(f"{name} has no events: generate more or loosen the selection")
    return events


def _values(events: Events, observable: str) -> np.ndarray:
    if observable not in events.x.fields:
        raise InputError(f"unknown observable {observable!r}; choose one of {sorted(events.x.fields)}")
    return np.asarray(events.x[observable], dtype=np.float64)


def _weighted(axis: hist.axis.AxesMixin, x: np.ndarray, weight: ArrayLike) -> hist.Hist:
    """A ``Weight``-storage histogram of ``x`` (sums of weights and of squared weights per bin)."""
    return hist.Hist(axis, storage=hist.storage.Weight()).fill(x, weight=weight)


def component_histograms(
    vbf: Events, observable: str = "m4l", bins: BinSpec = (32, 220.0, 1020.0), *, b2: Events | None = None
) -> dict[str, hist.Hist]:
    """Weighted histograms ``S``, ``I``, ``B`` of an observable (expected events per bin).

    ``B`` is the VBS part V of the VBF sample, plus the background sample ``b2`` (qqZZ + ggZZ) if given. Events with
    a missing value (NaN) are left out.
    """
    _check_events(vbf)
    out: dict[str, hist.Hist] = {}
    x = _values(vbf, observable)
    ok = ~np.isnan(x)
    w_s, w_i, w_b = vbf.components()
    for name, w in (("S", w_s), ("I", w_i), ("B", w_b)):
        out[name] = _weighted(make_axis(observable, bins), x[ok], w[ok])
    if b2 is not None:
        _check_events(b2, "b2")
        xb = _values(b2, observable)
        okb = ~np.isnan(xb)
        out["B"].fill(xb[okb], weight=b2.weight(1.0)[okb])
    return out


def degeneracy_comparisons(
    vbf: Events,
    mu_star: float,
    observables: Mapping[str, BinSpec] | None = None,
    *,
    mu: float = 0.0,
    split: bool = False,
    seed: int = 0,
) -> dict[str, Comparison]:
    """Distributions at ``mu`` and at its rate partner ``mu_star``, one :class:`~hepnb.hists.Comparison` each.

    By default the same events are weighted at both values (what a reweighted analysis does): the ratio panel then
    shows the true change of shape without sampling noise between the two, and the chi2 of the comparison, which
    treats them as independent samples, is an underestimate (use :func:`degeneracy_table` for the exact one).
    ``split=True`` weights two disjoint random halves instead (independent samples: an honest but weaker chi2).

    Parameters
    ----------
    vbf
        VBF events.
    mu_star
        The partner signal strength (e.g. ``(I/S)^2`` for mu = 0).
    observables
        Name -> binning; default m4l, leading-jet pT and Delta eta_jj.
    mu
        The reference signal strength.
    split, seed
        Disjoint halves (seeded) instead of the same events.
    """
    _check_events(vbf)
    mu_ref, mu_other = float(mu_array(mu)), float(mu_array(mu_star, "mu_star"))
    if observables is None:
        observables = DEGENERACY_OBSERVABLES
    if split:
        half = np.random.default_rng(seed).random(len(vbf)) < 0.5
        first, second, scale = half, ~half, 2.0
    else:
        first = second = np.ones(len(vbf), dtype=bool)
        scale = 1.0
    w_ref = scale * vbf.weight(mu_ref)
    w_other = scale * vbf.weight(mu_other)
    ref_label, other_label = f"$\\mu = {mu_ref:.3g}$", f"$\\mu = {mu_other:.3g}$"
    out = {}
    for observable, bins in observables.items():
        x = _values(vbf, observable)
        ok = ~np.isnan(x)
        a, b = first & ok, second & ok
        out[observable] = Comparison(
            x[a],
            {other_label: x[b]},
            bins=bins,
            weights={ref_label: w_ref[a], other_label: w_other[b]},
            reference_label=ref_label,
            xlabel=_label(observable),
        )
    return out


def bin_partners(vbf: Events, observable: str, bins: BinSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rate partner of mu = 0 in every bin, ``mu*_k = (I_k/S_k)^2``, with its MC error.

    If an observable cannot see the degeneracy, every bin has the same partner; where ``I/S`` changes across the
    bins (through the coherence rho of the tagging jets), the bins disagree on mu* and the degeneracy is broken.
    The error uses the shared events of S and I: ``var(I/S) = sum_i ((w_I - R w_S)/S)^2``.

    Returns
    -------
    edges, mu_k, error_k
        NaN where a bin has no signal.
    """
    _check_events(vbf)
    axis = make_axis(observable, bins)
    x = _values(vbf, observable)
    ok = ~np.isnan(x)
    w_s, w_i, _ = vbf.components()
    x, w_s, w_i = x[ok], w_s[ok], w_i[ok]
    s = _weighted(axis, x, w_s).values()
    i = _weighted(axis, x, w_i).values()
    k = axis.index(x)  # the bin of every event: -1 below the range, len(s) above
    inside = (k >= 0) & (k < len(s))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s > 0, i / s, np.nan)
        residual = w_i[inside] - ratio[k[inside]] * w_s[inside]
        var = _weighted(axis, x[inside], np.nan_to_num(residual)).variances() / s**2
        mu_k = ratio**2
        err = 2 * np.abs(ratio) * np.sqrt(var)
    return np.asarray(axis.edges), mu_k, np.where(s > 0, err, np.nan)


def degeneracy_table(
    vbf: Events, mu_star: float, observables: Mapping[str, BinSpec] | None = None, *, mu: float = 0.0
) -> pd.DataFrame:
    """How well each observable separates ``mu`` from ``mu_star`` (one row per observable).

    Columns: ``chi2/ndf (Comparison)``, the shape chi2 of :func:`degeneracy_comparisons` (same events treated as
    independent samples); ``chi2/ndf (exact)``, the bin-by-bin difference ``N_k(mu*) - N_k(mu)`` against its exact
    MC error (same events: ``var = sum_i (w_i(mu*) - w_i(mu))^2``); ``max |ratio - 1|``, the largest relative change
    of a bin; ``mu*_k min`` and ``mu*_k max``, the spread of the per-bin partners of :func:`bin_partners`.
    """
    _check_events(vbf)
    if observables is None:
        observables = DEGENERACY_OBSERVABLES
    comparisons = degeneracy_comparisons(vbf, mu_star, observables, mu=mu)
    delta = vbf.weight(float(mu_array(mu_star, "mu_star"))) - vbf.weight(float(mu_array(mu)))
    w_ref = vbf.weight(float(mu_array(mu)))
    rows = []
    for observable, bins in observables.items():
        axis = make_axis(observable, bins)
        x = _values(vbf, observable)
        ok = ~np.isnan(x)
        change = _weighted(axis, x[ok], delta[ok])  # sum_i delta_i and its exact variance sum_i delta_i^2
        d, var = change.values(), change.variances()
        ref = _weighted(axis, x[ok], w_ref[ok]).values()
        used = var > 0
        _, mu_k, _ = bin_partners(vbf, observable, bins)
        rows.append(
            {
                "observable": observable,
                "chi2/ndf (Comparison)": comparisons[observable].chi2().reduced,
                "chi2/ndf (exact)": float(np.sum(d[used] ** 2 / var[used]) / max(int(used.sum()), 1)),
                "max |ratio - 1|": float(np.nanmax(np.abs(np.where(ref > 0, d / ref, np.nan)))),
                "mu*_k min": float(np.nanmin(mu_k)),
                "mu*_k max": float(np.nanmax(mu_k)),
            }
        )
    return pd.DataFrame(rows).set_index("observable")
