"""Scan lambda for every decorrelation method over several training seeds, and read off the Pareto front.

Each training runs through ``hepnb.training.fit`` into its own epoch archive under a run folder (checkpoints every
epoch, the validation metrics of :func:`hepnb.decorrelation.data.epoch_metrics` every epoch), so a scan that is
run again, or killed and restarted, trains only what is missing. The epoch of each training is picked on the
validation split by the flatness of the fixed-signal-efficiency thresholds (A. Ghosh, PhD thesis, Universite
Paris-Saclay 2020, section 8.1.3: train on until the threshold curve is flat; automated here as the flattest epoch
among those whose validation AUC is within ``auc_tolerance`` of the training's best, so that a collapsed, constant
score does not count as flat). The picked model is evaluated on the test split: R50 and 1/JSD50 (DisCo,
arXiv:2001.05310; MoDe, arXiv:2010.09745), the flatness at 80 % and 90 % signal efficiency, the background distance
correlation, the AUC and the Asimov significance of the physical test yields.

Methods (:data:`METHODS`): ``plain``, ``pivot`` (mixture-density adversary; ``pivot_binned``,
``pivot_regression``: Louppe, Kagan, Cranmer, arXiv:1611.01046 and Shimmin et al., arXiv:1703.03507),
``aspiration`` (thesis section 8.1.3), ``aspiration_conditional`` (shuffled within each background component),
``disco`` and ``mode0``, ``mode1`` (MoDe[n]). The hardware is the caller's: ``trainer_options`` (``accelerator``,
``devices``, ``strategy``; the default is the CPU) go through :func:`hepnb.training.fit` to
:func:`hepnb.training.trainer`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hepnb.decorrelation import models
from hepnb.decorrelation.data import epoch_metrics
from hepnb.decorrelation.datasets import DecorrelationDataset, Split
from hepnb.errors import InputError
from hepnb.io import write_json
from hepnb.metrics.decorrelation import background_jsd, background_rejection, efficiency_thresholds, quantile_edges
from hepnb.metrics.distance_correlation import distance_correlation
from hepnb.metrics.thresholds import best_threshold_significance
from hepnb.metrics.weighted import weighted_auc
from hepnb.training import EpochArchive, fit

__all__ = [
    "METHODS",
    "METRICS",
    "Training",
    "build_model",
    "train",
    "mean_flatness",
    "pick_epoch",
    "evaluate",
    "lambda_scan",
    "summarise",
    "pareto_front",
    "r50_at",
    "front_ratio",
]

#: Method name -> what it is.
METHODS: dict[str, str] = {
    "plain": "the plain classifier (no decorrelation; lambda ignored)",
    "pivot": "Pivot, mixture-density adversary predicting m from the score (arXiv:1611.01046)",
    "pivot_binned": "Pivot, adversary classifying the mass bin (arXiv:1703.03507)",
    "pivot_regression": "Pivot, adversary regressing m (MSE)",
    "aspiration": "the aspiration network: real (score, m) against shuffled pairs (thesis section 8.1.3)",
    "aspiration_conditional": "the aspiration network, shuffled within each background component",
    "disco": "DisCo: + lambda dCorr^2(score, m) on the background (arXiv:2001.05310)",
    "mode0": "MoDe[0]: flat background efficiency in m (arXiv:2010.09745)",
    "mode1": "MoDe[1]: linear background efficiency in m (arXiv:2010.09745)",
}
#: Test metrics of each training (columns of :func:`lambda_scan`'s table).
METRICS = (
    "r50",
    "inv_jsd50",
    "flatness_80",
    "flatness_90",
    "dcorr",
    "auc",
    "significance",
    "significance_at",
    "train_seconds",
)
_ADVERSARIAL = ("pivot", "pivot_binned", "pivot_regression", "aspiration", "aspiration_conditional")


@dataclass(frozen=True)
class Training:
    """One finished training: its archive, the picked epoch and the wall time it took (None if unknown)."""

    archive: EpochArchive
    epoch: int
    seconds: float | None

    def model(self) -> Any:
        """The model at the picked epoch."""
        return self.archive.load(self.epoch)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose out of {sorted(METHODS)}")


def build_model(method: str, dataset: DecorrelationDataset, lam: float, *, n_protected: int = 1, **options: Any) -> Any:
    """A fresh LightningModule of ``method`` for ``dataset`` (``options`` go to its constructor)."""
    _check_method(method)
    if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam >= 0):
        raise InputError(f"lambda must be a finite number >= 0, got {lam!r}")
    if not 1 <= n_protected <= dataset.n_protected:
        raise InputError(f"n_protected must be 1 to {dataset.n_protected}, got {n_protected}")
    n = dataset.n_features
    if n_protected > 1 and method not in ("plain", "disco", "aspiration", "aspiration_conditional"):
        raise InputError(f"{method} takes one protected variable; several go to 'aspiration' or 'disco'")
    if method == "plain":
        return models.Classifier(n, **options)
    if method.startswith("pivot"):
        kind = {"pivot": "mdn", "pivot_binned": "binned", "pivot_regression": "regression"}[method]
        edges = None
        if kind == "binned":
            edges = [float(e) for e in quantile_edges(dataset.train.m, 10)]
        return models.PivotClassifier(n, adversary=kind, lam=float(lam), mass_edges=edges, **options)
    if method.startswith("aspiration"):
        conditional = method == "aspiration_conditional"
        return models.AspirationNetwork(
            n,
            lam=float(lam),
            n_protected=n_protected,
            conditional=conditional,
            n_components=dataset.n_components if conditional else 1,
            **options,
        )
    if method == "disco":
        return models.DiscoClassifier(n, lam=float(lam), n_protected=n_protected, **options)
    return models.ModeClassifier(n, lam=float(lam), order=int(method[-1]), **options)


def _dataset_key(dataset: DecorrelationDataset) -> str:
    """A short name of the dataset's identity (its construction record and feature list) for run folders."""
    text = json.dumps(
        {"meta": dataset.meta, "features": dataset.feature_names, "protected": dataset.protected_names},
        sort_keys=True,
        default=str,
    )
    return f"{dataset.name}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _steps_tag(trainer_options: Mapping[str, Any]) -> str:
    """``-s<n>`` for a training whose epochs are ``limit_train_batches = n`` batches (another archive), else ``""``."""
    limit = trainer_options.get("limit_train_batches")
    return "" if limit is None else f"-s{float(limit):g}"


