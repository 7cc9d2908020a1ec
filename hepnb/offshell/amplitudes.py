"""The weight model of the EVA-interference generator: differential cross-sections and the proposal density.

Every event is drawn from a known proposal ``q(z)`` (channel, m4l, y_ZZ, tagging-jet ``(x, pT)``, ZZ and Z-decay
angles, Z helicities; :mod:`hepnb.offshell.phasespace`) and carries the three weight components
``dsigma_k(z) / q(z)`` for ``k = S, I, B``, so that ``dsigma(z|mu) = mu dsigma_S + sqrt(mu) dsigma_I + dsigma_B``
exactly. This module holds ``dsigma_k`` (:func:`vbf_components`) and ``q`` (:func:`vbf_log_proposal`), shared by the
generation and the oracle likelihood (:func:`vbf_helicity_sums`).

Amplitude model (longitudinal unitarity cancellation), with ``kappa^2 = sqrt(mu)``::

    |M_LL|^2 = a^2 (|rho - kappa^2 r|^2 + 1 - rho^2),   a = s/v^2,   r = s / (s - mH^2 + i mH GammaH)
    |M_LT|^2 = 1 + cos^2(Theta),   |M_TT|^2 = (1 + cos^2 Theta) / (1 - beta^2 cos^2 Theta)
    rho = rho0 exp(-(Q1^2 + Q2^2) / (2 Lambda_rho^2)),   Q_i^2 = pT_i^2 / (1 - x_i)

so ``w_S = N_LL a^2 |r|^2``, ``w_I = -2 rho N_LL a^2 Re r``, ``w_B = N_LL a^2 + N_LT |M_LT|^2 + N_TT |M_TT|^2``
(times the common kinematic factors) and ``mu w_S + sqrt(mu) w_I + w_B >= 0`` for every event and every ``mu >= 0``.
The vector-boson emission is the effective vector-boson approximation (EVA; Dawson, Nucl. Phys. B 249 (1985) 42).
Units: GeV, fb.

>>> import numpy as np
>>> from hepnb.offshell.amplitudes import higgs_propagator
>>> re_r, abs_r2 = higgs_propagator(np.array([500.0**2]))
>>> bool(abs(re_r[0] - 500.0**2 / (500.0**2 - 125.0**2)) < 1e-9)
True
"""

from __future__ import annotations

import numpy as np

from hepnb.offshell.models import A_LEPTON, GAMMA_H, M_H, M_W, M_Z, PT_JET_MIN, SQRT_S, VEV, VBFModel

__all__ = [
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
    "eva_density",
    "pt_proposal_scale",
    "pt_density",
    "coherence",
    "higgs_propagator",
    "channel_pols",
]


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
    """Upper bound on the V energy fraction so that the tagging parton keeps E_j > PT_JET_MIN."""
    return 1.0 / (1.0 + 2.0 * PT_JET_MIN / (big_x * SQRT_S))


def jet_energy(x: np.ndarray, big_x: np.ndarray) -> np.ndarray:
    """Energy of the tagging parton that emitted a V with energy fraction ``x`` (V pair fraction ``big_x``)."""
    return (1.0 - x) / x * big_x * SQRT_S / 2.0


def eva_density(x: np.ndarray, t: np.ndarray, pol: np.ndarray, big_x: np.ndarray, model: VBFModel) -> np.ndarray:
    """EVA splitting density in (x, pT^2) for longitudinal (pol=0) or transverse (pol=1) V, W/Z mixed, damped.

    The quark carries xi = X/x of the beam; the toy PDF shape x^0.3 (1 - X/x)^3 (from xi^-1.3 (1-xi)^3 / x at fixed
    X) keeps the tagging quarks away from xi -> 1.
    """
    total = np.zeros_like(x)
    for m_v, frac in ((M_W, model.w_fraction), (M_Z, 1.0 - model.w_fraction)):
        m2 = (1.0 - x) * m_v**2
        den = (t + m2) ** 2
        p_l = (1.0 - x) / x * m2 / den
        p_t = (1.0 + (1.0 - x) ** 2) / (2.0 * x) * t / den
        total += frac * np.where(pol == 0, p_l, p_t)
    pdf = x**0.3 * np.clip(1.0 - big_x / x, 0.0, None) ** model.pdf_power
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


