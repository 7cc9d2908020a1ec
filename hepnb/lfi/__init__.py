"""Likelihood-free inference of the off-shell signal strength (Study 3, thesis chapter 7).

Mine augmented data from the simulator (:mod:`~.augmented`), train MadMiner-style estimators with the exact loss
table (:mod:`~.losses`, :mod:`~.estimators`) and compare expected limits on Asimov data (:mod:`~.inference`) with
the exact oracle likelihood (:mod:`~.oracle`). :class:`GaussianToy` is the closure case with a known answer.
:mod:`~.augmented` gathers the samplers of :mod:`~.mining`, :mod:`~.ratio_samples` and :mod:`~.score_samples`;
:mod:`~.study` gathers notebook 03's :mod:`~.methods`, :mod:`~.scans` and :mod:`~.tables`. Importing :mod:`hepnb.lfi`
is light: each name below loads its module (and torch, Lightning, the simulator) on first use.

=========================================  ========================  ================================================
name                                       module                    what it is
=========================================  ========================  ================================================
``THESIS_MUS``, ``THESIS_KAPPAS``          :mod:`~.mining`           the ch7 numerator points in mu and in kappa
``Standardizer``                           :mod:`~.mining`           the input standardisation of a sample
``RatioSample``                            :mod:`~.ratio_samples`    ``(x, theta0, theta1, y, r(x,z), t(x,z))`` rows
``LocalScoreSample``, ``DensitySample``    :mod:`~.score_samples`    ``(x, t(x,z))`` at a reference; ``(x, theta)``
``observables_matrix``                     :mod:`~.mining`           the observables of events as an ``(n, d)`` array
``mine_ratio_sample``                      :mod:`~.ratio_samples`    augmented data for the ratio estimators
``mine_local_sample``                      :mod:`~.score_samples`    augmented data for SALLY / SALLINO
``mine_density_sample``                    :mod:`~.score_samples`    augmented data for NDE / SCANDAL
``ParameterizedRatioEstimator``            :mod:`~.estimators`       ``log r_hat(x | theta, SM)`` (CARL ... ALICES)
``DoublyParameterizedRatioEstimator``      :mod:`~.estimators`       ``log r_hat(x | theta0, theta1)``, antisymmetric
``ScoreEstimator``, ``DensityEstimator``   :mod:`~.estimators`       ``t_hat(x | SM)``; ``log p_hat(x | theta)`` (MAF)
``Ensemble``, ``EnsemblePrediction``       :mod:`~.estimators`       ``k`` estimators: mean and spread
``train_estimator``, ``train_ensemble``    :mod:`~.estimators`       training on an augmented sample (Lightning)
``LikelihoodScan``                         :mod:`~.inference`        an Asimov likelihood scan in kappa and mu
``IntervalRow``, ``IntervalTable``         :mod:`~.inference`        68% / 95% intervals of several scans
``interval_table``                         :mod:`~.inference`        the table of scans relative to a reference
``scan_from_log_ratios``                   :mod:`~.inference`        a scan from ``log r`` per event and grid point
``ratio_scan``, ``sally_scan``             :mod:`~.inference`        scans of a ratio / score estimator
``estimated_scores``                       :mod:`~.inference`        ``t_hat`` per event of a score estimator
``oracle_scan``, ``oracle_score``          :mod:`~.oracle`           the exact likelihood and score (no detector)
``oracle_log_density``                     :mod:`~.oracle`           the exact ``log p(u | kappa)`` on a grid
``helicity_summed``                        :mod:`~.oracle`           events with helicity-summed weights
``THESIS_KAPPA_GRID``, ``THESIS_LUMI``     :mod:`~.inference`        the scans' grid (51 kappa in [0, 2]), 36.1 fb^-1
``ideal_classifier_limits``                :mod:`~.sufficiency`      limits of the ideal S-vs-B classifier / oracle's
``statistic_limits``                       :mod:`~.sufficiency`      limits of a binned 1-D statistic / unbinned
``GaussianToy``                            :mod:`~.toy`              the 1-D toy with exact ratio and score
``limit_table``, ``method_limits``         :mod:`~.limits`           CLs limits, bands, intervals, q(0) per method
``event_coverage``, ``oracle_log_r_grid``  :mod:`~.limits`           coverage toys from events; the oracle's log r
``ratio_sample_from_arrays``               :mod:`~.generic`          a ``RatioSample`` from any simulator's arrays
``log_ratio_grid``                         :mod:`~.generic`          ``log r_hat(x_i | theta_j)`` on a grid
``likelihood_scan``, ``GenericScan``       :mod:`~.generic`          a scan in any parameter from ``log r`` per event
``generic_upper_limit``                    :mod:`~.generic_limits`   the CLs limit on theta above a null ``theta_0``
``generic_limit_table``                    :mod:`~.generic_limits`   ``limit_table`` for scans in any parameter
``losses``                                 :mod:`~.losses`           MadMiner's loss functions (torch)
``study``                                  :mod:`~.study`            notebook 03's samples, trainings, scans, tables
``baselines``                              :mod:`~.baselines`        the chapter-6 S-vs-B classifiers as template fits
``limits``, ``generic``, ``oracle``        :mod:`~.limits`, ...      the modules above, for notebook imports
``plots``                                  :mod:`~.plots`            notebook 03's figures and its scan explorer
=========================================  ========================  ================================================

A complete run (minutes; shown, not run as a doctest)::

    from hepnb import offshell as osh, lfi
    train = osh.generate(200_000, seed=1, detector="none")
    sample = lfi.mine_ratio_sample(train, 200_000, seed=2, observables="thesis-ch7")
    alices = lfi.train_estimator(lfi.ParameterizedRatioEstimator(35, "alices"), sample, seed=3, max_epochs=30)
    test = osh.generate(200_000, seed=4, detector="none")
    scans = {"alices": lfi.ratio_scan(alices, test, mu_true=1.0), "oracle": lfi.oracle_scan(test, mu_true=1.0)}
    lfi.interval_table(scans).to_frame()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.lfi import baselines, generic, limits, losses, oracle, plots, study
    from hepnb.lfi.estimators import (
        DensityEstimator,
        DoublyParameterizedRatioEstimator,
        Ensemble,
        EnsemblePrediction,
        ParameterizedRatioEstimator,
        ScoreEstimator,
        train_ensemble,
        train_estimator,
    )
    from hepnb.lfi.generic import GenericScan, likelihood_scan, log_ratio_grid, ratio_sample_from_arrays
    from hepnb.lfi.generic_limits import generic_limit_table, generic_upper_limit
    from hepnb.lfi.inference import (
        IntervalRow,
        IntervalTable,
        LikelihoodScan,
        estimated_scores,
        interval_table,
        ratio_scan,
        sally_scan,
        scan_from_log_ratios,
    )
    from hepnb.lfi.limits import event_coverage, limit_table, method_limits, oracle_log_r_grid
    from hepnb.lfi.mining import THESIS_KAPPAS, THESIS_MUS, Standardizer, observables_matrix
    from hepnb.lfi.oracle import helicity_summed, oracle_log_density, oracle_scan, oracle_score
    from hepnb.lfi.ratio_samples import RatioSample, mine_ratio_sample
    from hepnb.lfi.score_samples import DensitySample, LocalScoreSample, mine_density_sample, mine_local_sample
    from hepnb.lfi.sufficiency import ideal_classifier_limits, statistic_limits
    from hepnb.lfi.toy import GaussianToy
    from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI

_EXPORTS = {
    "THESIS_MUS": "mining",
    "THESIS_KAPPAS": "mining",
    "Standardizer": "mining",
    "RatioSample": "ratio_samples",
    "LocalScoreSample": "score_samples",
    "DensitySample": "score_samples",
    "observables_matrix": "mining",
    "mine_ratio_sample": "ratio_samples",
    "mine_local_sample": "score_samples",
    "mine_density_sample": "score_samples",
    "ParameterizedRatioEstimator": "estimators",
    "DoublyParameterizedRatioEstimator": "estimators",
    "ScoreEstimator": "estimators",
    "DensityEstimator": "estimators",
    "Ensemble": "estimators",
    "EnsemblePrediction": "estimators",
    "train_estimator": "estimators",
    "train_ensemble": "estimators",
    "LikelihoodScan": "inference",
    "IntervalRow": "inference",
    "IntervalTable": "inference",
    "interval_table": "inference",
    "scan_from_log_ratios": "inference",
    "ratio_scan": "inference",
    "sally_scan": "inference",
    "estimated_scores": "inference",
    "oracle_scan": "oracle",
    "oracle_score": "oracle",
    "oracle_log_density": "oracle",
    "helicity_summed": "oracle",
    "THESIS_KAPPA_GRID": "inference",
    "THESIS_LUMI": "inference",
    "ideal_classifier_limits": "sufficiency",
    "statistic_limits": "sufficiency",
    "GaussianToy": "toy",
    "limit_table": "limits",
    "method_limits": "limits",
    "event_coverage": "limits",
    "oracle_log_r_grid": "limits",
    "ratio_sample_from_arrays": "generic",
    "log_ratio_grid": "generic",
    "likelihood_scan": "generic",
    "GenericScan": "generic",
    "generic_upper_limit": "generic_limits",
    "generic_limit_table": "generic_limits",
    "losses": "losses",
    "study": "study",
    "baselines": "baselines",
    "limits": "limits",
    "oracle": "oracle",
    "generic": "generic",
    "plots": "plots",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
