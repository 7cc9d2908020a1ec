"""How much a classifier score depends on a protected variable (the mass), and what decorrelating it costs.

Conventions: labels ``y`` are 1 (signal) / 0 (background); events pass a cut when ``score >= threshold``; weights
may be negative; the protected variable is one value per event (the thesis uses the "log-norm" four-lepton mass,
``log m4l`` min-max scaled to [0, 1]). ``on`` selects the events a quantity is computed on: ``"all"``,
``"signal"`` or ``"background"``.

- :func:`score_profile`: mean score per bin of the protected variable (thesis Fig 8.7, 8.10; A. Ghosh, PhD thesis,
  Universite Paris-Saclay 2020, section 8.1).
- :func:`efficiency_thresholds`: in each bin of the protected variable, the score cut that keeps 80 % and 90 % of
  that bin's signal (thesis Fig 8.11, "the figure that determines the usefulness"): a flat curve means one global cut
  keeps the same fraction of signal at every mass, so it does not sculpt the signal line shape.
  :meth:`EfficiencyThresholds.flatness` reduces each curve to one number, defined there.
- :func:`background_rejection` (R50) and :func:`background_jsd` (JSD50, reported as 1/JSD): the DisCo
  (arXiv:2001.05310) and MoDe (arXiv:2010.09745) benchmark pair, from :mod:`hepnb.metrics.sculpting`.
- :func:`hepnb.metrics.distance_correlation.distance_correlation`: the weighted dCorr^2 DisCo regularises.
- :func:`significance_at_threshold` and :func:`compare_importance`: the core's significance and permutation importance
  read the way thesis section 8.1.4 and Table 8.1 do (Z at a score cut; the protected variable's importance drop).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import hist
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array, check_same_length
from hepnb.metrics.counting import Significance
from hepnb.metrics.importance import permutation_importance
from hepnb.metrics.sculpting import (
    Bins,
    Rejection,
    SculptingJSD,
    _axis,
    _check_efficiency,
    _inputs,
    background_jsd,
    background_rejection,
    jensen_shannon,
)
from hepnb.metrics.thresholds import best_threshold_significance
from hepnb.metrics.weighted import weighted_auc

__all__ = [
    "ScoreProfile",
    "EfficiencyThresholds",
    "Flatness",
    "Rejection",
    "SculptingJSD",
    "score_profile",
    "efficiency_thresholds",
    "quantile_edges",
    "background_rejection",
    "background_jsd",
    "jensen_shannon",
    "significance_at_threshold",
    "compare_importance",
]

Population = Literal["all", "signal", "background"]


# ----------------------------------------------------------------------------------------------------------------
# result types
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ScoreProfile:
    """Weighted mean score per bin of the protected variable, and its error.

    ``hist`` holds ``WeightedMean`` storage (sum of weights, of squared weights, mean and variance per bin); ``mean``
    and ``error`` read it, with ``error = sqrt(variance / n_eff)`` and Kish's ``n_eff = (sum w)^2 / sum w^2`` per
    bin (``hist.variances()`` divides by ``sum w`` instead, which is right for unit weights only).
    """

    hist: hist.Hist
    on: str

    @property
    def mean(self) -> np.ndarray:
        """Mean score per bin (NaN where a bin is empty)."""
        view = self.hist.view()
        return np.where(view.sum_of_weights != 0, view.value, np.nan)

    @property
    def error(self) -> np.ndarray:
        """Error of the mean per bin (NaN with fewer than 2 effective events)."""
        view = self.hist.view()
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = view.sum_of_weights**2 / view.sum_of_weights_squared
            return np.where(n_eff > 1, np.sqrt(np.abs(view.variance) / n_eff), np.nan)


@dataclass(frozen=True)
class Flatness:
    """How much the score cut at one efficiency moves across the bins of the protected variable.

    ``value`` is the weighted RMS of the per-bin thresholds ``t_k`` about their weighted mean,
    ``sqrt(sum_k W_k (t_k - t_mean)^2 / sum_k W_k)`` with ``W_k`` the bin's summed weight of the selected events
    (0 for a perfectly flat curve, in units of the score). ``error`` propagates the per-bin errors linearly
    (delta method). ``noise`` is the RMS that the per-bin errors alone give, ``sqrt(sum_k W_k err_k^2 / sum_k W_k)``:
    a curve flat within statistics has ``value ~ noise`` (and ``error = noise`` where ``value`` is 0). ``spread`` is
    ``max_k t_k - min_k t_k`` and ``chi2_ndf`` the chi2 per degree of freedom of a constant fitted to the thresholds
    with their errors (about 1 when the curve is flat within statistics).
    """

    value: float
    error: float
    noise: float
    spread: float
    chi2_ndf: float
    efficiency: float
    n_bins: int
    on: str


@dataclass(frozen=True, eq=False)
class EfficiencyThresholds:
    """Per bin of the protected variable, the score cut keeping each ``efficiencies`` fraction of the events.

    ``thresholds[e, k]`` is the largest score t such that the weighted fraction of bin k's selected events with
    ``score >= t`` is at least ``efficiencies[e]``; ``errors[e, k]`` is half the Woodruff interval (Woodruff,
    J. Am. Stat. Assoc. 47 (1952) 635), the thresholds at ``efficiency -+ sqrt(eff (1 - eff) / n_eff)``. Bins with
    fewer than ``min_events`` selected events, or a non-positive summed weight, hold NaN.
    """

    efficiencies: tuple[float, ...]
    edges: np.ndarray
    thresholds: np.ndarray
    errors: np.ndarray
    bin_weights: np.ndarray
    n_events: np.ndarray
    on: str
    min_events: int

    @property
    def centers(self) -> np.ndarray:
        """Bin centres of the protected variable."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def flatness(self, efficiency: float | None = None) -> Flatness:
        """The :class:`Flatness` of the curve at ``efficiency`` (default: the first one computed)."""
        if efficiency is None:
            row = 0
        else:
            matches = [i for i, e in enumerate(self.efficiencies) if np.isclose(e, efficiency)]
            if not matches:
                raise InputError(f"no threshold curve at efficiency {efficiency}; computed: {self.efficiencies}")
            row = matches[0]
        t, err = self.thresholds[row], self.errors[row]
        ok = np.isfinite(t)
        if ok.sum() < 2:
            raise InputError(
                f"only {int(ok.sum())} bin(s) hold a threshold at efficiency {self.efficiencies[row]}: the flatness "
                "needs two; use fewer bins, more events or a smaller min_events"
            )
        t, err, w = t[ok], err[ok], self.bin_weights[ok]
        mean = float(np.sum(w * t) / w.sum())
        rms = float(np.sqrt(np.sum(w * (t - mean) ** 2) / w.sum()))
        noise = float(np.sqrt(np.sum(w * err**2) / w.sum()))
        error = float(np.sqrt(np.sum((w * (t - mean) * err) ** 2)) / (rms * w.sum())) if rms > 0 else noise
        usable = err > 0
        chi2_ndf = float("nan")
        if usable.sum() >= 2:
            inverse = 1 / err[usable] ** 2
            constant = np.sum(inverse * t[usable]) / inverse.sum()
            chi2_ndf = float(np.sum(inverse * (t[usable] - constant) ** 2) / (usable.sum() - 1))
        return Flatness(
            rms, error, noise, float(t.max() - t.min()), chi2_ndf, self.efficiencies[row], int(ok.sum()), self.on
        )


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------


