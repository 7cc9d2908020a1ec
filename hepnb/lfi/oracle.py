"""The oracle: the exact likelihood of the simulator for detector-free (``detector="none"``) VBF samples.

The toy generator of :mod:`hepnb.offshell` knows its own parton-level density: summed over the latent helicities,
``f(u | kappa) = kappa^4 f_S(u) + kappa^2 f_I(u) + f_B(u)`` (:func:`hepnb.offshell.oracle_components`), normalised by
``sigma(kappa) = kappa^4 S + kappa^2 I + B``. From it:

* :func:`oracle_log_density`: the exact ``log p(u_i | kappa_j)`` on a grid (the helicity sums evaluated once);
* :func:`oracle_score`: the exact score ``t(u | kappa)`` (SALLY's target; its mean square: the Fisher information);
* :func:`helicity_summed`: the same events with weights ``f_c / (q n_generated)`` (less MC noise, same expectations);
* :func:`oracle_scan`: the Asimov likelihood scan with the exact ``log r``, the reference every learned method is
  reported against (:func:`hepnb.lfi.inference.interval_table`).

The oracle exists only because the toy's matrix elements are known: with a detector (any other ``detector``) the
likelihood is intractable, which is why the estimators of A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL
tel-03324250, chapter 7, are learned from the simulator instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepnb.errors import InputError, as_finite_array
from hepnb.lfi._asimov import asimov_weights, kappa_grid
from hepnb.lfi.inference import LikelihoodScan, scan_from_log_ratios
from hepnb.offshell import Events, oracle_components
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI
from hepnb.stats.yields import combine

__all__ = ["oracle_log_density", "oracle_score", "helicity_summed", "oracle_scan"]


def oracle_log_density(events: Events, kappa: Any, yields: Mapping[str, float] | None = None) -> np.ndarray:
    """Exact ``log p(u_i | kappa_j)``, ``(len(kappa), n_events)``, of ``detector="none"`` VBF events (the oracle).

    ``log f(u | kappa) - log sigma(kappa)`` with ``f = kappa^4 f_S + kappa^2 f_I + f_B`` the helicity-summed
    densities of :func:`hepnb.offshell.oracle_components` (evaluated once for the whole grid) and ``sigma`` from the
    yields: the parton-level likelihood, so differences of rows are :func:`hepnb.offshell.oracle_log_ratio`.
    ``-inf`` where ``f = 0``.

    Parameters
    ----------
    events
        Detector-free VBF events of :func:`hepnb.offshell.generate`.
    kappa
        The grid (one number or a list).
    yields
        ``S, I, B`` for ``sigma(kappa)`` (default: the events' own).

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import lfi, offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> log_p = lfi.oracle_log_density(events, [0.5, 1.0])
    >>> log_p.shape, bool(np.allclose(log_p[0] - log_p[1], osh.oracle_log_ratio(events, 0.5**4, 1.0)))
    ((2, 666), True)
    """
    k = np.atleast_1d(as_finite_array(kappa, "kappa"))
    if k.ndim != 1 or np.any(k < 0):
        raise InputError(f"kappa must be one number or a list of kappa >= 0, got {kappa!r}")
    comp = oracle_components(events)
    y = events.yields if yields is None else yields
    f = combine(k[:, None], comp["f_S"], comp["f_I"], comp["f_B"], param="kappa")
    sigma = combine(k[:, None], float(y["S"]), float(y["I"]), float(y["B"]), param="kappa")
    with np.errstate(divide="ignore"):
        return np.log(f) - np.log(sigma)


def oracle_score(events: Events, kappa: float = 1.0, yields: Mapping[str, float] | None = None) -> np.ndarray:
    """Exact score ``t(x | kappa) = d/dkappa log p(u | kappa)`` of a ``detector="none"`` VBF sample.

    ``(4 k^3 f_S + 2 k f_I) / f - (4 k^3 S + 2 k I) / sigma`` with the helicity-summed densities of
    :func:`hepnb.offshell.oracle_components`: the target SALLY learns at the SM, and ``E_SM[t^2]`` is the Fisher
    information per event in kappa.

    Parameters
    ----------
    events
        Detector-free VBF events of :func:`hepnb.offshell.generate`.
    kappa
        Where the derivative is taken (the SM by default).
    yields
        ``S, I, B`` for ``sigma(kappa)`` (default: the events' own).

    Examples
    --------
    The derivative of :func:`oracle_log_density` in kappa:

    >>> from hepnb import offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> t = oracle_score(events, 1.0)
    >>> log_p = oracle_log_density(events, [1.0 - 1e-5, 1.0 + 1e-5])
    >>> t.shape, bool(np.allclose(t, (log_p[1] - log_p[0]) / 2e-5, atol=1e-6))
    ((666,), True)
    """
    k = float(kappa)
    if not np.isfinite(k) or k < 0:
        raise InputError(f"kappa must be finite and >= 0, got {kappa!r}")
    comp = oracle_components(events)
    y = events.yields if yields is None else yields
    f = combine(k, comp["f_S"], comp["f_I"], comp["f_B"], param="kappa")
    sigma = combine(k, float(y["S"]), float(y["I"]), float(y["B"]), param="kappa")
    s, i = float(y["S"]), float(y["I"])
    return (4 * k**3 * comp["f_S"] + 2 * k * comp["f_I"]) / f - (4 * k**3 * s + 2 * k * i) / sigma


def helicity_summed(events: Events) -> Events:
    """The same ``detector="none"`` VBF events with weights ``f_c(u) / (q(u) n_generated)`` for c = S, I, B.

    The generator's weights follow the sampled helicities; these sum over them (the oracle densities over the
    generator's proposal), so they have the same expectation for any function of the observables with less MC noise,
    and the oracle Asimov scan on them peaks exactly at ``mu_true`` (Gibbs' inequality on the sample). Detector-free
    VBF samples only (the oracle's domain).

    Parameters
    ----------
    events
        Detector-free VBF events of :func:`hepnb.offshell.generate` (they record ``n_generated``).

    Examples
    --------
    With these weights the exact score at the SM averages to zero over the sample itself (the scan's maximum sits at
    the truth), which the generator's helicity-dependent weights do not give:

    >>> from hepnb import offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> summed = helicity_summed(events)
    >>> summed.meta["weights"], len(summed) == len(events)
    ('helicity-summed', True)
    >>> [abs(float(e.weight(1.0) @ oracle_score(e, 1.0))) < 1e-9 for e in (summed, events)]
    [True, False]
    """
    import awkward as ak

    comp = oracle_components(events)
    n_generated = float(events.meta.get("n_generated", 0))
    if n_generated <= 0:
        raise InputError("the events do not record n_generated; use a sample made by hepnb.offshell.generate")
    new = {f"w_{c}": comp[f"f_{c}"] / (comp["q"] * n_generated) for c in ("S", "I", "B")}
    arr = events.array
    fields = {f: (new[f] if f in new else arr[f]) for f in arr.fields}
    return Events(ak.zip(fields, depth_limit=1), dict(events.meta, weights="helicity-summed"))


def oracle_scan(
    events: Events,
    mu_true: float,
    *,
    kappa: Any = THESIS_KAPPA_GRID,
    include_rate: bool = True,
    lumi: float = THESIS_LUMI,
    reference_kappa: float = 1.0,
    yields: Mapping[str, float] | None = None,
) -> LikelihoodScan:
    """Asimov scan with the exact ``log r(x | mu, mu_ref)`` of a ``detector="none"`` VBF sample (the oracle).

    The same ``log p(u | mu)`` as :func:`hepnb.offshell.oracle_log_ratio`, with the helicity sums evaluated once for
    the whole grid (:func:`oracle_log_density`); the arguments are those of :func:`hepnb.lfi.inference.ratio_scan`.

    Examples
    --------
    On helicity-summed weights the likelihood peaks at ``mu_true = 1``, a grid point; the refined ``mu_hat`` (the
    parabola through it and its neighbours ``kappa = 0.96, 1.04``, unevenly spaced in mu) lies 3% below it:

    >>> from hepnb import offshell as osh
    >>> scan = oracle_scan(helicity_summed(osh.generate(5_000, seed=1, detector="none", progress=False)), 1.0)
    >>> scan.method, round(scan.mu_hat, 3), [round(v, 2) for v in scan.interval(0.95).intervals[0]]
    ('oracle', 0.968, [0.0, 7.4])
    """
    k = kappa_grid(kappa)
    w, y = asimov_weights(events, mu_true, lumi, yields)
    log_p = oracle_log_density(events, np.r_[k, reference_kappa], yields)
    log_r = log_p[:-1] - log_p[-1]
    options: dict[str, Any] = {"yields": y, "include_rate": include_rate, "lumi": lumi}
    return scan_from_log_ratios(
        log_r, w, kappa=k, mu_true=mu_true, reference_kappa=reference_kappa, method="oracle", **options
    )
