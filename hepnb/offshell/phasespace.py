"""Phase-space sampling of the EVA-interference generator: drawing events from the proposal, building the four-vectors.

:func:`generate_truth` draws ``n`` parton-level events from the proposal ``q(z)`` whose density is
:func:`hepnb.offshell.amplitudes.vbf_log_proposal` (channel, m4l from a Pareto law, y_ZZ, the tagging partons'
``(x, pT)``, ZZ and Z-decay angles), weighs them with the cross-section components of :mod:`hepnb.offshell.amplitudes`,
and builds the four-vectors: with the exact kinematics (the default) the momentum-conserving ``q q -> j j Z Z`` of
:mod:`hepnb.offshell.tagging`, recoiling as a whole against the radiated jets; with the collinear ones the ZZ system
recoiling against all jets; then Breit-Wigner Z masses and the Z decays. The non-interfering backgrounds qqbar->ZZ and
gg->ZZ (B2) have ``w_S = w_I = 0``; their jets come from a radiation model (Poisson number of jets, power-law pT,
central eta). Units: GeV, fb; weights are later scaled to events (:mod:`hepnb.offshell.events`).

>>> import numpy as np
>>> from hepnb.offshell.models import DEFAULT_MODELS
>>> from hepnb.offshell.phasespace import generate_truth
>>> out = generate_truth("vbf", 100, np.random.default_rng(1), DEFAULT_MODELS["vbf"])
>>> out["leptons"].shape, bool(out["w_I"].sum() < 0)
((100, 4, 4), True)
"""

from __future__ import annotations

import numpy as np

from hepnb.offshell import amplitudes as amp
from hepnb.offshell import kinematics as kin
from hepnb.offshell import tagging
from hepnb.offshell.models import GAMMA_Z, M_Z, MZ_RANGE, PT_JET_MIN, SQRT_S, BackgroundModel, VBFModel

__all__ = ["generate_truth"]


def _pareto_sample(u: np.ndarray, lo: float, hi: float, power: float) -> np.ndarray:
    a = 1.0 - power
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def _breit_wigner_sample(u: np.ndarray) -> np.ndarray:
    lo, hi = (np.arctan((m - M_Z) / (GAMMA_Z / 2)) for m in MZ_RANGE)
    return M_Z + GAMMA_Z / 2 * np.tan(lo + u * (hi - lo))


def _tchannel_sample(u: np.ndarray, beta: np.ndarray) -> np.ndarray:
    amax = np.arctanh(beta)
    return np.tanh((2.0 * u - 1.0) * amax) / beta


def _pt_sample(u: np.ndarray, lo: np.ndarray, hi: np.ndarray, m2: np.ndarray) -> np.ndarray:
    a, b = 1.0 / (lo + m2), 1.0 / (hi + m2)
    return 1.0 / (a - u * (a - b)) - m2


def _radiation(
    rng: np.random.Generator,
    n: int,
    mean: float,
    pt_min: float,
    index: float,
    eta_centre: np.ndarray,
    eta_sigma: float,
    gluon_fraction: float,
    max_jets: int = 8,
) -> dict[str, np.ndarray]:
    counts = np.minimum(rng.poisson(mean, n), max_jets)
    width = max(int(counts.max(initial=0)), 1)
    u = rng.random((n, width))
    pt_ = pt_min * (1.0 - u) ** (-1.0 / (index - 1.0))
    eta_ = eta_centre[:, None] + eta_sigma * rng.standard_normal((n, width))
    phi_ = rng.uniform(-np.pi, np.pi, (n, width))
    gluon = rng.random((n, width)) < gluon_fraction
    present = np.arange(width)[None, :] < counts[:, None]
    return {
        "pt": np.where(present, pt_, 0.0),
        "eta": eta_,
        "phi": phi_,
        "parton": np.where(gluon, 21, 1).astype(np.int8),
        "present": present,
    }


