"""Sensitivity to a signal strength mu, with and without signal-background interference.

Yields are expected event counts at the SM (mu = 1): scalars, or arrays with one entry per bin. With interference
the expected yield is (thesis eq 4.33-4.36)::

    N(mu) = mu S + sqrt(mu) I + B,    I = SVI - S - V,    B = V + B2

where S is the signal-only sample (VBF Higgs), V the interfering background only (VBS), SVI the full process
simulated together (the only physical sample) and B2 the non-interfering backgrounds (qq -> ZZ, gg -> ZZ).

Counting metrics (spec section 2 of ``../shared/specs/offshell_interference_lfi_aspiration.md``):

- ``Z = s/sqrt(b)``, ``Z = s/sqrt(s+b)`` (eq 4.32) and the Asimov ``Z' = sqrt(2((s+b) ln(1+s/b) - s))`` (eq 4.45);
- ``iZ = (S + I/2)/sqrt(S+I+B) = (S + SVI - V)/(2 sqrt(SVI+B2)) = 1/sigma_mu`` at mu = 1 (eq 4.41-4.44);
- ``iZ' = sqrt(2[(SVI+B2) ln(1 + (SVI-V)/(V+B2)) - (SVI-V)])`` (eq 4.46), the Asimov test of mu = 0 with
  mu = 1 data, in which S drops out.

Significances are **signed**: a deficit (s < 0, or S + I/2 < 0) gives a negative value of the same magnitude as
the excess would. The PI package's ``amsasimov`` returns 0 there, which silently discards deficit-driven
sensitivity; with destructive interference (the off-shell Higgs) that is where the sensitivity is.

Away from mu = 1 use :func:`fisher_information` / :func:`sigma_mu`, computed through ``s = sqrt(mu)``
(``N(s) = s^2 S + s I + B``): in mu the Fisher information diverges at mu = 0 whenever I != 0.

Derivation of eq 4.40 (printed with typos in the thesis): with ``lambda(mu) = mu S + sqrt(mu) I + B``,
``-ln L = -N ln(lambda) + lambda`` so
``d2(-ln L)/dmu2 = -N [lambda''/lambda - lambda'^2/lambda^2] + lambda''`` with ``lambda' = S + I/(2 sqrt(mu))`` and
``lambda'' = -I/(4 mu^(3/2))``. Its Asimov expectation (N = lambda) is ``lambda'^2/lambda``, i.e.
``1/sigma_mu^2 = (S + I/(2 sqrt(mu)))^2/(mu S + sqrt(mu) I + B)``, which is eq 4.41 at mu = 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import xlogy

from hepnb.errors import InputError, as_finite_array, check_same_length

__all__ = [
    "COUNTING_METRICS",
    "INTERFERENCE_COMPONENTS",
    "Yield",
    "Significance",
    "ThresholdScan",
    "AsimovScan",
    "ConfidenceInterval",
    "s_over_sqrt_b",
    "s_over_sqrt_s_plus_b",
    "asimov_z",
    "interference_yield",
    "iz",
    "iz_from_samples",
    "iz_asymptotic",
    "iz_error",
    "degenerate_mu",
    "expected_yield",
    "fisher_information",
    "sigma_mu",
    "sigma_sqrt_mu",
    "yields_from_events",
    "significance_with_error",
    "best_threshold_significance",
    "best_significance_metric",
    "asimov_scan",
    "poisson_half_deviance",
    "confidence_interval",
    "effective_sample_size",
    "weighted_auc",
]

Propagation = Literal["linear", "quadrature"]

#: Component names of the interference samples (the labels ``y`` the interference metrics expect).
INTERFERENCE_COMPONENTS: tuple[str, ...] = ("S", "V", "SVI", "B2")

# metric name -> the yields it is computed from (two-class metrics read "signal"/"background" from y = 1/0)
COUNTING_METRICS: dict[str, tuple[str, ...]] = {
    "s_over_sqrt_b": ("signal", "background"),
    "s_over_sqrt_s_plus_b": ("signal", "background"),
    "asimov_z": ("signal", "background"),
    "iz": ("S", "SVI", "V", "B2"),
    "iz_asymptotic": ("SVI", "V", "B2"),
}

# weighted_auc refuses a class whose |sum w| is below this fraction of its sum |w| (its weights cancel)
_AUC_CANCELLATION = 1e-6

# thresholds of the PermutationImportancePhysics "Significance" (probability-like scores)
_PI_PACKAGE_THRESHOLDS = np.linspace(0.2, 1.0, 30)


# ----------------------------------------------------------------------------------------------------------------
# result types
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Yield:
    """A weighted event count: ``value = sum w``, ``error = sqrt(sum w^2)``, ``n_events`` unweighted."""

    value: float
    error: float
    n_events: int


@dataclass(frozen=True)
class Significance:
    """A sensitivity metric with its MC statistical error, and the yields it was computed on."""

    value: float
    error: float
    metric: str
    yields: Mapping[str, float]
    yield_errors: Mapping[str, float]
    propagation: str


@dataclass(frozen=True, eq=False)
class ThresholdScan:
    """A significance computed for events with ``score > threshold``, for each threshold.

    ``values``/``errors`` are the whole curve (NaN where the metric is undefined or fewer than ``min_events``
    unweighted events of a component pass); ``threshold``, ``value``, ``error`` are the best point.
    """

    metric: str
    thresholds: np.ndarray
    values: np.ndarray
    errors: np.ndarray
    yields: Mapping[str, np.ndarray]
    yield_errors: Mapping[str, np.ndarray]
    n_events: Mapping[str, np.ndarray]
    valid: np.ndarray
    best_index: int
    min_events: int
    propagation: str
    rank_by: str

    @property
    def threshold(self) -> float:
        """The score threshold with the best significance."""
        return float(self.thresholds[self.best_index])

    @property
    def value(self) -> float:
        """The best significance (signed: negative for a deficit)."""
        return float(self.values[self.best_index])

    @property
    def error(self) -> float:
        """MC statistical error of the best significance."""
        return float(self.errors[self.best_index])


@dataclass(frozen=True)
class ConfidenceInterval:
    """Where ``q(mu) <= q_threshold``: one or several intervals (the sqrt(mu) degeneracy can split them).

    ``crossings`` are the interpolated mu values where q crosses the threshold. ``open_at_edge`` says the region
    reaches the end of the scanned grid, so the interval there is a bound of the grid, not of the data.
    """

    cl: float
    q_threshold: float
    intervals: tuple[tuple[float, float], ...]
    crossings: tuple[float, ...]
    open_at_edge: bool


@dataclass(frozen=True, eq=False)
class AsimovScan:
    """The Asimov test statistic ``q(mu_test; mu_true)`` on a grid of ``mu_test``."""

    mu: np.ndarray
    q: np.ndarray
    mu_true: float
    shape_only: bool

    @property
    def z(self) -> np.ndarray:
        """``sqrt(q)``: the median expected significance of rejecting each ``mu_test``."""
        return np.sqrt(self.q)

    @property
    def p_value(self) -> np.ndarray:
        """``chi2.sf(q, 1)``: asymptotic p-value of each ``mu_test`` (Wilks, one parameter)."""
        return stats.chi2.sf(self.q, 1)

    def interval(self, cl: float = 0.6827) -> ConfidenceInterval:
        """The expected confidence interval at ``cl`` (see :func:`confidence_interval`)."""
        return confidence_interval(self.mu, self.q, cl=cl, subtract_minimum=False)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------


def _arrays(**named: ArrayLike) -> list[np.ndarray]:
    """Finite float arrays broadcast to one shape (a clear error otherwise)."""
    arrays = [as_finite_array(v, name) for name, v in named.items()]
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n}={a.shape}" for n, a in zip(named, arrays))
        raise InputError(f"yields must be scalars or arrays of the same shape (one per bin), got {shapes}") from None


def _out(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else value


def _require_positive(value: np.ndarray, what: str, hint: str) -> None:
    bad = ~(value > 0)
    if np.any(bad):
        where = "" if np.ndim(value) == 0 else f" in bin(s) {np.flatnonzero(bad).tolist()[:10]}"
        shown = value if np.ndim(value) == 0 else value[bad][:5]
        raise InputError(f"{what} must be > 0{where}, got {shown}; {hint}")


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
    """``n ln(n/nu) - n + nu`` (>= 0, zero at n = nu): half the Poisson Asimov deviance of one bin."""
    return nu * _x_log1p_x_minus_x((n - nu) / nu)


def _signed_asimov(s: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed Z'(s, b) and its derivatives in s and b; NaN where b <= 0 or s + b <= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = s / b
        z = np.sign(s) * np.sqrt(2.0 * b * _x_log1p_x_minus_x(x))
        # dZ = df/Z with f = Z^2/2; limits at s = 0: dZ/ds -> 1/sqrt(b), dZ/db -> 0
        ds = np.where(z != 0, np.log1p(x) / z, 1.0 / np.sqrt(b))
        db = np.where(z != 0, _log1p_minus_x(x) / z, 0.0)
    bad = ~((b > 0) & (s + b > 0))
    return np.where(bad, np.nan, z), np.where(bad, np.nan, ds), np.where(bad, np.nan, db)


def _metric_terms(metric: str, y: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Value and gradient (in each input yield) of a counting metric; NaN where it is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "s_over_sqrt_b":
            s, b = y["signal"], y["background"]
            ok = b > 0
            value = s / np.sqrt(b)
            grads = {"signal": 1 / np.sqrt(b), "background": -0.5 * s / b**1.5}
        elif metric == "s_over_sqrt_s_plus_b":
            s, b = y["signal"], y["background"]
            n = s + b
            ok = n > 0
            value = s / np.sqrt(n)
            grads = {"signal": 1 / np.sqrt(n) - 0.5 * s / n**1.5, "background": -0.5 * s / n**1.5}
        elif metric == "asimov_z":
            s, b = y["signal"], y["background"]
            value, ds, db = _signed_asimov(s, b)
            ok = np.isfinite(value)
            grads = {"signal": ds, "background": db}
        elif metric == "iz":
            a = y["S"] + y["SVI"] - y["V"]
            d = y["SVI"] + y["B2"]
            ok = d > 0
            value = a / (2 * np.sqrt(d))
            g = 1 / (2 * np.sqrt(d))
            grads = {"S": g, "V": -g, "SVI": g - a / (4 * d**1.5), "B2": -a / (4 * d**1.5)}
        elif metric == "iz_asymptotic":
            s_eff = y["SVI"] - y["V"]
            b = y["V"] + y["B2"]
            value, ds, db = _signed_asimov(s_eff, b)
            ok = np.isfinite(value)
            grads = {"SVI": ds, "V": db - ds, "B2": db}
        else:
            raise InputError(f"unknown metric {metric!r}; choose one of {sorted(COUNTING_METRICS)}")
    value = np.where(ok, value, np.nan)
    return value, {k: np.where(ok, g, np.nan) for k, g in grads.items()}


def _propagate(
    grads: Mapping[str, np.ndarray], errors: Mapping[str, np.ndarray], propagation: str
) -> np.ndarray:
    terms = [np.abs(grads[k]) * np.asarray(errors.get(k, 0.0)) for k in grads]
    if propagation == "linear":
        return sum(terms)
    if propagation == "quadrature":
        return np.sqrt(sum(t**2 for t in terms))
    raise InputError(
        f"propagation must be 'linear' (worst case, as in the thesis) or 'quadrature', got {propagation!r}"
    )


# ----------------------------------------------------------------------------------------------------------------
# counting without interference
# ----------------------------------------------------------------------------------------------------------------


def s_over_sqrt_b(s: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """``Z = s/sqrt(b)``: the small-signal approximation of the discovery significance.

    Parameters
    ----------
    s, b
        Expected signal and background yields (scalars or one entry per bin); ``b`` must be > 0.
    """
    s_, b_ = _arrays(s=s, b=b)
    _require_positive(b_, "background yield b", "s/sqrt(b) is undefined without background")
    return _out(_metric_terms("s_over_sqrt_b", {"signal": s_, "background": b_})[0])


def s_over_sqrt_s_plus_b(s: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """``Z = s/sqrt(s+b) = 1/sigma_mu`` at mu = 1 for ``N = mu s + b`` (thesis eq 4.31-4.32).

    Parameters
    ----------
    s, b
        Expected signal and background yields; ``s + b`` must be > 0.
    """
    s_, b_ = _arrays(s=s, b=b)
    _require_positive(s_ + b_, "total yield s + b", "check the signs of the weights")
    return _out(_metric_terms("s_over_sqrt_s_plus_b", {"signal": s_, "background": b_})[0])


def asimov_z(s: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Asimov discovery significance ``Z' = sqrt(2((s+b) ln(1+s/b) - s))`` (Cowan et al., thesis eq 4.45).

    Signed: ``s < 0`` (a deficit) gives a negative Z'. Tends to ``s/sqrt(b)`` for ``|s| << b``.

    Parameters
    ----------
    s, b
        Expected signal and background yields; ``b > 0`` and ``s + b > 0`` are required.
    """
    s_, b_ = _arrays(s=s, b=b)
    _require_positive(b_, "background yield b", "Z' tests s against a positive background")
    _require_positive(s_ + b_, "total yield s + b", "a negative or zero expected count has no Poisson likelihood")
    return _out(_metric_terms("asimov_z", {"signal": s_, "background": b_})[0])


