"""Parametric photon-shower simulator standing in for the thesis's Geant4 samples (thesis section 5.3.1).

The model, per shower (all steps vectorised over showers and spots):

1. **Conversion depth** ``t_c ~ Exp(9/7 X0)`` from the calorimeter surface (GFlash photon treatment).
2. **Longitudinal GFlash profile** after conversion, ``dE/dt ~ Gamma(alpha, beta)`` in ``t - t_c`` (X0), with
   correlated per-shower fluctuations of ``(ln T, ln alpha)`` (GFlash, arXiv:hep-ex/0001020).
   Layer energies are the exact profile integrals over the layer depths; the Presampler reads the profile
   in a thin slab inside the dead material plus the e+e- pair crossing it, times a gain.
3. **Lateral spots** (GFlash core + tail radial profile, arXiv:hep-ex/0001020): each layer's energy is carried by spots
   at stratified depths (weighted by the profile), with radii drawn from the core/tail mixture whose
   parameters follow the spot's ``tau = (t - t_c)/T``; spots are deposited into the global barrel grid and the
   266-cell crop is cut around the impact cell (geometry of `hepnb.calo.geometry`).
4. **Sampling fluctuations**: each cell becomes a Gamma variate with its mean and variance ``a^2 E_cell 1 GeV``,
   so exact zeros stay zero.
5. Optional imperfections (all off by default): electronic noise, dead cells, negative (cross-talk) cells,
   the raw/real coordinate mismatch between the halves.

Units: **energies in MeV** everywhere (cells, true energies, layer energies); eta/phi in radians-like units.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammainc
from tqdm.auto import tqdm

from hepnb.errors import InputError, as_finite_array
from hepnb.io import atomic_write

from .geometry import LAYER_NAMES, LAYERS, N_CELLS, crop_start, impact_cell, impact_offsets, wrap_phi
from .geometry import alignment as _alignment

__all__ = [
    "ENERGIES_MEV",
    "THESIS_COUNTS",
    "INTERPOLATION_ENERGY_MEV",
    "EXTRAPOLATION_ENERGY_MEV",
    "ETA_RANGE",
    "DEFAULT_NOISE_MEV",
    "CHUNK_SIZE",
    "MAX_ENERGY_MEV",
    "MAX_SPOTS",
    "ShowerModel",
    "Showers",
    "simulate",
    "standard_dataset",
    "interpolation_dataset",
    "extrapolation_dataset",
    "add_noise",
]

ENERGIES_MEV: np.ndarray = 2.0 ** np.arange(10, 19)
"""The nine training energies 2^k MeV, k = 10..18 (1.024 ... 262.144 GeV)."""
ENERGIES_MEV.flags.writeable = False
THESIS_COUNTS: tuple[int, ...] = (10000,) * 7 + (9000,) * 2
"""Showers per training energy in the thesis (88,000 in total)."""
INTERPOLATION_ENERGY_MEV = 25000.0
EXTRAPOLATION_ENERGY_MEV = 2.0**19
ETA_RANGE = (0.20, 0.25)
DEFAULT_NOISE_MEV: dict[str, float] = {"presampler": 25.0, "strips": 10.0, "middle": 25.0, "back": 15.0}
"""Order-of-magnitude per-cell electronic noise (ours; thesis 5.5.3); tune freely."""
CHUNK_SIZE = 512
"""Showers simulated per random stream; fixed so that a seed always gives the same bytes."""
MAX_ENERGY_MEV = 1e7
"""Highest photon energy simulated (10 TeV): the 29 X0 of the model hold about 95 % of such a shower (response 0.95,
falling to 0.77 at 10^10 MeV as the shower maximum moves out of the back); far above it is a unit mistake."""
MAX_SPOTS = 10_000
"""Upper bound of ``ShowerModel.max_spots``: a chunk of 512 showers holds up to 512 x max_spots spots in memory."""
FORMAT_VERSION = 1

_ARRAY_FIELDS = (
    "cells", "energy", "eta", "phi", "p", "e", "delta_eta", "delta_phi",
    "impact_eta_index", "impact_phi_index", "half", "layer_energy",
)


@dataclass(frozen=True)
class ShowerModel:
    """Tunable parameters of the stand-in simulator (defaults tuned to the thesis's 65 GeV numbers).

    Parameters
    ----------
    critical_energy_mev, z
        Medium of the GFlash parameterisation (Pb-like; E_c = 7.4 MeV as in the thesis).
    conversion_x0
        Mean photon conversion depth in X0 (7/9 X0 is the pair-production length's inverse).
    presampler_x0
        Depth interval of the Presampler slab (inside the dead material in front of the Strips).
    front_x0, strips_x0, middle_x0, back_x0
        Dead material in front of the Strips, then the thickness of each sampling layer, in X0.
    em_scale
        Cell response at EM scale relative to the deposit for Strips/Middle/Back.
    presampler_gain
        Calibration gain of the Presampler signal (upstream-loss estimate).
    pair_mev_per_x0
        Ionisation of the e+e- pair crossing the Presampler slab after an early conversion (2 MIPs ~ 2 E_c/X0).
    moliere_mm
        Effective Moliere radius scaling the GFlash radial profiles.
    stochastic
        Sampling term ``a`` in ``a / sqrt(E / GeV)``.
    max_spots
        Cap on the number of lateral spots per shower (GFlash would use 93 ln(Z) E^0.876), at most `MAX_SPOTS`.
    min_alpha
        Lower clamp (> 1) of the per-shower profile shape ``alpha`` (keeps ``beta > 0``).
    zero_below_mev
        Cells below this (sub-eV remnants of the Gamma sampling of tiny deposits) are set to exactly 0.
    """

    critical_energy_mev: float = 7.4
    z: float = 82.0
    conversion_x0: float = 9.0 / 7.0
    presampler_x0: tuple[float, float] = (2.0, 2.5)
    front_x0: float = 3.0
    strips_x0: float = 4.2
    middle_x0: float = 19.52
    back_x0: float = 2.01
    em_scale: float = 0.99
    presampler_gain: float = 3.55
    pair_mev_per_x0: float = 14.8
    moliere_mm: float = 36.0
    stochastic: float = 0.10
    max_spots: int = 3000
    min_alpha: float = 1.1
    zero_below_mev: float = 1e-6

    def __post_init__(self) -> None:
        for f in fields(self):  # NaN would pass a plain "< 0" test and silently switch a feature off
            value = getattr(self, f.name)
            try:
                values = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                values = np.full(1, np.nan)
            zero_ok = f.name in ("stochastic", "presampler_gain", "pair_mev_per_x0", "zero_below_mev", "presampler_x0")
            if not np.all(np.isfinite(values) & ((values >= 0) if zero_ok else (values > 0))):
                bound = ">= 0" if zero_ok else "> 0"
                raise InputError(f"ShowerModel.{f.name} must be finite and {bound}, got {value!r}")
        interval = self.presampler_x0
        if np.shape(interval) != (2,) or not 0 <= interval[0] < interval[1] <= self.front_x0:
            raise InputError("presampler_x0 must be an interval (lo, hi) with 0 <= lo < hi <= front_x0")
        if not self.min_alpha > 1:
            raise InputError(f"ShowerModel.min_alpha must be > 1 (beta = (alpha - 1) / T > 0), got {self.min_alpha!r}")
        if self.max_spots != int(self.max_spots) or not 1 <= self.max_spots <= MAX_SPOTS:
            raise InputError(f"ShowerModel.max_spots must be an integer in 1..{MAX_SPOTS}, got {self.max_spots!r} "
                             "(memory grows as 512 showers x max_spots per chunk, ~0.15 GiB per 1,000 spots)")

    @property
    def layer_depths(self) -> np.ndarray:
        """``[4, 2]`` depth intervals (X0 from the surface) of PS, Strips, Middle, Back."""
        b0 = self.front_x0
        b1 = b0 + self.strips_x0
        b2 = b1 + self.middle_x0
        b3 = b2 + self.back_x0
        return np.array([self.presampler_x0, (b0, b1), (b1, b2), (b2, b3)], dtype=float)


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
        return self.energy / 1000.0

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
        meta = {"format_version": FORMAT_VERSION, "energy_unit": "MeV", "cells_unit": "MeV",
                "layers": list(LAYER_NAMES), "n_cells": N_CELLS}
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


# --------------------------------------------------------------------------------------------------------------
# the model


def _gflash_longitudinal(energy: np.ndarray, model: ShowerModel, rng: np.random.Generator
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-shower (T, alpha, beta) with the correlated GFlash fluctuations."""
    ln_y = np.log(energy / model.critical_energy_mev)
    mean_ln_t = np.log(ln_y - 0.858)
    mean_ln_a = np.log(0.21 + (0.492 + 2.38 / model.z) * ln_y)
    sigma_ln_t = 1.0 / (-1.4 + 1.26 * ln_y)
    sigma_ln_a = 1.0 / (-0.58 + 0.86 * ln_y)
    rho = 0.705 - 0.023 * ln_y
    z1 = rng.standard_normal(energy.size)
    z2 = rng.standard_normal(energy.size)
    depth_max = np.exp(mean_ln_t + sigma_ln_t * z1)
    alpha = np.exp(mean_ln_a + sigma_ln_a * (rho * z1 + np.sqrt(1.0 - rho**2) * z2))
    alpha = np.maximum(alpha, model.min_alpha)
    beta = (alpha - 1.0) / depth_max
    return depth_max, alpha, beta


def _layer_energies(energy: np.ndarray, t_conv: np.ndarray, alpha: np.ndarray, beta: np.ndarray,
                    model: ShowerModel) -> np.ndarray:
    """``[n, 4]`` layer energies (MeV) from the exact profile integrals."""
    depths = model.layer_depths

    def cdf(t: float) -> np.ndarray:
        return gammainc(alpha, beta * np.maximum(t - t_conv, 0.0))

    out = np.empty((energy.size, 4))
    for k in range(1, 4):
        lo, hi = depths[k]
        out[:, k] = model.em_scale * energy * (cdf(hi) - cdf(lo))
    lo, hi = depths[0]
    crossed = np.clip(hi - np.maximum(t_conv, lo), 0.0, None)
    out[:, 0] = model.presampler_gain * (energy * (cdf(hi) - cdf(lo)) + model.pair_mev_per_x0 * crossed)
    return out


def _deposit_spots(energy: np.ndarray, eta_axis: np.ndarray, phi_axis: np.ndarray, m_eta: np.ndarray,
                   m_phi: np.ndarray, t_conv: np.ndarray, depth_max: np.ndarray, alpha: np.ndarray,
                   beta: np.ndarray, layer_e: np.ndarray, model: ShowerModel, rng: np.random.Generator
                   ) -> np.ndarray:
    """Deposit each layer's energy with GFlash core/tail spots; returns noiseless crop cells ``[n, 266]``."""
    n = energy.size
    e_gev = energy / 1000.0
    n_gflash = np.ceil(93.0 * np.log(model.z) * e_gev**0.876)
    n_total = np.minimum(n_gflash, model.max_spots)
    visible = layer_e.sum(axis=1)
    frac = np.divide(layer_e, visible[:, None], out=np.zeros_like(layer_e), where=visible[:, None] > 0)
    n_layer = np.where(layer_e > 0, np.ceil(n_total[:, None] * frac), 0).astype(np.int64)
    counts = n_layer.ravel()
    total = int(counts.sum())
    if total == 0:
        return np.zeros((n, N_CELLS))
    group = np.repeat(np.arange(n * 4), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(total) - starts[group]
    shower = group // 4
    layer = group % 4

    # stratified depths inside the active part of the layer, weighted by the profile density
    depths = model.layer_depths
    lo = np.maximum(depths[layer, 0], t_conv[shower])
    hi = depths[layer, 1]
    t = lo + (hi - lo) * (rank + rng.random(total)) / counts[group]
    t_after = np.maximum(t - t_conv[shower], 1e-9)
    a_s, b_s = alpha[shower], beta[shower]
    log_w = (a_s - 1.0) * np.log(b_s * t_after) - b_s * t_after
    weight = np.where(layer == 0, 1.0, np.exp(log_w))
    norm = np.bincount(group, weights=weight, minlength=n * 4)
    spot_e = layer_e.ravel()[group] * weight / norm[group]

    # GFlash radial profile (E in GeV) at tau = (t - t_c) / T
    tau = t_after / depth_max[shower]
    ln_e = np.log(e_gev)[shower]
    z = model.z
    r_core = (0.0251 + 0.00319 * ln_e) + (0.1162 - 0.000381 * z) * tau
    k1, k2, k3 = 0.659 - 0.00309 * z, 0.645, -2.59
    k4 = 0.3585 + 0.0412 * ln_e
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    p3 = 1.313 - 0.0686 * ln_e
    x = ((0.401 + 0.00187 * z) - tau) / p3
    p_core = np.clip((2.632 - 0.00094 * z) * np.exp(x - np.exp(x)), 0.0, 1.0)
    radius = np.where(rng.random(total) < p_core, r_core, r_tail) * model.moliere_mm
    u = np.minimum(rng.random(total), 1.0 - 1e-12)
    r = radius * np.sqrt(u / (1.0 - u))
    angle = 2.0 * np.pi * rng.random(total)

    radius_l = np.array([lay.radius_mm for lay in LAYERS])[layer]
    spot_eta = eta_axis[shower] + r * np.cos(angle) / radius_l
    spot_phi = phi_axis[shower] + r * np.sin(angle) / radius_l

    deta = np.array([lay.deta for lay in LAYERS])[layer]
    dphi = np.array([lay.dphi for lay in LAYERS])[layer]
    nphi_global = np.array([lay.n_phi_global for lay in LAYERS])[layer]
    n_eta = np.array([lay.n_eta for lay in LAYERS])[layer]
    n_phi = np.array([lay.n_phi for lay in LAYERS])[layer]
    offset = np.array([lay.offset for lay in LAYERS])[layer]
    start = np.stack([np.stack(crop_start(k, m_eta, m_phi)) for k in range(4)])  # [4 layers, 2, n]
    ci = np.floor(spot_eta / deta).astype(np.int64) - start[layer, 0, shower]
    cj = (np.floor((spot_phi + np.pi) / dphi).astype(np.int64) - start[layer, 1, shower]) % nphi_global
    inside = (ci >= 0) & (ci < n_eta) & (cj < n_phi)
    flat = shower * N_CELLS + offset + ci * n_phi + cj
    cells = np.bincount(flat[inside], weights=spot_e[inside], minlength=n * N_CELLS)
    return cells.reshape(n, N_CELLS)


def _simulate_chunk(energy: np.ndarray, eta_axis: np.ndarray, phi_axis: np.ndarray, m_eta: np.ndarray,
                    m_phi: np.ndarray, model: ShowerModel, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    t_conv = rng.exponential(model.conversion_x0, energy.size)
    depth_max, alpha, beta = _gflash_longitudinal(energy, model, rng)
    layer_e = _layer_energies(energy, t_conv, alpha, beta, model)
    cells = _deposit_spots(energy, eta_axis, phi_axis, m_eta, m_phi, t_conv, depth_max, alpha, beta,
                           layer_e, model, rng)
    if model.stochastic > 0:
        scale = model.stochastic**2 * 1000.0  # MeV: variance a^2 * E_cell * 1 GeV
        cells = rng.gamma(cells / scale, scale)
    cells[cells < model.zero_below_mev] = 0.0
    return cells, layer_e


def _counts_per_energy(n_per_energy: int | Sequence[int], n_energies: int) -> np.ndarray:
    counts = np.atleast_1d(np.asarray(n_per_energy))
    if not np.issubdtype(counts.dtype, np.integer):
        raise InputError(f"n_per_energy must be an integer or a list of integers, got {n_per_energy!r}")
    if counts.size == 1:
        counts = np.full(n_energies, int(counts[0]))
    if counts.size != n_energies or np.any(counts < 0):
        raise InputError(f"n_per_energy must be one count >= 0 or one per energy ({n_energies}), got {counts}")
    return counts.astype(np.int64)


def simulate(
    n_per_energy: int | Sequence[int],
    energies: ArrayLike = ENERGIES_MEV,
    seed: int = 0,
    *,
    noise: bool | Mapping[str, float] = False,
    model: ShowerModel | None = None,
    eta: ArrayLike | None = None,
    phi: ArrayLike | None = None,
    eta_range: tuple[float, float] = ETA_RANGE,
    both_halves: bool = False,
    phi_mismatch: tuple[float, float] = (0.0, 0.0),
    dead_cell_rate: float = 0.0,
    negative_cell_rate: float = 0.0,
    negative_cell_mev: float = 5.0,
    clip_negative: bool = True,
    progress: bool | None = None,
) -> Showers:
    """Simulate photon showers on the 266-cell crop.

    Parameters
    ----------
    n_per_energy
        Showers per energy: one integer or one per entry of ``energies``.
    energies
        True photon energies in MeV (default: the nine 2^k MeV training points).
    seed
        Seed; the same arguments and seed give the same bytes.
    noise
        ``True`` adds Gaussian electronic noise with `DEFAULT_NOISE_MEV`; a mapping ``{layer: sigma_MeV}``
        sets it per layer. Default off (the thesis's samples have no noise).
    model
        `ShowerModel` parameters (default tuning when ``None``).
    eta, phi
        Optional fixed true impact positions, one per shower (e.g. identical conditions); by default eta is
        uniform in ``eta_range`` and phi uniform in [-pi, pi). The sign of a given eta sets the half.
    both_halves
        Draw the sign of eta at random (eta < 0 showers are mirrored, ``half`` records the side).
    phi_mismatch
        Raw/real coordinate mismatch: reported minus true phi for the (eta > 0, eta < 0) halves, radians.
        The impact cell, ``p`` and the offsets are computed from the reported position, the shower sits
        on the true axis. Default no mismatch.
    dead_cell_rate
        Fraction of showers with one dead (zeroed) Middle cell within one cell of the impact cell.
    negative_cell_rate, negative_cell_mev
        Fraction of cells that receive a cross-talk-like negative offset ``-Exp(negative_cell_mev)``.
    clip_negative
        Set negative cells to zero afterwards (the thesis's preprocessing); applied before noise.
    progress
        Show a tqdm progress bar (default: for 10,000 showers or more).

    Returns
    -------
    Showers
        Cells in MeV (float32) and the conditions of every shower, grouped by energy in input order.
    """
    model = model or ShowerModel()
    energies = as_finite_array(energies, "energies")
    energies = np.atleast_1d(energies)
    if energies.ndim != 1 or energies.size == 0:
        raise InputError("energies must be a non-empty 1-D list of photon energies in MeV")
    if np.any(energies < 100.0):
        raise InputError(f"energies are in MeV and must be >= 100 MeV for the GFlash model, got {energies.min()}")
    if np.any(energies > MAX_ENERGY_MEV):
        raise InputError(f"energies are in MeV and must be <= {MAX_ENERGY_MEV:g} MeV (10 TeV, beyond which the "
                         f"showers leak out of the calorimeter model), got {energies.max():g}")
    counts = _counts_per_energy(n_per_energy, energies.size)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    for name, rate in (("dead_cell_rate", dead_cell_rate), ("negative_cell_rate", negative_cell_rate)):
        if not 0.0 <= rate <= 1.0:
            raise InputError(f"{name} must be a fraction in [0, 1], got {rate}")
    if not (np.isfinite(negative_cell_mev) and negative_cell_mev >= 0):
        raise InputError(f"negative_cell_mev (mean offset, MeV) must be finite and >= 0, got {negative_cell_mev}")
    lo, hi = eta_range
    if not 0.0 <= lo < hi <= 1.3:
        raise InputError(f"eta_range must satisfy 0 <= lo < hi <= 1.3 (barrel), got {eta_range}")
    shifts = as_finite_array(phi_mismatch, "phi_mismatch", ndim=1)
    if shifts.size != 2:
        raise InputError("phi_mismatch must be a pair (shift for eta > 0, shift for eta < 0) in radians")

    n = int(counts.sum())
    energy = np.repeat(energies, counts)
    root = np.random.SeedSequence(int(seed))
    cond_seq, chunk_seq, noise_seq = root.spawn(3)
    rng = np.random.default_rng(cond_seq)
    half = np.where(rng.random(n) < 0.5, -1, 1).astype(np.int8) if both_halves else np.ones(n, dtype=np.int8)
    eta_draw = rng.uniform(lo, hi, n)
    phi_draw = rng.uniform(-np.pi, np.pi, n)
    if eta is not None:
        eta_abs = np.abs(as_finite_array(eta, "eta", ndim=1))
        if eta_abs.size != n:
            raise InputError(f"eta must have one entry per shower ({n}), got {eta_abs.size}")
        half = np.where(np.asarray(eta) < 0, -1, 1).astype(np.int8)
    else:
        eta_abs = eta_draw
    if phi is not None:
        phi_true = wrap_phi(as_finite_array(phi, "phi", ndim=1))
        if phi_true.size != n:
            raise InputError(f"phi must have one entry per shower ({n}), got {phi_true.size}")
    else:
        phi_true = phi_draw
    if np.any(eta_abs > 1.3):
        raise InputError("|eta| must stay inside the barrel (<= 1.3)")

    phi_reported = wrap_phi(phi_true + np.where(half > 0, shifts[0], shifts[1]))
    m_eta, m_phi = impact_cell(eta_abs, phi_reported)
    p, e = _alignment(m_eta, m_phi)
    d_eta, d_phi = impact_offsets(eta_abs, phi_reported)

    cells = np.empty((n, N_CELLS), dtype=np.float32)
    layer_e = np.empty((n, 4), dtype=np.float32)
    n_chunks = -(-n // CHUNK_SIZE)
    show = (n >= 10000) if progress is None else bool(progress)
    for k, chunk_rng_seq in enumerate(tqdm(chunk_seq.spawn(n_chunks), desc="showers", unit="chunk",
                                           disable=not show, total=n_chunks)):
        sl = slice(k * CHUNK_SIZE, min(n, (k + 1) * CHUNK_SIZE))
        c, le = _simulate_chunk(energy[sl], eta_abs[sl], phi_true[sl], m_eta[sl], m_phi[sl], model,
                                np.random.default_rng(chunk_rng_seq))
        cells[sl] = c
        layer_e[sl] = le

    rng_x = np.random.default_rng(noise_seq)
    dead_rng, neg_rng, noise_rng = rng_x.spawn(3)
    if dead_cell_rate > 0:
        dead = np.flatnonzero(dead_rng.random(n) < dead_cell_rate)
        ie = dead_rng.integers(2, 5, dead.size)
        ip = dead_rng.integers(2, 5, dead.size)
        cells[dead, LAYERS[2].offset + ie * 7 + ip] = 0.0
    if negative_cell_rate > 0:
        hit = neg_rng.random((n, N_CELLS)) < negative_cell_rate
        cells[hit] -= neg_rng.exponential(negative_cell_mev, int(hit.sum())).astype(np.float32)
    if clip_negative:
        np.maximum(cells, 0.0, out=cells)
    if noise:
        sigmas = DEFAULT_NOISE_MEV if noise is True else noise
        cells = add_noise(cells, sigmas, seed=int(noise_rng.integers(2**63)))

    return Showers(
        cells=cells, energy=energy, eta=eta_abs * half, phi=phi_reported, p=p, e=e,
        delta_eta=d_eta, delta_phi=d_phi, impact_eta_index=m_eta.astype(np.int32),
        impact_phi_index=m_phi.astype(np.int32), half=half, layer_energy=layer_e,
    )


def add_noise(cells: ArrayLike, sigma_mev: Mapping[str, float] | Sequence[float] = DEFAULT_NOISE_MEV,
              seed: int = 0) -> np.ndarray:
    """Add independent Gaussian electronic noise to every cell (float32 MeV, negatives kept).

    Parameters
    ----------
    cells
        ``[N, 266]`` cell energies in MeV.
    sigma_mev
        Per-layer noise: a mapping ``{"presampler": .., "strips": .., "middle": .., "back": ..}`` (missing
        layers get 0) or four numbers in layer order.
    seed
        Seed of the noise.
    """
    arr = as_finite_array(cells, "cells", ndim=2)
    if arr.shape[1] != N_CELLS:
        raise InputError(f"cells must have shape [N, 266], got {arr.shape}")
    if isinstance(sigma_mev, Mapping):
        unknown = set(sigma_mev) - set(LAYER_NAMES)
        if unknown:
            raise InputError(f"unknown layers {sorted(unknown)} in sigma_mev; use {LAYER_NAMES}")
        sig = [float(sigma_mev.get(name, 0.0)) for name in LAYER_NAMES]
    else:
        sig = [float(s) for s in sigma_mev]
        if len(sig) != 4:
            raise InputError("sigma_mev needs four values (presampler, strips, middle, back)")
    if any(s < 0 or not np.isfinite(s) for s in sig):
        raise InputError(f"noise sigmas must be finite and >= 0, got {sig}")
    per_cell = np.concatenate([np.full(lay.size, s) for lay, s in zip(LAYERS, sig)])
    rng = np.random.default_rng(seed)
    return (arr + rng.standard_normal(arr.shape) * per_cell).astype(np.float32)


def standard_dataset(fraction: float = 0.1, seed: int = 0, **kwargs: Any) -> Showers:
    """The thesis's training set: nine energies 2^k MeV with 10,000 (x7) and 9,000 (x2) showers.

    ``fraction`` scales the counts (1.0 gives the full 88,000; the default 0.1 gives 8,800).
    Extra keyword arguments go to `simulate`.
    """
    if not 0 < fraction <= 10:
        raise InputError(f"fraction must be in (0, 10], got {fraction}")
    counts = [max(1, int(round(c * fraction))) for c in THESIS_COUNTS]
    return simulate(counts, ENERGIES_MEV, seed=seed, **kwargs)


def interpolation_dataset(n: int = 10000, seed: int = 1, **kwargs: Any) -> Showers:
    """Validation-only showers at the untrained 25 GeV point (interpolation)."""
    return simulate(n, [INTERPOLATION_ENERGY_MEV], seed=seed, **kwargs)


def extrapolation_dataset(n: int = 9000, seed: int = 2, **kwargs: Any) -> Showers:
    """Validation-only showers at 2^19 MeV = 524 GeV (the thesis's "512 GeV" extrapolation point)."""
    return simulate(n, [EXTRAPOLATION_ENERGY_MEV], seed=seed, **kwargs)