def _population(labels: np.ndarray | None, on: str, n: int) -> np.ndarray:
    if on not in ("all", "signal", "background"):
        raise InputError(f"on must be 'all', 'signal' or 'background', got {on!r}")
    if on == "all":
        return np.ones(n, dtype=bool)
    if labels is None:
        raise InputError(f"on={on!r} needs the labels y (1 signal, 0 background)")
    mask = labels == (1 if on == "signal" else 0)
    if not mask.any():
        raise InputError(f"there are no {on} events (label {1 if on == 'signal' else 0})")
    return mask


def quantile_edges(values: ArrayLike, n_bins: int, weights: ArrayLike | None = None) -> np.ndarray:
    """Edges of ``n_bins`` bins holding equal (weighted) shares of ``values``, spanning their full range.

    Examples
    --------
    >>> quantile_edges([0, 1, 2, 3, 4, 5, 6, 7], 2)
    array([0. , 3.5, 7. ])
    """
    v = as_finite_array(values, "values", ndim=1)
    w = np.ones(len(v)) if weights is None else np.abs(as_finite_array(weights, "weights", ndim=1))
    check_same_length(values=v, weights=w)
    if n_bins < 1 or len(v) < 2:
        raise InputError(f"need n_bins >= 1 and at least 2 values, got n_bins={n_bins} and {len(v)} values")
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order]) - 0.5 * w[order]
    inner = np.interp(np.arange(1, n_bins) / n_bins * w.sum(), cumulative, v[order])
    edges = np.concatenate([[v.min()], inner, [np.nextafter(v.max(), np.inf)]])
    if np.any(np.diff(edges) <= 0):
        raise InputError(f"{n_bins} equal-population bins are not distinct (repeated values): use fewer bins")
    return edges


