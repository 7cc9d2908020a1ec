"""Physics metrics for the studies: sensitivity to a signal strength, sample quality and feature importance.

Importing :mod:`hepnb.metrics` is light: each name below loads its module on first use (scikit-learn and torch
only for the classifier tests). The likelihood side (expected yields, Fisher information, Asimov scans, intervals,
CLs) is :mod:`hepnb.stats`.

==============================================  =============================  =========================================
name                                            module                         what it is
==============================================  =============================  =========================================
``s_over_sqrt_b``, ``s_over_sqrt_s_plus_b``     :mod:`~.counting`              Z = s/sqrt(b), s/sqrt(s+b)
``asimov_z``                                    :mod:`~.counting`              the Asimov Z' (signed)
``iz``, ``iz_asymptotic``, ``iz_from_samples``  :mod:`~.counting`              the interference significances iZ, iZ'
``iz_error``, ``significance_with_error``       :mod:`~.counting`              their MC statistical errors
``Yield``, ``Significance``                     :mod:`~.counting`              ``sum w`` with ``sqrt(sum w^2)``; a
                                                                               metric with its MC error
``COUNTING_METRICS``                            :mod:`~.counting`              metric name -> the yields it needs
``best_threshold_significance``                 :mod:`~.thresholds`            the best-threshold significance scan
``ThresholdScan``, ``yields_from_events``       :mod:`~.thresholds`            its result; yields with MC errors
``best_significance_metric``                    :mod:`~.thresholds`            that scan as a metric for importance
``effective_sample_size``, ``event_weights``    :mod:`~.weighted`              Kish / max-weight N_eff; checked weights
``weighted_auc``                                :mod:`~.weighted`              the negative-weight-safe weighted AUC
``permutation_importance``                      :mod:`~.importance`            importance of the inputs of any model
``PermutationImportance``                       :mod:`~.importance`            its result
``as_score_function``                           :mod:`~.importance`            a model (or callable) as ``X -> score``
``background_rejection``, ``Rejection``         :mod:`~.sculpting`             R50 = 1/eps_B at 50 % signal efficiency
``background_jsd``, ``SculptingJSD``            :mod:`~.sculpting`             JSD50 (1/JSD) of the background's mass
``jensen_shannon``                              :mod:`~.sculpting`             the JSD of two histograms
``score_profile``, ``ScoreProfile``             :mod:`~.decorrelation`         mean score per bin of the mass
``efficiency_thresholds``                       :mod:`~.decorrelation`         the cut at fixed efficiency per mass bin
``EfficiencyThresholds``, ``Flatness``          :mod:`~.decorrelation`         those cuts; how flat they are
``quantile_edges``                              :mod:`~.decorrelation`         equal-population bin edges
``significance_at_threshold``                   :mod:`~.decorrelation`         Z at one score cut (thesis 8.1.4)
``compare_importance``                          :mod:`~.decorrelation`         permutation importance of several models
``DistanceCorrelation``                         :mod:`~.distance_correlation`  the weighted dCorr^2 with its error, as
                                                                               returned by the module's own
                                                                               ``distance_correlation()``
``gaussian_distance_correlation``               :mod:`~.distance_correlation`  dCorr^2 of a bivariate normal
``classifier_two_sample_test``, ``C2STResult``  :mod:`~.generative`            the classifier two-sample test (AUC)
``wasserstein_1d``, ``WassersteinResult``       :mod:`~.generative`            1-D W1 with a bootstrap error
``auc_standard_error``, ``CLASSIFIERS``         :mod:`~.generative`            the AUC's error; the test's classifiers
``w1m``, ``w1p``, ``w1efp``                     :mod:`~.jetnet`                JetNet's W1 of mass, particles, EFPs
``cov_mmd``, ``energy_movers_distance``         :mod:`~.jetnet`                COV and MMD with the EMD
``fpd_kpd_features``, ``real_baseline``         :mod:`~.jetnet`                FPD/KPD inputs (36 EFPs); real-vs-real
                                                                               floor
``JetMetricResult``                             :mod:`~.jetnet`                a JetNet metric with its error
``fpd``, ``kpd``, ``FPDResult``, ``KPDResult``  :mod:`~.physics_distances`     Frechet / kernel physics distances
``frechet_distance``, ``SmallSampleWarning``    :mod:`~.physics_distances`     of two Gaussians; too few jets
``fpd_at_n``                                    :mod:`~.physics_distances`     FPD at the samples' size (no 1/N fit)
``energy_flow_polynomials``, ``Multigraph``     :mod:`~.efp`                   EFPs with d <= 4, their graphs
``efp_graphs``, ``w1efp_graphs``                :mod:`~.efp`                   all graphs; the five JetNet uses
``particle_cloud``, ``ParticleCloud``           :mod:`~.particle_clouds`       checked ``[N, n, 3 or 4]`` clouds, masks
``jet_mass``, ``angular_distances``             :mod:`~.particle_clouds`       the jet mass; pairwise Delta R
``particle_classifier_test``                    :mod:`~.particle_classifier`   the Deep Sets classifier AUC
==============================================  =============================  =========================================

The submodules are exported too (``metrics.counting``, ``metrics.thresholds``, ...):

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

>>> from hepnb import metrics
>>> metrics.weighted_auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])
0.75
>>> round(metrics.asimov_z(5.0, 10.0), 3)
1.471

Sources: A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, sections 4.9, 4.10 and 6.6;
Kansal et al., arXiv:2106.11535 and arXiv:2211.10295 (JetNet's metrics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.metrics import (
        counting,
        decorrelation,
        distance_correlation,
        efp,
        generative,
        importance,
        jetnet,
        particle_classifier,
        particle_clouds,
        physics_distances,
        sculpting,
        thresholds,
        weighted,
    )
    from hepnb.metrics.counting import (
        COUNTING_METRICS,
        Significance,
        Yield,
        asimov_z,
        iz,
        iz_asymptotic,
        iz_error,
        iz_from_samples,
        s_over_sqrt_b,
        s_over_sqrt_s_plus_b,
        significance_with_error,
    )
    from hepnb.metrics.decorrelation import (
        EfficiencyThresholds,
        Flatness,
        ScoreProfile,
        compare_importance,
        efficiency_thresholds,
        quantile_edges,
        score_profile,
        significance_at_threshold,
    )
    from hepnb.metrics.distance_correlation import DistanceCorrelation, gaussian_distance_correlation
    from hepnb.metrics.efp import Multigraph, efp_graphs, energy_flow_polynomials, w1efp_graphs
    from hepnb.metrics.generative import (
        CLASSIFIERS,
        C2STResult,
        WassersteinResult,
        auc_standard_error,
        classifier_two_sample_test,
        wasserstein_1d,
    )
    from hepnb.metrics.importance import PermutationImportance, as_score_function, permutation_importance
    from hepnb.metrics.jetnet import (
        JetMetricResult,
        cov_mmd,
        energy_movers_distance,
        fpd_kpd_features,
        real_baseline,
        w1efp,
        w1m,
        w1p,
    )
    from hepnb.metrics.particle_classifier import particle_classifier_test
    from hepnb.metrics.particle_clouds import ParticleCloud, angular_distances, jet_mass, particle_cloud
    from hepnb.metrics.physics_distances import (
        FPDResult,
        KPDResult,
        SmallSampleWarning,
        fpd,
        fpd_at_n,
        frechet_distance,
        kpd,
    )
    from hepnb.metrics.sculpting import Rejection, SculptingJSD, background_jsd, background_rejection, jensen_shannon
    from hepnb.metrics.thresholds import (
        ThresholdScan,
        best_significance_metric,
        best_threshold_significance,
        yields_from_events,
    )
    from hepnb.metrics.weighted import effective_sample_size, event_weights, weighted_auc

_EXPORTS = {
    "counting": "counting",
    "thresholds": "thresholds",
    "weighted": "weighted",
    "importance": "importance",
    "sculpting": "sculpting",
    "decorrelation": "decorrelation",
    "distance_correlation": "distance_correlation",
    "generative": "generative",
    "jetnet": "jetnet",
    "physics_distances": "physics_distances",
    "efp": "efp",
    "particle_clouds": "particle_clouds",
    "particle_classifier": "particle_classifier",
    "s_over_sqrt_b": "counting",
    "s_over_sqrt_s_plus_b": "counting",
    "asimov_z": "counting",
    "iz": "counting",
    "iz_asymptotic": "counting",
    "iz_from_samples": "counting",
    "iz_error": "counting",
    "significance_with_error": "counting",
    "Yield": "counting",
    "Significance": "counting",
    "COUNTING_METRICS": "counting",
    "best_threshold_significance": "thresholds",
    "ThresholdScan": "thresholds",
    "yields_from_events": "thresholds",
    "best_significance_metric": "thresholds",
    "effective_sample_size": "weighted",
    "event_weights": "weighted",
    "weighted_auc": "weighted",
    "permutation_importance": "importance",
    "PermutationImportance": "importance",
    "as_score_function": "importance",
    "background_rejection": "sculpting",
    "Rejection": "sculpting",
    "background_jsd": "sculpting",
    "SculptingJSD": "sculpting",
    "jensen_shannon": "sculpting",
    "score_profile": "decorrelation",
    "ScoreProfile": "decorrelation",
    "efficiency_thresholds": "decorrelation",
    "EfficiencyThresholds": "decorrelation",
    "Flatness": "decorrelation",
    "quantile_edges": "decorrelation",
    "significance_at_threshold": "decorrelation",
    "compare_importance": "decorrelation",
    "DistanceCorrelation": "distance_correlation",
    "gaussian_distance_correlation": "distance_correlation",
    "classifier_two_sample_test": "generative",
    "C2STResult": "generative",
    "wasserstein_1d": "generative",
    "WassersteinResult": "generative",
    "auc_standard_error": "generative",
    "CLASSIFIERS": "generative",
    "w1m": "jetnet",
    "w1p": "jetnet",
    "w1efp": "jetnet",
    "cov_mmd": "jetnet",
    "energy_movers_distance": "jetnet",
    "fpd_kpd_features": "jetnet",
    "real_baseline": "jetnet",
    "JetMetricResult": "jetnet",
    "fpd": "physics_distances",
    "fpd_at_n": "physics_distances",
    "kpd": "physics_distances",
    "FPDResult": "physics_distances",
    "KPDResult": "physics_distances",
    "frechet_distance": "physics_distances",
    "SmallSampleWarning": "physics_distances",
    "energy_flow_polynomials": "efp",
    "Multigraph": "efp",
    "efp_graphs": "efp",
    "w1efp_graphs": "efp",
    "particle_cloud": "particle_clouds",
    "ParticleCloud": "particle_clouds",
    "jet_mass": "particle_clouds",
    "angular_distances": "particle_clouds",
    "particle_classifier_test": "particle_classifier",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