# ----------------------------------------------------------------------------------------------------------------
# counting with interference
# ----------------------------------------------------------------------------------------------------------------


def interference_yield(s: ArrayLike, svi: ArrayLike, v: ArrayLike) -> float | np.ndarray:
    """``I = SVI - S - V`` (thesis eq 4.34): the interference yield from the three MC samples (often < 0)."""
    s_, svi_, v_ = _arrays(s=s, svi=svi, v=v)
    return _out(svi_ - s_ - v_)


def iz(s: ArrayLike, i: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Interference significance ``iZ = (S + I/2)/sqrt(S+I+B) = 1/sigma_mu`` at mu = 1 (thesis eq 4.43).

    Negative when ``S + I/2 < 0`` (the yield falls with mu); optimise ``|iZ|`` or ``iZ^2`` then. Per-bin values
    combine in quadrature: ``iZ_tot^2 = sum_k iZ_k^2`` (Fisher information adds over independent bins).

    Parameters
    ----------
    s, i, b
        Signal-only, interference and total background (``B = V + B2``) yields at the SM; ``S+I+B > 0``.
    """
    s_, i_, b_ = _arrays(s=s, i=i, b=b)
    _require_positive(s_ + i_ + b_, "total SM yield S + I + B", "negative total yield: check the weights")
    return _out((s_ + i_ / 2) / np.sqrt(s_ + i_ + b_))


def iz_from_samples(s: ArrayLike, svi: ArrayLike, v: ArrayLike, b2: ArrayLike) -> float | np.ndarray:
    """``iZ = (S + SVI - V)/(2 sqrt(SVI + B2))`` (thesis eq 4.44): :func:`iz` written with the MC samples.

    Parameters
    ----------
    s, svi, v, b2
        Yields of the signal-only (S), full-process (SVI), interfering-background-only (V) and non-interfering
        background (B2) samples; ``SVI + B2 > 0`` (the SM total).
    """
    s_, svi_, v_, b2_ = _arrays(s=s, svi=svi, v=v, b2=b2)
    _require_positive(svi_ + b2_, "total SM yield SVI + B2", "negative total yield: check the weights")
    return _out(_metric_terms("iz", {"S": s_, "SVI": svi_, "V": v_, "B2": b2_})[0])


def iz_asymptotic(svi: ArrayLike, v: ArrayLike, b2: ArrayLike) -> float | np.ndarray:
    """``iZ'`` (thesis eq 4.46): Asimov significance of rejecting mu = 0 when mu = 1 is true, signed.

    ``iZ' = sign(SVI-V) sqrt(2[(SVI+B2) ln(1 + (SVI-V)/(V+B2)) - (SVI-V)])``. S drops out; a deficit
    (``SVI < V``, destructive interference) gives a negative value. With I = 0 (``SVI = S + V``) it is
    ``asimov_z(S, V + B2)``. Equal to ``sqrt(q(0; 1))`` of :func:`asimov_scan` for one bin.

    Parameters
    ----------
    svi, v, b2
        Yields of the full process, the interfering background only, and the non-interfering backgrounds;
        ``V + B2 > 0`` and ``SVI + B2 > 0``.
    """
    svi_, v_, b2_ = _arrays(svi=svi, v=v, b2=b2)
    _require_positive(v_ + b2_, "background-only yield V + B2", "negative total yield: check the weights")
    _require_positive(svi_ + b2_, "total SM yield SVI + B2", "negative total yield: check the weights")
    return _out(_metric_terms("iz_asymptotic", {"SVI": svi_, "V": v_, "B2": b2_})[0])


def iz_error(
    s: float,
    svi: float,
    v: float,
    b2: float,
    *,
    s_err: float,
    svi_err: float,
    v_err: float,
    b2_err: float,
    propagation: Propagation = "linear",
) -> float:
    """MC statistical error on ``iZ`` (spec 2.4, the +- of thesis Fig 6.10).

    ``linear`` is the thesis/talk worst-case form
    ``DiZ/iZ = |(DS+DV)/(S+SVI-V)| + |DB2/(2(SVI+B2))| + DSVI |1/(S+SVI-V) - 1/(2(SVI+B2))|``, computed from the
    absolute derivatives so that it stays finite at iZ = 0; ``quadrature`` adds the same terms in quadrature
    (independent samples).

    Parameters
    ----------
    s, svi, v, b2
        Sample yields, as in :func:`iz_from_samples`.
    s_err, svi_err, v_err, b2_err
        Their MC statistical errors, ``sqrt(sum w^2)``.
    propagation
        ``"linear"`` (default, as in the thesis) or ``"quadrature"``.
    """
    result = significance_with_error(
        "iz",
        {"S": s, "SVI": svi, "V": v, "B2": b2},
        {"S": s_err, "SVI": svi_err, "V": v_err, "B2": b2_err},
        propagation=propagation,
    )
    return result.error


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
    """
    s_, i_, mu_ = (float(x) for x in as_finite_array([s, i, mu], "(s, i, mu)", ndim=1))
    if s_ <= 0:
        raise InputError(f"signal-only yield s must be > 0 to find the degenerate mu, got {s_}")
    if mu_ < 0:
        raise InputError(f"mu must be >= 0, got {mu_}")
    root = -i_ / s_ - np.sqrt(mu_)
    return float(root**2) if root >= 0 else float("nan")


def expected_yield(s: ArrayLike, i: ArrayLike, b: ArrayLike, mu: float) -> float | np.ndarray:
    """``N(mu) = mu S + sqrt(mu) I + B`` per bin; a clear error if any bin is not > 0 at this mu."""
    s_, i_, b_ = _arrays(s=s, i=i, b=b)
    return _out(_expected(s_, i_, b_, mu))


def _expected(s: np.ndarray, i: np.ndarray, b: np.ndarray, mu: float) -> np.ndarray:
    if not np.isfinite(mu) or mu < 0:
        raise InputError(f"mu must be finite and >= 0 (N(mu) = mu S + sqrt(mu) I + B), got {mu}")
    n = mu * s + np.sqrt(mu) * i + b
    _require_positive(
        n,
        f"expected yield N(mu={mu:g}) = mu S + sqrt(mu) I + B",
        "the Poisson likelihood needs a positive expectation in every bin: merge bins or restrict the mu range",
    )
    return n


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
    """
    s_, i_, b_ = (np.atleast_1d(a) for a in _arrays(s=s, i=i, b=b))
    n = _expected(s_, i_, b_, mu)
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


def sigma_mu(
    s: ArrayLike, i: ArrayLike, b: ArrayLike, mu: float = 1.0, *, shape_only: bool = False
) -> float:
    """Expected uncertainty on mu at ``mu``: ``1/sqrt(F_mu)`` (spec 2.5; thesis eq 4.42 at mu = 1).

    ``sigma_mu = 2 sqrt(mu) sigma_sqrt_mu``; it goes to 0 at mu = 0 when I != 0 (the parameterisation in mu is
    singular there: prefer :func:`sigma_sqrt_mu`). Infinite when the yields do not depend on mu.
    """
    info = fisher_information(s, i, b, mu, parameter="mu", shape_only=shape_only)
    return float(1 / np.sqrt(info)) if info > 0 else float("inf")


def sigma_sqrt_mu(
    s: ArrayLike, i: ArrayLike, b: ArrayLike, mu: float = 1.0, *, shape_only: bool = False
) -> float:
    """Expected uncertainty on ``sqrt(mu)`` at ``mu``: ``1/sqrt(F_sqrt_mu)``; at mu = 0 ``F = sum I_k^2/B_k``."""
    info = fisher_information(s, i, b, mu, parameter="sqrt_mu", shape_only=shape_only)
    return float(1 / np.sqrt(info)) if info > 0 else float("inf")


# ----------------------------------------------------------------------------------------------------------------
# from weighted events: yields with MC errors, significance with error, best threshold
# ----------------------------------------------------------------------------------------------------------------


def _weights(weights: ArrayLike | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = as_finite_array(weights, "weights", ndim=1)
    check_same_length(labels=np.empty(n), weights=w)
    return w


def _labels(y: ArrayLike) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise InputError(f"labels y must be 1-dimensional (one per event), got shape {labels.shape}")
    return labels


def _component_masks(labels: np.ndarray, metric: str) -> dict[str, np.ndarray]:
    needed = COUNTING_METRICS.get(metric)
    if needed is None:
        raise InputError(f"unknown metric {metric!r}; choose one of {sorted(COUNTING_METRICS)}")
    if needed[0] == "signal":
        if labels.dtype.kind in "US" or labels.dtype == object:
            raise InputError(f"metric {metric!r} needs labels y = 1 (signal) / 0 (background), got {labels[:3]}")
        values = labels.astype(float)
        if not np.all((values == 0) | (values == 1)):
            raise InputError(f"metric {metric!r} needs labels y in {{0, 1}}, got values {np.unique(values)[:5]}")
        return {"signal": values == 1, "background": values == 0}
    text = labels.astype(str)
    unknown = set(np.unique(text)) - set(INTERFERENCE_COMPONENTS)
    if unknown:
        raise InputError(
            f"metric {metric!r} needs labels y in {INTERFERENCE_COMPONENTS}, got also {sorted(unknown)[:5]}"
        )
    missing = [c for c in needed if not np.any(text == c)]
    if missing:
        raise InputError(f"metric {metric!r} needs events of components {needed}; none labelled {missing}")
    return {c: text == c for c in needed}


def yields_from_events(y: ArrayLike, weights: ArrayLike | None = None) -> dict[str, Yield]:
    """Weighted yield ``sum w`` with MC error ``sqrt(sum w^2)`` and unweighted count, per label value.

    Parameters
    ----------
    y
        One label per event (e.g. ``"S"``, ``"V"``, ``"SVI"``, ``"B2"``, or 0/1).
    weights
        Event weights (negative allowed); 1 if omitted.
    """
    labels = _labels(y)
    w = _weights(weights, len(labels))
    out: dict[str, Yield] = {}
    for label in np.unique(labels):
        mask = labels == label
        out[str(label)] = Yield(float(w[mask].sum()), float(np.sqrt((w[mask] ** 2).sum())), int(mask.sum()))
    return out


def significance_with_error(
    metric: str,
    yields: Mapping[str, float],
    errors: Mapping[str, float] | None = None,
    *,
    propagation: Propagation = "quadrature",
) -> Significance:
    """A counting metric and its MC statistical error propagated from the yields' errors.

    Parameters
    ----------
    metric
        One of :data:`COUNTING_METRICS`: ``"s_over_sqrt_b"``, ``"s_over_sqrt_s_plus_b"``, ``"asimov_z"``
        (yields ``signal``, ``background``), ``"iz"`` (``S``, ``SVI``, ``V``, ``B2``) or ``"iz_asymptotic"``
        (``SVI``, ``V``, ``B2``).
    yields
        The yields by name (floats, or :class:`Yield` whose errors are then used).
    errors
        MC errors by name (``sqrt(sum w^2)``); missing names count as exact.
    propagation
        ``"quadrature"`` (independent samples) or ``"linear"`` (worst case, the thesis's iZ error).
    """
    needed = COUNTING_METRICS.get(metric)
    if needed is None:
        raise InputError(f"unknown metric {metric!r}; choose one of {sorted(COUNTING_METRICS)}")
    missing = [k for k in needed if k not in yields]
    if missing:
        raise InputError(f"metric {metric!r} needs yields {needed}; missing {missing}")
    values = {k: (yields[k].value if isinstance(yields[k], Yield) else yields[k]) for k in needed}
    errs = {k: (yields[k].error if isinstance(yields[k], Yield) else 0.0) for k in needed}
    errs.update({k: v for k, v in (errors or {}).items() if k in needed})
    arr = dict(zip(needed, _arrays(**values)))
    if any(a.ndim != 0 for a in arr.values()):
        raise InputError("significance_with_error takes one yield per component (scalars); loop over bins")
    err_arr = {k: as_finite_array(v, f"error on {k}") for k, v in errs.items()}
    if any(np.any(e < 0) for e in err_arr.values()):
        raise InputError(f"MC errors must be >= 0, got {errs}")
    value, grads = _metric_terms(metric, arr)
    if not np.isfinite(value):
        raise InputError(
            f"{metric} is undefined for yields {values}: the background-only and total yields must be > 0"
        )
    error = _propagate(grads, err_arr, propagation)
    return Significance(
        float(value), float(error), metric, {k: float(v) for k, v in values.items()},
        {k: float(v) for k, v in errs.items()}, propagation,
    )


def best_threshold_significance(
    y: ArrayLike,
    score: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    metric: str = "asimov_z",
    thresholds: ArrayLike | None = None,
    min_events: int = 0,
    propagation: Propagation = "quadrature",
    rank_by: Literal["abs", "value"] = "abs",
) -> ThresholdScan:
    """Significance of the events with ``score > t``, scanned over thresholds t, and the best one.

    Parameters
    ----------
    y
        Labels: 1 (signal) / 0 (background) for ``s_over_sqrt_b``, ``s_over_sqrt_s_plus_b``, ``asimov_z``;
        ``"S"``, ``"V"``, ``"SVI"``, ``"B2"`` (the samples of :func:`iz_from_samples`) for ``iz`` and
        ``iz_asymptotic`` (``iz_asymptotic`` ignores S events).
    score
        Classifier output per event.
    weights
        Event weights (negative allowed); 1 if omitted. MC errors are ``sqrt(sum w^2)`` per component.
    metric
        One of :data:`COUNTING_METRICS`.
    thresholds
        Score thresholds; default ``linspace(0.2, 1.0, 30)`` as in PermutationImportancePhysics, which needs
        scores in [0, 1] (pass thresholds explicitly for other scores).
    min_events
        Minimum number of unweighted events of every component above a threshold for it to count (iZ is
        unstable at tight cuts, where a handful of weighted events decide it).
    propagation
        How the errors of the curve are propagated (``"quadrature"`` or ``"linear"``).
    rank_by
        ``"abs"`` (default): the best threshold maximises ``|value|`` (deficits count, the value keeps its
        sign); ``"value"``: maximise the signed value.

    Returns
    -------
    ThresholdScan
        The whole curve (values, errors, yields, counts per threshold) and the best point.
    """
    labels = _labels(y)
    s = as_finite_array(score, "score", ndim=1)
    check_same_length(y=labels, score=s)
    w = _weights(weights, len(labels))
    if thresholds is None:
        if s.size and (s.min() < 0 or s.max() > 1):
            raise InputError(
                "the default thresholds linspace(0.2, 1.0, 30) need scores in [0, 1]; "
                f"scores span [{s.min():g}, {s.max():g}]: pass thresholds=..."
            )
        t = _PI_PACKAGE_THRESHOLDS.copy()
    else:
        t = as_finite_array(thresholds, "thresholds", ndim=1)
        if t.size == 0:
            raise InputError("thresholds is empty: give at least one score threshold")
    if rank_by not in ("abs", "value"):
        raise InputError(f"rank_by must be 'abs' or 'value', got {rank_by!r}")
    if min_events < 0:
        raise InputError(f"min_events must be >= 0, got {min_events}")
    masks = _component_masks(labels, metric)
    yields, yield_errors, counts = {}, {}, {}
    for name, mask in masks.items():
        order = np.argsort(s[mask], kind="stable")
        sorted_s = s[mask][order]
        sorted_w = w[mask][order]
        first_above = np.searchsorted(sorted_s, t, side="right")  # events [first_above:] have score > t
        cum_w = np.concatenate([[0.0], np.cumsum(sorted_w)])
        cum_w2 = np.concatenate([[0.0], np.cumsum(sorted_w**2)])
        yields[name] = cum_w[-1] - cum_w[first_above]
        yield_errors[name] = np.sqrt(np.maximum(cum_w2[-1] - cum_w2[first_above], 0.0))
        counts[name] = len(sorted_s) - first_above
    values, grads = _metric_terms(metric, yields)
    errors = _propagate(grads, yield_errors, propagation)
    enough = np.all([counts[name] >= min_events for name in masks], axis=0)
    valid = np.isfinite(values) & enough
    values = np.where(valid, values, np.nan)
    errors = np.where(valid, errors, np.nan)
    if not valid.any():
        raise InputError(
            f"{metric} is undefined at every threshold (need positive background/total yields and at least "
            f"{min_events} events of each of {tuple(masks)} above the threshold); loosen thresholds or min_events"
        )
    rank = np.abs(values) if rank_by == "abs" else values
    best = int(np.nanargmax(rank))
    return ThresholdScan(
        metric, t, values, errors, yields, yield_errors, counts, valid, best, int(min_events), propagation, rank_by
    )


def best_significance_metric(metric: str = "asimov_z", **options: Any) -> Callable[..., float]:
    """A metric ``f(y, score, weights) -> float`` for :func:`hepnb.metrics.importance.permutation_importance`.

    It returns the best-threshold significance of :func:`best_threshold_significance` (``|value|`` when
    ranking by magnitude, so a deficit-driven sensitivity counts as positive). ``options`` are passed on
    (``thresholds``, ``min_events``, ``rank_by``).
    """
    rank_by = options.get("rank_by", "abs")

    def best_significance(y: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
        scan = best_threshold_significance(y, score, weights, metric=metric, **options)
        return abs(scan.value) if rank_by == "abs" else scan.value

    best_significance.__name__ = f"best_{metric}"
    return best_significance


# ----------------------------------------------------------------------------------------------------------------
# Asimov scan of q(mu_test; mu_true) and intervals
# ----------------------------------------------------------------------------------------------------------------


def asimov_scan(
    mu_test: ArrayLike,
    s: ArrayLike,
    i: ArrayLike,
    b: ArrayLike,
    *,
    mu_true: float = 1.0,
    shape_only: bool = False,
) -> AsimovScan:
    """Asimov test statistic ``q(mu_test; mu_true)`` for binned ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k``.

    ``q = 2 sum_k [nu_k - n_k + n_k ln(n_k/nu_k)]`` with Asimov data ``n_k = N_k(mu_true)`` and
    ``nu_k = N_k(mu_test)`` (Poisson, shape and rate). ``shape_only`` compares the normalised shapes
    (multinomial): ``q = 2 sum_k n_k ln(n_k/nu_k) - 2 n ln(n/nu)``. ``q = 0`` wherever ``nu = n``: for one bin
    at ``mu_true`` and its partner :func:`degenerate_mu`. ``sqrt(q(0; 1))`` is ``iZ'`` for one bin.

    Parameters
    ----------
    mu_test
        Grid of tested signal strengths (>= 0).
    s, i, b
        Per-bin signal-only, interference (may be negative) and background yields at the SM.
    mu_true
        Signal strength that generates the Asimov data.
    shape_only
        Drop the information from the total rate.
    """
    s_, i_, b_ = (np.atleast_1d(a) for a in _arrays(s=s, i=i, b=b))
    mu = as_finite_array(mu_test, "mu_test")
    mu = np.atleast_1d(mu)
    if mu.ndim != 1:
        raise InputError(f"mu_test must be a scalar or a 1-d grid, got shape {mu.shape}")
    n = _expected(s_, i_, b_, float(mu_true))
    q = np.empty(len(mu))
    for j, m in enumerate(mu):
        nu = _expected(s_, i_, b_, float(m))
        q_j = 2 * np.sum(poisson_half_deviance(n, nu))
        if shape_only:
            q_j -= 2 * poisson_half_deviance(n.sum(), nu.sum())
        q[j] = max(q_j, 0.0)
    return AsimovScan(mu, q, float(mu_true), bool(shape_only))


def confidence_interval(
    mu: ArrayLike, q: ArrayLike, cl: float = 0.6827, *, subtract_minimum: bool = True
) -> ConfidenceInterval:
    """Read the region ``q(mu) <= chi2.ppf(cl, 1)`` off a scanned test statistic (linear interpolation).

    ``cl = 0.6827`` gives ``q = 1`` (+-1 sigma), ``cl = 0.95`` gives ``q = 3.84``.

    Parameters
    ----------
    mu
        Increasing grid of the parameter.
    q
        Test statistic on the grid (``-2 ln L`` differences).
    cl
        Confidence level in (0, 1).
    subtract_minimum
        Subtract ``min(q)`` first (needed for fitted, not Asimov, curves).
    """
    mu_ = as_finite_array(mu, "mu", ndim=1)
    q_ = as_finite_array(q, "q", ndim=1)
    check_same_length(mu=mu_, q=q_)
    if len(mu_) < 2 or np.any(np.diff(mu_) <= 0):
        raise InputError("mu must be a strictly increasing grid of at least two points")
    if not 0 < cl < 1:
        raise InputError(f"cl must be in (0, 1), e.g. 0.6827 or 0.95, got {cl}")
    if subtract_minimum:
        q_ = q_ - q_.min()
    level = float(stats.chi2.ppf(cl, 1))
    inside = q_ <= level
    crossings: list[float] = []
    for k in np.flatnonzero(inside[1:] != inside[:-1]):
        q0, q1 = q_[k] - level, q_[k + 1] - level
        crossings.append(float(mu_[k] + (mu_[k + 1] - mu_[k]) * q0 / (q0 - q1)))
    intervals: list[tuple[float, float]] = []
    edges = iter(crossings)
    lo: float | None = float(mu_[0]) if inside[0] else None
    for k in range(1, len(mu_)):
        if inside[k] and not inside[k - 1]:
            lo = next(edges)
        elif not inside[k] and inside[k - 1]:
            intervals.append((lo, next(edges)))  # type: ignore[arg-type]
            lo = None
    if lo is not None:
        intervals.append((lo, float(mu_[-1])))
    return ConfidenceInterval(
        float(cl), level, tuple(intervals), tuple(crossings), bool(inside[0] or inside[-1])
    )


# ----------------------------------------------------------------------------------------------------------------
# sample quality and classifier quality
# ----------------------------------------------------------------------------------------------------------------


def effective_sample_size(weights: ArrayLike, definition: Literal["kish", "max_weight"] = "kish") -> float:
    """Effective number of events of a weighted sample.

    ``"kish"``: ``(sum w)^2 / sum w^2`` (thesis eq 7.3, the usual HEP definition); ``"max_weight"``:
    ``sum w / max w`` (thesis eq 7.2, MadMiner's, used to track morphing). Both equal N for equal weights.

    Parameters
    ----------
    weights
        Event weights (negative allowed for Kish, which they reduce).
    definition
        ``"kish"`` or ``"max_weight"``.
    """
    w = as_finite_array(weights, "weights", ndim=1)
    if w.size == 0:
        raise InputError("weights is empty: no events, no effective sample size")
    if definition == "kish":
        sum_w2 = float(np.sum(w**2))
        if sum_w2 == 0:
            raise InputError("all weights are zero: the effective sample size is undefined")
        return float(np.sum(w) ** 2 / sum_w2)
    if definition == "max_weight":
        if w.max() <= 0:
            raise InputError(f"the largest weight must be > 0 for sum(w)/max(w), got {w.max()}")
        return float(w.sum() / w.max())
    raise InputError(f"definition must be 'kish' or 'max_weight', got {definition!r}")


def weighted_auc(y: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Area under the ROC curve with event weights, correct for negative weights.

    The weighted Mann-Whitney statistic
    ``AUC = sum_{i in sig, j in bkg} w_i w_j [1(s_i > s_j) + 1/2 1(s_i = s_j)] / (W_sig W_bkg)``, computed by
    sorting and cumulative sums (ties count one half). It is bilinear in the weights, so negative weights enter
    with their sign (it can leave [0, 1] when they dominate). Equals ``sklearn.metrics.roc_auc_score`` for
    positive weights. A class whose weights cancel (``|W| < 1e-6 sum |w|`` over its events) is refused: the
    division by its near-zero total would return an arbitrarily large number.

    Parameters
    ----------
    y
        1 for signal, 0 for background.
    score
        Classifier output (higher = more signal-like).
    weights
        Event weights; 1 if omitted.
    """
    labels = as_finite_array(y, "labels y", ndim=1)
    s = as_finite_array(score, "score", ndim=1)
    check_same_length(y=labels, score=s)
    w = _weights(weights, len(labels))
    if not np.all((labels == 0) | (labels == 1)):
        raise InputError(f"labels y must be 0 (background) or 1 (signal), got values {np.unique(labels)[:5]}")
    signal = labels == 1
    w_sig, w_bkg = float(w[signal].sum()), float(w[~signal].sum())
    if w_sig == 0 or w_bkg == 0:
        raise InputError(
            f"the AUC needs non-zero total signal and background weights, got {w_sig:g} and {w_bkg:g}"
        )
    for total, mask, name in ((w_sig, signal, "signal"), (w_bkg, ~signal, "background")):
        magnitude = float(np.abs(w[mask]).sum())
        if abs(total) < _AUC_CANCELLATION * magnitude:
            raise InputError(
                f"the {name} weights cancel: their sum is {abs(total) / magnitude:.2g} of the sum of their absolute "
                f"values (below {_AUC_CANCELLATION:g}), so the AUC, divided by that sum, is meaningless; check the "
                f"{name} weights or use more {name} events"
            )
    # the AUC depends on weight ratios only: an exact power-of-two rescaling keeps W_sig * W_bkg finite
    w = np.ldexp(w, -np.frexp(np.max(np.abs(w)))[1])
    w_sig, w_bkg = float(w[signal].sum()), float(w[~signal].sum())
    unique, index = np.unique(s, return_inverse=True)
    sig_at = np.bincount(index, weights=np.where(signal, w, 0.0), minlength=len(unique))
    bkg_at = np.bincount(index, weights=np.where(signal, 0.0, w), minlength=len(unique))
    bkg_below = np.cumsum(bkg_at) - bkg_at
    return float(np.sum(sig_at * (bkg_below + 0.5 * bkg_at)) / (w_sig * w_bkg))
