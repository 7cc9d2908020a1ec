"""Physics metrics for the studies: sensitivity to a signal strength, sample quality and feature importance.

Import the submodules directly; this package imports none of them, so each stays light. The likelihood side
(expected yields, Fisher information, Asimov scans, intervals, CLs) is :mod:`hepnb.stats`.

- :mod:`hepnb.metrics.counting`: Z = s/sqrt(b), s/sqrt(s+b), the Asimov Z', the interference significances
  iZ and iZ' (``N(mu) = mu S + sqrt(mu) I + B``), their MC statistical errors.
- :mod:`hepnb.metrics.thresholds`: yields of weighted events with MC errors and the best-threshold significance
  scan of a classifier score.
- :mod:`hepnb.metrics.weighted`: effective sample sizes and a negative-weight-safe weighted AUC.
- :mod:`hepnb.metrics.importance`: permutation importance of the input features of any model, with event weights
  and any metric ``metric(y, score, weights) -> float``.
- :mod:`hepnb.metrics.decorrelation`: how a score depends on a protected variable (the mass): profiles, the score
  cut at fixed signal efficiency per mass bin and its flatness, R50 and 1/JSD50 (:mod:`hepnb.metrics.sculpting`),
  Z at a cut and permutation importance side by side; :mod:`hepnb.metrics.distance_correlation`: the weighted
  distance correlation, exact in O(N log^2 N).
- :mod:`hepnb.metrics.generative`: how close a generated sample is to a reference one: the classifier two-sample
  test on flat features and the 1-D Wasserstein-1 distance, with errors.
- :mod:`hepnb.metrics.jetnet`: JetNet's metrics for particle-cloud generators (W1M, W1P, W1EFP, FPD, KPD, COV and
  MMD with the energy mover's distance, a Deep Sets classifier AUC) and the real-vs-real baseline; built on
  :mod:`~hepnb.metrics.particle_clouds` (input checks, masks, jet mass), :mod:`~hepnb.metrics.efp` (energy-flow
  polynomials with d <= 4), :mod:`~hepnb.metrics.physics_distances` (FPD, KPD on any features) and
  :mod:`~hepnb.metrics.particle_classifier`.

Sources: A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, sections 4.9, 4.10 and 6.6;
Kansal et al., arXiv:2106.11535 and arXiv:2211.10295 (JetNet's metrics).
"""
