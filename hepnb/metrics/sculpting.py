"""R50 and 1/JSD50: the background rejection and the mass sculpting at one working point, as DisCo
(Kasieczka and Shih, arXiv:2001.05310) and MoDe (Kitouni et al., arXiv:2010.09745) publish them.

- :func:`background_rejection`: R50 = 1/eps_B at the cut keeping 50 % of the signal, from the ROC curve linearly
  interpolated between its points.
- :func:`background_jsd`: the Jensen-Shannon divergence of the background's protected variable (the mass) passing
  vs failing that cut, reported as 1/JSD; :func:`jensen_shannon` on two histograms.

The pair is plotted as R50 against 1/JSD50 while scanning a method's lambda: the Pareto front matters, not one point.
Conventions (shared with :mod:`hepnb.metrics.decorrelation`, which re-exports these functions): labels are 1 (signal)
/ 0 (background), events pass when ``score >= threshold``, weights may be negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boost_histogram as bh
import hist
import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array, check_same_length, is_whole_number
from hepnb.metrics.weighted import _weights_per_score

__all__ = ["Rejection", "SculptingJSD", "background_rejection", "background_jsd", "jensen_shannon"]

Bins = Any  # (n, low, high), a sequence of edges, or a hist axis


@dataclass(frozen=True)
class Rejection:
    """Background rejection ``1/eps_B`` at the cut keeping ``signal_efficiency`` of the signal (R50 at 0.5).

    ``error`` propagates the weighted binomial error of ``eps_B`` (the threshold is taken as exact).
    """

    value: float
    error: float
    signal_efficiency: float
    background_efficiency: float
    threshold: float
    n_signal: int
    n_background: int


@dataclass(frozen=True, eq=False)
class SculptingJSD:
    """Jensen-Shannon divergence (natural log) of the background's protected-variable distribution passing and
    failing the cut at ``signal_efficiency``; ``inverse`` is the 1/JSD that DisCo and MoDe plot.

    ``error`` is the first-order (delta-method) MC error from the bins' sums of squared weights; it vanishes when
    the two histograms coincide, where the estimate's positive finite-sample bias dominates instead.
    """

    value: float
    error: float
    signal_efficiency: float
    threshold: float
    edges: np.ndarray
    n_pass: int
    n_fail: int

    @property
    def inverse(self) -> float:
        """``1/JSD`` (infinite for identical histograms)."""
        return float(np.inf) if self.value == 0 else 1.0 / self.value


# ----------------------------------------------------------------------------------------------------------------
# input checks, shared with hepnb.metrics.decorrelation
# ----------------------------------------------------------------------------------------------------------------


def _inputs(
    score: ArrayLike, protected: ArrayLike, labels: ArrayLike | None, weights: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    s = as_finite_array(score, "score", ndim=1)
    m = as_finite_array(protected, "protected variable", ndim=1)
    y = None if labels is None else as_finite_array(labels, "labels y", ndim=1)
    w = np.ones(len(s)) if weights is None else as_finite_array(weights, "weights", ndim=1)
    check_same_length(score=s, protected=m, labels=y, weights=w)
    if y is not None and not np.all((y == 0) | (y == 1)):
        raise InputError(f"labels y must be 0 (background) or 1 (signal), got values {np.unique(y)[:5]}")
    return s, m, y, w


def _axis(bins: Bins, values: np.ndarray, label: str) -> bh.axis.Axis:
    """A hist axis from ``(n, low, high)``, edges or an axis; a bare integer n spans the values' range."""
    if isinstance(bins, bh.axis.Axis):
        return bins
    if is_whole_number(bins):
        if bins < 1 or values.size == 0 or values.min() == values.max():
            raise InputError(f"cannot make {bins} bins over the range of {values.size} values; give explicit edges")
        return hist.axis.Regular(
            int(bins), float(values.min()), float(np.nextafter(values.max(), np.inf)), name="protected", label=label
        )
    if isinstance(bins, tuple) and len(bins) == 3 and isinstance(bins[0], (int, np.integer)):
        n, low, high = bins
        if n < 1 or not high > low:
            raise InputError(f"bins={bins}: need (n >= 1, low, high) with low < high")
        return hist.axis.Regular(int(n), float(low), float(high), name="protected", label=label)
    edges = as_finite_array(bins, "bin edges", ndim=1)
    if len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise InputError(f"bin edges must be at least two strictly increasing numbers, got {edges}")
    return hist.axis.Variable(edges, name="protected", label=label)


