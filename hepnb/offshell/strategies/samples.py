"""The samples of the chapter-6 strategies: the seeded train/validation/test split by event, training and
evaluation sets.

:func:`make_samples` turns the VBF (S, I, V weights), qqZZ and ggZZ samples into ch6 features and splits them by
event into three parts (:data:`PARTS`): the models are trained on ``"train"``, the score threshold of the best iZ is
chosen on ``"validation"`` and the iZ is quoted on ``"test"`` (a threshold chosen on the events it is quoted on
overstates the iZ: the scan picks the upward fluctuations). :meth:`StrategySamples.training_set` builds the rows,
labels and weights of one approach under a weight policy (:data:`WEIGHTINGS`) and a class balancing
(:data:`BALANCES`); :meth:`StrategySamples.evaluation_set` gives the physical events of one part, weighted to the
full luminosity. See :mod:`hepnb.offshell.strategies` for the physics (thesis section 6.6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array, is_whole_number
from hepnb.metrics.counting import Yield
from hepnb.metrics.weighted import effective_sample_size
from hepnb.offshell.events import Events
from hepnb.offshell.features import feature_matrix
from hepnb.offshell.generator import PROCESSES

__all__ = [
    "APPROACHES",
    "WEIGHTINGS",
    "BALANCES",
    "PARTS",
    "TrainingSet",
    "EvaluationSet",
    "StrategySamples",
    "approach_name",
    "make_samples",
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

#: The parts of the split, in the order of their codes in :attr:`StrategySamples.split` (0, 1, 2).
PARTS: tuple[str, str, str] = ("train", "validation", "test")

_VBF, _QQ, _GG = PROCESSES["vbf"], PROCESSES["qqzz"], PROCESSES["ggzz"]
_B2_CODES = {"qqzz": _QQ, "ggzz": _GG}


def approach_name(approach: str | int) -> str:
    """Canonical approach name: ``1``/``"svi_vs_b2"`` or ``2``/``"s_vs_vb2"``."""
    aliases = {1: "svi_vs_b2", 2: "s_vs_vb2"}
    if is_whole_number(approach) and int(approach) in aliases:
        return aliases[int(approach)]
    if isinstance(approach, str) and approach in APPROACHES:
        return approach
    raise InputError(f"approach must be 1, 2 or one of {sorted(APPROACHES)}, got {approach!r}")


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
            rows.append(
                {
                    "component": name,
                    "class": int(self.y[mask][0]),
                    "events": int(mask.sum()),
                    "training weight": float(self.weight[mask].sum()),
                    "zero weights": int((raw == 0).sum()),
                    "negative weights": int((raw < 0).sum()),
                    "N_eff (raw)": neff,
                }
            )
        return pd.DataFrame(rows).set_index("component")


@dataclass(frozen=True, eq=False)
class EvaluationSet:
    """Physical events of one part of the split (``part``: one of :data:`PARTS`), weighted to the full luminosity.

    One row per event: ``X``, ``process`` (0 vbf, 1 qqzz, 2 ggzz) and the clean weight components ``w_S, w_I, w_B``
    (``w_B`` is V for VBF and the background weight for qqZZ/ggZZ) divided by the fraction of events in this part.
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
        """Labels ``S/V/SVI/B2``, weights and (if given) scores, the inputs of ``best_threshold_significance``.

        Every VBF event appears three times (as S, V and SVI with its three weights), every background event once:
        the form :func:`hepnb.metrics.thresholds.best_threshold_significance` takes.
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
    """VBF (SVI with its S, I, V components), qqZZ and ggZZ events as ch6 features, split into train, validation
    and test.

    Build with :func:`make_samples`. One row per selected event of the three processes; ``split`` holds the part of
    each (0 train, 1 validation, 2 test: the codes of :data:`PARTS`); a VBF event's S, V and SVI copies are always in
    the same part. ``train``, ``validation`` and ``test`` are the masks of the parts.
    """

    X: np.ndarray
    process: np.ndarray
    event: np.ndarray
    w_S: np.ndarray
    w_I: np.ndarray
    w_B: np.ndarray
    w_B_training: np.ndarray
    split: np.ndarray
    feature_names: tuple[str, ...]
    test_fraction: float
    validation_fraction: float
    seed: int
    lumi: float

    def __len__(self) -> int:
        return len(self.process)

    def mask(self, part: str) -> np.ndarray:
        """Boolean mask of the events of one part (``"train"``, ``"validation"`` or ``"test"``)."""
        if part not in PARTS:
            raise InputError(f"part must be one of {PARTS}, got {part!r}")
        return self.split == PARTS.index(part)

    @property
    def train(self) -> np.ndarray:
        """Mask of the training events."""
        return self.mask("train")

    @property
    def validation(self) -> np.ndarray:
        """Mask of the validation events (where the score threshold is chosen)."""
        return self.mask("validation")

    @property
    def test(self) -> np.ndarray:
        """Mask of the test events (where the iZ is quoted)."""
        return self.mask("test")

    def fraction(self, part: str) -> float:
        """The nominal fraction of events in ``part``: the evaluation weights of that part are divided by it."""
        if part not in PARTS:
            raise InputError(f"part must be one of {PARTS}, got {part!r}")
        return {
            "train": 1.0 - self.test_fraction - self.validation_fraction,
            "validation": self.validation_fraction,
            "test": self.test_fraction,
        }[part]

    def counts(self) -> pd.DataFrame:
        """Events per process in each part of the split."""
        rows = {}
        for name, code in PROCESSES.items():
            mask = self.process == code
            rows[name] = {part: int((mask & self.mask(part)).sum()) for part in PARTS}
        return pd.DataFrame(rows).T

    def training_set(
        self, approach: str | int, weighting: str = "weighted", balance: Literal["process", "class", "none"] = "process"
    ) -> TrainingSet:
        """Rows, labels and training weights of one strategy on the training part.

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
            approach=name,
            weighting=weighting,
            balance=balance,
            X=self.X[index_all],
            y=np.concatenate([np.full(len(r[2]), r[1], dtype=np.int8) for r in rows]),
            weight=w_all,
            raw_weight=np.concatenate([r[3] for r in rows]),
            component=np.concatenate([np.full(len(r[2]), r[0]) for r in rows]),
            feature_names=self.feature_names,
            n_dropped=n_dropped,
        )

    def evaluation_set(self, part: Literal["test", "validation", "train"] = "test") -> EvaluationSet:
        """The physical events of one part, weights scaled by ``1/fraction`` to the full luminosity."""
        mask = self.mask(part)
        scale = 1.0 / self.fraction(part)
        return EvaluationSet(
            X=self.X[mask],
            process=self.process[mask],
            w_S=self.w_S[mask] * scale,
            w_I=self.w_I[mask] * scale,
            w_B=self.w_B[mask] * scale,
            w_B_training=self.w_B_training[mask] * scale,
            feature_names=self.feature_names,
            part=part,
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
    test_fraction: float = 0.25,
    validation_fraction: float = 0.25,
    seed: int = 0,
    features: str = "thesis-ch6",
    exclude: Sequence[str] = (),
) -> StrategySamples:
    """Ch6 features of the three processes and a seeded train/validation/test split by event.

    Every event draws one uniform number ``u`` (``numpy.random.default_rng(seed)``): ``u < test_fraction`` puts it
    in the test part, ``u < test_fraction + validation_fraction`` in the validation part, the rest in the training
    part. The test events of a seed and ``test_fraction`` therefore do not depend on ``validation_fraction``.

    Parameters
    ----------
    vbf, qqzz, ggzz
        Samples from :func:`hepnb.offshell.generate` with ``process="vbf"``, ``"qqzz"`` and ``"ggzz"`` (same
        luminosity; the thesis preset ``"thesis-ch6"`` is the natural selection). Clean weights: pathological
        background weights are for training only, see :meth:`StrategySamples.with_training_background`.
    test_fraction
        Fraction of events (per process, drawn event by event) in the test part, where the iZ is quoted.
    validation_fraction
        Fraction of events in the validation part, where the score threshold of the best iZ is chosen; at least 1 -
        ``test_fraction`` - ``validation_fraction`` is left to train on.
    seed
        Seed of the split (``numpy.random.default_rng``).
    features
        Feature list of :func:`hepnb.offshell.feature_matrix` (missing values stay NaN: the GBDT handles them, the
        network imputes the training mean).
    exclude
        Feature names (of that list) to leave out.

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> from hepnb.offshell import strategies as st
    >>> vbf, qqzz, ggzz = (osh.generate(2_000, seed=1, process=p, progress=False) for p in ("vbf", "qqzz", "ggzz"))
    >>> samples = st.make_samples(vbf, qqzz, ggzz, test_fraction=0.3, validation_fraction=0.2, seed=0)
    >>> list(samples.counts().columns)
    ['train', 'validation', 'test']
    >>> int(samples.counts().to_numpy().sum()) == len(samples)
    True
    """
    _process_of(vbf, "vbf", "vbf")
    _process_of(qqzz, "qqzz", "qqzz")
    _process_of(ggzz, "ggzz", "ggzz")
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction must be in (0, 1), e.g. 0.25, got {test_fraction!r}")
    if not 0.0 < validation_fraction < 1.0:
        raise InputError(
            f"validation_fraction must be in (0, 1), e.g. 0.25, got {validation_fraction!r}: the score threshold "
            "is chosen on the validation events, so that the iZ quoted on the test events is not biased upwards"
        )
    if not test_fraction + validation_fraction < 1.0:
        raise InputError(
            f"test_fraction + validation_fraction = {test_fraction + validation_fraction:g} leaves no events to "
            "train on: keep their sum below 1 (e.g. 0.25 + 0.25)"
        )
    lumis = {float(e.meta["config"]["lumi"]) for e in (vbf, qqzz, ggzz)}
    if len(lumis) != 1:
        raise InputError(f"the three samples must have the same luminosity, got {sorted(lumis)} fb^-1")
    for events, name in ((qqzz, "qqzz"), (ggzz, "ggzz")):
        if np.any(events.components()[2] < 0) or events.meta["config"].get("zero_weight_fraction"):
            raise InputError(
                f"{name} carries weight pathologies: build the samples from the clean sample and pass "
                "the pathological one to StrategySamples.with_training_background"
            )
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
    process = np.concatenate(
        [np.full(len(e), PROCESSES[p], dtype=np.int8) for e, p in ((vbf, "vbf"), (qqzz, "qqzz"), (ggzz, "ggzz"))]
    )
    w_s, w_i, w_b = (np.concatenate(parts) for parts in zip(*(e.components() for e in (vbf, qqzz, ggzz))))
    event = np.concatenate([np.asarray(e.array["event"], dtype=np.int64) for e in (vbf, qqzz, ggzz)])
    u = np.random.default_rng(seed).random(len(process))
    split = np.where(u < test_fraction, 2, np.where(u < test_fraction + validation_fraction, 1, 0)).astype(np.int8)
    for name, code in PROCESSES.items():
        for index, part in enumerate(PARTS):
            if not np.any((process == code) & (split == index)):
                raise InputError(f"the split left no {name} event in the {part} part: generate more events")
    return StrategySamples(
        X=X,
        process=process,
        event=event,
        w_S=w_s,
        w_I=w_i,
        w_B=w_b,
        w_B_training=w_b.copy(),
        split=split,
        feature_names=names,
        test_fraction=float(test_fraction),
        validation_fraction=float(validation_fraction),
        seed=int(seed),
        lumi=lumis.pop(),
    )
