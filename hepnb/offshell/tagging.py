"""Momentum-consistent VBF kinematics: the tagging quarks, the emitted vector bosons and the ZZ system (tier 2).

In the collinear kinematics (``VBFModel.collinear()``, the spec's tier 1) each emitted V carries the fraction
``X_i = m4l e^(+-y_ZZ) / sqrt(s)`` of its proton and the quark ``xi_i = X_i / x_i``: the Vs are on the beam axis, so
``V_i = q_i - j_i`` fails as soon as a tagging jet has transverse momentum (the ZZ system takes the jets' recoil, and
four-momentum is not conserved). With ``kinematics="exact"`` (tier 2) every event is a momentum-conserving
``q1 q2 -> j1 j2 Z Z``: the quarks ``q_i`` are on the beam axis, the jets massless, and the Vs are exactly
``V_i = q_i - j_i``. The hard coordinates stay those of the proposal (``m4l, y_ZZ`` of ``V1 + V2``, the Vs' Sudakov
fractions ``x_i`` and the jets' ``pT_i, phi_i``), so every weight stays ``dsigma(z) / q(z)`` in the same coordinates;
the quark fractions ``xi_i`` then follow from the momentum balance, and the weight model
(:func:`hepnb.offshell.amplitudes.vbf_terms`) reads its parton densities at these exact ``xi_i`` and vanishes outside
:func:`in_phase_space`.

With light-cone components ``p^+- = E +- p_z``, ``q1 = (xi1 sqrt(s) / 2)(1, 0, 0, 1)`` and the Sudakov fraction
``x1 = V1^+ / q1^+`` (likewise ``x2 = V2^- / q2^-``), the jets are ``j1^+ = (1 - x1) q1^+``, ``j1^- = pT1^2 / j1^+``.
Writing ``a = V1^+ = x1 q1^+`` and ``b = V2^- = x2 q2^-``, the balance ``V1 + V2 = P_ZZ`` reads
``a - c2 / b = P^+`` and ``b - c1 / a = P^-`` with ``c_i = pT_i^2 x_i / (1 - x_i)`` and
``P^+- = m_T e^(+-y_ZZ)``, ``m_T^2 = m4l^2 + |pT1 + pT2|^2``: a quadratic with one positive root. Each V is then
spacelike with ``V_i^2 = -pT_i^2 / (1 - x_i)``, the virtuality the coherence ``rho`` already reads.

The weight model stays a density in the hard coordinates: the toy parton densities are read at the exact
``xi_i``, but no Jacobian ``d(xi1, xi2) / d(m4l, y_ZZ)`` or flux factor is added (the VV luminosity in m4l is the
toy's own). The model lives where :func:`in_phase_space` holds: both ``xi_i < 1`` and each jet in its quark's
hemisphere. The radiated jets (:func:`hepnb.offshell.phasespace.generate_truth`) recoil against the hard system
afterwards; the beam energy that the whole event takes is not checked.

>>> import numpy as np
>>> from hepnb.offshell.tagging import parton_momenta
>>> z = {"m4l": np.array([400.0]), "y_zz": np.array([0.3]), "x_v1": np.array([0.2]), "x_v2": np.array([0.3]),
...      "pt_q1": np.array([60.0]), "pt_q2": np.array([40.0]), "phi_q1": np.array([0.5]), "phi_q2": np.array([2.0])}
>>> p = parton_momenta(z)
>>> v = p["q1"] + p["q2"] - p["j1"] - p["j2"]  # = V1 + V2
>>> round(float(np.sqrt(v[0, 0] ** 2 - np.sum(v[0, 1:] ** 2))), 6)
400.0
"""

from __future__ import annotations

import numpy as np

from hepnb.offshell.models import SQRT_S

__all__ = ["quark_fractions", "in_phase_space", "parton_momenta"]


def _positive_root(d: np.ndarray, product: np.ndarray) -> np.ndarray:
    """The positive root of ``u^2 - d u - product = 0`` (``product >= 0``), ``(d + sqrt(d^2 + 4 product)) / 2``,
    without the cancellation of that form when ``d < 0``."""
    root = np.sqrt(d**2 + 4.0 * product)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = 2.0 * product / (root - d)
    return np.where(d >= 0.0, 0.5 * (d + root), small)