def _check_efficiency(efficiency: float, name: str) -> float:
    if not 0 < efficiency < 1:
        raise InputError(f"{name} must be strictly between 0 and 1, got {efficiency}")
    return float(efficiency)


# ----------------------------------------------------------------------------------------------------------------
# R50 and 1/JSD50
# ----------------------------------------------------------------------------------------------------------------


def _roc_cut(s: np.ndarray, y: np.ndarray, w: np.ndarray, signal_efficiency: float) -> tuple[float, float]:
    """Threshold and background efficiency where the ROC reaches ``signal_efficiency``, linearly interpolated."""
    w_sig, w_bkg = float(w[y == 1].sum()), float(w[y == 0].sum())
    if not (w_sig > 0 and w_bkg > 0):
        raise InputError(f"need positive total signal and background weights, got {w_sig:g} and {w_bkg:g}")
    unique, sig_at, bkg_at = _weights_per_score(s, y == 1, w)
    sig_at, bkg_at = sig_at[::-1], bkg_at[::-1]
    eff_s = np.concatenate([[0.0], np.cumsum(sig_at) / w_sig])  # cutting at score >= unique[::-1][i-1]
    eff_b = np.concatenate([[0.0], np.cumsum(bkg_at) / w_bkg])
    cuts = np.concatenate([[unique[-1]], unique[::-1]])
    i = int(np.argmax(eff_s >= signal_efficiency))  # first ROC point at or past the target
    if i == 0:
        return float(cuts[0]), 0.0
    fraction = (signal_efficiency - eff_s[i - 1]) / (eff_s[i] - eff_s[i - 1])
    threshold = cuts[i] if i == 1 else cuts[i - 1] + fraction * (cuts[i] - cuts[i - 1])
    return float(threshold), float(eff_b[i - 1] + fraction * (eff_b[i] - eff_b[i - 1]))


def background_rejection(
    labels: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None, *, signal_efficiency: float = 0.5
) -> Rejection:
    """R50: the background rejection ``1/eps_B`` at the cut that keeps half the signal (DisCo, MoDe).

    The ROC curve (``eps_S``, ``eps_B``) is taken at every distinct score and linearly interpolated to
    ``eps_S = signal_efficiency``; the threshold is interpolated between the two bracketing scores the same way.

    Examples
    --------
    >>> y = [1, 1, 1, 1, 0, 0, 0, 0]
    >>> background_rejection(y, [0.9, 0.8, 0.7, 0.1, 0.85, 0.3, 0.2, 0.1]).value  # eps_B = 1/4 at eps_S = 1/2
    4.0
    """
    eff = _check_efficiency(signal_efficiency, "signal_efficiency")
    s, _, y, w = _inputs(score, score, labels, weights)  # no protected variable: the score stands in for it
    threshold, eff_b = _roc_cut(s, y, w, eff)
    if not eff_b > 0:
        raise InputError(
            f"no background passes the cut at {eff:.0%} signal efficiency: the rejection is infinite; use more "
            "background events"
        )
    background = y == 0
    passing = background & (s >= threshold)
    w_bkg = float(w[background].sum())
    variance = np.sum(w[passing] ** 2) * (1 - eff_b) ** 2 + np.sum(w[background & ~passing] ** 2) * eff_b**2
    error = float(np.sqrt(variance) / w_bkg / eff_b**2)
    return Rejection(1 / eff_b, error, eff, eff_b, threshold, int((y == 1).sum()), int(background.sum()))


