"""Templates: weighted histograms of an observable at a list of mu values, ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hist
import numpy as np

from hepnb.errors import InputError
from hepnb.offshell.events import Events, mu_array
from hepnb.offshell.features import OBSERVABLES
from hepnb.stats.yields import combine

__all__ = ["BinSpec", "mu_label", "make_axis", "empty_histogram", "fill_histogram", "histogram_yields"]

BinSpec = tuple[int, float, float] | Sequence[float]


def mu_label(mu: float) -> str:
    """Category label of a signal strength on the ``mu`` axis (``format(mu, 'g')``)."""
    return format(float(mu), "g")


def make_axis(observable: str, bins: BinSpec) -> hist.axis.AxesMixin:
    """A ``Regular`` axis from ``(n, lo, hi)`` or a ``Variable`` axis from bin edges."""
    if observable not in OBSERVABLES:
        raise InputError(f"unknown observable {observable!r}; choose one of {sorted(OBSERVABLES)}")
    if isinstance(bins, tuple) and len(bins) == 3 and isinstance(bins[0], (int, np.integer)):
        n, lo, hi = bins
        if n < 1 or not hi > lo:
            raise InputError(f"bins (n, lo, hi) need n >= 1 and hi > lo, got {bins!r}")
        return hist.axis.Regular(int(n), float(lo), float(hi), name=observable, label=OBSERVABLES[observable])
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise InputError(f"bin edges must be increasing with at least 2 entries, got {bins!r}")
    return hist.axis.Variable(edges, name=observable, label=OBSERVABLES[observable])


def empty_histogram(observable: str, bins: BinSpec, mus: Any, processes: Sequence[str] | None = None) -> hist.Hist:
    """Empty ``Weight`` histogram with axes ``[process,] mu, observable``."""
    m = np.atleast_1d(mu_array(mus, "mus"))
    axes: list[Any] = []
    if processes is not None:
        axes.append(hist.axis.StrCategory(list(processes), name="process"))
    axes.append(hist.axis.StrCategory([mu_label(v) for v in m], name="mu", label="signal strength mu"))
    axes.append(make_axis(observable, bins))
    return hist.Hist(*axes, storage=hist.storage.Weight())


def fill_histogram(
    h: hist.Hist,
    values: np.ndarray,
    w_s: np.ndarray,
    w_i: np.ndarray,
    w_b: np.ndarray,
    mus: Any,
    process: str | None = None,
) -> hist.Hist:
    """Fill ``h`` at every mu with weights ``mu w_S + sqrt(mu) w_I + w_B``; events with NaN values are skipped."""
    values = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(values)
    for m in np.atleast_1d(mu_array(mus, "mus")):
        w = combine(m, w_s, w_i, w_b)[ok]
        kwargs = {"mu": mu_label(m), h.axes[-1].name: values[ok], "weight": w}
        if process is not None:
            kwargs["process"] = process
        h.fill(**kwargs)
    return h


def histogram_yields(events: Events, observable: str, bins: BinSpec, mus: Any = (0.0, 1.0)) -> hist.Hist:
    """Expected-yield templates of ``observable`` at each ``mu`` (axes ``mu``, observable; ``Weight`` storage).

    Examples
    --------
    >>> from hepnb import offshell
    >>> events = offshell.generate(5_000, seed=1, progress=False)
    >>> h = histogram_yields(events, "m4l", (20, 220, 1000), mus=[0, 1, 4])
    >>> [axis.name for axis in h.axes]
    ['mu', 'm4l']
    >>> n = {mu: h[{"mu": mu}].values().sum() for mu in ("0", "1", "4")}   # N(mu) = mu S + sqrt(mu) I + B
    >>> bool(n["1"] < n["0"] < n["4"])   # destructive interference: mu = 1 gives fewer events than B alone
    True
    """
    h = empty_histogram(observable, bins, mus)
    w_s, w_i, w_b = events.components()
    return fill_histogram(h, np.asarray(events.x[observable]), w_s, w_i, w_b, mus)
