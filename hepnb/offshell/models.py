"""Knobs of the EVA-interference generator: physical constants, the VBF and background models, their defaults.

:class:`VBFModel` and :class:`BackgroundModel` hold every number the generator (:mod:`hepnb.offshell.phasespace`)
and the weight model (:mod:`hepnb.offshell.amplitudes`) read; :data:`DEFAULT_MODELS` are the calibrated presets
(thesis section 6.6, :mod:`hepnb.offshell.calibration`) and :data:`KNOB_RANGES` the values a knob may take.
Units: GeV, fb.

>>> from hepnb.offshell.models import DEFAULT_MODELS, VBFModel
>>> DEFAULT_MODELS["vbf"] == VBFModel()
True
>>> VBFModel(rho0=0.5).channel_probs
(0.25, 0.25, 0.25, 0.25)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hepnb.errors import InputError

__all__ = [
    "SQRT_S",
    "M_H",
    "GAMMA_H",
    "M_Z",
    "GAMMA_Z",
    "M_W",
    "VEV",
    "PT_JET_MIN",
    "MZ_RANGE",
    "M4L_RANGE",
    "A_LEPTON",
    "CHANNELS",
    "KINEMATICS",
    "PROCESSES",
    "KNOB_RANGES",
    "VBFModel",
    "BackgroundModel",
    "DEFAULT_MODELS",
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
#: The VBF kinematics (:class:`VBFModel`): tier 1 and tier 2 of the spec.
KINEMATICS = ("collinear", "exact")
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
    rho_t
        Amplitude of the J = 0 part of transverse (TT) VBS, which interferes with the Higgs produced by transverse
        Vs, relative to ``sqrt(norm_tt)``.
    lumi_power, lumi_slope
        VV luminosity ``L(m4l) = (m4l/200)^-p exp(-c (m4l - 200))``.
    jet_form_factor
        ``F(pT) = 1/(1 + pT^2/Lambda_F^2)`` damping the EVA jet-pT tails [ours].
    m4l_min, m4l_max
        Generated m4l window in GeV, inside :data:`M4L_RANGE`.
    channel_probs, proposal_power
        Proposal: probability of each channel in :data:`CHANNELS` (normalised; a channel of probability 0 is never
        generated, so its cross-section is left out) and the power of its m4l Pareto proposal.
    kinematics
        ``"collinear"`` (the spec's tier 1: the Vs on the beam axis, the ZZ system recoiling against the jets) or
        ``"exact"`` (tier 2: momentum-conserving ``q q -> j j Z Z`` with ``V_i = q_i - j_i``, the parton densities
        read at the exact quark fractions; :mod:`hepnb.offshell.tagging`). The normalisations and the jet form
        factor are calibrated for each: ``VBFModel()`` for the exact kinematics, :meth:`collinear` for tier 1.

    Every knob is checked on construction (:data:`KNOB_RANGES`; ``0 <= rho0 <= 1`` keeps ``w(z|mu) >= 0``).
    """

    norm_ll: float = 0.99179e-3
    norm_lt: float = 2.7062e-3
    norm_tt: float = 0.57886e-3
    rho0: float = 1.0
    lambda_rho: float = 400.0
    rho_t: float = 1.2016
    lumi_power: float = 2.5
    lumi_slope: float = 0.003
    jet_form_factor: float = 180.0
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
    kinematics: Literal["collinear", "exact"] = "exact"

    def __post_init__(self) -> None:
        _check_knobs(self)

    @classmethod
    def collinear(cls) -> VBFModel:
        """The collinear kinematics (the spec's tier 1) with their own calibration to the same targets.

        The toy's kinematics before the exact ones: the same amplitudes, a softer jet form factor (110 GeV) and the
        normalisations ``solve_normalisations(n=1_000_000, seed=2024)`` found for them.

        >>> VBFModel.collinear().kinematics, VBFModel().kinematics
        ('collinear', 'exact')
        """
        return cls(
            norm_ll=1.2509e-3,
            norm_lt=2.9980e-3,
            norm_tt=1.0937e-3,
            rho_t=1.0803,
            jet_form_factor=110.0,
            kinematics="collinear",
        )


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
    **dict.fromkeys(
        (
            "lumi_power",
            "lumi_slope",
            "pdf_power",
            "radiation_eta_sigma",
            "channel_probs",
            "proposal_power",
            "lambda_rho",
            "jet_form_factor",
            "radiation_pt_min",
        ),
        (0.0, np.inf),
    ),
    **dict.fromkeys(("rho0", "w_fraction", "gluon_fraction"), (0.0, 1.0)),
    "rho_t": (0.0, 1e3),
    "radiation_mean": (0.0, 100.0),
    "y_sigma": (0.0, 10.0),
    "radiation_pt_index": (2.0, np.inf),
    **dict.fromkeys(("m4l_min", "m4l_max"), M4L_RANGE),
}
_OPEN_BELOW = frozenset({"lambda_rho", "jet_form_factor", "radiation_pt_min", "y_sigma", "radiation_pt_index"})


def _check_knobs(model: VBFModel | BackgroundModel) -> None:
    """Raise an ``InputError`` naming the first knob of ``model`` outside :data:`KNOB_RANGES` (or inconsistent)."""
    kind = type(model).__name__
    if isinstance(model, VBFModel) and model.kinematics not in KINEMATICS:
        raise InputError(f"VBFModel.kinematics must be one of {KINEMATICS}, got {model.kinematics!r}")
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
            raise InputError(
                f"{kind}.{name} must be {'four numbers (LL, LT, TL, TT)' if size > 1 else 'a number'}, got {value!r}"
            )
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
        raise InputError(
            f"VBFModel.channel_probs must have a positive sum (they are normalised), got {model.channel_probs!r}"
        )


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
        norm=0.10107,
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
