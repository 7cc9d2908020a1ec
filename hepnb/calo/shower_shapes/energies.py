"""Energies of a shower: per layer, in total, as fractions and over the true energy; a linear layer calibration
and the cell-level statistics (covariance, mean and spread per cell) of thesis section 5.5.2.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hepnb.calo.geometry import GEOMETRY, LAYERS
from hepnb.calo.shower_shapes._common import check_cells, per_shower, safe_ratio
from hepnb.errors import InputError, as_finite_array

__all__ = [
    "layer_energies",
    "total_energy",
    "empty_layers",
    "layer_fractions",
    "response",
    "f1",
    "f3",
    "fit_layer_weights",
    "calibrated_energy",
    "cell_covariance",
    "covariance_mse",
    "cell_moment_maps",
]


def layer_energies(cells: ArrayLike) -> np.ndarray:
    """``[N, 4]`` energy per layer (PS, Strips, Middle, Back), in the unit of ``cells``."""
    arr = check_cells(cells)
    return np.stack([arr[:, lay.slice].sum(axis=1) for lay in LAYERS], axis=1)


def total_energy(cells: ArrayLike) -> np.ndarray:
    """Sum of the 266 cells per shower."""
    return check_cells(cells).sum(axis=1)


def empty_layers(cells: ArrayLike) -> np.ndarray:
    """``[N, 4]`` booleans: the layer has no energy (sum == 0), so its moments are undefined."""
    return layer_energies(cells) == 0


def layer_fractions(cells: ArrayLike, energy: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """``[N, 4]`` fraction E_L / sum of layers, or E_L / ``energy`` (e.g. E_true) when given."""
    el = layer_energies(cells)
    den = el.sum(axis=1) if energy is None else per_shower(energy, "energy", el.shape[0])
    return safe_ratio(el, np.broadcast_to(den[:, None], el.shape), fill)


def response(cells: ArrayLike, energy: ArrayLike) -> np.ndarray:
    """Total energy over the true energy (same unit), per shower."""
    arr = check_cells(cells)
    e_true = per_shower(energy, "energy", arr.shape[0])
    if np.any(e_true <= 0):
        raise InputError("true energies must be positive")
    return arr.sum(axis=1) / e_true


def f1(cells: ArrayLike, energy: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Strip-layer fraction E_Strips / E (E = sum of layers, or ``energy``)."""
    return layer_fractions(cells, energy, fill)[:, 1]


def f3(cells: ArrayLike, energy: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Back-layer fraction E_Back / E (E = sum of layers, or ``energy``)."""
    return layer_fractions(cells, energy, fill)[:, 3]


def fit_layer_weights(cells: ArrayLike, energy: ArrayLike) -> np.ndarray:
    """Least-squares per-layer weights w_L with sum_L w_L E_L ~ E_true (a linear calibration)."""
    el = layer_energies(cells)
    e_true = per_shower(energy, "energy", el.shape[0])
    if el.shape[0] < 4:
        raise InputError("fitting four layer weights needs at least 4 showers")
    weights, *_ = np.linalg.lstsq(el, e_true, rcond=None)
    return weights


def calibrated_energy(cells: ArrayLike, weights: ArrayLike) -> np.ndarray:
    """Calibrated energy sum_L w_L E_L with per-layer ``weights`` (e.g. from `fit_layer_weights`)."""
    w = as_finite_array(weights, "weights", ndim=1)
    if w.shape != (4,):
        raise InputError(f"weights must have 4 entries (one per layer), got {w.shape}")
    return layer_energies(cells) @ w


def cell_covariance(cells: ArrayLike, energy: ArrayLike | None = None) -> np.ndarray:
    """``[266, 266]`` covariance of the cells over showers (of ``cells / energy`` when ``energy`` is given)."""
    arr = check_cells(cells)
    if arr.shape[0] < 2:
        raise InputError("the covariance needs at least 2 showers")
    if energy is not None:
        e_true = per_shower(energy, "energy", arr.shape[0])
        if np.any(e_true <= 0):
            raise InputError("true energies must be positive")
        arr = arr / e_true[:, None]
    return np.cov(arr, rowvar=False)


def covariance_mse(reference: ArrayLike, other: ArrayLike) -> float:
    """Mean squared difference between two covariance matrices (the thesis's epoch-picking number)."""
    a = as_finite_array(reference, "reference", ndim=2)
    b = as_finite_array(other, "other", ndim=2)
    if a.shape != b.shape:
        raise InputError(f"covariance matrices differ in shape: {a.shape} vs {b.shape}")
    return float(np.mean((a - b) ** 2))


def cell_moment_maps(cells: ArrayLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-cell mean and standard deviation as layer images: ``{layer: (mean [eta, phi], std [eta, phi])}``."""
    arr = check_cells(cells)
    mean = arr.mean(axis=0)
    std = arr.std(axis=0)
    return {lay.name: (GEOMETRY.image(mean, lay.name), GEOMETRY.image(std, lay.name)) for lay in LAYERS}
