"""Mining gold: augmented training samples for likelihood-free inference (arXiv:1805.00020).

Every sample is drawn as MadMiner's ``SampleAugmenter`` does: for each parameter point, events are taken from the
source sample whose benchmark is closest to that point (``sample_only_from_closest_benchmark=True``) and resampled
*with replacement* with probability proportional to their weight at the point (exact reweighting from the weight
components ``w_S, w_I, w_B``, or the quartic kappa morphing through the five basis benchmarks). Each drawn event
carries the joint quantities of ``hepnb.offshell``:

* the joint log likelihood ratio ``log r(x, z | theta0, theta1)`` (:func:`hepnb.offshell.joint_log_ratio`),
* the joint score ``t(x, z | theta) = d/dkappa log p(z | kappa)`` (:func:`hepnb.offshell.joint_score`).

Parameters are ``theta = kappa`` with ``mu = kappa^4`` (the ch7 networks were parameterised in kappa: the score in
mu is singular at mu = 0). The MadMiner effective sample size ``sum w / max w`` of the source at each point is
reported, because resampling a source far from its benchmark repeats its few large-weight events.

This module gathers the samplers of three modules:

* :mod:`hepnb.lfi.mining`: the ch7 training points, :func:`observables_matrix`, :class:`Standardizer` and the
  resampling they share;
* :mod:`hepnb.lfi.ratio_samples`: :class:`RatioSample` and :func:`mine_ratio_sample` (the ratio estimators);
* :mod:`hepnb.lfi.score_samples`: :class:`LocalScoreSample`, :class:`DensitySample`, :func:`mine_local_sample`
  (SALLY / SALLINO) and :func:`mine_density_sample` (NDE / SCANDAL).
"""

from __future__ import annotations

from hepnb.lfi.mining import THESIS_KAPPAS, THESIS_MUS, Observables, Standardizer, observables_matrix
from hepnb.lfi.ratio_samples import RatioSample, mine_ratio_sample
from hepnb.lfi.score_samples import DensitySample, LocalScoreSample, mine_density_sample, mine_local_sample

__all__ = [
    "THESIS_MUS",
    "THESIS_KAPPAS",
    "Observables",
    "Standardizer",
    "RatioSample",
    "LocalScoreSample",
    "DensitySample",
    "observables_matrix",
    "mine_ratio_sample",
    "mine_local_sample",
    "mine_density_sample",
]
