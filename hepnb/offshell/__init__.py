"""Off-shell H* -> ZZ -> 4l VBF/VBS interference simulator ("EVA-interference", this package's
toy of the processes of thesis chapters 6 and 7).

Physics in one line: the longitudinal VV -> ZZ gauge amplitude grows as s/v^2 and the Higgs exchange cancels it, so
per event ``w(z|mu) = mu w_S + sqrt(mu) w_I + w_B >= 0`` with ``mu = kappa^4``, destructive interference growing
with m4l (I/S -> -2 rho), a mu = 0 <-> mu* = (2<rho>(1 - mH^2/s))^2 ~ 3-4 degeneracy in m4l, broken by the jets
because the coherence rho falls with the tagging-jet virtuality. Backgrounds qqbar->ZZ and gg->ZZ do not interfere.

Quick start (minutes of simulation, so shown rather than run as a doctest)::

    from hepnb import offshell as osh
    vbf = osh.generate(200_000, seed=1)  # VBF SVI, ATLAS-like detector, ch6 preselection
    vbf.yields  # S, I, B (= V) in events at 36.1 fb^-1
    w4 = vbf.weight(4.0)  # per-event weights at mu = 4
    sm = osh.unweighted(1.0, 20_000, seed=2)  # unweighted SM events
    osh.effective_sample_size(sm, mu=9.0)  # N_eff collapse far from the SM
    h = osh.histogram_yields(vbf, "delta_eta_jj", (20, 0, 9), mus=[0, 1, 4])
    out = osh.run_processor(1_000_000, seed=1, mus=[0, 1, 4], observables={"m4l": (40, 220, 1020)})

Event format (the contract other studies read; :class:`Events` wraps one awkward record array)
------------------------------------------------------------------------------------------------
One record per selected event:

``event`` (int64)
    Index of the event in its generated sample (``chunk * chunk_size + i``); with ``process`` and the recorded seed
    it identifies the event.
``process`` (int8)
    0 = ``"vbf"`` (VBF + VBS, the full SVI sample), 1 = ``"qqzz"``, 2 = ``"ggzz"`` (:data:`PROCESSES`).
``w_S``, ``w_I``, ``w_B`` (float64)
    Weight components in expected events at the sample's luminosity: the event weight at signal strength mu is
    exactly ``mu*w_S + sqrt(mu)*w_I + w_B`` (:meth:`Events.weight`). For VBF, ``w_B`` is the VBS (V) part; for the
    backgrounds ``w_S = w_I = 0``. Non-negative for every mu, except with the optional background pathologies
    (``zero_weight_fraction``, ``negative_pocket``). Sums over events are yields: ``Events.yields``.
``z`` (record; latent, parton level, float64 unless noted)
    ``m4l`` (= sqrt(s-hat)), ``y_zz``, ``pt_zz``; tagging partons ``x_v1, x_v2`` (energy fraction carried by the
    emitted V), ``pt_q1, pt_q2, phi_q1, phi_q2``; coherence ``rho``; ``cos_theta_zz, phi_zz`` (Z1 in the ZZ rest
    frame w.r.t. the beam); ``cos_theta_z1, cos_theta_z2, phi_z1, phi_z2`` (negative lepton in each Z rest frame);
    ``m_z1, m_z2``; helicities ``channel`` (int8: 0 LL, 1 LT, 2 TL, 3 TT for the emitted V pair; -1 for qqZZ/ggZZ),
    ``hel_z1, hel_z2`` (int8: -1, 0, +1); ``leptons`` (4 per event in the order Z1 l-, Z1 l+, Z2 l-, Z2 l+, fields
    ``pt, eta, phi, e, pdg``); ``jets`` (variable length, pT-ordered truth jets: the two VBF tagging partons plus
    radiation, fields ``pt, eta, phi, parton`` with parton 1 = quark, 21 = gluon). For qqZZ/ggZZ the VBF-only
    fields (``x_v*``, ``pt_q*``, ``phi_q*``, ``rho``) are NaN.
``x`` (record; observables after the detector, float32, NaN for a missing object)
    See :data:`OBSERVABLES`: ``m4l, m12, m34, pt_4l, y_4l``, ZZ angles, ``{e,pt,eta,phi,charge,flavour}_l1..4``,
    ``{e,pt,eta,phi,width,track_width}_j1..2`` (1-based in pT: ``pt_j1`` is the leading jet), ``n_leptons,
    n_jets, n_photons``, ``mjj, delta_eta_jj, delta_phi_jj`` (signed), ``eta_zepp, pt_4ljj, min_dr_jz``,
    ``mela, hzz_dxs, ggzz_dxs``, ``et_miss, phi_miss, e_visible, eta_visible``. :func:`feature_matrix` gives
    the 15 ch6 (thesis names, 0-based jets) or the 35 ch7 (MadMiner names) columns with their defaults.

``Events.meta`` records ``seed``, ``n_generated``, ``kind`` (``"weighted"``/``"unweighted"`` with ``mu``) and the
full ``config`` (process, detector, preset, lumi, chunk_size, pathologies, model knobs); parquet files written by
:func:`write_parquet` carry it, and the same seed gives the same bytes.

Units: GeV, fb, fb^-1. Default luminosity 36.1 fb^-1; yields are calibrated to the ATLAS ch6 table
(:data:`hepnb.offshell.calibration.TARGETS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepnb.errors import InputError
from hepnb.offshell.calibration import TARGETS, YieldTable, measure_yields
from hepnb.offshell.detector import DETECTORS, PRESETS
from hepnb.offshell.events import (
    DEFAULT_CHUNK_SIZE,
    Events,
    GenerationConfig,
    as_config,
    build_events,
    build_unweighted,
    concatenate,
)
from hepnb.offshell.features import CH6_FEATURES, CH7_FEATURES, OBSERVABLES, feature_matrix
from hepnb.offshell.generator import CHANNELS, DEFAULT_MODELS, PROCESSES, BackgroundModel, VBFModel
from hepnb.offshell.histograms import histogram_yields
from hepnb.offshell.io import read_parquet, write_parquet
from hepnb.offshell.morphing import (
    BASIS_KAPPAS,
    BENCHMARK_KAPPAS,
    VALIDATION_KAPPA,
    EffectiveSampleSize,
    benchmark_weights,
    degenerate_partner,
    effective_sample_size,
    joint_log_ratio,
    joint_score,
    morph,
    morphing_coefficients,
    morphing_matrix,
    oracle_components,
    oracle_log_likelihood,
    oracle_log_ratio,
    unweight,
)
from hepnb.offshell.processor import OffshellProcessor, run_processor
from hepnb.stats.constants import THESIS_LUMI

__all__ = [
    "generate", "unweighted", "Events", "GenerationConfig", "concatenate", "PROCESSES", "CHANNELS", "DETECTORS",
    "PRESETS", "OBSERVABLES", "CH6_FEATURES", "CH7_FEATURES", "feature_matrix", "VBFModel", "BackgroundModel",
    "DEFAULT_MODELS", "histogram_yields", "read_parquet", "write_parquet", "BENCHMARK_KAPPAS", "BASIS_KAPPAS",
    "VALIDATION_KAPPA", "benchmark_weights", "morphing_matrix", "morphing_coefficients", "morph", "joint_log_ratio",
    "joint_score", "EffectiveSampleSize", "effective_sample_size", "unweight", "degenerate_partner",
    "oracle_components", "oracle_log_likelihood", "oracle_log_ratio", "OffshellProcessor", "run_processor",
    "TARGETS", "YieldTable", "measure_yields",
]


def generate(
    n: int,
    seed: int,
    process: str = "vbf",
    detector: str = "atlas",
    preset: str | None = "thesis-ch6",
    lumi: float = THESIS_LUMI,
    *,
    chunk_size: int = 50_000,
    zero_weight_fraction: float = 0.0,
    negative_pocket: tuple[float, float] | None = None,
    model: Mapping[str, Any] | VBFModel | BackgroundModel | None = None,
    progress: bool | None = None,
) -> Events:
    """Generate ``n`` weighted events and return those passing ``preset``.

    Parameters
    ----------
    n
        Events to generate before the selection (the returned sample is smaller).
    seed
        Master seed; chunk ``c`` uses ``SeedSequence([seed, process, c])``, so the same seed gives the same bytes.
    process
        ``"vbf"`` (VBF + VBS with interference), ``"qqzz"`` or ``"ggzz"``.
    detector
        ``"atlas"``, ``"delphes"`` or ``"none"`` (truth objects; enables the oracle likelihood).
    preset
        ``"thesis-ch6"``, ``"thesis-ch7"``, ``"4l"`` or ``None`` (see :data:`PRESETS`).
    lumi
        Integrated luminosity in fb^-1; weights are expected events.
    chunk_size
        Events per seeded chunk (part of the sample's identity: change it and the events change).
    zero_weight_fraction
        Backgrounds only: fraction of events given weight exactly 0 (others scaled up; ch6 qqZZ had 0.33).
    negative_pocket
        Backgrounds only: ``(min leading truth-jet pT, min |Delta eta|)`` of a pocket whose weights are negative.
    model
        Model knobs: a :class:`VBFModel`/:class:`BackgroundModel` or a dict of overrides of the calibrated default.
    progress
        Show a tqdm bar (default: when there are more than two chunks).
    """
    config = as_config(process, detector, preset, lumi, chunk_size, zero_weight_fraction, negative_pocket, model)
    return build_events(config, n, seed, progress)


def unweighted(mu: float, n: int, seed: int, *, source: Events | None = None, process: str = "vbf",
               detector: str = "atlas", preset: str | None = "thesis-ch6", lumi: float = THESIS_LUMI,
               max_generated: int = 20_000_000, progress: bool | None = None) -> Events:
    """``n`` unweighted events distributed as ``p(x, z | mu)``.

    From ``source`` if given (accept-reject on its weights, :func:`hepnb.offshell.morphing.unweight`). Otherwise
    weighted events are generated with ``seed`` chunk by chunk (the chunks of :func:`generate`) and accept-rejected
    as they come, keeping only the accepted events, so the memory stays that of one chunk plus the result
    (:func:`hepnb.offshell.events.build_unweighted`); an ``InputError`` says how many events would be needed when
    ``max_generated`` generated events (counted before the selection) do not give ``n``. The returned events weigh
    ``sigma(mu) / n`` each at ``mu`` and still reweight to any other mu.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InputError(f"n must be a positive number of unweighted events, got {n!r}")
    if source is not None:
        return unweight(source, mu, n, seed)
    config = as_config(process, detector, preset, lumi, DEFAULT_CHUNK_SIZE, 0.0, None, None)
    return build_unweighted(config, mu, int(n), seed, max_generated, progress)
