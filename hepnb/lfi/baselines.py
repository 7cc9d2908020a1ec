"""The chapter-6 classifier baselines of notebook 03: S-vs-B classifiers histogrammed as binned template fits.

Chapter 6 of the thesis (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, section 6.6) trained
two two-class strategies, :mod:`hepnb.offshell.strategies`: approach 1, the physical VBF sample SVI at mu = 1 against
the background, and approach 2, the unphysical Higgs-only sample S against the background. Notebook 03's samples are
VBF + VBS events only (no qqZZ/ggZZ: the background B is the VBS continuum V = ``w_B``), so the strategies' sample
builder, hard-wired to ``B2 = qqZZ + ggZZ``, is replaced by the small adapter :func:`baseline_training_set`:

========  ============  =================================  =========================================
approach  name          class 1 (weights per event)        class 0
========  ============  =================================  =========================================
1         ``svi_vs_v``  ``w_S + w_I + w_B`` (SVI, mu = 1)  ``w_B`` (V, the background-only weights)
2         ``s_vs_v``    ``w_S`` (S, Higgs only)            ``w_B`` (V)
========  ============  =================================  =========================================

The two classes are the *same events* with different weights (thesis: three generated samples), balanced to the
same total weight. The models are the strategies' own: :func:`hepnb.offshell.strategies.train_gbdt` (sklearn
gradient-boosted trees) and the thesis's 3 x 32 network (:class:`hepnb.offshell.strategies.WeightedBCE`), on the
thesis's 15 chapter-6 features (:data:`hepnb.offshell.features.CH6_FEATURES`, the default; ``"thesis-ch7"`` gives
the 35 observables ALICES sees). Only the training events are used: a seeded event-wise split
(:func:`validation_split`) keeps a validation part that chooses the number of trees (:class:`StagedGBDT`, the trees
up to the best one, read through sklearn's public ``staged_predict_proba``) and the network's epoch; the
evaluation events are scored afterwards (:meth:`Baseline.score`) and histogrammed with 25 equal-population bins
(:func:`hepnb.lfi.study.histogram_scans`), as the notebook's other histograms.

Approach 2's Bayes-optimal output is the ideal classifier ``f_S/(f_S + f_B)`` of
:func:`hepnb.lfi.study.ideal_classifier`; :func:`ideal_correlation` measures how close a trained score comes to it.
:func:`train_baselines` trains the four (two approaches, GBDT and NN), :func:`baseline_scans` gives their scans in
the notebook's ``{name: {(mu_true, include_rate): scan}}`` form and :func:`baseline_table` their training times.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hepnb.errors import InputError, is_whole_number
from hepnb.lfi._baseline_fits import bce, best_iteration, fit_nn
from hepnb.offshell import Events
from hepnb.offshell.features import FEATURE_LISTS, feature_matrix
from hepnb.offshell.strategies.models import GBDTClassifier, thread_limit, train_gbdt
from hepnb.offshell.strategies.samples import TrainingSet
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI

__all__ = [
    "APPROACHES",
    "MODELS",
    "FEATURES",
    "Baseline",
    "StagedGBDT",
    "validation_split",
    "baseline_training_set",
    "train_baseline",
    "train_baselines",
    "baseline_scans",
    "ideal_correlation",
    "baseline_table",
]

#: The chapter-6 approaches without B2: number -> (name, signal components, background components).
APPROACHES: dict[int, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    1: ("svi_vs_v", ("SVI",), ("V",)),
    2: ("s_vs_v", ("S",), ("V",)),
}
#: The models: key -> label in the baseline's name.
MODELS: dict[str, str] = {"gbdt": "GBDT", "nn": "NN"}
#: The default features: the thesis's 15 chapter-6 classifier inputs (Table 6.1).
FEATURES = "thesis-ch6"


@dataclass(frozen=True, eq=False)
class Baseline:
    """A trained chapter-6 classifier: what it is, its training time and its validation history.

    ``best_iteration`` is the number of trees (GBDT) or the epoch (NN, counted from 1) of the smallest validation
    loss, the one kept; ``validation_loss`` is the weighted BCE of the validation events after each tree or epoch.
    ``seconds`` is the wall-clock training time, ``cpu_seconds`` the process's CPU time (with ``threads=1`` the cost
    on one core, whatever else runs on the machine). ``n_train`` and ``n_validation`` count training *events* (each
    enters both classes).
    """

    name: str
    approach: int
    model: str
    classifier: Any
    features: str
    seed: int
    seconds: float
    cpu_seconds: float
    best_iteration: int
    validation_loss: tuple[float, ...]
    n_train: int
    n_validation: int

    def score(self, events: Events) -> np.ndarray:
        """The classifier output (class-1 probability) of every event.

        ``events`` are :class:`hepnb.offshell.Events` (the classifier's features are computed from them); anything
        else raises :class:`InputError`.

        Examples
        --------
        >>> from hepnb.lfi import study
        >>> train, test = study.make_samples(2_000, 1_000, seed=1)
        >>> gbdt = train_baseline(train[:300], 2, "gbdt", max_iter=5)
        >>> p = gbdt.score(test)
        >>> p.shape == (len(test),), bool(((p > 0) & (p < 1)).all())
        (True, True)
        """
        if not isinstance(events, Events):
            raise InputError(
                f"score takes hepnb.offshell Events (e.g. study.make_samples's evaluation sample), got "
                f"{type(events).__name__}: for a feature matrix call baseline.classifier.score(X) instead"
            )
        return np.asarray(self.classifier.score(_features(events, self.features)), dtype=float)


def _check_events(events: Any, name: str) -> Events:
    if not isinstance(events, Events):
        raise InputError(f"{name} must be hepnb.offshell Events (from study.make_samples), got {type(events).__name__}")
    if len(events) < 20:
        raise InputError(f"{name} has {len(events)} events: generate more (at least 20 are needed)")
    if events.meta.get("config", {}).get("process", "vbf") != "vbf":
        raise InputError(f"{name} must be a VBF sample (S, I, B = V weights per event), got {events.meta['config']}")
    return events


def _features(events: Events, features: str) -> np.ndarray:
    if features not in FEATURE_LISTS:
        raise InputError(f"features must be one of {sorted(FEATURE_LISTS)}, got {features!r}")
    return feature_matrix(events.x, features)[0]


def _same_events(a: Events, b: Events) -> bool:
    keys = ("seed", "n_generated", "config")
    return len(a) == len(b) and all(a.meta.get(k) == b.meta.get(k) for k in keys)


def validation_split(n_events: int, validation_fraction: float = 0.25, seed: int = 0) -> np.ndarray:
    """Mask of the validation events: event ``i`` is in it if ``u_i < validation_fraction``.

    ``u`` comes from ``numpy.random.default_rng(seed)``, one number per event, so the split is by event: an event's
    copies in both classes are always on the same side.

    Examples
    --------
    >>> mask = validation_split(1000, 0.25, seed=1)
    >>> mask.dtype.name, 200 < int(mask.sum()) < 300
    ('bool', True)
    """
    if not is_whole_number(n_events) or n_events < 2:
        raise InputError(f"n_events must be an integer >= 2, got {n_events!r}")
    if not 0.0 < validation_fraction < 1.0:
        raise InputError(f"validation_fraction must be in (0, 1), e.g. 0.25, got {validation_fraction!r}")
    mask = np.random.default_rng(seed).random(int(n_events)) < validation_fraction
    if mask.all() or not mask.any():
        raise InputError(f"the split of {n_events} events left one part empty: use more events")
    return mask


def baseline_training_set(events: Events, approach: int, *, features: str = FEATURES) -> TrainingSet:
    """The rows of one approach (the adapter of :meth:`hepnb.offshell.strategies.StrategySamples.training_set`).

    Every event appears once per class with that class's weight (:data:`APPROACHES`); the classes get the same
    total weight and the mean ``|w|`` is 1, as in the strategies (one component per class, so their ``"process"``
    and ``"class"`` balancings agree).

    Examples
    --------
    >>> from hepnb.lfi import study
    >>> train, _ = study.make_samples(2_000, 1_000, seed=1)
    >>> rows = baseline_training_set(train, 2)
    >>> len(rows) == 2 * len(train), sorted(set(rows.component.tolist()))
    (True, ['S', 'V'])
    """
    _check_events(events, "events")
    if approach not in APPROACHES:
        raise InputError(f"approach must be 1 (SVI vs V) or 2 (S vs V), got {approach!r}")
    name, signal, background = APPROACHES[approach]
    w_s, w_i, w_b = events.components()
    raw = {"S": w_s, "V": w_b, "SVI": w_s + w_i + w_b}
    X = _features(events, features)
    rows = [(c, 1) for c in signal] + [(c, 0) for c in background]
    weights = []
    for comp, label in rows:
        total = raw[comp].sum()
        if not total > 0:
            raise InputError(f"component {comp} has total weight {total:g}: nothing to learn from")
        weights.append(raw[comp] / total / sum(1 for r in rows if r[1] == label))
    w = np.concatenate(weights)
    return TrainingSet(
        approach=name,
        weighting="weighted",
        balance="class",
        X=np.concatenate([X] * len(rows)),
        y=np.concatenate([np.full(len(events), label, dtype=np.int8) for _, label in rows]),
        weight=w * len(w) / np.abs(w).sum(),
        raw_weight=np.concatenate([raw[c] for c, _ in rows]),
        component=np.concatenate([np.full(len(events), c) for c, _ in rows]),
        feature_names=tuple(feature_matrix(events.x[:1], features)[1]),
        n_dropped=0,
    )


@dataclass(frozen=True, eq=False)
class StagedGBDT:
    """Gradient-boosted trees used up to their best tree: the first ``n_trees`` trees of ``gbdt``, a longer fit.

    :meth:`score` reads the ``n_trees``-th stage of sklearn's public ``staged_predict_proba``: without early stopping
    it equals a fit with ``max_iter=n_trees`` (same rows and ``random_state``; a test checks it), with no refit and
    no access to sklearn's internals. ``gbdt.model`` keeps all its ``max_iter`` trees: score through this object.

    Examples
    --------
    >>> from hepnb.lfi import study
    >>> from hepnb.offshell.strategies import train_gbdt
    >>> train, _ = study.make_samples(2_000, 1_000, seed=1)
    >>> rows = baseline_training_set(train[:300], 2)
    >>> staged = StagedGBDT(train_gbdt(rows, max_iter=8), n_trees=5)
    >>> bool(np.array_equal(staged.score(rows.X), train_gbdt(rows, max_iter=5).score(rows.X)))
    True
    """

    gbdt: GBDTClassifier
    n_trees: int

    def __post_init__(self) -> None:
        grown = int(self.gbdt.model.n_iter_)
        if not 1 <= self.n_trees <= grown:
            raise InputError(f"n_trees must be between 1 and the {grown} trees grown, got {self.n_trees}")

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The features the trees were trained on, in order."""
        return self.gbdt.feature_names

    def score(self, X: Any) -> np.ndarray:
        """Probability of the signal class per row of the feature matrix ``X``, from the first ``n_trees`` trees."""
        if self.n_trees == int(self.gbdt.model.n_iter_):
            return self.gbdt.score(X)
        with thread_limit(self.gbdt.threads):
            for k, p in enumerate(self.gbdt.model.staged_predict_proba(np.asarray(X, dtype=np.float64)), 1):
                if k == self.n_trees:
                    return p[:, 1]
        raise AssertionError("unreachable: n_trees is checked against the trees grown")  # pragma: no cover

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` class probabilities (sklearn convention)."""
        p = self.score(X)
        return np.stack([1.0 - p, p], axis=1)


def _fit_gbdt(
    training: TrainingSet, validation: TrainingSet, seed: int, threads: int | None, options: dict
) -> tuple[StagedGBDT, int, tuple[float, ...]]:
    """Boost ``max_iter`` trees, read the validation loss after each (``staged_predict_proba``) and keep the trees up
    to the smallest one (:class:`StagedGBDT`)."""
    opts = {"max_iter": 200, "learning_rate": 0.1, **options}
    gbdt = train_gbdt(training, seed=seed, threads=threads, **opts)
    with thread_limit(threads):
        losses = tuple(bce(p[:, 1], validation) for p in gbdt.model.staged_predict_proba(validation.X))
    best = best_iteration(losses, "trees")
    return StagedGBDT(gbdt, best), best, losses


def train_baseline(
    train: Events,
    approach: int,
    model: str,
    *,
    seed: int = 0,
    features: str = FEATURES,
    validation_fraction: float = 0.25,
    threads: int | None = 1,
    **options: Any,
) -> Baseline:
    """Train one chapter-6 classifier on the training events, timed, with its tree count or epoch validated.

    Parameters
    ----------
    train
        The training events (``study.make_samples``'s first sample); never the evaluation events.
    approach
        1 (SVI vs V) or 2 (S vs V), see :data:`APPROACHES`.
    model
        ``"gbdt"`` (:func:`hepnb.offshell.strategies.train_gbdt`, up to ``max_iter=200`` trees, the best number on
        the validation events) or ``"nn"`` (the thesis's 3 x 32 ReLU network, Adam, up to ``epochs=20`` with
        ``batch_size=1024``, the best epoch on the validation events, stopping ``patience=4`` epochs after it).
    seed
        Seeds the validation split, the trees and the network (same seed and ``threads``: same scores).
    features
        ``"thesis-ch6"`` (the 15 chapter-6 inputs) or ``"thesis-ch7"`` (the 35 observables of ALICES).
    validation_fraction
        Fraction of the training events (drawn event by event) held out to choose the trees or the epoch.
    threads
        OpenMP/torch threads (``None``: leave them alone).
    options
        Hyper-parameters of the model (:func:`~hepnb.offshell.strategies.train_gbdt`'s, or ``hidden``, ``epochs``,
        ``batch_size``, ``learning_rate``, ``patience``, ``trainer_options`` for the network).

    Examples
    --------
    >>> from hepnb.lfi import study
    >>> train, test = study.make_samples(4_000, 2_000, seed=1)
    >>> gbdt = train_baseline(train, 2, "gbdt", seed=0, max_iter=20)
    >>> gbdt.name, gbdt.score(test).shape == (len(test),), 1 <= gbdt.best_iteration <= 20
    ('approach 2 GBDT', True, True)
    """
    _check_events(train, "train")
    if model not in MODELS:
        raise InputError(f"model must be one of {list(MODELS)}, got {model!r}")
    if approach not in APPROACHES:
        raise InputError(f"approach must be 1 (SVI vs V) or 2 (S vs V), got {approach!r}")
    start, cpu = time.perf_counter(), time.process_time()
    held_out = validation_split(len(train), validation_fraction, seed)
    training = baseline_training_set(train[np.flatnonzero(~held_out)], approach, features=features)
    validation = baseline_training_set(train[np.flatnonzero(held_out)], approach, features=features)
    fit = _fit_gbdt if model == "gbdt" else fit_nn
    classifier, best, losses = fit(training, validation, int(seed), threads, dict(options))
    return Baseline(
        name=f"approach {approach} {MODELS[model]}",
        approach=int(approach),
        model=model,
        classifier=classifier,
        features=features,
        seed=int(seed),
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - cpu,
        best_iteration=best,
        validation_loss=losses,
        n_train=int((~held_out).sum()),
        n_validation=int(held_out.sum()),
    )


def train_baselines(
    train: Events,
    *,
    seed: int = 0,
    approaches: Iterable[int] = (1, 2),
    models: Iterable[str] = ("gbdt", "nn"),
    **kwargs: Any,
) -> dict[str, Baseline]:
    """:func:`train_baseline` for every approach and model: ``{"approach 1 GBDT": baseline, ...}``.

    ``kwargs`` (``features``, ``validation_fraction``, ``threads``) go to every training; hyper-parameters per
    model as ``gbdt_options`` / ``nn_options`` dicts.

    Examples
    --------
    >>> from hepnb.lfi import study
    >>> train, _ = study.make_samples(2_000, 1_000, seed=1)
    >>> fitted = train_baselines(train[:300], seed=0, models=("gbdt",), gbdt_options={"max_iter": 5})
    >>> sorted(fitted), all(1 <= b.best_iteration <= 5 for b in fitted.values())
    (['approach 1 GBDT', 'approach 2 GBDT'], True)
    """
    per_model = {m: dict(kwargs.pop(f"{m}_options", None) or {}) for m in MODELS}
    out = {}
    for model in models:
        for approach in approaches:
            b = train_baseline(train, approach, model, seed=seed, **kwargs, **per_model.get(model, {}))
            out[b.name] = b
    return out


def baseline_scans(
    baselines: Baseline | Mapping[str, Baseline],
    events: Events,
    mu_trues: Sequence[float],
    *,
    train: Events | None = None,
    bins: int = 25,
    kappa: Any = THESIS_KAPPA_GRID,
    lumi: float = THESIS_LUMI,
) -> dict[str, dict[tuple[float, bool], Any]]:
    """Binned template-fit scans of each baseline's score on the evaluation events, ``{name: {(mu_true,
    include_rate): scan}}`` (:func:`hepnb.lfi.study.histogram_scans`, ``bins`` equal-population bins).

    Pass the training events as ``train`` to have them checked: evaluating on them raises :class:`InputError`.

    Examples
    --------
    >>> from hepnb.lfi import study
    >>> train, test = study.make_samples(4_000, 2_000, seed=1)
    >>> gbdt = train_baseline(train, 2, "gbdt", seed=0, max_iter=20)
    >>> scans = baseline_scans(gbdt, test, [1.0], train=train)
    >>> sorted(scans["approach 2 GBDT"])
    [(1.0, False), (1.0, True)]
    """
    from hepnb.lfi.scans import histogram_scans

    _check_events(events, "events")
    if train is not None and _same_events(_check_events(train, "train"), events):
        raise InputError("the evaluation events are the training events: score the independent evaluation sample")
    items = {baselines.name: baselines} if isinstance(baselines, Baseline) else dict(baselines)
    if not items or not all(isinstance(b, Baseline) for b in items.values()):
        raise InputError("baselines must be a Baseline or a non-empty {name: Baseline} dict (from train_baselines)")
    return {
        name: histogram_scans(b.score(events), events, mu_trues, method=name, bins=bins, kappa=kappa, lumi=lumi)
        for name, b in items.items()
    }


def ideal_correlation(score: Any, events: Events) -> float:
    """SM-weighted correlation of a score's log-odds with the ideal classifier's, ``log(f_S/f_B)`` (the oracle's).

    1 for any calibrated S-vs-B classifier on balanced classes (its log-odds is ``log(f_S/f_B)`` plus a constant);
    approach 1 learns ``log(f_SVI/f_B)`` instead, a different function of ``x``. ``detector="none"`` only.

    Examples
    --------
    >>> from hepnb.lfi import study
    >>> _, test = study.make_samples(1_000, 2_000, seed=1)
    >>> round(ideal_correlation(study.ideal_classifier(test), test), 9)
    1.0
    """
    from hepnb.offshell import oracle_components

    _check_events(events, "events")
    s = np.asarray(score, dtype=float)
    if s.shape != (len(events),) or not np.all((s >= 0) & (s <= 1)):
        raise InputError(f"score must be {len(events)} probabilities in [0, 1], got shape {s.shape}")
    s = np.clip(s, 1e-12, 1 - 1e-12)
    comp = oracle_components(events)
    a, b = np.log(s / (1 - s)), np.log(comp["f_S"] / comp["f_B"])
    c = np.cov(a, b, aweights=events.weight(1.0))
    return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))


def baseline_table(baselines: Mapping[str, Baseline], events: Events | None = None) -> pd.DataFrame:
    """Training seconds, kept trees/epoch, events and (with ``events``) :func:`ideal_correlation` per baseline.

    Examples
    --------
    >>> from hepnb.lfi import study
    >>> train, test = study.make_samples(2_000, 1_000, seed=1)
    >>> fitted = train_baselines(train[:300], approaches=(2,), models=("gbdt",), gbdt_options={"max_iter": 5})
    >>> table = baseline_table(fitted, test)
    >>> table.index.tolist(), int(table["training events"].iloc[0] + table["validation events"].iloc[0])
    (['approach 2 GBDT'], 300)
    >>> list(table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['features', 'training s', 'training CPU s', 'trees / epoch kept', 'training events', 'validation events',
     'corr. with ideal log-odds']
    """
    rows = {}
    for name, b in baselines.items():
        rows[name] = {
            "features": b.features,
            "training s": b.seconds,
            "training CPU s": b.cpu_seconds,
            "trees / epoch kept": b.best_iteration,
            "training events": b.n_train,
            "validation events": b.n_validation,
        }
        if events is not None:
            rows[name]["corr. with ideal log-odds"] = ideal_correlation(b.score(events), events)
    return pd.DataFrame(rows).T
