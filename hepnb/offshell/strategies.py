"""Chapter 6 classifier strategies for the off-shell VBF H* -> ZZ -> 4l search with interference (thesis section 6.6).

With interference the only physical VBF sample is SVI (``w_S + w_I + w_B`` at mu = 1); "signal" events do not
exist, so a classifier has no natural labels. Chapter 6 of the thesis tried two two-class strategies:

- **approach 1** (``"svi_vs_b2"``, "original"): the physical VBF SVI sample against ``B2 = qqZZ + ggZZ``;
- **approach 2** (``"s_vs_vb2"``, "alternate"): the *unphysical* Higgs-only sample S against VBS-only V plus B2.

Both are judged on the same physical test events with the interference significance
``iZ = (S + SVI - V)/(2 sqrt(SVI + B2)) = 1/sigma_mu`` (thesis eq 4.44) of the events above a score threshold, with
its MC statistical error; approach 2 wins (thesis Fig 6.10: 0.142 +- 0.049 against 0.035 +- 0.012).

How the samples are used
------------------------
The simulator gives every VBF event its three weight components, so the S, V and SVI "samples" are the *same*
events with weights ``w_S``, ``w_B`` and ``w_S + w_I + w_B`` (the thesis had three independently generated samples).
Consequences, all handled here:

- the train/test split is by event: an event's S, V and SVI copies are always on the same side;
- the VBF weights are exact and non-negative: they always enter the training as they are (S and V differ *only*
  by their weights, so dropping them would make approach 2 meaningless);
- ``S + SVI - V = sum(2 w_S + w_I)`` event by event, so the iZ numerator has no cancellation between samples; its MC
  error is propagated with the correlations of the shared events (``errors="correlated"``, the default; the
  thesis's independent-sample formula ``errors="independent"`` overestimates it).

Event weights in training (the "sample-weights conundrum", thesis section 6.6.5)
--------------------------------------------------------------------------------
The weight policies of :data:`WEIGHTINGS` act on the non-interfering backgrounds (qqZZ, ggZZ), where MC samples
carry zero weights (33% of the thesis's qqZZ) and negative-weight pockets (:func:`hepnb.offshell.generate` with
``zero_weight_fraction`` / ``negative_pocket``). What each model does with the weights it is given:

- zero weights contribute nothing to either loss (an event of weight 0 is a wasted event: it shrinks the
  effective training sample, Kish ``N_eff = (sum w)^2/sum w^2``);
- negative weights are passed on unchanged with ``"weighted"``: sklearn's gradient boosting accepts them and, as in
  the thesis, "works in reverse" on them (its gradients and hessians flip sign: a pocket of negative background
  weight is learnt as signal-like); the weighted BCE of the network is unbounded below there;
- ``"abs"``, ``"drop_negative"``, ``"drop_nonpositive"`` and ``"unweighted"`` are the explicit alternatives.

After the policy the classes are balanced (``balance="process"``: every component of a class gets the same total
weight and the classes the same total, the thesis's second prescription; ``"class"``: the components keep their
physical proportions; ``"none"``). Evaluation always uses the physical (clean) weights of the test events.

Quick start
-----------
>>> from hepnb import offshell as osh
>>> from hepnb.offshell import strategies as st
>>> samples = st.make_samples(osh.generate(150_000, 1), osh.generate(200_000, 1, "qqzz"),
...                           osh.generate(200_000, 1, "ggzz"), seed=0)                     # doctest: +SKIP
>>> gbdt = st.train_gbdt(samples.training_set("s_vs_vb2"), seed=0)                          # doctest: +SKIP
>>> st.evaluate(gbdt, samples).scan.value                                                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from hepnb.errors import InputError, as_finite_array
from hepnb.metrics.counting import Yield, asimov_z, iz_asymptotic, iz_from_samples, s_over_sqrt_b
from hepnb.metrics.importance import PermutationImportance, permutation_importance
from hepnb.metrics.thresholds import ThresholdScan, best_threshold_significance
from hepnb.metrics.weighted import effective_sample_size, weighted_auc
from hepnb.offshell.events import Events
from hepnb.offshell.features import feature_matrix
from hepnb.offshell.generator import PROCESSES
from hepnb.stats.yields import degenerate_mu

__all__ = [
    "APPROACHES",
    "WEIGHTINGS",
    "BALANCES",
    "DEFAULT_THRESHOLDS",
    "StrategySamples",
    "TrainingSet",
    "EvaluationSet",
    "GBDTClassifier",
    "MLPClassifier",
    "StrategyResult",
    "WeightStudy",
    "make_samples",
    "approach_name",
    "train_gbdt",
    "train_mlp",
    "train",
    "iz_scan",
    "iz_metric",
    "evaluate",
    "feature_importance",
    "importance_table",
    "weight_summary",
    "weight_study",
    "counting_metrics",
]

#: The two chapter-6 strategies: name -> (signal components, background components, description).
APPROACHES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "svi_vs_b2": (("SVI",), ("qqzz", "ggzz"), "approach 1: VBF SVI (physical) vs B2 = qqZZ + ggZZ"),
    "s_vs_vb2": (("S",), ("V", "qqzz", "ggzz"), "approach 2: S (Higgs only, unphysical) vs V (VBS only) + B2"),
}

#: Training-weight policies for the non-interfering backgrounds (qqZZ, ggZZ); the VBF weights stay physical.
WEIGHTINGS: dict[str, str] = {
    "weighted": "the MC weights as they are (zeros add nothing, negatives pull the model the other way)",
    "abs": "|w|: negative weights made positive",
    "drop_negative": "events with w < 0 removed (zeros kept, they add nothing)",
    "drop_nonpositive": "events with w <= 0 removed",
    "unweighted": "every background event weight 1 (zero-weight events used again; the MC weights ignored)",
}

#: Class-balancing prescriptions applied after the weight policy.
BALANCES: dict[str, str] = {
    "process": "each component of a class the same total, both classes the same total (thesis prescription 2)",
    "class": "both classes the same total, components in their physical proportions",
    "none": "the weights after the policy, scaled to mean 1",
}

#: Score thresholds of the iZ scans (the scores of both models are probabilities in [0, 1]).
DEFAULT_THRESHOLDS: np.ndarray = np.round(np.arange(0.0, 1.0, 0.01), 2)

_VBF, _QQ, _GG = PROCESSES["vbf"], PROCESSES["qqzz"], PROCESSES["ggzz"]
_B2_CODES = {"qqzz": _QQ, "ggzz": _GG}


def approach_name(approach: str | int) -> str:
    """Canonical approach name: ``1``/``"svi_vs_b2"`` or ``2``/``"s_vs_vb2"``."""
    aliases = {1: "svi_vs_b2", 2: "s_vs_vb2"}
    if isinstance(approach, (int, np.integer)) and not isinstance(approach, bool) and int(approach) in aliases:
        return aliases[int(approach)]
    if isinstance(approach, str) and approach in APPROACHES:
        return approach
    raise InputError(f"approach must be 1, 2 or one of {sorted(APPROACHES)}, got {approach!r}")


# ----------------------------------------------------------------------------------------------------------------
# samples, training sets, evaluation sets
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TrainingSet:
    """Rows to train one strategy on: features, 0/1 labels and training weights (mean 1 after balancing).

    ``component`` names each row's origin (``"S"``, ``"V"``, ``"SVI"``, ``"qqzz"``, ``"ggzz"``); ``raw_weight`` is the
    MC weight the policy started from; ``n_dropped`` counts the background events the policy removed.
    """

    approach: str
    weighting: str
    balance: str
    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    raw_weight: np.ndarray
    component: np.ndarray
    feature_names: tuple[str, ...]
    n_dropped: int

    def __len__(self) -> int:
        return len(self.y)

    def summary(self) -> pd.DataFrame:
        """Per component: rows, summed training weight, zero and negative raw weights, Kish N_eff of the raw weights."""
        rows = []
        for name in dict.fromkeys(self.component.tolist()):
            mask = self.component == name
            raw = self.raw_weight[mask]
            neff = effective_sample_size(raw) if np.any(raw != 0) else 0.0
            rows.append({"component": name, "class": int(self.y[mask][0]), "events": int(mask.sum()),
                         "training weight": float(self.weight[mask].sum()), "zero weights": int((raw == 0).sum()),
                         "negative weights": int((raw < 0).sum()), "N_eff (raw)": neff})
        return pd.DataFrame(rows).set_index("component")


@dataclass(frozen=True, eq=False)
class EvaluationSet:
    """Physical events of one side of the split, weighted to the full luminosity.

    One row per event: ``X``, ``process`` (0 vbf, 1 qqzz, 2 ggzz) and the clean weight components ``w_S, w_I, w_B``
    (``w_B`` is V for VBF and the background weight for qqZZ/ggZZ) divided by the fraction of events on this side.
    ``w_B_training`` holds the background weights the training used (pathological ones, if any).
    """

    X: np.ndarray
    process: np.ndarray
    w_S: np.ndarray
    w_I: np.ndarray
    w_B: np.ndarray
    w_B_training: np.ndarray
    feature_names: tuple[str, ...]
    part: str

    def __len__(self) -> int:
        return len(self.process)

    @property
    def is_vbf(self) -> np.ndarray:
        """Mask of the VBF events."""
        return self.process == _VBF

    @property
    def w_SVI(self) -> np.ndarray:
        """The physical VBF weight at mu = 1 (0 for the backgrounds)."""
        return np.where(self.is_vbf, self.w_S + self.w_I + self.w_B, 0.0)

    def yields(self) -> dict[str, Yield]:
        """S, V, SVI and B2 yields (expected events) with MC errors."""
        vbf = self.is_vbf
        out = {}
        for name, w in (("S", self.w_S[vbf]), ("V", self.w_B[vbf]), ("SVI", self.w_SVI[vbf]), ("B2", self.w_B[~vbf])):
            out[name] = Yield(float(w.sum()), float(np.sqrt((w**2).sum())), int(len(w)))
        return out

    def components(self, score: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Labels ``S/V/SVI/B2``, weights and (if given) scores in the form :func:`best_threshold_significance` takes.

        Every VBF event appears three times (as S, V and SVI with its three weights), every background event once.
        """
        vbf = self.is_vbf
        n_vbf = int(vbf.sum())
        labels = np.concatenate([np.repeat(["S", "V", "SVI"], n_vbf), np.full(int((~vbf).sum()), "B2")])
        weights = np.concatenate([self.w_S[vbf], self.w_B[vbf], self.w_SVI[vbf], self.w_B[~vbf]])
        if score is None:
            return labels, weights, None
        s = as_finite_array(score, "score", ndim=1)
        if len(s) != len(self):
            raise InputError(f"score has {len(s)} entries for {len(self)} events of the evaluation set")
        return labels, weights, np.concatenate([s[vbf], s[vbf], s[vbf], s[~vbf]])

    def auc_inputs(self, approach: str | int = "svi_vs_b2") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels, weights and row index for the weighted AUC of an approach's own classes.

        ``"svi_vs_b2"``: SVI (1) vs B2 (0), one row per event. ``"s_vs_vb2"``: S (1) vs V + B2 (0), VBF events twice.
        The index maps rows back to events (to pick their scores).
        """
        name = approach_name(approach)
        vbf = np.flatnonzero(self.is_vbf)
        bkg = np.flatnonzero(~self.is_vbf)
        if name == "svi_vs_b2":
            index = np.concatenate([vbf, bkg])
            y = np.concatenate([np.ones(len(vbf)), np.zeros(len(bkg))])
            w = np.concatenate([self.w_SVI[vbf], self.w_B[bkg]])
        else:
            index = np.concatenate([vbf, vbf, bkg])
            y = np.concatenate([np.ones(len(vbf)), np.zeros(len(vbf) + len(bkg))])
            w = np.concatenate([self.w_S[vbf], self.w_B[vbf], self.w_B[bkg]])
        return y, w, index


@dataclass(frozen=True, eq=False)
class StrategySamples:
    """VBF (SVI with its S, I, V components), qqZZ and ggZZ events as ch6 features, split into train and test.

    Build with :func:`make_samples`. One row per selected event of the three processes; ``train`` says on which side
    of the split it is (a VBF event's S, V and SVI copies are always together).
    """

    X: np.ndarray
    process: np.ndarray
    event: np.ndarray
    w_S: np.ndarray
    w_I: np.ndarray
    w_B: np.ndarray
    w_B_training: np.ndarray
    train: np.ndarray
    feature_names: tuple[str, ...]
    test_fraction: float
    seed: int
    lumi: float

    def __len__(self) -> int:
        return len(self.process)

    def counts(self) -> pd.DataFrame:
        """Events per process on each side of the split."""
        rows = {}
        for name, code in PROCESSES.items():
            mask = self.process == code
            rows[name] = {"train": int((mask & self.train).sum()), "test": int((mask & ~self.train).sum())}
        return pd.DataFrame(rows).T

    def training_set(
        self,
        approach: str | int,
        weighting: str = "weighted",
        balance: Literal["process", "class", "none"] = "process",
    ) -> TrainingSet:
        """Rows, labels and training weights of one strategy on the training side.

        Parameters
        ----------
        approach
            ``"svi_vs_b2"`` (1) or ``"s_vs_vb2"`` (2), see :data:`APPROACHES`.
        weighting
            Policy for the background (qqZZ, ggZZ) weights, see :data:`WEIGHTINGS`.
        balance
            Class balancing after the policy, see :data:`BALANCES`.
        """
        name = approach_name(approach)
        if weighting not in WEIGHTINGS:
            raise InputError(f"weighting must be one of {sorted(WEIGHTINGS)}, got {weighting!r}")
        if balance not in BALANCES:
            raise InputError(f"balance must be one of {sorted(BALANCES)}, got {balance!r}")
        signal, background = APPROACHES[name][:2]
        rows: list[tuple[str, int, np.ndarray, np.ndarray]] = []  # (component, label, row index, raw weight)
        n_dropped = 0
        for label, components in ((1, signal), (0, background)):
            for comp in components:
                if comp in ("S", "V", "SVI"):
                    index = np.flatnonzero(self.train & (self.process == _VBF))
                    raw = {"S": self.w_S, "V": self.w_B, "SVI": self.w_S + self.w_I + self.w_B}[comp][index]
                    rows.append((comp, label, index, raw))
                    continue
                index = np.flatnonzero(self.train & (self.process == _B2_CODES[comp]))
                raw = self.w_B_training[index]
                if weighting in ("drop_negative", "drop_nonpositive"):
                    keep = raw >= 0 if weighting == "drop_negative" else raw > 0
                    n_dropped += int((~keep).sum())
                    index, raw = index[keep], raw[keep]
                rows.append((comp, label, index, raw))
        weights = []
        for comp, _, _, raw in rows:
            if comp in ("qqzz", "ggzz") and weighting == "abs":
                weights.append(np.abs(raw))
            elif comp in ("qqzz", "ggzz") and weighting == "unweighted":
                weights.append(np.ones_like(raw))
            else:
                weights.append(raw.astype(float))
        for (comp, _, index, _), w in zip(rows, weights):
            if len(index) == 0 or not w.sum() > 0:
                raise InputError(
                    f"component {comp!r} of {name} has {len(index)} training events and total training weight "
                    f"{w.sum() if len(w) else 0:g}: generate more events or choose another weighting"
                )
        if balance == "process":
            per_class = {lab: sum(1 for r in rows if r[1] == lab) for lab in (0, 1)}
            weights = [w / w.sum() / per_class[r[1]] for r, w in zip(rows, weights)]
        elif balance == "class":
            totals = {lab: sum(w.sum() for r, w in zip(rows, weights) if r[1] == lab) for lab in (0, 1)}
            weights = [w / totals[r[1]] for r, w in zip(rows, weights)]
        w_all = np.concatenate(weights)
        w_all = w_all * len(w_all) / np.abs(w_all).sum()  # mean |w| = 1: learning rates mean the same everywhere
        index_all = np.concatenate([r[2] for r in rows])
        return TrainingSet(
            approach=name, weighting=weighting, balance=balance, X=self.X[index_all],
            y=np.concatenate([np.full(len(r[2]), r[1], dtype=np.int8) for r in rows]),
            weight=w_all, raw_weight=np.concatenate([r[3] for r in rows]),
            component=np.concatenate([np.full(len(r[2]), r[0]) for r in rows]),
            feature_names=self.feature_names, n_dropped=n_dropped,
        )

    def evaluation_set(self, part: Literal["test", "train"] = "test") -> EvaluationSet:
        """The physical events of one side, weights scaled by ``1/fraction`` to the full luminosity."""
        if part not in ("test", "train"):
            raise InputError(f"part must be 'test' or 'train', got {part!r}")
        mask = ~self.train if part == "test" else self.train
        scale = 1.0 / (self.test_fraction if part == "test" else 1.0 - self.test_fraction)
        return EvaluationSet(
            X=self.X[mask], process=self.process[mask], w_S=self.w_S[mask] * scale, w_I=self.w_I[mask] * scale,
            w_B=self.w_B[mask] * scale, w_B_training=self.w_B_training[mask] * scale,
            feature_names=self.feature_names, part=part,
        )

    def with_training_background(self, background: Events) -> StrategySamples:
        """The same samples, training on another weighting of the same background events (e.g. with pathologies).

        ``background`` must be the qqZZ or ggZZ sample regenerated with the same ``n``, seed, detector and preset
        (the pathologies change the weights only, never the events); the evaluation keeps the clean weights.
        """
        process = background.meta.get("config", {}).get("process")
        if process not in _B2_CODES:
            raise InputError(f"the training background must be a 'qqzz' or 'ggzz' sample, got process {process!r}")
        mask = self.process == _B2_CODES[process]
        events = np.asarray(background.array["event"], dtype=np.int64)
        if len(events) != int(mask.sum()) or not np.array_equal(events, self.event[mask]):
            raise InputError(
                f"the {process} training sample does not hold the same events as the clean one ({len(events)} vs "
                f"{int(mask.sum())} events): regenerate it with the same n, seed, detector and preset"
            )
        w_train = self.w_B_training.copy()
        w_train[mask] = background.components()[2]
        return dataclasses.replace(self, w_B_training=w_train)


def _process_of(events: Events, expected: str, name: str) -> None:
    if not isinstance(events, Events):
        raise InputError(f"{name} must be hepnb.offshell Events (from osh.generate), got {type(events).__name__}")
    process = events.meta.get("config", {}).get("process")
    if process != expected:
        raise InputError(f"{name} must be a {expected!r} sample, got process {process!r}")
    if len(events) < 10:
        raise InputError(f"{name} has {len(events)} selected events: generate more (at least 10 are needed)")


def make_samples(
    vbf: Events,
    qqzz: Events,
    ggzz: Events,
    *,
    test_fraction: float = 0.5,
    seed: int = 0,
    features: str = "thesis-ch6",
    exclude: Sequence[str] = (),
) -> StrategySamples:
    """Ch6 features of the three processes and a seeded train/test split by event.

    Parameters
    ----------
    vbf, qqzz, ggzz
        Samples from :func:`hepnb.offshell.generate` with ``process="vbf"``, ``"qqzz"`` and ``"ggzz"`` (same
        luminosity; the thesis preset ``"thesis-ch6"`` is the natural selection). Clean weights: pathological
        background weights are for training only, see :meth:`StrategySamples.with_training_background`.
    test_fraction
        Fraction of events (per process, drawn event by event) in the test set.
    seed
        Seed of the split (``numpy.random.default_rng``).
    features
        Feature list of :func:`hepnb.offshell.feature_matrix` (missing values stay NaN: the GBDT handles them, the
        network imputes the training mean).
    exclude
        Feature names (of that list) to leave out.
    """
    _process_of(vbf, "vbf", "vbf")
    _process_of(qqzz, "qqzz", "qqzz")
    _process_of(ggzz, "ggzz", "ggzz")
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction must be in (0, 1), e.g. 0.5, got {test_fraction!r}")
    lumis = {float(e.meta["config"]["lumi"]) for e in (vbf, qqzz, ggzz)}
    if len(lumis) != 1:
        raise InputError(f"the three samples must have the same luminosity, got {sorted(lumis)} fb^-1")
    for events, name in ((qqzz, "qqzz"), (ggzz, "ggzz")):
        if np.any(events.components()[2] < 0) or events.meta["config"].get("zero_weight_fraction"):
            raise InputError(f"{name} carries weight pathologies: build the samples from the clean sample and pass "
                             "the pathological one to StrategySamples.with_training_background")
    blocks = [feature_matrix(e.x, features) for e in (vbf, qqzz, ggzz)]
    all_names = list(blocks[0][1])
    unknown = sorted(set(exclude) - set(all_names))
    if unknown:
        raise InputError(f"cannot exclude unknown features {unknown}; the {features} features are {all_names}")
    keep = [j for j, n in enumerate(all_names) if n not in set(exclude)]
    if not keep:
        raise InputError("every feature is excluded: keep at least one")
    names = tuple(all_names[j] for j in keep)
    X = np.concatenate([b[0][:, keep] for b in blocks])
    process = np.concatenate([np.full(len(e), PROCESSES[p], dtype=np.int8)
                              for e, p in ((vbf, "vbf"), (qqzz, "qqzz"), (ggzz, "ggzz"))])
    w_s, w_i, w_b = (np.concatenate(parts) for parts in zip(*(e.components() for e in (vbf, qqzz, ggzz))))
    event = np.concatenate([np.asarray(e.array["event"], dtype=np.int64) for e in (vbf, qqzz, ggzz)])
    rng = np.random.default_rng(seed)
    train = rng.random(len(process)) >= test_fraction
    for name, code in PROCESSES.items():
        mask = process == code
        if (mask & train).sum() == 0 or (mask & ~train).sum() == 0:
            raise InputError(f"the split left no {name} event on one side: generate more events")
    return StrategySamples(
        X=X, process=process, event=event, w_S=w_s, w_I=w_i, w_B=w_b, w_B_training=w_b.copy(), train=train,
        feature_names=names, test_fraction=float(test_fraction), seed=int(seed), lumi=lumis.pop(),
    )


# ----------------------------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Limit OpenMP/BLAS (and torch) threads inside the block; ``None`` leaves them alone."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # only when torch is in use: importing it costs seconds
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(int(n))
    try:
        with threadpool_limits(limits=int(n)):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


@dataclass(frozen=True, eq=False)
class GBDTClassifier:
    """A trained sklearn ``HistGradientBoostingClassifier`` with what it was trained on."""

    model: Any
    approach: str
    weighting: str
    seed: int
    feature_names: tuple[str, ...]
    name: str = "GBDT"
    threads: int | None = 1

    def score(self, X: ArrayLike) -> np.ndarray:
        """Probability of the signal class per event (missing values may be NaN).

        Predicts with ``threads`` OpenMP threads: on a busy machine one thread is many times faster than several.
        """
        with _threads(self.threads):
            return self.model.predict_proba(np.asarray(X, dtype=np.float64))[:, 1]

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """``(n, 2)`` class probabilities (sklearn convention; used by permutation importance)."""
        p = self.score(X)
        return np.stack([1.0 - p, p], axis=1)


def _check_training(training: TrainingSet) -> None:
    if not isinstance(training, TrainingSet):
        raise InputError("training must be a TrainingSet (from StrategySamples.training_set), "
                         f"got {type(training).__name__}")
    for label in (0, 1):
        total = training.weight[training.y == label].sum()
        if not total > 0:
            raise InputError(f"class {label} has total training weight {total:g}: nothing to learn from")


def train_gbdt(
    training: TrainingSet,
    *,
    seed: int = 0,
    max_iter: int = 100,
    learning_rate: float = 0.1,
    max_leaf_nodes: int = 15,
    min_samples_leaf: int = 100,
    l2_regularization: float = 1.0,
    threads: int | None = 1,
) -> GBDTClassifier:
    """Gradient-boosted trees (sklearn ``HistGradientBoostingClassifier``, LightGBM-like) on a training set.

    The training weights are passed as ``sample_weight`` as they are: zero weights add nothing, negative ones flip
    the gradients and hessians of their events (the thesis's "works in reverse"); choose a policy in
    :meth:`StrategySamples.training_set` to avoid that. NaN features go to the learnt missing-value branch.
    No early stopping, so the result depends only on the data and ``seed``.

    Parameters
    ----------
    training
        From :meth:`StrategySamples.training_set`.
    seed
        ``random_state`` of the model.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Boosting hyper-parameters (``l2_regularization`` keeps leaves with a small net hessian finite).
    threads
        OpenMP threads used to train and to predict (``None``: all).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    _check_training(training)
    if max_iter < 1 or not learning_rate > 0:
        raise InputError(f"need max_iter >= 1 and learning_rate > 0, got {max_iter}, {learning_rate}")
    model = HistGradientBoostingClassifier(
        max_iter=int(max_iter), learning_rate=float(learning_rate), max_leaf_nodes=int(max_leaf_nodes),
        min_samples_leaf=int(min_samples_leaf), l2_regularization=float(l2_regularization), early_stopping=False,
        random_state=int(seed),
    )
    with _threads(threads), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # overflow in leaves of negative net hessian
        model.fit(training.X, training.y, sample_weight=training.weight)
    return GBDTClassifier(model, training.approach, training.weighting, int(seed), training.feature_names,
                          threads=threads)


@dataclass(frozen=True, eq=False)
class MLPClassifier:
    """A trained network with its input standardisation; ``score`` is the sigmoid output."""

    network: Any
    mean: np.ndarray
    std: np.ndarray
    approach: str
    weighting: str
    seed: int
    feature_names: tuple[str, ...]
    history: tuple[float, ...]
    name: str = "NN"

    def standardise(self, X: ArrayLike) -> np.ndarray:
        """``(X - mean)/std`` with the training statistics; missing values (NaN) become 0, the training mean."""
        z = (np.asarray(X, dtype=np.float64) - self.mean) / self.std
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    def score(self, X: ArrayLike) -> np.ndarray:
        """Signal probability per event."""
        import torch

        with torch.no_grad():
            logits = self.network(torch.from_numpy(self.standardise(X)))
        return torch.sigmoid(logits[:, 0]).double().numpy()

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """``(n, 2)`` class probabilities."""
        p = self.score(X)
        return np.stack([1.0 - p, p], axis=1)


def _lightning_module(n_inputs: int, hidden: Sequence[int], learning_rate: float) -> Any:
    import lightning as L
    import torch
    from torch import nn

    class WeightedBCE(L.LightningModule):
        """MLP (ReLU hidden layers, one logit) trained with the event-weighted binary cross-entropy."""

        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            width = n_inputs
            for h in hidden:
                layers += [nn.Linear(width, int(h)), nn.ReLU()]
                width = int(h)
            layers.append(nn.Linear(width, 1))
            self.net = nn.Sequential(*layers)
            self.losses: list[float] = []
            self._epoch: list[float] = []

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

        def training_step(self, batch: tuple[torch.Tensor, ...], _: int) -> torch.Tensor:
            x, y, w = batch
            bce = nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y, reduction="none")
            loss = (w * bce).mean()
            self._epoch.append(float(loss.detach()))
            return loss

        def on_train_epoch_end(self) -> None:
            self.losses.append(float(np.mean(self._epoch)))
            self._epoch = []

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=learning_rate)

    return WeightedBCE()