def _light_cone(z: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, p_x, p_y)``: ``V1^+``, ``V2^-`` and the ZZ system's transverse momentum."""
    x1, x2 = z["x_v1"], z["x_v2"]
    t1, t2 = z["pt_q1"] ** 2, z["pt_q2"] ** 2
    p_x = -(z["pt_q1"] * np.cos(z["phi_q1"]) + z["pt_q2"] * np.cos(z["phi_q2"]))
    p_y = -(z["pt_q1"] * np.sin(z["phi_q1"]) + z["pt_q2"] * np.sin(z["phi_q2"]))
    mt2 = z["m4l"] ** 2 + p_x**2 + p_y**2
    c1, c2 = t1 * x1 / (1.0 - x1), t2 * x2 / (1.0 - x2)
    p_plus = np.sqrt(mt2) * np.exp(z["y_zz"])
    p_minus = np.sqrt(mt2) * np.exp(-z["y_zz"])
    # P^- a^2 - (mT^2 + c2 - c1) a - P^+ c1 = 0, and its mirror image for b
    a = _positive_root((mt2 + c2 - c1) / p_minus, c1 * p_plus / p_minus)
    b = _positive_root((mt2 + c1 - c2) / p_plus, c2 * p_minus / p_plus)
    return a, b, p_x, p_y


def _fractions(a: np.ndarray, b: np.ndarray, z: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(xi1, xi2)`` from ``V1^+ = x1 xi1 sqrt(s)`` and ``V2^- = x2 xi2 sqrt(s)``."""
    return a / (z["x_v1"] * SQRT_S), b / (z["x_v2"] * SQRT_S)


def quark_fractions(z: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The momentum fractions ``(xi1, xi2)`` of the two tagging quarks in exact kinematics (may exceed 1, where the
    weight model vanishes).

    Parameters
    ----------
    z
        Hard coordinates ``m4l, y_zz, x_v1, x_v2, pt_q1, pt_q2, phi_q1, phi_q2`` (GeV, radians).
    """
    a, b, _, _ = _light_cone(z)
    return _fractions(a, b, z)


def in_phase_space(z: dict[str, np.ndarray], fractions: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Where the exact weight model lives: both quarks inside their protons (``xi_i < 1``) and each tagging jet in
    its quark's hemisphere of the partonic frame (``j1^+ > pT1``, ``j2^- > pT2``: pseudorapidity of the sign of its
    quark's), the region where the collinear emission of the EVA is a fair picture.

    Parameters
    ----------
    z
        Hard coordinates, as for :func:`quark_fractions`.
    fractions
        ``quark_fractions(z)`` where already computed.
    """
    xi1, xi2 = quark_fractions(z) if fractions is None else fractions
    forward = ((1.0 - z["x_v1"]) * xi1 * SQRT_S > z["pt_q1"]) & ((1.0 - z["x_v2"]) * xi2 * SQRT_S > z["pt_q2"])
    return (xi1 < 1.0) & (xi2 < 1.0) & forward


def parton_momenta(z: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Four-vectors ``(n, 4)`` (``E, px, py, pz``) of the quarks ``q1, q2``, the jets ``j1, j2`` and the ZZ system
    ``zz`` in the partonic frame (quarks on the beam axis), and the quark fractions ``xi1, xi2``.

    ``q1 + q2 = j1 + j2 + zz`` holds to rounding, ``zz`` has mass ``m4l`` and rapidity ``y_zz``, and
    ``(q_i - j_i)^2 = -pT_i^2 / (1 - x_i)``.
    """
    a, b, p_x, p_y = _light_cone(z)
    xi1, xi2 = _fractions(a, b, z)
    q1_plus, q2_minus = xi1 * SQRT_S, xi2 * SQRT_S
    zero = np.zeros_like(a)
    out = {
        "q1": np.stack([q1_plus / 2.0, zero, zero, q1_plus / 2.0], axis=-1),
        "q2": np.stack([q2_minus / 2.0, zero, zero, -q2_minus / 2.0], axis=-1),
    }
    for i, along in ((1, (1.0 - z["x_v1"]) * q1_plus), (2, (1.0 - z["x_v2"]) * q2_minus)):
        pt_, phi_ = z[f"pt_q{i}"], z[f"phi_q{i}"]
        across = pt_**2 / along  # the other light-cone component of a massless jet
        plus, minus = (along, across) if i == 1 else (across, along)
        out[f"j{i}"] = np.stack(
            [(plus + minus) / 2.0, pt_ * np.cos(phi_), pt_ * np.sin(phi_), (plus - minus) / 2.0], -1
        )
    mt = np.sqrt(z["m4l"] ** 2 + p_x**2 + p_y**2)
    out["zz"] = np.stack([mt * np.cosh(z["y_zz"]), p_x, p_y, mt * np.sinh(z["y_zz"])], axis=-1)
    out["xi1"], out["xi2"] = xi1, xi2
    return out