def jensen_shannon(first: hist.Hist | ArrayLike, second: hist.Hist | ArrayLike) -> float:
    """Jensen-Shannon divergence (natural log, between 0 and ln 2) of two histograms, each normalised to unit sum.

    ``JSD = KL(P, M)/2 + KL(Q, M)/2`` with ``M = (P + Q)/2``, as ``scipy.stats.entropy`` computes it (the square
    root, ``scipy.spatial.distance.jensenshannon``, is a distance, not this). Flow bins are not used.

    Examples
    --------
    >>> jensen_shannon([1, 2, 3], [2, 4, 6])
    0.0
    >>> round(jensen_shannon([1, 0], [0, 1]), 6) == round(float(np.log(2)), 6)
    True
    """
    p, q = (
        np.asarray(h.values(), dtype=float)
        if isinstance(h, hist.Hist)
        else as_finite_array(h, "histogram contents", ndim=1)
        for h in (first, second)
    )
    if p.shape != q.shape:
        raise InputError(f"the histograms have different binnings: {p.shape} and {q.shape} bins")
    if np.any(p < 0) or np.any(q < 0) or not (p.sum() > 0 and q.sum() > 0):
        raise InputError(
            "histogram contents must be >= 0 with a positive sum (negative weights made a bin < 0: use wider bins)"
        )
    p, q = p / p.sum(), q / q.sum()
    mid = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / mid), 0.0) + np.where(q > 0, q * np.log(q / mid), 0.0)
    return float(max(0.5 * terms.sum(), 0.0))


def background_jsd(
    labels: ArrayLike,
    score: ArrayLike,
    protected: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    signal_efficiency: float = 0.5,
    bins: Bins = 50,
) -> SculptingJSD:
    """JSD50: Jensen-Shannon divergence of the background's protected variable passing vs failing the R50 cut.

    The cut is the one of :func:`background_rejection` at ``signal_efficiency``. Both histograms share ``bins``;
    the default, 50 equal bins over the background's full range, follows the MoDe W-tagging example (which spans the
    passing events' range instead). A score independent of the mass gives JSD ~ 0 (1/JSD large).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> y, mass = rng.integers(0, 2, 40_000), rng.uniform(size=40_000)
    >>> result = background_jsd(y, rng.normal(size=40_000) + y, mass)  # score independent of the mass
    >>> result.value < 0.01 and result.inverse > 100
    True
    """
    eff = _check_efficiency(signal_efficiency, "signal_efficiency")
    s, m, y, w = _inputs(score, protected, labels, weights)
    threshold, _ = _roc_cut(s, y, w, eff)
    background = y == 0
    axis = _axis(bins, m[background], "protected variable")
    passing = background & (s >= threshold)
    failing = background & ~passing
    if not passing.any() or not failing.any():
        raise InputError("the cut leaves no background on one side; the JSD needs background passing and failing")
    histograms = []
    for mask in (passing, failing):
        h = hist.Hist(axis, storage=hist.storage.Weight())
        h.fill(m[mask], weight=w[mask])
        histograms.append(h)
    value = jensen_shannon(*histograms)
    error = 0.0
    for h, other in (histograms, histograms[::-1]):  # dJSD/dh_l = (g_l - sum_k P_k g_k) / H, g = ln(P/M)/2
        contents, variances = h.values(), h.variances()
        p = contents / contents.sum()
        q = other.values() / other.values().sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(p > 0, 0.5 * np.log(p / (0.5 * (p + q))), 0.0)
        error += float(np.sum(((g - np.sum(p * g)) / contents.sum()) ** 2 * variances))
    return SculptingJSD(
        value,
        float(np.sqrt(error)),
        eff,
        threshold,
        np.asarray(axis.edges, dtype=float),
        int(passing.sum()),
        int(failing.sum()),
    )