def _cut_at_efficiency(score: np.ndarray, w: np.ndarray, efficiency: float) -> float:
    """Largest t with ``sum w[score >= t] >= efficiency * sum w`` (first crossing from the top)."""
    order = np.argsort(-score, kind="stable")
    s, cumulative = score[order], np.cumsum(w[order]) / w.sum()
    distinct = np.append(s[1:] != s[:-1], True)  # keep the last event of each run of equal scores
    s, cumulative = s[distinct], cumulative[distinct]
    index = int(np.argmax(cumulative >= efficiency - 1e-12)) if np.any(cumulative >= efficiency - 1e-12) else -1
    return float(s[index])


# ----------------------------------------------------------------------------------------------------------------
# profiles and thresholds against the protected variable
# ----------------------------------------------------------------------------------------------------------------


def score_profile(
    score: ArrayLike,
    protected: ArrayLike,
    labels: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    *,
    bins: Bins = 20,
    on: Population = "all",
    label: str = "protected variable",
) -> ScoreProfile:
    """Weighted mean score in bins of the protected variable (a profile plot), on all, signal or background events.

    Parameters
    ----------
    score, protected
        Classifier output and protected variable per event.
    labels, weights
        1 (signal) / 0 (background), needed for ``on="signal"``/``"background"``; event weights (1 if omitted).
    bins
        ``(n, low, high)``, a sequence of edges, a hist axis, or an integer n (n equal bins over the selected
        events' range).
    on
        Which events enter.
    label
        Axis label of the protected variable.

    Examples
    --------
    >>> profile = score_profile([0.1, 0.3, 0.8, 0.9], [0.2, 0.3, 0.7, 0.8], bins=(2, 0, 1))
    >>> profile.mean.round(2).tolist()
    [0.2, 0.85]
    """
    s, m, y, w = _inputs(score, protected, labels, weights)
    mask = _population(y, on, len(s))
    h = hist.Hist(_axis(bins, m[mask], label), storage=hist.storage.WeightedMean())
    h.fill(m[mask], sample=s[mask], weight=w[mask])
    return ScoreProfile(h, on)


def efficiency_thresholds(
    score: ArrayLike,
    protected: ArrayLike,
    labels: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    *,
    efficiencies: Sequence[float] = (0.8, 0.9),
    bins: Bins = 10,
    on: Population = "signal",
    min_events: int = 20,
) -> EfficiencyThresholds:
    """Per bin of the protected variable, the score cut that keeps each fraction ``efficiencies`` of the events.

    With ``on="signal"`` (default) this is thesis Fig 8.11: the threshold at 80 % and 90 % signal efficiency
    against the log-norm mass. A score independent of the mass gives the same cut in every bin; a sculpting score
    needs a higher cut where the signal is more signal-like. ``on="background"`` gives the fixed-background-
    efficiency curve (the DDT-style view of background sculpting).

    Parameters
    ----------
    score, protected, labels, weights
        As for :func:`score_profile`.
    efficiencies
        Fractions of the selected events to keep, each in (0, 1).
    bins
        Binning of the protected variable (see :func:`score_profile`; :func:`quantile_edges` gives equal-population
        bins).
    on
        ``"signal"``, ``"background"`` or ``"all"``.
    min_events
        Bins with fewer selected events get no threshold (NaN).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mass, y = rng.uniform(size=20_000), np.ones(20_000)
    >>> sculpted = efficiency_thresholds(rng.uniform(size=20_000) * (0.5 + mass), mass, y, bins=(4, 0, 1))
    >>> flat = efficiency_thresholds(rng.uniform(size=20_000), mass, y, bins=(4, 0, 1))
    >>> sculpted.flatness(0.8).value > 10 * flat.flatness(0.8).value
    True
    """
    s, m, y, w = _inputs(score, protected, labels, weights)
    effs = tuple(_check_efficiency(float(e), "each efficiency") for e in efficiencies)
    if not effs:
        raise InputError("efficiencies is empty: give at least one, e.g. (0.8, 0.9)")
    if min_events < 1:
        raise InputError(f"min_events must be >= 1, got {min_events}")
    mask = _population(y, on, len(s))
    axis = _axis(bins, m[mask], "protected variable")
    edges = np.asarray(axis.edges, dtype=float)
    index = np.asarray(axis.index(m[mask]))
    s_sel, w_sel = s[mask], w[mask]
    sums = hist.Hist(axis, storage=hist.storage.Weight()).fill(m[mask], weight=w_sel)
    counts = hist.Hist(axis, storage=hist.storage.Int64()).fill(m[mask]).values().astype(int)
    bin_weights, sums_w2 = np.array(sums.values(), dtype=float), np.array(sums.variances(), dtype=float)
    thresholds = np.full((len(effs), len(edges) - 1), np.nan)
    errors = np.full_like(thresholds, np.nan)
    for k in np.flatnonzero((counts >= min_events) & (bin_weights > 0)):
        inside = index == k
        sk, wk = s_sel[inside], w_sel[inside]
        n_eff = bin_weights[k] ** 2 / sums_w2[k]
        for e, eff in enumerate(effs):
            thresholds[e, k] = _cut_at_efficiency(sk, wk, eff)
            delta = np.sqrt(eff * (1 - eff) / n_eff)  # one standard error of the efficiency
            high = _cut_at_efficiency(sk, wk, max(eff - delta, 1e-12))
            low = _cut_at_efficiency(sk, wk, min(eff + delta, 1.0))
            errors[e, k] = 0.5 * (high - low)
    return EfficiencyThresholds(effs, edges, thresholds, errors, bin_weights, counts, on, int(min_events))