def _validation_metrics(dataset: DecorrelationDataset) -> Any:
    v = dataset.validation
    return epoch_metrics(v.features, v.labels, v.m, v.physical_weights, bins=10)


def train(
    dataset: DecorrelationDataset,
    method: str,
    lam: float,
    seed: int,
    folder: str | os.PathLike[str],
    *,
    max_epochs: int = 10,
    batch_size: int = 128,
    n_protected: int = 1,
    pick: str = "flatness",
    auc_tolerance: float = 0.01,
    progress: bool = False,
    model_options: Mapping[str, Any] | None = None,
    **trainer_options: Any,
) -> Training:
    """Train (or resume, or just read) one method at one lambda and seed; pick its epoch on the validation split.

    The archive lives in
    ``folder/<dataset key>/<method>[-p<n>][-o<options hash>]/lam<lambda>-seed<seed>-b<batch>[-s<n>]`` (the hash of
    ``model_options``, if any; ``-s<n>`` for epochs of ``limit_train_batches=n`` batches, a trainer option); the wall
    time of the training is kept next to it (``timing.json``: for epochs of a few batches it also adds up the start-up
    of every resumed call, and counts those short epochs).
    """
    _check_method(method)
    options = dict(model_options or {})
    tag = ""
    if options:  # other hyper-parameters, another archive
        text = json.dumps(options, sort_keys=True, default=str)
        tag = "-o" + hashlib.sha256(text.encode()).hexdigest()[:8]
    path = (
        Path(folder)
        / _dataset_key(dataset)
        / (method + (f"-p{n_protected}" if n_protected > 1 else "") + tag)
        / f"lam{float(lam):g}-seed{seed}-b{batch_size}{_steps_tag(trainer_options)}"
    )
    archive = EpochArchive(path)
    conditional = method == "aspiration_conditional"
    before = archive.last_epoch or 0
    start = time.perf_counter()
    fit(
        lambda: build_model(method, dataset, lam, n_protected=n_protected, **options),
        dataset.train.datamodule(batch_size=batch_size, protected=n_protected, conditional=conditional),
        archive,
        max_epochs=max_epochs,
        seed=seed,
        metrics=_validation_metrics(dataset),
        progress=progress,
        **trainer_options,
    )
    seconds = time.perf_counter() - start
    timing = path / "timing.json"
    if (archive.last_epoch or 0) > before:
        old = json.loads(timing.read_text()) if timing.is_file() and before else {"seconds": 0.0}
        write_json(timing, {"seconds": old["seconds"] + seconds, "epochs": archive.last_epoch})
    recorded = json.loads(timing.read_text())["seconds"] if timing.is_file() else None
    history = archive.history
    history = history[history.index <= max_epochs]
    return Training(archive, pick_epoch(history, rule=pick, auc_tolerance=auc_tolerance), recorded)


