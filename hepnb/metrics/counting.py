"""Counting significances of a signal strength, with and without interference, and their MC errors.

Yields are expected event counts at the SM (mu = 1): scalars, or arrays with one entry per bin. With interference
the expected yield is ``N(mu) = mu S + sqrt(mu) I + B`` with ``I = SVI - S - V`` and ``B = V + B2``
(:mod:`hepnb.stats.yields`). The metrics are those of A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL
tel-03324250, section 4.10:

- ``Z = s/sqrt(b)``, ``Z = s/sqrt(s+b)`` (eq 4.32) and the Asimov ``Z' = sqrt(2((s+b) ln(1+s/b) - s))`` (eq 4.45;
  Cowan et al., arXiv:1007.1727);
- ``iZ = (S + I/2)/sqrt(S+I+B) = (S + SVI - V)/(2 sqrt(SVI+B2)) = 1/sigma_mu`` at mu = 1 (eq 4.41-4.44);
- ``iZ' = sqrt(2[(SVI+B2) ln(1 + (SVI-V)/(V+B2)) - (SVI-V)])`` (eq 4.46), the Asimov test of mu = 0 with
  mu = 1 data, in which S drops out.

Significances are **signed**: a deficit (s < 0, or S + I/2 < 0) gives a negative value of the same magnitude as
the excess would. The PermutationImportancePhysics package's ``amsasimov`` returns 0 there, which silently discards
deficit-driven sensitivity; with destructive interference (the off-shell Higgs) that is where the sensitivity is.

Away from mu = 1 use :func:`hepnb.stats.fisher.fisher_information` / :func:`~hepnb.stats.fisher.sigma_mu`.
Scans of a classifier threshold are in :mod:`hepnb.metrics.thresholds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array, broadcast_finite, require_positive
from hepnb.stats.deviance import signed_asimov_z

__all__ = [
    "COUNTING_METRICS",
    "INTERFERENCE_COMPONENTS",
    "Yield",
    "Significance",
    "s_over_sqrt_b",
    "s_over_sqrt_s_plus_b",
    "asimov_z",
    "iz",
    "iz_from_samples",
    "iz_asymptotic",
    "iz_error",
    "significance_with_error",
    "metric_terms",
    "propagate_errors",
]

Propagation = Literal["linear", "quadrature"]

#: Component names of the interference samples (the labels ``y`` the interference metrics expect).
INTERFERENCE_COMPONENTS: tuple[str, ...] = ("S", "V", "SVI", "B2")

#: metric name -> the yields it is computed from (two-class metrics read "signal"/"background" from y = 1/0)
COUNTING_METRICS: dict[str, tuple[str, ...]] = {
    "s_over_sqrt_b": ("signal", "background"),
    "s_over_sqrt_s_plus_b": ("signal", "background"),
    "asimov_z": ("signal", "background"),
    "iz": ("S", "SVI", "V", "B2"),
    "iz_asymptotic": ("SVI", "V", "B2"),
}


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


def _scalar_or_array(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else value


def metric_terms(metric: str, y: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
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
            value, ds, db = signed_asimov_z(s, b)
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
            value, ds, db = signed_asimov_z(s_eff, b)
            ok = np.isfinite(value)
            grads = {"SVI": ds, "V": db - ds, "B2": db}
        else:
            raise InputError(f"unknown metric {metric!r}; choose one of {sorted(COUNTING_METRICS)}")
    value = np.where(ok, value, np.nan)
    return value, {k: np.where(ok, g, np.nan) for k, g in grads.items()}


def propagate_errors(grads: Mapping[str, np.ndarray], errors: Mapping[str, np.ndarray], propagation: str) -> np.ndarray:
    """MC error of a metric from its gradient and the yields' errors, ``"linear"`` or ``"quadrature"``."""
    terms = [np.abs(grads[k]) * np.asarray(errors.get(k, 0.0)) for k in grads]
    if propagation == "linear":
        return sum(terms)
    if propagation == "quadrature":
        return np.sqrt(sum(t**2 for t in terms))
    raise InputError(
        f"propagation must be 'linear' (worst case, as in the thesis) or 'quadrature', got {propagation!r}"
    )


