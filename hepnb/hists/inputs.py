"""Every compared input as a ``Weight``-storage :class:`hist.Hist`: arrays with a binning, or a histogram.

Arrays ``[N]`` (1-D) or ``[N, 2]`` (2-D) are filled with their weights (1 if none); a histogram keeps its bins and
gets Poisson variances (the content) when its storage holds counts or plain sums of weights. Only numeric axes
(Regular, Variable, Integer, Boolean) and count or sum-of-weights storages are accepted: chi2, KS and W1 need
ordered bins holding entries, not averages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boost_histogram as bh
import hist
import numpy as np

from hepnb.errors import InputError, as_finite_array

__all__ = ["BinSpec", "MAX_BINS", "make_hist"]

BinSpec = bh.axis.Axis | Sequence[float] | tuple[int, float, float]

MAX_BINS = 10**7
"""Most bins (all axes together) a histogram filled from arrays may have: ``bins=`` beyond it is refused."""

_STORAGES = (bh.storage.Double, bh.storage.Int64, bh.storage.AtomicInt64, bh.storage.Unlimited, bh.storage.Weight)
_EXTREME_WEIGHT = 1e100  # beyond it (or below its inverse) squared weights would overflow (underflow)


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
    values: Any, bins: BinSpec | tuple[BinSpec, BinSpec], weights: Any | None = None, *, name: str = "sample"
) -> hist.Hist:
    """Fill a ``Weight``-storage histogram from values ``[N]`` (1-D) or ``[N, 2]`` (2-D).

    ``bins`` is a numeric hist axis, a sequence of finite edges or ``(n, low, high)`` with an integer ``n``; for
    2-D a pair of those; at most :data:`MAX_BINS` bins in all. The weights are stored as given.

    Examples
    --------
    >>> h = make_hist([0.5, 1.5, 1.7, 9.0], (2, 0, 2), weights=[1.0, 2.0, -0.5, 3.0])
    >>> h.values().tolist(), h.variances().tolist()
    ([1.0, 1.5], [1.0, 4.25])
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
    """``obj`` (a histogram, or arrays with ``bins`` and ``weights``) as a :class:`_Sample`."""
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
    """The sum of weights inside the binning, refused when it is not positive (it normalises ``h``)."""
    total = float(h.values().sum())
    if total == 0:
        raise InputError(f"{name} is empty inside the binning (sum of weights 0): check the range of the axes")
    if total < 0:
        raise InputError(f"{name} has a negative total yield ({total:g}): it cannot be normalised")
    return total
