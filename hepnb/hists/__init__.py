"""Compare a reference histogram with one or more others: overlay, ratio panel, chi2/ndf, KS, W1, MSE.

Every input is turned into a :class:`hist.Hist` with ``Weight`` storage, so weighted samples (negative weights
included) and plain counts are handled by the same formulas. The chi2 is the one used to rank GAN epochs in the
calorimeter study (thesis section 5.4.5), with sums of squared weights as variances::

    chi2 = sum_i (n_i/N - m_i/M)^2 / (var(n_i)/N^2 + var(m_i)/M^2),   ndf = (bins with n_i or m_i) - 1

KS and Wasserstein-1 are computed on the unbinned samples when both were given as arrays, and on the bin
contents otherwise (then they resolve nothing finer than a bin).

Entries outside the binning (the flow bins) do not enter the chi2 and the MSE, but they do enter the unbinned KS
and W1. :class:`Comparison` therefore reports the fraction of each sample outside the range (``outside``, a column
of ``table()``) and warns (:class:`OutsideBinningWarning`) above :data:`OUTSIDE_WARNING_FRACTION`.
Only numeric axes (Regular, Variable, Integer, Boolean) and count or sum-of-weights storages are compared.

Importing :mod:`hepnb.hists` is light: each name below loads its module on first use; matplotlib and mplhep are
loaded only by ``Comparison.plot()`` / ``draw()`` (:mod:`~.plotting`), pandas only by ``Comparison.table()``.

============================  ===================  =====================================================================
name                          module               what it is
============================  ===================  =====================================================================
``Comparison``                :mod:`~.comparison`  a reference vs others: metrics, ``table()``, ``plot()``
``OutsideBinningWarning``     :mod:`~.comparison`  a compared sample lies noticeably outside the binning
``OUTSIDE_WARNING_FRACTION``  :mod:`~.comparison`  the fraction outside (sum of |weights|) that warns, 0.01
``chi2``, ``Chi2Result``      :mod:`~.distances`   chi2/ndf of two normalised histograms, its p-value
``ks``, ``KSResult``          :mod:`~.distances`   Kolmogorov-Smirnov distance (unbinned for arrays) and p-value
``wasserstein``               :mod:`~.distances`   Wasserstein-1 distance, in axis units
``mse``                       :mod:`~.distances`   MSE of bin contents (the thesis's 2-D metric)
``make_hist``, ``MAX_BINS``   :mod:`~.inputs`      a ``Weight``-storage histogram from arrays; the bin limit
``plotting``                  :mod:`~.plotting`    the figures of ``Comparison.plot()`` and ``draw()``
============================  ===================  =====================================================================

>>> import numpy as np
>>> from hepnb.hists import Comparison
>>> rng = np.random.default_rng(1)
>>> c = Comparison(rng.normal(size=5000), {"GAN": rng.normal(size=5000)}, bins=(30, -4, 4), xlabel="x")
>>> c.chi2("GAN").ndf
29
>>> table = c.table()   # chi2, ndf, chi2/ndf, KS, W1, outside per compared sample
>>> fig = c.plot()      # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.hists import comparison, distances, inputs, plotting
    from hepnb.hists.comparison import OUTSIDE_WARNING_FRACTION, Comparison, OutsideBinningWarning
    from hepnb.hists.distances import Chi2Result, KSResult, chi2, ks, mse, wasserstein
    from hepnb.hists.inputs import MAX_BINS, make_hist

_EXPORTS = {
    "Comparison": "comparison",
    "OutsideBinningWarning": "comparison",
    "OUTSIDE_WARNING_FRACTION": "comparison",
    "Chi2Result": "distances",
    "KSResult": "distances",
    "chi2": "distances",
    "ks": "distances",
    "wasserstein": "distances",
    "mse": "distances",
    "make_hist": "inputs",
    "MAX_BINS": "inputs",
    "comparison": "comparison",
    "distances": "distances",
    "inputs": "inputs",
    "plotting": "plotting",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
