"""Statistical models and inference shared by the studies (takes arrays and ``hist.Hist``, never study objects).

Import the submodules directly; this package imports none of them, so ``import hepnb.stats`` stays light
(pyhf is only loaded by the bridge):

- :mod:`hepnb.stats.interference`: :class:`~hepnb.stats.interference.BinnedInterferenceModel`, the binned
  Poisson / shape-only likelihood of ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k`` (negative interference allowed,
  positivity checked), q(mu) scans for Asimov or observed data with p-values and intervals, the thesis mu grid.
- :mod:`hepnb.stats.pyhf_bridge`: the same model as a stock pyhf workspace (samples S, I, B with normfactors
  ``mu_S`` and ``sqrt_mu_I`` fixed to mu and sqrt(mu) in a scan), the pyhf q(mu) scan and the JSON export.

Formulas and sources: ``../shared/specs/offshell_interference_lfi_aspiration.md`` sections 5.5, 5.6 and 8.
"""
