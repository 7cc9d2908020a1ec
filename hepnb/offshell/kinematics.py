"""Vectorised four-vector helpers (``(..., 4)`` arrays ordered ``E, px, py, pz``), GeV throughout."""

from __future__ import annotations

import numpy as np

__all__ = [
    "from_pt_eta_phi_m",
    "from_pt_y_phi_m",
    "mass",
    "pt",
    "eta",
    "rapidity",
    "phi",
    "boost",
    "boost_to_rest",
    "delta_phi",
    "delta_r",
    "direction_angles",
    "orthonormal_frame",
]


def from_pt_eta_phi_m(pt_: np.ndarray, eta_: np.ndarray, phi_: np.ndarray, m: np.ndarray | float = 0.0) -> np.ndarray:
    """Four-vectors from transverse momentum, pseudorapidity, azimuth and mass."""
    px, py, pz = pt_ * np.cos(phi_), pt_ * np.sin(phi_), pt_ * np.sinh(eta_)
    e = np.sqrt(px**2 + py**2 + pz**2 + np.asarray(m) ** 2)
    return np.stack([e, px, py, pz], axis=-1)


def from_pt_y_phi_m(pt_: np.ndarray, y: np.ndarray, phi_: np.ndarray, m: np.ndarray | float) -> np.ndarray:
    """Four-vectors from transverse momentum, rapidity, azimuth and mass."""
    mt = np.sqrt(pt_**2 + np.asarray(m) ** 2)
    return np.stack([mt * np.cosh(y), pt_ * np.cos(phi_), pt_ * np.sin(phi_), mt * np.sinh(y)], axis=-1)


def mass(p: np.ndarray) -> np.ndarray:
    """Invariant mass (negative mass-squared clipped to 0)."""
    m2 = p[..., 0] ** 2 - p[..., 1] ** 2 - p[..., 2] ** 2 - p[..., 3] ** 2
    return np.sqrt(np.clip(m2, 0.0, None))


def pt(p: np.ndarray) -> np.ndarray:
    """Transverse momentum."""
    return np.hypot(p[..., 1], p[..., 2])


def eta(p: np.ndarray) -> np.ndarray:
    """Pseudorapidity."""
    return np.arcsinh(p[..., 3] / np.maximum(pt(p), 1e-12))


def rapidity(p: np.ndarray) -> np.ndarray:
    """Rapidity."""
    return 0.5 * np.log((p[..., 0] + p[..., 3]) / np.maximum(p[..., 0] - p[..., 3], 1e-300))


def phi(p: np.ndarray) -> np.ndarray:
    """Azimuth in (-pi, pi]."""
    return np.arctan2(p[..., 2], p[..., 1])


def boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-vectors ``p`` by velocity ``beta`` (``(..., 3)``, ``|beta| < 1``)."""
    b2 = np.sum(beta**2, axis=-1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p[..., 1:], axis=-1)
    coef = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    e = gamma * (p[..., 0] + bp)
    vec = p[..., 1:] + (coef * bp + gamma * p[..., 0])[..., None] * beta
    return np.concatenate([e[..., None], vec], axis=-1)


def boost_to_rest(p: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Boost ``p`` into the rest frame of the four-vector ``frame``."""
    return boost(p, -frame[..., 1:] / frame[..., :1])


def delta_phi(phi1: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """Azimuthal difference wrapped into [-pi, pi)."""
    return (phi1 - phi2 + np.pi) % (2 * np.pi) - np.pi


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """Distance in (eta, phi)."""
    return np.hypot(eta1 - eta2, delta_phi(phi1, phi2))


def orthonormal_frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-handed frame ``(x', y', z')``: ``z'`` along ``axis``, ``x'`` in the plane of ``axis`` and the beam."""
    z = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    beam = np.zeros_like(z)
    beam[..., 2] = 1.0
    x = beam - np.sum(beam * z, axis=-1, keepdims=True) * z
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    fallback = np.zeros_like(z)
    fallback[..., 0] = 1.0
    x = np.where(norm > 1e-9, x / np.maximum(norm, 1e-300), fallback)
    y = np.cross(z, x)
    return x, y, z


def direction_angles(vec: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Cosine of the angle between 3-vectors ``vec`` and ``axis``."""
    num = np.sum(vec * axis, axis=-1)
    den = np.linalg.norm(vec, axis=-1) * np.linalg.norm(axis, axis=-1)
    return num / np.maximum(den, 1e-300)
