"""Observables ``x`` from reconstructed objects, and the ch6 (15 ATLAS-like) and ch7 (35 MadMiner) feature lists.

Naming: jets and leptons are numbered from 1 in decreasing pT (``pt_j1`` is the *leading* jet, as in ch7). The ch6
thesis names use 0-based indices (``jet_pt_0`` is the leading jet); :data:`CH6_FEATURES` maps them. Missing objects
give NaN in ``x``; :func:`feature_matrix` substitutes each list's defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from hepnb.errors import InputError
from hepnb.offshell import amplitudes as amp
from hepnb.offshell import kinematics as kin
from hepnb.offshell.models import DEFAULT_MODELS, M_Z, VEV

__all__ = [
    "OBSERVABLES",
    "BASIC_OBSERVABLES",
    "CH6_FEATURES",
    "CH7_FEATURES",
    "FEATURE_LISTS",
    "observables",
    "feature_matrix",
    "mela",
]

#: ch6 ATLAS classifier features (Table 6.1): (thesis name, field of x, value for a missing object).
CH6_FEATURES: tuple[tuple[str, str, float], ...] = (
    ("dijet_invmass", "mjj", np.nan),
    ("dijet_deltaeta", "delta_eta_jj", np.nan),
    ("eta_zepp_ZZ", "eta_zepp", np.nan),
    ("jet_pt_0", "pt_j1", np.nan),
    ("jet_pt_1", "pt_j2", np.nan),
    ("leading_jet_width", "width_j1", np.nan),
    ("subleading_jet_width", "width_j2", np.nan),
    ("leading_jet_TrackWidthPt1000", "track_width_j1", np.nan),
    ("subleading_jet_TrackWidthPt1000", "track_width_j2", np.nan),
    ("pt4ljj_unconstrained", "pt_4ljj", np.nan),
    ("min_dR_jZ", "min_dr_jz", np.nan),
    ("m4l_fsr", "m4l", np.nan),
    ("MELA", "mela", np.nan),
    ("MCFM_dxs_ggZZtot", "ggzz_dxs", np.nan),
    ("MCFM_dxs_HZZ", "hzz_dxs", np.nan),
)

_OBJ = ("e", "pt", "eta", "phi")
#: ch7 MadMiner observables (thesis section 7.6): (MadMiner name, field of x, default for a missing object).
CH7_FEATURES: tuple[tuple[str, str, float], ...] = (
    ("et_miss", "et_miss", 0.0),
    ("phi_miss", "phi_miss", 0.0),
    ("e_visible", "e_visible", 0.0),
    ("eta_visible", "eta_visible", 0.0),
    ("n_ls", "n_leptons", 0.0),
    ("n_as", "n_photons", 0.0),
    ("n_js", "n_jets", 0.0),
    *((f"{v}_l{i}", f"{v}_l{i}", 0.0) for i in range(1, 5) for v in _OBJ),
    *((f"{v}_j{i}", f"{v}_j{i}", 0.0) for i in range(1, 3) for v in _OBJ),
    ("delta_phi_jj", "delta_phi_jj", -1.0),
    ("delta_eta_jj", "delta_eta_jj", -1.0),
    ("invmass_jj", "mjj", -1.0),
    ("m4l", "m4l", 0.0),
)

FEATURE_LISTS: dict[str, tuple[tuple[str, str, float], ...]] = {"thesis-ch6": CH6_FEATURES, "thesis-ch7": CH7_FEATURES}

#: Every field of ``x`` with its meaning.
OBSERVABLES: dict[str, str] = {
    "n_leptons": "number of reconstructed leptons",
    "n_jets": "number of reconstructed jets",
    "n_photons": "number of photons (always 0, kept for the 35 ch7 observables)",
    "sfos": "1 if the 4 leading leptons form two same-flavour opposite-sign pairs",
    "m4l": "four-lepton invariant mass [GeV]",
    "m12": "mass of the SFOS pair closest to m_Z [GeV]",
    "m34": "mass of the other pair [GeV]",
    "pt_4l": "pT of the 4l system [GeV]",
    "y_4l": "rapidity of the 4l system",
    "cos_theta_star": "cos of the Z1 direction w.r.t. the beam in the 4l rest frame",
    "cos_theta1": "cos of the negative lepton of Z1 w.r.t. the Z1 flight direction, Z1 rest frame",
    "cos_theta2": "same for Z2",
    "phi_planes": "angle between the Z1 and Z2 decay planes, 4l rest frame (the negative leptons' azimuths summed)",
    **{f"{v}_l{i}": f"{v} of the lepton number {i} in pT" for i in range(1, 5) for v in _OBJ},
    **{f"charge_l{i}": f"charge of lepton {i}" for i in range(1, 5)},
    **{f"flavour_l{i}": f"|pdg id| of lepton {i} (11 e, 13 mu)" for i in range(1, 5)},
    **{f"{v}_j{i}": f"{v} of jet number {i} in pT (j1 = leading)" for i in range(1, 3) for v in _OBJ},
    **{f"width_j{i}": f"calorimeter width proxy of jet {i}" for i in range(1, 3)},
    **{f"track_width_j{i}": f"track width proxy of jet {i}" for i in range(1, 3)},
    "mjj": "dijet invariant mass of the two leading jets [GeV]",
    "delta_eta_jj": "|eta_j1 - eta_j2|",
    "delta_phi_jj": "phi_j1 - phi_j2 times sign(eta_j1 - eta_j2) (signed, as MadMiner)",
    "eta_zepp": "Zeppenfeld variable y_4l - (eta_j1 + eta_j2)/2",
    "pt_4ljj": "pT of the 4l + 2 leading jets system (unclipped) [GeV]",
    "min_dr_jz": "minimum Delta R between a leading jet and a reconstructed Z",
    "mela": "toy MELA: log10(P_H / (P_gg + 0.1 P_qq)) at reconstructed kinematics",
    "hzz_dxs": "log10 of the toy VBF H* -> ZZ matrix-element density",
    "ggzz_dxs": "log10 of the toy gg -> ZZ matrix-element density",
    "et_miss": "missing transverse energy [GeV]",
    "phi_miss": "azimuth of the missing transverse momentum",
    "e_visible": "energy of all reconstructed leptons and jets [GeV]",
    "eta_visible": "pseudorapidity of all reconstructed leptons and jets",
}


def mela(
    m4l: np.ndarray, cos_star: np.ndarray, cos1: np.ndarray, cos2: np.ndarray, phi_planes: np.ndarray
) -> dict[str, np.ndarray]:
    """Toy matrix-element densities and the MELA discriminant ``log10(P_H / (P_gg + 0.1 P_qq))`` (eq 6.3).

    ``P_H`` is the Higgs-only density of the simulator's ``V_L V_L`` channel with its coherent Z_L Z_L and Z_T Z_T
    decays (:func:`hepnb.offshell.amplitudes.decay_amplitudes`); ``P_qq`` and ``P_gg`` are the backgrounds' densities.
    """
    vbf, qq, gg = (DEFAULT_MODELS[p] for p in ("vbf", "qqzz", "ggzz"))
    s = m4l**2
    _, abs_r2 = amp.higgs_propagator(s)
    d_l = 0.75 * (1.0 - cos1**2) * 0.75 * (1.0 - cos2**2)
    d_t = 0.375 * (1.0 + cos1**2) * 0.375 * (1.0 + cos2**2)
    decays = amp.decay_amplitudes(np.nan_to_num(cos1), np.nan_to_num(cos2), np.nan_to_num(phi_planes))
    higgs = amp.higgs_decay(decays, s)
    p_h = vbf.norm_ll * amp.luminosity(m4l, vbf.lumi_power, vbf.lumi_slope) * (s / VEV**2) ** 2 * abs_r2
    p_h = p_h * np.sum(np.abs(higgs) ** 2, axis=1)
    p_qq = qq.norm * amp.luminosity(m4l, qq.lumi_power, qq.lumi_slope) * amp.phi_t(cos_star, amp.zz_beta(m4l)) * d_t
    p_gg = gg.norm * amp.luminosity(m4l, gg.lumi_power, gg.lumi_slope) * (d_l + 2.0 * d_t) / 3.0
    tiny = 1e-300
    return {
        "mela": np.log10((p_h + tiny) / (p_gg + 0.1 * p_qq + tiny)),
        "hzz_dxs": np.log10(p_h + tiny),
        "ggzz_dxs": np.log10(p_gg + tiny),
    }


def _pairing(lep: np.ndarray, pdg: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, ...]:
    """Z candidates from the 4 leptons (truth index order l-, l+, l-, l+): the SFOS pairing with a pair nearest m_Z."""
    same = np.abs(pdg[:, 0]) == np.abs(pdg[:, 2])
    a1, a2 = lep[:, 0] + lep[:, 1], lep[:, 2] + lep[:, 3]
    b1, b2 = lep[:, 0] + lep[:, 3], lep[:, 2] + lep[:, 1]
    da = np.minimum(np.abs(kin.mass(a1) - M_Z), np.abs(kin.mass(a2) - M_Z))
    db = np.minimum(np.abs(kin.mass(b1) - M_Z), np.abs(kin.mass(b2) - M_Z))
    use_b = same & (db < da)
    p1 = np.where(use_b[:, None], b1, a1)
    p2 = np.where(use_b[:, None], b2, a2)
    m_p1, m_p2 = lep[:, 0], lep[:, 2]  # the negative lepton of each pair (indices 0 and 2 in both pairings)
    swap = np.abs(kin.mass(p2) - M_Z) < np.abs(kin.mass(p1) - M_Z)
    z1 = np.where(swap[:, None], p2, p1)
    z2 = np.where(swap[:, None], p1, p2)
    l1 = np.where(swap[:, None], m_p2, m_p1)
    l2 = np.where(swap[:, None], m_p1, m_p2)
    return z1, z2, l1, l2


def _plane_angle(z1: np.ndarray, lep1: np.ndarray, lep2: np.ndarray) -> np.ndarray:
    """Angle between the decay planes: the azimuths of each Z's negative lepton (in its Z's rest frame) about that Z's
    flight direction, in right-handed frames along Z1 and Z2, summed (the generator's ``phi_z1 + phi_z2``), in
    (-pi, pi]. Invariant under rotations about the ZZ axis and under exchanging Z1 and Z2."""
    ex, ey, _ = kin.orthonormal_frame(z1[:, 1:])
    l1, l2 = lep1[:, 1:], lep2[:, 1:]
    phi1 = np.arctan2(np.sum(l1 * ey, axis=1), np.sum(l1 * ex, axis=1))
    phi2 = np.arctan2(-np.sum(l2 * ey, axis=1), np.sum(l2 * ex, axis=1))  # the frame along -z1 is (ex, -ey, -ez)
    return np.angle(np.exp(1j * (phi1 + phi2)))


#: The observables that are cheap to compute (no rest-frame boosts, angles or MELA): those the selection presets cut
#: on and those of the two leading jets. Asked for these only, :func:`observables` skips the others.
BASIC_OBSERVABLES: tuple[str, ...] = (
    "n_leptons",
    "n_jets",
    "sfos",
    *(f"pt_l{i}" for i in range(1, 5)),
    "m4l",
    "m12",
    "m34",
    *(f"{v}_j{i}" for i in range(1, 3) for v in ("e", "pt", "eta", "phi", "width", "track_width")),
    "mjj",
    "delta_eta_jj",
)


class _Objects(NamedTuple):
    """The reconstructed objects the observables are built from (see :func:`_basic_observables`)."""

    four: np.ndarray  # exactly four leptons reconstructed
    sorted_leptons: tuple[np.ndarray, np.ndarray, np.ndarray]  # four-vectors, pdg ids, flags ordered by reco pT
    p4l: np.ndarray  # the 4l system
    pairs: tuple[np.ndarray, ...]  # Z1, Z2 and their negative leptons (:func:`_pairing`)
    jets: dict[str, np.ndarray]  # the jet columns, padded to at least two jets
    j4: np.ndarray  # four-vectors of the two leading jets, (n, 2, 4)
    two: np.ndarray  # two jets reconstructed
    deta: np.ndarray  # eta_j1 - eta_j2


def _basic_observables(reco: dict) -> tuple[dict[str, np.ndarray], _Objects]:
    """The :data:`BASIC_OBSERVABLES` (float64) and the objects they are built from."""
    lep, pdg, ok = reco["leptons"], reco["pdg"], reco["lepton_ok"]
    n = len(lep)
    x: dict[str, np.ndarray] = {"n_leptons": ok.sum(axis=1).astype(float)}
    four = x["n_leptons"] == 4
    x["sfos"] = four.astype(float)  # truth leptons always form two SFOS pairs; lost leptons break them

    # leptons ordered by reco pT
    lpt = np.where(ok, kin.pt(lep), -1.0)
    order = np.argsort(-lpt, axis=1, kind="stable")
    lep_sorted = np.take_along_axis(lep, order[:, :, None], axis=1)
    pdg_sorted = np.take_along_axis(pdg, order, axis=1)
    ok_sorted = np.take_along_axis(ok, order, axis=1)
    for i in range(4):
        x[f"pt_l{i + 1}"] = np.where(ok_sorted[:, i], kin.pt(lep_sorted[:, i]), np.nan)

    # 4l system and Z pairing
    p4l = lep.sum(axis=1)
    z1, z2, lm1, lm2 = _pairing(lep, pdg, ok)
    nan = np.full(n, np.nan)
    x["m4l"] = np.where(four, kin.mass(p4l), nan)
    x["m12"] = np.where(four, kin.mass(z1), nan)
    x["m34"] = np.where(four, kin.mass(z2), nan)

    # jets
    jets = {k: v if v.shape[1] >= 2 else np.pad(v, ((0, 0), (0, 2 - v.shape[1]))) for k, v in reco["jets"].items()}
    x["n_jets"] = jets["present"].sum(axis=1).astype(float)
    jp = {k: v[:, :2] for k, v in jets.items()}
    j4 = kin.from_pt_eta_phi_m(jp["pt"], jp["eta"], jp["phi"], 0.0)
    for i in range(2):
        good = jp["present"][:, i]
        for name, val in (
            ("e", j4[:, i, 0]),
            ("pt", jp["pt"][:, i]),
            ("eta", jp["eta"][:, i]),
            ("phi", jp["phi"][:, i]),
            ("width", jp["width"][:, i]),
            ("track_width", jp["track_width"][:, i]),
        ):
            x[f"{name}_j{i + 1}"] = np.where(good, val, np.nan)
    two = jp["present"][:, 0] & jp["present"][:, 1]
    deta = jp["eta"][:, 0] - jp["eta"][:, 1]
    x["mjj"] = np.where(two, kin.mass(j4[:, 0] + j4[:, 1]), nan)
    x["delta_eta_jj"] = np.where(two, np.abs(deta), nan)
    objects = _Objects(four, (lep_sorted, pdg_sorted, ok_sorted), p4l, (z1, z2, lm1, lm2), jets, j4, two, deta)
    return x, objects


def observables(reco: dict, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Compute the observables ``names`` (default: every one of :data:`OBSERVABLES`), float32, NaN when the object
    is missing.

    When every name is one of :data:`BASIC_OBSERVABLES` nothing else is computed (several times faster; the same
    numbers bit for bit).

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb.offshell import detector, phasespace
    >>> from hepnb.offshell.models import DEFAULT_MODELS
    >>> rng = np.random.default_rng(3)
    >>> reco = detector.simulate(phasespace.generate_truth("vbf", 500, rng, DEFAULT_MODELS["vbf"]), rng, "atlas")
    >>> every, basic = observables(reco), observables(reco, ["m4l", "pt_j1"])
    >>> len(every) == len(OBSERVABLES), list(basic)
    (True, ['m4l', 'pt_j1'])
    >>> all(np.array_equal(basic[k], every[k], equal_nan=True) for k in basic)
    True
    """
    unknown = [] if names is None else sorted(set(names) - set(OBSERVABLES))
    if unknown:
        raise InputError(f"unknown observables {unknown}: the names are those of hepnb.offshell.OBSERVABLES")
    x, objects = _basic_observables(reco)
    if names is not None and set(names) <= set(BASIC_OBSERVABLES):
        return {k: np.asarray(x[k], dtype=np.float32) for k in names}
    lep, ok = reco["leptons"], reco["lepton_ok"]
    n = len(lep)
    four, p4l, two = objects.four, objects.p4l, objects.two
    x["n_photons"] = np.zeros(n)

    lep_sorted, pdg_sorted, ok_sorted = objects.sorted_leptons
    for i in range(4):
        p = lep_sorted[:, i]
        good = ok_sorted[:, i]
        for name, val in (
            ("e", p[:, 0]),
            ("eta", kin.eta(p)),
            ("phi", kin.phi(p)),
            ("charge", -np.sign(pdg_sorted[:, i]).astype(float)),
            ("flavour", np.abs(pdg_sorted[:, i]).astype(float)),
        ):
            x[f"{name}_l{i + 1}"] = np.where(good, val, np.nan)

    # 4l system and angles
    z1, z2, lm1, lm2 = objects.pairs
    nan = np.full(n, np.nan)
    x["pt_4l"] = np.where(four, kin.pt(p4l), nan)
    x["y_4l"] = np.where(four, kin.rapidity(p4l), nan)
    z1_cm, lm1_cm, lm2_cm, z2_cm = (kin.boost_to_rest(v, p4l) for v in (z1, lm1, lm2, z2))
    lm1_z, lm2_z = kin.boost_to_rest(lm1_cm, z1_cm), kin.boost_to_rest(lm2_cm, z2_cm)  # each in its Z's rest frame
    cos_star = kin.direction_angles(z1_cm[:, 1:], np.broadcast_to([0.0, 0.0, 1.0], z1_cm[:, 1:].shape))
    x["cos_theta_star"] = np.where(four, cos_star, nan)
    x["cos_theta1"] = np.where(four, kin.direction_angles(lm1_z[:, 1:], z1_cm[:, 1:]), nan)
    x["cos_theta2"] = np.where(four, kin.direction_angles(lm2_z[:, 1:], z2_cm[:, 1:]), nan)
    x["phi_planes"] = np.where(four, _plane_angle(z1_cm, lm1_z, lm2_z), nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        me = mela(x["m4l"], x["cos_theta_star"], x["cos_theta1"], x["cos_theta2"], x["phi_planes"])
    x.update(me)

    # jets
    jp, j4, deta = {k: v[:, :2] for k, v in objects.jets.items()}, objects.j4, objects.deta
    jj = j4[:, 0] + j4[:, 1]
    x["delta_phi_jj"] = np.where(two, kin.delta_phi(jp["phi"][:, 0], jp["phi"][:, 1]) * np.sign(deta), nan)
    x["eta_zepp"] = np.where(two & four, x["y_4l"] - 0.5 * (jp["eta"][:, 0] + jp["eta"][:, 1]), nan)
    x["pt_4ljj"] = np.where(two & four, kin.pt(p4l + jj), nan)
    drs = [kin.delta_r(jp["eta"][:, i], jp["phi"][:, i], kin.eta(zk), kin.phi(zk)) for i in range(2) for zk in (z1, z2)]
    x["min_dr_jz"] = np.where(two & four, np.min(drs, axis=0), nan)

    # MET and visible system
    x["et_miss"] = np.hypot(reco["met_x"], reco["met_y"])
    x["phi_miss"] = np.arctan2(reco["met_y"], reco["met_x"])
    jets = objects.jets
    jall = kin.from_pt_eta_phi_m(jets["pt"], jets["eta"], jets["phi"], 0.0)
    vis = np.sum(np.where(ok[:, :, None], lep, 0.0), axis=1) + np.sum(
        np.where(jets["present"][:, :, None], jall, 0.0), axis=1
    )
    x["e_visible"] = vis[:, 0]
    x["eta_visible"] = kin.eta(vis)
    missing = set(OBSERVABLES) - set(x)
    assert not missing, missing
    return {k: np.asarray(x[k], dtype=np.float32) for k in (OBSERVABLES if names is None else names)}


def feature_matrix(x, preset: str) -> tuple[np.ndarray, list[str]]:
    """Design matrix ``(n, d)`` of a feature list with its defaults for missing objects, and the column names.

    Parameters
    ----------
    x
        The observables (an awkward record array such as ``events.x`` or a dict of arrays).
    preset
        ``"thesis-ch6"`` (15 features; ``pt4ljj`` clipped at >= 50 GeV as in ch6) or ``"thesis-ch7"`` (35).
    """
    if preset not in FEATURE_LISTS:
        raise InputError(f"feature lists exist for {sorted(FEATURE_LISTS)}, got {preset!r}")
    columns, names = [], []
    for label, field, default in FEATURE_LISTS[preset]:
        values = np.asarray(x[field], dtype=np.float64)
        if label == "pt4ljj_unconstrained":
            values = np.where(np.isnan(values), values, np.maximum(values, 50.0))
        columns.append(np.where(np.isnan(values), default, values))
        names.append(label)
    return np.stack(columns, axis=1), names
