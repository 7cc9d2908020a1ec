"""Permutation importance (PI) of the input features of a trained model, with event weights and any metric.

For each feature (or group of features) and each repeat r = 1..R the column is shuffled across events, which keeps
its distribution and breaks its relation to the label and to the other features, and the metric is recomputed::

    importance_j = M_0 - mean_r M_{j,r},    error_j = std_r / sqrt(R)

(A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, sections 4.9 and 6.6.3). The column is
never replaced by zeros, its mean or uniform noise, which would bias the model. Correlated features share their
importance (a feature and its copy can each look unimportant); permute them together with ``groups``.

The metric is any ``metric(y, score, weights) -> float`` (larger = better), e.g.
:func:`hepnb.metrics.weighted.weighted_auc` (negative-weight safe) or
:func:`hepnb.metrics.thresholds.best_significance_metric` (best-threshold Z' or iZ). A metric may also return an
object with a ``value`` attribute (a :class:`~hepnb.metrics.thresholds.ThresholdScan`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from hepnb.errors import InputError, as_finite_array, check_same_length, is_whole_number
from hepnb.metrics.weighted import weighted_auc

__all__ = ["PermutationImportance", "permutation_importance", "as_score_function"]

Metric = Callable[[np.ndarray, np.ndarray, np.ndarray], Any]


@dataclass(frozen=True, eq=False)
class PermutationImportance:
    """Permutation importance of each feature (or group), in the order they were evaluated.

    ``drops[j, r] = baseline - metric with feature j shuffled (repeat r)``; ``importance`` is its mean over
    repeats, ``std`` its standard deviation (``ddof``) and ``error = std/sqrt(n_repeats)``.
    """

    features: tuple[str, ...]
    importance: np.ndarray
    error: np.ndarray
    std: np.ndarray
    drops: np.ndarray
    baseline: float
    metric: str
    n_repeats: int
    seed: int
    ddof: int

    def table(self) -> pd.DataFrame:
        """One row per feature, most important first: importance, error, std and the per-repeat drops."""
        frame = pd.DataFrame(
            {"feature": self.features, "importance": self.importance, "error": self.error, "std": self.std}
        )
        for r in range(self.n_repeats):
            frame[f"drop_{r}"] = self.drops[:, r]
        return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)

    def ranking(self) -> list[str]:
        """Feature names, most important first."""
        return list(self.table()["feature"])

    def __getitem__(self, feature: str) -> tuple[float, float]:
        """``(importance, error)`` of one feature."""
        try:
            j = self.features.index(feature)
        except ValueError:
            raise InputError(f"no feature {feature!r}; the features are {list(self.features)}") from None
        return float(self.importance[j]), float(self.error[j])


def as_score_function(model: Any) -> Callable[[Any], np.ndarray]:
    """A function ``X -> score per event`` from a model or a callable.

    sklearn-like models: ``predict_proba(X)[:, 1]``, else ``decision_function``, else ``predict``. A plain
    callable is used as is; a 2-column output (two class probabilities) is reduced to its second column.
    """
    if hasattr(model, "predict_proba"):
        raw = model.predict_proba
    elif hasattr(model, "decision_function"):
        raw = model.decision_function
    elif hasattr(model, "predict"):
        raw = model.predict
    elif callable(model):
        raw = model
    else:
        raise InputError(
            f"cannot score events with a {type(model).__name__}: give a callable X -> score or a model with "
            "predict_proba, decision_function or predict"
        )

    def score(X: Any) -> np.ndarray:
        out = np.asarray(raw(X), dtype=float)
        if out.ndim == 2 and out.shape[1] == 2:
            out = out[:, 1]
        elif out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1:
            raise InputError(f"the model must give one score per event, got output of shape {out.shape}")
        return out

    return score


def _metric_value(metric: Metric, y: Any, score: np.ndarray, weights: np.ndarray) -> float:
    result = metric(y, score, weights)
    value = getattr(result, "value", result)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"the metric must return a float (or an object with .value), got {type(result).__name__}"
        ) from None
    if not np.isfinite(value):
        raise InputError(f"the metric returned {value}; check the labels, weights and metric options")
    return value


def permutation_importance(
    predict: Any,
    X: ArrayLike | pd.DataFrame,
    y: ArrayLike,
    weights: ArrayLike | None = None,
    metric: Metric = weighted_auc,
    *,
    n_repeats: int = 3,
    seed: int = 0,
    feature_names: Sequence[str] | None = None,
    groups: Mapping[str, Sequence[str | int]] | None = None,
    ddof: int = 1,
    progress: bool = False,
) -> PermutationImportance:
    """Drop of ``metric`` when each feature (or group of features) is shuffled across events.

    Parameters
    ----------
    predict
        The trained model: a callable ``X -> score`` or an sklearn-like model (``predict_proba``, ...); see
        :func:`as_score_function`. It receives X in the type it was given (array or DataFrame).
    X
        Evaluation features, shape (events, features); a DataFrame keeps its column names.
    y
        Labels passed to the metric unchanged (0/1, or "S"/"V"/"SVI"/"B2" for the interference metrics).
    weights
        Event weights passed to the metric (negative allowed); 1 if omitted. They stay with their events.
    metric
        ``metric(y, score, weights) -> float``, larger is better. Default: the negative-weight-safe AUC.
    n_repeats
        Shuffles per feature, R (the PermutationImportancePhysics default is 3).
    seed
        Seed of ``numpy.random.default_rng``: the same seed gives the same result.
    feature_names
        Names of the columns of an array X (default ``x0, x1, ...``; a DataFrame uses its columns). They must be
        unique (a DataFrame's columns too): a repeated name raises an InputError.
    groups
        Name -> columns (names or indices) shuffled together with one permutation (correlated features, or
        the components of one object). If given, only these groups are evaluated.
    ddof
        Delta degrees of freedom of the std over repeats (1: the sample std; the PI package used 0).
    progress
        Show a progress bar over features.

    Returns
    -------
    PermutationImportance
        Importance, error and per-repeat drops per feature; ``.table()`` sorts them.
    """
    if not is_whole_number(n_repeats) or n_repeats < 1:
        raise InputError(f"n_repeats must be a positive integer, got {n_repeats!r}")
    if ddof < 0 or ddof >= n_repeats:
        raise InputError(
            f"ddof must be in [0, n_repeats) = [0, {n_repeats}), got {ddof}; use n_repeats >= 2 for an error"
        )
    is_frame = isinstance(X, pd.DataFrame)
    if is_frame:
        data = X.copy()
        names = [str(c) for c in data.columns]
        as_finite_array(data.to_numpy(dtype=float), "X", ndim=2)
    else:
        data = as_finite_array(X, "X", ndim=2).copy()
        names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(data.shape[1])]
        if len(names) != data.shape[1]:
            raise InputError(f"feature_names has {len(names)} names for {data.shape[1]} columns of X")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(
            f"feature names must be unique, but {duplicates} appear more than once"
            f"{' among the columns of X' if is_frame else ''}: a shared name would leave all but one of those "
            "columns never permuted; rename them"
        )
    labels = np.asarray(y)
    n_events = check_same_length(X=np.empty(len(data)), y=labels)
    if n_events < 2:
        raise InputError(f"permutation importance needs at least 2 events, got {n_events}")
    w = np.ones(n_events) if weights is None else as_finite_array(weights, "weights", ndim=1)
    check_same_length(X=np.empty(n_events), weights=w)

    def column_index(key: str | int) -> int:
        if isinstance(key, (int, np.integer)):
            if not 0 <= key < len(names):
                raise InputError(f"column index {key} is out of range for {len(names)} features")
            return int(key)
        if key not in names:
            raise InputError(f"unknown feature {key!r}; the features are {names}")
        return names.index(key)

    if groups is None:
        to_permute = {name: [j] for j, name in enumerate(names)}
    else:
        if not groups:
            raise InputError("groups is empty: give name -> list of columns, or None for every column")
        to_permute = {str(g): [column_index(c) for c in cols] for g, cols in groups.items()}
        if len(to_permute) != len(groups):
            raise InputError(f"group names must stay unique as text, got {list(groups)}: rename the groups")
        empty = [g for g, cols in to_permute.items() if not cols]
        if empty:
            raise InputError(f"groups {empty} list no columns")

    score_of = as_score_function(predict)
    baseline = _metric_value(metric, labels, score_of(data), w)
    rng = np.random.default_rng(seed)
    drops = np.empty((len(to_permute), n_repeats))
    for g, cols in enumerate(tqdm(list(to_permute.values()), desc="permutation importance", disable=not progress)):
        if is_frame:
            saved = data.iloc[:, cols].copy()
        else:
            saved = data[:, cols].copy()
        for r in range(n_repeats):
            perm = rng.permutation(n_events)
            if is_frame:
                data.iloc[:, cols] = saved.to_numpy()[perm]
            else:
                data[:, cols] = saved[perm]
            drops[g, r] = baseline - _metric_value(metric, labels, score_of(data), w)
        if is_frame:
            data.iloc[:, cols] = saved.to_numpy()
        else:
            data[:, cols] = saved
    std = drops.std(axis=1, ddof=ddof)
    return PermutationImportance(
        features=tuple(to_permute),
        importance=drops.mean(axis=1),
        error=std / np.sqrt(n_repeats),
        std=std,
        drops=drops,
        baseline=baseline,
        metric=getattr(metric, "__name__", type(metric).__name__),
        n_repeats=int(n_repeats),
        seed=int(seed),
        ddof=int(ddof),
    )
