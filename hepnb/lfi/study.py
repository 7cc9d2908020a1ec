"""Study 3 orchestration: samples, the method table, histogram baselines and the scan comparison (notebook 03).

Everything the notebook ``03_likelihood_free_inference.ipynb`` computes is reachable here (its plots in
:mod:`hepnb.lfi.plots`), gathered from five modules:

* :mod:`hepnb.lfi.methods`: :func:`make_samples` (detector-free VBF samples with the ch7 preselection, the training
  one with the generator's weights, the evaluation one with helicity-summed weights), :func:`make_calibration_sample`
  (a third, independent sample for the calibration), :func:`sample_seed` (each sample's own generator seed, derived
  from the study's seed and the sample's role with ``numpy.random.SeedSequence``), MadMiner's method table
  :data:`METHODS` (SALLY once, its histogram of ``t_hat``; hepnb's ``"sally local model"`` apart) and
  :func:`train_method`, every method with its training time; the default numerator points :data:`UNIFORM_KAPPAS`
  lie between the evaluation grid's points;
* :mod:`hepnb.lfi.illustrations`: :func:`toy_illustration`, :func:`neff_table`, the toy's joint vs exact ratio and
  score and the MadMiner effective sample size;
* :mod:`hepnb.lfi.scans`: :func:`ratio_log_r_grid` / :func:`scans_from_log_r` (a ratio estimator evaluated once on
  the kappa grid, scans at any number of true mu), :func:`calibrate_log_r` / :func:`apply_calibration`
  (``log r_hat - log E_SM[r_hat]``, the mean taken on the independent calibration sample; :func:`normalise_log_r`
  takes it on the evaluation events, for comparison), :func:`method_scans`, :func:`oracle_scans` and the histogram
  baselines :func:`adaptive_edges`, :func:`histogram_model`, :func:`histogram_scan`, returned as
  :class:`hepnb.lfi.LikelihoodScan` so that every method goes through one :func:`hepnb.lfi.interval_table`;
* :mod:`hepnb.lfi.summary_fits`: :func:`summary_scans`, an estimator's ``log r_hat(x | kappa_s, SM)`` as a summary
  statistic, histogrammed and fitted with the exact templates (a likelihood that cannot be sharper than the
  oracle's; :func:`estimator_summary` the summary itself);
* :mod:`hepnb.lfi.tables`: :func:`width_table`, :func:`method_table` (with its closure against the oracle and its
  interval widths and whether it is beyond the oracle), :func:`degeneracy_table`, :func:`beyond_oracle`
  (over-confidence flagged, to be reported).

Evaluation luminosity and grid are the thesis's (:mod:`hepnb.stats.constants`: 36.1 fb^-1, kappa in [0, 2] with
51 points).
"""

from __future__ import annotations

from hepnb.lfi.illustrations import ToyIllustration, neff_table, toy_illustration
from hepnb.lfi.methods import (
    METHODS,
    PRESET,
    RATIO_HIDDEN,
    SAMPLE_ROLES,
    SUMMARY,
    UNIFORM_KAPPAS,
    TrainedMethod,
    make_calibration_sample,
    make_samples,
    numerator_kappas,
    sample_seed,
    train_method,
)
from hepnb.lfi.scans import (
    HIST_OBSERVABLES,
    adaptive_edges,
    apply_calibration,
    calibrate_log_r,
    histogram_model,
    histogram_scan,
    histogram_scans,
    ideal_classifier,
    method_scans,
    normalise_log_r,
    oracle_scans,
    ratio_log_r_grid,
    scans_from_log_r,
)
from hepnb.lfi.summary_fits import estimator_summary, summary_scans
from hepnb.lfi.tables import (
    BEYOND_ORACLE_MARGIN,
    best_histogram,
    beyond_oracle,
    closure_metrics,
    degeneracy_table,
    method_table,
    width_table,
)

__all__ = [
    "PRESET",
    "SUMMARY",
    "METHODS",
    "HIST_OBSERVABLES",
    "UNIFORM_KAPPAS",
    "RATIO_HIDDEN",
    "numerator_kappas",
    "make_samples",
    "make_calibration_sample",
    "SAMPLE_ROLES",
    "sample_seed",
    "ToyIllustration",
    "toy_illustration",
    "neff_table",
    "TrainedMethod",
    "train_method",
    "ratio_log_r_grid",
    "scans_from_log_r",
    "method_scans",
    "normalise_log_r",
    "calibrate_log_r",
    "apply_calibration",
    "oracle_scans",
    "adaptive_edges",
    "histogram_model",
    "histogram_scan",
    "histogram_scans",
    "estimator_summary",
    "summary_scans",
    "width_table",
    "method_table",
    "closure_metrics",
    "degeneracy_table",
    "best_histogram",
    "beyond_oracle",
    "BEYOND_ORACLE_MARGIN",
    "ideal_classifier",
]
