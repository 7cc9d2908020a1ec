"""Detector response (smearing, efficiencies, acceptance, jet-width proxies, MET) and presets (thesis 6.5, 7.4).

The detector is independent of mu, so the joint likelihood ratio of a reconstructed event is that of its parton-level
latents: ``r(x, z) = r(z)``.

Detectors
---------
``"atlas"``
    Leptons: sigma_pT/pT = 2% (e) or 1.5% (+) 0.01% x pT (mu), efficiency 0.95, e: pT > 7 GeV, |eta| < 2.47,
    mu: pT > 5 GeV, |eta| < 2.7. Jets: sigma_E/E = 100%/sqrt(E) (+) 5%, pT > 30 GeV, |eta| < 4.5. MET noise 10 GeV.
``"delphes"``
    As ``"atlas"`` with jets above 20 GeV and leptons within |eta| < 2.5 (Delphes-like, ch7).
``"none"``
    Truth objects: no smearing, no efficiency, no lepton acceptance; jets above 20 GeV within |eta| < 4.5.

Presets (selections applied by :func:`hepnb.offshell.generate`)
---------------------------------------------------------------
``"4l"``
    ATLAS 2018 off-shell 4l selection: 4 leptons forming two same-flavour opposite-sign pairs, leading lepton pT >
    20/15/10 GeV, 50 < m12 < 106 GeV, 50 < m34 < 115 GeV, m4l > 220 GeV (the "before VBF preselection" yields).
``"thesis-ch6"``
    ``"4l"`` plus at least two jets with pT > 30 GeV and m_jj > 120 GeV (the ch6 VBF preselection).
``"thesis-ch7"``
    4 leptons, at least two jets with pT > 20 GeV, m4l > 220 GeV (the ch7 "minimal pre-selection").
``None``
    No selection (VBF events outside the exact kinematics' phase space, whose weights are 0, are dropped still).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepnb.errors import InputError
from hepnb.offshell import kinematics as kin

__all__ = [
    "DetectorConfig",
    "DETECTORS",
    "PRESETS",
    "CUT_OBSERVABLES",
    "simulate",
    "select",
    "check_detector",
    "check_preset",
]


@dataclass(frozen=True)
class DetectorConfig:
    """Resolution, efficiency and acceptance of one detector flavour."""

    smear: bool
    lepton_efficiency: float
    electron_resolution: float
    muon_resolution: float
    muon_resolution_slope: float
    electron_pt_min: float
    electron_eta_max: float
    muon_pt_min: float
    muon_eta_max: float
    jet_stochastic: float
    jet_constant: float
    jet_pt_min: float
    jet_eta_max: float
    met_noise: float


DETECTORS: dict[str, DetectorConfig] = {
    "atlas": DetectorConfig(True, 0.95, 0.02, 0.015, 1e-4, 7.0, 2.47, 5.0, 2.7, 1.0, 0.05, 30.0, 4.5, 10.0),
    "delphes": DetectorConfig(True, 0.95, 0.02, 0.015, 1e-4, 7.0, 2.5, 5.0, 2.5, 1.0, 0.05, 20.0, 4.5, 10.0),
    "none": DetectorConfig(False, 1.0, 0.0, 0.0, 0.0, 0.0, np.inf, 0.0, np.inf, 0.0, 0.0, 20.0, 4.5, 0.0),
}

#: Selection presets: name -> (description, feature list name used by ``hepnb.offshell.features.feature_matrix``).
PRESETS: dict[str | None, str] = {
    None: "no selection",
    "4l": "ATLAS off-shell 4l: SFOS pairs, lepton pT > 20/15/10, 50<m12<106, 50<m34<115, m4l>220",
    "thesis-ch6": "4l + >= 2 jets with pT > 30 GeV + m_jj > 120 GeV (ch6 VBF preselection, 15 ATLAS-like features)",
    "thesis-ch7": "4 leptons + >= 2 jets with pT > 20 GeV + m4l > 220 GeV (ch7, 35 MadMiner observables)",
}


def check_detector(detector: str) -> DetectorConfig:
    """Return the configuration of ``detector`` or raise a clear ``InputError``."""
    if detector not in DETECTORS:
        raise InputError(f"detector must be one of {sorted(DETECTORS)}, got {detector!r}")
    return DETECTORS[detector]


def check_preset(preset: str | None) -> str | None:
    """Validate a preset name."""
    if preset not in PRESETS:
        names = ", ".join(repr(p) for p in PRESETS)
        raise InputError(f"preset must be one of {names}, got {preset!r}")
    return preset


def _jet_widths(rng: np.random.Generator, pt_: np.ndarray, parton: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calorimeter and track width proxies: Gamma-distributed, wider for gluons, narrower at high pT."""
    base = np.where(parton == 21, 0.12, 0.07) * (50.0 / np.maximum(pt_, 20.0)) ** 0.35
    width = rng.gamma(4.0, base / 4.0)
    track = width * rng.gamma(12.0, 0.9 / 12.0, size=width.shape)
    return width, track


