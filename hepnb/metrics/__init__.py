"""Physics metrics for the studies: sensitivity to a signal strength and feature importance.

Import the submodules directly; this package imports none of them, so each stays light:

- :mod:`hepnb.metrics.sensitivity`: Z = s/sqrt(b), s/sqrt(s+b), the Asimov Z', the interference significances
  iZ and iZ' (``N(mu) = mu S + sqrt(mu) I + B``), sigma_mu and Fisher information at any mu (per bin and
  shape-only), their MC statistical errors, the Asimov q(mu_test; mu_true) scan with interval read-off, effective
  sample sizes, a negative-weight-safe weighted AUC and the best-threshold significance scan of a classifier score.
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

Formulas and their sources: ``../shared/specs/offshell_interference_lfi_aspiration.md`` sections 2, 3 and 8.
"""
