"""The ATLAS photon-identification variables of thesis section 5.5.4: Middle-layer ratios and width, the strip
profile and its maxima, and Ecore.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hepnb.calo.geometry import GEOMETRY, MIDDLE, STRIPS
from hepnb.calo.shower_shapes._common import check_cells, middle_image, per_shower, safe_ratio
from hepnb.errors import InputError

__all__ = [
    "reta",
    "reta_thesis",
    "rphi",
    "weta2",
    "weta2_corrected",
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
]


def reta(cells: ArrayLike, fill: float = 0.0) -> np.ndarray:
    """ATLAS R_eta = E(3x7) / E(7x7) in the Middle layer (3 cells in eta, 7 in phi around the impact cell)."""
    mid = middle_image(cells)
    return safe_ratio(mid[:, 2:5, :].sum(axis=(1, 2)), mid.sum(axis=(1, 2)), fill)


def reta_thesis(cells: ArrayLike, fill: float = 0.0) -> np.ndarray:
    """The thesis's R_eta = E(3x3) / E(7x7) in the Middle layer (section 5.5.4.1, Fig. 5.38)."""
    mid = middle_image(cells)
    return safe_ratio(mid[:, 2:5, 2:5].sum(axis=(1, 2)), mid.sum(axis=(1, 2)), fill)


def rphi(cells: ArrayLike, fill: float = 0.0) -> np.ndarray:
    """R_phi = E(3x3) / E(3x7) in the Middle layer (3 in eta, 3 or 7 in phi)."""
    mid = middle_image(cells)
    return safe_ratio(mid[:, 2:5, 2:5].sum(axis=(1, 2)), mid[:, 2:5, :].sum(axis=(1, 2)), fill)


def weta2(cells: ArrayLike) -> np.ndarray:
    """ATLAS-style w_eta2 = sqrt(<eta^2> - <eta>^2) over the 3x5 (eta x phi) Middle window; 0 if empty."""
    mid = middle_image(cells)[:, 2:5, 1:6]
    eta_c = (np.arange(3) - 1) * MIDDLE.deta
    w = mid.sum(axis=2)
    total = w.sum(axis=1)
    m1 = safe_ratio(w @ eta_c, total, 0.0)
    m2 = safe_ratio(w @ eta_c**2, total, 0.0)
    return np.sqrt(np.clip(m2 - m1**2, 0.0, None))


# ATLAS's impact-position correction of w_eta2 for |eta| < 0.8 (athena, Reconstruction/egamma/egammaUtils,
# egammaqweta2c): the width minus c0 + c1 u + c2 u^2, u in [0, 1) the position in the Middle cell, one polynomial per
# region of u
_WETA2_CORRECTION_EDGES = (0.1, 0.9)
_WETA2_CORRECTION = np.array([(0.0045, -0.0016, -0.0866), (0.005375, -0.0215, 0.0215), (-0.0562, 0.114, -0.053)])


def weta2_corrected(cells: ArrayLike, delta_eta: ArrayLike) -> np.ndarray:
    """w_eta2 corrected for where the photon hits its Middle cell, as ATLAS identifies photons (|eta| < 0.8).

    The raw `weta2` of a shower at a cell edge is wider than of one at the centre (energy shared by two cells).
    ATLAS subtracts a polynomial in the relative position ``u`` in the cell (``u = 0.5`` at the centre, where the
    correction vanishes; 0.0215 (u - 0.5)^2 between u = 0.1 and 0.9), with the constants of its reconstruction
    (athena's ``egammaqweta2c``, Reconstruction/egamma/egammaUtils, barrel |eta| < 0.8) and its
    ``u = fmod(|delta_eta - 0.0125|, 0.025) / 0.025``: ``0.5 - delta_eta / 0.025`` inside the cell, wrapped into the
    neighbour for an impact just outside it. Two differences from ATLAS: ``delta_eta`` is the impact offset of the
    condition, where ATLAS uses the cluster's measured eta; and it is taken in the |eta| frame, where ATLAS's ``u``
    for eta < 0 is ``1 - u`` (the outer polynomials are not symmetric: up to 0.0003 within 0.1 of a cell edge).

    Parameters
    ----------
    cells
        ``[N, 266]`` cell energies.
    delta_eta
        Impact offset from the impact cell's centre in the |eta| frame (`Showers.delta_eta`, `ShowerArrays.deta`),
        within one Middle cell (0.025).

    Returns
    -------
    numpy.ndarray
        ``[N]`` corrected widths; NaN where the 3x5 window is empty (no width to correct).

    Examples
    --------
    >>> from hepnb.calo.simulate import simulate
    >>> s = simulate(400, [65536.0], seed=1)
    >>> centre, edge = np.abs(s.delta_eta) < 0.004, np.abs(s.delta_eta) > 0.009
    >>> raw, corrected = weta2(s.cells), weta2_corrected(s.cells, s.delta_eta)
    >>> bool(raw[edge].mean() - raw[centre].mean() > 0.002 > abs(corrected[edge].mean() - corrected[centre].mean()))
    True
    """
    width = weta2(cells)
    offset = per_shower(delta_eta, "delta_eta", width.size)
    if np.any(np.abs(offset) > MIDDLE.deta):
        raise InputError(
            f"delta_eta must be the impact's offset from its Middle cell's centre, within +-{MIDDLE.deta:g}, "
            f"got {np.abs(offset).max():g}"
        )
    u = np.fmod(np.abs(offset - MIDDLE.deta / 2), MIDDLE.deta) / MIDDLE.deta
    c0, c1, c2 = _WETA2_CORRECTION[np.searchsorted(_WETA2_CORRECTION_EDGES, u, side="right")].T
    empty = middle_image(cells)[:, 2:5, 1:6].sum(axis=(1, 2)) <= 0
    return np.where(empty, np.nan, width - (c0 + c1 * u + c2 * u**2))


