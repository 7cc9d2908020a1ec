"""Parton-level EVA-interference generator: VBF/VBS -> ZZ -> 4l amplitudes, kinematics and weights (this package's toy).

Every event is drawn from a known proposal ``q(z)`` (channel, m4l, y_ZZ, tagging-jet ``(x, pT)``, ZZ and Z-decay
angles, Z helicities) and carries the three weight components ``dsigma_k(z) / q(z)`` for ``k = S, I, B``, so that
``dsigma(z|mu) = mu dsigma_S + sqrt(mu) dsigma_I + dsigma_B`` exactly.

Amplitude model (longitudinal unitarity cancellation), with ``kappa^2 = sqrt(mu)``::

    |M_LL|^2 = a^2 (|rho - kappa^2 r|^2 + 1 - rho^2),   a = s/v^2,   r = s / (s - mH^2 + i mH GammaH)
    |M_LT|^2 = 1 + cos^2(Theta),   |M_TT|^2 = (1 + cos^2 Theta) / (1 - beta^2 cos^2 Theta)
    rho = rho0 exp(-(Q1^2 + Q2^2) / (2 Lambda_rho^2)),   Q_i^2 = pT_i^2 / (1 - x_i)

so ``w_S = N_LL a^2 |r|^2``, ``w_I = -2 rho N_LL a^2 Re r``, ``w_B = N_LL a^2 + N_LT |M_LT|^2 + N_TT |M_TT|^2``
(times the common kinematic factors) and ``mu w_S + sqrt(mu) w_I + w_B >= 0`` for every event and every ``mu >= 0``.

The non-interfering backgrounds qqbar->ZZ and gg->ZZ (B2) have ``w_S = w_I = 0``; their jets come from a radiation
model (Poisson number of jets, power-law pT, central eta). Units: GeV, fb; weights are later scaled to events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepnb.errors import InputError
from hepnb.offshell import kinematics as kin

__all__ = [
    "SQRT_S",
    "M_H",
    "GAMMA_H",
    "M_Z",
    "GAMMA_Z",
    "M_W",
    "VEV",
    "CHANNELS",
    "PROCESSES",
    "M4L_RANGE",
    "KNOB_RANGES",
    "VBFModel",
    "BackgroundModel",
    "DEFAULT_MODELS",
    "generate_truth",
    "vbf_components",
    "vbf_log_proposal",
    "vbf_helicity_sums",
]

SQRT_S = 13000.0
M_H = 125.0
GAMMA_H = 4.07e-3
M_Z = 91.1876
GAMMA_Z = 2.4952
M_W = 80.379
VEV = 246.22
PT_JET_MIN = 5.0  # generator-level cut on the tagging partons, as ptj > 5 in the ch7 run cards
MZ_RANGE = (70.0, 100.0)  # Breit-Wigner Z masses are generated in this window so that m_Z1 + m_Z2 < m4l_min
M4L_RANGE = (2 * MZ_RANGE[1], 5000.0)  # allowed m4l_min/m4l_max: both Zs fit; y_ZZ keeps room below sqrt(s)/2
A_LEPTON = 0.15  # forward-backward asymmetry parameter of transverse Z -> l l

#: Helicity channels of the VBF/VBS sample: (emitted V1, emitted V2) polarisation, L = longitudinal, T = transverse.
CHANNELS = ("LL", "LT", "TL", "TT")
#: Process names and the integer used to seed their chunks.
PROCESSES = {"vbf": 0, "qqzz": 1, "ggzz": 2}


@dataclass(frozen=True)
class VBFModel:
    """Knobs of the VBF/VBS (SVI) sample, defaults fit to the thesis's ch6 yields (``hepnb.offshell.calibration``).

    Attributes
    ----------
    norm_ll, norm_lt, norm_tt
        Channel normalisations in fb (per unit of the kinematic densities).
    rho0, lambda_rho
        Coherence of the gauge LL amplitude with the Higgs, ``rho = rho0 exp(-(Q1^2+Q2^2)/(2 lambda_rho^2))``.
    lumi_power, lumi_slope
        VV luminosity ``L(m4l) = (m4l/200)^-p exp(-c (m4l - 200))``.
    jet_form_factor
        ``F(pT) = 1/(1 + pT^2/Lambda_F^2)`` damping the EVA jet-pT tails [ours].
    m4l_min, m4l_max
        Generated m4l window in GeV, inside :data:`M4L_RANGE`.
    channel_probs, proposal_power
        Proposal: probability of each channel in :data:`CHANNELS` (normalised; a channel of probability 0 is never
        generated, so its cross-section is left out) and the power of its m4l Pareto proposal.

    Every knob is checked on construction (:data:`KNOB_RANGES`; ``0 <= rho0 <= 1`` keeps ``w(z|mu) >= 0``).
    """

    norm_ll: float = 2.8465e-3
    norm_lt: float = 4.4157e-3
    norm_tt: float = 1.9720e-3
    rho0: float = 1.0
    lambda_rho: float = 400.0
    lumi_power: float = 3.5
    lumi_slope: float = 0.003
    jet_form_factor: float = 110.0
    pdf_power: float = 3.0
    w_fraction: float = 0.75
    y_sigma: float = 1.2
    m4l_min: float = 200.0
    m4l_max: float = 3000.0
    radiation_mean: float = 0.3
    radiation_pt_min: float = 15.0
    radiation_pt_index: float = 4.0
    radiation_eta_sigma: float = 2.0
    channel_probs: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25)
    proposal_power: tuple[float, float, float, float] = (1.6, 3.5, 3.5, 3.5)

    def __post_init__(self) -> None:
        _check_knobs(self)


@dataclass(frozen=True)
class BackgroundModel:
    """Knobs of a non-interfering background (qqbar->ZZ or gg->ZZ) with radiation jets.

    Attributes
    ----------
    norm
        Normalisation in fb.
    angular
        ``"t-channel"`` (transverse Zs, ``Phi_T(cos Theta)``) or ``"isotropic"`` (any Z helicity, flat in cos Theta).
    radiation_mean, radiation_pt_min, radiation_pt_index, radiation_eta_sigma
        Number of jets ~ Poisson(mean), pT ~ pT_min * Pareto(index), eta ~ N(y_ZZ, sigma).
    gluon_fraction
        Probability that a radiated jet is a gluon (drives the jet-width proxies).

    Every knob is checked on construction (:data:`KNOB_RANGES`).
    """

    norm: float
    lumi_power: float
    lumi_slope: float
    angular: str
    y_sigma: float
    radiation_mean: float
    radiation_pt_min: float
    radiation_pt_index: float
    radiation_eta_sigma: float
    gluon_fraction: float
    m4l_min: float = 200.0
    m4l_max: float = 3000.0
    proposal_power: float = 5.0

    def __post_init__(self) -> None:
        _check_knobs(self)


#: Allowed ``(lo, hi)`` of every numeric model knob (each entry of a tuple knob; ``lo`` excluded for the knobs in
#: ``_OPEN_BELOW``). They keep the weights finite and ``mu w_S + sqrt(mu) w_I + w_B >= 0``: non-negative
#: normalisations (fb) and a falling luminosity, coherence ``0 <= rho0 <= 1``, positive scales, fractions in [0, 1],
#: a radiation pT tail with a finite mean, and ``m4l`` windows where both Zs fit and y_ZZ keeps room.
KNOB_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(("norm", "norm_ll", "norm_lt", "norm_tt"), (0.0, 1e6)),
    **dict.fromkeys(("lumi_power", "lumi_slope", "pdf_power", "radiation_eta_sigma", "channel_probs",
                     "proposal_power", "lambda_rho", "jet_form_factor", "radiation_pt_min"), (0.0, np.inf)),
    **dict.fromkeys(("rho0", "w_fraction", "gluon_fraction"), (0.0, 1.0)),
    "radiation_mean": (0.0, 100.0),
    "y_sigma": (0.0, 10.0),
    "radiation_pt_index": (2.0, np.inf),
    **dict.fromkeys(("m4l_min", "m4l_max"), M4L_RANGE),
}
_OPEN_BELOW = frozenset({"lambda_rho", "jet_form_factor", "radiation_pt_min", "y_sigma", "radiation_pt_index"})


def _check_knobs(model: VBFModel | BackgroundModel) -> None:
    """Raise an ``InputError`` naming the first knob of ``model`` outside :data:`KNOB_RANGES` (or inconsistent)."""
    kind = type(model).__name__
    if isinstance(model, BackgroundModel) and model.angular not in ("t-channel", "isotropic"):
        raise InputError(f"BackgroundModel.angular must be 't-channel' or 'isotropic', got {model.angular!r}")
    for name, (lo, hi) in KNOB_RANGES.items():
        if not hasattr(model, name):
            continue
        value = getattr(model, name)
        try:
            values = np.asarray(value, dtype=float).ravel()
        except (TypeError, ValueError):
            raise InputError(f"{kind}.{name} must be numeric, got {value!r}") from None
        size = 4 if kind == "VBFModel" and name in ("channel_probs", "proposal_power") else 1
        if np.ndim(value) != (1 if size > 1 else 0) or values.size != size:
            raise InputError(f"{kind}.{name} must be {'four numbers (LL, LT, TL, TT)' if size > 1 else 'a number'}"
                             f", got {value!r}")
        above = values > lo if name in _OPEN_BELOW else values >= lo
        if not np.all(np.isfinite(values) & above & (values <= hi)):
            interval = f"{'(' if name in _OPEN_BELOW else '['}{lo:g}, {hi:g}{')' if np.isinf(hi) else ']'}"
            raise InputError(f"{kind}.{name} must be finite and in {interval}, got {value!r}")
        if name == "proposal_power" and np.any(np.abs(values - 1.0) < 1e-3):
            raise InputError(f"{kind}.proposal_power must not be 1 (no log-uniform m4l proposal), got {value!r}")
        if size > 1:
            object.__setattr__(model, name, tuple(float(v) for v in values))
    if not model.m4l_min < model.m4l_max:
        raise InputError(f"{kind} needs m4l_min < m4l_max, got {model.m4l_min!r} and {model.m4l_max!r} GeV")
    if isinstance(model, VBFModel) and sum(model.channel_probs) <= 0:
        raise InputError(f"VBFModel.channel_probs must have a positive sum (they are normalised), got "
                         f"{model.channel_probs!r}")


DEFAULT_MODELS: dict[str, VBFModel | BackgroundModel] = {
    "vbf": VBFModel(),
    "qqzz": BackgroundModel(
        norm=0.34843,
        lumi_power=6.0,
        lumi_slope=0.004,
        angular="t-channel",
        y_sigma=1.0,
        radiation_mean=1.74,
        radiation_pt_min=20.0,
        radiation_pt_index=2.8,
        radiation_eta_sigma=1.8,
        gluon_fraction=0.5,
    ),
    "ggzz": BackgroundModel(
        norm=0.10105,
        lumi_power=6.5,
        lumi_slope=0.006,
        angular="isotropic",
        y_sigma=0.8,
        radiation_mean=1.80,
        radiation_pt_min=20.0,
        radiation_pt_index=2.8,
        radiation_eta_sigma=1.6,
        gluon_fraction=0.9,
    ),
}


# ----------------------------------------------------------------------------------------------------------------
# building blocks: luminosity, proposals, EVA densities, angular distributions
# ----------------------------------------------------------------------------------------------------------------
def _luminosity(m: np.ndarray, power: float, slope: float) -> np.ndarray:
    return (m / 200.0) ** (-power) * np.exp(-slope * (m - 200.0))


def _pareto_sample(u: np.ndarray, lo: float, hi: float, power: float) -> np.ndarray:
    a = 1.0 - power
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def _pareto_density(m: np.ndarray, lo: float, hi: float, power: float) -> np.ndarray:
    a = 1.0 - power
    return a * m ** (-power) / (hi**a - lo**a)


def _breit_wigner_sample(u: np.ndarray) -> np.ndarray:
    lo, hi = (np.arctan((m - M_Z) / (GAMMA_Z / 2)) for m in MZ_RANGE)
    return M_Z + GAMMA_Z / 2 * np.tan(lo + u * (hi - lo))


def _beta(m4l: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(1.0 - 4.0 * M_Z**2 / m4l**2, 0.0, None))


def _phi_t(c: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Transverse ZZ angular factor (1 + c^2)/(1 - beta^2 c^2)."""
    return (1.0 + c**2) / (1.0 - beta**2 * c**2)


