"""Mining gold: augmented training samples for likelihood-free inference (arXiv:1805.00020).

Every sample is drawn as MadMiner's ``SampleAugmenter`` does: for each parameter point, events are taken from the
source sample whose benchmark is closest to that point (``sample_only_from_closest_benchmark=True``) and resampled
*with replacement* with probability proportional to their weight at the point (exact reweighting from the weight
components ``w_S, w_I, w_B``, or the quartic kappa morphing through the five basis benchmarks). Each drawn event
carries the joint quantities of ``hepnb.offshell``:

* the joint log likelihood ratio ``log r(x, z | theta0, theta1)`` (:func:`hepnb.offshell.joint_log_ratio`),
* the joint score ``t(x, z | theta) = d/dkappa log p(z | kappa)`` (:func:`hepnb.offshell.joint_score`).

Parameters are ``theta = kappa`` with ``mu = kappa^4`` (the ch7 networks were parameterised in kappa: the score in
mu is singular at mu = 0). The MadMiner effective sample size ``sum w / max w`` of the source at each point is
reported, because resampling a source far from its benchmark repeats its few large-weight events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepnb.errors import InputError
from hepnb.metrics.weighted import effective_sample_size
from hepnb.offshell import (
    BASIS_KAPPAS,
    Events,
    benchmark_weights,
    feature_matrix,
    joint_log_ratio,
    joint_score,
    morph,
)
from hepnb.offshell.features import FEATURE_LISTS

__all__ = [
    "THESIS_MUS",
    "THESIS_KAPPAS",
    "Standardizer",
    "RatioSample",
    "LocalScoreSample",
    "DensitySample",
    "observables_matrix",
    "mine_ratio_sample",
    "mine_local_sample",
    "mine_density_sample",
]

#: The hand-picked ALICES training points of ch7 (thesis section 7.6) in mu; the printed "1, 2" is read as 1.2.
THESIS_MUS: tuple[float, ...] = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05, 1.1, 1.2, 1.5, 1.8, 2.0, 3.0,
                                 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 16.0)
#: The same points as the network sees them: ``kappa = mu^(1/4)``.
THESIS_KAPPAS: tuple[float, ...] = tuple(float(m**0.25) for m in THESIS_MUS)

Observables = str | Sequence[str]


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Affine standardisation ``(v - mean) / scale`` of the columns of an array (MadMiner ``scale_inputs``)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        """Mean and standard deviation of each column (a constant column gets scale 1)."""
        v = np.asarray(values, dtype=np.float64)
        v = v[:, None] if v.ndim == 1 else v
        if v.ndim != 2 or len(v) == 0:
            raise InputError(f"a standardizer needs a non-empty (n, d) array, got shape {np.shape(values)}")
        std = v.std(axis=0)
        return cls(v.mean(axis=0), np.where(std > 0, std, 1.0))

    @classmethod
    def identity(cls, dim: int) -> Standardizer:
        """The transformation that changes nothing."""
        return cls(np.zeros(dim), np.ones(dim))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Standardised copy of ``values``."""
        v = np.asarray(values, dtype=np.float64)
        return (v - self.mean) / self.scale if v.ndim == 2 else (v - self.mean[0]) / self.scale[0]


