"""Neural likelihood-ratio, score and density estimators (Lightning modules) and their training (thesis section 7.6).

Importing :mod:`hepnb.lfi.estimators` is light: each name below loads its module (and torch, Lightning) on first use.
Estimators take raw observables and raw kappa (the inputs are standardised inside the module), with ``theta = kappa``
(``mu = kappa^4``); defaults follow the thesis and MadMiner: tanh MLPs (SALLY 1x100, ALICES 1x300, ``alpha = 1``;
NDE/SCANDAL a conditional MAF of 5 MADEs of 1x100 built with zuko, SCANDAL's ``alpha`` on standardised theta as in
MadMiner, discrete observables dequantised, which MadMiner does not do), AMSGrad with the learning rate decaying from
1e-3 to 1e-4, batch 128, validation fraction 0.25 and early stopping with the best epoch's weights kept.

=======================================  ===================  ======================================================
name                                     module               what it is
=======================================  ===================  ======================================================
``ParameterizedRatioEstimator``          :mod:`~.ratio`       ``log r_hat(x | theta, SM)`` and its score by autograd
``DoublyParameterizedRatioEstimator``    :mod:`~.ratio`       ``log r_hat(x | theta0, theta1)``, antisymmetric
``ScoreEstimator``                       :mod:`~.score`       ``t_hat(x | theta_ref)`` (SALLY / SALLINO)
``DensityEstimator``                     :mod:`~.density`     ``log p_hat(x | theta)``, a masked autoregressive flow
``Estimator``                            :mod:`~.base`        their base class (standardisation, batched evaluation)
``Ensemble``, ``EnsemblePrediction``     :mod:`~.ensemble`    ``k`` estimators: mean and spread of the predictions
``train_estimator``                      :mod:`~.training`    train one estimator on an augmented sample
``train_ensemble``                       :mod:`~.training`    ``k`` estimators, each with its own seed
``member_seeds``                         :mod:`~.training`    those seeds: independent streams of the ensemble's seed
=======================================  ===================  ======================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.lfi.estimators.base import Estimator
    from hepnb.lfi.estimators.density import DensityEstimator
    from hepnb.lfi.estimators.ensemble import Ensemble, EnsemblePrediction
    from hepnb.lfi.estimators.ratio import DoublyParameterizedRatioEstimator, ParameterizedRatioEstimator
    from hepnb.lfi.estimators.score import ScoreEstimator
    from hepnb.lfi.estimators.training import member_seeds, train_ensemble, train_estimator

_EXPORTS = {
    "ParameterizedRatioEstimator": "ratio",
    "DoublyParameterizedRatioEstimator": "ratio",
    "ScoreEstimator": "score",
    "DensityEstimator": "density",
    "Estimator": "base",
    "Ensemble": "ensemble",
    "EnsemblePrediction": "ensemble",
    "train_estimator": "training",
    "train_ensemble": "training",
    "member_seeds": "training",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
