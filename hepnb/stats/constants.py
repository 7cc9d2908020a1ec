"""The thesis's luminosity and scan grid, in one place.

Source: A. Ghosh, PhD thesis, Universite Paris-Saclay (2020), HAL tel-03324250: chapter 6 (section 6.3)
normalises every study to the ATLAS 2015+2016 data set, 36.1 fb^-1 (the off-shell analysis, ATLAS, Phys. Lett. B
786 (2018) 223, arXiv:1808.01191); section 7.7 scans the coupling modifier ``kappa`` (``mu = kappa^4``, section
7.3) on ``[0, 2]`` with 51 points, at the same luminosity (written 36 fb^-1 there).
"""

from __future__ import annotations

import numpy as np

from hepnb.errors import InputError
from hepnb.stats.yields import mu_from_kappa

__all__ = ["LUMI_2015_2016", "THESIS_LUMI", "THESIS_KAPPA_GRID", "thesis_kappa_grid", "thesis_mu_grid"]

#: Integrated luminosity of the ATLAS 2015+2016 13 TeV data set, in fb^-1.
LUMI_2015_2016 = 36.1
#: The luminosity of every off-shell study of the thesis (chapters 6 and 7), in fb^-1.
THESIS_LUMI = LUMI_2015_2016


def thesis_kappa_grid(n_points: int = 51, kappa_max: float = 2.0) -> np.ndarray:
    """The thesis scan grid in the coupling modifier: ``kappa = linspace(0, kappa_max, n_points)``.

    Parameters
    ----------
    n_points
        Number of grid points (>= 2).
    kappa_max
        Largest coupling modifier kappa (> 0); ``mu_max = kappa_max^4``.

    Examples
    --------
    >>> thesis_kappa_grid(5).tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    if int(n_points) != n_points or n_points < 2:
        raise InputError(f"n_points must be an integer >= 2, got {n_points}")
    if not np.isfinite(kappa_max) or kappa_max <= 0:
        raise InputError(f"kappa_max must be finite and > 0, got {kappa_max}")
    return np.linspace(0.0, float(kappa_max), int(n_points))


def thesis_mu_grid(n_points: int = 51, kappa_max: float = 2.0) -> np.ndarray:
    """The thesis scan grid in mu: ``mu = kappa^4`` on :func:`thesis_kappa_grid`.

    The default gives 51 points in ``mu in [0, 16]``, dense near 0 where the sqrt(mu) term changes fastest.

    Examples
    --------
    >>> thesis_mu_grid(3).tolist()
    [0.0, 1.0, 16.0]
    """
    return mu_from_kappa(thesis_kappa_grid(n_points, kappa_max))  # type: ignore[return-value]


#: The default kappa grid of chapter 7 (51 points in ``[0, 2]``); ``THESIS_KAPPA_GRID**4`` is :func:`thesis_mu_grid`.
THESIS_KAPPA_GRID: np.ndarray = thesis_kappa_grid()
