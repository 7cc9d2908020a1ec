"""Compare a reference histogram with one or more others: overlay, ratio panel, chi2/ndf, KS, W1, MSE.

Every input is turned into a :class:`hist.Hist` with ``Weight`` storage, so weighted samples (negative weights
included) and plain counts are handled by the same formulas. The chi2 is the one used to rank GAN epochs in the
calorimeter study (thesis section 5.4.5), with sums of squared weights as variances::

    chi2 = sum_i (n_i/N - m_i/M)^2 / (var(n_i)/N^2 + var(m_i)/M^2),   ndf = (bins with n_i or m_i) - 1

KS and Wasserstein-1 are computed on the unbinned samples when both were given as arrays, and on the bin
contents otherwise (then they resolve nothing finer than a bin).

Entries outside the binning (the flow bins) do not enter the chi2 and the MSE, but they do enter the unbinned KS
and W1. :class:`Comparison` therefore reports the fraction of each sample outside the range (``outside``, a column
of ``table()``) and warns (:class:`OutsideBinningWarning`) above :data:`OUTSIDE_WARNING_FRACTION`.
Only numeric axes (Regular, Variable, Integer, Boolean) and count or sum-of-weights storages are compared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boost_histogram as bh
import hist
import matplotlib.pyplot as plt
import mplhep as mh
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from hepnb import style
from hepnb.errors import InputError, as_finite_array

__all__ = [
    "Chi2Result",
    "KSResult",
    "Comparison",
    "chi2",
    "ks",
    "wasserstein",
    "mse",
    "make_hist",
    "OutsideBinningWarning",
    "OUTSIDE_WARNING_FRACTION",
    "MAX_BINS",
]

BinSpec = bh.axis.Axis | Sequence[float] | tuple[int, float, float]

MAX_BINS = 10**7
"""Most bins (all axes together) a histogram filled from arrays may have: ``bins=`` beyond it is refused."""

OUTSIDE_WARNING_FRACTION = 0.01
"""A :class:`Comparison` warns when more than this fraction of a sample (in sum of |weights|) is outside the bins."""

_STORAGES = (bh.storage.Double, bh.storage.Int64, bh.storage.AtomicInt64, bh.storage.Unlimited, bh.storage.Weight)
_EXTREME_WEIGHT = 1e100  # beyond it (or below its inverse) squared weights would overflow (underflow)


class OutsideBinningWarning(UserWarning):
    """A noticeable fraction of a compared sample lies outside the binning, where the chi2 does not see it."""


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


@dataclass(frozen=True)
class _Sample:
    """A histogram plus, when it was built from arrays, the raw values and weights.

    ``outside`` is the fraction of the sum of |weights| outside the binning. Weights above 1e100 or below 1e-100
    in magnitude are multiplied by one power of two (exactly) before filling, so that their squares stay finite:
    every metric depends on weight ratios only.
    """

    hist: hist.Hist
    values: np.ndarray | None = None
    weights: np.ndarray | None = None
    outside: float = 0.0


# --------------------------------------------------------------------------------------------------- building
def _check_numeric_axis(axis: bh.axis.Axis, name: str) -> None:
    if isinstance(axis, (bh.axis.IntCategory, bh.axis.StrCategory)):
        raise InputError(
            f"{name} is a category axis ({type(axis).__name__}): only numeric axes (Regular, Variable, Integer, "
            "Boolean) are compared, as chi2, KS and W1 need ordered bins; fill a hist.axis.Regular or Variable axis"
        )


def _regular(spec: tuple[int, Any, Any], name: str) -> bh.axis.Axis:
    n, lo, hi = spec
    low, high = (float(x) for x in as_finite_array([lo, hi], f"low and high of the binning {spec} for {name}"))
    if n < 1 or not (high > low and math.isfinite(high - low)):
        raise InputError(f"binning {spec} for {name}: need (n >= 1, low, high) with low < high and a finite high - low")
    if n > MAX_BINS:
        raise InputError(f"binning {spec} for {name} asks for {n} bins, more than the {MAX_BINS} allowed: use fewer")
    return hist.axis.Regular(int(n), low, high, name=name)


def _axis(spec: Any, name: str) -> bh.axis.Axis:
    if isinstance(spec, bh.axis.Axis):
        axis = spec
    elif isinstance(spec, tuple) and len(spec) == 3 and isinstance(spec[0], (int, np.integer)):
        axis = _regular(spec, name)
    elif np.ndim(spec) == 0:
        raise InputError(
            f"bins={spec!r} for {name} is a single value: give (n, low, high), e.g. ({spec!r}, -3, 3), "
            "a sequence of bin edges or a hist axis"
        )
    else:
        edges = as_finite_array(spec, f"bin edges of {name}", ndim=1)
        if len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise InputError(
                f"bin edges of {name} must be at least two strictly increasing numbers, got {edges}; "
                "for n equal bins give (n, low, high) with an integer n"
            )
        axis = hist.axis.Variable(edges, name=name)
    _check_numeric_axis(axis, name)
    return axis


def make_hist(
    values: Any,
    bins: BinSpec | tuple[BinSpec, BinSpec],
    weights: Any | None = None,
    *,
    name: str = "sample",
) -> hist.Hist:
    """Fill a ``Weight``-storage histogram from values ``[N]`` (1-D) or ``[N, 2]`` (2-D).

    ``bins`` is a numeric hist axis, a sequence of finite edges or ``(n, low, high)`` with an integer ``n``; for
    2-D a pair of those; at most :data:`MAX_BINS` bins in all. The weights are stored as given.
    """
    return _sample_from_arrays(values, bins, weights, name, rescale=False).hist


def _is_2d_spec(bins: Any) -> bool:
    return (
        isinstance(bins, (tuple, list))
        and len(bins) == 2
        and not isinstance(bins[0], (int, float, np.integer, np.floating))
    )


def _weight_scale(w: np.ndarray) -> float:
    """1, or the power of two that brings the largest |weight| near 1 when squared weights would over/underflow."""
    largest = float(np.max(np.abs(w))) if len(w) else 0.0
    if largest == 0 or 1 / _EXTREME_WEIGHT < largest < _EXTREME_WEIGHT:
        return 1.0
    return math.ldexp(1.0, -math.frexp(largest)[1])


def _sample_from_arrays(values: Any, bins: Any, weights: Any | None, name: str, *, rescale: bool = True) -> _Sample:
    if bins is None:
        raise InputError(f"{name} was given as an array: pass bins= (edges, (n, low, high) or a hist axis)")
    array = as_finite_array(values, f"values of {name}")
    two_d = _is_2d_spec(bins)
    if two_d and (array.ndim != 2 or array.shape[1] != 2):
        raise InputError(f"{name}: 2-D binning needs values of shape [N, 2], got {array.shape}")
    if not two_d and array.ndim != 1:
        raise InputError(f"{name}: 1-D binning needs values of shape [N], got {array.shape}")
    if weights is None:
        w = np.ones(len(array))
    else:
        w = as_finite_array(weights, f"weights of {name}", ndim=1)
        if len(w) != len(array):
            raise InputError(f"{name}: {len(array)} values but {len(w)} weights")
    axes = [_axis(b, f"x{i}") for i, b in enumerate(bins)] if two_d else [_axis(bins, "x")]
    n_bins = math.prod(axis.size for axis in axes)
    if n_bins > MAX_BINS:
        raise InputError(f"the binning of {name} has {n_bins} bins, more than the {MAX_BINS} allowed: use fewer")
    if rescale:
        w = w * _weight_scale(w)
    columns = [array[:, i] for i in range(2)] if two_d else [array]
    outside = np.zeros(len(array), dtype=bool)
    for axis, column in zip(axes, columns):
        index = np.asarray(axis.index(column))
        outside |= (index < 0) | (index >= axis.size)
    h = hist.Hist(*axes, storage=hist.storage.Weight())
    h.fill(*columns, weight=w)
    magnitude = float(np.sum(np.abs(w)))
    fraction = float(np.sum(np.abs(w[outside]))) / magnitude if magnitude > 0 else 0.0
    return _Sample(h, array if not two_d else None, w if not two_d else None, fraction)


def _sample_from_hist(obj: hist.Hist, name: str) -> _Sample:
    if obj.ndim not in (1, 2):
        raise InputError(f"{name} has {obj.ndim} axes: only 1-D and 2-D histograms can be compared")
    for i, axis in enumerate(obj.axes):
        _check_numeric_axis(axis, f"axis {i} of {name}")
    storage = obj.storage_type
    if not issubclass(storage, _STORAGES):
        raise InputError(
            f"{name} has {storage.__name__} storage, which holds averages rather than entries: only Double, Int64, "
            "AtomicInt64, Unlimited (counts) and Weight (sums of weights and of their squares) storages are compared"
        )
    values = as_finite_array(obj.values(), f"bin contents of {name}")
    if issubclass(storage, bh.storage.Weight):
        variances = np.asarray(obj.variances(), dtype=float)
        if not np.all(np.isfinite(variances) & (variances >= 0) & ((variances > 0) | (values == 0))):
            raise InputError(
                f"bin variances of {name} are not all finite and positive where there are entries (squares of weights "
                "beyond 1e154 overflow, below 1e-154 they underflow): rescale the weights (only their ratios matter) "
                "before filling, or pass the values and weights as arrays"
            )
    else:
        if np.any(values < 0):
            raise InputError(
                f"{name} has {int(np.sum(values < 0))} bins with negative contents in {storage.__name__} storage, "
                "which keeps no variances: Poisson errors (variance = content) cannot be used for negative contents; "
                "fill it with storage=hist.storage.Weight() (sums of squared weights) or pass values and weights"
            )
        variances = values  # counts, or Double filled with weights: Poisson is the only honest guess
    h = hist.Hist(*obj.axes, storage=hist.storage.Weight())
    h.view(flow=False).value = values
    h.view(flow=False).variance = variances
    with_flow = np.abs(np.asarray(obj.values(flow=True), dtype=float))
    total = float(with_flow.sum())
    outside = (total - float(np.abs(values).sum())) / total if total > 0 else 0.0
    return _Sample(h, outside=max(outside, 0.0))


def _sample(obj: Any, bins: Any, weights: Any | None, name: str) -> _Sample:
    if isinstance(obj, hist.Hist):
        if weights is not None:
            raise InputError(f"{name} is already a histogram: weights cannot be applied to it")
        return _sample_from_hist(obj, name)
    return _sample_from_arrays(obj, bins, weights, name)


def _check_compatible(ref: hist.Hist, other: hist.Hist, name: str) -> None:
    if ref.ndim != other.ndim:
        raise InputError(f"{name} is {other.ndim}-D but the reference is {ref.ndim}-D")
    for i, (a, b) in enumerate(zip(ref.axes, other.axes)):
        ea, eb = np.asarray(a.edges), np.asarray(b.edges)
        if ea.shape != eb.shape or not np.allclose(ea, eb, rtol=1e-9, atol=0):
            raise InputError(
                f"binning of {name} does not match the reference on axis {i}: "
                f"{len(eb) - 1} bins in [{eb[0]:g}, {eb[-1]:g}] vs {len(ea) - 1} bins in [{ea[0]:g}, {ea[-1]:g}]; "
                "fill both with the same axis"
            )


def _total(h: hist.Hist, name: str) -> float:
    total = float(h.values().sum())
    if total == 0:
        raise InputError(f"{name} is empty inside the binning (sum of weights 0): check the range of the axes")
    if total < 0:
        raise InputError(f"{name} has a negative total yield ({total:g}): it cannot be normalised")
    return total


# --------------------------------------------------------------------------------------------------- metrics
def _pair(ref: Any, other: Any) -> tuple[_Sample, _Sample]:
    a = ref if isinstance(ref, _Sample) else _sample(ref, None, None, "reference")
    b = other if isinstance(other, _Sample) else _sample(other, None, None, "other")
    _check_compatible(a.hist, b.hist, "the other histogram")
    return a, b


def chi2(reference: hist.Hist | _Sample, other: hist.Hist | _Sample) -> Chi2Result:
    """Chi2 of the two histograms after normalising each to unit area (1-D or 2-D).

    Entries in the flow bins (outside the binning) are ignored; :class:`Comparison` reports their fraction.
    Fewer than two bins with entries (ndf < 1) raise an :class:`~hepnb.errors.InputError`.
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