@dataclass(frozen=True, eq=False)
class RatioSample:
    """Training data of a (doubly) parameterised likelihood-ratio estimator.

    Rows with ``y = 0`` are drawn from ``p(x | theta0)``, rows with ``y = 1`` from ``p(x | theta1)``; both carry
    the numerator ``theta0`` as the network's parameter input (MadMiner convention: ``y`` labels theta0 vs theta1,
    not signal vs background).

    Attributes
    ----------
    x
        Raw observables ``(n, d)``.
    theta0, theta1
        Numerator and reference parameter (kappa) of each row.
    y
        0 (drawn at theta0) or 1 (drawn at theta1).
    log_r_xz
        Joint ``log r(x, z | theta0, theta1)``.
    t_xz, t1_xz
        Joint scores in kappa at theta0 and at theta1.
    feature_names
        Names of the columns of ``x``.
    observables
        The feature list (``"thesis-ch7"``, ...) or the fields of ``events.x`` that made ``x``.
    scaler, theta_scaler
        Standardisation of ``x`` and of the parameters, fitted on this sample.
    n_effective
        ``{kappa: N_eff}`` (MadMiner ``sum w / max w``) of the source sample each point was drawn from.
    seed
        The seed of the draw.
    """

    x: np.ndarray
    theta0: np.ndarray
    theta1: np.ndarray
    y: np.ndarray
    log_r_xz: np.ndarray
    t_xz: np.ndarray
    t1_xz: np.ndarray
    feature_names: tuple[str, ...]
    observables: Observables
    scaler: Standardizer
    theta_scaler: Standardizer
    n_effective: dict[float, float] = field(default_factory=dict)
    seed: int = 0

    def __len__(self) -> int:
        return len(self.y)

    @property
    def doubly_parameterized(self) -> bool:
        """True when the reference theta1 varies between rows."""
        return bool(np.ptp(self.theta1) > 0)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns a training loop needs, by name."""
        return {"x": self.x, "theta0": self.theta0, "theta1": self.theta1, "y": self.y, "log_r_xz": self.log_r_xz,
                "t_xz": self.t_xz, "t1_xz": self.t1_xz}


@dataclass(frozen=True, eq=False)
class LocalScoreSample:
    """Training data of a local score estimator (SALLY/SALLINO): ``x ~ p(x | theta)`` with ``t(x, z | theta)``."""

    x: np.ndarray
    t_xz: np.ndarray
    theta: float
    feature_names: tuple[str, ...]
    observables: Observables
    scaler: Standardizer
    n_effective: dict[float, float] = field(default_factory=dict)
    seed: int = 0

    def __len__(self) -> int:
        return len(self.t_xz)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns a training loop needs, by name."""
        return {"x": self.x, "t_xz": self.t_xz}


