"""Preprocessing and batching of calorimeter showers for the conditional GAN (thesis sections 5.4.1-5.4.2).

Conventions (thesis §5.4.1):

- **Cells** are divided by the true particle energy: ``x = cells / E_true`` (both converted to the same unit
  first), so a shower's normalised cells sum to its response (about 1). The inverse is ``cells = x * E_true``.
  Negative cells (cross-talk in the thesis samples) are clipped to 0 by the data module before normalising, as the
  thesis did when it prepared its images; ``normalise_cells`` itself does no clipping, so it inverts exactly.
- **Condition vector** ``c`` of 9 columns, shared by the generator and both critics:
  ``[standardised ln(E_true / GeV), one-hot p (4), one-hot e (2), standardised d_eta, standardised d_phi]``.
  ``p`` in {0, 1, 2, 3} is the Strip/Presampler-to-Middle alignment in phi, ``e`` in {0, 1} the Back-to-Middle
  alignment in eta, and ``(d_eta, d_phi)`` is the extrapolated impact relative to the centre of the impact cell
  (|d_eta| <= 0.0125, |d_phi| <= pi/256 for a point inside the cell).
- **Standardisation constants** (mean and std of ln E, d_eta and d_phi) are fitted on the training half and kept in
  a :class:`Preprocessing`, which the model stores in its hyper-parameters so that a checkpoint alone can generate
  showers in physical units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from hepnb import units
from hepnb.errors import InputError, as_finite_array, check_same_length

__all__ = [
    "N_CELLS",
    "N_CONDITION",
    "N_P_ALIGNMENTS",
    "N_E_ALIGNMENTS",
    "MIDDLE_DETA",
    "MIDDLE_DPHI",
    "Preprocessing",
    "ShowerArrays",
    "checked_truth",
    "normalise_cells",
    "denormalise_cells",
    "split_train_reference",
    "CaloDataModule",
]

N_CELLS = 266
"""Cells in one shower image: PS 7x3 + Strips 56x3 + Middle 7x7 + Back 4x7."""
N_P_ALIGNMENTS = 4
N_E_ALIGNMENTS = 2
N_CONDITION = 1 + N_P_ALIGNMENTS + N_E_ALIGNMENTS + 2
"""Columns of the condition vector: ln E, p one-hot (4), e one-hot (2), d_eta, d_phi."""
MIDDLE_DETA = 0.025
"""Middle-layer cell width in eta."""
MIDDLE_DPHI = 2 * np.pi / 256
"""Middle-layer cell width in phi (the thesis's "2 pi / 8" is a typo)."""

_UNITS = ("MeV", "GeV")  # the energy units a Preprocessing accepts (names of hepnb.units.energy_unit)
# An impact farther than one full middle cell from the impact-cell centre means the offsets are not offsets.
_MAX_DETA = MIDDLE_DETA
_MAX_DPHI = MIDDLE_DPHI
# Bounds on the median normalised shower sum: outside them, cells and energy are almost surely in different units.
_RESPONSE_RANGE = (0.02, 50.0)


def _unit_factor(unit: str, name: str) -> float:
    """The value in GeV of one ``unit`` (1e-3 for MeV, 1 for GeV)."""
    if unit not in _UNITS:
        raise InputError(f"{name}={unit!r} is not a known energy unit; use one of {sorted(_UNITS)}")
    return units.energy_unit(unit) / units.GeV


def _energy_ratio(energy_unit: str, cell_unit: str) -> float:
    """How many cell units one energy unit is (1, 1000 or 1/1000)."""
    return _unit_factor(energy_unit, "energy_unit") / _unit_factor(cell_unit, "cell_unit")


def normalise_cells(
    cells: np.ndarray, energy: np.ndarray, *, energy_unit: str = "GeV", cell_unit: str = "GeV"
) -> np.ndarray:
    """Cells divided by the true energy: ``cells / E_true``, a float64 array [N, 266].

    Parameters
    ----------
    cells
        Cell energies [N, 266] in ``cell_unit``.
    energy
        True particle energy [N] in ``energy_unit``.
    energy_unit, cell_unit
        ``"MeV"`` or ``"GeV"``.

    Notes
    -----
    :func:`denormalise_cells` multiplies by the same float64 denominator, so the round trip is exact up to one
    rounding (at most 1 ulp); it is bit-exact when ``E_true`` is a power of two in cell units (the thesis energies
    2^k MeV with cells in MeV).
    """
    cells = as_finite_array(cells, "cells", ndim=2)
    energy = as_finite_array(energy, "energy", ndim=1)
    check_same_length(cells=cells, energy=energy)
    if (energy <= 0).any():
        raise InputError(f"energy must be positive, got minimum {energy.min()}")
    return cells / (energy * _energy_ratio(energy_unit, cell_unit))[:, None]


def denormalise_cells(
    normalised: np.ndarray, energy: np.ndarray, *, energy_unit: str = "GeV", cell_unit: str = "GeV"
) -> np.ndarray:
    """Inverse of :func:`normalise_cells`: ``normalised * E_true`` in ``cell_unit``, float64 [N, 266]."""
    normalised = as_finite_array(normalised, "normalised cells", ndim=2)
    energy = as_finite_array(energy, "energy", ndim=1)
    check_same_length(normalised=normalised, energy=energy)
    if (energy <= 0).any():
        raise InputError(f"energy must be positive, got minimum {energy.min()}")
    return normalised * (energy * _energy_ratio(energy_unit, cell_unit))[:, None]


def _as_category(values: Any, name: str, n: int) -> np.ndarray:
    array = as_finite_array(values, name, ndim=1)
    as_int = array.astype(np.int64)
    if (as_int != array).any() or (as_int < 0).any() or (as_int >= n).any():
        bad = array[(as_int != array) | (as_int < 0) | (as_int >= n)]
        raise InputError(f"{name} must be an integer in 0..{n - 1}, got {bad[:5].tolist()}")
    return as_int


def _check_offsets(deta: np.ndarray, dphi: np.ndarray) -> None:
    if np.abs(deta).max(initial=0) > _MAX_DETA:
        raise InputError(
            f"deta reaches {np.abs(deta).max():.4g}: it must be the impact's eta relative to the centre of the "
            f"impact cell (|deta| <= {MIDDLE_DETA / 2}), not the absolute eta"
        )
    if np.abs(dphi).max(initial=0) > _MAX_DPHI:
        raise InputError(
            f"dphi reaches {np.abs(dphi).max():.4g}: it must be the impact's phi relative to the centre of the "
            f"impact cell (|dphi| <= pi/256 = {MIDDLE_DPHI / 2:.5f}), in radians"
        )


def checked_truth(
    energy: Any, p: Any, e: Any, deta: Any, dphi: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The truth of N showers as checked 1-d arrays: float64 ``energy``, ``deta``, ``dphi`` and int64 ``p``, ``e``.

    Raises :class:`InputError` on non-finite or non-numeric values, other dimensions or lengths, alignments that are
    not integers in range, energies <= 0 and offsets beyond one middle cell.

    >>> [a.tolist() for a in checked_truth([65.536], [3], [1], [0.01], [0.0])]
    [[65.536], [3], [1], [0.01], [0.0]]
    """
    energy = as_finite_array(energy, "energy", ndim=1)
    deta = as_finite_array(deta, "deta", ndim=1)
    dphi = as_finite_array(dphi, "dphi", ndim=1)
    p = _as_category(p, "p (strip alignment)", N_P_ALIGNMENTS)
    e = _as_category(e, "e (back alignment)", N_E_ALIGNMENTS)
    check_same_length(energy=energy, p=p, e=e, deta=deta, dphi=dphi)
    if (energy <= 0).any():
        raise InputError(f"energy must be positive, got minimum {energy.min()}")
    _check_offsets(deta, dphi)
    return energy, p, e, deta, dphi


@dataclass(frozen=True)
class ShowerArrays:
    """Showers as plain arrays, checked: cells [N, 266] and the per-shower truth [N].

    Use :meth:`from_arrays` to build one from anything array-like; it raises :class:`InputError` on NaN,
    mismatched lengths, bad alignments or impact offsets that are not offsets (more than one middle cell from the
    impact-cell centre; the thesis's raw/real coordinate mix can push a few impacts just outside the cell).
    """

    cells: np.ndarray
    energy: np.ndarray
    p: np.ndarray
    e: np.ndarray
    deta: np.ndarray
    dphi: np.ndarray

    @classmethod
    def from_arrays(cls, cells: Any, energy: Any, p: Any, e: Any, deta: Any, dphi: Any) -> ShowerArrays:
        """Check and convert: float64 cells and truth, int64 alignments."""
        cells = as_finite_array(cells, "cells", ndim=2)
        if cells.shape[1] != N_CELLS:
            raise InputError(
                f"cells must have {N_CELLS} columns (flattened PS, Strips, Middle, Back), got shape {cells.shape}"
            )
        truth = {
            "energy": as_finite_array(energy, "energy", ndim=1),
            "deta": as_finite_array(deta, "deta", ndim=1),
            "dphi": as_finite_array(dphi, "dphi", ndim=1),
        }
        p = _as_category(p, "p (strip alignment)", N_P_ALIGNMENTS)
        e = _as_category(e, "e (back alignment)", N_E_ALIGNMENTS)
        check_same_length(cells=cells, p=p, e=e, **truth)
        if len(cells) == 0:
            raise InputError("no showers given (all arrays are empty)")
        if (truth["energy"] <= 0).any():
            raise InputError(f"energy must be positive, got minimum {truth['energy'].min()}")
        _check_offsets(truth["deta"], truth["dphi"])
        return cls(cells=cells, p=p, e=e, **truth)

    def __len__(self) -> int:
        return len(self.energy)

    def subset(self, index: np.ndarray) -> ShowerArrays:
        """The showers at ``index`` (integer or boolean array)."""
        return ShowerArrays(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass(frozen=True)
class Preprocessing:
    """Standardisation constants and units: maps physical inputs to network inputs and back.

    Attributes
    ----------
    log_energy_mean, log_energy_std
        Mean and std of ln(E_true / GeV) on the training set.
    deta_mean, deta_std, dphi_mean, dphi_std
        Mean and std of the impact offsets (radians / eta units) on the training set.
    energy_unit, cell_unit
        Units of ``energy`` and of ``cells`` in every call (``"MeV"`` or ``"GeV"``).
    """

    log_energy_mean: float
    log_energy_std: float
    deta_mean: float
    deta_std: float
    dphi_mean: float
    dphi_std: float
    energy_unit: str = "GeV"
    cell_unit: str = "GeV"

    def __post_init__(self) -> None:
        _unit_factor(self.energy_unit, "energy_unit")
        _unit_factor(self.cell_unit, "cell_unit")
        for name in ("log_energy_std", "deta_std", "dphi_std"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"{name}={value} must be a positive number")

    @classmethod
    def fit(cls, showers: ShowerArrays, *, energy_unit: str = "GeV", cell_unit: str = "GeV") -> Preprocessing:
        """Constants from ``showers`` (the training half). A constant column (one energy point, say) gets std 1."""
        log_energy = np.log(showers.energy * _unit_factor(energy_unit, "energy_unit"))

        def std(values: np.ndarray) -> float:
            value = float(np.std(values))
            return value if value > 0 else 1.0

        return cls(
            log_energy_mean=float(np.mean(log_energy)),
            log_energy_std=std(log_energy),
            deta_mean=float(np.mean(showers.deta)),
            deta_std=std(showers.deta),
            dphi_mean=float(np.mean(showers.dphi)),
            dphi_std=std(showers.dphi),
            energy_unit=energy_unit,
            cell_unit=cell_unit,
        )

    @classmethod
    def thesis_default(cls, *, energy_unit: str = "GeV", cell_unit: str = "GeV") -> Preprocessing:
        """Constants for the thesis grid (2^k MeV, k = 10..18, equally filled) and uniform impacts [derived].

        ln E: mean ln(2^14 MeV / GeV), std ln 2 * sqrt(60/9); offsets: mean 0, std = cell width / sqrt(12).
        """
        k = np.arange(10, 19)
        log_energy = k * np.log(2.0) + np.log(units.MeV / units.GeV)
        return cls(
            log_energy_mean=float(log_energy.mean()),
            log_energy_std=float(log_energy.std()),
            deta_mean=0.0,
            deta_std=float(MIDDLE_DETA / np.sqrt(12)),
            dphi_mean=0.0,
            dphi_std=float(MIDDLE_DPHI / np.sqrt(12)),
            energy_unit=energy_unit,
            cell_unit=cell_unit,
        )

    def trained_energy_range(self) -> tuple[float, float]:
        """The energies (in ``energy_unit``) these constants were fitted on: ``exp(mean -/+ sqrt(3) std)`` of ln E.

        Only the mean and std of ln E are recorded, so the range is estimated: exact for ln E spread uniformly; for
        the thesis grid 2^10..2^18 MeV (1.02-262 GeV, ln E spaced by ln 2) it gives about 0.72-336 GeV.
        """
        half_width = np.sqrt(3.0) * self.log_energy_std
        in_unit = 1.0 / _unit_factor(self.energy_unit, "energy_unit")
        return (
            float(np.exp(self.log_energy_mean - half_width) * in_unit),
            float(np.exp(self.log_energy_mean + half_width) * in_unit),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (what the model stores in its hyper-parameters)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise InputError(f"unknown preprocessing keys {sorted(unknown)}; expected {sorted(names)}")
        return cls(**values)

    def condition(self, energy: Any, p: Any, e: Any, deta: Any, dphi: Any) -> np.ndarray:
        """The condition vector [N, 9] (float32) for the given truth (checked: 1-d, same length, in range).

        Columns: standardised ln E, one-hot p (4), one-hot e (2), standardised d_eta, standardised d_phi.

        >>> pre = Preprocessing.thesis_default()
        >>> pre.condition([16.384], [2], [1], [0.0], [0.0]).round(6).tolist()  # 16.384 GeV: the grid's mean ln E
        [[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]]
        """
        truth = checked_truth(energy, p, e, deta, dphi)
        return self.fill_condition(np.empty((len(truth[0]), N_CONDITION), dtype=np.float32), *truth)

    def fill_condition(self, out: np.ndarray, energy: np.ndarray, p: Any, e: Any, deta: Any, dphi: Any) -> np.ndarray:
        """Write the condition vectors of checked truth (:func:`checked_truth`) into ``out`` [N, 9] and return it.

        No checks: for callers that have checked the truth once already. ``energy`` is a float64 array [N];
        ``p``, ``e`` (integers), ``deta`` and ``dphi`` (float64) are arrays [N], or numbers or 0-d arrays (the same
        for every row). The columns are computed in float64 and rounded once into ``out`` (a float32 view, say):
        the same numbers as :meth:`condition`.

        >>> pre, out = Preprocessing.thesis_default(), np.empty((2, N_CONDITION), dtype=np.float32)
        >>> energy, offsets = np.array([65.536, 65.536]), np.zeros(2)
        >>> pre.fill_condition(out, energy, np.array(3), np.array(0), offsets, offsets)[:, 1:7]
        array([[0., 0., 0., 1., 1., 0.],
               [0., 0., 0., 1., 1., 0.]], dtype=float32)
        """
        out[:, 0] = (np.log(energy * _unit_factor(self.energy_unit, "energy_unit")) - self.log_energy_mean) / (
            self.log_energy_std
        )
        offsets = ((deta - self.deta_mean) / self.deta_std, (dphi - self.dphi_mean) / self.dphi_std)
        if any(isinstance(v, np.ndarray) and v.ndim for v in (p, e, deta, dphi)):  # (np.ndim converts numbers)
            out[:, 1 : 1 + N_P_ALIGNMENTS + N_E_ALIGNMENTS] = 0.0
            rows = np.arange(len(energy))
            out[rows, 1 + p] = 1.0
            out[rows, 1 + N_P_ALIGNMENTS + e] = 1.0
            out[:, -2], out[:, -1] = offsets
        else:  # one row for all: built in Python, written once
            tail = [0.0] * (N_P_ALIGNMENTS + N_E_ALIGNMENTS) + list(offsets)
            tail[int(p)] = tail[N_P_ALIGNMENTS + int(e)] = 1.0
            out[:, 1:] = tail
        return out

    def normalise(self, cells: Any, energy: Any) -> np.ndarray:
        """``cells / E_true`` in this object's units (see :func:`normalise_cells`)."""
        return normalise_cells(cells, energy, energy_unit=self.energy_unit, cell_unit=self.cell_unit)

    def denormalise(self, normalised: Any, energy: Any) -> np.ndarray:
        """Physical cells in ``cell_unit`` (see :func:`denormalise_cells`)."""
        return denormalise_cells(normalised, energy, energy_unit=self.energy_unit, cell_unit=self.cell_unit)

    def cell_scale(self, energy: np.ndarray) -> np.ndarray:
        """``E_true`` in ``cell_unit`` (float64 [N]): the factor per shower by which :meth:`denormalise` multiplies the
        normalised cells, for callers that have checked ``energy`` already (no checks here).

        >>> Preprocessing.thesis_default(energy_unit="GeV", cell_unit="MeV").cell_scale(np.array([1.024, 65.536]))
        array([ 1024., 65536.])
        """
        return energy * _energy_ratio(self.energy_unit, self.cell_unit)


def split_train_reference(n: int, seed: int, *, train_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Random split of ``n`` showers into training and reference indices (each sorted), the same for a seed.

    The thesis trained on 50 % of the samples; the other half is the held-out reference for epoch picking.
    """
    if not 0 < train_fraction < 1:
        raise InputError(f"train_fraction={train_fraction} must be strictly between 0 and 1")
    n_train = int(round(n * train_fraction))
    if n_train < 1 or n_train >= n:
        raise InputError(f"cannot split {n} showers with train_fraction={train_fraction}: one half would be empty")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


class CaloDataModule(L.LightningDataModule):
    """Training batches ``(normalised cells [B, 266], condition [B, 9])`` from plain numpy arrays.

    The showers are split 50/50 (``train_fraction``) into a training half and a held-out reference half with
    ``seed``; the standardisation constants are fitted on the training half and available as ``preprocessing``
    (pass ``preprocessing.to_dict()`` to :class:`hepnb.calo.gan.CaloGAN`).

    Parameters
    ----------
    cells
        Cell energies [N, 266] in ``cell_unit``.
    energy
        True photon energy [N] in ``energy_unit``.
    p, e
        Strip/PS alignment in phi (0..3) and Back alignment in eta (0/1), [N].
    deta, dphi
        Extrapolated impact relative to the impact-cell centre, [N].
    batch_size
        Minibatch size (64 in the thesis); incomplete last batches are dropped.
    seed
        Seeds the train/reference split. The batch order follows the global torch seed (``hepnb.training.fit``).
    train_fraction
        Fraction of showers used for training.
    energy_unit, cell_unit
        ``"MeV"`` or ``"GeV"``.
    clip_negative
        Set negative cells to 0 before normalising (thesis §5.3.2.5).

    Attributes
    ----------
    train, reference
        The two halves as :class:`ShowerArrays` (physical units, negative cells clipped if asked).
    train_index, reference_index
        Their rows in the input arrays.
    preprocessing
        The :class:`Preprocessing` fitted on ``train``.
    """

    def __init__(
        self,
        cells: Any,
        energy: Any,
        p: Any,
        e: Any,
        deta: Any,
        dphi: Any,
        *,
        batch_size: int = 64,
        seed: int = 0,
        train_fraction: float = 0.5,
        energy_unit: str = "GeV",
        cell_unit: str = "GeV",
        clip_negative: bool = True,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise InputError(f"batch_size={batch_size} must be positive")
        _energy_ratio(energy_unit, cell_unit)  # unknown units fail first
        showers = ShowerArrays.from_arrays(cells, energy, p, e, deta, dphi)
        if clip_negative:
            showers = replace(showers, cells=np.clip(showers.cells, 0.0, None))
        self.batch_size, self.seed = batch_size, seed
        train_index, reference_index = split_train_reference(len(showers), seed, train_fraction=train_fraction)
        if len(train_index) < batch_size:
            raise InputError(
                f"the training half has {len(train_index)} showers, fewer than one batch of {batch_size}; "
                "give more showers or a smaller batch_size"
            )
        self.train_index, self.reference_index = train_index, reference_index
        self.train, self.reference = showers.subset(train_index), showers.subset(reference_index)
        self.preprocessing = Preprocessing.fit(self.train, energy_unit=energy_unit, cell_unit=cell_unit)
        normalised = self.preprocessing.normalise(self.train.cells, self.train.energy)
        response = float(np.median(normalised.sum(axis=1)))
        if not _RESPONSE_RANGE[0] <= response <= _RESPONSE_RANGE[1]:
            raise InputError(
                f"the median of sum(cells) / E_true is {response:.3g}: cells and energy look like they are in "
                f"different units (cell_unit={cell_unit!r}, energy_unit={energy_unit!r}); fix the units"
            )
        self._x = torch.as_tensor(normalised, dtype=torch.float32)
        train = self.train
        self._c = torch.as_tensor(self.preprocessing.condition(train.energy, train.p, train.e, train.deta, train.dphi))

    def train_dataloader(self) -> DataLoader:
        # The shuffling draws from the global torch RNG (seeded by ``hepnb.training.fit`` / ``seed_everything``
        # and restored on resume), so a resumed training sees the same batches as an uninterrupted one.
        return DataLoader(TensorDataset(self._x, self._c), batch_size=self.batch_size, shuffle=True, drop_last=True)
