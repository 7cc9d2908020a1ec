"""Particle clouds in JetNet's format as GAN training data: checks, standardisation and batches.

A cloud is ``[N, P, 4]`` = (eta_rel, phi_rel, pT_rel, mask), as :meth:`hepnb.jets.io.JetSample.particle_features`
gives it for the ``jetnet`` preset (Kansal et al., arXiv:2106.11535). The networks see, for each real particle,

``(eta_rel, phi_rel, log pT_rel)`` standardised with the mean and standard deviation of the real particles of the
training jets,

the thesis's choice of a logarithmic momentum (section 7.4: "log E and log pT ... are easier to train on"), which also
keeps every generated pT positive. Padded particles are zero and masked. The constants, and the multiplicity
distribution of the training jets (which EPiC-GAN samples its sizes from), form a :class:`JetPreprocessing` that the
models keep in their hyper-parameters, so that a checkpoint alone generates jets in physical units.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> jets = np.zeros((200, 4, 4), np.float32)
>>> jets[:, :2] = np.stack([rng.normal(0, .1, (200, 2)), rng.normal(0, .1, (200, 2)), np.full((200, 2), .5),
...                         np.ones((200, 2))], axis=-1)
>>> preprocessing = JetPreprocessing.fit(jets)
>>> preprocessing.multiplicity
(0.0, 1.0, 0.0, 0.0)
>>> features, mask = preprocessing.normalise(jets)
>>> np.allclose(preprocessing.denormalise(features, mask), jets, atol=1e-6)
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import hist
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from hepnb.errors import InputError, as_finite_array, is_whole_number

__all__ = ["N_FEATURES", "JetPreprocessing", "JetDataModule", "check_particles", "split_held_out"]

N_FEATURES = 3
"""Particle features the networks model: eta_rel, phi_rel and log pT_rel (the mask is implied)."""


def check_particles(particles: Any, name: str = "particles") -> np.ndarray:
    """``particles`` as a float32 ``[N, P, 4]`` JetNet cloud, refusing what the GANs cannot train on.

    Every jet needs a real particle, every real particle a positive pT_rel, and the mask column must be 0 or 1.
    """
    array = as_finite_array(particles, name, ndim=3)
    if array.shape[-1] != 4 or array.shape[0] < 1 or array.shape[1] < 1:
        raise InputError(
            f"{name} must be JetNet particle clouds [N, P, 4] = (eta_rel, phi_rel, pT_rel, mask), as "
            f"read_jets(folder).particle_features() gives for the jetnet preset; got shape {array.shape}"
        )
    mask = array[..., 3]
    if not np.isin(mask, (0.0, 1.0)).all():
        raise InputError(
            f"the mask column (last feature) of {name} must hold 0 or 1; got values such as "
            f"{float(mask[~np.isin(mask, (0.0, 1.0))][0])}"
        )
    empty = ~mask.astype(bool).any(axis=1)
    if empty.any():
        raise InputError(
            f"{int(empty.sum())} jets of {name} have no particle (first: jet {int(np.argmax(empty))}); drop them first"
        )
    pt = array[..., 2][mask == 1]
    if not (pt > 0).all():
        raise InputError(
            f"{int(np.sum(pt <= 0))} real particles of {name} have pT_rel <= 0; the GANs model "
            "log pT_rel: drop those particles (set their mask to 0)"
        )
    return array.astype(np.float32)


@dataclass(frozen=True)
class JetPreprocessing:
    """What the GANs learn from the training jets before training: standardisation and multiplicities.

    Attributes
    ----------
    mean, std
        Mean and standard deviation of (eta_rel, phi_rel, log pT_rel) over the real particles.
    multiplicity
        Fraction of training jets with n = 1, 2, ..., P real particles (its length is P).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    multiplicity: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != N_FEATURES or len(self.std) != N_FEATURES or not all(s > 0 for s in self.std):
            raise InputError(
                f"need {N_FEATURES} means and {N_FEATURES} positive standard deviations, got "
                f"mean={self.mean}, std={self.std}"
            )
        total = sum(self.multiplicity)
        if not self.multiplicity or min(self.multiplicity) < 0 or abs(total - 1) > 1e-6:
            raise InputError(f"multiplicity must be fractions over n = 1 ... P summing to 1, got {self.multiplicity}")

    @property
    def n_particles(self) -> int:
        """P, the particle slots of a jet."""
        return len(self.multiplicity)

    @classmethod
    def fit(cls, particles: Any) -> JetPreprocessing:
        """Fit the constants on training clouds ``[N, P, 4]`` (:func:`check_particles`)."""
        array = check_particles(particles)
        mask = array[..., 3] == 1
        real = _transform(array[mask][:, :3].astype(np.float64))
        std = real.std(axis=0)
        if not (std > 0).all():
            raise InputError(
                f"a particle feature is constant over the training jets (std {std.tolist()}); "
                "the standardisation needs spread in eta_rel, phi_rel and pT_rel"
            )
        sizes = hist.Hist(
            hist.axis.Integer(1, array.shape[1] + 1, underflow=False, overflow=False), storage=hist.storage.Int64()
        )
        counts = sizes.fill(mask.sum(axis=1)).values()  # every jet has 1 ... P real particles
        return cls(tuple(real.mean(axis=0).tolist()), tuple(std.tolist()), tuple((counts / counts.sum()).tolist()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready constants (stored in the models' hyper-parameters)."""
        return {key: list(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> JetPreprocessing:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(**{key: tuple(float(v) for v in values[key]) for key in ("mean", "std", "multiplicity")})
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"not JetPreprocessing constants ({err!r}); pass JetPreprocessing.to_dict()") from None

    def normalise(self, particles: Any) -> tuple[np.ndarray, np.ndarray]:
        """Network inputs of clouds ``[N, P, 4]``: features ``[N, P, 3]`` float32 (0 where padded) and the
        boolean mask ``[N, P]``."""
        array = check_particles(particles)
        if array.shape[1] != self.n_particles:
            raise InputError(
                f"the clouds have {array.shape[1]} particle slots, the preprocessing "
                f"{self.n_particles}: use jets of the same preset"
            )
        mask = array[..., 3] == 1
        features = (_transform(array[..., :3].astype(np.float64), mask) - self.mean) / self.std
        return np.where(mask[..., None], features, 0.0).astype(np.float32), mask

    def denormalise(self, features: Any, mask: Any) -> np.ndarray:
        """JetNet clouds ``[N, P, 4]`` float32 from network outputs ``[N, P, 3]`` and their mask: real particles
        first, hardest first, padded rows all zero."""
        features, mask = np.asarray(features, np.float64), np.asarray(mask, bool)
        physical = features * self.std + self.mean
        with np.errstate(over="ignore"):  # a diverged generator gives inf, which the metrics report as NaN
            physical[..., 2] = np.exp(physical[..., 2])
        physical = np.where(mask[..., None], physical, 0.0)
        order = np.argsort(-physical[..., 2], axis=1, kind="stable")  # padded pT = 0 sort last
        jets = np.concatenate([physical, mask[..., None].astype(np.float64)], axis=-1)
        return np.take_along_axis(jets, order[..., None], axis=1).astype(np.float32)


def _transform(features: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(eta, phi, pT) -> (eta, phi, log pT); padded pT (mask False) are mapped to 0 instead of log 0."""
    out = features.copy()
    pt = out[..., 2] if mask is None else np.where(mask, out[..., 2], 1.0)
    out[..., 2] = np.log(pt)
    return out


def split_held_out(n_jets: int, n_held_out: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices ``(train, held_out)``: ``n_held_out`` of ``n_jets`` jets drawn with ``seed`` are held out."""
    if not 0 < n_held_out < n_jets:
        raise InputError(
            f"cannot hold out {n_held_out} of {n_jets} jets: need 0 < held out < jets; give more jets "
            "or fewer evaluation jets"
        )
    held_out = np.random.default_rng(seed).choice(n_jets, n_held_out, replace=False)
    train = np.setdiff1d(np.arange(n_jets), held_out)
    return train, np.sort(held_out)


class JetDataModule(L.LightningDataModule):
    """Training batches ``(features [B, P, 3], mask [B, P])`` of standardised particle clouds.

    Parameters
    ----------
    particles
        Training clouds ``[N, P, 4]`` (:func:`check_particles`).
    batch_size
        Jets per batch; the incomplete last batch is dropped (the sizes discriminator's BatchNorm needs more
        than one jet).
    preprocessing
        Constants to use; fitted on ``particles`` by default (available as ``preprocessing``).

    Notes
    -----
    The shuffling draws from the global torch RNG, which :func:`hepnb.training.fit` seeds and restores on resume.
    """

    def __init__(self, particles: Any, *, batch_size: int = 128, preprocessing: JetPreprocessing | None = None) -> None:
        super().__init__()
        if not is_whole_number(batch_size) or batch_size < 2:
            raise InputError(f"batch_size={batch_size!r} must be a whole number of at least 2")
        array = check_particles(particles)
        if len(array) < batch_size:
            raise InputError(
                f"{len(array)} training jets are fewer than one batch of {batch_size}: give more jets "
                "or a smaller batch size"
            )
        self.batch_size = int(batch_size)
        self.preprocessing = JetPreprocessing.fit(array) if preprocessing is None else preprocessing
        features, mask = self.preprocessing.normalise(array)
        self._features, self._mask = torch.as_tensor(features), torch.as_tensor(mask)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            TensorDataset(self._features, self._mask), batch_size=self.batch_size, shuffle=True, drop_last=True
        )
