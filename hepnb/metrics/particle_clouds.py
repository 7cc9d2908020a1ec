"""Particle clouds in JetNet's layout, checked once: features, which particles are real, jet mass and angles.

A particle cloud is an array ``[N_jets, N_particles, 3 or 4]`` with the features in JetNet's order
``(eta_rel, phi_rel, pT_rel[, mask])`` (Kansal et al., arXiv:2106.11535; the JetNet library, JOSS 10.21105/joss.05789).
A particle is real when all of these hold, as in JetNet:

- its mask is on: the optional ``mask`` argument (``[N_jets, N_particles]`` or ``[..., 1]``) and the 4th feature,
  if present, read as ``mask >= 0.5`` (JetNet's ``gen_jet_corrections``);
- it is not zero padding: not all of ``(eta, phi, pT)`` are exactly 0 (JetNet's ``exclude_zeros=True`` of ``w1p``).

Masked particles get ``pT = 0``, so they add nothing to the jet mass, the energy-flow polynomials or the energy
mover's distance. Constituents are massless; the angular distance is ``theta_ij = sqrt(d_eta^2 + d_phi^2)`` with
``d_phi`` taken modulo 2 pi into [0, pi] (energyflow's hadronic measure; for jet-relative coordinates it is the plain
difference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hepnb.errors import InputError, as_finite_array

__all__ = ["ParticleCloud", "angular_distances", "jet_mass", "particle_cloud"]

_CHUNK = 4096  # jets per block of the O(N_particles^2) computations: about 30 MB at 30 particles


@dataclass(frozen=True, eq=False)
class ParticleCloud:
    """Checked jets: per-particle ``eta``, ``phi``, ``pt`` (0 where masked) and the boolean ``mask`` of real ones.

    All four arrays are ``[n_jets, n_particles]``.
    """

    eta: np.ndarray
    phi: np.ndarray
    pt: np.ndarray
    mask: np.ndarray

    @property
    def n_jets(self) -> int:
        """Number of jets."""
        return self.pt.shape[0]

    @property
    def n_particles(self) -> int:
        """Particle slots per jet (real and padded)."""
        return self.pt.shape[1]

    def features(self) -> np.ndarray:
        """``[n_jets, n_particles, 3]`` array of ``(eta, phi, pT)``, masked particles included."""
        return np.stack([self.eta, self.phi, self.pt], axis=-1)

    def take(self, indices: np.ndarray) -> ParticleCloud:
        """The jets at ``indices`` (repeats allowed), as a new cloud."""
        return ParticleCloud(self.eta[indices], self.phi[indices], self.pt[indices], self.mask[indices])


def particle_cloud(jets: Any, mask: Any = None, *, name: str = "jets", nonnegative_pt: bool = True) -> ParticleCloud:
    """Check a particle cloud and split it into features and mask (see the module docstring for the rules).

    Parameters
    ----------
    jets
        ``[N_jets, N_particles, 3 or 4]``: ``(eta_rel, phi_rel, pT_rel[, mask])``, or a :class:`ParticleCloud`
        (returned as it is, ``mask`` must then be ``None``).
    mask
        Optional ``[N_jets, N_particles]`` (or ``[..., 1]``) mask, non-zero for real particles.
    name
        How the caller calls ``jets`` in error messages.
    nonnegative_pt
        Refuse a negative pT of a real particle (jet-level observables need it; per-particle histograms do not).

    Examples
    --------
    >>> cloud = particle_cloud([[[0.1, 0.0, 0.6], [-0.1, 0.0, 0.4], [0.0, 0.0, 0.0]]])
    >>> cloud.mask.tolist()
    [[True, True, False]]
    """
    if isinstance(jets, ParticleCloud):
        if mask is not None:
            raise InputError(f"{name} is already a ParticleCloud with its mask; pass mask=None")
        return jets
    array = as_finite_array(jets, name)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise InputError(
            f"{name} must be [N_jets, N_particles, 3 or 4] with features (eta_rel, phi_rel, pT_rel[, mask]), "
            f"got shape {array.shape}; a single jet needs a leading axis (jets[None])"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{name} has no jets or no particle slots (shape {array.shape})")
    eta, phi, pt = array[..., 0], array[..., 1], array[..., 2]
    real = (eta != 0) | (phi != 0) | (pt != 0)
    if array.shape[-1] == 4:
        real &= array[..., 3] >= 0.5
    if mask is not None:
        given = as_finite_array(mask, f"mask of {name}")
        if given.shape == array.shape[:2] + (1,):
            given = given[..., 0]
        if given.shape != array.shape[:2]:
            raise InputError(
                f"the mask of {name} must be [N_jets, N_particles] = {list(array.shape[:2])} (or with a trailing "
                f"axis of 1), got shape {given.shape}"
            )
        real &= given != 0
    if nonnegative_pt and np.any(pt[real] < 0):
        count = int(np.sum(pt[real] < 0))
        raise InputError(
            f"{name} has {count} real particles with negative pT: clip them (numpy.clip(jets[..., 2], 0, None)) "
            "or mask them out, as JetNet's gen_jet_corrections does"
        )
    return ParticleCloud(
        eta=np.where(real, eta, 0.0), phi=np.where(real, phi, 0.0), pt=np.where(real, pt, 0.0), mask=real
    )


def angular_distances(
    eta: np.ndarray, phi: np.ndarray, eta_other: np.ndarray | None = None, phi_other: np.ndarray | None = None
) -> np.ndarray:
    """Pairwise ``theta_ij = sqrt(d_eta^2 + d_phi^2)`` (``d_phi`` folded into [0, pi]) over the last axis.

    With one set of particles ``[..., P]`` the result is ``[..., P, P]``; with a second set ``[..., Q]`` it is
    ``[..., P, Q]``.
    """
    eta_other = eta if eta_other is None else eta_other
    phi_other = phi if phi_other is None else phi_other
    d_eta = eta[..., :, None] - eta_other[..., None, :]
    d_phi = np.abs(phi[..., :, None] - phi_other[..., None, :]) % (2 * np.pi)
    d_phi = np.minimum(d_phi, 2 * np.pi - d_phi)
    return np.sqrt(d_eta**2 + d_phi**2)


def jet_mass(jets: Any, mask: Any = None) -> np.ndarray:
    """Mass of each jet from its massless constituents, in the units of pT (relative mass for JetNet's pT_rel).

    Uses ``m^2 = sum_ij pT_i pT_j (cosh(eta_i - eta_j) - cos(phi_i - phi_j))``, the same as summing the four-momenta
    but free of the cancellation between E^2 and p^2.

    Examples
    --------
    >>> # two particles of pT 1/2 at eta = +-1: m = sinh(1)
    >>> round(float(jet_mass([[[1.0, 0.0, 0.5], [-1.0, 0.0, 0.5]]])[0]), 6)
    1.175201
    """
    cloud = particle_cloud(jets, mask)
    mass2 = np.empty(cloud.n_jets)
    for start in range(0, cloud.n_jets, _CHUNK):
        part = slice(start, start + _CHUNK)
        eta, phi, pt = cloud.eta[part], cloud.phi[part], cloud.pt[part]
        kernel = np.cosh(eta[:, :, None] - eta[:, None, :]) - np.cos(phi[:, :, None] - phi[:, None, :])
        mass2[part] = np.einsum("ni,nij,nj->n", pt, kernel, pt)
    return np.sqrt(np.clip(mass2, 0.0, None))
