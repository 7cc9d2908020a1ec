"""Checks and helpers shared by the shower-shape modules: cell arrays, per-shower inputs, safe ratios, moments."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hepnb.calo.geometry import GEOMETRY, LAYERS, N_CELLS, layer_index
from hepnb.errors import InputError, as_finite_array

__all__ = ["cell_centres", "check_cells", "layer_cells", "middle_image", "moments", "per_shower", "safe_ratio"]


def check_cells(cells: ArrayLike) -> np.ndarray:
    """``cells`` as a finite float array ``[N, 266]`` (one shower ``[266]`` becomes ``[1, 266]``)."""
    arr = as_finite_array(cells, "cells")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != N_CELLS:
        raise InputError(f"cells must have shape [N, 266] (flat crop order of hepnb.calo.geometry), got {arr.shape}")
    return arr


def per_shower(values: ArrayLike | None, name: str, n: int, *, integer: bool = False) -> np.ndarray:
    """``values`` checked to hold one value per shower (a scalar is broadcast to ``[n]``), integers if asked."""
    if values is None:
        raise InputError(f"{name} is needed for this variable: pass one value per shower")
    if integer:
        arr = np.asarray(values)
        if not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"{name} must be integers, got dtype {arr.dtype}")
    else:
        arr = as_finite_array(values, name)
    arr = np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr
    if arr.shape != (n,):
        raise InputError(f"{name} must have one value per shower ({n}), got shape {arr.shape}")
    return arr


def layer_cells(cells: np.ndarray, layer: int | str) -> np.ndarray:
    """The cells ``[N, n_layer]`` of one layer (index or name)."""
    return cells[:, LAYERS[layer_index(layer)].slice]


def safe_ratio(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """``num / den``, with ``fill`` where ``den`` is 0 (never a NaN or a warning)."""
    out = np.full(num.shape, float(fill))
    np.divide(num, den, out=out, where=den != 0)
    return out


def cell_centres(
    cells: np.ndarray, layer: int | str, axis: str, p: ArrayLike | None, e: ArrayLike | None
) -> np.ndarray:
    """Per-shower cell centres ``[N, n_layer]`` (or ``[n_layer]`` when they do not depend on alignment)."""
    k = layer_index(layer)
    n = cells.shape[0]
    sl = LAYERS[k].slice
    if axis == "eta":
        if k == 3:
            e_arr = per_shower(e, "e (Back eta needs the e-alignment)", n, integer=True)
            return GEOMETRY.centres(np.zeros(n, dtype=np.int64), e_arr)[0][:, sl]
        return GEOMETRY.eta_centres[0, 0, sl]
    if axis == "phi":
        if k in (0, 1):
            p_arr = per_shower(p, "p (Presampler/Strip phi needs the p-alignment)", n, integer=True)
            return GEOMETRY.centres(p_arr, np.zeros(n, dtype=np.int64))[1][:, sl]
        return GEOMETRY.phi_centres[0, 0, sl]
    raise InputError(f"axis must be 'eta' or 'phi', got {axis!r}")


def moments(
    cells: ArrayLike, layer: int | str, axis: str, p: ArrayLike | None, e: ArrayLike | None, fill: float
) -> tuple[np.ndarray, np.ndarray]:
    """Energy-weighted mean (``fill`` for an empty layer) and standard deviation (0) of the cell positions."""
    arr = check_cells(cells)
    x = cell_centres(arr, layer, axis, p, e)
    w = layer_cells(arr, layer)
    total = w.sum(axis=1)
    mean = safe_ratio((w * x).sum(axis=1), total, fill)
    second = safe_ratio((w * x**2).sum(axis=1), total, 0.0)
    var = np.where(total != 0, second - np.where(total != 0, mean, 0.0) ** 2, 0.0)
    return mean, np.sqrt(np.clip(var, 0.0, None))


def middle_image(cells: ArrayLike) -> np.ndarray:
    """The Middle layer as images ``[N, 7 eta, 7 phi]``."""
    return GEOMETRY.image(check_cells(cells), "middle")  # [N, 7 eta, 7 phi], impact cell at (3, 3)
