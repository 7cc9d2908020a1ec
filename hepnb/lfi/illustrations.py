"""The figures before the methods (notebook 03): the 1-D Gaussian toy and the effective sample size.

* :func:`toy_illustration`: the toy of the talk's figures 5 and 6, joint vs exact ratio and score;
* :func:`neff_table`: the MadMiner effective sample size against kappa for unweighted samples at each benchmark
  (thesis Fig 7.7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import hist
import numpy as np
import pandas as pd

from hepnb.errors import InputError, as_finite_array, is_whole_number
from hepnb.lfi.toy import GaussianToy
from hepnb.offshell import Events, effective_sample_size, unweighted

__all__ = ["ToyIllustration", "toy_illustration", "neff_table"]


@dataclass(frozen=True, eq=False)
class ToyIllustration:
    """Events of the Gaussian toy with their joint and exact ratio and score.

    ``x`` and ``z`` are drawn at ``theta1`` (ratio panel) and at ``theta`` (score panel); ``bin_centres`` and the
    ``*_binned`` arrays are the means of the joint quantities in bins of x, which converge to the exact ones
    (thesis section 4.8.1: ``E[r(x,z) | x] = r(x)`` under ``theta1``, ``E[t(x,z) | x] = t(x)`` under ``theta``).

    Examples
    --------
    >>> from hepnb.lfi.illustrations import toy_illustration
    >>> ill = toy_illustration(2_000, seed=1, bins=[-1.0, 0.0, 1.0])
    >>> ill.x_ratio.shape, ill.joint_r.shape, ill.x_score.shape, ill.bin_centres.tolist()
    ((4000,), (4000,), (2000,), [-0.5, 0.5])
    >>> ill.t_binned.round(1), ill.exact_t(ill.bin_centres).round(1)  # binned joint score vs exact score
    (array([-0.1,  0.1]), array([-0.1,  0.1]))
    """

    toy: GaussianToy
    theta0: float
    theta1: float
    theta: float
    x_ratio: np.ndarray
    y: np.ndarray
    joint_r: np.ndarray
    x_score: np.ndarray
    joint_t: np.ndarray
    bin_centres: np.ndarray
    r_binned: np.ndarray
    t_binned: np.ndarray

    def exact_r(self, x: np.ndarray) -> np.ndarray:
        """``r(x | theta0, theta1)``."""
        return np.exp(self.toy.log_ratio(x, self.theta0, self.theta1))

    def exact_t(self, x: np.ndarray) -> np.ndarray:
        """``t(x | theta)``."""
        return self.toy.score(x, self.theta)


#: Histogram edges of the toy figures.
_TOY_BINS = np.linspace(-5.0, 5.0, 21)


def toy_illustration(
    n: int = 20_000,
    seed: int = 0,
    *,
    theta0: float = 1.0,
    theta1: float = -1.0,
    theta: float = 0.0,
    bins: Any = _TOY_BINS,
) -> ToyIllustration:
    """The toy of figures 5 and 6: ``n`` events per hypothesis, joint vs exact ``r`` and ``t``.

    Examples
    --------
    >>> from hepnb.lfi.illustrations import toy_illustration
    >>> ill = toy_illustration(2_000, seed=1, bins=[-1.0, 0.0, 1.0, 20.0, 21.0])
    >>> ill.r_binned.round(2)  # mean of r(x,z) per bin of x; nan: no event in [20, 21)
    array([0.81, 1.19, 2.83,  nan])
    >>> ill.exact_r(ill.bin_centres[:2]).round(2)
    array([0.82, 1.22])
    """
    if not is_whole_number(n) or n < 10:
        raise InputError(f"n must be an integer >= 10, got {n!r}")
    toy = GaussianToy()
    sample = toy.ratio_sample(2 * int(n), seed, [theta0], theta1)
    x = sample.x[:, 0]
    local = toy.local_sample(int(n), seed + 1, theta)
    edges = as_finite_array(bins, "bins", ndim=1)
    ref = sample.y == 1  # drawn at theta1: E[r(x,z)|x] = r(x)
    r = np.exp(sample.log_r_xz)
    return ToyIllustration(
        toy,
        float(theta0),
        float(theta1),
        float(theta),
        x,
        sample.y,
        r,
        local.x[:, 0],
        local.t_xz,
        0.5 * (edges[1:] + edges[:-1]),
        _binned_mean(x[ref], r[ref], edges),
        _binned_mean(local.x[:, 0], local.t_xz, edges),
    )


def _binned_mean(x: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of ``values`` in the bins ``[e_i, e_i+1)`` of ``x``: a ``Mean``-storage histogram (NaN where empty)."""
    h = hist.Hist(hist.axis.Variable(edges), storage=hist.storage.Mean())
    h.fill(x, sample=values)
    view = h.view()
    return np.where(view.count > 0, view.value, np.nan)


def neff_table(pool: Events, benchmarks: Sequence[float], kappas: Sequence[float], n: int, seed: int) -> pd.DataFrame:
    """MadMiner ``N_eff = sum w / max w`` of ``n`` unweighted events at each benchmark, reweighted to each kappa.

    Rows: kappa; columns: ``"kappa_b = ..."``, the source benchmark. The relative value ``N_eff / n`` is 1 at the
    benchmark itself and falls where the target has events the source rarely makes (Fig 7.7).

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.illustrations import neff_table
    >>> pool = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> table = neff_table(pool, benchmarks=[1.0, 1.5], kappas=[0.0, 1.0, 1.5], n=30, seed=3)
    >>> table.columns.tolist(), table.index.tolist()
    (['kappa_b = 1', 'kappa_b = 1.5'], [0.0, 1.0, 1.5])
    >>> (table / 30).round(2).loc[[1.0, 1.5]].to_numpy()  # 1 on the diagonal: every event weighs the same there
    array([[1.  , 0.69],
           [0.15, 1.  ]])
    """
    ks = as_finite_array(kappas, "kappas", ndim=1)
    out = {}
    for j, kb in enumerate(benchmarks):
        sample = unweighted(float(kb) ** 4, int(n), seed + j, source=pool)
        out[f"kappa_b = {float(kb):g}"] = [effective_sample_size(sample, float(k) ** 4).value for k in ks]
    return pd.DataFrame(out, index=pd.Index(ks, name="kappa"))
