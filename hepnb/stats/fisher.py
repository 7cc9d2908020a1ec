"""Expected (Asimov) Fisher information on mu or sqrt(mu), and the expected uncertainties it gives.

For ``N(mu) = mu S + sqrt(mu) I + B`` (:mod:`hepnb.stats.yields`) the information in mu diverges at mu = 0 whenever
I != 0; away from mu = 1 compute it through ``r = sqrt(mu)`` (``N(r) = r^2 S + r I + B``).

Derivation of the thesis's eq 4.40 (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250,
section 4.10, where it is printed with typos): with ``lambda(mu) = mu S + sqrt(mu) I + B``,
``-ln L = -N ln(lambda) + lambda`` so
``d2(-ln L)/dmu2 = -N [lambda''/lambda - lambda'^2/lambda^2] + lambda''`` with ``lambda' = S + I/(2 sqrt(mu))`` and
``lambda'' = -I/(4 mu^(3/2))``. Its Asimov expectation (N = lambda) is ``lambda'^2/lambda``, i.e.
``1/sigma_mu^2 = (S + I/(2 sqrt(mu)))^2/(mu S + sqrt(mu) I + B)``, which is eq 4.41 at mu = 1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, broadcast_finite
from hepnb.stats.yields import positive_yield

__all__ = ["fisher_information", "sigma_mu", "sigma_sqrt_mu"]


def fisher_information(
    s: ArrayLike,
    i: ArrayLike,
    b: ArrayLike,
    mu: float = 1.0,
    *,
    parameter: Literal["mu", "sqrt_mu"] = "mu",
    shape_only: bool = False,
) -> float:
    """Expected (Asimov) Fisher information on mu or sqrt(mu), summed over bins.

    ``F = sum_k (dN_k)^2/N_k`` with ``dN_k = S_k + I_k/(2 sqrt(mu))`` (mu) or ``2 sqrt(mu) S_k + I_k`` (sqrt(mu)).
    ``shape_only`` uses the multinomial likelihood (total yield not used):
    ``F = sum_k (dN_k)^2/N_k - (sum_k dN_k)^2/N``; it is zero when S, I and B have identical shapes.
    In mu it is infinite at mu = 0 when any ``I_k != 0``; in sqrt(mu) at 0 it is ``sum I_k^2/B_k``.

    Parameters
    ----------
    s, i, b
        Per-bin signal-only, interference and background yields at the SM (scalars for one bin).
    mu
        Signal strength where the information is evaluated, >= 0.
    parameter
        ``"mu"`` or ``"sqrt_mu"``.
    shape_only
        Use only the shape (multinomial) rather than shape and rate (Poisson).

    Examples
    --------
    >>> fisher_information(4.0, 0.0, 12.0)  # (dN/dmu)^2 / N = 16 / 16
    1.0
    """
    s_, i_, b_ = (np.atleast_1d(a) for a in broadcast_finite(s=s, i=i, b=b))
    n = positive_yield(s_, i_, b_, mu)
    root = np.sqrt(mu)
    if parameter == "mu":
        if root == 0 and np.any(i_ != 0):
            return float("inf")  # dN/dmu = S + I/(2 sqrt(mu)) diverges at mu = 0
        dn = s_ if root == 0 else s_ + i_ / (2 * root)
    elif parameter == "sqrt_mu":
        dn = 2 * root * s_ + i_
    else:
        raise InputError(f"parameter must be 'mu' or 'sqrt_mu', got {parameter!r}")
    info = float(np.sum(dn**2 / n))
    if shape_only:
        # >= 0 by Cauchy-Schwarz; clip the rounding of identical shapes
        info = max(info - float(np.sum(dn) ** 2 / np.sum(n)), 0.0)
    return info


def sigma_mu(s: ArrayLike, i: ArrayLike, b: ArrayLike, mu: float = 1.0, *, shape_only: bool = False) -> float:
    """Expected uncertainty on mu at ``mu``: ``1/sqrt(F_mu)`` (thesis eq 4.42 at mu = 1).

    ``sigma_mu = 2 sqrt(mu) sigma_sqrt_mu``; it goes to 0 at mu = 0 when I != 0 (the parameterisation in mu is
    singular there: prefer :func:`sigma_sqrt_mu`). Infinite when the yields do not depend on mu.

    >>> sigma_mu(4.0, 0.0, 12.0)
    1.0
    """
    info = fisher_information(s, i, b, mu, parameter="mu", shape_only=shape_only)
    return float(1 / np.sqrt(info)) if info > 0 else float("inf")


def sigma_sqrt_mu(s: ArrayLike, i: ArrayLike, b: ArrayLike, mu: float = 1.0, *, shape_only: bool = False) -> float:
    """Expected uncertainty on ``sqrt(mu)`` at ``mu``: ``1/sqrt(F_sqrt_mu)``; at mu = 0 ``F = sum I_k^2/B_k``.

    >>> sigma_sqrt_mu(1.0, 2.0, 4.0, 0.0)
    1.0
    """
    info = fisher_information(s, i, b, mu, parameter="sqrt_mu", shape_only=shape_only)
    return float(1 / np.sqrt(info)) if info > 0 else float("inf")
