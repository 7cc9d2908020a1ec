"""CLs and one-sided upper limits on mu from the asymptotic formulae.

For an upper limit the test statistic is ``q~_mu`` (Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011)
1554, arXiv:1007.1727, eq 16): ``-2 ln [L(mu) / L(mu_hat)]`` with ``mu_hat >= 0`` fitted, and 0 when
``mu_hat > mu`` (an excess above mu is no evidence against it). Its distribution follows from the same statistic
on the background-only Asimov data, ``q~_mu,A`` (eq 65-66)::

    CLs+b = Phi(-sqrt(q~))                              if q~ <= q~_A
          = Phi(-(q~ + q~_A) / (2 sqrt(q~_A)))          otherwise
    CLb   = Phi(sqrt(q~_A) - sqrt(q~))  (likewise)      CLs = CLs+b / CLb

and the expected CLs for background-only data fluctuating by ``n`` standard deviations is
``Phi(-(n + sqrt(q~_A))) / Phi(-n)``. These are pyhf's ``hypotest(..., test_stat="qtilde",
calctype="asymptotics")`` numbers (``tests/test_stats_cls.py`` checks one bin against pyhf).

The model is :class:`~hepnb.stats.interference.BinnedInterferenceModel`, ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k``:
with interference the yield is not monotonic in mu, so the asymptotic distribution is an approximation
(the thesis, A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, section 7.7, quotes
Wilks-based limits); with ``I = 0`` it is the textbook case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from hepnb.errors import InputError
from hepnb.stats.asymptotic import refine_minimum
from hepnb.stats.interference import BinnedInterferenceModel

__all__ = ["N_SIGMA", "CLs", "UpperLimit", "q_tilde", "cls", "upper_limit"]

#: The fluctuations of background-only data, in standard deviations, of the expected CLs values (pyhf's order).
N_SIGMA: tuple[int, ...] = (2, 1, 0, -1, -2)

_FIT_POINTS = 41  # grid in sqrt(mu) on which the fit of mu_hat starts (the likelihood can have two minima)


@dataclass(frozen=True)
class CLs:
    """CLs of one tested mu: observed, its parts, and the expected values at :data:`N_SIGMA`."""

    mu: float
    q_tilde: float
    q_tilde_asimov: float
    cls: float
    clsb: float
    clb: float
    expected: tuple[float, ...]


@dataclass(frozen=True)
class UpperLimit:
    """The mu where CLs falls to ``1 - cl``: observed, and expected at :data:`N_SIGMA` (from -2 to +2 sigma)."""

    cl: float
    observed: float
    expected: tuple[float, ...]


def _counts(model: BinnedInterferenceModel, data: ArrayLike | None) -> np.ndarray:
    return model.asimov_data(0.0) if data is None else np.asarray(data, dtype=float)


def q_tilde(
    model: BinnedInterferenceModel,
    mu: float,
    data: ArrayLike | None = None,
    *,
    mu_max: float = 16.0,
    include_rate: bool = True,
    profile_mc_stat: bool = False,
) -> float:
    """The upper-limit test statistic ``q~_mu`` of ``data`` (background-only Asimov data if None).

    ``mu_hat`` is fitted in ``[0, mu_max]`` (a grid in ``sqrt(mu)``, then refined), where every bin must have a
    positive expectation.

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    >>> round(q_tilde(model, 1.0, [10.0]), 4)  # 2 (15 - 10 - 10 ln 1.5)
    1.8907
    """
    mu = float(mu)
    if not np.isfinite(mu) or not 0 < mu <= mu_max:
        raise InputError(f"the tested mu must be in (0, mu_max = {mu_max:g}], got {mu}")
    model.check_positive([0.0, mu_max])
    n = _counts(model, data)
    options = {"include_rate": include_rate, "profile_mc_stat": profile_mc_stat}
    grid = np.linspace(0.0, np.sqrt(mu_max), _FIT_POINTS) ** 2
    deviance = model.twice_nll_deviance(grid, n, **options)
    mu_hat, minimum = refine_minimum(grid, deviance, lambda m: float(model.twice_nll_deviance(m, n, **options)[0]))
    if mu_hat > mu:
        return 0.0
    return max(float(model.twice_nll_deviance(mu, n, **options)[0]) - minimum, 0.0)


def _cls_parts(q: float, q_asimov: float) -> tuple[float, float]:
    """(CLs+b, CLb) from ``q~`` and ``q~_A`` (arXiv:1007.1727 eq 65-66, as pyhf writes them)."""
    sqrt_q, sqrt_qa = np.sqrt(q), np.sqrt(q_asimov)
    t = sqrt_q - sqrt_qa if sqrt_q < sqrt_qa else (q - q_asimov) / (2 * sqrt_qa)
    return float(stats.norm.cdf(-(t + sqrt_qa))), float(stats.norm.cdf(-t))


def cls(
    model: BinnedInterferenceModel,
    mu: float,
    data: ArrayLike | None = None,
    *,
    mu_max: float = 16.0,
    include_rate: bool = True,
    profile_mc_stat: bool = False,
) -> CLs:
    """Asymptotic CLs of the signal strength ``mu`` given ``data`` (background-only Asimov data if None).

    Parameters
    ----------
    model
        The binned templates.
    mu
        Tested signal strength, in ``(0, mu_max]``.
    data
        Observed counts per bin.
    mu_max
        Upper end of the range in which ``mu_hat`` is fitted.
    include_rate, profile_mc_stat
        As in :meth:`~hepnb.stats.interference.BinnedInterferenceModel.scan`.

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    >>> round(cls(model, 1.0, [10.0]).cls, 4)
    0.1691
    """
    options = {"mu_max": mu_max, "include_rate": include_rate, "profile_mc_stat": profile_mc_stat}
    q = q_tilde(model, mu, data, **options)
    q_asimov = q_tilde(model, mu, None, **options)
    if not q_asimov > 0:
        raise InputError(f"the data cannot tell mu = {mu:g} from mu = 0 (q~_A = 0): test a larger mu")
    clsb, clb = _cls_parts(q, q_asimov)
    expected = tuple(float(stats.norm.cdf(-(n + np.sqrt(q_asimov))) / stats.norm.cdf(-n)) for n in N_SIGMA)
    return CLs(float(mu), q, q_asimov, clsb / clb, clsb, clb, expected)


def upper_limit(
    model: BinnedInterferenceModel,
    data: ArrayLike | None = None,
    *,
    cl: float = 0.95,
    mu_max: float = 16.0,
    include_rate: bool = True,
    profile_mc_stat: bool = False,
    xtol: float = 1e-8,
) -> UpperLimit:
    """The one-sided CLs upper limit on mu at ``cl``: where CLs (observed, expected) falls to ``1 - cl``.

    Each limit is the root of ``CLs(mu) - (1 - cl)`` in ``(0, mu_max]`` (Brent's method); a limit above
    ``mu_max`` raises :class:`InputError` (raise ``mu_max``).

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    >>> limit = upper_limit(model, [10.0])
    >>> round(limit.observed, 3), round(limit.expected[2], 3)  # Asimov-like data: observed = median expected
    (1.508, 1.508)
    """
    if not 0 < cl < 1:
        raise InputError(f"cl must be in (0, 1), e.g. 0.95, got {cl}")
    alpha = 1.0 - cl
    options = {"mu_max": mu_max, "include_rate": include_rate, "profile_mc_stat": profile_mc_stat}
    lowest = 1e-6 * mu_max

    def solve(excess: Callable[[float], float], what: str) -> float:
        if excess(mu_max) > 0:
            raise InputError(f"the {what} CLs limit is above mu_max = {mu_max:g}: raise mu_max")
        return float(optimize.brentq(excess, lowest, mu_max, xtol=xtol))

    observed = solve(lambda m: cls(model, m, data, **options).cls - alpha, "observed")
    expected = tuple(
        solve(lambda m, k=k: cls(model, m, None, **options).expected[k] - alpha, f"{N_SIGMA[k]:+d} sigma expected")
        for k in range(len(N_SIGMA))
    )
    return UpperLimit(float(cl), observed, expected)
