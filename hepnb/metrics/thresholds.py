"""The best-threshold significance of a classifier score: yields above each cut, with MC errors.

The scan of PermutationImportancePhysics ("Significance" over ``linspace(0.2, 1.0, 30)``), used for the
classifier strategies of A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, sections 4.9 and
6.6, with every counting metric of :mod:`hepnb.metrics.counting` (signed, negative weights allowed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array, check_same_length
from hepnb.metrics.counting import (
    COUNTING_METRICS,
    INTERFERENCE_COMPONENTS,
    Propagation,
    Yield,
    metric_terms,
    propagate_errors,
)
from hepnb.metrics.weighted import event_weights

__all__ = ["ThresholdScan", "yields_from_events", "best_threshold_significance", "best_significance_metric"]

# thresholds of the PermutationImportancePhysics "Significance" (probability-like scores)
_PI_PACKAGE_THRESHOLDS = np.linspace(0.2, 1.0, 30)


@dataclass(frozen=True, eq=False)
class ThresholdScan:
    """A significance computed for events with ``score > threshold``, for each threshold.

    ``values``/``errors`` are the whole curve (NaN where the metric is undefined or fewer than ``min_events``
    unweighted events of a component pass); ``threshold``, ``value``, ``error`` are the best point.
    """

    metric: str
    thresholds: np.ndarray
    values: np.ndarray
    errors: np.ndarray
    yields: Mapping[str, np.ndarray]
    yield_errors: Mapping[str, np.ndarray]
    n_events: Mapping[str, np.ndarray]
    valid: np.ndarray
    best_index: int
    min_events: int
    propagation: str
    rank_by: str

    @property
    def threshold(self) -> float:
        """The score threshold with the best significance."""
        return float(self.thresholds[self.best_index])

    @property
    def value(self) -> float:
        """The best significance (signed: negative for a deficit)."""
        return float(self.values[self.best_index])

    @property
    def error(self) -> float:
        """MC statistical error of the best significance."""
        return float(self.errors[self.best_index])


def _labels(y: ArrayLike) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise InputError(f"labels y must be 1-dimensional (one per event), got shape {labels.shape}")
    return labels


def _component_masks(labels: np.ndarray, metric: str) -> dict[str, np.ndarray]:
    needed = COUNTING_METRICS.get(metric)
    if needed is None:
        raise InputError(f"unknown metric {metric!r}; choose one of {sorted(COUNTING_METRICS)}")
    if needed[0] == "signal":
        if labels.dtype.kind in "US" or labels.dtype == object:
            raise InputError(f"metric {metric!r} needs labels y = 1 (signal) / 0 (background), got {labels[:3]}")
        values = labels.astype(float)
        if not np.all((values == 0) | (values == 1)):
            raise InputError(f"metric {metric!r} needs labels y in {{0, 1}}, got values {np.unique(values)[:5]}")
        return {"signal": values == 1, "background": values == 0}
    text = labels.astype(str)
    unknown = set(np.unique(text)) - set(INTERFERENCE_COMPONENTS)
    if unknown:
        raise InputError(
            f"metric {metric!r} needs labels y in {INTERFERENCE_COMPONENTS}, got also {sorted(unknown)[:5]}"
        )
    missing = [c for c in needed if not np.any(text == c)]
    if missing:
        raise InputError(f"metric {metric!r} needs events of components {needed}; none labelled {missing}")
    return {c: text == c for c in needed}


def yields_from_events(y: ArrayLike, weights: ArrayLike | None = None) -> dict[str, Yield]:
    """Weighted yield ``sum w`` with MC error ``sqrt(sum w^2)`` and unweighted count, per label value.

    Parameters
    ----------
    y
        One label per event (e.g. ``"S"``, ``"V"``, ``"SVI"``, ``"B2"``, or 0/1).
    weights
        Event weights (negative allowed); 1 if omitted.
    """
    labels = _labels(y)
    w = event_weights(weights, len(labels))
    out: dict[str, Yield] = {}
    for label in np.unique(labels):
        mask = labels == label
        out[str(label)] = Yield(float(w[mask].sum()), float(np.sqrt((w[mask] ** 2).sum())), int(mask.sum()))
    return out


def best_threshold_significance(
    y: ArrayLike,
    score: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    metric: str = "asimov_z",
    thresholds: ArrayLike | None = None,
    min_events: int = 0,
    propagation: Propagation = "quadrature",
    rank_by: Literal["abs", "value"] = "abs",
) -> ThresholdScan:
    """Significance of the events with ``score > t``, scanned over thresholds t, and the best one.

    Parameters
    ----------
    y
        Labels: 1 (signal) / 0 (background) for ``s_over_sqrt_b``, ``s_over_sqrt_s_plus_b``, ``asimov_z``;
        ``"S"``, ``"V"``, ``"SVI"``, ``"B2"`` (the samples of :func:`~hepnb.metrics.counting.iz_from_samples`) for
        ``iz`` and ``iz_asymptotic`` (``iz_asymptotic`` ignores S events).
    score
        Classifier output per event.
    weights
        Event weights (negative allowed); 1 if omitted. MC errors are ``sqrt(sum w^2)`` per component.
    metric
        One of :data:`COUNTING_METRICS`.
    thresholds
        Score thresholds; default ``linspace(0.2, 1.0, 30)`` as in PermutationImportancePhysics, which needs
        scores in [0, 1] (pass thresholds explicitly for other scores).
    min_events
        Minimum number of unweighted events of every component above a threshold for it to count (iZ is
        unstable at tight cuts, where a handful of weighted events decide it).
    propagation
        How the errors of the curve are propagated (``"quadrature"`` or ``"linear"``).
    rank_by
        ``"abs"`` (default): the best threshold maximises ``|value|`` (deficits count, the value keeps its
        sign); ``"value"``: maximise the signed value.

    Returns
    -------
    ThresholdScan
        The whole curve (values, errors, yields, counts per threshold) and the best point.
    """
    labels = _labels(y)
    s = as_finite_array(score, "score", ndim=1)
    check_same_length(y=labels, score=s)
    w = event_weights(weights, len(labels))
    if thresholds is None:
        if s.size and (s.min() < 0 or s.max() > 1):
            raise InputError(
                "the default thresholds linspace(0.2, 1.0, 30) need scores in [0, 1]; "
                f"scores span [{s.min():g}, {s.max():g}]: pass thresholds=..."
            )
        t = _PI_PACKAGE_THRESHOLDS.copy()
    else:
        t = as_finite_array(thresholds, "thresholds", ndim=1)
        if t.size == 0:
            raise InputError("thresholds is empty: give at least one score threshold")
    if rank_by not in ("abs", "value"):
        raise InputError(f"rank_by must be 'abs' or 'value', got {rank_by!r}")
    if min_events < 0:
        raise InputError(f"min_events must be >= 0, got {min_events}")
    masks = _component_masks(labels, metric)
    yields, yield_errors, counts = {}, {}, {}
    for name, mask in masks.items():
        order = np.argsort(s[mask], kind="stable")
        sorted_s = s[mask][order]
        sorted_w = w[mask][order]
        first_above = np.searchsorted(sorted_s, t, side="right")  # events [first_above:] have score > t
        cum_w = np.concatenate([[0.0], np.cumsum(sorted_w)])
        cum_w2 = np.concatenate([[0.0], np.cumsum(sorted_w**2)])
        yields[name] = cum_w[-1] - cum_w[first_above]
        yield_errors[name] = np.sqrt(np.maximum(cum_w2[-1] - cum_w2[first_above], 0.0))
        counts[name] = len(sorted_s) - first_above
    values, grads = metric_terms(metric, yields)
    errors = propagate_errors(grads, yield_errors, propagation)
    enough = np.all([counts[name] >= min_events for name in masks], axis=0)
    valid = np.isfinite(values) & enough
    values = np.where(valid, values, np.nan)
    errors = np.where(valid, errors, np.nan)
    if not valid.any():
        raise InputError(
            f"{metric} is undefined at every threshold (need positive background/total yields and at least "
            f"{min_events} events of each of {tuple(masks)} above the threshold); loosen thresholds or min_events"
        )
    rank = np.abs(values) if rank_by == "abs" else values
    best = int(np.nanargmax(rank))
    return ThresholdScan(
        metric, t, values, errors, yields, yield_errors, counts, valid, best, int(min_events), propagation, rank_by
    )


def best_significance_metric(metric: str = "asimov_z", **options: Any) -> Callable[..., float]:
    """A metric ``f(y, score, weights) -> float`` for :func:`hepnb.metrics.importance.permutation_importance`.

    It returns the best-threshold significance of :func:`best_threshold_significance` (``|value|`` when
    ranking by magnitude, so a deficit-driven sensitivity counts as positive). ``options`` are passed on
    (``thresholds``, ``min_events``, ``rank_by``).
    """
    rank_by = options.get("rank_by", "abs")

    def best_significance(y: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
        scan = best_threshold_significance(y, score, weights, metric=metric, **options)
        return abs(scan.value) if rank_by == "abs" else scan.value

    best_significance.__name__ = f"best_{metric}"
    return best_significance