def _tchannel_sample(u: np.ndarray, beta: np.ndarray) -> np.ndarray:
    amax = np.arctanh(beta)
    return np.tanh((2.0 * u - 1.0) * amax) / beta


def _tchannel_density(c: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return beta / (2.0 * np.arctanh(beta)) / (1.0 - beta**2 * c**2)


def _decay_density(c: np.ndarray, hel: np.ndarray) -> np.ndarray:
    """Density of cos(theta) of the negative lepton in the Z rest frame for Z helicity -1, 0, +1."""
    longitudinal = 0.75 * (1.0 - c**2)
    transverse = 0.375 * (1.0 + c**2 - 2.0 * A_LEPTON * hel * c)
    return np.where(hel == 0, longitudinal, transverse)


def _x_bounds(big_x: np.ndarray) -> np.ndarray:
    """Upper bound on the V energy fraction so that the tagging parton keeps E_j > PT_JET_MIN."""
    return 1.0 / (1.0 + 2.0 * PT_JET_MIN / (big_x * SQRT_S))


def _jet_energy(x: np.ndarray, big_x: np.ndarray) -> np.ndarray:
    return (1.0 - x) / x * big_x * SQRT_S / 2.0


def _eva_density(x: np.ndarray, t: np.ndarray, pol: np.ndarray, big_x: np.ndarray, model: VBFModel) -> np.ndarray:
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


def _pt_proposal_scale(x: np.ndarray, pol: np.ndarray, model: VBFModel) -> np.ndarray:
    """Scale of the pT^2 proposal 1/(t + M^2)^2: the L density itself, harder for T (weights stay bounded)."""
    return (1.0 - x) * M_W**2 + np.where(pol == 0, 0.0, model.jet_form_factor**2)


def _pt_sample(u: np.ndarray, lo: np.ndarray, hi: np.ndarray, m2: np.ndarray) -> np.ndarray:
    a, b = 1.0 / (lo + m2), 1.0 / (hi + m2)
    return 1.0 / (a - u * (a - b)) - m2


def _pt_density(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, m2: np.ndarray) -> np.ndarray:
    return 1.0 / (t + m2) ** 2 / (1.0 / (lo + m2) - 1.0 / (hi + m2))


def _coherence(x1, t1, x2, t2, model: VBFModel) -> np.ndarray:
    q2 = t1 / (1.0 - x1) + t2 / (1.0 - x2)
    return model.rho0 * np.exp(-q2 / (2.0 * model.lambda_rho**2))


def _higgs_propagator(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (Re r, |r|^2) for r = s / (s - mH^2 + i mH GammaH)."""
    d = s - M_H**2
    den = d**2 + (M_H * GAMMA_H) ** 2
    return s * d / den, s**2 / den


# ----------------------------------------------------------------------------------------------------------------
# VBF/VBS: densities (shared by generation and the oracle)
# ----------------------------------------------------------------------------------------------------------------
def _channel_pols(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (channel == 2) | (channel == 3), (channel == 1) | (channel == 3)


def vbf_components(z: dict[str, np.ndarray], channel: np.ndarray, hel1: np.ndarray, hel2: np.ndarray,
                   model: VBFModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    pol1, pol2 = _channel_pols(channel)
    big_x1 = m / SQRT_S * np.exp(z["y_zz"])
    big_x2 = m / SQRT_S * np.exp(-z["y_zz"])
    x1, x2 = z["x_v1"], z["x_v2"]
    t1, t2 = z["pt_q1"] ** 2, z["pt_q2"] ** 2
    inside = (
        (x1 > big_x1) & (x1 < _x_bounds(big_x1)) & (x2 > big_x2) & (x2 < _x_bounds(big_x2))
        & (t1 < _jet_energy(x1, big_x1) ** 2) & (t2 < _jet_energy(x2, big_x2) ** 2)
    )
    kin_factor = (
        _luminosity(m, model.lumi_power, model.lumi_slope)
        * _eva_density(x1, t1, pol1.astype(int), big_x1, model)
        * _eva_density(x2, t2, pol2.astype(int), big_x2, model)
        * _decay_density(z["cos_theta_z1"], hel1)
        * _decay_density(z["cos_theta_z2"], hel2)
        * np.where(inside, 1.0, 0.0)
    )
    c = z["cos_theta_zz"]
    is_ll = channel == 0
    is_tt = channel == 3
    hel_weight = np.where(is_ll, 1.0, 0.25)  # transverse Z helicities are summed with equal weight
    a2 = (s / VEV**2) ** 2
    re_r, abs_r2 = _higgs_propagator(s)
    rho = _coherence(x1, t1, x2, t2, model)
    ll = model.norm_ll * a2 * 0.5 * kin_factor * hel_weight
    d_s = np.where(is_ll, ll * abs_r2, 0.0)
    d_i = np.where(is_ll, -2.0 * rho * ll * re_r, 0.0)
    angular_b = np.where(is_tt, model.norm_tt * _phi_t(c, _beta(m)), model.norm_lt * (1.0 + c**2))
    d_b = np.where(is_ll, ll, angular_b * kin_factor * hel_weight)
    return d_s, d_i, d_b


def vbf_log_proposal(z: dict[str, np.ndarray], channel: np.ndarray, hel1: np.ndarray, hel2: np.ndarray,
                     model: VBFModel) -> np.ndarray:
    """Log density of the VBF proposal at ``(z, channel, helicities)``, same reference measure as ``vbf_components``."""
    m = z["m4l"]
    pol1, pol2 = _channel_pols(channel)
    probs = np.asarray(model.channel_probs, dtype=float)
    powers = np.asarray(model.proposal_power)
    with np.errstate(divide="ignore"):  # a channel of probability 0 is never drawn; its log q is -inf
        log_q = np.log(probs[channel] / probs.sum())
    log_q += np.log(_pareto_density(m, model.m4l_min, model.m4l_max, powers[channel]))
    for i, (pol, sign) in enumerate(((pol1, 1.0), (pol2, -1.0)), start=1):
        big_x = m / SQRT_S * np.exp(sign * z["y_zz"])
        x = z[f"x_v{i}"]
        x_hi = _x_bounds(big_x)
        t = z[f"pt_q{i}"] ** 2
        t_hi = _jet_energy(x, big_x) ** 2
        m2 = _pt_proposal_scale(x, pol.astype(int), model)
        log_q += -np.log(x * np.log(x_hi / big_x)) + np.log(_pt_density(t, PT_JET_MIN**2, t_hi, m2))
    c = z["cos_theta_zz"]
    beta = _beta(m)
    log_q += np.where(channel == 3, np.log(_tchannel_density(c, beta)), np.log(0.5))
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


# ----------------------------------------------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------------------------------------------
def _radiation(rng: np.random.Generator, n: int, mean: float, pt_min: float, index: float, eta_centre: np.ndarray,
               eta_sigma: float, gluon_fraction: float, max_jets: int = 8) -> dict[str, np.ndarray]:
    counts = np.minimum(rng.poisson(mean, n), max_jets)
    width = max(int(counts.max(initial=0)), 1)
    u = rng.random((n, width))
    pt_ = pt_min * (1.0 - u) ** (-1.0 / (index - 1.0))
    eta_ = eta_centre[:, None] + eta_sigma * rng.standard_normal((n, width))
    phi_ = rng.uniform(-np.pi, np.pi, (n, width))
    gluon = rng.random((n, width)) < gluon_fraction
    present = np.arange(width)[None, :] < counts[:, None]
    return {"pt": np.where(present, pt_, 0.0), "eta": eta_, "phi": phi_,
            "parton": np.where(gluon, 21, 1).astype(np.int8), "present": present}


def _zz_decay(rng: np.random.Generator, m4l: np.ndarray, cos_zz: np.ndarray, p_zz: np.ndarray,
              cos1: np.ndarray, cos2: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> tuple[np.ndarray, dict]:
    """Build the four lepton four-vectors ``(n, 4, 4)`` ordered (Z1 l-, Z1 l+, Z2 l-, Z2 l+)."""
    n = len(m4l)
    phi_zz = rng.uniform(-np.pi, np.pi, n)
    phi1, phi2 = rng.uniform(-np.pi, np.pi, n), rng.uniform(-np.pi, np.pi, n)
    s = m4l**2
    pstar = np.sqrt(np.clip((s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2), 0.0, None)) / (2.0 * m4l)
    sin_zz = np.sqrt(1.0 - cos_zz**2)
    axis = np.stack([sin_zz * np.cos(phi_zz), sin_zz * np.sin(phi_zz), cos_zz], axis=-1)
    leptons = np.empty((n, 4, 4))
    beta_zz = p_zz[:, 1:] / p_zz[:, :1]
    for k, (direction, mk, ck, fk) in enumerate(((axis, m1, cos1, phi1), (-axis, m2, cos2, phi2))):
        ex, ey, ez = kin.orthonormal_frame(direction)
        sk = np.sqrt(1.0 - ck**2)
        d = (sk * np.cos(fk))[:, None] * ex + (sk * np.sin(fk))[:, None] * ey + ck[:, None] * ez
        half = (mk / 2.0)[:, None]
        minus = np.concatenate([half, half * d], axis=-1)
        plus = np.concatenate([half, -half * d], axis=-1)
        ek = np.sqrt(mk**2 + pstar**2)
        beta_k = (pstar / ek)[:, None] * direction
        for j, lep in enumerate((minus, plus)):
            leptons[:, 2 * k + j] = kin.boost(kin.boost(lep, beta_k), beta_zz)
    return leptons, {"phi_zz": phi_zz, "phi_z1": phi1, "phi_z2": phi2}


def _lepton_flavours(rng: np.random.Generator, n: int) -> np.ndarray:
    flav = np.where(rng.random((n, 2)) < 0.5, 11, 13)
    pdg = np.empty((n, 4), dtype=np.int16)
    pdg[:, 0], pdg[:, 1], pdg[:, 2], pdg[:, 3] = flav[:, 0], -flav[:, 0], flav[:, 1], -flav[:, 1]
    return pdg


def _sample_y(rng: np.random.Generator, m4l: np.ndarray, sigma: float) -> np.ndarray:
    """y_ZZ ~ N(0, sigma) truncated so that both V momentum fractions stay below 0.5."""
    y_max = np.log(SQRT_S / m4l) - np.log(2.0)
    y = sigma * rng.standard_normal(len(m4l))
    bad = np.abs(y) >= y_max
    while bad.any():
        y[bad] = sigma * rng.standard_normal(int(bad.sum()))
        bad = np.abs(y) >= y_max
    return y


def _generate_vbf(rng: np.random.Generator, n: int, model: VBFModel) -> dict[str, np.ndarray]:
    probs = np.asarray(model.channel_probs, dtype=float)
    channel = rng.choice(4, size=n, p=probs / probs.sum())
    powers = np.asarray(model.proposal_power)[channel]
    m4l = _pareto_sample(rng.random(n), model.m4l_min, model.m4l_max, powers)
    y_zz = _sample_y(rng, m4l, model.y_sigma)
    pol1, pol2 = _channel_pols(channel)
    z: dict[str, np.ndarray] = {"m4l": m4l, "y_zz": y_zz}
    jets_pt, jets_eta, jets_phi = [], [], []
    for i, (pol, sign) in enumerate(((pol1, 1.0), (pol2, -1.0)), start=1):
        big_x = m4l / SQRT_S * np.exp(sign * y_zz)
        x_hi = _x_bounds(big_x)
        x = big_x * (x_hi / big_x) ** rng.random(n)
        t_hi = _jet_energy(x, big_x) ** 2
        t = _pt_sample(rng.random(n), PT_JET_MIN**2, t_hi, _pt_proposal_scale(x, pol.astype(int), model))
        t = np.clip(t, PT_JET_MIN**2, t_hi)
        pt_q = np.sqrt(t)
        e_j = _jet_energy(x, big_x)
        z[f"x_v{i}"], z[f"pt_q{i}"] = x, pt_q
        z[f"phi_q{i}"] = rng.uniform(-np.pi, np.pi, n)
        jets_pt.append(pt_q)
        jets_eta.append(sign * np.arccosh(np.maximum(e_j / pt_q, 1.0)))
        jets_phi.append(z[f"phi_q{i}"])
    beta = _beta(m4l)
    u = rng.random(n)
    z["cos_theta_zz"] = np.where(channel == 3, _tchannel_sample(u, beta), 2.0 * u - 1.0)
    hel = np.where(rng.random((n, 2)) < 0.5, -1, 1)
    hel[channel == 0] = 0
    z["cos_theta_z1"], z["cos_theta_z2"] = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    hel1, hel2 = hel[:, 0], hel[:, 1]
    d_s, d_i, d_b = vbf_components(z, channel, hel1, hel2, model)
    q = np.exp(vbf_log_proposal(z, channel, hel1, hel2, model))
    radiation = _radiation(rng, n, model.radiation_mean, model.radiation_pt_min, model.radiation_pt_index,
                           np.zeros(n), model.radiation_eta_sigma, 0.5)
    jets = {
        "pt": np.concatenate([np.stack(jets_pt, 1), radiation["pt"]], 1),
        "eta": np.concatenate([np.stack(jets_eta, 1), radiation["eta"]], 1),
        "phi": np.concatenate([np.stack(jets_phi, 1), radiation["phi"]], 1),
        "parton": np.concatenate([np.ones((n, 2), np.int8), radiation["parton"]], 1),
        "present": np.concatenate([np.ones((n, 2), bool), radiation["present"]], 1),
    }
    z["rho"] = _coherence(z["x_v1"], z["pt_q1"] ** 2, z["x_v2"], z["pt_q2"] ** 2, model)
    out = _finish(rng, z, jets, channel, hel1, hel2)
    out["w_S"], out["w_I"], out["w_B"] = d_s / q, d_i / q, d_b / q
    return out


def _generate_background(rng: np.random.Generator, n: int, model: BackgroundModel) -> dict[str, np.ndarray]:
    m4l = _pareto_sample(rng.random(n), model.m4l_min, model.m4l_max, model.proposal_power)
    y_zz = _sample_y(rng, m4l, model.y_sigma)
    beta = _beta(m4l)
    u = rng.random(n)
    if model.angular == "t-channel":
        cos_zz = _tchannel_sample(u, beta)
        hel = np.where(rng.random((n, 2)) < 0.5, -1, 1)
        angular = _phi_t(cos_zz, beta) / _tchannel_density(cos_zz, beta)
    else:
        cos_zz = 2.0 * u - 1.0
        hel = rng.integers(-1, 2, (n, 2))
        angular = np.full(n, 2.0)
    cos1, cos2 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    decay = 4.0 * _decay_density(cos1, hel[:, 0]) * _decay_density(cos2, hel[:, 1])
    lumi = _luminosity(m4l, model.lumi_power, model.lumi_slope)
    q_m = _pareto_density(m4l, model.m4l_min, model.m4l_max, model.proposal_power)
    w_b = model.norm * lumi / q_m * angular * decay
    z = {"m4l": m4l, "y_zz": y_zz, "cos_theta_zz": cos_zz, "cos_theta_z1": cos1, "cos_theta_z2": cos2}
    for key in ("x_v1", "x_v2", "pt_q1", "pt_q2", "phi_q1", "phi_q2", "rho"):
        z[key] = np.full(n, np.nan)
    jets = _radiation(rng, n, model.radiation_mean, model.radiation_pt_min, model.radiation_pt_index, y_zz,
                      model.radiation_eta_sigma, model.gluon_fraction)
    out = _finish(rng, z, jets, np.full(n, -1), hel[:, 0], hel[:, 1])
    out["w_S"], out["w_I"], out["w_B"] = np.zeros(n), np.zeros(n), w_b
    return out


def _finish(rng: np.random.Generator, z: dict[str, np.ndarray], jets: dict[str, np.ndarray], channel: np.ndarray,
            hel1: np.ndarray, hel2: np.ndarray) -> dict[str, np.ndarray]:
    """Z masses, ZZ recoil against all jets, Z decays; returns flat truth columns plus jet/lepton arrays."""
    n = len(z["m4l"])
    m1, m2 = _breit_wigner_sample(rng.random(n)), _breit_wigner_sample(rng.random(n))
    pres = jets["present"]
    px = -np.sum(np.where(pres, jets["pt"] * np.cos(jets["phi"]), 0.0), axis=1)
    py = -np.sum(np.where(pres, jets["pt"] * np.sin(jets["phi"]), 0.0), axis=1)
    p_zz = kin.from_pt_y_phi_m(np.hypot(px, py), z["y_zz"], np.arctan2(py, px), z["m4l"])
    leptons, angles = _zz_decay(rng, z["m4l"], z["cos_theta_zz"], p_zz, z["cos_theta_z1"], z["cos_theta_z2"], m1, m2)
    pdg = _lepton_flavours(rng, n)
    truth = dict(z)
    truth.update(angles)
    truth.update({"m_z1": m1, "m_z2": m2, "pt_zz": kin.pt(p_zz), "channel": channel.astype(np.int8),
                  "hel_z1": hel1.astype(np.int8), "hel_z2": hel2.astype(np.int8)})
    order = np.argsort(-np.where(pres, jets["pt"], -1.0), axis=1, kind="stable")
    jets = {k: np.take_along_axis(v, order, axis=1) for k, v in jets.items()}
    return {"truth": truth, "leptons": leptons, "pdg": pdg, "jets": jets}


def generate_truth(process: str, n: int, rng: np.random.Generator,
                   model: VBFModel | BackgroundModel) -> dict[str, np.ndarray]:
    """Draw ``n`` parton-level events; weights ``w_S, w_I, w_B`` are ``dsigma/q`` in fb (divide by ``n`` for
    events/fb^-1).

    Returns a dict with ``truth`` (flat latent columns), ``leptons`` ``(n, 4, 4)`` four-vectors (Z1 l-, Z1 l+,
    Z2 l-, Z2 l+), ``pdg`` ``(n, 4)``, ``jets`` (padded ``(n, J)`` arrays ``pt, eta, phi, parton, present``, pT-ordered)
    and the weight components.
    """
    if process == "vbf":
        return _generate_vbf(rng, n, model)  # type: ignore[arg-type]
    return _generate_background(rng, n, model)  # type: ignore[arg-type]