# --------------------------------------------------------------------------------------------------- Comparison
class Comparison:
    """A reference distribution and one or more others, with metrics, a table and a ratio plot.

    Parameters
    ----------
    reference
        A ``hist.Hist`` (1-D or 2-D) or an array ``[N]`` / ``[N, 2]``.
    others
        One such object, or a mapping label -> object.
    bins
        Binning for the array inputs: a numeric hist axis, finite edges, ``(n, low, high)``; a pair of them for 2-D
        (at most :data:`MAX_BINS` bins in all).
    weights
        Optional mapping label -> per-entry weights for array inputs (the reference's label included).
    reference_label, xlabel, ylabel, title
        Text for the plot and the table.

    Attributes
    ----------
    outside
        Label (the reference's first) -> fraction of the sample, in sum of |weights|, outside the binning (in
        the flow bins; for a histogram input, as far as its axes have flow bins). The chi2 and the MSE ignore these
        entries, the unbinned KS and W1 do not. Above :data:`OUTSIDE_WARNING_FRACTION` an
        :class:`OutsideBinningWarning` is issued; ``table()`` lists the fraction of each compared sample.
    """

    def __init__(
        self,
        reference: Any,
        others: Any,
        *,
        bins: Any = None,
        weights: Mapping[str, Any] | None = None,
        reference_label: str = "Reference",
        xlabel: str = "",
        ylabel: str = "",
        title: str = "",
    ) -> None:
        weights = dict(weights or {})
        if not isinstance(others, Mapping):
            others = {"Other": others}
        if not others:
            raise InputError("a Comparison needs at least one histogram to compare with the reference")
        unknown = set(weights) - set(others) - {reference_label}
        if unknown:
            raise InputError(f"weights given for unknown labels {sorted(unknown)}; labels are {sorted(others)}")
        self.reference_label = reference_label
        self.xlabel, self.ylabel, self.title = xlabel, ylabel, title
        self.reference = _sample(reference, bins, weights.get(reference_label), reference_label)
        _total(self.reference.hist, reference_label)
        if bins is None:  # others may be arrays binned like a reference histogram
            bins = tuple(self.reference.hist.axes) if self.reference.hist.ndim == 2 else self.reference.hist.axes[0]
        self.others: dict[str, _Sample] = {}
        for label, obj in others.items():
            sample = _sample(obj, bins, weights.get(label), label)
            _check_compatible(self.reference.hist, sample.hist, label)
            _total(sample.hist, label)
            self.others[label] = sample
        self.outside = {reference_label: self.reference.outside, **{k: s.outside for k, s in self.others.items()}}
        for label, fraction in self.outside.items():
            if fraction > OUTSIDE_WARNING_FRACTION:
                warnings.warn(f"{fraction:.1%} of {label!r} (in sum of |weights|) lies outside the binning: the chi2 "
                              "and MSE do not see it (the unbinned KS and W1 do); widen the range, or move such "
                              "entries into the edge bins on purpose", OutsideBinningWarning, stacklevel=2)

    @property
    def ndim(self) -> int:
        """1 or 2."""
        return self.reference.hist.ndim

    def _other(self, label: str | None) -> _Sample:
        if label is None:
            if len(self.others) > 1:
                raise InputError(f"several histograms are compared: name one of {list(self.others)}")
            return next(iter(self.others.values()))
        if label not in self.others:
            raise InputError(f"no histogram labelled {label!r}; labels are {list(self.others)}")
        return self.others[label]

    def chi2(self, label: str | None = None) -> Chi2Result:
        """Chi2/ndf of ``label`` (the only other histogram by default) against the reference."""
        return chi2(self.reference, self._other(label))

    def ks(self, label: str | None = None) -> KSResult:
        """KS distance of ``label`` to the reference (1-D)."""
        return ks(self.reference, self._other(label))

    def wasserstein(self, label: str | None = None) -> float:
        """Wasserstein-1 distance of ``label`` to the reference (1-D), in axis units."""
        return wasserstein(self.reference, self._other(label))

    def mse(self, label: str | None = None) -> float:
        """MSE of bin contents of ``label`` against the reference (the thesis's 2-D metric)."""
        return mse(self.reference, self._other(label))

    def table(self) -> pd.DataFrame:
        """One row per compared histogram: chi2, ndf, chi2/ndf, KS and W1 (1-D) or MSE (2-D), and ``outside``.

        ``outside`` is the fraction of the sample (sum of |weights|) outside the binning, which the chi2 ignores.
        """
        rows = []
        for label in self.others:
            c = self.chi2(label)
            row: dict[str, Any] = {"label": label, "chi2": c.chi2, "ndf": c.ndf, "chi2/ndf": c.reduced}
            if self.ndim == 1:
                row["KS"] = self.ks(label).statistic
                row["W1"] = self.wasserstein(label)
            else:
                row["MSE"] = self.mse(label)
            row["outside"] = self.outside[label]
            rows.append(row)
        return pd.DataFrame(rows).set_index("label")

    def plot(self, fig: Figure | None = None) -> Figure:
        """Normalised overlay with statistical bands and a ratio panel (1-D), or maps and a pull map (2-D)."""
        if self.ndim == 2:
            return self._plot_2d(fig)
        return self._plot_1d(fig)

    def _normalised(self, s: _Sample) -> tuple[np.ndarray, np.ndarray]:
        h = s.hist
        widths = np.diff(h.axes[0].edges)
        total = h.values().sum()
        return h.values() / total / widths, np.sqrt(np.maximum(h.variances(), 0)) / total / widths

    def _plot_1d(self, fig: Figure | None) -> Figure:
        if fig is None:
            fig = plt.figure(figsize=(7, 6), layout="constrained")
        ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.06})
        self.draw(ax, rax)
        style.experiment_label(ax, text=self.title or "Simulation", com=None)
        fig.align_ylabels([ax, rax])
        return style.legend_headroom(fig)

    def draw(self, ax: Axes, rax: Axes, *, compact: bool = False) -> None:
        """Draw the 1-D overlay on ``ax`` and the ratio to the reference on ``rax`` (no experiment label).

        ``compact=True`` uses small fonts and short legend entries, for grids of many comparisons.
        """
        if self.ndim != 1:
            raise InputError("draw() is for 1-D comparisons; use plot() for 2-D ones")
        edges = self.reference.hist.axes[0].edges
        ref, ref_err = self._normalised(self.reference)
        mh.histplot(ref, edges, ax=ax, color="black", label=self.reference_label, yerr=False)
        ax.stairs(ref + ref_err, edges, baseline=ref - ref_err, fill=True, color="black", alpha=0.15, lw=0)
        safe = np.where(ref > 0, ref, np.nan)
        rel = np.nan_to_num(ref_err / safe)
        rax.stairs(1 + rel, edges, baseline=1 - rel, fill=True, color="black", alpha=0.15, lw=0)
        for i, (label, sample) in enumerate(self.others.items()):
            values, errors = self._normalised(sample)
            c = self.chi2(label)
            text = (f"{label}: $\\chi^2$/ndf = {c.reduced:.1f}" if compact
                    else f"{label} ($\\chi^2$/ndf = {c.chi2:.1f}/{c.ndf})")
            mh.histplot(values, edges, yerr=errors, ax=ax, color=f"C{i}", label=text)
            mh.histplot(values / safe, edges, yerr=errors / safe, ax=rax, color=f"C{i}", histtype="errorbar",
                        **({"markersize": 2} if compact else {}))
        rax.axhline(1, color="black", lw=0.8)
        rax.set_ylim(0.5, 1.5)
        rax.set_xlabel(self.xlabel, **({"fontsize": "small"} if compact else {}))
        rax.set_ylabel("Ratio", **({"fontsize": "x-small"} if compact else {}))
        ax.set_xlabel("")
        ax.set_ylim(0, None)
        if compact:
            ax.tick_params(labelbottom=False, labelsize="x-small")
            rax.tick_params(labelsize="x-small")
            ax.legend(fontsize="xx-small", loc="upper right", frameon=False)
        else:
            ax.set_ylabel(self.ylabel or "Normalised entries / bin width")
            ax.legend(loc="upper right", fontsize="small")

    def _plot_2d(self, fig: Figure | None) -> Figure:
        n = len(self.others)
        if fig is None:
            fig = plt.figure(figsize=(5 * (n + 1), 4.5))
        axes = np.atleast_1d(fig.subplots(1, n + 1))
        xa, ya = self.reference.hist.axes
        ref = self.reference.hist.values()
        ref_norm = ref / ref.sum()
        mh.hist2dplot(ref_norm, xa.edges, ya.edges, ax=axes[0], cbar=True)
        axes[0].set_title(self.reference_label)
        for ax, (label, sample) in zip(axes[1:], self.others.items()):
            other = sample.hist.values()
            mh.hist2dplot(other / other.sum(), xa.edges, ya.edges, ax=ax, cbar=True)
            ax.set_title(f"{label}: MSE = {self.mse(label):.3g}")
        for ax in axes:
            ax.set_xlabel(self.xlabel)
            ax.set_ylabel(self.ylabel)
        return fig