def s_over_sqrt_b(s: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """``Z = s/sqrt(b)``: the small-signal approximation of the discovery significance.

    Parameters
    ----------
    s, b
        Expected signal and background yields (scalars or one entry per bin); ``b`` must be > 0.
    """
    s_, b_ = broadcast_finite(s=s, b=b)
    require_positive(b_, "background yield b", "s/sqrt(b) is undefined without background")
    return _scalar_or_array(metric_terms("s_over_sqrt_b", {"signal": s_, "background": b_})[0])


def s_over_sqrt_s_plus_b(s: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """``Z = s/sqrt(s+b) = 1/sigma_mu`` at mu = 1 for ``N = mu s + b`` (thesis eq 4.31-4.32).

    Parameters
    ----------
    s, b
        Expected signal and background yields; ``s + b`` must be > 0.
    """
    s_, b_ = broadcast_finite(s=s, b=b)
    require_positive(s_ + b_, "total yield s + b", "check the signs of the weights")
    return _scalar_or_array(metric_terms("s_over_sqrt_s_plus_b", {"signal": s_, "background": b_})[0])


def asimov_z(s: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Asimov discovery significance ``Z' = sqrt(2((s+b) ln(1+s/b) - s))`` (Cowan et al., thesis eq 4.45).

    Signed: ``s < 0`` (a deficit) gives a negative Z'. Tends to ``s/sqrt(b)`` for ``|s| << b``.

    Parameters
    ----------
    s, b
        Expected signal and background yields; ``b > 0`` and ``s + b > 0`` are required.
    """
    s_, b_ = broadcast_finite(s=s, b=b)
    require_positive(b_, "background yield b", "Z' tests s against a positive background")
    require_positive(s_ + b_, "total yield s + b", "a negative or zero expected count has no Poisson likelihood")
    return _scalar_or_array(metric_terms("asimov_z", {"signal": s_, "background": b_})[0])


def iz(s: ArrayLike, i: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Interference significance ``iZ = (S + I/2)/sqrt(S+I+B) = 1/sigma_mu`` at mu = 1 (thesis eq 4.43).

    Negative when ``S + I/2 < 0`` (the yield falls with mu); optimise ``|iZ|`` or ``iZ^2`` then. Per-bin values
    combine in quadrature: ``iZ_tot^2 = sum_k iZ_k^2`` (Fisher information adds over independent bins).

    Parameters
    ----------
    s, i, b
        Signal-only, interference and total background (``B = V + B2``) yields at the SM; ``S+I+B > 0``.
    """
    s_, i_, b_ = broadcast_finite(s=s, i=i, b=b)
    require_positive(s_ + i_ + b_, "total SM yield S + I + B", "negative total yield: check the weights")
    return _scalar_or_array((s_ + i_ / 2) / np.sqrt(s_ + i_ + b_))


def iz_from_samples(s: ArrayLike, svi: ArrayLike, v: ArrayLike, b2: ArrayLike) -> float | np.ndarray:
    """``iZ = (S + SVI - V)/(2 sqrt(SVI + B2))`` (thesis eq 4.44): :func:`iz` written with the MC samples.

    Parameters
    ----------
    s, svi, v, b2
        Yields of the signal-only (S), full-process (SVI), interfering-background-only (V) and non-interfering
        background (B2) samples; ``SVI + B2 > 0`` (the SM total).
    """
    s_, svi_, v_, b2_ = broadcast_finite(s=s, svi=svi, v=v, b2=b2)
    require_positive(svi_ + b2_, "total SM yield SVI + B2", "negative total yield: check the weights")
    return _scalar_or_array(metric_terms("iz", {"S": s_, "SVI": svi_, "V": v_, "B2": b2_})[0])


def iz_asymptotic(svi: ArrayLike, v: ArrayLike, b2: ArrayLike) -> float | np.ndarray:
    """``iZ'`` (thesis eq 4.46): Asimov significance of rejecting mu = 0 when mu = 1 is true, signed.

    ``iZ' = sign(SVI-V) sqrt(2[(SVI+B2) ln(1 + (SVI-V)/(V+B2)) - (SVI-V)])``. S drops out; a deficit
    (``SVI < V``, destructive interference) gives a negative value. With I = 0 (``SVI = S + V``) it is
    ``asimov_z(S, V + B2)``. Equal to ``sqrt(q(0; 1))`` of :func:`hepnb.stats.asymptotic.asimov_scan` for one bin.

    Parameters
    ----------
    svi, v, b2
        Yields of the full process, the interfering background only, and the non-interfering backgrounds;
        ``V + B2 > 0`` and ``SVI + B2 > 0``.
    """
    svi_, v_, b2_ = broadcast_finite(svi=svi, v=v, b2=b2)
    require_positive(v_ + b2_, "background-only yield V + B2", "negative total yield: check the weights")
    require_positive(svi_ + b2_, "total SM yield SVI + B2", "negative total yield: check the weights")
    return _scalar_or_array(metric_terms("iz_asymptotic", {"SVI": svi_, "V": v_, "B2": b2_})[0])


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
    """MC statistical error on ``iZ`` (the +- of the thesis's Fig 6.10, section 6.6).

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
    arr = dict(zip(needed, broadcast_finite(**values)))
    if any(a.ndim != 0 for a in arr.values()):
        raise InputError("significance_with_error takes one yield per component (scalars); loop over bins")
    err_arr = {k: as_finite_array(v, f"error on {k}") for k, v in errs.items()}
    if any(np.any(e < 0) for e in err_arr.values()):
        raise InputError(f"MC errors must be >= 0, got {errs}")
    value, grads = metric_terms(metric, arr)
    if not np.isfinite(value):
        raise InputError(f"{metric} is undefined for yields {values}: the background-only and total yields must be > 0")
    error = propagate_errors(grads, err_arr, propagation)
    return Significance(
        float(value),
        float(error),
        metric,
        {k: float(v) for k, v in values.items()},
        {k: float(v) for k, v in errs.items()},
        propagation,
    )
