"""Validation variables of the calorimeter study (thesis sections 5.5.2-5.5.4), vectorised over ``[N, 266]``.

Every function takes cells in the flat order of `hepnb.calo.geometry` (any energy unit; ratios are
unit-free) and returns one value per shower. Coordinates are relative to the impact-cell centre; the
alignment ``p`` (0..3) is needed for phi in the Presampler/Strips and ``e`` (0/1) for eta in the Back layer.

Empty layers and zero denominators never give NaN: moments (means) return ``fill`` (default 0.0, the
impact-cell centre), widths return 0, ratios (Reta, Rphi, fractions, fracs1) return ``fill`` (default 0.0),
Eratio is 1 when there is no second strip maximum (also for empty strips), and e2tsts1/emins1/DeltaE are 0
without a second maximum. Use `empty_layers` to count or drop such showers (thesis section 5.5.3: an underflow bin).
Cells with electronic noise can be negative; threshold or clip them before computing moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import hist
import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array

from .geometry import GEOMETRY, LAYERS, MIDDLE, N_CELLS, STRIPS, layer_index

__all__ = [
    "Profile",
    "layer_energies",
    "total_energy",
    "empty_layers",
    "layer_fractions",
    "response",
    "f1",
    "f3",
    "eta_mean",
    "phi_mean",
    "eta_width",
    "phi_width",
    "delta_eta",
    "delta_phi",
    "eta_mean_difference",
    "phi_mean_difference",
    "s_shape",
    "reta",
    "reta_thesis",
    "rphi",
    "strip_profile",
    "weta1",
    "wstot1",
    "emaxs1",
    "e2tsts1",
    "e2tsts1_thesis",
    "emins1",
    "eratio",
    "delta_e",
    "fracs1",
    "fracs1_thesis",
    "ecore",
    "weta2",
    "cell_covariance",
    "covariance_mse",
    "cell_moment_maps",
    "delta_eta_cell_hist",
    "fit_layer_weights",
    "calibrated_energy",
    "compute_all",
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


# --------------------------------------------------------------------------------------------------------------
# helpers


def _cells(cells: ArrayLike) -> np.ndarray:
    arr = as_finite_array(cells, "cells")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != N_CELLS:
        raise InputError(f"cells must have shape [N, 266] (flat crop order of hepnb.calo.geometry), got {arr.shape}")
    return arr


def _per_shower(values: ArrayLike | None, name: str, n: int, *, integer: bool = False) -> np.ndarray:
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


def _layer_cells(cells: np.ndarray, layer: int | str) -> np.ndarray:
    return cells[:, LAYERS[layer_index(layer)].slice]


def _ratio(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    out = np.full(num.shape, float(fill))
    np.divide(num, den, out=out, where=den != 0)
    return out


def _centres(cells: np.ndarray, layer: int | str, axis: str, p: ArrayLike | None, e: ArrayLike | None
             ) -> np.ndarray:
    """Per-shower cell centres ``[N, n_layer]`` (or ``[n_layer]`` when they do not depend on alignment)."""
    k = layer_index(layer)
    n = cells.shape[0]
    sl = LAYERS[k].slice
    if axis == "eta":
        if k == 3:
            e_arr = _per_shower(e, "e (Back eta needs the e-alignment)", n, integer=True)
            return GEOMETRY.centres(np.zeros(n, dtype=np.int64), e_arr)[0][:, sl]
        return GEOMETRY.eta_centres[0, 0, sl]
    if axis == "phi":
        if k in (0, 1):
            p_arr = _per_shower(p, "p (Presampler/Strip phi needs the p-alignment)", n, integer=True)
            return GEOMETRY.centres(p_arr, np.zeros(n, dtype=np.int64))[1][:, sl]
        return GEOMETRY.phi_centres[0, 0, sl]
    raise InputError(f"axis must be 'eta' or 'phi', got {axis!r}")


def _moments(cells: ArrayLike, layer: int | str, axis: str, p: ArrayLike | None, e: ArrayLike | None,
             fill: float) -> tuple[np.ndarray, np.ndarray]:
    arr = _cells(cells)
    x = _centres(arr, layer, axis, p, e)
    w = _layer_cells(arr, layer)
    total = w.sum(axis=1)
    mean = _ratio((w * x).sum(axis=1), total, fill)
    second = _ratio((w * x**2).sum(axis=1), total, 0.0)
    var = np.where(total != 0, second - np.where(total != 0, mean, 0.0) ** 2, 0.0)
    return mean, np.sqrt(np.clip(var, 0.0, None))


# --------------------------------------------------------------------------------------------------------------
# energies


def layer_energies(cells: ArrayLike) -> np.ndarray:
    """``[N, 4]`` energy per layer (PS, Strips, Middle, Back), in the unit of ``cells``."""
    arr = _cells(cells)
    return np.stack([arr[:, lay.slice].sum(axis=1) for lay in LAYERS], axis=1)


def total_energy(cells: ArrayLike) -> np.ndarray:
    """Sum of the 266 cells per shower."""
    return _cells(cells).sum(axis=1)


def empty_layers(cells: ArrayLike) -> np.ndarray:
    """``[N, 4]`` booleans: the layer has no energy (sum == 0), so its moments are undefined."""
    return layer_energies(cells) == 0


def layer_fractions(cells: ArrayLike, energy: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """``[N, 4]`` fraction E_L / sum of layers, or E_L / ``energy`` (e.g. E_true) when given."""
    el = layer_energies(cells)
    den = el.sum(axis=1) if energy is None else _per_shower(energy, "energy", el.shape[0])
    return _ratio(el, np.broadcast_to(den[:, None], el.shape), fill)


def response(cells: ArrayLike, energy: ArrayLike) -> np.ndarray:
    """Total energy over the true energy (same unit), per shower."""
    arr = _cells(cells)
    e_true = _per_shower(energy, "energy", arr.shape[0])
    if np.any(e_true <= 0):
        raise InputError("true energies must be positive")
    return arr.sum(axis=1) / e_true


def f1(cells: ArrayLike, energy: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Strip-layer fraction E_Strips / E (E = sum of layers, or ``energy``)."""
    return layer_fractions(cells, energy, fill)[:, 1]


