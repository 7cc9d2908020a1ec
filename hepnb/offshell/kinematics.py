"""Four-vector helpers on ``(..., 4)`` float arrays ordered ``E, px, py, pz`` (GeV), computed by scikit-hep ``vector``.

The generator, the detector and the observables pass plain ``(..., 4)`` arrays around; :func:`momenta` views one as
vector's ``MomentumNumpy4D`` without copying and each helper returns vector's quantity (``.mass``, ``.pt``, ``.eta``,
``.rapidity``, ``.phi``, ``.boost_beta3``, ``.boostCM_of_p4``, ``.deltaphi``, ``.deltaR``, ``.dot``) as a plain
array again. Two constructions vector has no coordinate system or method for stay in numpy:
:func:`from_pt_y_phi_m` (vector's longitudinal coordinates are z, theta and eta, not the rapidity) and
:func:`orthonormal_frame`.

>>> import numpy as np
>>> from hepnb.offshell import kinematics as kin
>>> p = kin.from_pt_eta_phi_m(np.array([30.0, 40.0]), np.array([0.5, -1.0]), np.array([0.1, 2.0]), 0.0)
>>> m = kin.mass(p.sum(axis=0))  # massless pair: m^2 = 2 pT1 pT2 (cosh(d eta) - cos(d phi))
>>> round(float(m), 6), round(float(np.sqrt(2 * 30 * 40 * (np.cosh(1.5) - np.cos(1.9)))), 6)
(80.135373, 80.135373)
>>> rest = kin.boost_to_rest(p.sum(axis=0), p.sum(axis=0))
>>> bool(np.allclose(rest[1:], 0.0, atol=1e-9))
True
"""

from __future__ import annotations

import numpy as np
import vector

__all__ = [
    "momenta",
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
    "sort_objects",
]

_P4 = np.dtype([("E", np.float64), ("px", np.float64), ("py", np.float64), ("pz", np.float64)])
_V3 = np.dtype([("x", np.float64), ("y", np.float64), ("z", np.float64)])


def momenta(p: np.ndarray) -> vector.MomentumNumpy4D:
    """``(..., 4)`` array ordered ``E, px, py, pz`` as vector's ``MomentumNumpy4D`` of shape ``(...)`` (a view)."""
    return np.ascontiguousarray(p, dtype=np.float64).view(_P4)[..., 0].view(vector.MomentumNumpy4D)


def _vectors3(v: np.ndarray) -> vector.VectorNumpy3D:
    """``(..., 3)`` array ``x, y, z`` as vector's ``VectorNumpy3D`` of shape ``(...)`` (a view)."""
    return np.ascontiguousarray(v, dtype=np.float64).view(_V3)[..., 0].view(vector.VectorNumpy3D)


def _array(v: vector.MomentumNumpy4D) -> np.ndarray:
    """A vector array back as a ``(..., 4)`` array ordered ``E, px, py, pz``."""
    return np.stack([v.E, v.px, v.py, v.pz], axis=-1)


def _directions(eta_: np.ndarray, phi_: np.ndarray) -> vector.VectorNumpy3D:
    """Unit-``rho`` vectors at ``(eta, phi)``: vector's Delta phi and Delta R need nothing else."""
    eta_, phi_ = np.broadcast_arrays(np.asarray(eta_, dtype=np.float64), np.asarray(phi_, dtype=np.float64))
    return vector.array({"rho": np.ones(eta_.shape), "phi": phi_, "eta": eta_})


def from_pt_eta_phi_m(pt_: np.ndarray, eta_: np.ndarray, phi_: np.ndarray, m: np.ndarray | float = 0.0) -> np.ndarray:
    """Four-vectors from transverse momentum, pseudorapidity, azimuth and mass."""
    pt_, eta_, phi_, m = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (pt_, eta_, phi_, m)))
    return _array(vector.array({"pt": pt_, "eta": eta_, "phi": phi_, "mass": m}))


def from_pt_y_phi_m(pt_: np.ndarray, y: np.ndarray, phi_: np.ndarray, m: np.ndarray | float) -> np.ndarray:
    """Four-vectors from transverse momentum, rapidity, azimuth and mass."""
    mt = np.sqrt(pt_**2 + np.asarray(m) ** 2)
    return np.stack([mt * np.cosh(y), pt_ * np.cos(phi_), pt_ * np.sin(phi_), mt * np.sinh(y)], axis=-1)


def mass(p: np.ndarray) -> np.ndarray:
    """Invariant mass (0 for a negative mass-squared, where vector returns ``-sqrt(-m^2)``)."""
    return np.maximum(momenta(p).mass, 0.0)


def pt(p: np.ndarray) -> np.ndarray:
    """Transverse momentum."""
    return momenta(p).pt


def eta(p: np.ndarray) -> np.ndarray:
    """Pseudorapidity, with pT floored at 1e-12 GeV: a momentum along the beam keeps a finite eta (``+-30``).

    At truth level the visible system of an event (leptons and jets) has ``pT = 0``, where vector's ``eta`` is
    ``+-inf``.
    """
    v = momenta(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.array(v.eta, dtype=np.float64)
    small = v.pt < 1e-12
    out[small] = np.arcsinh(v.pz[small] / 1e-12)
    return out


def rapidity(p: np.ndarray) -> np.ndarray:
    """Rapidity."""
    with np.errstate(divide="ignore"):
        return momenta(p).rapidity


def phi(p: np.ndarray) -> np.ndarray:
    """Azimuth in (-pi, pi]."""
    return momenta(p).phi


def boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-vectors ``p`` by velocity ``beta`` (``(..., 3)``, ``|beta| < 1``)."""
    return _array(momenta(p).boost_beta3(_vectors3(beta)))


def boost_to_rest(p: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Boost ``p`` into the rest frame of the four-vector ``frame``."""
    return _array(momenta(p).boostCM_of_p4(momenta(frame)))


def delta_phi(phi1: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """Azimuthal difference wrapped into [-pi, pi)."""
    zero = np.zeros(np.broadcast_shapes(np.shape(phi1), np.shape(phi2)))
    return _directions(zero, phi1).deltaphi(_directions(zero, phi2))


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """Distance in (eta, phi)."""
    return _directions(eta1, phi1).deltaR(_directions(eta2, phi2))


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
    a, b = _vectors3(vec), _vectors3(axis)
    return a.dot(b) / np.maximum(a.mag * b.mag, 1e-300)


def sort_objects(columns: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    """Every ``(n, k)`` column of an object collection (jets, leptons) reordered per event by ``order``.

    ``order`` is ``(n, k)`` as from ``np.argsort(..., axis=1)``; one flat gather index serves all columns, which is
    faster than ``np.take_along_axis`` column by column.

    >>> pt_ = np.array([[10.0, 30.0, 20.0], [5.0, 1.0, 7.0]])
    >>> sort_objects({"pt": pt_}, np.argsort(-pt_, axis=1))["pt"]
    array([[30., 20., 10.],
           [ 7.,  5.,  1.]])
    """
    n, k = order.shape
    flat = (order + k * np.arange(n)[:, None]).ravel()
    return {name: values.ravel().take(flat).reshape(n, k) for name, values in columns.items()}
