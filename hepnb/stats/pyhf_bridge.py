"""The binned interference model of :mod:`hepnb.stats.interference` in stock pyhf (0.7.x).

pyhf has no sqrt(mu) modifier (custom modifiers are unreleased, pyhf PR #1991), and attaching the same normfactor
twice to one sample is silently collapsed into one (pyhf issue #2059). So the workspace has three samples with
separate normfactors (the histogram baseline of A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL
tel-03324250, section 7.7)::

    S: normfactor "mu_S"        I: normfactor "sqrt_mu_I"        B: no normfactor

and mu is scanned by fixing ``mu_S = mu`` and ``sqrt_mu_I = sqrt(mu)`` (``fixed_params``) while the nuisances
(the per-bin MC-statistics ``staterror`` "mc_stat", and for shape-only fits a free overall "shape_norm") are
profiled with ``pyhf.infer.mle.fit``.

Negative interference templates: pyhf accepts a sample with negative bin contents (the schema has no sign
constraint) and evaluates the Poisson likelihood of the per-bin *total*. If the total of a bin is 0 at some
parameter point ``logpdf`` is ``-inf``, if it is negative ``logpdf`` is NaN, silently (pyhf issue #2093), and a
fit then fails or wanders. Never build the model with ``clip_sample_data``: it would clip the I sample to 0.
Every function here checks ``N_k(mu) > 0`` over the scanned range first and raises a clear error instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pyhf
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array
from hepnb.io import atomic_write, write_json
from hepnb.stats.asymptotic import refine_minimum
from hepnb.stats.constants import thesis_mu_grid
from hepnb.stats.interference import BinnedInterferenceModel, InterferenceScan

__all__ = [
    "MU_S",
    "SQRT_MU_I",
    "MC_STAT",
    "SHAPE_NORM",
    "to_pyhf_spec",
    "to_workspace",
    "pyhf_parameters",
    "pyhf_scan",
    "export_workspace_json",
    "README_TEMPLATE",
]

#: Normfactor on the signal-only sample S (fixed to mu in a scan).
MU_S = "mu_S"
#: Normfactor on the interference sample I (fixed to sqrt(mu) in a scan).
SQRT_MU_I = "sqrt_mu_I"
#: The per-bin MC-statistics nuisance (pyhf ``staterror``), shared by the three samples.
MC_STAT = "mc_stat"
#: Free overall normalisation of all samples: profiling it turns the Poisson fit into the shape-only one.
SHAPE_NORM = "shape_norm"

_CHANNEL = "binned"
_MEASUREMENT = "interference_scan"


def _check_mu_max(mu_max: float) -> float:
    if not np.isfinite(mu_max) or mu_max <= 0:
        raise InputError(f"mu_max (upper bound of mu_S) must be finite and > 0, got {mu_max}")
    return float(mu_max)


def to_pyhf_spec(model: BinnedInterferenceModel, *, mc_stat: bool = False, include_rate: bool = True) -> dict[str, Any]:
    """pyhf model spec (``{"channels": [...]}``, for ``pyhf.Model``) of the three-sample interference model.

    2-d templates are flattened (row-major, as ``numpy.ravel``) into one channel.

    Parameters
    ----------
    model
        The binned templates.
    mc_stat
        Attach a ``staterror`` "mc_stat" (one gamma per bin, shared by S, I and B; data ``sqrt(variance)``,
        zero where a template has no variance) to all samples. Needs MC variances in the model.
    include_rate
        If False, add a free normfactor "shape_norm" to all samples: profiling it gives the shape-only fit.
    """
    if mc_stat and not model.has_mc_stat:
        raise InputError("mc_stat=True needs MC variances in the model (s_var/i_var/b_var or Weight-storage hists)")
    if mc_stat:
        model.mc_stat_rel_error()  # clear error if the SM total is not > 0 (pyhf would divide by it)
    samples = []
    for name, values, var, normfactor in (
        ("S", model.s, model.s_var, MU_S),
        ("I", model.i, model.i_var, SQRT_MU_I),
        ("B", model.b, model.b_var, None),
    ):
        modifiers: list[dict[str, Any]] = []
        if normfactor is not None:
            modifiers.append({"name": normfactor, "type": "normfactor", "data": None})
        if not include_rate:
            modifiers.append({"name": SHAPE_NORM, "type": "normfactor", "data": None})
        if mc_stat:
            error = np.zeros(model.n_bins) if var is None else np.sqrt(var.ravel())
            modifiers.append({"name": MC_STAT, "type": "staterror", "data": error.tolist()})
        samples.append({"name": name, "data": values.ravel().tolist(), "modifiers": modifiers})
    return {"channels": [{"name": _CHANNEL, "samples": samples}]}


def _observations(model: BinnedInterferenceModel, data: ArrayLike | None, mu_true: float) -> np.ndarray:
    if data is None:
        return model.asimov_data(mu_true).ravel()
    n = as_finite_array(data, "data")
    if n.shape != model.shape and n.shape != (model.n_bins,):
        raise InputError(f"data must have one count per bin, shape {model.shape}, got {n.shape}")
    if np.any(n < 0):
        raise InputError("data are event counts and must be >= 0")
    return n.ravel()


def to_workspace(
    model: BinnedInterferenceModel,
    data: ArrayLike | None = None,
    *,
    mu_true: float = 1.0,
    mc_stat: bool = False,
    include_rate: bool = True,
    mu_max: float = 16.0,
) -> pyhf.Workspace:
    """A validated ``pyhf.Workspace``: :func:`to_pyhf_spec`, the observations and a measurement.

    The measurement's POI is "mu_S" with bounds ``[0, mu_max]``; "sqrt_mu_I" has ``[0, sqrt(mu_max)]``.

    Parameters
    ----------
    model
        The binned templates.
    data
        Observed counts per bin; None for Asimov data at ``mu_true``.
    mu_true
        Signal strength of the Asimov data.
    mc_stat, include_rate
        As in :func:`to_pyhf_spec`.
    mu_max
        Largest mu the workspace may be evaluated at (the end of the scan).
    """
    mu_max = _check_mu_max(mu_max)
    observations = _observations(model, data, mu_true)
    parameters: list[dict[str, Any]] = [
        {"name": MU_S, "bounds": [[0.0, mu_max]], "inits": [1.0]},
        {"name": SQRT_MU_I, "bounds": [[0.0, float(np.sqrt(mu_max))]], "inits": [1.0]},
    ]
    if not include_rate:
        parameters.append({"name": SHAPE_NORM, "bounds": [[1e-6, 1e6]], "inits": [1.0]})
    spec = to_pyhf_spec(model, mc_stat=mc_stat, include_rate=include_rate)
    spec.update(
        observations=[{"name": _CHANNEL, "data": observations.tolist()}],
        measurements=[{"name": _MEASUREMENT, "config": {"poi": MU_S, "parameters": parameters}}],
        version="1.0.0",
    )
    return pyhf.Workspace(spec)


def pyhf_parameters(pdf: pyhf.pdf.Model, mu: float, init: ArrayLike | None = None) -> np.ndarray:
    """Parameter vector of ``pdf`` with ``mu_S = mu`` and ``sqrt_mu_I = sqrt(mu)`` (others from ``init``)."""
    pars = np.array(pdf.config.suggested_init() if init is None else init, dtype=float)
    pars[pdf.config.par_slice(MU_S)] = mu
    pars[pdf.config.par_slice(SQRT_MU_I)] = np.sqrt(mu)
    return pars


def pyhf_scan(
    model: BinnedInterferenceModel,
    mu_grid: ArrayLike | None = None,
    data: ArrayLike | None = None,
    *,
    mu_true: float = 1.0,
    include_rate: bool = True,
    profile_mc_stat: bool = False,
    tolerance: float = 1e-12,
) -> InterferenceScan:
    """``q(mu)`` from stock pyhf: ``-2 logpdf`` with ``mu_S = mu``, ``sqrt_mu_I = sqrt(mu)`` fixed.

    Without nuisances ``logpdf`` is evaluated directly; with them ("mc_stat", "shape_norm") they are profiled by
    ``pyhf.infer.mle.fit(..., fixed_params=...)``. The minimum is found as in
    :meth:`BinnedInterferenceModel.scan` (grid, then refined in sqrt(mu) over the scanned range), so the two
    agree to the optimiser's tolerance.

    Parameters
    ----------
    model
        The binned templates.
    mu_grid
        Increasing grid of mu >= 0; default :func:`~hepnb.stats.constants.thesis_mu_grid`.
    data
        Observed counts per bin; None for Asimov data at ``mu_true``.
    mu_true
        Signal strength of the Asimov data.
    include_rate
        If False, profile a free overall normalisation (shape-only fit).
    profile_mc_stat
        Add and profile the per-bin ``staterror``.
    tolerance
        Tolerance passed to pyhf's scipy optimiser when nuisances are profiled.
    """
    mu = thesis_mu_grid() if mu_grid is None else np.atleast_1d(as_finite_array(mu_grid, "mu_grid"))
    if mu.ndim != 1 or len(mu) < 2 or np.any(np.diff(mu) <= 0):
        raise InputError("mu_grid must be a strictly increasing 1-d grid of at least two points")
    model.check_positive(mu)  # pyhf would return NaN/-inf silently
    if data is None:
        model.check_positive([mu_true])
    workspace = to_workspace(
        model, data, mu_true=mu_true, mc_stat=profile_mc_stat, include_rate=include_rate, mu_max=float(mu[-1])
    )
    pdf = workspace.model()
    observed = workspace.data(pdf)
    fixed = [False] * pdf.config.npars
    for name in (MU_S, SQRT_MU_I):
        fixed[pdf.config.par_slice(name).start] = True
    profile = not all(fixed)
    bounds = pdf.config.suggested_bounds()

    def twice_nll(m: float) -> float:
        pars = pyhf_parameters(pdf, m)
        if not profile:
            value = -2.0 * float(pdf.logpdf(pars, observed)[0])
        else:
            _, value = pyhf.infer.mle.fit(
                observed,
                pdf,
                init_pars=pars.tolist(),
                par_bounds=bounds,
                fixed_params=fixed,
                return_fitted_val=True,
                tolerance=tolerance,
            )
            value = float(value)
        if not np.isfinite(value):
            raise InputError(f"pyhf returned a non-finite -2 logpdf ({value}) at mu = {m:g}")
        return value

    raw = np.array([twice_nll(float(m)) for m in mu])
    mu_hat, minimum = refine_minimum(mu, raw, twice_nll)
    q = np.maximum(raw - minimum, 0.0)
    return InterferenceScan(
        mu,
        q,
        raw,
        float(mu_hat),
        float(mu_true) if data is None else None,
        np.asarray(observed[: model.n_bins], dtype=float).reshape(model.shape),  # main data, then auxdata
        bool(include_rate),
        bool(profile_mc_stat),
        "pyhf",
    )


#: How to scan mu with stock pyhf, written next to every exported workspace (:func:`export_workspace_json`); the
#: code block runs as it is (tests/test_stats_interference.py executes it).
README_TEMPLATE = """# {name}: a pyhf workspace of N(mu) = mu S + sqrt(mu) I + B

