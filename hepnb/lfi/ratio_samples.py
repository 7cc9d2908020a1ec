"""Augmented samples of the (doubly) parameterised likelihood-ratio estimators: CARL, ROLR, RASCAL, ALICE(S), CASCAL.

:func:`mine_ratio_sample` draws, for each numerator point ``theta0`` and its reference ``theta1``, as many events
from ``p(x, z | theta0)`` as from ``p(x, z | theta1)`` (MadMiner ``sample_train_ratio``, arXiv:1805.00020) with the
joint log likelihood ratio ``log r(x, z | theta0, theta1)`` (:func:`hepnb.offshell.joint_log_ratio`) and the joint
scores ``t(x, z | theta)`` in kappa (:func:`hepnb.offshell.joint_score`) at both points. The resampling is that of
:mod:`hepnb.lfi.mining`.
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

__all__ = ["RatioSample", "mine_ratio_sample"]


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

    Examples
    --------
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> sample = lfi.mine_ratio_sample(events, 400, seed=2, theta0=[0.5, 1.5], theta1=[1.5, 0.5])
    >>> sample.doubly_parameterized, sorted(sample.arrays())
    (True, ['log_r_xz', 't1_xz', 't_xz', 'theta0', 'theta1', 'x', 'y'])
    >>> sample.theta_scaler.mean.round(2), sample.theta_scaler.transform(np.array([0.5, 1.5])).round(2)
    (array([1.]), array([-1.,  1.]))
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
        return {
            "x": self.x,
            "theta0": self.theta0,
            "theta1": self.theta1,
            "y": self.y,
            "log_r_xz": self.log_r_xz,
            "t_xz": self.t_xz,
            "t1_xz": self.t1_xz,
        }


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
        Feature list or fields of ``events.x`` (:func:`~hepnb.lfi.mining.observables_matrix`).
    yields
        ``S, I, B`` defining ``sigma(mu)`` in the joint ratio and score (default: the mean of the sources' yields).
    weights
        ``"components"`` (exact per-event reweighting) or ``"morphing"`` (weights interpolated through the five
        basis benchmarks, as MadMiner; negative interpolation round-off is clipped to 0).

    Returns
    -------
    RatioSample
        ``n_samples // (2 len(theta0))`` rows per point and label, in the order of ``theta0``, ``y = 0`` first.

    Examples
    --------
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> sample = lfi.mine_ratio_sample(events, 400, seed=2, theta0=[1.0, 1.5])
    >>> len(sample), sample.x.shape, sample.feature_names[-1], sample.doubly_parameterized
    (400, (400, 35), 'm4l', False)
    >>> np.unique(sample.theta0).tolist(), np.unique(sample.theta1).tolist(), int(sample.y.sum())
    ([1.0, 1.5], [1.0], 200)
    >>> at_sm = sample.theta0 == 1.0  # theta0 = theta1: the joint ratio is 1 and both scores agree
    >>> bool(np.all(sample.log_r_xz[at_sm] == 0)), bool(np.allclose(sample.t_xz[at_sm], sample.t1_xz[at_sm]))
    (True, True)
    >>> again = lfi.mine_ratio_sample(events, 400, seed=2, theta0=[1.0, 1.5])
    >>> bool(np.array_equal(again.x, sample.x) and np.array_equal(again.log_r_xz, sample.log_r_xz))
    True
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
        raise InputError(
            f"n_samples={n_samples} is too small for {k0.size} parameter points: give at least {2 * k0.size}"
        )
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
    return RatioSample(
        **out,
        feature_names=tuple(names),
        observables=_freeze(observables),
        scaler=Standardizer.fit(out["x"]),
        theta_scaler=Standardizer.fit(thetas),
        n_effective=dict(miner.n_effective),
        seed=int(seed),
    )
