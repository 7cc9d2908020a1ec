"""The expected yield of a signal that interferes with its background: ``N(mu) = mu S + sqrt(mu) I + B``.

With interference the expected yield is (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250,
section 4.10, eq 4.33-4.36)::

    N(mu) = mu S + sqrt(mu) I + B,    I = SVI - S - V,    B = V + B2

where S is the signal-only sample (VBF Higgs), V the interfering background only (VBS), SVI the full process
simulated together (the only physical sample) and B2 the non-interfering backgrounds (qq -> ZZ, gg -> ZZ). The
coupling modifier is ``kappa = mu^(1/4)``, so ``N = kappa^4 S + kappa^2 I + B``.

:func:`combine` is the one place this sum is written: yields, per-bin templates, per-event weights and
densities all go through it. :func:`expected_yield` adds the checks a likelihood needs (finite, > 0 in every bin).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array, broadcast_finite, require_positive

__all__ = [
    "combine",
    "mu_from_kappa",
    "kappa_from_mu",
    "expected_yield",
    "positive_yield",
    "interference_yield",
    "degenerate_mu",
]

Parameter = Literal["mu", "kappa", "sqrt_mu"]


def mu_from_kappa(kappa: ArrayLike) -> np.ndarray | float:
    """``mu = kappa^4`` (the signal strength of a coupling modifier kappa).

    >>> mu_from_kappa(2.0)
    16.0
    """
    return np.asarray(kappa, dtype=float) ** 4 if np.ndim(kappa) else float(kappa) ** 4


def kappa_from_mu(mu: ArrayLike) -> np.ndarray | float:
    """``kappa = mu^(1/4)`` for mu >= 0.

    >>> kappa_from_mu(16.0)
    2.0
    """
    return np.asarray(mu, dtype=float) ** 0.25 if np.ndim(mu) else float(mu) ** 0.25


def combine(mu: ArrayLike, s: ArrayLike, i: ArrayLike, b: ArrayLike, *, param: Parameter = "mu") -> np.ndarray | float:
    """``mu S + sqrt(mu) I + B``, broadcasting (no checks: weights and densities may be negative).

    Parameters
    ----------
    mu
        The parameter point(s); with ``param="kappa"`` the coupling modifier (``mu = kappa^4``,
        ``sqrt(mu) = kappa^2``), with ``param="sqrt_mu"`` the square root ``r`` (``mu = r^2``).
    s, i, b
        Signal-only, interference and background parts at mu = 1: yields, per-bin templates, per-event
        weights or densities (anything that broadcasts with ``mu``).
    param
        What ``mu`` is: ``"mu"``, ``"kappa"`` or ``"sqrt_mu"``.

    Examples
    --------
    >>> float(combine(4.0, 1.0, -1.5, 10.0))
    11.0
    >>> combine(np.array([0.0, 2.0]), 1.0, -1.5, 10.0, param="kappa").tolist()  # mu = 0 and 16
    [10.0, 20.0]
    """
    if param == "mu":
        mu_, root = mu, np.sqrt(mu)
    elif param == "kappa":
        mu_, root = mu**4, mu**2  # type: ignore[operator]
    elif param == "sqrt_mu":
        mu_, root = mu**2, mu  # type: ignore[operator]
    else:
        raise InputError(f"param must be 'mu', 'kappa' or 'sqrt_mu', got {param!r}")
    return mu_ * s + root * i + b  # type: ignore[operator]


def expected_yield(s: ArrayLike, i: ArrayLike, b: ArrayLike, mu: float) -> float | np.ndarray:
    """``N(mu) = mu S + sqrt(mu) I + B`` per bin; a clear error if any bin is not > 0 at this mu.

    Examples
    --------
    >>> expected_yield([1.0, 2.0], [-0.5, -1.0], [3.0, 3.0], 4.0).tolist()
    [6.0, 9.0]
    """
    s_, i_, b_ = broadcast_finite(s=s, i=i, b=b)
    n = positive_yield(s_, i_, b_, mu)
    return float(n) if np.ndim(n) == 0 else n


def positive_yield(s: np.ndarray, i: np.ndarray, b: np.ndarray, mu: float) -> np.ndarray:
    """:func:`combine` on checked float arrays at one mu, refusing a mu < 0 or a bin whose yield is not > 0."""
    if not np.isfinite(mu) or mu < 0:
        raise InputError(f"mu must be finite and >= 0 (N(mu) = mu S + sqrt(mu) I + B), got {mu}")
    n = combine(mu, s, i, b)
    require_positive(
        n,
        f"expected yield N(mu={mu:g}) = mu S + sqrt(mu) I + B",
        "the Poisson likelihood needs a positive expectation in every bin: merge bins or restrict the mu range",
    )
    return n


def interference_yield(s: ArrayLike, svi: ArrayLike, v: ArrayLike) -> float | np.ndarray:
    """``I = SVI - S - V`` (thesis eq 4.34): the interference yield from the three MC samples (often < 0).

    >>> interference_yield(1.1, 6.1, 6.9)
    -1.9000000000000004
    """
    s_, svi_, v_ = broadcast_finite(s=s, svi=svi, v=v)
    out = svi_ - s_ - v_
    return float(out) if np.ndim(out) == 0 else out


def degenerate_mu(s: float, i: float, mu: float = 0.0) -> float:
    """The other signal strength with the same total yield as ``mu`` (NaN if there is none).

    ``mu S + sqrt(mu) I`` is quadratic in ``sqrt(mu)``, so ``N(mu') = N(mu)`` for
    ``sqrt(mu') = -I/S - sqrt(mu)``. For ``mu = 0`` this is ``mu* = (I/S)^2`` (needs I < 0): a counting
    experiment cannot tell the SM without Higgs from ``mu*``.

    Parameters
    ----------
    s, i
        Signal-only and interference yields (totals, not per bin: the degeneracy is of the rate).
    mu
        Signal strength whose partner is wanted, >= 0.

    Examples
    --------
    >>> degenerate_mu(1.0, -3.0)
    9.0
    """
    s_, i_, mu_ = (float(x) for x in as_finite_array([s, i, mu], "(s, i, mu)", ndim=1))
    if s_ <= 0:
        raise InputError(f"signal-only yield s must be > 0 to find the degenerate mu, got {s_}")
    if mu_ < 0:
        raise InputError(f"mu must be >= 0, got {mu_}")
    root = -i_ / s_ - np.sqrt(mu_)
    return float(root**2) if root >= 0 else float("nan")