Written by hepnb (`hepnb.stats.pyhf_bridge.export_workspace_json`): {n_bins} bins, {data},
{rate}{mc_stat}. The samples S (signal alone), I (interference, negative in some bins) and B (everything without
mu) carry the normfactors `mu_S` (S) and `sqrt_mu_I` (I); the measurement's POI is `mu_S`, bounds [0, {mu_max:g}].

## What stock pyhf cannot do with it

pyhf has no sqrt(mu) modifier, so the dependence of I on mu is two normfactors that must move together:
`mu_S = mu` and `sqrt_mu_I = sqrt(mu)`. pyhf's interval tools (`pyhf.infer.intervals.upper_limits`,
`pyhf.infer.hypotest`) scan the POI with every other free parameter profiled: they would fit `sqrt_mu_I` as an
unrelated nuisance in [0, {sqrt_mu_max:g}], which gives wrong limits. Do not use them on this workspace. The total
N(mu) is positive in every bin for mu in [0, {mu_max:g}] (checked when the workspace was written); beyond that it
may not be, and pyhf then returns NaN.

## The scan with stock pyhf

Fix both normfactors at each mu and profile the rest (`pyhf.infer.mle.fit`); q(mu) is -2 log L relative to its
smallest value over the scan:

```python
import json

import numpy as np
import pyhf

with open("{file}") as handle:
    workspace = pyhf.Workspace(json.load(handle))
pdf = workspace.model()
data = workspace.data(pdf)
fixed = pdf.config.suggested_fixed()
for name in ("mu_S", "sqrt_mu_I"):
    fixed[pdf.config.par_slice(name).start] = True
mu_grid = np.linspace(0.0, {mu_max:g}, 65)
twice_nll = []
for mu in mu_grid:
    init = pdf.config.suggested_init()
    init[pdf.config.par_slice("mu_S").start] = mu
    init[pdf.config.par_slice("sqrt_mu_I").start] = np.sqrt(mu)
    if all(fixed):  # nothing to profile
        twice_nll.append(-2.0 * float(pdf.logpdf(init, data)[0]))
    else:
        _, value = pyhf.infer.mle.fit(data, pdf, init_pars=init, fixed_params=fixed, return_fitted_val=True)
        twice_nll.append(float(value))
q = np.array(twice_nll) - min(twice_nll)
```

