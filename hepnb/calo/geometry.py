"""ATLAS-like barrel EM calorimeter geometry and the thesis's 266-cell crop around the impact cell.

Conventions (thesis sections 3.2.3 and 5.3.2; the flat cell order is this package's):

* Global barrel grids with the exact ATLAS cell sizes; cell edges start at eta = 0 and phi = -pi.
  Showers live in the eta > 0 half (eta < 0 showers are mirrored, as in the thesis).
* The **impact cell** is the Middle cell containing the extrapolated photon position.
* The flat 266-cell vector is PS (7 eta x 3 phi, indices 0-20), Strips (56 x 3, 21-188), Middle (7 x 7,
  189-237), Back (4 x 7, 238-265); inside a layer eta is the outer axis and phi the inner one.
* Cell centres are given relative to the impact-cell centre (the impact cell sits at (0, 0)).
* Alignment: ``p = index_phi mod 4`` (position of the impact cell inside its 0.1-wide strip/PS phi cell,
  0..3) and ``e`` (0/1) from the parity of the Middle eta index, fixed by the Fig. 5.2 caption: the impact lies
  in the **third** of the four Back cells for e1 and in the **second** for e0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array

__all__ = [
    "Layer",
    "PRESAMPLER",
    "STRIPS",
    "MIDDLE",
    "BACK",
    "LAYERS",
    "LAYER_NAMES",
    "N_CELLS",
    "CropGeometry",
    "GEOMETRY",
    "layer_index",
    "impact_cell",
    "alignment",
    "impact_offsets",
    "crop_start",
    "wrap_phi",
]

DPHI_MIDDLE = 2.0 * np.pi / 256.0
DPHI_STRIP = 2.0 * np.pi / 64.0
DETA_MIDDLE = 0.025


@dataclass(frozen=True)
class Layer:
    """One calorimeter layer: its global cell size, its crop and where the crop sits in the flat vector.

    Parameters
    ----------
    name
        ``"presampler"``, ``"strips"``, ``"middle"`` or ``"back"``.
    index
        0..3 in depth order.
    deta, dphi
        Cell size of the global barrel grid.
    n_eta, n_phi
        Size of the crop (eta x phi).
    offset
        Index of the first crop cell in the flat 266 vector.
    radius_mm
        Effective cylindrical radius; it sets the mm-per-cell scale.
    """

    name: str
    index: int
    deta: float
    dphi: float
    n_eta: int
    n_phi: int
    offset: int
    radius_mm: float

    @property
    def size(self) -> int:
        """Number of crop cells."""
        return self.n_eta * self.n_phi

    @property
    def slice(self) -> slice:
        """Slice of this layer in the flat 266-cell vector."""
        return slice(self.offset, self.offset + self.size)

    @property
    def n_phi_global(self) -> int:
        """Number of cells around the full phi circle."""
        return int(round(2.0 * np.pi / self.dphi))


PRESAMPLER = Layer("presampler", 0, DETA_MIDDLE, DPHI_STRIP, 7, 3, 0, 1430.0)
STRIPS = Layer("strips", 1, DETA_MIDDLE / 8.0, DPHI_STRIP, 56, 3, 21, 1530.0)
MIDDLE = Layer("middle", 2, DETA_MIDDLE, DPHI_MIDDLE, 7, 7, 189, 1700.0)
BACK = Layer("back", 3, 2.0 * DETA_MIDDLE, DPHI_MIDDLE, 4, 7, 238, 1900.0)
LAYERS: tuple[Layer, ...] = (PRESAMPLER, STRIPS, MIDDLE, BACK)
LAYER_NAMES: tuple[str, ...] = tuple(layer.name for layer in LAYERS)
N_CELLS = 266

_ALIASES = {
    "ps": 0,
    "presampler": 0,
    "pre": 0,
    "strip": 1,
    "strips": 1,
    "front": 1,
    "emb1": 1,
    "middle": 2,
    "mid": 2,
    "emb2": 2,
    "back": 3,
    "emb3": 3,
}


def layer_index(layer: int | str | Layer) -> int:
    """Return the layer number 0..3 for a layer given as number, name (``"strips"``, ``"ps"``, ...) or `Layer`."""
    if isinstance(layer, Layer):
        return layer.index
    if isinstance(layer, str):
        key = layer.strip().lower()
        if key not in _ALIASES:
            raise InputError(f"unknown layer {layer!r}; use one of {LAYER_NAMES} (or 0..3)")
        return _ALIASES[key]
    if isinstance(layer, (int, np.integer)) and 0 <= int(layer) <= 3:
        return int(layer)
    raise InputError(f"layer must be 0..3 or one of {LAYER_NAMES}, got {layer!r}")


def wrap_phi(phi: ArrayLike) -> np.ndarray:
    """Wrap angles into [-pi, pi)."""
    phi = np.asarray(phi, dtype=float)
    return (phi + np.pi) % (2.0 * np.pi) - np.pi


def impact_cell(eta: ArrayLike, phi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Global Middle-layer indices (eta, phi) of the cell containing each position.

    ``eta`` must be >= 0 (mirror the eta < 0 half first); phi is wrapped into [-pi, pi).
    """
    eta = as_finite_array(eta, "eta")
    phi = as_finite_array(phi, "phi")
    if np.any(eta < 0):
        raise InputError("impact_cell expects eta >= 0: mirror eta < 0 showers first (eta -> |eta|)")
    m_eta = np.floor(eta / MIDDLE.deta).astype(np.int64)
    m_phi = np.floor((wrap_phi(phi) + np.pi) / MIDDLE.dphi).astype(np.int64) % MIDDLE.n_phi_global
    return m_eta, m_phi


