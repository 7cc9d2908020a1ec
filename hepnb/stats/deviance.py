"""Poisson deviances, accurate where the data and the expectation nearly agree.

``q`` statistics are differences of Poisson deviances, ``2 sum_k [nu_k - n_k + n_k ln(n_k/nu_k)]``, which equal
``2 (NLL(mu) - NLL(mu_hat))`` without the cancellation of the large ``ln n!`` terms. The Asimov significance
``Z' = sqrt(2((s+b) ln(1+s/b) - s))`` (Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554,
arXiv:1007.1727, eq 97) is the same deviance for one bin.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

__all__ = ["poisson_half_deviance", "signed_asimov_z"]


def _x_log1p_x_minus_x(x: np.ndarray) -> np.ndarray:
    """``(1+x) ln(1+x) - x`` for x >= -1, accurate for small |x| (series) where the direct form cancels."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-2
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = xlogy(1.0 + x, 1.0 + x) - x
    series = sum((-1) ** k * x**k / (k * (k - 1)) for k in range(2, 10))
    return np.where(small, series, direct)


def _log1p_minus_x(x: np.ndarray) -> np.ndarray:
    """``ln(1+x) - x``, accurate for small |x|."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-2
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log1p(x) - x
    series = sum((-1) ** (k + 1) * x**k / k for k in range(2, 10))
    return np.where(small, series, direct)


def poisson_half_deviance(n: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """``n ln(n/nu) - n + nu`` (>= 0, zero at n = nu): half the Poisson Asimov deviance of one bin.

    >>> float(poisson_half_deviance(np.array(10.0), np.array(10.0)))
    0.0
    """
    return nu * _x_log1p_x_minus_x((n - nu) / nu)


def signed_asimov_z(s: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed ``Z'(s, b)`` and its derivatives in s and b; NaN where b <= 0 or s + b <= 0.

    ``Z' = sign(s) sqrt(2 b [(1+s/b) ln(1+s/b) - s/b])``: a deficit (s < 0) gives a negative value.

    >>> z, dz_ds, dz_db = signed_asimov_z(np.array(5.0), np.array(10.0))
    >>> round(float(z), 3)
    1.471
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        x = s / b
        z = np.sign(s) * np.sqrt(2.0 * b * _x_log1p_x_minus_x(x))
        # dZ = df/Z with f = Z^2/2; limits at s = 0: dZ/ds -> 1/sqrt(b), dZ/db -> 0
        ds = np.where(z != 0, np.log1p(x) / z, 1.0 / np.sqrt(b))
        db = np.where(z != 0, _log1p_minus_x(x) / z, 0.0)
    bad = ~((b > 0) & (s + b > 0))
    return np.where(bad, np.nan, z), np.where(bad, np.nan, ds), np.where(bad, np.nan, db)
