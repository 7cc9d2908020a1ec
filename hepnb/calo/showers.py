"""`Showers`: the simulator's output, 266-cell crops and their conditions, and its ``.npz`` file format."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError
from hepnb.io import atomic_write
from hepnb.units import GeV

from .geometry import LAYER_NAMES, N_CELLS

__all__ = ["FORMAT_VERSION", "Showers"]

FORMAT_VERSION = 1
"""Version of the ``.npz`` layout `Showers.to_npz` writes (recorded in its ``meta`` array)."""

_ARRAY_FIELDS = (
    "cells",
    "energy",
    "eta",
    "phi",
    "p",
    "e",
    "delta_eta",
    "delta_phi",
    "impact_eta_index",
    "impact_phi_index",
    "half",
    "layer_energy",
)


@dataclass(frozen=True, eq=False)
class Showers:
    """Simulated showers on the 266-cell crop and their conditions.

    Attributes
    ----------
    cells
        ``[N, 266]`` float32 cell energies in **MeV**, in the flat order of `hepnb.calo.geometry`.
    energy
        ``[N]`` true photon energy in MeV.
    eta, phi
        ``[N]`` extrapolated (reported) impact position; eta keeps its sign (see ``half``).
    p, e
        ``[N]`` int8 alignment configurations (p0..p3, e0/e1).
    delta_eta, delta_phi
        ``[N]`` impact position relative to the impact-cell centre (in the mirrored, eta > 0 frame).
    impact_eta_index, impact_phi_index
        ``[N]`` int32 global Middle-cell indices of the impact cell (mirrored frame).
    half
        ``[N]`` int8, +1 for eta > 0 and -1 for mirrored eta < 0 showers.
    layer_energy
        ``[N, 4]`` float32 true deposits per layer (MeV, EM scale) before cropping and sampling fluctuations;
        ``cells`` summed over a layer, divided by this, measures containment.
    """

    cells: np.ndarray
    energy: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    p: np.ndarray
    e: np.ndarray
    delta_eta: np.ndarray
    delta_phi: np.ndarray
    impact_eta_index: np.ndarray
    impact_phi_index: np.ndarray
    half: np.ndarray
    layer_energy: np.ndarray

    def __post_init__(self) -> None:
        cells = np.asarray(self.cells)
        if cells.ndim != 2 or cells.shape[1] != N_CELLS:
            raise InputError(f"Showers.cells must have shape [N, 266], got {cells.shape}")
        n = cells.shape[0]
        for f in fields(self):
            arr = np.asarray(getattr(self, f.name))
            want = (n, 4) if f.name == "layer_energy" else (n, N_CELLS) if f.name == "cells" else (n,)
            if arr.shape != want:
                raise InputError(f"Showers.{f.name} must have shape {want}, got {arr.shape}")

    def __len__(self) -> int:
        return int(self.cells.shape[0])

    @property
    def energy_gev(self) -> np.ndarray:
        """True energies in GeV."""
        return self.energy / GeV

    @property
    def normalised(self) -> np.ndarray:
        """Cells divided by the true energy (float32), the GAN's training target."""
        return (self.cells / self.energy[:, None]).astype(np.float32)

    def subset(self, index: ArrayLike) -> Showers:
        """Showers selected by a boolean mask or integer index array."""
        idx = np.asarray(index)
        return Showers(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def concatenate(cls, parts: Sequence[Showers]) -> Showers:
        """Join several `Showers` in order."""
        if not parts:
            raise InputError("concatenate needs at least one Showers object")
        return cls(**{f.name: np.concatenate([getattr(s, f.name) for s in parts]) for f in fields(cls)})

    def to_npz(self, path: str | os.PathLike[str]) -> Path:
        """Write all arrays to a compressed ``.npz`` file, atomically; returns the path."""
        path = Path(path)
        meta = {
            "format_version": FORMAT_VERSION,
            "energy_unit": "MeV",
            "cells_unit": "MeV",
            "layers": list(LAYER_NAMES),
            "n_cells": N_CELLS,
        }
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        with atomic_write(path, "wb") as handle:
            np.savez_compressed(handle, meta=np.array(json.dumps(meta)), **arrays)
        return path

    @classmethod
    def from_npz(cls, path: str | os.PathLike[str]) -> Showers:
        """Read showers written by `to_npz`; a missing or corrupt file raises `InputError`."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"no shower file at {path}; create it with simulate(...).to_npz({str(path)!r})")
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [name for name in (*_ARRAY_FIELDS, "meta") if name not in data.files]
                if missing:
                    raise InputError(f"{path} is not a Showers file: missing arrays {missing}; regenerate it")
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name] for name in _ARRAY_FIELDS}
        except InputError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
            raise InputError(f"{path} is corrupt or not an .npz file ({err}); regenerate it with to_npz") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise InputError(f"{path} has format version {meta.get('format_version')}, expected {FORMAT_VERSION}")
        return cls(**arrays)
