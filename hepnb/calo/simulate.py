"""Parametric photon-shower simulator standing in for the thesis's Geant4 samples (thesis section 5.3.1).

`simulate` draws the conditions (impact position, alignment), runs the GFlash shower model of `hepnb.calo.gflash`
chunk by chunk on fixed random streams and adds the optional imperfections (all off by default): electronic noise,
dead cells, negative (cross-talk) cells, the raw/real coordinate mismatch between the halves. `standard_dataset`,
`interpolation_dataset` and `extrapolation_dataset` are the thesis's samples; the result is a `Showers`
(`hepnb.calo.showers`).

Units: **energies in MeV** everywhere (cells, true energies, layer energies); eta/phi in radians-like units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from tqdm.auto import tqdm

from hepnb.errors import InputError, as_finite_array, is_whole_number

from .geometry import LAYER_NAMES, LAYERS, N_CELLS, impact_cell, impact_offsets, wrap_phi
from .geometry import alignment as _alignment
from .gflash import MAX_SPOTS, ShowerModel, simulate_chunk
from .showers import Showers

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
    "per_cell_noise",
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
        raise InputError(
            f"energies are in MeV and must be <= {MAX_ENERGY_MEV:g} MeV (10 TeV, beyond which the "
            f"showers leak out of the calorimeter model), got {energies.max():g}"
        )
    counts = _counts_per_energy(n_per_energy, energies.size)
    if not is_whole_number(seed) or seed < 0:
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
    for k, chunk_rng_seq in enumerate(
        tqdm(chunk_seq.spawn(n_chunks), desc="showers", unit="chunk", disable=not show, total=n_chunks)
    ):
        sl = slice(k * CHUNK_SIZE, min(n, (k + 1) * CHUNK_SIZE))
        c, le = simulate_chunk(
            energy[sl], eta_abs[sl], phi_true[sl], m_eta[sl], m_phi[sl], model, np.random.default_rng(chunk_rng_seq)
        )
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
        cells=cells,
        energy=energy,
        eta=eta_abs * half,
        phi=phi_reported,
        p=p,
        e=e,
        delta_eta=d_eta,
        delta_phi=d_phi,
        impact_eta_index=m_eta.astype(np.int32),
        impact_phi_index=m_phi.astype(np.int32),
        half=half,
        layer_energy=layer_e,
    )


def per_cell_noise(sigma_mev: Mapping[str, float] | Sequence[float] = DEFAULT_NOISE_MEV) -> np.ndarray:
    """The noise sigma of every cell, in MeV, from a sigma per layer.

    Parameters
    ----------
    sigma_mev
        Per-layer noise: a mapping ``{"presampler": .., "strips": .., "middle": .., "back": ..}`` (missing
        layers get 0) or four numbers in layer order.

    Returns
    -------
    numpy.ndarray
        ``[266]`` float64 MeV, in the cell order of `hepnb.calo.geometry.LAYERS`.

    Examples
    --------
    >>> sigma = per_cell_noise({"middle": 50.0})
    >>> sigma.shape, float(sigma.max()), int((sigma > 0).sum()) == LAYERS[2].size
    ((266,), 50.0, True)
    """
    if isinstance(sigma_mev, Mapping):
        unknown = set(sigma_mev) - set(LAYER_NAMES)
        if unknown:
            raise InputError(f"unknown layers {sorted(unknown)} in sigma_mev; use {list(LAYER_NAMES)}")
        values = [sigma_mev.get(name, 0.0) for name in LAYER_NAMES]
    elif isinstance(sigma_mev, Sequence) and not isinstance(sigma_mev, str):
        values = list(sigma_mev)
        if len(values) != len(LAYER_NAMES):
            raise InputError(f"sigma_mev needs four values ({', '.join(LAYER_NAMES)}), got {len(values)}")
    else:
        raise InputError(
            f"sigma_mev must be a mapping layer -> MeV or four numbers ({', '.join(LAYER_NAMES)}), got {sigma_mev!r}"
        )
    try:
        sig = [float(value) for value in values]
    except (TypeError, ValueError):
        raise InputError(f"noise sigmas must be numbers in MeV, got {values!r}") from None
    if any(not np.isfinite(s) or s < 0 for s in sig):
        raise InputError(f"noise sigmas must be finite and >= 0 MeV, got {dict(zip(LAYER_NAMES, sig))}")
    return np.concatenate([np.full(layer.size, s) for layer, s in zip(LAYERS, sig)])


def add_noise(
    cells: ArrayLike,
    sigma_mev: Mapping[str, float] | Sequence[float] = DEFAULT_NOISE_MEV,
    seed: int = 0,
    *,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Add independent Gaussian electronic noise to every cell (negatives kept).

    Parameters
    ----------
    cells
        ``[N, 266]`` cell energies in MeV.
    sigma_mev
        Per-layer noise, as in `per_cell_noise`.
    seed
        Seed of the noise.
    dtype
        Type of the result: float32, as the showers are stored, or float64 for cells compared with a threshold.
    """
    arr = as_finite_array(cells, "cells", ndim=2)
    if arr.shape[1] != N_CELLS:
        raise InputError(f"cells must have shape [N, 266], got {arr.shape}")
    per_cell = per_cell_noise(sigma_mev)
    rng = np.random.default_rng(seed)
    return (arr + rng.standard_normal(arr.shape) * per_cell).astype(dtype)


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