def alignment(m_eta: ArrayLike, m_phi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Alignment configuration (p, e) of impact cells given by global Middle indices.

    ``p = m_phi mod 4`` is the impact cell's position inside its strip/PS phi cell (p0..p3) and
    ``e = (m_eta + 1) mod 2``: an even Middle eta index puts the impact in Back crop cell 2 (e1), an odd one
    in Back crop cell 1 (e0), as in the thesis's Fig. 5.2 caption (this is the thesis's "offset by 1").
    """
    m_eta = np.asarray(m_eta, dtype=np.int64)
    m_phi = np.asarray(m_phi, dtype=np.int64)
    return (m_phi % 4).astype(np.int8), ((m_eta + 1) % 2).astype(np.int8)


def impact_offsets(eta: ArrayLike, phi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Position (delta eta, delta phi) of each point relative to the centre of its impact cell."""
    m_eta, m_phi = impact_cell(eta, phi)
    eta = np.asarray(eta, dtype=float)
    centre_eta = (m_eta + 0.5) * MIDDLE.deta
    centre_phi = -np.pi + (m_phi + 0.5) * MIDDLE.dphi
    return eta - centre_eta, wrap_phi(wrap_phi(phi) - centre_phi)


def crop_start(layer: int | str | Layer, m_eta: ArrayLike, m_phi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Global (eta, phi) indices of the first crop cell of ``layer`` for impact cells ``(m_eta, m_phi)``.

    The phi index is taken modulo the number of cells around the circle.
    """
    k = layer_index(layer)
    m_eta = np.asarray(m_eta, dtype=np.int64)
    m_phi = np.asarray(m_phi, dtype=np.int64)
    if k == 0:
        return m_eta - 3, (m_phi // 4 - 1) % PRESAMPLER.n_phi_global
    if k == 1:
        return 8 * (m_eta - 3), (m_phi // 4 - 1) % STRIPS.n_phi_global
    if k == 2:
        return m_eta - 3, (m_phi - 3) % MIDDLE.n_phi_global
    return np.floor_divide(m_eta - 3, 2), (m_phi - 3) % BACK.n_phi_global


def _relative_centres(p: int, e: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat (eta, phi) cell centres relative to the impact-cell centre for one (p, e) configuration."""
    dm = MIDDLE.dphi
    rows_phi = (1.5 - p + 4.0 * (np.arange(3) - 1)) * dm  # strip/PS phi rows
    eta_parts, phi_parts = [], []
    # presampler: eta as the Middle layer
    ps_eta = (np.arange(7) - 3) * DETA_MIDDLE
    eta_parts.append(np.repeat(ps_eta, 3))
    phi_parts.append(np.tile(rows_phi, 7))
    # strips: (k - 27.5) * 0.003125
    st_eta = (np.arange(56) - 27.5) * STRIPS.deta
    eta_parts.append(np.repeat(st_eta, 3))
    phi_parts.append(np.tile(rows_phi, 56))
    # middle
    mid = (np.arange(7) - 3) * DETA_MIDDLE
    eta_parts.append(np.repeat(mid, 7))
    phi_parts.append(np.tile((np.arange(7) - 3) * dm, 7))
    # back: e1 -> impact in cell 2, lower half of that back cell; e0 -> cell 1, upper half
    if e == 1:
        back_eta = (np.arange(4) - 2) * BACK.deta + 0.5 * DETA_MIDDLE
    else:
        back_eta = (np.arange(4) - 1) * BACK.deta - 0.5 * DETA_MIDDLE
    eta_parts.append(np.repeat(back_eta, 7))
    phi_parts.append(np.tile((np.arange(7) - 3) * dm, 4))
    return np.concatenate(eta_parts), np.concatenate(phi_parts)


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    eta = np.empty((4, 2, N_CELLS))
    phi = np.empty((4, 2, N_CELLS))
    for p in range(4):
        for e in range(2):
            eta[p, e], phi[p, e] = _relative_centres(p, e)
    eta.flags.writeable = False
    phi.flags.writeable = False
    return eta, phi


@dataclass(frozen=True)
class CropGeometry:
    """The 266-cell crop: layers, flat ordering and per-cell centres relative to the impact cell.

    Attributes
    ----------
    layers
        The four `Layer` objects in depth order.
    eta_centres, phi_centres
        Arrays ``[4, 2, 266]`` indexed by ``[p, e, cell]``: cell-centre offsets from the impact-cell centre.
    """

    layers: tuple[Layer, ...] = LAYERS
    eta_centres: np.ndarray = field(init=False, repr=False)
    phi_centres: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        eta, phi = _build_tables()
        object.__setattr__(self, "eta_centres", eta)
        object.__setattr__(self, "phi_centres", phi)

    @property
    def n_cells(self) -> int:
        """Total number of crop cells (266)."""
        return N_CELLS

    def layer(self, layer: int | str | Layer) -> Layer:
        """The `Layer` for a number or name."""
        return self.layers[layer_index(layer)]

    def centres(self, p: ArrayLike, e: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres relative to the impact-cell centre for alignment(s) ``p`` (0..3) and ``e`` (0/1).

        Scalars give ``[266]`` arrays; arrays of shape ``S`` give ``[*S, 266]``.
        """
        p_arr, e_arr = _check_alignment(p, e)
        return self.eta_centres[p_arr, e_arr], self.phi_centres[p_arr, e_arr]

    def layer_centres(self, layer: int | str | Layer, p: ArrayLike, e: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Like `centres` but only the cells of one layer."""
        eta, phi = self.centres(p, e)
        sl = self.layer(layer).slice
        return eta[..., sl], phi[..., sl]

    def image(self, cells: ArrayLike, layer: int | str | Layer) -> np.ndarray:
        """Reshape flat cells ``[..., 266]`` into the ``[..., n_eta, n_phi]`` image of one layer."""
        arr = np.asarray(cells)
        if arr.shape[-1:] != (N_CELLS,):
            raise InputError(f"cells must have 266 entries on the last axis, got shape {arr.shape}")
        lay = self.layer(layer)
        return arr[..., lay.slice].reshape(*arr.shape[:-1], lay.n_eta, lay.n_phi)

    def flatten(self, images: dict[str, np.ndarray] | list[np.ndarray]) -> np.ndarray:
        """Inverse of `image`: four layer images ``[..., n_eta, n_phi]`` -> flat ``[..., 266]``."""
        items = [images[name] for name in LAYER_NAMES] if isinstance(images, dict) else list(images)
        if len(items) != 4:
            raise InputError("flatten needs the four layer images (presampler, strips, middle, back)")
        flat = []
        for lay, img in zip(self.layers, items):
            img = np.asarray(img)
            if img.shape[-2:] != (lay.n_eta, lay.n_phi):
                raise InputError(f"{lay.name} image must end in ({lay.n_eta}, {lay.n_phi}), got {img.shape}")
            flat.append(img.reshape(*img.shape[:-2], lay.size))
        return np.concatenate(flat, axis=-1)


def _check_alignment(p: ArrayLike, e: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p_arr = np.asarray(p)
    e_arr = np.asarray(e)
    if not (np.issubdtype(p_arr.dtype, np.integer) and np.issubdtype(e_arr.dtype, np.integer)):
        raise InputError("p and e must be integers (p in 0..3, e in 0/1)")
    if p_arr.size and (p_arr.min() < 0 or p_arr.max() > 3):
        raise InputError(f"p must be in 0..3, got values in [{p_arr.min()}, {p_arr.max()}]")
    if e_arr.size and (e_arr.min() < 0 or e_arr.max() > 1):
        raise InputError(f"e must be 0 or 1, got values in [{e_arr.min()}, {e_arr.max()}]")
    return p_arr.astype(np.intp), e_arr.astype(np.intp)


GEOMETRY = CropGeometry()
"""The default crop geometry (module-level singleton)."""