def f3(cells: ArrayLike, energy: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Back-layer fraction E_Back / E (E = sum of layers, or ``energy``)."""
    return layer_fractions(cells, energy, fill)[:, 3]


# --------------------------------------------------------------------------------------------------------------
# lateral moments


def eta_mean(cells: ArrayLike, layer: int | str, e: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Energy-weighted mean eta of a layer relative to the impact-cell centre (``e`` needed for Back)."""
    return _moments(cells, layer, "eta", None, e, fill)[0]


def phi_mean(cells: ArrayLike, layer: int | str, p: ArrayLike | None = None, fill: float = 0.0) -> np.ndarray:
    """Energy-weighted mean phi of a layer relative to the impact-cell centre (``p`` needed for PS/Strips)."""
    return _moments(cells, layer, "phi", p, None, fill)[0]


def eta_width(cells: ArrayLike, layer: int | str, e: ArrayLike | None = None) -> np.ndarray:
    """Energy-weighted standard deviation in eta of a layer (0 for an empty layer)."""
    return _moments(cells, layer, "eta", None, e, 0.0)[1]


def phi_width(cells: ArrayLike, layer: int | str, p: ArrayLike | None = None) -> np.ndarray:
    """Energy-weighted standard deviation in phi of a layer (0 for an empty layer)."""
    return _moments(cells, layer, "phi", p, None, 0.0)[1]


def delta_eta(cells: ArrayLike, layer: int | str, impact_delta_eta: ArrayLike, e: ArrayLike | None = None,
              fill: float = 0.0) -> np.ndarray:
    """<eta>_L minus the extrapolated impact eta (both relative to the impact-cell centre)."""
    arr = _cells(cells)
    imp = _per_shower(impact_delta_eta, "impact_delta_eta", arr.shape[0])
    mean = eta_mean(arr, layer, e, fill=np.nan)
    return np.where(np.isnan(mean), fill, mean - imp)


def delta_phi(cells: ArrayLike, layer: int | str, impact_delta_phi: ArrayLike, p: ArrayLike | None = None,
              fill: float = 0.0) -> np.ndarray:
    """<phi>_L minus the extrapolated impact phi (both relative to the impact-cell centre)."""
    arr = _cells(cells)
    imp = _per_shower(impact_delta_phi, "impact_delta_phi", arr.shape[0])
    mean = phi_mean(arr, layer, p, fill=np.nan)
    return np.where(np.isnan(mean), fill, mean - imp)


def eta_mean_difference(cells: ArrayLike, layer: int | str, e: ArrayLike | None = None,
                        fill: float = 0.0) -> np.ndarray:
    """<eta>_Middle - <eta>_L (inter-layer lateral correlation, Fig. 5.35); ``fill`` if either is empty."""
    mid = eta_mean(cells, "middle", fill=np.nan)
    other = eta_mean(cells, layer, e, fill=np.nan)
    diff = mid - other
    return np.where(np.isnan(diff), fill, diff)


def phi_mean_difference(cells: ArrayLike, layer: int | str, p: ArrayLike | None = None,
                        fill: float = 0.0) -> np.ndarray:
    """<phi>_Middle - <phi>_L; ``fill`` if either layer is empty."""
    mid = phi_mean(cells, "middle", fill=np.nan)
    other = phi_mean(cells, layer, p, fill=np.nan)
    diff = mid - other
    return np.where(np.isnan(diff), fill, diff)


def s_shape(cells: ArrayLike, layer: int | str, impact_delta: ArrayLike, *, axis: str = "eta",
            p: ArrayLike | None = None, e: ArrayLike | None = None, bins: int = 40,
            value_range: tuple[float, float] = (-0.0125, 0.0125)) -> Profile:
    """Profile of <eta>_L (or <phi>_L) against the impact position inside the impact cell (Fig. 5.23).

    Showers with an empty layer are left out. The Middle layer shows one S, the Strips eight.
    """
    arr = _cells(cells)
    x = _per_shower(impact_delta, "impact_delta", arr.shape[0])
    if bins < 1:
        raise InputError("bins must be >= 1")
    mean_l = eta_mean(arr, layer, e, fill=np.nan) if axis == "eta" else phi_mean(arr, layer, p, fill=np.nan)
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    idx = np.digitize(x, edges) - 1
    ok = (idx >= 0) & (idx < bins) & ~np.isnan(mean_l)
    count = np.bincount(idx[ok], minlength=bins).astype(float)
    s1 = np.bincount(idx[ok], weights=mean_l[ok], minlength=bins)
    s2 = np.bincount(idx[ok], weights=mean_l[ok] ** 2, minlength=bins)
    mean = _ratio(s1, count, 0.0)
    std = np.sqrt(np.clip(_ratio(s2, count, 0.0) - mean**2, 0.0, None))
    error = _ratio(std, np.sqrt(count), 0.0)
    return Profile(edges=edges, mean=mean, std=std, error=error, count=count)


# --------------------------------------------------------------------------------------------------------------
# Middle-layer ratios


def _middle(cells: ArrayLike) -> np.ndarray:
    return GEOMETRY.image(_cells(cells), "middle")  # [N, 7 eta, 7 phi], impact cell at (3, 3)


def reta(cells: ArrayLike, fill: float = 0.0) -> np.ndarray:
    """ATLAS R_eta = E(3x7) / E(7x7) in the Middle layer (3 cells in eta, 7 in phi around the impact cell)."""
    mid = _middle(cells)
    return _ratio(mid[:, 2:5, :].sum(axis=(1, 2)), mid.sum(axis=(1, 2)), fill)


def reta_thesis(cells: ArrayLike, fill: float = 0.0) -> np.ndarray:
    """The thesis's R_eta = E(3x3) / E(7x7) in the Middle layer (Fig. 5.38; L2388)."""
    mid = _middle(cells)
    return _ratio(mid[:, 2:5, 2:5].sum(axis=(1, 2)), mid.sum(axis=(1, 2)), fill)


def rphi(cells: ArrayLike, fill: float = 0.0) -> np.ndarray:
    """R_phi = E(3x3) / E(3x7) in the Middle layer (3 in eta, 3 or 7 in phi)."""
    mid = _middle(cells)
    return _ratio(mid[:, 2:5, 2:5].sum(axis=(1, 2)), mid[:, 2:5, :].sum(axis=(1, 2)), fill)


def weta2(cells: ArrayLike) -> np.ndarray:
    """ATLAS-style w_eta2 = sqrt(<eta^2> - <eta>^2) over the 3x5 (eta x phi) Middle window; 0 if empty."""
    mid = _middle(cells)[:, 2:5, 1:6]
    eta_c = (np.arange(3) - 1) * MIDDLE.deta
    w = mid.sum(axis=2)
    total = w.sum(axis=1)
    m1 = _ratio(w @ eta_c, total, 0.0)
    m2 = _ratio(w @ eta_c**2, total, 0.0)
    return np.sqrt(np.clip(m2 - m1**2, 0.0, None))


# --------------------------------------------------------------------------------------------------------------
# Strip-layer variables


def strip_profile(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """``[N, 56]`` strip energies summed over phi rows.

    ``rows=1``: the central row (the strip phi cell of the impact); ``rows=2`` (ATLAS-like, default): the
    central row plus the neighbour on the side of the shower's <phi> (the more energetic neighbour);
    ``rows=3``: all three.
    """
    img = GEOMETRY.image(_cells(cells), "strips")  # [N, 56, 3]
    if rows == 1:
        return img[:, :, 1].copy()
    if rows == 3:
        return img.sum(axis=2)
    if rows == 2:
        upper = img[:, :, 2].sum(axis=1) > img[:, :, 0].sum(axis=1)
        return img[:, :, 1] + np.where(upper[:, None], img[:, :, 2], img[:, :, 0])
    raise InputError(f"rows must be 1, 2 or 3, got {rows}")


@dataclass(frozen=True)
class _StripMaxima:
    profile: np.ndarray
    i_max: np.ndarray
    e_max: np.ndarray
    i_second: np.ndarray
    e_second: np.ndarray
    has_second: np.ndarray
    e_min: np.ndarray


def _strip_maxima(cells: ArrayLike, rows: int) -> _StripMaxima:
    s = strip_profile(cells, rows)
    n, k = s.shape
    i_max = np.argmax(s, axis=1)
    e_max = s[np.arange(n), i_max]
    padded = np.pad(s, ((0, 0), (1, 1)))
    local = (s > padded[:, :-2]) & (s >= padded[:, 2:])
    local[np.arange(n), i_max] = False
    candidates = np.where(local, s, -np.inf)
    i_second = np.argmax(candidates, axis=1)
    has_second = np.isfinite(candidates[np.arange(n), i_second])
    e_second = np.where(has_second, s[np.arange(n), i_second], 0.0)
    lo = np.minimum(i_max, i_second)[:, None]
    hi = np.maximum(i_max, i_second)[:, None]
    strip = np.arange(k)[None, :]
    between = (strip > lo) & (strip < hi) & has_second[:, None]
    e_min = np.where(between, s, np.inf).min(axis=1)
    e_min = np.where(has_second & np.isfinite(e_min), e_min, 0.0)
    return _StripMaxima(s, i_max, e_max, i_second, e_second, has_second, e_min)


def _strip_width(cells: ArrayLike, half_window: int, rows: int) -> np.ndarray:
    if half_window < 0:
        raise InputError("half_window must be >= 0")
    m = _strip_maxima(cells, rows)
    offset = np.arange(m.profile.shape[1])[None, :] - m.i_max[:, None]
    w = np.where(np.abs(offset) <= half_window, m.profile, 0.0)
    total = w.sum(axis=1)
    return np.sqrt(np.clip(_ratio((w * offset**2).sum(axis=1), total, 0.0), 0.0, None))


def weta1(cells: ArrayLike, half_window: int = 3, rows: int = 2) -> np.ndarray:
    """Strip width sqrt(sum E_i (i - i_max)^2 / sum E_i) in strip units over i_max +- ``half_window``.

    The thesis uses +-3 strips (default); ATLAS uses +-1. 0 for empty strips.
    """
    return _strip_width(cells, half_window, rows)


def wstot1(cells: ArrayLike, half_window: int = 10, rows: int = 2) -> np.ndarray:
    """Total strip width, as `weta1` over the 20-strip (Delta eta = 0.0625) window i_max +- 10."""
    return _strip_width(cells, half_window, rows)


def emaxs1(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """Energy of the strip with the maximum deposit (strip profile of `strip_profile`)."""
    return _strip_maxima(cells, rows).e_max


def e2tsts1(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """ATLAS e2tsts1: energy of the strip at the second local maximum, 0 if there is none.

    A local maximum has S_k > S_(k-1) and S_k >= S_(k+1), with zero energy outside the 56-strip crop.
    """
    return _strip_maxima(cells, rows).e_second


def e2tsts1_thesis(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """The thesis's e2tsts1: the second maximum "summing three strip cells" (S_(k-1) + S_k + S_(k+1))."""
    m = _strip_maxima(cells, rows)
    padded = np.pad(m.profile, ((0, 0), (1, 1)))
    n = padded.shape[0]
    i = m.i_second + 1
    triple = padded[np.arange(n), i - 1] + padded[np.arange(n), i] + padded[np.arange(n), i + 1]
    return np.where(m.has_second, triple, 0.0)


def emins1(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """Minimum strip energy strictly between the first and second maxima, 0 without a second maximum."""
    return _strip_maxima(cells, rows).e_min


def eratio(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """E_ratio = (emaxs1 - e2tsts1) / (emaxs1 + e2tsts1); 1 when there is no second maximum."""
    m = _strip_maxima(cells, rows)
    return _ratio(m.e_max - m.e_second, m.e_max + m.e_second, 1.0)


def delta_e(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """Delta E = e2tsts1 - emins1 (ATLAS; not in the thesis); 0 without a second maximum."""
    m = _strip_maxima(cells, rows)
    return m.e_second - m.e_min


def _strip_window_sums(cells: ArrayLike, rows: int) -> tuple[np.ndarray, np.ndarray]:
    m = _strip_maxima(cells, rows)
    offset = np.abs(np.arange(m.profile.shape[1])[None, :] - m.i_max[:, None])
    e3 = np.where(offset <= 1, m.profile, 0.0).sum(axis=1)
    e7 = np.where(offset <= 3, m.profile, 0.0).sum(axis=1)
    return e3, e7


def fracs1(cells: ArrayLike, rows: int = 2, fill: float = 0.0) -> np.ndarray:
    """ATLAS fracs1 = [E(i_max +- 3) - E(i_max +- 1)] / E(i_max +- 1) in the strip profile."""
    e3, e7 = _strip_window_sums(cells, rows)
    return _ratio(e7 - e3, e3, fill)


def fracs1_thesis(cells: ArrayLike, rows: int = 2, fill: float = 0.0) -> np.ndarray:
    """The thesis's wording of frac1: E(7 strips) / E(3 strips) around the maximum (= fracs1 + 1)."""
    e3, e7 = _strip_window_sums(cells, rows)
    return _ratio(e7, e3, fill)


# --------------------------------------------------------------------------------------------------------------
# Ecore, covariance, maps, calibration


def ecore(cells: ArrayLike, e: ArrayLike, impact_delta_eta: ArrayLike | None = None) -> np.ndarray:
    """Ecore = E_PS(3x3) + E_Strips(15x2) + E_Middle(5x5) + E_Back(3x5) on the crop grid.

    PS: central 3 eta x all 3 phi rows; Strips: 15 strips centred on the strip containing the impact
    (``impact_delta_eta``; without it, on the strip maximum) times the 2 rows of `strip_profile`;
    Middle: central 5x5; Back: the 3 eta cells centred on the Back cell containing the impact x central 5 phi.
    """
    arr = _cells(cells)
    n = arr.shape[0]
    e_arr = _per_shower(e, "e", n, integer=True)
    ps = GEOMETRY.image(arr, "presampler")[:, 2:5, :].sum(axis=(1, 2))
    prof = strip_profile(arr, rows=2)
    if impact_delta_eta is None:
        centre = np.argmax(prof, axis=1)
    else:
        imp = _per_shower(impact_delta_eta, "impact_delta_eta", n)
        centre = np.floor(imp / STRIPS.deta).astype(np.int64) + 28
    centre = np.clip(centre, 7, 48)
    offset = np.abs(np.arange(56)[None, :] - centre[:, None])
    strips = np.where(offset <= 7, prof, 0.0).sum(axis=1)
    middle = _middle(arr)[:, 1:6, 1:6].sum(axis=(1, 2))
    back_img = GEOMETRY.image(arr, "back")[:, :, 1:6].sum(axis=2)  # [N, 4]
    pos = np.where(e_arr == 1, 2, 1)
    rows = np.arange(4)[None, :]
    back = np.where(np.abs(rows - pos[:, None]) <= 1, back_img, 0.0).sum(axis=1)
    return ps + strips + middle + back


def cell_covariance(cells: ArrayLike, energy: ArrayLike | None = None) -> np.ndarray:
    """``[266, 266]`` covariance of the cells over showers (of ``cells / energy`` when ``energy`` is given)."""
    arr = _cells(cells)
    if arr.shape[0] < 2:
        raise InputError("the covariance needs at least 2 showers")
    if energy is not None:
        e_true = _per_shower(energy, "energy", arr.shape[0])
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
    arr = _cells(cells)
    mean = arr.mean(axis=0)
    std = arr.std(axis=0)
    return {lay.name: (GEOMETRY.image(mean, lay.name), GEOMETRY.image(std, lay.name)) for lay in LAYERS}


def delta_eta_cell_hist(cells: ArrayLike, layer: int | str, e: ArrayLike | None = None) -> hist.Hist:
    """Energy-weighted histogram of eta_cell - eta_ImpactCell over all cells of all showers (Fig. 5.19).

    Bins have the layer's cell width and span the crop; values outside are folded into the edge bins.
    """
    arr = _cells(cells)
    k = layer_index(layer)
    x = np.broadcast_to(_centres(arr, k, "eta", None, e), _layer_cells(arr, k).shape)
    lay = LAYERS[k]
    half_span = 0.5 * lay.n_eta * lay.deta + (0.5 * lay.deta if k == 3 else 0.0)
    n_bins = int(round(2 * half_span / lay.deta))
    lo, hi = -half_span, half_span
    h = hist.Hist.new.Reg(n_bins, lo, hi, name="deta_cell", label=r"$\eta_{cell}-\eta_{impact\,cell}$").Weight()
    eps = 1e-9 * lay.deta
    h.fill(np.clip(x.ravel(), lo + eps, hi - eps), weight=_layer_cells(arr, k).ravel())
    return h


def fit_layer_weights(cells: ArrayLike, energy: ArrayLike) -> np.ndarray:
    """Least-squares per-layer weights w_L with sum_L w_L E_L ~ E_true (a linear calibration)."""
    el = layer_energies(cells)
    e_true = _per_shower(energy, "energy", el.shape[0])
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


def compute_all(cells: ArrayLike, p: ArrayLike, e: ArrayLike, impact_delta_eta: ArrayLike | None = None,
                impact_delta_phi: ArrayLike | None = None, energy: ArrayLike | None = None
                ) -> dict[str, np.ndarray]:
    """Every per-shower variable of thesis sections 5.5.2-5.5.4 in one dictionary of ``[N]`` arrays.

    Impact-relative differences are included when the impact offsets are given, the response when
    ``energy`` (same unit as the cells) is given.
    """
    arr = _cells(cells)
    out: dict[str, np.ndarray] = {}
    el = layer_energies(arr)
    out["e_total"] = el.sum(axis=1)
    frac = layer_fractions(arr)
    for k, lay in enumerate(LAYERS):
        out[f"e_{lay.name}"] = el[:, k]
        out[f"frac_{lay.name}"] = frac[:, k]
        out[f"eta_mean_{lay.name}"] = eta_mean(arr, k, e)
        out[f"phi_mean_{lay.name}"] = phi_mean(arr, k, p)
        out[f"eta_width_{lay.name}"] = eta_width(arr, k, e)
        out[f"phi_width_{lay.name}"] = phi_width(arr, k, p)
        if impact_delta_eta is not None:
            out[f"delta_eta_{lay.name}"] = delta_eta(arr, k, impact_delta_eta, e)
        if impact_delta_phi is not None:
            out[f"delta_phi_{lay.name}"] = delta_phi(arr, k, impact_delta_phi, p)
        if lay.name != "middle":
            out[f"eta_mean_middle_minus_{lay.name}"] = eta_mean_difference(arr, k, e)
            out[f"phi_mean_middle_minus_{lay.name}"] = phi_mean_difference(arr, k, p)
    if energy is not None:
        out["response"] = response(arr, energy)
    out.update(
        reta=reta(arr), reta_thesis=reta_thesis(arr), rphi=rphi(arr), weta2=weta2(arr),
        weta1=weta1(arr), wstot1=wstot1(arr), emaxs1=emaxs1(arr), e2tsts1=e2tsts1(arr),
        e2tsts1_thesis=e2tsts1_thesis(arr), emins1=emins1(arr), eratio=eratio(arr), delta_e=delta_e(arr),
        fracs1=fracs1(arr), fracs1_thesis=fracs1_thesis(arr), f1=frac[:, 1], f3=frac[:, 3],
        ecore=ecore(arr, e, impact_delta_eta),
    )
    return out
