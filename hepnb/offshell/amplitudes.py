"""The weight model of the EVA-interference generator: differential cross-sections and the proposal density.

Every event is drawn from a known proposal ``q(z)`` (production channel, m4l, y_ZZ, tagging-jet ``(x, pT)``, ZZ and
Z-decay angles; :mod:`hepnb.offshell.phasespace`) and carries the three weight components ``dsigma_k(z) / q(z)`` for
``k = S, I, B``, so that ``dsigma(z|mu) = mu dsigma_S + sqrt(mu) dsigma_I + dsigma_B`` exactly. This module holds
``dsigma_k`` (:func:`vbf_components`) and ``q`` (:func:`vbf_log_proposal`), shared by the generation and the oracle
likelihood (:func:`vbf_helicity_sums`, which sums over the one latent, the production channel).

Amplitude model, with ``kappa^2 = sqrt(mu)``, ``a = s/v^2`` and ``r = s / (s - mH^2 + i mH GammaH)``:

* the longitudinal unitarity cancellation: the J = 0 part of ``V_L V_L -> Z_L Z_L`` VBS (``rho a``) against the
  Higgs (``-kappa^2 a r``), ``rho = rho0 exp(-(Q1^2 + Q2^2) / (2 Lambda_rho^2))`` with ``Q_i^2 = pT_i^2 / (1 - x_i)``
  the coherence of the two, falling with the virtuality of the emitted Vs;
* the Higgs decays to ``Z_L Z_L`` and to ``Z_T Z_T`` (amplitude ratio ``1 / x_Z``, ``x_Z = (s - 2 m_Z^2)/(2 m_Z^2)``)
  and is also produced by ``V_T V_T`` (ratio ``1 / x_W``), where it interferes with the J = 0 part of transverse
  VBS (knob ``rho_t``);
* the Z helicities are summed coherently through the decay amplitudes (:func:`decay_amplitudes`), so S, I and B
  have different distributions of the decay angles and of the angle between the decay planes;
* the rest of VBS adds incoherently: ``(1 - rho^2) a^2`` in ``V_L V_L``, ``1 + cos^2 Theta`` in ``V_L V_T``,
  ``Phi_T = (1 + cos^2 Theta) / (1 - beta^2 cos^2 Theta)`` in ``V_T V_T``.

Every weight is a sum of squared amplitudes, so ``mu w_S + sqrt(mu) w_I + w_B >= 0`` for every event and every
``mu >= 0``. The vector-boson emission is the effective vector-boson approximation (EVA; Dawson, Nucl. Phys. B 249
(1985) 42). Units: GeV, fb.

>>> import numpy as np
>>> from hepnb.offshell.amplitudes import higgs_propagator
>>> re_r, abs_r2 = higgs_propagator(np.array([500.0**2]))
>>> bool(abs(re_r[0] - 500.0**2 / (500.0**2 - 125.0**2)) < 1e-9)
True
"""

from __future__ import annotations

import numpy as np

from hepnb.offshell import tagging
from hepnb.offshell.models import A_LEPTON, GAMMA_H, M_H, M_W, M_Z, PT_JET_MIN, SQRT_S, VEV, VBFModel

__all__ = [
    "decay_amplitudes",
    "higgs_decay",
    "vbf_terms",
    "combine_terms",
    "vbf_components",
    "vbf_log_proposal",
    "vbf_helicity_sums",
    "luminosity",
    "pareto_density",
    "zz_beta",
    "phi_t",
    "tchannel_density",
    "decay_density",
    "x_bounds",
    "jet_energy",
    "pt2_upper",
    "eva_density",
    "pt_proposal_scale",
    "pt_density",
    "coherence",
    "higgs_propagator",
    "channel_pols",
]

_SQRT2 = np.sqrt(2.0)
# the four lepton-helicity rows of decay_amplitudes: signs (+1, +1), (+1, -1), (-1, +1), (-1, -1) of the negative
# leptons of Z1 and Z2, and their coupling weights 1.5 sqrt(w1 w2), w = (1 -+ A_l)/2
_SIGN_1, _SIGN_2 = np.array([1.0, 1.0, -1.0, -1.0]), np.array([1.0, -1.0, 1.0, -1.0])
_DECAY_NORM = 1.5 * np.sqrt(0.5 * (1.0 - _SIGN_1 * A_LEPTON) * 0.5 * (1.0 - _SIGN_2 * A_LEPTON))