@dataclass(frozen=True, eq=False)
class DensitySample:
    """Training data of a conditional density estimator (NDE/SCANDAL): ``x ~ p(x | theta)`` with ``t(x, z|theta)``."""

    x: np.ndarray
    theta: np.ndarray
    t_xz: np.ndarray
    feature_names: tuple[str, ...]
    observables: Observables
    scaler: Standardizer
    theta_scaler: Standardizer
    n_effective: dict[float, float] = field(default_factory=dict)
    seed: int = 0

    def __len__(self) -> int:
        return len(self.t_xz)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns a training loop needs, by name."""
        return {"x": self.x, "theta": self.theta, "t_xz": self.t_xz}


# ------------------------------------------------------------------------------------------------------------------
# observables
# ------------------------------------------------------------------------------------------------------------------
def observables_matrix(events: Events, observables: Observables = "thesis-ch7") -> tuple[np.ndarray, list[str]]:
    """Design matrix ``(n, d)`` of the events' observables and the column names.

    Parameters
    ----------
    events
        Offshell events.
    observables
        A feature list of :func:`hepnb.offshell.feature_matrix` (``"thesis-ch7"``: the 35 MadMiner observables with
        their defaults for missing objects; ``"thesis-ch6"``) or a list of fields of ``events.x`` (``["m4l",
        "delta_eta_jj"]``), which must be defined (not NaN) for every event.
    """
    if not isinstance(events, Events):
        raise InputError(f"events must be hepnb.offshell.Events, got {type(events).__name__}")
    if isinstance(observables, str):
        if observables not in FEATURE_LISTS:
            raise InputError(f"observables must be one of {sorted(FEATURE_LISTS)} or a list of fields of "
                             f"events.x, got {observables!r}")
        return feature_matrix(events.x, observables)
    names = list(observables)
    if not names:
        raise InputError("observables is an empty list: name at least one field of events.x")
    fields = set(events.x.fields)
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise InputError(f"unknown observables {unknown}; the fields of events.x are {sorted(fields)}")
    x = np.stack([np.asarray(events.x[n], dtype=np.float64) for n in names], axis=1)
    bad = ~np.isfinite(x)
    if bad.any():
        worst = names[int(np.argmax(bad.sum(axis=0)))]
        raise InputError(f"{int(bad.any(axis=1).sum())} events have a missing (NaN) observable, most often "
                         f"{worst!r}; use a feature list with defaults (observables='thesis-ch7') or select events "
                         "where every observable is defined")
    return x, names


# ------------------------------------------------------------------------------------------------------------------
# sources, closest benchmark, resampling
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class _Source:
    events: Events
    kappa: float | None
    x: np.ndarray


def _sources(events: Events | Mapping[float, Events], observables: Observables) -> tuple[list[_Source], list[str]]:
    if isinstance(events, Events):
        items: list[tuple[float | None, Events]] = [(_benchmark_of(events), events)]
    elif isinstance(events, Mapping):
        if not events:
            raise InputError("events is an empty mapping: give {benchmark kappa: Events} with at least one sample")
        items = []
        for k, ev in events.items():
            kappa = float(k)
            if not np.isfinite(kappa) or kappa < 0:
                raise InputError(f"benchmark kappas must be finite and >= 0, got {k!r}")
            if not isinstance(ev, Events):
                raise InputError(f"the sample of benchmark kappa={k} must be Events, got {type(ev).__name__}")
            items.append((kappa, ev))
    else:
        raise InputError("events must be an Events sample or a mapping {benchmark kappa: Events}, "
                         f"got {type(events).__name__}")
    sources, names = [], None
    for kappa, ev in items:
        if len(ev) == 0:
            raise InputError(f"the source sample of benchmark kappa={kappa} is empty")
        x, n = observables_matrix(ev, observables)
        names = n
        sources.append(_Source(ev, kappa, x))
    return sources, list(names or [])


def _benchmark_of(events: Events) -> float | None:
    if events.meta.get("kind") == "unweighted" and "mu" in events.meta:
        return float(events.meta["mu"]) ** 0.25
    return None


def _closest(sources: list[_Source], kappa: float) -> _Source:
    if len(sources) == 1:
        return sources[0]
    return min(sources, key=lambda s: abs(float(s.kappa) - kappa))  # type: ignore[arg-type]


def _combined_yields(sources: list[_Source], yields: Mapping[str, float] | None) -> dict[str, float]:
    if yields is not None:
        missing = {"S", "I", "B"} - set(yields)
        if missing:
            raise InputError(f"yields must give 'S', 'I' and 'B' (expected events), missing {sorted(missing)}")
        return {k: float(yields[k]) for k in ("S", "I", "B")}
    ys = [s.events.yields for s in sources]
    return {k: float(np.mean([y[k] for y in ys])) for k in ("S", "I", "B")}


def _weights_at(source: _Source, kappa: float, how: str) -> np.ndarray:
    if how == "components":
        w = source.events.weight(kappa**4)
    else:
        w = np.maximum(morph(benchmark_weights(source.events, BASIS_KAPPAS), kappa), 0.0)
    if np.any(w < 0):
        raise InputError(f"{int((w < 0).sum())} events have negative weight at kappa={kappa}; resampling needs "
                         "w >= 0 (switch off the negative_pocket pathology)")
    if not w.sum() > 0:
        raise InputError(f"no event of the source sample has positive weight at kappa={kappa}")
    return w


def _check_kappas(values: Any, name: str) -> np.ndarray:
    try:
        k = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or a list of kappa values, got {values!r}") from None
    if k.ndim != 1 or k.size == 0 or not np.all(np.isfinite(k)) or np.any(k < 0):
        raise InputError(f"{name} must be a non-empty list of finite kappa >= 0 (mu = kappa^4), got {values!r}")
    return k


def _check_common(n_samples: Any, seed: Any, weights: str) -> None:
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise InputError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if weights not in ("components", "morphing"):
        raise InputError(f"weights must be 'components' (exact reweighting) or 'morphing' (quartic kappa morphing "
                         f"through {BASIS_KAPPAS}), got {weights!r}")


class _Miner:
    """Draws events at parameter points and caches their joint quantities per (source, kappa)."""

    def __init__(self, sources: list[_Source], yields: dict[str, float], weights: str, seed: int) -> None:
        self.sources, self.yields, self.how = sources, yields, weights
        self.rng = np.random.default_rng(np.random.SeedSequence([int(seed), 20_180_500]))
        self.n_effective: dict[float, float] = {}

    def draw(self, kappa: float, n: int) -> tuple[_Source, np.ndarray]:
        source = _closest(self.sources, kappa)
        w = _weights_at(source, kappa, self.how)
        self.n_effective[float(kappa)] = effective_sample_size(w, "max_weight")
        idx = self.rng.choice(len(w), size=n, replace=True, p=w / w.sum())
        return source, idx

    def log_ratio(self, source: _Source, idx: np.ndarray, k0: float, k1: float) -> np.ndarray:
        return joint_log_ratio(source.events, k0**4, k1**4, self.yields)[idx]

    def score(self, source: _Source, idx: np.ndarray, kappa: float) -> np.ndarray:
        return joint_score(source.events, kappa**4, "kappa", self.yields)[idx]


# ------------------------------------------------------------------------------------------------------------------
# public samplers
# ------------------------------------------------------------------------------------------------------------------
def mine_ratio_sample(
    events: Events | Mapping[float, Events],
    n_samples: int,
    seed: int,
    *,
    theta0: Sequence[float] = THESIS_KAPPAS,
    theta1: float | Sequence[float] = 1.0,
    observables: Observables = "thesis-ch7",
    yields: Mapping[str, float] | None = None,
    weights: str = "components",
) -> RatioSample:
    """Augmented sample ``(x, theta0, theta1, y, log r(x,z), t(x,z))`` for parameterised ratio estimators.

    For each numerator point ``theta0_j`` (and its reference ``theta1_j``), ``n_samples // (2 len(theta0))`` events
    are drawn from ``p(x, z | theta0_j)`` with ``y = 0`` and as many from ``p(x, z | theta1_j)`` with ``y = 1``
    (MadMiner ``sample_train_ratio``).

    Parameters
    ----------
    events
        Weighted or unweighted offshell events, or ``{benchmark kappa: Events}`` (for instance unweighted samples
        at :data:`hepnb.offshell.BENCHMARK_KAPPAS`); each point is drawn from the closest benchmark only.
    n_samples
        Total number of rows (rounded down to a multiple of ``2 len(theta0)``).
    seed
        Seed of the resampling; the same seed gives the same arrays.
    theta0
        Numerator points in kappa (default: the ch7 hand-picked list :data:`THESIS_KAPPAS`).
    theta1
        Reference kappa (default the SM, 1), or one reference per ``theta0`` point for the doubly parameterised
        estimator.
    observables
        Feature list or fields of ``events.x`` (:func:`observables_matrix`).
    yields
        ``S, I, B`` defining ``sigma(mu)`` in the joint ratio and score (default: the mean of the sources' yields).
    weights
        ``"components"`` (exact per-event reweighting) or ``"morphing"`` (weights interpolated through the five
        basis benchmarks, as MadMiner; negative interpolation round-off is clipped to 0).
    """
    _check_common(n_samples, seed, weights)
    k0 = _check_kappas(theta0, "theta0")
    k1 = _check_kappas(theta1, "theta1")
    if k1.size == 1:
        k1 = np.full(k0.size, float(k1[0]))
    elif k1.size != k0.size:
        raise InputError(f"theta1 must be one kappa or one per theta0 point ({k0.size}), got {k1.size} values")
    n_each = int(n_samples) // (2 * k0.size)
    if n_each < 1:
        raise InputError(f"n_samples={n_samples} is too small for {k0.size} parameter points: give at least "
                         f"{2 * k0.size}")
    sources, names = _sources(events, observables)
    miner = _Miner(sources, _combined_yields(sources, yields), weights, seed)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("x", "theta0", "theta1", "y", "log_r_xz", "t_xz", "t1_xz")}
    for a, b in zip(k0, k1):
        for label, kappa in ((0.0, a), (1.0, b)):
            source, idx = miner.draw(float(kappa), n_each)
            cols["x"].append(source.x[idx])
            cols["theta0"].append(np.full(n_each, a))
            cols["theta1"].append(np.full(n_each, b))
            cols["y"].append(np.full(n_each, label))
            cols["log_r_xz"].append(miner.log_ratio(source, idx, a, b))
            cols["t_xz"].append(miner.score(source, idx, a))
            cols["t1_xz"].append(miner.score(source, idx, b))
    out = {k: np.concatenate(v) for k, v in cols.items()}
    _check_finite(out, "the ratio sample")
    thetas = np.concatenate([out["theta0"], out["theta1"]]) if np.ptp(k1) > 0 else out["theta0"]
    return RatioSample(**out, feature_names=tuple(names), observables=_freeze(observables),
                       scaler=Standardizer.fit(out["x"]), theta_scaler=Standardizer.fit(thetas),
                       n_effective=dict(miner.n_effective), seed=int(seed))


def mine_local_sample(
    events: Events | Mapping[float, Events],
    n_samples: int,
    seed: int,
    *,
    theta: float = 1.0,
    observables: Observables = "thesis-ch7",
    yields: Mapping[str, float] | None = None,
    weights: str = "components",
) -> LocalScoreSample:
    """``n_samples`` events ``x ~ p(x | theta)`` with the joint score ``t(x, z | theta)`` in kappa (SALLY/SALLINO).

    Parameters are as in :func:`mine_ratio_sample`; ``theta`` is the reference point (default the SM).
    """
    _check_common(n_samples, seed, weights)
    kappa = float(_check_kappas(theta, "theta")[0])
    sources, names = _sources(events, observables)
    miner = _Miner(sources, _combined_yields(sources, yields), weights, seed)
    source, idx = miner.draw(kappa, int(n_samples))
    x, t = source.x[idx], miner.score(source, idx, kappa)
    _check_finite({"t_xz": t}, "the local score sample")
    return LocalScoreSample(x, t, kappa, tuple(names), _freeze(observables), Standardizer.fit(x),
                            dict(miner.n_effective), int(seed))


def mine_density_sample(
    events: Events | Mapping[float, Events],
    n_samples: int,
    seed: int,
    *,
    thetas: Sequence[float] = THESIS_KAPPAS,
    observables: Observables = "thesis-ch7",
    yields: Mapping[str, float] | None = None,
    weights: str = "components",
) -> DensitySample:
    """``n_samples // len(thetas)`` events ``x ~ p(x | theta)`` per point with ``t(x, z | theta)`` (NDE/SCANDAL)."""
    _check_common(n_samples, seed, weights)
    ks = _check_kappas(thetas, "thetas")
    n_each = int(n_samples) // ks.size
    if n_each < 1:
        raise InputError(f"n_samples={n_samples} is too small for {ks.size} parameter points")
    sources, names = _sources(events, observables)
    miner = _Miner(sources, _combined_yields(sources, yields), weights, seed)
    xs, th, ts = [], [], []
    for kappa in ks:
        source, idx = miner.draw(float(kappa), n_each)
        xs.append(source.x[idx])
        th.append(np.full(n_each, kappa))
        ts.append(miner.score(source, idx, float(kappa)))
    x, theta, t = np.concatenate(xs), np.concatenate(th), np.concatenate(ts)
    _check_finite({"t_xz": t}, "the density sample")
    return DensitySample(x, theta, t, tuple(names), _freeze(observables), Standardizer.fit(x),
                         Standardizer.fit(theta), dict(miner.n_effective), int(seed))


def _freeze(observables: Observables) -> Observables:
    return observables if isinstance(observables, str) else tuple(observables)


def _check_finite(columns: Mapping[str, np.ndarray], what: str) -> None:
    for name, values in columns.items():
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(f"{what} has {int(bad.sum())} non-finite {name} values (events with zero weight at a "
                             "parameter point); remove zero-weight events or choose points where every event has "
                             "w > 0")
