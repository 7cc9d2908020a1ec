"""Shared machinery of the augmented samplers: observables, standardisation, sources and resampling.

The samplers of :mod:`hepnb.lfi.ratio_samples` and :mod:`hepnb.lfi.score_samples` draw events as MadMiner's
``SampleAugmenter`` does (arXiv:1805.00020): for each parameter point from the source sample whose benchmark is
closest to it, *with replacement*, with probability proportional to the events' weight at the point (exact
reweighting from the weight components ``w_S, w_I, w_B``, or the quartic kappa morphing through the five basis
benchmarks). This module holds what they share: the ch7 training points (:data:`THESIS_MUS`,
:data:`THESIS_KAPPAS`), the design matrix of the observables (:func:`observables_matrix`), the input
standardisation (:class:`Standardizer`), the sources and the miner that draws events and their joint quantities,
and the checks of the samplers' arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.metrics.weighted import effective_sample_size
from hepnb.offshell import BASIS_KAPPAS, Events, benchmark_weights, feature_matrix, joint_log_ratio, joint_score, morph
from hepnb.offshell.features import FEATURE_LISTS
from hepnb.training.standardisation import Standardizer

__all__ = ["THESIS_MUS", "THESIS_KAPPAS", "Observables", "Standardizer", "observables_matrix"]

#: The hand-picked ALICES training points of ch7 (thesis section 7.6) in mu; the printed "1, 2" is read as 1.2.
THESIS_MUS: tuple[float, ...] = (
    0.0,
    0.5,
    0.7,
    0.8,
    0.9,
    0.95,
    0.98,
    1.0,
    1.02,
    1.05,
    1.1,
    1.2,
    1.5,
    1.8,
    2.0,
    3.0,
    4.0,
    4.5,
    5.0,
    5.5,
    6.0,
    7.0,
    8.0,
    9.0,
    10.0,
    12.0,
    16.0,
)
#: The same points as the network sees them: ``kappa = mu^(1/4)``.
THESIS_KAPPAS: tuple[float, ...] = tuple(float(m**0.25) for m in THESIS_MUS)

Observables = str | Sequence[str]


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

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> x, names = observables_matrix(events, ["m4l", "pt_4l"])
    >>> x.shape, names, bool(np.array_equal(x[:, 0], np.asarray(events.x["m4l"], dtype=float)))
    ((666, 2), ['m4l', 'pt_4l'], True)
    >>> x, names = observables_matrix(events)  # the 35 observables of ch7, defaults for missing objects
    >>> x.shape, names[:2]
    ((666, 35), ['et_miss', 'phi_miss'])
    """
    if not isinstance(events, Events):
        raise InputError(f"events must be hepnb.offshell.Events, got {type(events).__name__}")
    if isinstance(observables, str):
        if observables not in FEATURE_LISTS:
            raise InputError(
                f"observables must be one of {sorted(FEATURE_LISTS)} or a list of fields of "
                f"events.x, got {observables!r}"
            )
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
        raise InputError(
            f"{int(bad.any(axis=1).sum())} events have a missing (NaN) observable, most often "
            f"{worst!r}; use a feature list with defaults (observables='thesis-ch7') or select events "
            "where every observable is defined"
        )
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
        raise InputError(
            f"events must be an Events sample or a mapping {{benchmark kappa: Events}}, got {type(events).__name__}"
        )
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
        raise InputError(
            f"{int((w < 0).sum())} events have negative weight at kappa={kappa}; resampling needs "
            "w >= 0 (switch off the negative_pocket pathology)"
        )
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
    if not is_whole_number(n_samples) or n_samples < 1:
        raise InputError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if weights not in ("components", "morphing"):
        raise InputError(
            f"weights must be 'components' (exact reweighting) or 'morphing' (quartic kappa morphing "
            f"through {BASIS_KAPPAS}), got {weights!r}"
        )


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
# shared by the samplers
# ------------------------------------------------------------------------------------------------------------------
def _freeze(observables: Observables) -> Observables:
    return observables if isinstance(observables, str) else tuple(observables)


def _check_finite(columns: Mapping[str, np.ndarray], what: str) -> None:
    for name, values in columns.items():
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(
                f"{what} has {int(bad.sum())} non-finite {name} values (events with zero weight at a "
                "parameter point); remove zero-weight events or choose points where every event has "
                "w > 0"
            )
