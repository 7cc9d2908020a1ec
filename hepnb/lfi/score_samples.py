"""Augmented samples at fixed parameter points with the joint score: local score (SALLY, SALLINO) and conditional
density (NDE, SCANDAL) estimators.

:func:`mine_local_sample` draws ``x ~ p(x | theta)`` at one reference point, :func:`mine_density_sample` at each of
a list of points; every row carries the joint score ``t(x, z | theta) = d/dkappa log p(z | kappa)``
(:func:`hepnb.offshell.joint_score`, arXiv:1805.00020). The resampling is that of :mod:`hepnb.lfi.mining`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hepnb.errors import InputError
from hepnb.lfi.mining import (
    THESIS_KAPPAS,
    Observables,
    Standardizer,
    _check_common,
    _check_finite,
    _check_kappas,
    _combined_yields,
    _freeze,
    _Miner,
    _sources,
)
from hepnb.offshell import Events

__all__ = ["LocalScoreSample", "DensitySample", "mine_local_sample", "mine_density_sample"]


@dataclass(frozen=True, eq=False)
class LocalScoreSample:
    """Training data of a local score estimator (SALLY/SALLINO): ``x ~ p(x | theta)`` with ``t(x, z | theta)``.

    Attributes
    ----------
    x
        Raw observables ``(n, d)``.
    t_xz
        Joint score in kappa at ``theta``, shape ``(n,)``.
    theta
        The reference point (kappa).
    feature_names, observables, scaler, n_effective, seed
        As in :class:`~hepnb.lfi.ratio_samples.RatioSample`.

    Examples
    --------
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> sample = lfi.mine_local_sample(events, 500, seed=3)
    >>> len(sample), {name: a.shape for name, a in sample.arrays().items()}
    (500, {'x': (500, 35), 't_xz': (500,)})
    >>> sample.scaler.mean.shape, bool(np.allclose(sample.scaler.transform(sample.x).mean(axis=0), 0))
    ((35,), True)
    """

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
    """Training data of a conditional density estimator (NDE/SCANDAL): ``x ~ p(x | theta)`` with ``t(x, z|theta)``.

    Attributes
    ----------
    x
        Raw observables ``(n, d)``.
    theta
        The parameter point (kappa) each row was drawn at, shape ``(n,)``.
    t_xz
        Joint score in kappa at the row's ``theta``.
    theta_scaler
        Standardisation of ``theta``, fitted on this sample.
    feature_names, observables, scaler, n_effective, seed
        As in :class:`~hepnb.lfi.ratio_samples.RatioSample`.

    Examples
    --------
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> sample = lfi.mine_density_sample(events, 600, seed=4, thetas=[0.5, 1.0, 1.5])
    >>> len(sample), {name: a.shape for name, a in sample.arrays().items()}
    (600, {'x': (600, 35), 'theta': (600,), 't_xz': (600,)})
    >>> sample.theta_scaler.mean.round(2), sorted(sample.n_effective)
    (array([1.]), [0.5, 1.0, 1.5])
    """

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

    Parameters are as in :func:`~hepnb.lfi.ratio_samples.mine_ratio_sample`; ``theta`` is the reference point
    (default the SM).

    Examples
    --------
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> sample = lfi.mine_local_sample(events, 1_000, seed=3)
    >>> len(sample), sample.x.shape, sample.theta, list(sample.n_effective)
    (1000, (1000, 35), 1.0, [1.0])
    >>> bool(abs(sample.t_xz.mean()) < 0.1)  # E[t(x,z|theta)] = 0 under theta (0 on the weighted source exactly)
    True
    """
    _check_common(n_samples, seed, weights)
    kappa = float(_check_kappas(theta, "theta")[0])
    sources, names = _sources(events, observables)
    miner = _Miner(sources, _combined_yields(sources, yields), weights, seed)
    source, idx = miner.draw(kappa, int(n_samples))
    x, t = source.x[idx], miner.score(source, idx, kappa)
    _check_finite({"t_xz": t}, "the local score sample")
    return LocalScoreSample(
        x, t, kappa, tuple(names), _freeze(observables), Standardizer.fit(x), dict(miner.n_effective), int(seed)
    )


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
    """``n_samples // len(thetas)`` events ``x ~ p(x | theta)`` per point with ``t(x, z | theta)`` (NDE/SCANDAL).

    Parameters are as in :func:`~hepnb.lfi.ratio_samples.mine_ratio_sample`; ``thetas`` are the points in kappa
    (default :data:`~hepnb.lfi.mining.THESIS_KAPPAS`).

    Examples
    --------
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> sample = lfi.mine_density_sample(events, 601, seed=4, thetas=[0.5, 1.0, 1.5])
    >>> values, counts = np.unique(sample.theta, return_counts=True)
    >>> len(sample), values.tolist(), counts.tolist()  # 601 // 3 rows per point
    (600, [0.5, 1.0, 1.5], [200, 200, 200])
    """
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
    return DensitySample(
        x,
        theta,
        t,
        tuple(names),
        _freeze(observables),
        Standardizer.fit(x),
        Standardizer.fit(theta),
        dict(miner.n_effective),
        int(seed),
    )