def simulate(truth: dict, rng: np.random.Generator, detector: str) -> dict[str, np.ndarray]:
    """Apply the detector to generator output; returns reconstructed lepton and jet arrays plus MET.

    Returns
    -------
    dict
        ``leptons`` ``(n, 4, 4)`` reco four-vectors in the truth order (Z1 l-, Z1 l+, Z2 l-, Z2 l+), ``lepton_ok``
        ``(n, 4)``, ``pdg`` ``(n, 4)``; ``jets`` dict of padded ``(n, J)`` arrays ``pt, eta, phi, e, width,
        track_width, present`` ordered by reco pT; ``met_x``, ``met_y``.
    """
    cfg = check_detector(detector)
    leptons = truth["leptons"]
    pdg = truth["pdg"]
    n = len(leptons)
    lpt, leta, lphi = kin.pt(leptons), kin.eta(leptons), kin.phi(leptons)
    is_e = np.abs(pdg) == 11
    if cfg.smear:
        res = np.where(is_e, cfg.electron_resolution, np.hypot(cfg.muon_resolution, cfg.muon_resolution_slope * lpt))
        lpt_reco = lpt * np.clip(1.0 + res * rng.standard_normal((n, 4)), 0.05, None)
    else:
        lpt_reco = lpt.copy()
    ok = rng.random((n, 4)) < cfg.lepton_efficiency
    ok &= np.where(
        is_e,
        (lpt_reco > cfg.electron_pt_min) & (np.abs(leta) < cfg.electron_eta_max),
        (lpt_reco > cfg.muon_pt_min) & (np.abs(leta) < cfg.muon_eta_max),
    )
    if cfg.smear:
        reco_leptons = kin.from_pt_eta_phi_m(lpt_reco, leta, lphi, np.where(is_e, 0.000511, 0.10566))
    else:
        reco_leptons = leptons.copy()  # truth four-vectors, untouched

    jets = truth["jets"]
    jpt, jeta, jphi, present = jets["pt"], jets["eta"], jets["phi"], jets["present"]
    energy = jpt * np.cosh(jeta)
    if cfg.smear:
        rel = np.hypot(cfg.jet_stochastic / np.sqrt(np.maximum(energy, 1e-3)), cfg.jet_constant)
        scale = np.clip(1.0 + rel * rng.standard_normal(jpt.shape), 0.05, None)
    else:
        scale = np.ones_like(jpt)
    jpt_reco = jpt * scale
    width, track = _jet_widths(rng, jpt_reco, jets["parton"])
    keep = present & (jpt_reco > cfg.jet_pt_min) & (np.abs(jeta) < cfg.jet_eta_max)
    order = np.argsort(-np.where(keep, jpt_reco, -1.0), axis=1, kind="stable")
    reco_jets = {
        "pt": jpt_reco,
        "eta": jeta,
        "phi": jphi,
        "e": energy * scale,
        "width": width,
        "track_width": track,
        "present": keep,
    }
    reco_jets = kin.sort_objects(reco_jets, order)

    # MET: mismeasurement of the reconstructed objects plus a Gaussian soft-term noise
    dpx = np.sum(np.where(ok, (lpt_reco - lpt) * np.cos(lphi), 0.0), axis=1)
    dpy = np.sum(np.where(ok, (lpt_reco - lpt) * np.sin(lphi), 0.0), axis=1)
    dpx += np.sum(np.where(keep, (jpt_reco - jpt) * np.cos(jphi), 0.0), axis=1)
    dpy += np.sum(np.where(keep, (jpt_reco - jpt) * np.sin(jphi), 0.0), axis=1)
    met_x = -dpx + cfg.met_noise * rng.standard_normal(n)
    met_y = -dpy + cfg.met_noise * rng.standard_normal(n)
    return {"leptons": reco_leptons, "lepton_ok": ok, "pdg": pdg, "jets": reco_jets, "met_x": met_x, "met_y": met_y}


#: The observables :func:`select` reads.
CUT_OBSERVABLES = ("n_leptons", "sfos", "m4l", "m12", "m34", "pt_l1", "pt_l2", "pt_l3", "pt_j2", "mjj")


def select(x: dict[str, np.ndarray], preset: str | None) -> np.ndarray:
    """Boolean mask of the events passing ``preset`` (see the module docstring), from the observables ``x``."""
    check_preset(preset)
    n = len(x["m4l"])
    if preset is None:
        return np.ones(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        four = (x["n_leptons"] >= 4) & (x["m4l"] > 220.0)
        if preset == "thesis-ch7":
            return four & (x["pt_j2"] > 20.0)
        atlas = (
            four
            & x["sfos"].astype(bool)
            & (x["pt_l1"] > 20.0)
            & (x["pt_l2"] > 15.0)
            & (x["pt_l3"] > 10.0)
            & (x["m12"] > 50.0)
            & (x["m12"] < 106.0)
            & (x["m34"] > 50.0)
            & (x["m34"] < 115.0)
        )
        if preset == "4l":
            return atlas
        return atlas & (x["pt_j2"] > 30.0) & (x["mjj"] > 120.0)