def strip_profile(cells: ArrayLike, rows: int = 2) -> np.ndarray:
    """``[N, 56]`` strip energies summed over phi rows.

    ``rows=1``: the central row (the strip phi cell of the impact); ``rows=2`` (ATLAS-like, default): the
    central row plus the neighbour on the side of the shower's <phi> (the more energetic neighbour);
    ``rows=3``: all three.
    """
    img = GEOMETRY.image(check_cells(cells), "strips")  # [N, 56, 3]
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
    return np.sqrt(np.clip(safe_ratio((w * offset**2).sum(axis=1), total, 0.0), 0.0, None))


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
    return safe_ratio(m.e_max - m.e_second, m.e_max + m.e_second, 1.0)


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
    return safe_ratio(e7 - e3, e3, fill)


def fracs1_thesis(cells: ArrayLike, rows: int = 2, fill: float = 0.0) -> np.ndarray:
    """The thesis's wording of frac1: E(7 strips) / E(3 strips) around the maximum (= fracs1 + 1)."""
    e3, e7 = _strip_window_sums(cells, rows)
    return safe_ratio(e7, e3, fill)


def ecore(cells: ArrayLike, e: ArrayLike, impact_delta_eta: ArrayLike | None = None) -> np.ndarray:
    """Ecore = E_PS(3x3) + E_Strips(15x2) + E_Middle(5x5) + E_Back(3x5) on the crop grid.

    PS: central 3 eta x all 3 phi rows; Strips: 15 strips centred on the strip containing the impact
    (``impact_delta_eta``; without it, on the strip maximum) times the 2 rows of `strip_profile`;
    Middle: central 5x5; Back: the 3 eta cells centred on the Back cell containing the impact x central 5 phi.
    """
    arr = check_cells(cells)
    n = arr.shape[0]
    e_arr = per_shower(e, "e", n, integer=True)
    ps = GEOMETRY.image(arr, "presampler")[:, 2:5, :].sum(axis=(1, 2))
    prof = strip_profile(arr, rows=2)
    if impact_delta_eta is None:
        centre = np.argmax(prof, axis=1)
    else:
        imp = per_shower(impact_delta_eta, "impact_delta_eta", n)
        centre = np.floor(imp / STRIPS.deta).astype(np.int64) + 28
    centre = np.clip(centre, 7, 48)
    offset = np.abs(np.arange(56)[None, :] - centre[:, None])
    strips = np.where(offset <= 7, prof, 0.0).sum(axis=1)
    middle = middle_image(arr)[:, 1:6, 1:6].sum(axis=(1, 2))
    back_img = GEOMETRY.image(arr, "back")[:, :, 1:6].sum(axis=2)  # [N, 4]
    pos = np.where(e_arr == 1, 2, 1)
    rows = np.arange(4)[None, :]
    back = np.where(np.abs(rows - pos[:, None]) <= 1, back_img, 0.0).sum(axis=1)
    return ps + strips + middle + back
