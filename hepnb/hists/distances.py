"""Distances of two histograms (or weighted samples): chi2/ndf, Kolmogorov-Smirnov, Wasserstein-1 and MSE.

The chi2 is the one used to rank GAN epochs in the calorimeter study (A. Ghosh, PhD thesis, Universite
Paris-Saclay 2020, HAL tel-03324250, section 5.4.5), with sums of squared weights as variances::

    chi2 = sum_i (n_i/N - m_i/M)^2 / (var(n_i)/N^2 + var(m_i)/M^2),   ndf = (bins with n_i or m_i) - 1

KS and Wasserstein-1 are computed on the unbinned samples when both were given as arrays, and on the bin
contents otherwise (then they resolve nothing finer than a bin). Entries outside the binning (the flow bins) do not
enter the chi2 and the MSE, but they do enter the unbinned KS and W1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import hist
import numpy as np

from hepnb.errors import InputError
from hepnb.hists.inputs import _check_compatible, _Sample, _sample, _total

__all__ = ["Chi2Result", "KSResult", "chi2", "ks", "wasserstein", "mse"]


@dataclass(frozen=True)
class Chi2Result:
    """Chi2 of two normalised histograms with Poisson (or sum-of-weights-squared) errors."""

    chi2: float
    ndf: int

    @property
    def reduced(self) -> float:
        """chi2/ndf (NaN when there are no degrees of freedom)."""
        return self.chi2 / self.ndf if self.ndf > 0 else float("nan")

    @property
    def p_value(self) -> float:
        """Probability of a larger chi2 if both histograms came from one distribution."""
        from scipy import stats  # scipy.stats takes a second to import: only when a p-value is asked for

        return float(stats.chi2.sf(self.chi2, self.ndf)) if self.ndf > 0 else float("nan")


@dataclass(frozen=True)
class KSResult:
    """Kolmogorov-Smirnov distance of two (weighted) distributions.

    ``p_value`` uses the effective sample sizes ``(sum w)^2 / sum w^2``; ``binned`` says whether the CDFs were
    built from bin contents (then the p-value is only indicative).
    """

    statistic: float
    p_value: float
    binned: bool


def _pair(ref: Any, other: Any) -> tuple[_Sample, _Sample]:
    a = ref if isinstance(ref, _Sample) else _sample(ref, None, None, "reference")
    b = other if isinstance(other, _Sample) else _sample(other, None, None, "other")
    _check_compatible(a.hist, b.hist, "the other histogram")
    return a, b


def chi2(reference: hist.Hist | _Sample, other: hist.Hist | _Sample) -> Chi2Result:
    """Chi2 of the two histograms after normalising each to unit area (1-D or 2-D).

    Entries in the flow bins (outside the binning) are ignored; :class:`~hepnb.hists.Comparison` reports their
    fraction. Fewer than two bins with entries (ndf < 1) raise an :class:`~hepnb.errors.InputError`.

    Examples
    --------
    >>> from hepnb.hists import make_hist
    >>> result = chi2(make_hist([0.5, 1.5, 1.5], (2, 0, 2)), make_hist([0.5, 0.5, 1.5], (2, 0, 2)))
    >>> round(result.chi2, 6), result.ndf
    (0.666667, 1)
    """
    a, b = _pair(reference, other)
    n, m = a.hist.values().ravel(), b.hist.values().ravel()
    vn, vm = a.hist.variances().ravel(), b.hist.variances().ravel()
    big_n, big_m = _total(a.hist, "reference"), _total(b.hist, "other histogram")
    denominator = vn / big_n / big_n + vm / big_m / big_m  # divided twice: N**2 may overflow
    used = denominator > 0
    if used.sum() < 2:
        raise InputError(
            f"the chi2 needs at least two bins with entries (ndf >= 1), got {int(used.sum())}: use more or narrower "
            "bins over the range of the samples"
        )
    value = float(np.sum((n[used] / big_n - m[used] / big_m) ** 2 / denominator[used]))
    if not math.isfinite(value):
        raise InputError(f"the chi2 is {value}: check the bin contents and variances of both histograms")
    return Chi2Result(value, int(used.sum()) - 1)


def mse(reference: hist.Hist | _Sample, other: hist.Hist | _Sample) -> float:
    """Mean squared difference of bin contents, the other histogram scaled to the reference's total.

    With samples of equal size this is the plain MSE of counts the calorimeter thesis quotes for 2-D histograms.
    """
    a, b = _pair(reference, other)
    n, m = a.hist.values(), b.hist.values()
    scale = _total(a.hist, "reference") / _total(b.hist, "other histogram")
    return float(np.mean((n - scale * m) ** 2))


def _cdfs(a: _Sample, b: _Sample) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Both CDFs evaluated at common support points, and whether they were built from bins."""
    if a.hist.ndim != 1:
        raise InputError("KS and Wasserstein-1 are defined for 1-D distributions only")
    if a.values is not None and b.values is not None:
        points = np.concatenate([a.values, b.values])
        order = np.argsort(points, kind="stable")
        points = points[order]
        wa = np.concatenate([a.weights, np.zeros(len(b.values))])[order]
        wb = np.concatenate([np.zeros(len(a.values)), b.weights])[order]
        for w, name in ((wa, "reference"), (wb, "other sample")):
            if w.sum() <= 0:
                raise InputError(f"{name} has a non-positive total weight ({w.sum():g}): no CDF can be built")
        # the CDF steps at the last of several equal points
        last = np.append(points[1:] != points[:-1], True)
        return points[last], (np.cumsum(wa) / wa.sum())[last], (np.cumsum(wb) / wb.sum())[last], False
    centres = a.hist.axes[0].centers
    ca = np.cumsum(a.hist.values()) / _total(a.hist, "reference")
    cb = np.cumsum(b.hist.values()) / _total(b.hist, "other histogram")
    return np.asarray(centres), ca, cb, True


def _effective_entries(s: _Sample) -> float:
    if s.weights is not None:
        total = float(s.weights.sum())
        return total / float(np.sum(s.weights**2)) * total
    total = float(s.hist.values().sum())
    return total / max(float(s.hist.variances().sum()), 1e-300) * total


def ks(reference: hist.Hist | _Sample, other: hist.Hist | _Sample) -> KSResult:
    """Kolmogorov-Smirnov distance: the largest difference of the two CDFs."""
    from scipy import stats  # scipy.stats takes a second to import: not with hepnb.hists

    a, b = _pair(reference, other)
    _, ca, cb, binned = _cdfs(a, b)
    statistic = float(np.max(np.abs(ca - cb)))
    na, nb = _effective_entries(a), _effective_entries(b)
    p_value = float(stats.kstwo.sf(statistic, max(1, round(na * nb / (na + nb)))))
    return KSResult(statistic, p_value, binned)


def wasserstein(reference: hist.Hist | _Sample, other: hist.Hist | _Sample) -> float:
    """Wasserstein-1 (earth mover's) distance, in the units of the axis: the area between the CDFs."""
    a, b = _pair(reference, other)
    points, ca, cb, _ = _cdfs(a, b)
    return float(np.sum(np.abs(ca - cb)[:-1] * np.diff(points)))