def mean_flatness(history: pd.DataFrame) -> pd.Series:
    """The flatness an epoch is picked on: the mean of ``flatness_80`` and ``flatness_90`` (score units).

    Parameters
    ----------
    history
        Per-epoch metrics with the columns ``flatness_80`` and ``flatness_90``
        (:func:`hepnb.decorrelation.data.epoch_metrics`).

    Returns
    -------
    pandas.Series
        One value per row; NaN where either flatness is undefined.

    Examples
    --------
    >>> mean_flatness(pd.DataFrame({"flatness_80": [0.02, 0.01], "flatness_90": [0.04, np.nan]})).round(3).tolist()
    [0.03, nan]
    """
    return history[["flatness_80", "flatness_90"]].astype(float).mean(axis=1, skipna=False)


def pick_epoch(history: pd.DataFrame, *, rule: str = "flatness", auc_tolerance: float = 0.01) -> int:
    """The epoch a training is evaluated at, from its validation history (one row per epoch, the epoch a column
    or the index as in ``EpochArchive.history``).

    ``"flatness"``: the smallest :func:`mean_flatness` among the epochs whose AUC is within ``auc_tolerance`` of
    the best AUC of the training, ties to the later epoch (the automatic rule of
    :func:`hepnb.decorrelation.picking.flatness_picker`), or the best AUC where no such epoch has a defined
    flatness; ``"auc"``: the best AUC; ``"last"``: the last epoch.

    Examples
    --------
    >>> history = pd.DataFrame({"epoch": [1, 2, 3], "auc": [0.80, 0.90, 0.895],
    ...                         "flatness_80": [0.01, 0.05, 0.02], "flatness_90": [0.01, 0.05, 0.02]})
    >>> pick_epoch(history), pick_epoch(history, rule="auc"), pick_epoch(history, rule="last")
    (3, 2, 3)
    """
    if rule not in ("flatness", "auc", "last"):
        raise InputError(f"rule must be 'flatness', 'auc' or 'last', got {rule!r}")
    if len(history) == 0:
        raise InputError("the training history is empty: nothing to pick")
    if "epoch" not in history.columns:  # an EpochArchive.history, indexed by epoch
        history = history.reset_index()
    if rule == "last":
        return int(history["epoch"].iloc[-1])
    auc = history["auc"].astype(float)
    if auc.isna().all():
        raise InputError("the training history has no AUC (all NaN): pick by rule='last', or record the AUC")
    if rule == "auc":
        return int(history["epoch"].iloc[int(np.nanargmax(auc.to_numpy()))])
    flat = mean_flatness(history).to_numpy()
    usable = (auc.to_numpy() >= np.nanmax(auc.to_numpy()) - auc_tolerance) & np.isfinite(flat)
    if not usable.any():
        return int(history["epoch"].iloc[int(np.nanargmax(auc.to_numpy()))])
    epochs = history["epoch"].to_numpy()
    return int(epochs[usable & (flat == np.min(flat[usable]))].max())  # ties: the later epoch


