"""The two datasets of study 4, split into training, validation (epoch picking) and test events.

- :func:`offshell_dataset`: the thesis's chapter-8 problem (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020,
  section 8.1.1): the VBF full process (S + I + V at mu = 1, from :mod:`hepnb.offshell`) against everything else
  (qqZZ and ggZZ), on the 15 chapter-6 features (Table 6.1, m4l included), with the "log-norm" m4l (log m4l min-max
  scaled to [0, 1] on the training events) protected, optionally with the MELA-like discriminant at once.
- :func:`jet_dataset`: boosted top jets against QCD jets from :mod:`hepnb.jets` on jet substructure (tau21, tau32,
  C2, D2; the jet mass is not an input), the jet mass protected: the setting in which DisCo (arXiv:2001.05310) and
  MoDe (arXiv:2010.09745) publish R50 against 1/JSD50.

Both return a :class:`DecorrelationDataset`: standardised features (mean and standard deviation of the training
events), labels (1 signal, 0 background), training weights (each class summing to half the number of training
events, so that they average 1 and the lambdas keep their meaning), physical weights (expected events of the whole
sample; negative ones kept), the protected variable(s), component labels for conditional decorrelation and the
feature names. The same arguments and seed give the same bytes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepnb.decorrelation.data import DecorrelationDataModule
from hepnb.errors import InputError, as_finite_array, is_whole_number

__all__ = ["Split", "DecorrelationDataset", "offshell_dataset", "jet_dataset", "split_indices", "JET_FEATURES"]

#: Jet inputs the study may use (fields of :func:`hepnb.jets.read_jets` records); the default is the first four.
JET_FEATURES = ("tau21", "tau32", "c2", "d2", "tau1", "tau2", "tau3", "e2", "e3", "pt", "eta", "n_constituents")
_SPLITS = ("train", "validation", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """The events of one split (arrays of one row per event).

    Attributes
    ----------
    features
        [N, F] standardised classifier inputs.
    labels
        [N] 1 signal, 0 background.
    weights
        [N] training weights: the physical weights scaled so that each class sums to half of the dataset's
        training events (the same factors in every split).
    physical_weights
        [N] expected events of the whole sample (the split's share scaled up), for significances.
    protected
        [N, k] protected variables as the methods see them (scaled to about [0, 1]).
    mass
        [N] the first protected variable in physical units (GeV), for plots.
    components
        [N] integer component labels (see :attr:`DecorrelationDataset.component_names`).
    """

    features: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    physical_weights: np.ndarray
    protected: np.ndarray
    mass: np.ndarray
    components: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def m(self) -> np.ndarray:
        """The first protected variable (scaled), [N]."""
        return self.protected[:, 0]

    def take(self, rows: np.ndarray) -> Split:
        """The split restricted to ``rows`` (indices or a boolean mask)."""
        return Split(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))

    def datamodule(
        self, *, batch_size: int = 128, protected: int | None = None, conditional: bool = False
    ) -> DecorrelationDataModule:
        """Training batches of this split (all protected columns, or the first ``protected`` of them)."""
        columns = self.protected if protected is None else self.protected[:, :protected]
        return DecorrelationDataModule(
            self.features,
            self.labels,
            columns,
            self.weights,
            self.components if conditional else None,
            batch_size=batch_size,
        )


@dataclass(frozen=True, eq=False)
class DecorrelationDataset:
    """A classification problem with protected variables, split into training, validation and test events.

    Attributes
    ----------
    name
        ``"offshell"`` or ``"jets"`` (part of the run folders of :mod:`hepnb.decorrelation.scan`).
    train, validation, test
        The three :class:`Split`.
    feature_names, protected_names, component_names
        Column names of ``features`` and ``protected``; the meaning of each component label.
    mass_label
        Axis label of :attr:`Split.mass`.
    jsd_bins
        Bins of the protected variable for 1/JSD50 (equal bins over the test background's range).
    mean, scale
        The standardisation of the raw features (``(raw - mean) / scale``).
    meta
        How the dataset was made (arguments, seed, sizes).
    """

    name: str
    train: Split
    validation: Split
    test: Split
    feature_names: tuple[str, ...]
    protected_names: tuple[str, ...]
    component_names: tuple[str, ...]
    mass_label: str
    jsd_bins: int
    mean: np.ndarray
    scale: np.ndarray
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_protected(self) -> int:
        return len(self.protected_names)

    @property
    def n_components(self) -> int:
        return len(self.component_names)

    def splits(self) -> dict[str, Split]:
        return {name: getattr(self, name) for name in _SPLITS}

    def without(self, *names: str) -> DecorrelationDataset:
        """The same events without the features ``names`` (e.g. ``"m4l_fsr"``: dropping the mass as an input)."""
        unknown = [n for n in names if n not in self.feature_names]
        if unknown or not names:
            raise InputError(f"without() takes feature names out of {self.feature_names}, got {names}")
        keep = np.array([n not in names for n in self.feature_names])
        if not keep.any():
            raise InputError("without() would leave no feature")
        splits = {s: dataclasses.replace(split, features=split.features[:, keep]) for s, split in self.splits().items()}
        return dataclasses.replace(
            self,
            **splits,
            feature_names=tuple(np.array(self.feature_names)[keep]),
            mean=self.mean[keep],
            scale=self.scale[keep],
            meta={**self.meta, "dropped": (*self.meta.get("dropped", ()), *names)},
        )

    def with_protected(self, count: int) -> DecorrelationDataset:
        """The same events with only the first ``count`` protected variables."""
        if not 1 <= count <= self.n_protected:
            raise InputError(f"count must be 1 to {self.n_protected}, got {count}")
        splits = {
            s: dataclasses.replace(split, protected=split.protected[:, :count]) for s, split in self.splits().items()
        }
        return dataclasses.replace(self, **splits, protected_names=self.protected_names[:count])


def split_indices(labels: np.ndarray, fractions: Sequence[float], seed: int) -> tuple[np.ndarray, ...]:
    """Random training/validation/test indices, in the proportions ``fractions`` within each label (stratified).

    Examples
    --------
    >>> train, val, test = split_indices(np.repeat([0, 1], 10), (0.5, 0.2, 0.3), seed=0)
    >>> len(train), len(val), len(test)
    (10, 4, 6)
    """
    f = as_finite_array(fractions, "fractions", ndim=1)
    if len(f) != 3 or np.any(f <= 0) or not np.isclose(f.sum(), 1.0):
        raise InputError(f"fractions must be three positive numbers (train, validation, test) summing to 1, got {f}")
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cuts = np.round(np.cumsum(f)[:2] * len(members)).astype(int)
        for part, rows in zip(parts, np.split(members, cuts)):
            part.append(rows)
    return tuple(np.sort(np.concatenate(p)) for p in parts)


def _build(
    name: str,
    raw: np.ndarray,
    labels: np.ndarray,
    physical: np.ndarray,
    protected: np.ndarray,
    mass: np.ndarray,
    components: np.ndarray,
    *,
    feature_names: Sequence[str],
    protected_names: Sequence[str],
    component_names: Sequence[str],
    mass_label: str,
    jsd_bins: int,
    fractions: Sequence[float],
    seed: int,
    meta: Mapping[str, Any],
) -> DecorrelationDataset:
    """Split, standardise (training statistics) and weight the events."""
    parts = split_indices(labels, fractions, seed)
    train = parts[0]
    if min((labels[p] == c).sum() for p in parts for c in (0, 1)) < 10:
        raise InputError("every split needs at least 10 signal and 10 background events: give more events")
    mean, scale = raw[train].mean(0), raw[train].std(0)
    scale = np.where(scale > 0, scale, 1.0)
    class_factor = np.zeros(2)
    for c in (0, 1):
        total = physical[train][labels[train] == c].sum()
        if not total > 0:
            raise InputError(f"the training {'signal' if c else 'background'} has total weight {total:g} <= 0")
        class_factor[c] = 0.5 * len(train) / total
    splits = {}
    for split_name, rows, fraction in zip(_SPLITS, parts, fractions):
        y = labels[rows]
        splits[split_name] = Split(
            features=((raw[rows] - mean) / scale).astype(np.float64),
            labels=y.astype(np.float64),
            weights=physical[rows] * class_factor[y.astype(int)],
            physical_weights=physical[rows] / fraction,
            protected=protected[rows],
            mass=mass[rows],
            components=components[rows].astype(np.int64),
        )
    sizes = {s: int(len(p)) for s, p in zip(_SPLITS, parts)}
    return DecorrelationDataset(
        name,
        splits["train"],
        splits["validation"],
        splits["test"],
        tuple(feature_names),
        tuple(protected_names),
        tuple(component_names),
        mass_label,
        int(jsd_bins),
        mean,
        scale,
        {**meta, "seed": seed, "fractions": tuple(fractions), "sizes": sizes},
    )


def _min_max(values: np.ndarray, train_rows: np.ndarray) -> np.ndarray:
    low, high = values[train_rows].min(), values[train_rows].max()
    return (values - low) / (high - low if high > low else 1.0)


def offshell_dataset(
    n_vbf: int = 200_000,
    n_background: int = 300_000,
    seed: int = 1,
    *,
    protected: Sequence[str] = ("m4l", "mela"),
    fractions: Sequence[float] = (0.5, 0.2, 0.3),
    zero_weight_fraction: float = 0.0,
    negative_pocket: tuple[float, float] | None = None,
    jsd_bins: int = 50,
) -> DecorrelationDataset:
    """VBF (full process) against qqZZ + ggZZ on the 15 chapter-6 features, m4l (and MELA) protected.

    Parameters
    ----------
    n_vbf, n_background
        Events generated before the chapter-6 preselection: VBF, and each of qqZZ and ggZZ (about 24 %, 5 % and
        6 % pass).
    seed
        Seeds the generation and the split.
    protected
        ``("m4l",)``, ``("m4l", "mela")`` or ``("mela",)``: the log-norm m4l and the MELA discriminant, each
        min-max scaled on the training events; the first is :attr:`Split.mass` (in GeV for m4l).
    fractions
        Training, validation and test shares (per class).
    zero_weight_fraction, negative_pocket
        qqZZ weight pathologies of :func:`hepnb.offshell.generate` (33 % zeros and negative pockets in the thesis's
        samples); the weights are kept as they are, negative ones included.
    jsd_bins
        Bins for 1/JSD50.

    Components: 0 VBF, 1 qqZZ, 2 ggZZ.
    """
    from hepnb import offshell as osh  # the study subpackage is read, not imported by the core

    allowed = ("m4l", "mela")
    if not protected or any(p not in allowed for p in protected) or len(set(protected)) != len(protected):
        raise InputError(f"protected must be distinct names out of {allowed}, got {tuple(protected)}")
    for name, n in (("n_vbf", n_vbf), ("n_background", n_background)):
        if not is_whole_number(n) or n < 1000:
            raise InputError(f"{name} must be an integer of at least 1000 generated events, got {n!r}")
    samples = [
        osh.generate(int(n_vbf), seed, "vbf", progress=False),
        osh.generate(
            int(n_background),
            seed,
            "qqzz",
            progress=False,
            zero_weight_fraction=zero_weight_fraction,
            negative_pocket=negative_pocket,
        ),
        osh.generate(int(n_background), seed, "ggzz", progress=False),
    ]
    blocks = [osh.feature_matrix(events.x, "thesis-ch6") for events in samples]
    names = blocks[0][1]
    raw = np.concatenate([b[0] for b in blocks])
    components = np.concatenate([np.full(len(e), c) for c, e in enumerate(samples)])
    labels = (components == 0).astype(np.int64)
    physical = np.concatenate([np.asarray(e.weight(1.0), dtype=np.float64) for e in samples])
    m4l = raw[:, names.index("m4l_fsr")]
    parts = split_indices(labels, fractions, seed)
    columns = {"m4l": _min_max(np.log(m4l), parts[0]), "mela": _min_max(raw[:, names.index("MELA")], parts[0])}
    first = protected[0]
    return _build(
        "offshell",
        raw,
        labels,
        physical,
        np.stack([columns[p] for p in protected], axis=1),
        m4l if first == "m4l" else raw[:, names.index("MELA")],
        components,
        feature_names=names,
        protected_names=tuple({"m4l": "log-norm m4l", "mela": "MELA"}[p] for p in protected),
        component_names=("VBF", "qqZZ", "ggZZ"),
        mass_label=r"$m_{4\ell}$ [GeV]" if first == "m4l" else "MELA",
        jsd_bins=jsd_bins,
        fractions=fractions,
        seed=seed,
        meta={
            "n_vbf": int(n_vbf),
            "n_background": int(n_background),
            "protected": tuple(protected),
            "zero_weight_fraction": zero_weight_fraction,
            "negative_pocket": negative_pocket,
        },
    )


def _jet_table(source: Any, features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Raw feature columns and the jet mass of a jet dataset folder (or a JetSample)."""
    import awkward as ak

    from hepnb import jets as hj

    if isinstance(source, (str, os.PathLike)):
        source = hj.read_jets(source)
    records = source.jets
    fields = set(records.fields)
    if any(f not in fields for f in features):  # an unslimmed dataset: substructure from the constituents
        c = records.constituents
        table = hj.substructure_table(c.pt, c.eta, c.phi, progress=False)
    else:
        table = {}
    columns = [np.asarray(ak.to_numpy(records[f]) if f in fields else table[f], dtype=np.float64) for f in features]
    return np.stack(columns, axis=1), np.asarray(ak.to_numpy(records["mass"]), dtype=np.float64)


def jet_dataset(
    signal: Any = "data/jets/jetnet_top",
    background: Any = "data/jets/jetnet_qcd",
    seed: int = 1,
    *,
    features: Sequence[str] = ("tau21", "tau32", "c2", "d2"),
    n_max: int | None = None,
    fractions: Sequence[float] = (0.4, 0.2, 0.4),
    jsd_bins: int = 50,
) -> DecorrelationDataset:
    """Top jets against QCD jets on jet substructure, the jet mass protected (min-max scaled on the training jets).

    Parameters
    ----------
    signal, background
        Dataset folders written by ``hepnb data jets`` (or :class:`hepnb.jets.JetSample`): top and QCD jets.
        Folders without the substructure fields (unslimmed generations) get them computed from the constituents.
    seed
        Seeds the subsampling and the split.
    features
        Inputs, out of :data:`JET_FEATURES` (the jet mass is protected, never an input).
    n_max
        At most this many jets of each class (a random subset), or all.
    fractions
        Training, validation and test shares (per class); the test share is large because 1/JSD50 is limited by
        the background events passing the cut (its finite-sample bias is about bins / (8 N_pass)).
    jsd_bins
        Bins for 1/JSD50.

    Components: 0 top, 1 QCD. Every jet has weight 1.
    """
    unknown = [f for f in features if f not in JET_FEATURES]
    if unknown or not features or len(set(features)) != len(features):
        raise InputError(
            f"features must be distinct names out of {JET_FEATURES} (the mass is protected, not an "
            f"input), got {tuple(features)}"
        )
    if n_max is not None and (not is_whole_number(n_max) or n_max < 100):
        raise InputError(f"n_max must be None or an integer of at least 100 jets per class, got {n_max!r}")
    rng = np.random.default_rng(seed)
    raws, masses = [], []
    for source in (signal, background):
        raw, mass = _jet_table(source, features)
        keep = np.isfinite(raw).all(1) & np.isfinite(mass)
        rows = np.flatnonzero(keep)
        if n_max is not None and len(rows) > n_max:
            rows = np.sort(rng.choice(rows, n_max, replace=False))
        raws.append(raw[rows])
        masses.append(mass[rows])
    labels = np.concatenate([np.ones(len(raws[0]), np.int64), np.zeros(len(raws[1]), np.int64)])
    raw, mass = np.concatenate(raws), np.concatenate(masses)
    parts = split_indices(labels, fractions, seed)
    return _build(
        "jets",
        raw,
        labels,
        np.ones(len(labels)),
        _min_max(mass, parts[0])[:, None],
        mass,
        1 - labels,
        feature_names=features,
        protected_names=("jet mass",),
        component_names=("top", "QCD"),
        mass_label=r"jet mass $m_J$ [GeV]",
        jsd_bins=jsd_bins,
        fractions=fractions,
        seed=seed,
        meta={"signal": str(signal), "background": str(background), "n_max": n_max},
    )
