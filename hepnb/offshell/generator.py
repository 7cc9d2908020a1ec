"""Parton-level EVA-interference generator: VBF/VBS -> ZZ -> 4l amplitudes, kinematics and weights (this package's toy).

Every event is drawn from a known proposal ``q(z)`` and carries the three weight components ``dsigma_k(z) / q(z)``
for ``k = S, I, B``, so that ``dsigma(z|mu) = mu dsigma_S + sqrt(mu) dsigma_I + dsigma_B`` exactly. The generator is
split by concern; this module gathers its public names:

======================================================  ===================  =====================================
name                                                    module               what it is
======================================================  ===================  =====================================
``SQRT_S``, ``M_H``, ``GAMMA_H``, ``M_Z``, ``GAMMA_Z``  :mod:`~.models`      constants (GeV)
``M_W``, ``VEV``, ``PT_JET_MIN``, ``A_LEPTON``          :mod:`~.models`      constants (GeV; Z -> ll asymmetry)
``MZ_RANGE``, ``M4L_RANGE``                             :mod:`~.models`      generated Z-mass, allowed m4l windows
``CHANNELS``, ``PROCESSES``                             :mod:`~.models`      helicity channels, process ids
``VBFModel``, ``BackgroundModel``, ``KNOB_RANGES``      :mod:`~.models`      the model knobs and their ranges
``DEFAULT_MODELS``                                      :mod:`~.models`      the calibrated presets
``vbf_components``, ``vbf_log_proposal``                :mod:`~.amplitudes`  ``dsigma_S, I, B`` and ``log q``
``vbf_helicity_sums``                                   :mod:`~.amplitudes`  both summed over the helicities
``generate_truth``                                      :mod:`~.phasespace`  ``n`` parton-level events
======================================================  ===================  =====================================

>>> from hepnb.offshell.generator import CHANNELS, DEFAULT_MODELS
>>> CHANNELS, DEFAULT_MODELS["qqzz"].angular
(('LL', 'LT', 'TL', 'TT'), 't-channel')
"""

from __future__ import annotations

from hepnb.offshell.amplitudes import vbf_components, vbf_helicity_sums, vbf_log_proposal
from hepnb.offshell.models import (
    A_LEPTON,
    CHANNELS,
    DEFAULT_MODELS,
    GAMMA_H,
    GAMMA_Z,
    KNOB_RANGES,
    M4L_RANGE,
    M_H,
    M_W,
    M_Z,
    MZ_RANGE,
    PROCESSES,
    PT_JET_MIN,
    SQRT_S,
    VEV,
    BackgroundModel,
    VBFModel,
)
from hepnb.offshell.phasespace import generate_truth

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
    "PROCESSES",
    "KNOB_RANGES",
    "VBFModel",
    "BackgroundModel",
    "DEFAULT_MODELS",
    "generate_truth",
    "vbf_components",
    "vbf_log_proposal",
    "vbf_helicity_sums",
]
