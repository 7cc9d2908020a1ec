"""Off-shell H* -> ZZ -> 4l VBF/VBS interference simulator ("EVA-interference", this package's
toy of the processes of thesis chapters 6 and 7).

Physics in one line: the longitudinal VV -> ZZ gauge amplitude grows as s/v^2 and the Higgs exchange cancels it, so
per event ``w(z|mu) = mu w_S + sqrt(mu) w_I + w_B >= 0`` with ``mu = kappa^4``, destructive interference growing
with m4l (I/S -> -2 rho), a mu = 0 <-> mu* = (2<rho>(1 - mH^2/s))^2 ~ 3-4 degeneracy in m4l, broken by the jets
because the coherence rho falls with the tagging-jet virtuality. Backgrounds qqbar->ZZ and gg->ZZ do not interfere.

Where things are
----------------
Importing :mod:`hepnb.offshell` is light: each name below loads its module (numpy, awkward, coffea, ...) on first
use. Every submodule is also an attribute (``osh.strategies``, the ch6 classifier strategies; ``osh.plots``, the
figures; ``osh.degeneracy``, the mu = 0 <-> mu* tables; ``osh.generator``, whose model, weights and sampling live
in ``models``, ``amplitudes``, ``phasespace`` and ``tagging``, the exact VBF kinematics; ``osh.kinematics``,
four-vectors through scikit-hep ``vector``).

=====================================================  ====================  =======================================
name                                                   module                what it is
=====================================================  ====================  =======================================
``generate``, ``unweighted``                           :mod:`~.simulation`   weighted / unweighted ``Events``
``Events``, ``GenerationConfig``, ``concatenate``      :mod:`~.events`       sample container, its config, joining
``build_events``, ``build_unweighted``, ``as_config``  :mod:`~.events`       the chunked, seeded generation
``DEFAULT_CHUNK_SIZE``                                 :mod:`~.events`       events per seeded chunk (50 000)
``PROCESSES``, ``CHANNELS``                            :mod:`~.models`       process ids, helicity channels
``VBFModel``, ``BackgroundModel``, ``DEFAULT_MODELS``  :mod:`~.models`       model knobs, calibrated presets
``DETECTORS``, ``PRESETS``                             :mod:`~.detector`     detector flavours, selections
``OBSERVABLES``, ``feature_matrix``                    :mod:`~.features`     fields of ``x``, design matrices
``CH6_FEATURES``, ``CH7_FEATURES``                     :mod:`~.features`     the 15 ch6 / 35 ch7 features
``histogram_yields``                                   :mod:`~.histograms`   mu templates (``hist``, Weight storage)
``read_parquet``, ``write_parquet``                    :mod:`~.io`           parquet files with seed and config
``BENCHMARK_KAPPAS``, ``BASIS_KAPPAS``                 :mod:`~.morphing`     the ch7 benchmarks, morphing basis
``VALIDATION_KAPPA``                                   :mod:`~.morphing`     the held-out benchmark (1.35)
``benchmark_weights``, ``morphing_matrix``             :mod:`~.morphing`     weights at the benchmarks
``morphing_coefficients``, ``morph``                   :mod:`~.morphing`     quartic kappa morphing
``joint_log_ratio``, ``joint_score``                   :mod:`~.morphing`     joint ``log r(x, z)``, ``t(x, z)``
``effective_sample_size``, ``EffectiveSampleSize``     :mod:`~.morphing`     N_eff (MadMiner, Kish)
``unweight``, ``degenerate_partner``                   :mod:`~.morphing`     accept-reject at mu; mu* of mu = 0
``oracle_components``, ``oracle_log_likelihood``       :mod:`~.morphing`     exact densities (no detector)
``oracle_log_ratio``                                   :mod:`~.morphing`     exact ``log r(x | mu0, mu1)``
``OffshellProcessor``, ``run_processor``               :mod:`~.processor`    coffea scale-out (dask)
``TARGETS``, ``YieldTable``, ``measure_yields``        :mod:`~.calibration`  ATLAS ch6 yields, the toy's table
``THESIS_LUMI``                                        :mod:`~.simulation`   36.1 fb^-1 of ``hepnb.stats.constants``
=====================================================  ====================  =======================================

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
    ``m4l`` (= sqrt(s-hat) = the mass of V1 + V2), ``y_zz`` (exact kinematics: in the partonic frame, before the recoil
    against the radiation), ``pt_zz`` (after it); tagging partons ``x_v1, x_v2`` (the emitted V's light-cone fraction of
    its quark; its energy fraction with ``VBFModel.collinear()``), ``pt_q1, pt_q2, phi_q1, phi_q2`` (in the partonic
    frame, before the hard system recoils against the radiation); coherence ``rho``; ``cos_theta_zz, phi_zz`` (Z1 in the
    ZZ rest frame w.r.t. the emitted V1; w.r.t. the beam with the collinear kinematics and for qqZZ/ggZZ);
    ``cos_theta_z1, cos_theta_z2, phi_z1, phi_z2`` (negative lepton in each Z rest frame); ``m_z1, m_z2``; the
    production channel ``channel`` (int8: 0 LL, 1 LT, 2 TL, 3 TT for the polarisations of the emitted V pair; -1 for
    qqZZ/ggZZ; the Z helicities are summed coherently in the weights); ``leptons`` (4 per event in the order Z1 l-, Z1
    l+, Z2 l-, Z2 l+, fields ``pt, eta, phi, e, pdg``); ``jets`` (variable length, pT-ordered truth jets: the two VBF
    tagging partons plus radiation, fields ``pt, eta, phi, parton`` with parton 1 = quark, 21 = gluon). For qqZZ/ggZZ
    the VBF-only fields (``x_v*``, ``pt_q*``, ``phi_q*``, ``rho``) are NaN.
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

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.offshell import (
        amplitudes,
        calibration,
        degeneracy,
        detector,
        events,
        features,
        generator,
        histograms,
        io,
        kinematics,
        models,
        morphing,
        phasespace,
        plots,
        processor,
        simulation,
        strategies,
        tagging,
    )
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
    from hepnb.offshell.histograms import histogram_yields
    from hepnb.offshell.io import read_parquet, write_parquet
    from hepnb.offshell.models import CHANNELS, DEFAULT_MODELS, PROCESSES, BackgroundModel, VBFModel
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
    from hepnb.offshell.simulation import THESIS_LUMI, generate, unweighted

_EXPORTS = {
    "generate": "simulation",
    "unweighted": "simulation",
    "THESIS_LUMI": "simulation",
    "Events": "events",
    "GenerationConfig": "events",
    "concatenate": "events",
    "build_events": "events",
    "build_unweighted": "events",
    "as_config": "events",
    "DEFAULT_CHUNK_SIZE": "events",
    "PROCESSES": "models",
    "CHANNELS": "models",
    "VBFModel": "models",
    "BackgroundModel": "models",
    "DEFAULT_MODELS": "models",
    "DETECTORS": "detector",
    "PRESETS": "detector",
    "OBSERVABLES": "features",
    "CH6_FEATURES": "features",
    "CH7_FEATURES": "features",
    "feature_matrix": "features",
    "histogram_yields": "histograms",
    "read_parquet": "io",
    "write_parquet": "io",
    "BENCHMARK_KAPPAS": "morphing",
    "BASIS_KAPPAS": "morphing",
    "VALIDATION_KAPPA": "morphing",
    "benchmark_weights": "morphing",
    "morphing_matrix": "morphing",
    "morphing_coefficients": "morphing",
    "morph": "morphing",
    "joint_log_ratio": "morphing",
    "joint_score": "morphing",
    "EffectiveSampleSize": "morphing",
    "effective_sample_size": "morphing",
    "unweight": "morphing",
    "degenerate_partner": "morphing",
    "oracle_components": "morphing",
    "oracle_log_likelihood": "morphing",
    "oracle_log_ratio": "morphing",
    "OffshellProcessor": "processor",
    "run_processor": "processor",
    "TARGETS": "calibration",
    "YieldTable": "calibration",
    "measure_yields": "calibration",
    "amplitudes": "amplitudes",
    "calibration": "calibration",
    "degeneracy": "degeneracy",
    "detector": "detector",
    "events": "events",
    "features": "features",
    "generator": "generator",
    "histograms": "histograms",
    "io": "io",
    "kinematics": "kinematics",
    "models": "models",
    "morphing": "morphing",
    "phasespace": "phasespace",
    "plots": "plots",
    "processor": "processor",
    "simulation": "simulation",
    "strategies": "strategies",
    "tagging": "tagging",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
