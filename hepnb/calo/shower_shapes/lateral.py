"""Lateral moments of a shower in eta and phi per layer (thesis sections 5.5.2-5.5.3): energy-weighted means and
widths relative to the impact-cell centre, their offsets from the impact and between layers, the S-shape profile and
the energy-weighted cell-position histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import hist
import numpy as np
from numpy.typing import ArrayLike

from hepnb.calo.geometry import LAYERS, layer_index
from hepnb.calo.shower_shapes._common import cell_centres, check_cells, layer_cells, moments, per_shower, safe_ratio
from hepnb.errors import InputError

__all__ = [
    "Profile",
    "eta_mean",
    "phi_mean",
    "eta_width",
    "phi_width",
    "delta_eta",
    "delta_phi",
    "eta_mean_difference",
    "phi_mean_difference",
    "s_shape",
    "delta_eta_cell_hist",
]


@dataclass(frozen=True)
class Profile:
    """A profile (e.g. an S-shape): per-bin mean, standard deviation and statistical error of the mean."""

    edges: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    error: np.ndarray
    count: np.ndarray

    @property
    def centres(self) -> np.ndarray:
        """Bin centres."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])


def eta_mean(cells: ArrayLike, layer: int | str, e: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Energy-weighted mean eta of a layer relative to the impact-cell centre (``e`` needed for Back)."""
    return moments(cells, layer, "eta", None, e, fill)[0]


def phi_mean(cells: ArrayLike, layer: int | str, p: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Energy-weighted mean phi of a layer relative to the impact-cell centre (``p`` needed for PS/Strips)."""
    return moments(cells, layer, "phi", p, None, fill)[0]


def eta_width(cells: ArrayLike, layer: int | str, e: ArrayLike | None = None) -> np.ndarray:
    """Energy-weighted standard deviation in eta of a layer (0 for an empty layer)."""
    return moments(cells, layer, "eta", None, e, 0.0)[1]


def phi_width(cells: ArrayLike, layer: int | str, p: ArrayLike | None = None) -> np.ndarray:
    """Energy-weighted standard deviation in phi of a layer (0 for an empty layer)."""
    return moments(cells, layer, "phi", p, None, 0.0)[1]


def delta_eta(
    cells: ArrayLike, layer: int | str, impact_delta_eta: ArrayLike, e: ArrayLike | None = None, fill: float = 0.0
) -> np.ndarray:
    """<eta>_L minus the extrapolated impact eta (both relative to the impact-cell centre)."""
    arr = check_cells(cells)
    imp = per_shower(impact_delta_eta, "impact_delta_eta", arr.shape[0])
    mean = eta_mean(arr, layer, e, fill=np.nan)
    return np.where(np.isnan(mean), fill, mean - imp)


def delta_phi(
    cells: ArrayLike, layer: int | str, impact_delta_phi: ArrayLike, p: ArrayLike | None = None, fill: float = 0.0
) -> np.ndarray:
    """<phi>_L minus the extrapolated impact phi (both relative to the impact-cell centre)."""
    arr = check_cells(cells)
    imp = per_shower(impact_delta_phi, "impact_delta_phi", arr.shape[0])
    mean = phi_mean(arr, layer, p, fill=np.nan)
    return np.where(np.isnan(mean), fill, mean - imp)


def eta_mean_difference(
    cells: ArrayLike, layer: int | str, e: ArrayLike | None = None, fill: float = 0.0
) -> np.ndarray:
    """<eta>_Middle - <eta>_L (inter-layer lateral correlation, Fig. 5.35); ``fill`` if either is empty."""
    mid = eta_mean(cells, "middle", fill=np.nan)
    other = eta_mean(cells, layer, e, fill=np.nan)
    diff = mid - other
    return np.where(np.isnan(diff), fill, diff)


def phi_mean_difference(
    cells: ArrayLike, layer: int | str, p: ArrayLike | None = None, fill: float = 0.0
) -> np.ndarray:
    """<phi>_Middle - <phi>_L; ``fill`` if either layer is empty."""
    mid = phi_mean(cells, "middle", fill=np.nan)
    other = phi_mean(cells, layer, p, fill=np.nan)
    diff = mid - other
    return np.where(np.isnan(diff), fill, diff)


def s_shape(
    cells: ArrayLike,
    layer: int | str,
    impact_delta: ArrayLike,
    *,
    axis: str = "eta",
    p: ArrayLike | None = None,
    e: ArrayLike | None = None,
    bins: int = 40,
    value_range: tuple[float, float] = (-0.0125, 0.0125),
) -> Profile:
    """Profile of <eta>_L (or <phi>_L) against the impact position inside the impact cell (Fig. 5.23).

    Showers with an empty layer are left out, and so are impacts outside ``value_range``. The Middle layer shows one
    S, the Strips eight. ``std`` is the spread of the showers in a bin (divided by n, not n - 1), ``error`` that
    spread over sqrt(n); empty bins hold zeros.
    """
    arr = check_cells(cells)
    x = per_shower(impact_delta, "impact_delta", arr.shape[0])
    if bins < 1:
        raise InputError("bins must be >= 1")
    if not value_range[0] < value_range[1]:
        raise InputError(f"value_range must be (low, high) with low < high, got {value_range}")
    mean_l = eta_mean(arr, layer, e, fill=np.nan) if axis == "eta" else phi_mean(arr, layer, p, fill=np.nan)
    keep = ~np.isnan(mean_l)
    profile = hist.Hist(hist.axis.Regular(bins, *value_range), storage=hist.storage.Mean())
    profile.fill(x[keep], sample=mean_l[keep])
    view = profile.view()
    count = np.asarray(view.count, dtype=float)
    std = np.sqrt(safe_ratio(view["_sum_of_deltas_squared"], count, 0.0))  # hist's variance divides by n - 1
    return Profile(
        edges=profile.axes[0].edges,
        mean=np.where(count > 0, view.value, 0.0),
        std=std,
        error=safe_ratio(std, np.sqrt(count), 0.0),
        count=count,
    )


def delta_eta_cell_hist(cells: ArrayLike, layer: int | str, e: ArrayLike | None = None) -> hist.Hist:
    """Energy-weighted histogram of eta_cell - eta_ImpactCell over all cells of all showers (Fig. 5.19).

    Bins have the layer's cell width and span the crop; values outside are folded into the edge bins.
    """
    arr = check_cells(cells)
    k = layer_index(layer)
    x = np.broadcast_to(cell_centres(arr, k, "eta", None, e), layer_cells(arr, k).shape)
    lay = LAYERS[k]
    half_span = 0.5 * lay.n_eta * lay.deta + (0.5 * lay.deta if k == 3 else 0.0)
    n_bins = int(round(2 * half_span / lay.deta))
    lo, hi = -half_span, half_span
    h = hist.Hist.new.Reg(n_bins, lo, hi, name="deta_cell", label=r"$\eta_{cell}-\eta_{impact\,cell}$").Weight()
    eps = 1e-9 * lay.deta
    h.fill(np.clip(x.ravel(), lo + eps, hi - eps), weight=layer_cells(arr, k).ravel())
    return h