def _or_nan(compute: Any) -> float:
    try:
        return float(compute())
    except InputError:
        return float("nan")


def evaluate(
    score: np.ndarray,
    split: Split,
    *,
    jsd_bins: int = 50,
    threshold: float = 0.9,
    min_events: int = 20,
    bins: int = 10,
    max_dcorr_events: int = 20_000,
) -> dict[str, float]:
    """The test metrics of one score (see :data:`METRICS`; ``train_seconds`` excepted).

    ``significance`` is the Asimov Z of the physical yields above the best threshold of ``linspace(0.2, 1, 30)``
    with at least ``min_events`` events of each class; ``significance_at`` the Asimov Z above ``threshold`` (the
    thesis quotes Z at 0.9). Flatness: 10 equal-population bins of the signal's protected variable.
    """
    y, w, m = split.labels, split.physical_weights, split.m
    signal = y == 1
    edges = quantile_edges(m[signal], bins, np.abs(w[signal]))
    curves = efficiency_thresholds(score, m, y, w, bins=edges, on="signal", min_events=min_events)
    background = np.flatnonzero(y == 0)[:max_dcorr_events]
    scan = _or_nan(lambda: best_threshold_significance(y, score, w, min_events=min_events).value)
    return {
        "r50": _or_nan(lambda: background_rejection(y, score, w).value),
        "inv_jsd50": _or_nan(lambda: background_jsd(y, score, m, w, bins=jsd_bins).inverse),
        "flatness_80": _or_nan(lambda: curves.flatness(0.8).value),
        "flatness_90": _or_nan(lambda: curves.flatness(0.9).value),
        "dcorr": _or_nan(
            lambda: distance_correlation(score[background], m[background], w[background], jackknife_groups=0).value
        ),
        "auc": float(weighted_auc(y, score, w)),
        "significance": scan,
        "significance_at": _or_nan(lambda: best_threshold_significance(y, score, w, thresholds=[threshold]).value),
    }


