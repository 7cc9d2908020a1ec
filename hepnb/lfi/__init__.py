"""Likelihood-free inference of the off-shell signal strength (Study 3, thesis chapter 7).

Mine augmented data from the simulator (:mod:`hepnb.lfi.augmented`), train MadMiner-style estimators with the exact
loss table (:mod:`hepnb.lfi.losses`, :mod:`hepnb.lfi.estimators`) and compare expected limits on Asimov data with
the exact oracle likelihood (:mod:`hepnb.lfi.inference`). :class:`GaussianToy` is the closure case with a known
answer. A complete run (minutes; shown, not run as a doctest)::

    from hepnb import offshell as osh, lfi
    train = osh.generate(200_000, seed=1, detector="none")
    sample = lfi.mine_ratio_sample(train, 200_000, seed=2, observables="thesis-ch7")
    alices = lfi.train_estimator(lfi.ParameterizedRatioEstimator(35, "alices"), sample, seed=3, max_epochs=30)
    test = osh.generate(200_000, seed=4, detector="none")
    scans = {"alices": lfi.ratio_scan(alices, test, mu_true=1.0), "oracle": lfi.oracle_scan(test, mu_true=1.0)}
    lfi.interval_table(scans).to_frame()
"""

from __future__ import annotations

from hepnb.lfi import losses
from hepnb.lfi.augmented import (
    THESIS_KAPPAS,
    THESIS_MUS,
    DensitySample,
    LocalScoreSample,
    RatioSample,
    Standardizer,
    mine_density_sample,
    mine_local_sample,
    mine_ratio_sample,
    observables_matrix,
)
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
from hepnb.lfi.inference import (
    IntervalRow,
    IntervalTable,
    LikelihoodScan,
    estimated_scores,
    helicity_summed,
    interval_table,
    oracle_scan,
    oracle_score,
    ratio_scan,
    sally_scan,
    scan_from_log_ratios,
)
from hepnb.lfi.toy import GaussianToy
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI

__all__ = [
    "losses", "THESIS_MUS", "THESIS_KAPPAS", "Standardizer", "RatioSample", "LocalScoreSample", "DensitySample",
    "observables_matrix", "mine_ratio_sample", "mine_local_sample", "mine_density_sample",
    "ParameterizedRatioEstimator", "DoublyParameterizedRatioEstimator", "ScoreEstimator", "DensityEstimator",
    "Ensemble", "EnsemblePrediction", "train_estimator", "train_ensemble", "THESIS_KAPPA_GRID", "THESIS_LUMI",
    "LikelihoodScan", "IntervalRow", "IntervalTable", "scan_from_log_ratios", "ratio_scan", "sally_scan",
    "oracle_scan", "oracle_score", "helicity_summed", "estimated_scores", "interval_table", "GaussianToy",
]