q(mu) is asymptotically chi2(1) only away from the boundary mu = 0 and from the degenerate partner of the best fit
(where N(mu) has the same total): read intervals off q with that in mind (A. Ghosh, PhD thesis, Universite
Paris-Saclay 2020, HAL tel-03324250, section 7.7). hepnb's own scan of the same model is
`hepnb.stats.pyhf_bridge.pyhf_scan` (it refines the minimum between grid points).
"""


def export_workspace_json(
    model: BinnedInterferenceModel, data: ArrayLike | None, path: str | os.PathLike[str], **options: Any
) -> Path:
    """Write the pyhf workspace of ``model`` and ``data`` as JSON, and next to it (``<stem>.README.md``) what stock
    pyhf can and cannot do with it and the scan recipe (:data:`README_TEMPLATE`), atomically; returns the path.

    ``pyhf.Workspace(json.load(open(path)))`` rebuilds it. ``options`` go to :func:`to_workspace`
    (``mu_true``, ``mc_stat``, ``include_rate``, ``mu_max``). The totals must be positive up to ``mu_max``.
    """
    workspace = to_workspace(model, data, **options)
    mu_max = float(options.get("mu_max", 16.0))
    model.check_positive([0.0, mu_max])  # the whole interval: the README promises a positive N(mu) there
    path = Path(path)
    write_json(path, dict(workspace))
    text = README_TEMPLATE.format(
        name=path.stem,
        file=path.name,
        n_bins=model.n_bins,
        data="Asimov data at mu = {:g}".format(options.get("mu_true", 1.0)) if data is None else "observed data",
        rate="rate and shape" if options.get("include_rate", True) else "shape only (a free `shape_norm`)",
        mc_stat=", per-bin MC statistics as a `staterror` `mc_stat`" if options.get("mc_stat") else "",
        mu_max=mu_max,
        sqrt_mu_max=float(np.sqrt(mu_max)),
    )
    with atomic_write(path.with_suffix(".README.md"), "w") as handle:
        handle.write(text)
    return path
