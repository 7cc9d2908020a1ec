"""The statistics layer: the interference yield, asymptotic scans, intervals, CLs (arrays and ``hist.Hist``).

Importing :mod:`hepnb.stats` is light: each name below loads its module on first use (pyhf is only loaded by the
bridge). ``hepnb.stats`` imports nothing from ``hepnb.metrics`` or a study.

===============================================  =====================  ================================================
name                                             module                 what it is
===============================================  =====================  ================================================
``THESIS_LUMI``, ``LUMI_2015_2016``              :mod:`~.constants`     the thesis luminosity, 36.1 fb^-1
``THESIS_KAPPA_GRID``, ``thesis_kappa_grid``     :mod:`~.constants`     the thesis scan grid in kappa (51 in [0, 2])
``thesis_mu_grid``                               :mod:`~.constants`     the same grid in mu
``combine``                                      :mod:`~.yields`        ``mu S + sqrt(mu) I + B`` in mu, kappa or
                                                                        sqrt(mu)
``expected_yield``, ``positive_yield``           :mod:`~.yields`        that yield at one mu (checked > 0)
``interference_yield``, ``degenerate_mu``        :mod:`~.yields`        ``I = SVI - S - V``; the mu of equal rate
``mu_from_kappa``, ``kappa_from_mu``             :mod:`~.yields`        ``mu = kappa^4`` and back
``poisson_half_deviance``                        :mod:`~.deviance`      ``n ln(n/nu) - n + nu`` per bin
``signed_asimov_z``                              :mod:`~.deviance`      the signed Asimov significance, gradient
``fisher_information``                           :mod:`~.fisher`        Fisher information on mu or sqrt(mu)
``sigma_mu``, ``sigma_sqrt_mu``                  :mod:`~.fisher`        the expected errors it gives
``Scan``, ``AsimovScan``, ``asimov_scan``        :mod:`~.asymptotic`    q(mu) scans: z, p-value, interval
``ConfidenceInterval``, ``confidence_interval``  :mod:`~.asymptotic`    an interval read off a scan
``refine_minimum``                               :mod:`~.asymptotic`    the minimum of a scan between grid points
``refine_maximum``                               :mod:`~.asymptotic`    the maximum of grid scans (parabola), per row
``unbinned_log_likelihood``                      :mod:`~.asymptotic`    the extended unbinned log L on a grid
``rate_log_likelihood``, ``log_ratio_table``     :mod:`~.asymptotic`    its rate term; a checked (grid, events) log r
``BinnedInterferenceModel``                      :mod:`~.interference`  the binned S, I, B likelihood
``InterferenceScan``                             :mod:`~.interference`  its q(mu) scan (Asimov or observed data)
``CLs``, ``UpperLimit``, ``N_SIGMA``             :mod:`~.cls`           CLs and upper limits (``cls.cls`` is the CLs
                                                                        function: ``cls`` is the module)
``q_tilde``, ``upper_limit``                     :mod:`~.cls`           the ``q~_mu`` statistic; the upper limit
``cls_from_q``, ``ScanUpperLimit``               :mod:`~.cls`           the CLs formulae; a limit read off q(mu) scans
``grid_upper_limit``, ``scan_upper_limit``       :mod:`~.cls`           CLs limits from q(mu) on a grid / two scans
``unbinned_coverage``, ``binned_coverage``       :mod:`~.coverage`      coverage of intervals and CLs with toys
``Coverage``, ``coverage_table``                 :mod:`~.coverage`      a coverage result; the table of several
``clopper_pearson``, ``kish_effective_size``     :mod:`~.coverage`      binomial interval; ``(sum w)^2 / sum w^2``
``to_pyhf_spec``, ``to_workspace``               :mod:`~.pyhf_bridge`   the model as a pyhf spec / workspace
``pyhf_scan``, ``pyhf_parameters``               :mod:`~.pyhf_bridge`   the pyhf q(mu) scan, its parameter vector
``export_workspace_json``                        :mod:`~.pyhf_bridge`   the workspace as a JSON file
===============================================  =====================  ================================================

The submodules are exported too (``stats.constants``, ``stats.yields``, ``stats.deviance``, ``stats.fisher``,
``stats.asymptotic``, ``stats.interference``, ``stats.cls``, ``stats.coverage``, ``stats.pyhf_bridge``):

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
  (arXiv:1007.1727; pyhf's numbers for one bin), also read off any two q(mu) scans on a grid.
- :mod:`hepnb.stats.coverage`: the coverage of Wilks intervals and of the CLs test with seeded, vectorised
  pseudo-experiments (unbinned from a weighted event pool, or binned Poisson toys), Clopper-Pearson errors.
- :mod:`hepnb.stats.pyhf_bridge`: the same model as a stock pyhf workspace (samples S, I, B with normfactors
  ``mu_S`` and ``sqrt_mu_I`` fixed to mu and sqrt(mu) in a scan), the pyhf q(mu) scan and the JSON export.

>>> from hepnb import stats
>>> float(stats.combine(4.0, 1.0, -2.0, 10.0))   # mu S + sqrt(mu) I + B at mu = 4
10.0
>>> model = stats.BinnedInterferenceModel.from_arrays([1.0, 2.0], [-0.5, -1.0], [10.0, 5.0])
>>> model.scan([0.0, 1.0, 4.0]).q.round(2).tolist()   # q(mu) for Asimov data at mu = 1
[0.21, 0.0, 3.24]

Sources: A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, sections 4.10 and 7.7; Cowan,
Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, arXiv:1007.1727.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.stats import asymptotic, cls, constants, coverage, deviance, fisher, interference, pyhf_bridge, yields
    from hepnb.stats.asymptotic import (
        AsimovScan,
        ConfidenceInterval,
        Scan,
        asimov_scan,
        confidence_interval,
        log_ratio_table,
        rate_log_likelihood,
        refine_maximum,
        refine_minimum,
        unbinned_log_likelihood,
    )
    from hepnb.stats.cls import (
        N_SIGMA,
        CLs,
        ScanUpperLimit,
        UpperLimit,
        cls_from_q,
        grid_upper_limit,
        q_tilde,
        scan_upper_limit,
        upper_limit,
    )
    from hepnb.stats.constants import LUMI_2015_2016, THESIS_KAPPA_GRID, THESIS_LUMI, thesis_kappa_grid, thesis_mu_grid
    from hepnb.stats.coverage import (
        Coverage,
        binned_coverage,
        clopper_pearson,
        coverage_table,
        kish_effective_size,
        unbinned_coverage,
    )
    from hepnb.stats.deviance import poisson_half_deviance, signed_asimov_z
    from hepnb.stats.fisher import fisher_information, sigma_mu, sigma_sqrt_mu
    from hepnb.stats.interference import BinnedInterferenceModel, InterferenceScan
    from hepnb.stats.pyhf_bridge import export_workspace_json, pyhf_parameters, pyhf_scan, to_pyhf_spec, to_workspace
    from hepnb.stats.yields import (
        combine,
        degenerate_mu,
        expected_yield,
        interference_yield,
        kappa_from_mu,
        mu_from_kappa,
        positive_yield,
    )

_EXPORTS = {
    "constants": "constants",
    "yields": "yields",
    "deviance": "deviance",
    "fisher": "fisher",
    "asymptotic": "asymptotic",
    "interference": "interference",
    "cls": "cls",
    "coverage": "coverage",
    "pyhf_bridge": "pyhf_bridge",
    "THESIS_LUMI": "constants",
    "LUMI_2015_2016": "constants",
    "THESIS_KAPPA_GRID": "constants",
    "thesis_kappa_grid": "constants",
    "thesis_mu_grid": "constants",
    "combine": "yields",
    "expected_yield": "yields",
    "positive_yield": "yields",
    "interference_yield": "yields",
    "degenerate_mu": "yields",
    "mu_from_kappa": "yields",
    "kappa_from_mu": "yields",
    "poisson_half_deviance": "deviance",
    "signed_asimov_z": "deviance",
    "fisher_information": "fisher",
    "sigma_mu": "fisher",
    "sigma_sqrt_mu": "fisher",
    "Scan": "asymptotic",
    "AsimovScan": "asymptotic",
    "asimov_scan": "asymptotic",
    "ConfidenceInterval": "asymptotic",
    "confidence_interval": "asymptotic",
    "refine_minimum": "asymptotic",
    "refine_maximum": "asymptotic",
    "unbinned_log_likelihood": "asymptotic",
    "rate_log_likelihood": "asymptotic",
    "log_ratio_table": "asymptotic",
    "BinnedInterferenceModel": "interference",
    "InterferenceScan": "interference",
    "CLs": "cls",
    "UpperLimit": "cls",
    "N_SIGMA": "cls",
    "q_tilde": "cls",
    "upper_limit": "cls",
    "cls_from_q": "cls",
    "ScanUpperLimit": "cls",
    "grid_upper_limit": "cls",
    "scan_upper_limit": "cls",
    "Coverage": "coverage",
    "unbinned_coverage": "coverage",
    "binned_coverage": "coverage",
    "coverage_table": "coverage",
    "clopper_pearson": "coverage",
    "kish_effective_size": "coverage",
    "to_pyhf_spec": "pyhf_bridge",
    "to_workspace": "pyhf_bridge",
    "pyhf_scan": "pyhf_bridge",
    "pyhf_parameters": "pyhf_bridge",
    "export_workspace_json": "pyhf_bridge",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
