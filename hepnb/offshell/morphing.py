"""Benchmarks, kappa morphing, joint likelihood ratio and score, effective sample size, unweighting, and the oracle.

Parameterisation: ``mu = kappa^4`` (HVV scaled by kappa at both vertices), so per event
``w(kappa) = kappa^4 w_S + kappa^2 w_I + w_B``: a quartic in kappa whose kappa^1 and kappa^3 coefficients vanish.
The cross-section ``sigma(mu)`` used to normalise ratios and scores is the sample's own ``mu S + sqrt(mu) I + B``
unless ``yields`` are given (arXiv:1805.00020).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.metrics import weighted
from hepnb.offshell import generator as gen
from hepnb.offshell.events import Events, mu_array
from hepnb.stats.yields import combine, kappa_from_mu

__all__ = [
    "BENCHMARK_KAPPAS",
    "BASIS_KAPPAS",
    "VALIDATION_KAPPA",
    "benchmark_weights",
    "morphing_matrix",
    "morphing_coefficients",
    "morph",
    "joint_log_ratio",
    "joint_score",
    "EffectiveSampleSize",
    "effective_sample_size",
    "unweight",
    "oracle_components",
    "oracle_log_likelihood",
    "oracle_log_ratio",
    "degenerate_partner",
]

#: MadMiner-style benchmarks of ch7: mu = kappa^4 = {0, 0.4096, 1, 2.0736, 3.3215, 5.0625}.
BENCHMARK_KAPPAS: tuple[float, ...] = (0.0, 0.8, 1.0, 1.2, 1.35, 1.5)
#: The five benchmarks that fix the quartic morphing; kappa = 1.35 is held out for validation.
BASIS_KAPPAS: tuple[float, ...] = (0.0, 0.8, 1.0, 1.2, 1.5)
VALIDATION_KAPPA = 1.35


def _kappas(kappas: Any, name: str) -> np.ndarray:
    k = np.asarray(kappas, dtype=float)
    if k.ndim != 1 or not np.all(np.isfinite(k)) or np.any(k < 0):
        raise InputError(f"{name} must be a 1-D list of finite kappa >= 0, got {kappas!r}")
    return k


def benchmark_weights(events: Events, kappas: Any = BENCHMARK_KAPPAS) -> np.ndarray:
    """Event weights at each benchmark, ``(n, len(kappas))``: ``kappa^4 w_S + kappa^2 w_I + w_B``."""
    k = _kappas(kappas, "kappas")
    w_s, w_i, w_b = events.components()
    return combine(k, w_s[:, None], w_i[:, None], w_b[:, None], param="kappa")


def morphing_matrix(basis: Any = BASIS_KAPPAS) -> np.ndarray:
    """Matrix ``M`` with ``coefficients = benchmark_weights @ M.T``: the inverse of the kappa^0..kappa^4 Vandermonde.

    Needs exactly five distinct basis points (a quartic has five coefficients).
    """
    k = _kappas(basis, "basis")
    if len(k) != 5 or len(np.unique(k)) != 5:
        raise InputError(f"the quartic kappa morphing needs 5 distinct basis kappas, got {basis!r}")
    return np.linalg.inv(np.vander(k, 5, increasing=True))


def morphing_coefficients(weights_at_basis: np.ndarray, basis: Any = BASIS_KAPPAS) -> np.ndarray:
    """Per-event polynomial coefficients ``(n, 5)`` of kappa^0..kappa^4 fitted through the basis weights."""
    w = np.asarray(weights_at_basis, dtype=float)
    if w.ndim != 2 or w.shape[1] != 5:
        raise InputError(f"weights_at_basis must have shape (n, 5) (one column per basis kappa), got {w.shape}")
    return w @ morphing_matrix(basis).T


def morph(weights_at_basis: np.ndarray, kappa: float | np.ndarray, basis: Any = BASIS_KAPPAS) -> np.ndarray:
    """Morphed weights at ``kappa`` (scalar -> ``(n,)``, array -> ``(n, len(kappa))``)."""
    coef = morphing_coefficients(weights_at_basis, basis)
    k = np.atleast_1d(np.asarray(kappa, dtype=float))
    out = coef @ np.vander(k, 5, increasing=True).T
    return out[:, 0] if np.ndim(kappa) == 0 else out


def _sigma(events: Events, mu: float, yields: dict[str, float] | None) -> float:
    """sigma(mu) = mu S + sqrt(mu) I + B from the sample (or the given yields)."""
    y = events.yields if yields is None else yields
    return float(combine(mu, y["S"], y["I"], y["B"]))


def joint_log_ratio(events: Events, mu0: float, mu1: float, yields: dict[str, float] | None = None) -> np.ndarray:
    """``log r(x, z | mu0, mu1) = log[(w(z|mu0)/sigma(mu0)) / (w(z|mu1)/sigma(mu1))]`` per event (arXiv:1805.00020).

    Events with zero weight at ``mu1`` give ``+inf`` (or NaN if zero at both).
    """
    m0, m1 = float(mu_array(mu0, "mu0")), float(mu_array(mu1, "mu1"))
    s0, s1 = _sigma(events, m0, yields), _sigma(events, m1, yields)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(events.weight(m0)) - np.log(events.weight(m1)) - np.log(s0) + np.log(s1)


def joint_score(events: Events, mu: float, param: str = "mu", yields: dict[str, float] | None = None) -> np.ndarray:
    """Joint score ``t(x, z | theta) = d/dtheta log(w(z|theta)/sigma(theta))`` with ``theta = mu`` or ``kappa``.

    In mu: ``(w_S + w_I/(2 sqrt mu))/w - (S + I/(2 sqrt mu))/sigma`` (singular at mu = 0); in kappa
    (``mu = kappa^4``, as the ch7 networks): ``(4k^3 w_S + 2k w_I)/w - (4k^3 S + 2k I)/sigma``.
    """
    m = float(mu_array(mu))
    if param not in ("mu", "kappa"):
        raise InputError(f"param must be 'mu' or 'kappa', got {param!r}")
    w_s, w_i, _ = events.components()
    w = events.weight(m)
    y = events.yields if yields is None else yields
    sigma = combine(m, y["S"], y["I"], y["B"])
    with np.errstate(divide="ignore", invalid="ignore"):
        if param == "kappa":
            k = kappa_from_mu(m)
            return (4 * k**3 * w_s + 2 * k * w_i) / w - (4 * k**3 * y["S"] + 2 * k * y["I"]) / sigma
        if m == 0:
            raise InputError("the score in mu is singular at mu = 0 (it contains 1/sqrt(mu)); use param='kappa'")
        s = np.sqrt(m)
        return (w_s + w_i / (2 * s)) / w - (y["S"] + y["I"] / (2 * s)) / sigma


@dataclass(frozen=True)
class EffectiveSampleSize:
    """Effective sample size of a weighted sample (thesis eq 7.2-7.3, section 7.5)."""

    value: float
    n: int
    definition: str
    mu: float | None

    @property
    def fraction(self) -> float:
        """``value / n``."""
        return self.value / self.n if self.n else float("nan")


def effective_sample_size(
    weights: Events | np.ndarray, mu: float | None = None, definition: str = "madminer"
) -> EffectiveSampleSize:
    """``N_eff = sum(w)/max(w)`` (``"madminer"``) or ``(sum w)^2/sum w^2`` (``"kish"``).

    Parameters
    ----------
    weights
        An :class:`Events` sample (then ``mu`` is required and the weights are ``events.weight(mu)``) or an array.
    mu
        Signal strength to reweight the sample to.
    definition
        ``"madminer"`` or ``"kish"``.
    """
    core_definition = {"madminer": "max_weight", "kish": "kish"}.get(definition)
    if core_definition is None:
        raise InputError(f"definition must be 'madminer' or 'kish', got {definition!r}")
    if isinstance(weights, Events):
        if mu is None:
            raise InputError("give mu when passing Events: N_eff depends on the point the sample is reweighted to")
        w = weights.weight(float(mu_array(mu)))
    else:
        w = np.asarray(weights, dtype=float)
    value = weighted.effective_sample_size(w, core_definition)
    return EffectiveSampleSize(value, int(w.size), definition, None if mu is None else float(mu))


def unweight(events: Events, mu: float, n: int | None = None, seed: int = 0) -> Events:
    """Accept-reject unweighting at ``mu`` with probability ``w(z|mu)/max w``.

    The accepted events keep their weight components, rescaled by ``sigma(mu) / (N_acc w(z|mu))`` so that every
    event has weight ``sigma(mu)/N_acc`` at ``mu`` while ``events.weight(mu')`` still reweights to any ``mu'``
    (with the N_eff collapse far from ``mu``). ``n`` caps the number of events returned.
    """
    m = float(mu_array(mu))
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    w = events.weight(m)
    if np.any(w < 0):
        raise InputError(
            f"{int((w < 0).sum())} events have negative weight at mu={m}; unweighting needs w >= 0 "
            "(switch off the negative_pocket pathology)"
        )
    if w.max(initial=0.0) <= 0:
        raise InputError(f"no event has positive weight at mu={m}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7919]))
    accept = np.flatnonzero(rng.random(len(w)) * w.max() < w)
    if n is not None:
        if n > len(accept):
            generated = events.meta.get("n_generated")  # generate(N) counts the events before the selection
            pool, what = (int(generated), "generated") if generated else (len(events), "weighted (selected)")
            raise InputError(
                f"only {len(accept)} events accepted at mu={m}, fewer than the n={n} requested; the "
                f"source holds {pool:,} {what} events: make it about "
                f"{int(np.ceil(n / max(len(accept), 1) * pool * 1.1)):,} {what} events"
            )
        accept = accept[:n]
    sigma = float(events.expected(m))
    scale = sigma / (len(accept) * w[accept])
    arr = events.array[accept]
    arr = _with_weights(arr, {k: np.asarray(arr[k]) * scale for k in ("w_S", "w_I", "w_B")})
    meta = dict(events.meta, kind="unweighted", mu=m, unweight_seed=int(seed))
    return Events(arr, meta)


def _with_weights(arr: Any, new: dict[str, np.ndarray]) -> Any:
    import awkward as ak

    fields = {f: (new[f] if f in new else arr[f]) for f in arr.fields}
    return ak.zip(fields, depth_limit=1)


def degenerate_partner(s: float, i: float) -> float:
    """Signal strength with the same yield as mu = 0 for components ``S`` and ``I``: ``(I/S)^2`` (thesis 7.1)."""
    if s <= 0:
        raise InputError(f"the signal yield S must be positive, got {s}")
    return (i / s) ** 2


# ------------------------------------------------------------------------------------------------------------------
# oracle (detector = "none", VBF)
# ------------------------------------------------------------------------------------------------------------------
def _vbf_model(events: Events) -> gen.VBFModel:
    cfg = events.meta.get("config", {})
    if cfg.get("process") != "vbf":
        raise InputError("the oracle likelihood exists for the VBF/VBS sample (process='vbf') only")
    if cfg.get("detector") != "none":
        raise InputError(
            "the oracle likelihood is exact only without a detector: generate with detector='none' "
            "(with smearing only joint quantities are exact, as in real life)"
        )
    params = dict(cfg["model"])
    params.setdefault("kinematics", "collinear")  # samples written before the exact kinematics had the collinear ones
    for key, value in params.items():
        if isinstance(value, list):
            params[key] = tuple(value)
    return gen.VBFModel(**params)


def oracle_components(events: Events) -> dict[str, np.ndarray]:
    """Helicity-summed densities ``f_S, f_I, f_B`` (expected events per unit of the hard coordinates) and ``q``.

    ``q`` is the generator's proposal density marginalised over the helicities, so that
    ``mean_i(f(u_i)/q(u_i))`` over the generated events estimates the total cross-section (normalisation check; the
    events outside the exact kinematics' phase space, not in the sample, count as zeros).
    """
    model = _vbf_model(events)
    z = {
        k: np.asarray(events.z[k], dtype=np.float64)
        for k in (
            "m4l",
            "y_zz",
            "x_v1",
            "x_v2",
            "pt_q1",
            "pt_q2",
            "cos_theta_zz",
            "cos_theta_z1",
            "cos_theta_z2",
            "phi_z1",
            "phi_z2",
            "phi_q1",
            "phi_q2",
        )
    }
    f_s, f_i, f_b, q = gen.vbf_helicity_sums(z, model)
    cfg = events.meta["config"]
    scale = cfg["lumi"]
    return {"f_S": f_s * scale, "f_I": f_i * scale, "f_B": f_b * scale, "q": q}


def oracle_log_likelihood(events: Events, mu: float, yields: dict[str, float] | None = None) -> np.ndarray:
    """Exact ``log p(u | mu)`` of the hard-process coordinates ``u`` (this package's toy), helicities summed.

    ``p(u|mu) = (mu f_S + sqrt(mu) f_I + f_B)(u) / sigma(mu)`` with ``sigma(mu)`` the selected sample's expected
    yield (or ``yields``). With ``detector="none"`` the observables are a deterministic function of ``u`` plus
    mu-independent radiation, so ratios of this density are the exact ``r(x | mu0, mu1)``. The density is relative to
    the reference measure of the coordinates in ``z`` (``m4l, y_zz, x_v1, pt_q1^2, x_v2, pt_q2^2, cos_theta_zz,
    cos_theta_z1, cos_theta_z2``, and ``phi_q1, phi_q2`` with the exact kinematics; y_ZZ, Z masses, azimuths and
    flavours carry their own normalised densities).
    """
    m = float(mu_array(mu))
    comp = oracle_components(events)
    sigma = _sigma(events, m, yields)
    f = combine(m, comp["f_S"], comp["f_I"], comp["f_B"])
    with np.errstate(divide="ignore"):
        return np.log(f) - np.log(sigma)


def oracle_log_ratio(events: Events, mu0: float, mu1: float, yields: dict[str, float] | None = None) -> np.ndarray:
    """Exact ``log r(x | mu0, mu1)`` for a ``detector="none"`` VBF sample."""
    return oracle_log_likelihood(events, mu0, yields) - oracle_log_likelihood(events, mu1, yields)
