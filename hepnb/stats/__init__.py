"""The statistics layer: the interference yield, asymptotic scans, intervals, CLs (arrays and ``hist.Hist``).

Import the submodules directly; this package imports none of them, so ``import hepnb.stats`` stays light
(pyhf is only loaded by the bridge). ``hepnb.stats`` imports nothing from ``hepnb.metrics`` or a study.

- :mod:`hepnb.stats.constants`: the thesis luminosity (``THESIS_LUMI``, 36.1 fb^-1) and scan grid
  (``THESIS_KAPPA_GRID``, :func:`~hepnb.stats.constants.thesis_mu_grid`).
- :mod:`hepnb.stats.yields`: :func:`~hepnb.stats.yields.combine`, the one ``mu S + sqrt(mu) I + B`` (in mu, kappa
  or sqrt(mu)); ``expected_yield`` (checked > 0), ``interference_yield``, ``degenerate_mu``, mu/kappa conversions.
- :mod:`hepnb.stats.deviance`: the Poisson half deviance and the signed Asimov significance with its gradient.
- :mod:`hepnb.stats.fisher`: Fisher information on mu or sqrt(mu) (shape and rate, or shape only), sigma_mu.
- :mod:`hepnb.stats.asymptotic`: the :class:`~hepnb.stats.asymptotic.Scan` interface every q(mu) scan shares
  (z, p-value, interval), Asimov scans, confidence intervals read off a scan.
- :mod:`hepnb.stats.interference`: :class:`~hepnb.stats.interference.BinnedInterferenceModel`, the binned
  Poisson / shape-only likelihood of ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k`` (negative interference allowed,
  positivity checked), q(mu) scans for Asimov or observed data with an MC-statistics nuisance per bin.
- :mod:`hepnb.stats.cls`: asymptotic CLs with the ``q~_mu`` statistic and one-sided upper limits
  (arXiv:1007.1727; pyhf's numbers for one bin).
- :mod:`hepnb.stats.pyhf_bridge`: the same model as a stock pyhf workspace (samples S, I, B with normfactors
  ``mu_S`` and ``sqrt_mu_I`` fixed to mu and sqrt(mu) in a scan), the pyhf q(mu) scan and the JSON export.

Sources: A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, sections 4.10 and 7.7; Cowan,
Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, arXiv:1007.1727.
"""
