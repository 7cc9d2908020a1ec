"""A Gaussian toy simulator with latent variables and an exact likelihood: the closure case of the LFI estimators.

``z ~ N(theta, sigma_z)``, ``x ~ N(z, sigma_x)`` (MadMiner's toy tutorial). The joint quantities use ``z``:
``log r(x, z | theta0, theta1) = [(z - theta1)^2 - (z - theta0)^2] / (2 sigma_z^2)``, ``t(x, z | theta) =
(z - theta) / sigma_z^2``; the marginal ``p(x | theta) = N(theta, s)`` with ``s^2 = sigma_z^2 + sigma_x^2`` gives the
exact ``log r(x | theta0, theta1) = [(x - theta1)^2 - (x - theta0)^2] / (2 s^2)`` and ``t(x | theta) = (x - theta)/s^2``
that the estimators must learn.

:meth:`GaussianToy.training_arrays` draws the training rows as MadMiner's toy tutorial does
(``examples/tutorial_toy_simulator`` of github.com/madminer-tool/madminer: ``sigma_z = 2``, ``sigma_x = 1``, ``theta0``
uniform in [-4, 4], reference 0), as plain arrays for :func:`hepnb.lfi.ratio_sample_from_arrays`. The tutorial's
``t_xz`` uses ``x`` where the joint score needs ``z``, ``(x - theta) / sigma_z^2``, which is not an unbiased
estimate of ``t(x | theta)``; here the joint score is the exact ``(z - theta) / sigma_z^2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepnb.errors import InputError
from hepnb.lfi.augmented import DensitySample, LocalScoreSample, RatioSample, Standardizer

__all__ = ["GaussianToy"]


@dataclass(frozen=True)
class GaussianToy:
    """One observable ``x``, one latent ``z``, one parameter ``theta``.

    Parameters
    ----------
    sigma_z
        Width of the latent around theta.
    sigma_x
        Smearing of the observable around the latent.
    """

    sigma_z: float = 2.0
    sigma_x: float = 1.0

    def __post_init__(self) -> None:
        if not (self.sigma_z > 0 and self.sigma_x > 0):
            raise InputError(f"sigma_z and sigma_x must be > 0, got {self.sigma_z}, {self.sigma_x}")

    @property
    def sigma(self) -> float:
        """Width of the marginal ``p(x | theta)``."""
        return float(np.hypot(self.sigma_z, self.sigma_x))

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(x, z)`` for one event per entry of ``theta``."""
        z = rng.normal(theta, self.sigma_z)
        return z + rng.normal(0.0, self.sigma_x, size=z.shape), z

    def log_ratio(self, x: np.ndarray, theta0: float | np.ndarray, theta1: float | np.ndarray) -> np.ndarray:
        """Exact ``log r(x | theta0, theta1)``."""
        return ((x - theta1) ** 2 - (x - theta0) ** 2) / (2 * self.sigma**2)

    def score(self, x: np.ndarray, theta: float | np.ndarray) -> np.ndarray:
        """Exact ``t(x | theta)``."""
        return (x - theta) / self.sigma**2

    def log_likelihood(self, x: np.ndarray, theta: float | np.ndarray) -> np.ndarray:
        """Exact ``log p(x | theta)``."""
        return -0.5 * ((x - theta) / self.sigma) ** 2 - np.log(self.sigma * np.sqrt(2 * np.pi))

    def _joint(self, z: np.ndarray, theta0: np.ndarray, theta1: np.ndarray) -> np.ndarray:
        return ((z - theta1) ** 2 - (z - theta0) ** 2) / (2 * self.sigma_z**2)

    def ratio_sample(
        self, n_samples: int, seed: int, theta0: Sequence[float], theta1: float | Sequence[float] = 0.0
    ) -> RatioSample:
        """``n_samples // (2 len(theta0))`` events per class and point, as :func:`~hepnb.lfi.mine_ratio_sample`."""
        t0 = np.atleast_1d(np.asarray(theta0, dtype=float))
        t1 = np.atleast_1d(np.asarray(theta1, dtype=float))
        t1 = np.full(t0.size, t1[0]) if t1.size == 1 else t1
        if t1.size != t0.size:
            raise InputError(f"theta1 must be one value or one per theta0 point, got {t1.size} for {t0.size}")
        n_each = int(n_samples) // (2 * t0.size)
        if n_each < 1:
            raise InputError(f"n_samples={n_samples} is too small for {t0.size} points")
        a = np.repeat(np.concatenate([t0, t0]), n_each)
        b = np.repeat(np.concatenate([t1, t1]), n_each)
        y = np.repeat(np.r_[np.zeros(t0.size), np.ones(t0.size)], n_each)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 3]))
        x, z = self.simulate(np.where(y == 0, a, b), rng)
        return RatioSample(
            x[:, None],
            a,
            b,
            y,
            self._joint(z, a, b),
            (z - a) / self.sigma_z**2,
            (z - b) / self.sigma_z**2,
            ("x",),
            ("x",),
            Standardizer.fit(x[:, None]),
            Standardizer.fit(np.concatenate([a, b]) if np.ptp(t1) > 0 else a),
            {},
            int(seed),
        )

    def training_arrays(
        self,
        n_samples: int,
        seed: int,
        *,
        theta_range: tuple[float, float] = (-4.0, 4.0),
        theta1: float = 0.0,
    ) -> dict[str, np.ndarray]:
        """MadMiner's toy training rows as arrays: ``n_samples // 2`` points ``theta0 ~ U(theta_range)``.

        For each point one event is drawn at ``theta0`` (``y = 0``) and one at the reference ``theta1`` (``y =
        1``), both with ``theta0`` as parameter, the joint ``log r(x, z | theta0, theta1)`` and the joint scores at
        ``theta0`` and ``theta1``. The keys are the arguments of :func:`hepnb.lfi.ratio_sample_from_arrays`.

        >>> arrays = GaussianToy().training_arrays(4, seed=0)
        >>> sorted(arrays), arrays["x"].shape, arrays["y"].tolist()
        (['log_r_xz', 't1_xz', 't_xz', 'theta0', 'theta1', 'x', 'y'], (4, 1), [0.0, 0.0, 1.0, 1.0])
        """
        n_points = int(n_samples) // 2
        lo, hi = (float(v) for v in theta_range)
        if n_points < 1 or not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise InputError(f"need n_samples >= 2 and a finite theta_range (lo, hi), got {n_samples}, {theta_range}")
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 6]))
        a = np.tile(rng.uniform(lo, hi, n_points), 2)
        b = np.full(2 * n_points, float(theta1))
        y = np.repeat([0.0, 1.0], n_points)
        x, z = self.simulate(np.where(y == 0, a, b), rng)
        return {
            "x": x[:, None],
            "theta0": a,
            "theta1": b,
            "y": y,
            "log_r_xz": self._joint(z, a, b),
            "t_xz": (z - a) / self.sigma_z**2,
            "t1_xz": (z - b) / self.sigma_z**2,
        }

    def local_sample(self, n_samples: int, seed: int, theta: float = 0.0) -> LocalScoreSample:
        """``x ~ p(x | theta)`` with the joint score at ``theta``."""
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 4]))
        x, z = self.simulate(np.full(int(n_samples), float(theta)), rng)
        return LocalScoreSample(
            x[:, None],
            (z - theta) / self.sigma_z**2,
            float(theta),
            ("x",),
            ("x",),
            Standardizer.fit(x[:, None]),
            {},
            int(seed),
        )

    def density_sample(self, n_samples: int, seed: int, thetas: Sequence[float]) -> DensitySample:
        """``x ~ p(x | theta)`` at each point with the joint score."""
        th = np.repeat(np.asarray(thetas, dtype=float), int(n_samples) // len(thetas))
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 5]))
        x, z = self.simulate(th, rng)
        return DensitySample(
            x[:, None],
            th,
            (z - th) / self.sigma_z**2,
            ("x",),
            ("x",),
            Standardizer.fit(x[:, None]),
            Standardizer.fit(th),
            {},
            int(seed),
        )