def luminosity(m: np.ndarray, power: float, slope: float) -> np.ndarray:
    """VV luminosity ``L(m4l) = (m4l/200)^-power exp(-slope (m4l - 200))`` (m4l in GeV)."""
    return (m / 200.0) ** (-power) * np.exp(-slope * (m - 200.0))


def pareto_density(m: np.ndarray, lo: float, hi: float, power: float) -> np.ndarray:
    """Density of the m4l proposal ``~ m^-power`` on ``[lo, hi]`` (normalised)."""
    a = 1.0 - power
    return a * m ** (-power) / (hi**a - lo**a)


def zz_beta(m4l: np.ndarray) -> np.ndarray:
    """Velocity of each Z in the ZZ rest frame, ``sqrt(1 - 4 m_Z^2 / m4l^2)`` (0 below threshold)."""
    return np.sqrt(np.clip(1.0 - 4.0 * M_Z**2 / m4l**2, 0.0, None))


def phi_t(c: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Transverse ZZ angular factor (1 + c^2)/(1 - beta^2 c^2)."""
    return (1.0 + c**2) / (1.0 - beta**2 * c**2)


def tchannel_density(c: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Normalised density of cos(Theta) ``~ 1/(1 - beta^2 c^2)`` on [-1, 1]: the t-channel proposal."""
    return beta / (2.0 * np.arctanh(beta)) / (1.0 - beta**2 * c**2)


def decay_density(c: np.ndarray, hel: np.ndarray) -> np.ndarray:
    """Density of cos(theta) of the negative lepton in the Z rest frame for Z helicity -1, 0, +1."""
    longitudinal = 0.75 * (1.0 - c**2)
    transverse = 0.375 * (1.0 + c**2 - 2.0 * A_LEPTON * hel * c)
    return np.where(hel == 0, longitudinal, transverse)


def x_bounds(big_x: np.ndarray) -> np.ndarray:
    """The upper bound on the V fraction so that the tagging parton keeps E_j > PT_JET_MIN in collinear kinematics
    (a generator-level cut on x with either kinematics, next to pT > PT_JET_MIN)."""
    return 1.0 / (1.0 + 2.0 * PT_JET_MIN / (big_x * SQRT_S))


def jet_energy(x: np.ndarray, big_x: np.ndarray) -> np.ndarray:
    """Collinear kinematics: the energy of the tagging parton that emitted a V with energy fraction ``x`` (V pair
    fraction ``big_x``)."""
    return (1.0 - x) / x * big_x * SQRT_S / 2.0


#: Exact kinematics: the pT proposal reaches this multiple of the collinear jet energy. A jet in its quark's
#: hemisphere has pT < j^+ = 2 E_coll xi / xi_coll; beyond 4 E_coll lay 0.02 % of S, 0.06 % of I and 0.1 % of V
#: (300k events with a reach of 8).
PT_REACH_EXACT = 4.0


def pt2_upper(x: np.ndarray, big_x: np.ndarray, model: VBFModel) -> np.ndarray:
    """The upper end of the tagging jet's pT^2 proposal and support: :func:`jet_energy` squared (collinear; the jet
    keeps a real rapidity), times :data:`PT_REACH_EXACT` squared (exact kinematics, where
    :func:`hepnb.offshell.tagging.in_phase_space` bounds it)."""
    reach = PT_REACH_EXACT if model.kinematics == "exact" else 1.0
    return (reach * jet_energy(x, big_x)) ** 2


def eva_density(
    x: np.ndarray,
    t: np.ndarray,
    pol: np.ndarray,
    big_x: np.ndarray,
    model: VBFModel,
    xi: np.ndarray | None = None,
) -> np.ndarray:
    """EVA splitting density in (x, pT^2) for longitudinal (pol=0) or transverse (pol=1) V, W/Z mixed, damped.

    The quark carries xi = X/x of the beam in collinear kinematics; the toy PDF shape x^0.3 (1 - X/x)^3 (from
    xi^-1.3 (1-xi)^3 / x at fixed X) keeps the tagging quarks away from xi -> 1. ``xi`` (exact kinematics, from
    :func:`hepnb.offshell.tagging.quark_fractions`) replaces X/x in that shape: ``x^0.3 (X/(x xi))^1.3 (1 - xi)^3``.
    """
    total = np.zeros_like(x)
    for m_v, frac in ((M_W, model.w_fraction), (M_Z, 1.0 - model.w_fraction)):
        m2 = (1.0 - x) * m_v**2
        den = (t + m2) ** 2
        p_l = (1.0 - x) / x * m2 / den
        p_t = (1.0 + (1.0 - x) ** 2) / (2.0 * x) * t / den
        total += frac * np.where(pol == 0, p_l, p_t)
    if xi is None:
        pdf = x**0.3 * np.clip(1.0 - big_x / x, 0.0, None) ** model.pdf_power
    else:
        pdf = x**0.3 * (big_x / (x * xi)) ** 1.3 * np.clip(1.0 - xi, 0.0, None) ** model.pdf_power
    return total * pdf / (1.0 + t / model.jet_form_factor**2)


def pt_proposal_scale(x: np.ndarray, pol: np.ndarray, model: VBFModel) -> np.ndarray:
    """Scale of the pT^2 proposal 1/(t + M^2)^2: the L density itself, harder for T (weights stay bounded)."""
    return (1.0 - x) * M_W**2 + np.where(pol == 0, 0.0, model.jet_form_factor**2)


def pt_density(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Normalised density of the pT^2 proposal ``~ 1/(t + m2)^2`` on ``[lo, hi]``."""
    return 1.0 / (t + m2) ** 2 / (1.0 / (lo + m2) - 1.0 / (hi + m2))


def coherence(x1: np.ndarray, t1: np.ndarray, x2: np.ndarray, t2: np.ndarray, model: VBFModel) -> np.ndarray:
    """Coherence ``rho = rho0 exp(-(Q1^2 + Q2^2) / (2 lambda_rho^2))`` with ``Q_i^2 = pT_i^2 / (1 - x_i)``."""
    q2 = t1 / (1.0 - x1) + t2 / (1.0 - x2)
    return model.rho0 * np.exp(-q2 / (2.0 * model.lambda_rho**2))


def _propagator(s: np.ndarray) -> np.ndarray:
    """The complex ``r = s / (s - mH^2 + i mH GammaH)``."""
    return s / (s - M_H**2 + 1j * M_H * GAMMA_H)


def higgs_propagator(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (Re r, |r|^2) for r = s / (s - mH^2 + i mH GammaH)."""
    d = s - M_H**2
    den = d**2 + (M_H * GAMMA_H) ** 2
    return s * d / den, s**2 / den


def channel_pols(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each emitted V is transverse, ``(pol1, pol2)``, for a channel index into ``CHANNELS``."""
    return (channel == 2) | (channel == 3), (channel == 1) | (channel == 3)


def decay_amplitudes(cos1: np.ndarray, cos2: np.ndarray, plane_phi: np.ndarray) -> np.ndarray:
    """Amplitudes of Z1 Z2 -> 4l for each ZZ helicity ``lambda = 0, +1, -1`` (both Zs alike, J_z = 0).

    Returns an ``(n, 4, 3)`` complex array: rows are the four lepton-helicity pairs (summed incoherently), columns
    the ZZ helicity. ``D = (3/2) sqrt(w1 w2) d^1_{lambda s1}(theta1) d^1_{lambda s2}(theta2) exp(i lambda Phi)`` with
    the Wigner functions ``d^1``, the lepton couplings ``w = (1 -+ A_l)/2`` and ``Phi = phi_z1 + phi_z2`` the angle
    between the decay planes (both azimuths measured in right-handed frames along each Z's flight direction, so the
    sum is invariant under rotations about the ZZ axis). Normalised as densities: ``sum_rows |D_lambda|^2``
    integrates to 1 over ``cos1, cos2`` in [-1, 1] (averaged over ``Phi``), the cross terms to 0.
    """
    s1, s2 = np.sqrt(np.clip(1.0 - cos1**2, 0.0, None)), np.sqrt(np.clip(1.0 - cos2**2, 0.0, None))
    phase = np.exp(1j * plane_phi)[:, None]
    c1, c2, s1, s2 = cos1[:, None], cos2[:, None], s1[:, None], s2[:, None]
    out = np.empty((len(cos1), 4, 3), dtype=np.complex128)
    out[:, :, 0] = _DECAY_NORM * (_SIGN_1 * s1 / _SQRT2) * (_SIGN_2 * s2 / _SQRT2)
    out[:, :, 1] = _DECAY_NORM * (1.0 + _SIGN_1 * c1) * (1.0 + _SIGN_2 * c2) / 4.0 * phase
    out[:, :, 2] = _DECAY_NORM * (1.0 - _SIGN_1 * c1) * (1.0 - _SIGN_2 * c2) / 4.0 * np.conj(phase)
    return out


def higgs_decay(amps: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The Higgs's ZZ -> 4l amplitude per lepton-helicity row, ``D_0 + (D_+ + D_-) / x_Z``, from the ``(n, 4, 3)``
    :func:`decay_amplitudes`; ``x_Z = (s - 2 m_Z^2) / (2 m_Z^2)`` is the ratio of the longitudinal to the transverse
    H -> ZZ amplitude."""
    x_z = (s - 2.0 * M_Z**2) / (2.0 * M_Z**2)
    return amps[:, :, 0] + (amps[:, :, 1] + amps[:, :, 2]) / x_z[:, None]


def vbf_terms(
    z: dict[str, np.ndarray],
    channel: np.ndarray,
    model: VBFModel,
    fractions: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The cross-section terms of each event at unit normalisations (fb per unit of the hard coordinates).

    ``dsigma_S = N_LL (s_ll + s_tt)``, ``dsigma_I = N_LL i_ll + sqrt(N_LL N_TT) rho_t i_tt`` and
    ``dsigma_B = N_LL b_ll + N_TT (rho_t^2 b_tt_coherent + b_tt) + N_LT b_lt`` (:func:`vbf_components`); each event
    has one production channel, so the terms of the other channels are 0. :mod:`hepnb.offshell.calibration` solves
    the normalisations from sums of these terms.
    ``fractions`` are the exact kinematics' quark fractions where already computed, as for :func:`vbf_components`.

    Amplitudes, with ``kappa^2 = sqrt(mu)``, ``a = s/v^2``, ``r = s/(s - mH^2 + i mH GammaH)`` and the decay
    amplitudes ``D_lambda`` of :func:`decay_amplitudes`:

    * ``V_L V_L``: VBS ``rho a D_0`` (the J = 0 part coherent with the Higgs; the rest, ``(1 - rho^2) a^2 |D_0|^2``,
      adds incoherently), Higgs ``-kappa^2 a r (D_0 + (D_+ + D_-)/x_Z)``;
    * ``V_T V_T``: VBS ``sqrt(N_TT) rho_t (D_0 + D_+ + D_-)/sqrt(3)`` (its J = 0 part, spread evenly over the ZZ
      helicities) plus the incoherent t-channel
      ``Phi_T(cos Theta)`` with unpolarised transverse Zs, Higgs ``-kappa^2 sqrt(N_LL) (a/x_W) r (...)`` as above;
    * ``V_L V_T``, ``V_T V_L``: VBS only, ``1 + cos^2 Theta`` with unpolarised transverse Zs.

    ``x_V = (s - 2 m_V^2)/(2 m_V^2)`` is the ratio of the longitudinal to the transverse HVV amplitude
    (``epsilon_L(k1).epsilon_L(k2)`` against ``-1``): near threshold the Higgs decays to transverse Zs and is produced
    by transverse Vs with sizeable rates (about a third of H* -> ZZ at m4l = 220 GeV), at high mass it is purely
    longitudinal (the H -> ZZ -> 4l helicity amplitudes and angular correlations: Choi, Miller, Muhlleitner, Zerwas,
    arXiv:hep-ph/0210077; Gao et al., arXiv:1001.3396; the EVA: Dawson, Nucl. Phys. B 249 (1985) 42).
    """
    m = z["m4l"]
    s = m**2
    pol1, pol2 = channel_pols(channel)
    big_x1 = m / SQRT_S * np.exp(z["y_zz"])
    big_x2 = m / SQRT_S * np.exp(-z["y_zz"])
    x1, x2 = z["x_v1"], z["x_v2"]
    t1, t2 = z["pt_q1"] ** 2, z["pt_q2"] ** 2
    inside = (
        (x1 > big_x1)
        & (x1 < x_bounds(big_x1))
        & (x2 > big_x2)
        & (x2 < x_bounds(big_x2))
        & (t1 < pt2_upper(x1, big_x1, model))
        & (t2 < pt2_upper(x2, big_x2, model))
    )
    xi1 = xi2 = None
    if model.kinematics == "exact":  # the proposal's support, the quarks inside their protons, the jets forward
        xi1, xi2 = tagging.quark_fractions(z) if fractions is None else fractions
        inside &= tagging.in_phase_space(z, (xi1, xi2))
    base = (
        luminosity(m, model.lumi_power, model.lumi_slope)
        * eva_density(x1, t1, pol1.astype(int), big_x1, model, xi1)
        * eva_density(x2, t2, pol2.astype(int), big_x2, model, xi2)
        * np.where(inside, 1.0, 0.0)
    )
    c1, c2, c = z["cos_theta_z1"], z["cos_theta_z2"], z["cos_theta_zz"]
    ll, tt = channel == 0, channel == 3
    unpolarised = 0.375**2 * (1.0 + c1**2) * (1.0 + c2**2)  # transverse Zs, helicities summed
    terms = {k: np.zeros_like(m) for k in ("s_ll", "i_ll", "b_ll", "s_tt", "i_tt", "b_tt_coherent", "b_tt")}
    terms["b_lt"] = np.where(ll | tt, 0.0, base * (1.0 + c**2) * unpolarised)
    terms["b_tt"][tt] = (base * phi_t(c, zz_beta(m)) * unpolarised)[tt]
    j = np.flatnonzero(ll | tt)  # the J = 0 amplitudes: V_L V_L and V_T V_T only
    s_j, ll_j = s[j], ll[j]
    amps = decay_amplitudes(c1[j], c2[j], z["phi_z1"][j] + z["phi_z2"][j])
    d0 = amps[:, :, 0]
    transverse = amps[:, :, 1] + amps[:, :, 2]
    higgs = higgs_decay(amps, s_j)
    gauge = np.where(ll_j[:, None], d0, (d0 + transverse) / np.sqrt(3.0))  # rho a D_0 and its transverse analogue
    r = _propagator(s_j)
    a = s_j / VEV**2
    a_h = np.where(ll_j, a, a * 2.0 * M_W**2 / (s_j - 2.0 * M_W**2))  # Higgs amplitude / r in each channel
    a_v = np.where(ll_j, a * coherence(x1[j], t1[j], x2[j], t2[j], model), 1.0)  # coherent VBS amplitude
    flat = 0.5 * base[j]  # cos Theta is flat for the J = 0 parts
    s_part = flat * a_h**2 * np.abs(r) ** 2 * np.sum(np.abs(higgs) ** 2, axis=1)
    i_part = -2.0 * flat * a_v * a_h * np.real(r * np.sum(np.conj(gauge) * higgs, axis=1))
    b_part = flat * np.where(ll_j, a**2, 1.0) * np.sum(np.abs(gauge) ** 2, axis=1)
    for name, part in (("s", s_part), ("i", i_part)):
        terms[f"{name}_ll"][j[ll_j]] = part[ll_j]
        terms[f"{name}_tt"][j[~ll_j]] = part[~ll_j]
    terms["b_ll"][j[ll_j]] = b_part[ll_j]
    terms["b_tt_coherent"][j[~ll_j]] = b_part[~ll_j]
    return terms


def combine_terms(terms: dict[str, np.ndarray], model: VBFModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dS, dI, dB)`` from :func:`vbf_terms` and the normalisations of ``model``."""
    n_ll, n_tt = model.norm_ll, model.norm_tt
    d_s = n_ll * (terms["s_ll"] + terms["s_tt"])
    d_i = n_ll * terms["i_ll"] + np.sqrt(n_ll * n_tt) * model.rho_t * terms["i_tt"]
    d_b = n_ll * terms["b_ll"] + n_tt * (model.rho_t**2 * terms["b_tt_coherent"] + terms["b_tt"])
    return d_s, d_i, d_b + model.norm_lt * terms["b_lt"]


def vbf_components(
    z: dict[str, np.ndarray],
    channel: np.ndarray,
    model: VBFModel,
    fractions: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Differential cross-section components ``(dS, dI, dB)`` in fb per unit of the hard coordinates.

    Parameters
    ----------
    z
        Hard coordinates: ``m4l, y_zz, x_v1, x_v2, pt_q1, pt_q2, cos_theta_zz, cos_theta_z1, cos_theta_z2, phi_z1,
        phi_z2``, and the jet azimuths ``phi_q1, phi_q2`` for ``model.kinematics == "exact"``.
    channel
        Production channel, an index into ``CHANNELS`` (the polarisations of the emitted V pair).
    model
        The VBF model.
    fractions
        The quark fractions ``hepnb.offshell.tagging.quark_fractions(z)`` where already computed (exact kinematics;
        they do not depend on the channel).

    Notes
    -----
    The Z helicities are summed coherently (the decay angles carry their interference); factors that are identical
    in the model and the proposal (y_ZZ, Z masses, the azimuths of the jets and of the ZZ axis, flavours) are left
    out of both, so densities are relative to that common reference measure. With exact kinematics the density
    also depends on the jets' azimuths, through the quark fractions (their uniform proposal density is still left
    out of both).
    """
    return combine_terms(vbf_terms(z, channel, model, fractions), model)


def vbf_log_proposal(z: dict[str, np.ndarray], channel: np.ndarray, model: VBFModel) -> np.ndarray:
    """Log density of the VBF proposal at ``(z, channel)``, same reference measure as ``vbf_components``."""
    m = z["m4l"]
    pol1, pol2 = channel_pols(channel)
    probs = np.asarray(model.channel_probs, dtype=float)
    powers = np.asarray(model.proposal_power)
    with np.errstate(divide="ignore"):  # a channel of probability 0 is never drawn; its log q is -inf
        log_q = np.log(probs[channel] / probs.sum())
    log_q += np.log(pareto_density(m, model.m4l_min, model.m4l_max, powers[channel]))
    for i, (pol, sign) in enumerate(((pol1, 1.0), (pol2, -1.0)), start=1):
        big_x = m / SQRT_S * np.exp(sign * z["y_zz"])
        x = z[f"x_v{i}"]
        x_hi = x_bounds(big_x)
        t = z[f"pt_q{i}"] ** 2
        t_hi = pt2_upper(x, big_x, model)
        m2 = pt_proposal_scale(x, pol.astype(int), model)
        log_q += -np.log(x * np.log(x_hi / big_x)) + np.log(pt_density(t, PT_JET_MIN**2, t_hi, m2))
    c = z["cos_theta_zz"]
    beta = zz_beta(m)
    log_q += np.where(channel == 3, np.log(tchannel_density(c, beta)), np.log(0.5))
    return log_q + np.log(0.25)  # uniform decay cosines


def vbf_helicity_sums(
    z: dict[str, np.ndarray], model: VBFModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum over the latent production channels: ``(f_S, f_I, f_B, q)``, ``q`` the proposal marginalised likewise."""
    n = len(z["m4l"])
    f_s, f_i, f_b, q = (np.zeros(n) for _ in range(4))
    fractions = tagging.quark_fractions(z) if model.kinematics == "exact" else None
    for ch in range(4):
        channel = np.full(n, ch)
        d_s, d_i, d_b = vbf_components(z, channel, model, fractions)
        f_s += d_s
        f_i += d_i
        f_b += d_b
        q += np.exp(vbf_log_proposal(z, channel, model))
    return f_s, f_i, f_b, q