def _zz_decay(
    rng: np.random.Generator,
    m4l: np.ndarray,
    cos_zz: np.ndarray,
    p_zz: np.ndarray,
    cos1: np.ndarray,
    cos2: np.ndarray,
    phi1: np.ndarray,
    phi2: np.ndarray,
    m1: np.ndarray,
    m2: np.ndarray,
    polar: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """Build the four lepton four-vectors ``(n, 4, 4)`` ordered (Z1 l-, Z1 l+, Z2 l-, Z2 l+).

    ``cos_zz`` is the cosine of Z1's angle, in the ZZ rest frame, to ``polar`` (``(n, 3)``; default the beam axis)
    and ``phi1`` (``phi2``) the azimuth of Z1's (Z2's) negative lepton about Z1's (Z2's) flight direction, in the
    right-handed frame of :func:`hepnb.offshell.kinematics.orthonormal_frame`.
    """
    n = len(m4l)
    phi_zz = rng.uniform(-np.pi, np.pi, n)
    s = m4l**2
    pstar = np.sqrt(np.clip((s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2), 0.0, None)) / (2.0 * m4l)
    sin_zz = np.sqrt(1.0 - cos_zz**2)
    axis = np.stack([sin_zz * np.cos(phi_zz), sin_zz * np.sin(phi_zz), cos_zz], axis=-1)
    if polar is not None:
        axis = np.einsum("ni,nij->nj", axis, np.stack(kin.orthonormal_frame(polar), axis=1))
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
    return leptons, {"phi_zz": phi_zz}


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
    pol1, pol2 = amp.channel_pols(channel)
    z: dict[str, np.ndarray] = {"m4l": m4l, "y_zz": y_zz}
    big_xs = []  # the V pair's fraction of each proton, as the collinear kinematics place it
    for i, (pol, sign) in enumerate(((pol1, 1.0), (pol2, -1.0)), start=1):
        big_x = m4l / SQRT_S * np.exp(sign * y_zz)
        big_xs.append(big_x)
        x_hi = amp.x_bounds(big_x)
        x = big_x * (x_hi / big_x) ** rng.random(n)
        t_hi = amp.pt2_upper(x, big_x, model)
        t = _pt_sample(rng.random(n), PT_JET_MIN**2, t_hi, amp.pt_proposal_scale(x, pol.astype(int), model))
        t = np.clip(t, PT_JET_MIN**2, t_hi)
        z[f"x_v{i}"], z[f"pt_q{i}"] = x, np.sqrt(t)
        z[f"phi_q{i}"] = rng.uniform(-np.pi, np.pi, n)
    hard = tagging.parton_momenta(z) if model.kinematics == "exact" else None
    beta = amp.zz_beta(m4l)
    u = rng.random(n)
    z["cos_theta_zz"] = np.where(channel == 3, _tchannel_sample(u, beta), 2.0 * u - 1.0)
    z["cos_theta_z1"], z["cos_theta_z2"] = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    z["phi_z1"], z["phi_z2"] = rng.uniform(-np.pi, np.pi, n), rng.uniform(-np.pi, np.pi, n)
    d_s, d_i, d_b = amp.vbf_components(z, channel, model, None if hard is None else (hard["xi1"], hard["xi2"]))
    q = np.exp(amp.vbf_log_proposal(z, channel, model))
    radiation = _radiation(
        rng,
        n,
        model.radiation_mean,
        model.radiation_pt_min,
        model.radiation_pt_index,
        np.zeros(n),
        model.radiation_eta_sigma,
        0.5,
    )
    recoil = None
    if hard is None:  # collinear: E_j = (1 - x) E_q with E_q = X / x of the beam, on either side
        jets_pt = [z["pt_q1"], z["pt_q2"]]
        jets_eta = [
            sign * np.arccosh(np.maximum(amp.jet_energy(z[f"x_v{i}"], big_x) / z[f"pt_q{i}"], 1.0))
            for i, sign, big_x in ((1, 1.0, big_xs[0]), (2, -1.0, big_xs[1]))
        ]
        jets_phi = [z["phi_q1"], z["phi_q2"]]
    else:  # the hard system recoils against the radiation as a whole (a Lorentz transformation)
        recoil = _recoil(hard, radiation)
        jets_pt, jets_eta, jets_phi = ([f(recoil[f"j{i}"]) for i in (1, 2)] for f in (kin.pt, kin.eta, kin.phi))
    jets = {
        "pt": np.concatenate([np.stack(jets_pt, 1), radiation["pt"]], 1),
        "eta": np.concatenate([np.stack(jets_eta, 1), radiation["eta"]], 1),
        "phi": np.concatenate([np.stack(jets_phi, 1), radiation["phi"]], 1),
        "parton": np.concatenate([np.ones((n, 2), np.int8), radiation["parton"]], 1),
        "present": np.concatenate([np.ones((n, 2), bool), radiation["present"]], 1),
    }
    z["rho"] = amp.coherence(z["x_v1"], z["pt_q1"] ** 2, z["x_v2"], z["pt_q2"] ** 2, model)
    out = _finish(rng, z, jets, channel, recoil)
    out["w_S"], out["w_I"], out["w_B"] = d_s / q, d_i / q, d_b / q
    if hard is not None:  # outside the weight model's phase space (weights 0): dropped with the selection
        out["physical"] = tagging.in_phase_space(z, (hard["xi1"], hard["xi2"]))
    return out


def _generate_background(rng: np.random.Generator, n: int, model: BackgroundModel) -> dict[str, np.ndarray]:
    m4l = _pareto_sample(rng.random(n), model.m4l_min, model.m4l_max, model.proposal_power)
    y_zz = _sample_y(rng, m4l, model.y_sigma)
    beta = amp.zz_beta(m4l)
    u = rng.random(n)
    if model.angular == "t-channel":
        cos_zz = _tchannel_sample(u, beta)
        hel = np.where(rng.random((n, 2)) < 0.5, -1, 1)
        angular = amp.phi_t(cos_zz, beta) / amp.tchannel_density(cos_zz, beta)
    else:
        cos_zz = 2.0 * u - 1.0
        hel = rng.integers(-1, 2, (n, 2))
        angular = np.full(n, 2.0)
    cos1, cos2 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    decay = 4.0 * amp.decay_density(cos1, hel[:, 0]) * amp.decay_density(cos2, hel[:, 1])
    lumi = amp.luminosity(m4l, model.lumi_power, model.lumi_slope)
    q_m = amp.pareto_density(m4l, model.m4l_min, model.m4l_max, model.proposal_power)
    w_b = model.norm * lumi / q_m * angular * decay
    z = {"m4l": m4l, "y_zz": y_zz, "cos_theta_zz": cos_zz, "cos_theta_z1": cos1, "cos_theta_z2": cos2}
    z["phi_z1"], z["phi_z2"] = rng.uniform(-np.pi, np.pi, n), rng.uniform(-np.pi, np.pi, n)
    for key in ("x_v1", "x_v2", "pt_q1", "pt_q2", "phi_q1", "phi_q2", "rho"):
        z[key] = np.full(n, np.nan)
    jets = _radiation(
        rng,
        n,
        model.radiation_mean,
        model.radiation_pt_min,
        model.radiation_pt_index,
        y_zz,
        model.radiation_eta_sigma,
        model.gluon_fraction,
    )
    out = _finish(rng, z, jets, np.full(n, -1))
    out["w_S"], out["w_I"], out["w_B"] = np.zeros(n), np.zeros(n), w_b
    return out


def _transverse_sum(jets: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(sum px, sum py)`` per event over the present jets of padded ``(n, J)`` arrays ``pt, phi, present``."""
    pres = jets["present"]
    return (
        np.sum(np.where(pres, jets["pt"] * np.cos(jets["phi"]), 0.0), axis=1),
        np.sum(np.where(pres, jets["pt"] * np.sin(jets["phi"]), 0.0), axis=1),
    )


def _recoil(hard: dict[str, np.ndarray], radiation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The jets ``j1, j2``, the ZZ system ``zz`` and the emitted ``v1`` after the hard system ``q1 + q2`` recoils
    against the radiated jets.

    The transformation boosts the hard system to its rest frame along the beam, gives it the transverse momentum
    ``-sum pT(radiation)`` by a transverse boost and boosts it back to its rapidity, so every invariant of the hard
    process (``s-hat``, the V virtualities and Sudakov fractions) is kept and the event balances in pT. Events
    without radiation keep their momenta (the transformation is the identity there).
    """
    moved = np.flatnonzero(radiation["present"].any(axis=1))
    r_x, r_y = _transverse_sum({key: radiation[key][moved] for key in ("pt", "phi", "present")})
    total = hard["q1"][moved] + hard["q2"][moved]
    mass = kin.mass(total)
    along = np.zeros((len(mass), 3))
    along[:, 2] = total[:, 3] / total[:, 0]
    across = -np.stack([r_x, r_y, np.zeros_like(r_x)], axis=-1) / np.sqrt(mass**2 + r_x**2 + r_y**2)[:, None]
    out = {}
    for name, p in (("j1", hard["j1"]), ("j2", hard["j2"]), ("zz", hard["zz"]), ("v1", hard["q1"] - hard["j1"])):
        out[name] = p.copy()
        out[name][moved] = kin.boost(kin.boost(kin.boost(p[moved], -along), across), along)
    return out


def _finish(
    rng: np.random.Generator,
    z: dict[str, np.ndarray],
    jets: dict[str, np.ndarray],
    channel: np.ndarray,
    recoil: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Z masses, the ZZ system, Z decays; returns flat truth columns plus jet/lepton arrays.

    Without ``recoil`` (collinear kinematics and the backgrounds) the ZZ system recoils against all jets and its
    decay axis is measured from the beam; with it (:func:`_recoil`, exact kinematics) the ZZ system is
    ``recoil["zz"]`` and the axis is measured from the emitted V1 in the ZZ rest frame.
    """
    n = len(z["m4l"])
    m1, m2 = _breit_wigner_sample(rng.random(n)), _breit_wigner_sample(rng.random(n))
    pres = jets["present"]
    if recoil is None:
        px, py = (-total for total in _transverse_sum(jets))
        p_zz = kin.from_pt_y_phi_m(np.hypot(px, py), z["y_zz"], np.arctan2(py, px), z["m4l"])
        polar = None
    else:
        p_zz = recoil["zz"]
        polar = kin.boost_to_rest(recoil["v1"], p_zz)[:, 1:]
    leptons, angles = _zz_decay(
        rng,
        z["m4l"],
        z["cos_theta_zz"],
        p_zz,
        z["cos_theta_z1"],
        z["cos_theta_z2"],
        z["phi_z1"],
        z["phi_z2"],
        m1,
        m2,
        polar,
    )
    pdg = _lepton_flavours(rng, n)
    truth = dict(z)
    truth.update(angles)
    truth.update(
        {
            "m_z1": m1,
            "m_z2": m2,
            "pt_zz": kin.pt(p_zz),
            "channel": channel.astype(np.int8),
        }
    )
    order = np.argsort(-np.where(pres, jets["pt"], -1.0), axis=1, kind="stable")
    jets = kin.sort_objects(jets, order)
    return {"truth": truth, "leptons": leptons, "pdg": pdg, "jets": jets}


def generate_truth(
    process: str, n: int, rng: np.random.Generator, model: VBFModel | BackgroundModel
) -> dict[str, np.ndarray]:
    """Draw ``n`` parton-level events; weights ``w_S, w_I, w_B`` are ``dsigma/q`` in fb (divide by ``n`` for
    events/fb^-1).

    Returns a dict with ``truth`` (flat latent columns), ``leptons`` ``(n, 4, 4)`` four-vectors (Z1 l-, Z1 l+,
    Z2 l-, Z2 l+), ``pdg`` ``(n, 4)``, ``jets`` (padded ``(n, J)`` arrays ``pt, eta, phi, parton, present``, pT-ordered)
    and the weight components; with exact kinematics also ``physical``, false outside
    :func:`hepnb.offshell.tagging.in_phase_space` (weights 0).
    """
    if process == "vbf":
        return _generate_vbf(rng, n, model)  # type: ignore[arg-type]
    return _generate_background(rng, n, model)  # type: ignore[arg-type]
