"""Physics metrics for the studies: sensitivity to a signal strength and feature importance.

Import the submodules directly; this package imports none of them, so each stays light:

- :mod:`hepnb.metrics.sensitivity`: Z = s/sqrt(b), s/sqrt(s+b), the Asimov Z', the interference significances
  iZ and iZ' (``N(mu) = mu S + sqrt(mu) I + B``), sigma_mu and Fisher information at any mu (per bin and
  shape-only), their MC statistical errors, the Asimov q(mu_test; mu_true) scan with interval read-off, effective
  sample sizes, a negative-weight-safe weighted AUC and the best-threshold significance scan of a classifier score.
- :mod:`hepnb.metrics.importance`: permutation importance of the input features of any model, with event weights
  and any metric ``metric(y, score, weights) -> float``.

Formulas and their sources: ``../shared/specs/offshell_interference_lfi_aspiration.md`` sections 2, 3 and 8.
"""