def lambda_scan(
    dataset: DecorrelationDataset,
    lambdas: Mapping[str, Sequence[float]],
    seeds: Sequence[int],
    folder: str | os.PathLike[str],
    *,
    max_epochs: int = 10,
    batch_size: int = 128,
    n_protected: int = 1,
    pick: str = "flatness",
    auc_tolerance: float = 0.01,
    threshold: float = 0.9,
    min_events: int = 20,
    progress: bool = True,
    model_options: Mapping[str, Any] | None = None,
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
    **trainer_options: Any,
) -> pd.DataFrame:
    """Train every ``method`` at every lambda of ``lambdas[method]`` with every seed; one row per training.

    Columns: ``method``, ``lam``, ``seed``, ``epoch`` (picked), then :data:`METRICS` on the test split. Trainings
    already in ``folder`` are read, not repeated. ``plain`` ignores lambda (give it ``[0]``). ``model_options`` go to
    every model's constructor, ``method_options[method]`` (e.g. ``{"aspiration": {"adversary_steps": 5}}``) to that
    method's only, on top.
    """
    method_options = dict(method_options or {})
    unknown = set(method_options) - set(lambdas)
    if unknown:
        raise InputError(f"method_options names methods that are not scanned: {sorted(unknown)}")
    if not lambdas:
        raise InputError("lambdas is empty: give {method: [lambda, ...]}")
    for method, values in lambdas.items():
        _check_method(method)
        if len(values) == 0:
            raise InputError(f"no lambda given for {method}")
    if len(seeds) == 0 or len(set(seeds)) != len(seeds):
        raise InputError(f"seeds must be distinct and at least one, got {tuple(seeds)}")
    jobs = [(method, float(lam), int(seed)) for method, values in lambdas.items() for lam in values for seed in seeds]
    rows = []
    for method, lam, seed in tqdm(jobs, desc=f"{dataset.name} scan", unit="training", disable=not progress):
        done = train(
            dataset,
            method,
            lam,
            seed,
            folder,
            max_epochs=max_epochs,
            batch_size=batch_size,
            n_protected=n_protected,
            pick=pick,
            auc_tolerance=auc_tolerance,
            progress=False,
            model_options={**(model_options or {}), **method_options.get(method, {})},
            **trainer_options,
        )
        score = done.model().predict(dataset.test.features)
        metrics = evaluate(score, dataset.test, jsd_bins=dataset.jsd_bins, threshold=threshold, min_events=min_events)
        rows.append(
            {
                "method": method,
                "lam": lam,
                "seed": seed,
                "epoch": done.epoch,
                **metrics,
                "train_seconds": float("nan") if done.seconds is None else done.seconds,
            }
        )
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each metric, per method and lambda.

    Columns ``<metric>`` (mean) and ``<metric>_std`` (sample standard deviation, NaN for one seed) plus
    ``n_seeds``; the index is (method, lam).
    """
    missing = {"method", "lam", "seed"} - set(table.columns)
    if missing:
        raise InputError(f"the table lacks the columns {sorted(missing)}: pass lambda_scan's output")
    metrics = [c for c in METRICS if c in table.columns]
    grouped = table.groupby(["method", "lam"], sort=False)[metrics]
    out = grouped.mean().join(grouped.std().add_suffix("_std"))
    out["n_seeds"] = table.groupby(["method", "lam"], sort=False)["seed"].nunique()
    return out


def pareto_front(summary: pd.DataFrame, x: str = "inv_jsd50", y: str = "r50") -> pd.DataFrame:
    """The rows of ``summary`` not dominated in (x, y), both larger-is-better, sorted by x.

    Examples
    --------
    >>> points = pd.DataFrame({"inv_jsd50": [10, 20, 30, 15], "r50": [9, 8, 2, 5]})
    >>> pareto_front(points)["r50"].tolist()
    [9, 8, 2]
    """
    for column in (x, y):
        if column not in summary.columns:
            raise InputError(f"no column {column!r} in the summary (columns: {list(summary.columns)})")
    points = summary[np.isfinite(summary[x].astype(float)) & np.isfinite(summary[y].astype(float))]
    points = points.sort_values([x, y], ascending=[False, False], kind="stable")
    best, keep = -np.inf, []
    for value in points[y].astype(float):
        keep.append(value > best)
        best = max(best, value)
    return points[np.array(keep, dtype=bool)].iloc[::-1]


def r50_at(summary: pd.DataFrame, method: str, min_inv_jsd: float) -> float:
    """The largest mean R50 of ``method`` among its lambdas with mean 1/JSD50 >= ``min_inv_jsd`` (NaN if none)."""
    rows = summary.xs(method, level="method") if isinstance(summary.index, pd.MultiIndex) else summary
    rows = rows[rows["inv_jsd50"] >= min_inv_jsd]
    return float(rows["r50"].max()) if len(rows) else float("nan")


def front_ratio(summary: pd.DataFrame, method: str, reference: str) -> pd.DataFrame:
    """Along ``reference``'s Pareto front: at each of its points, ``method``'s best R50 at a 1/JSD50 at least as
    large, and the ratio to the reference's R50 (>= 1 where ``method``'s front lies at or above)."""
    front = pareto_front(summary.xs(reference, level="method"))
    rows = [
        {"inv_jsd50": float(j), "r50_reference": float(r), "r50_method": r50_at(summary, method, float(j))}
        for j, r in zip(front["inv_jsd50"], front["r50"])
    ]
    table = pd.DataFrame(rows)
    table["ratio"] = table["r50_method"] / table["r50_reference"]
    return table