def train_mlp(
    training: TrainingSet,
    *,
    seed: int = 0,
    hidden: Sequence[int] = (32, 32, 32),
    epochs: int = 20,
    batch_size: int = 512,
    learning_rate: float = 1e-3,
    threads: int | None = 1,
) -> MLPClassifier:
    """A small network (thesis: 3 x 32 ReLU, sigmoid output, Adam) trained with Lightning on the weighted BCE.

    Inputs are standardised with the training mean and std (missing values set to the mean, the thesis's best
    treatment). The loss is ``mean_i w_i BCE_i`` with the training weights as they are (a negative weight rewards
    the wrong answer; pick a weight policy to avoid it). ``seed`` fixes the initialisation and the batch order:
    the same seed gives the same network.

    Parameters
    ----------
    training
        From :meth:`StrategySamples.training_set`.
    seed
        Seeds Python, numpy and torch (``lightning.seed_everything``) and the data order.
    hidden
        Widths of the hidden layers.
    epochs, batch_size, learning_rate
        Optimisation (Adam).
    threads
        torch threads during the training (``None``: leave as is).
    """
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from hepnb.training import quiet_lightning

    _check_training(training)
    # (torch is imported above, so _threads limits its threads too)
    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise InputError(f"need epochs >= 1, batch_size >= 1, learning_rate > 0; got {epochs}, {batch_size}, "
                         f"{learning_rate}")
    if not hidden or any(int(h) < 1 for h in hidden):
        raise InputError(f"hidden must list positive layer widths, e.g. (32, 32, 32), got {hidden!r}")
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(training.X, axis=0)
        std = np.nanstd(training.X, axis=0)
    mean = np.nan_to_num(mean, nan=0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    with _threads(threads), quiet_lightning():
        L.seed_everything(int(seed), workers=True, verbose=False)
        module = _lightning_module(training.X.shape[1], tuple(hidden), float(learning_rate))
        x = torch.from_numpy(np.nan_to_num((training.X - mean) / std, nan=0.0).astype(np.float32))
        data = TensorDataset(x, torch.from_numpy(training.y.astype(np.float32)),
                             torch.from_numpy(training.weight.astype(np.float32)))
        loader = DataLoader(data, batch_size=int(batch_size), shuffle=True,
                            generator=torch.Generator().manual_seed(int(seed)))
        trainer = L.Trainer(max_epochs=int(epochs), accelerator="cpu", devices=1, deterministic=True, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            num_sanity_val_steps=0)
        trainer.fit(module, train_dataloaders=loader)
    network = module.net.eval()
    return MLPClassifier(network, mean, std, training.approach, training.weighting, int(seed),
                         training.feature_names, tuple(module.losses))


def train(
    model: Literal["gbdt", "nn"], training: TrainingSet, *, seed: int = 0, **options: Any
) -> GBDTClassifier | MLPClassifier:
    """:func:`train_gbdt` (``"gbdt"``) or :func:`train_mlp` (``"nn"``)."""
    if model == "gbdt":
        return train_gbdt(training, seed=seed, **options)
    if model == "nn":
        return train_mlp(training, seed=seed, **options)
    raise InputError(f"model must be 'gbdt' or 'nn', got {model!r}")


# ----------------------------------------------------------------------------------------------------------------
# evaluation: iZ versus threshold with its MC error
# ----------------------------------------------------------------------------------------------------------------


def _scores(model: Any, X: np.ndarray) -> np.ndarray:
    if hasattr(model, "score") and callable(model.score) and not hasattr(model, "fit"):
        return np.asarray(model.score(X), dtype=float)
    if callable(model):
        return np.asarray(model(X), dtype=float)
    raise InputError(f"cannot score events with a {type(model).__name__}: give a trained model or a callable")


def iz_scan(
    score: ArrayLike,
    evaluation: EvaluationSet,
    *,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    errors: Literal["correlated", "independent"] = "correlated",
) -> ThresholdScan:
    """iZ of the events with ``score > t`` for each threshold t, the best point, and its MC error.

    The values are :func:`hepnb.metrics.best_threshold_significance` (``metric="iz"``) on the S, V, SVI
    and B2 components of the evaluation events. ``errors="independent"`` keeps its error, which treats the
    components as independent samples (the thesis's situation); ``"correlated"`` (default) propagates the error
    with the S, V, SVI copies sharing their events: with ``a_i = 2 w_S + w_I`` and ``d_i`` the SM weight,
    ``iZ = sum a / (2 sqrt(sum d))`` and ``var = sum_i (a_i/(2 sqrt D) - A d_i/(4 D^1.5))^2`` over passing events.

    Parameters
    ----------
    score
        One score per event of ``evaluation``.
    evaluation
        From :meth:`StrategySamples.evaluation_set`.
    thresholds
        Score thresholds (default :data:`DEFAULT_THRESHOLDS`, 0 to 0.99).
    min_events
        Minimum unweighted events of every component above a threshold (iZ is unstable at tight cuts).
    errors
        ``"correlated"`` or ``"independent"``.
    """
    if not isinstance(evaluation, EvaluationSet):
        raise InputError("evaluation must be an EvaluationSet (StrategySamples.evaluation_set)")
    if errors not in ("correlated", "independent"):
        raise InputError(f"errors must be 'correlated' or 'independent', got {errors!r}")
    t = DEFAULT_THRESHOLDS if thresholds is None else thresholds
    labels, weights, scores = evaluation.components(score)
    scan = best_threshold_significance(labels, scores, weights, metric="iz", thresholds=t,
                                            min_events=min_events, propagation="quadrature")
    if errors == "independent":
        return scan
    s = np.asarray(score, dtype=float)
    vbf = evaluation.is_vbf
    a = np.where(vbf, 2 * evaluation.w_S + evaluation.w_I, 0.0)
    d = np.where(vbf, evaluation.w_SVI, evaluation.w_B)
    order = np.argsort(s, kind="stable")
    first_above = np.searchsorted(s[order], scan.thresholds, side="right")

    def above(values: np.ndarray) -> np.ndarray:
        cum = np.concatenate([[0.0], np.cumsum(values[order])])
        return cum[-1] - cum[first_above]

    big_a, big_d = above(a), above(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        g_a = 1.0 / (2.0 * np.sqrt(big_d))
        g_d = -big_a / (4.0 * big_d**1.5)
        var = g_a**2 * above(a * a) + 2 * g_a * g_d * above(a * d) + g_d**2 * above(d * d)
    err = np.where(scan.valid, np.sqrt(np.maximum(var, 0.0)), np.nan)
    return dataclasses.replace(scan, errors=err, propagation="correlated")


def iz_metric(
    evaluation: EvaluationSet, *, thresholds: ArrayLike | None = None, min_events: int = 20
) -> Callable[..., float]:
    """``metric(index, score, weights) -> |best iZ|`` for :func:`hepnb.metrics.importance.permutation_importance`.

    Pass ``y = numpy.arange(len(evaluation))`` (event indices) and the evaluation features: the metric rebuilds the
    S, V, SVI and B2 components itself, so a permutation moves an event's features and its three weights together.
    """

    def best_iz(y: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
        index = np.asarray(y)
        if not np.array_equal(index, np.arange(len(evaluation))):
            raise InputError("iz_metric needs y = numpy.arange(len(evaluation)): the event indices, in order")
        return abs(iz_scan(score, evaluation, thresholds=thresholds, min_events=min_events).value)

    best_iz.__name__ = "best_iz"
    return best_iz


@dataclass(frozen=True, eq=False)
class StrategyResult:
    """A trained strategy on the test set: its iZ scan and its AUCs (weighted with the physical weights).

    ``auc_physical``: SVI vs B2 on the test set (the same classes for both approaches, so comparable);
    ``auc_task`` / ``auc_task_train``: the approach's own classes on the test / training events.
    ``iz_no_cut``: iZ of all test events (no threshold).
    """

    approach: str
    model: str
    weighting: str
    scan: ThresholdScan
    auc_physical: float
    auc_task: float
    auc_task_train: float
    iz_no_cut: float
    score: np.ndarray

    @property
    def label(self) -> str:
        """``"GBDT, approach 2"`` etc."""
        number = list(APPROACHES).index(self.approach) + 1
        return f"{self.model}, approach {number}"

    def summary(self) -> dict[str, Any]:
        """One row for a results table."""
        return {"model": self.model, "approach": self.approach, "weighting": self.weighting,
                "best iZ": self.scan.value, "iZ error": self.scan.error, "threshold": self.scan.threshold,
                "iZ no cut": self.iz_no_cut, "AUC SVI vs B2": self.auc_physical, "AUC own classes": self.auc_task,
                "AUC own classes (train)": self.auc_task_train}


def evaluate(
    model: GBDTClassifier | MLPClassifier,
    samples: StrategySamples,
    *,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    errors: Literal["correlated", "independent"] = "correlated",
) -> StrategyResult:
    """Score the test events and compute the iZ scan (:func:`iz_scan`) and the weighted AUCs."""
    test, train_side = samples.evaluation_set("test"), samples.evaluation_set("train")
    score = _scores(model, test.X)
    scan = iz_scan(score, test, thresholds=thresholds, min_events=min_events, errors=errors)
    y, w, idx = test.auc_inputs("svi_vs_b2")
    auc_physical = weighted_auc(y, score[idx], w)
    y, w, idx = test.auc_inputs(model.approach)
    auc_task = weighted_auc(y, score[idx], w)
    score_train = _scores(model, train_side.X)
    y, w, idx = train_side.auc_inputs(model.approach)
    auc_train = weighted_auc(y, score_train[idx], w)
    y_all = test.yields()
    no_cut = iz_from_samples(y_all["S"].value, y_all["SVI"].value, y_all["V"].value, y_all["B2"].value)
    return StrategyResult(model.approach, model.name, model.weighting, scan, auc_physical, auc_task, auc_train,
                          float(no_cut), score)


# ----------------------------------------------------------------------------------------------------------------
# permutation importance under AUC and under iZ
# ----------------------------------------------------------------------------------------------------------------


def feature_importance(
    model: GBDTClassifier | MLPClassifier,
    evaluation: EvaluationSet,
    metric: Literal["auc", "iz"] = "auc",
    *,
    n_repeats: int = 3,
    seed: int = 0,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    progress: bool = False,
) -> PermutationImportance:
    """Permutation importance of the features on the evaluation events (thesis sections 4.9, 6.6.3).

    ``"auc"``: the weighted AUC of the model's own classes (negative-weight safe); ``"iz"``: the best-threshold iZ
    (:func:`iz_metric`), the physically relevant one. Features are shuffled across events.
    """
    if metric == "auc":
        y, w, idx = evaluation.auc_inputs(model.approach)

        def auc(index: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
            return weighted_auc(y, np.asarray(score)[idx], w)

        auc.__name__ = "weighted_auc"
        func: Callable[..., float] = auc
    elif metric == "iz":
        func = iz_metric(evaluation, thresholds=thresholds, min_events=min_events)
    else:
        raise InputError(f"metric must be 'auc' or 'iz', got {metric!r}")
    return permutation_importance(model.score, evaluation.X, np.arange(len(evaluation)), None, func,
                                  n_repeats=n_repeats, seed=seed, feature_names=list(evaluation.feature_names),
                                  progress=progress)


def importance_table(results: Mapping[str, PermutationImportance]) -> pd.DataFrame:
    """Side-by-side rankings like thesis Table 6.1: for each metric, feature, importance and error by rank."""
    if not results:
        raise InputError("importance_table needs at least one PermutationImportance")
    columns = {}
    for name, pi in results.items():
        table = pi.table()
        columns[(name, "feature")] = table["feature"].to_numpy()
        columns[(name, "importance")] = table["importance"].to_numpy()
        columns[(name, "error")] = table["error"].to_numpy()
    frame = pd.DataFrame(columns)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="rank")
    return frame


# ----------------------------------------------------------------------------------------------------------------
# the sample-weights conundrum
# ----------------------------------------------------------------------------------------------------------------


def weight_summary(samples: Mapping[str, Events]) -> pd.DataFrame:
    """Per sample: events, yield, zero and negative weights (fraction, yield) and the Kish N_eff (absolute, /N)."""
    rows = []
    for name, events in samples.items():
        if not isinstance(events, Events):
            raise InputError(f"{name}: expected hepnb.offshell Events, got {type(events).__name__}")
        w = events.weight(1.0)
        neff = effective_sample_size(w) if np.any(w != 0) else 0.0
        rows.append({"sample": name, "events": len(w), "yield": float(w.sum()),
                     "zero-weight fraction": float(np.mean(w == 0)), "negative-weight fraction": float(np.mean(w < 0)),
                     "negative yield": float(w[w < 0].sum()), "N_eff": neff, "N_eff / N": neff / max(len(w), 1)})
    return pd.DataFrame(rows).set_index("sample")


@dataclass(frozen=True, eq=False)
class WeightStudy:
    """Trainings of one strategy with clean and pathological background weights under several policies.

    ``table`` has one row per training; ``scores`` the test scores of each; ``pocket`` marks the test background
    events whose training weight was negative.
    """

    table: pd.DataFrame
    scores: dict[str, np.ndarray]
    pocket: np.ndarray
    evaluation: EvaluationSet


def weight_study(
    samples: StrategySamples,
    pathological: Events,
    *,
    weightings: Sequence[str] = ("weighted", "drop_negative", "drop_nonpositive", "abs", "unweighted"),
    approach: str | int = "svi_vs_b2",
    model: Literal["gbdt", "nn"] = "gbdt",
    seed: int = 0,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    high_score: float = 0.9,
    progress: bool = False,
    **model_options: Any,
) -> WeightStudy:
    """What zero and negative background weights do to a weighted training (thesis section 6.6.5, Fig 6.9).

    Trains ``model`` on ``approach`` once with the clean weights and once per policy with the weights of
    ``pathological`` (the same background events with ``zero_weight_fraction`` / ``negative_pocket``), and evaluates
    every training on the clean test weights: weighted AUC (SVI vs B2), best iZ with error, and the fraction of the
    test background yield with ``score > high_score`` inside and outside the negative-weight pocket. ``progress``
    shows a bar over the trainings.
    """
    name = approach_name(approach)
    bad = samples.with_training_background(pathological)
    test = samples.evaluation_set("test")
    pocket = (~test.is_vbf) & (bad.evaluation_set("test").w_B_training < 0)
    runs: list[tuple[str, StrategySamples, str]] = [("clean weights", samples, "weighted")]
    runs += [(f"pathological, {w}", bad, w) for w in weightings]
    rows, scores = [], {}
    for label, source, weighting in tqdm(runs, desc="weight policies", disable=not progress):
        training = source.training_set(name, weighting)
        fitted = train(model, training, seed=seed, **model_options)
        result = evaluate(fitted, source, thresholds=thresholds, min_events=min_events)
        b2 = np.isin(training.component, ["qqzz", "ggzz"])
        used = training.weight[b2]
        high = result.score > high_score
        w_b2 = np.where(test.is_vbf, 0.0, test.w_B)

        def frac(mask: np.ndarray, w_b2: np.ndarray = w_b2, high: np.ndarray = high) -> float:
            total = w_b2[mask].sum()
            return float(w_b2[mask & high].sum() / total) if total > 0 else float("nan")

        rows.append({"training": label, "weighting": weighting, "B2 training events": int(b2.sum()),
                     "B2 N_eff": effective_sample_size(used) if np.any(used != 0) else 0.0,
                     "AUC SVI vs B2": result.auc_physical, "best iZ": result.scan.value, "iZ error": result.scan.error,
                     "threshold": result.scan.threshold,
                     f"pocket B2 with score > {high_score:g}": frac(pocket),
                     f"other B2 with score > {high_score:g}": frac(~test.is_vbf & ~pocket)})
        scores[label] = result.score
    return WeightStudy(pd.DataFrame(rows).set_index("training"), scores, pocket, test)


# ----------------------------------------------------------------------------------------------------------------
# counting metrics of a yield table
# ----------------------------------------------------------------------------------------------------------------


def counting_metrics(s: float, v: float, svi: float, b2: float) -> dict[str, float]:
    """The counting sensitivities of one yield table (thesis 6.6, 4.10): what s/sqrt(b) claims and what iZ says.

    Returns ``I = SVI - S - V``, ``mu*`` (the rate partner of mu = 0), ``s/sqrt(b)`` treating S as the signal over
    ``B = V + B2`` (what one would quote ignoring the interference), ``(SVI - V)/sqrt(V + B2)`` (the actual
    excess over the no-Higgs hypothesis: a deficit), ``Z'`` of S over B, ``iZ`` and ``sigma_mu = 1/iZ`` at mu = 1, and
    the signed ``iZ'`` (Asimov rejection of mu = 0).
    """
    for value, label in ((s, "S"), (v, "V"), (svi, "SVI"), (b2, "B2")):
        as_finite_array(value, label)
    i = svi - s - v
    b = v + b2
    iz = iz_from_samples(s, svi, v, b2)
    return {
        "S": float(s), "V": float(v), "SVI": float(svi), "B2": float(b2), "I": float(i),
        "mu*": degenerate_mu(s, i) if s > 0 else float("nan"),
        "s/sqrt(b) with s = S": float(s_over_sqrt_b(s, b)),
        "(SVI - V)/sqrt(V + B2)": float(s_over_sqrt_b(svi - v, b)),
        "Z' with s = S": float(asimov_z(s, b)),
        "iZ": float(iz),
        "sigma_mu": float(1.0 / iz) if iz != 0 else float("inf"),
        "iZ'": float(iz_asymptotic(svi, v, b2)),
    }