def higgs_propagator(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (Re r, |r|^2) for r = s / (s - mH^2 + i mH GammaH)."""
    d = s - M_H**2
    den = d**2 + (M_H * GAMMA_H) ** 2
    return s * d / den, s**2 / den


def channel_pols(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each emitted V is transverse, ``(pol1, pol2)``, for a channel index into ``CHANNELS``."""
    return (channel == 2) | (channel == 3), (channel == 1) | (channel == 3)


def vbf_components(
    z: dict[str, np.ndarray], channel: np.ndarray, hel1: np.ndarray, hel2: np.ndarray, model: VBFModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Differential cross-section components ``(dS, dI, dB)`` in fb per unit of the hard coordinates.

    Parameters
    ----------
    z
        Hard coordinates: ``m4l, y_zz, x_v1, x_v2, pt_q1, pt_q2, cos_theta_zz, cos_theta_z1, cos_theta_z2``.
    channel, hel1, hel2
        Channel index into ``CHANNELS`` and the Z helicities (-1, 0, +1).
    model
        The VBF model.

    Notes
    -----
    Factors that are identical in the model and the proposal (y_ZZ, Z masses, azimuths, flavours) are left out of
    both, so densities are relative to that common reference measure.
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
        & (t1 < jet_energy(x1, big_x1) ** 2)
        & (t2 < jet_energy(x2, big_x2) ** 2)
    )
    kin_factor = (
        luminosity(m, model.lumi_power, model.lumi_slope)
        * eva_density(x1, t1, pol1.astype(int), big_x1, model)
        * eva_density(x2, t2, pol2.astype(int), big_x2, model)
        * decay_density(z["cos_theta_z1"], hel1)
        * decay_density(z["cos_theta_z2"], hel2)
        * np.where(inside, 1.0, 0.0)
    )
    c = z["cos_theta_zz"]
    is_ll = channel == 0
    is_tt = channel == 3
    hel_weight = np.where(is_ll, 1.0, 0.25)  # transverse Z helicities are summed with equal weight
    a2 = (s / VEV**2) ** 2
    re_r, abs_r2 = higgs_propagator(s)
    rho = coherence(x1, t1, x2, t2, model)
    ll = model.norm_ll * a2 * 0.5 * kin_factor * hel_weight
    d_s = np.where(is_ll, ll * abs_r2, 0.0)
    d_i = np.where(is_ll, -2.0 * rho * ll * re_r, 0.0)
    angular_b = np.where(is_tt, model.norm_tt * phi_t(c, zz_beta(m)), model.norm_lt * (1.0 + c**2))
    d_b = np.where(is_ll, ll, angular_b * kin_factor * hel_weight)
    return d_s, d_i, d_b


def vbf_log_proposal(
    z: dict[str, np.ndarray], channel: np.ndarray, hel1: np.ndarray, hel2: np.ndarray, model: VBFModel
) -> np.ndarray:
    """Log density of the VBF proposal at ``(z, channel, helicities)``, same reference measure as ``vbf_components``."""
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
        t_hi = jet_energy(x, big_x) ** 2
        m2 = pt_proposal_scale(x, pol.astype(int), model)
        log_q += -np.log(x * np.log(x_hi / big_x)) + np.log(pt_density(t, PT_JET_MIN**2, t_hi, m2))
    c = z["cos_theta_zz"]
    beta = zz_beta(m)
    log_q += np.where(channel == 3, np.log(tchannel_density(c, beta)), np.log(0.5))
    log_q += np.log(0.25) + np.where(channel == 0, 0.0, np.log(0.25))  # uniform decay cosines, Z helicities
    return log_q


def vbf_helicity_sums(
    z: dict[str, np.ndarray], model: VBFModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum over the latent helicities: ``(f_S, f_I, f_B, q)`` with ``q`` the proposal density marginalised likewise."""
    n = len(z["m4l"])
    f_s, f_i, f_b, q = (np.zeros(n) for _ in range(4))
    for ch in range(4):
        channel = np.full(n, ch)
        hels = [(0, 0)] if ch == 0 else [(a, b) for a in (-1, 1) for b in (-1, 1)]
        for h1, h2 in hels:
            h1a, h2a = np.full(n, h1), np.full(n, h2)
            d_s, d_i, d_b = vbf_components(z, channel, h1a, h2a, model)
            f_s += d_s
            f_i += d_i
            f_b += d_b
            q += np.exp(vbf_log_proposal(z, channel, h1a, h2a, model))
    return f_s, f_i, f_b, q