# ----------------------------------------------------------------------------------------------------------------
# the core's significance and permutation importance, as chapter 8 reads them
# ----------------------------------------------------------------------------------------------------------------


def significance_at_threshold(
    y: ArrayLike,
    score: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    threshold: float,
    metric: str = "asimov_z",
    propagation: Literal["linear", "quadrature"] = "quadrature",
) -> Significance:
    """A counting significance of the events with ``score > threshold`` (thesis: Z at a score cut of 0.9).

    ``metric`` and the labels are those of :func:`hepnb.metrics.thresholds.best_threshold_significance`
    (``"asimov_z"`` with 1/0 labels, ``"iz"`` with S/V/SVI/B2, ...); the MC error comes from ``sqrt(sum w^2)``.

    Examples
    --------
    >>> z = significance_at_threshold([1, 1, 0, 0, 0], [0.95, 0.5, 0.92, 0.3, 0.1], [3.0, 3.0, 1.0, 1.0, 1.0],
    ...                               threshold=0.9, metric="s_over_sqrt_b")
    >>> z.value, z.yields["signal"], z.yields["background"]
    (3.0, 3.0, 1.0)
    """
    cut = as_finite_array([threshold], "threshold", ndim=1)
    scan = best_threshold_significance(y, score, weights, metric=metric, thresholds=cut, propagation=propagation)
    return Significance(
        scan.value,
        scan.error,
        metric,
        {k: float(v[0]) for k, v in scan.yields.items()},
        {k: float(v[0]) for k, v in scan.yield_errors.items()},
        propagation,
    )


def compare_importance(
    models: Mapping[str, Any],
    X: ArrayLike | pd.DataFrame,
    y: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    metric: Callable[..., Any] = weighted_auc,
    n_repeats: int = 3,
    seed: int = 0,
    feature_names: Sequence[str] | None = None,
    groups: Mapping[str, Sequence[str | int]] | None = None,
) -> pd.DataFrame:
    """Permutation importance of each feature for several models side by side (thesis Table 8.1).

    Every model is evaluated with the same ``seed``, hence the same permutations, so differences between models
    are not permutation noise. A decorrelated model should show a smaller importance for the protected variable.
    ``metric``, ``n_repeats``, ``seed``, ``feature_names`` and ``groups`` (columns shuffled together, e.g. the mass
    and its proxies) are those of :func:`hepnb.metrics.importance.permutation_importance`.

    Returns
    -------
    pandas.DataFrame
        Indexed by feature, columns ``(model, "importance" | "error")``, sorted by the first model's importance.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(2000, 2))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> table = compare_importance({"uses x0": lambda X: X[:, 0], "uses x1": lambda X: X[:, 1]}, X, y,
    ...                            feature_names=["x0", "x1"])
    >>> bool(table.loc["x0", ("uses x0", "importance")] > 0.4), float(table.loc["x0", ("uses x1", "importance")])
    (True, 0.0)
    """
    if not models:
        raise InputError("models is empty: give {name: model or callable X -> score}")
    columns = {}
    for name, model in models.items():
        result = permutation_importance(
            model, X, y, weights, metric, n_repeats=n_repeats, seed=seed, feature_names=feature_names, groups=groups
        )
        columns[(str(name), "importance")] = pd.Series(result.importance, index=result.features)
        columns[(str(name), "error")] = pd.Series(result.error, index=result.features)
    table = pd.DataFrame(columns)
    table.index.name = "feature"
    first = (str(next(iter(models))), "importance")
    return table.sort_values(first, ascending=False, kind="stable")
