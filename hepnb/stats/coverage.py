"""Coverage of likelihood-ratio intervals and CLs with pseudo-experiments (toys), binned and unbinned.

Wilks' theorem makes ``{mu : q(mu) <= chi2.ppf(cl, 1)}`` a ``cl`` confidence interval only asymptotically; with about
ten expected events and the boundary ``mu >= 0`` (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL
tel-03324250, section 7.7; Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, arXiv:1007.1727) it need
not be. Toys at ``mu_true`` measure it: the fraction of toys whose interval contains ``mu_true``, with a
Clopper-Pearson error.

* :func:`unbinned_coverage`: a pool of weighted events with ``w_i(mu_true) >= 0`` and their per-event
  ``log r(x_i | mu_j, ref)`` on a grid; each toy draws ``n ~ Poisson(N(mu_true))`` events from the pool with
  probability ``w_i / sum w`` (with replacement) and scans the extended likelihood
  ``ln L(mu_j) = -N(mu_j) + n ln N(mu_j) + sum_i log r(x_i | mu_j, ref)`` (shape only: the last sum alone).
* :func:`binned_coverage`: Poisson toys of a :class:`~hepnb.stats.interference.BinnedInterferenceModel`.

Both also report how often the asymptotic CLs test (:func:`hepnb.stats.cls.cls_from_q`, with ``q~_A`` from the
background-only Asimov data) does not exclude ``mu_true`` (nominally at least ``cl``). Toys are seeded and
vectorised over toys and grid points.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse, stats
from tqdm.auto import tqdm

from hepnb.errors import InputError, as_finite_array, is_whole_number
from hepnb.stats.asymptotic import log_ratio_table, rate_log_likelihood, refine_maximum, unbinned_log_likelihood
from hepnb.stats.cls import cls_from_q
from hepnb.stats.interference import BinnedInterferenceModel

__all__ = [
    "LEVELS",
    "Coverage",
    "unbinned_coverage",
    "binned_coverage",
    "coverage_table",
    "clopper_pearson",
    "kish_effective_size",
]

#: Default interval levels: ``q <= 1`` and ``q <= 3.84``.
LEVELS: tuple[float, ...] = (0.6827, 0.95)
_CHUNK = 4_000_000  # toy x grid (x event) entries per chunk


@dataclass(frozen=True, eq=False)
class Coverage:
    """Coverage of the Wilks intervals (and of the CLs test) at ``mu_true`` from ``n_toys`` toys.

    ``covered[k]`` toys have ``q(mu_true) <= chi2.ppf(levels[k], 1)``; ``cls_covered`` toys have
    ``CLs(mu_true) >= 1 - cls_level`` (None without a background-only scan). ``q_true`` and ``mu_hat`` are per toy;
    ``n_eff`` is the pool's Kish effective size and ``reuse = n_toys N(mu_true) / n_eff`` (unbinned; NaN binned).
    """

    label: str
    mu_true: float
    include_rate: bool
    n_toys: int
    levels: tuple[float, ...]
    covered: tuple[int, ...]
    cls_level: float
    cls_covered: int | None
    mean_events: float
    n_eff: float
    reuse: float
    q_true: np.ndarray
    mu_hat: np.ndarray

    def fraction(self, level: float) -> float:
        """The fraction of toys covered at ``level`` (one of :attr:`levels`)."""
        return self.covered[self._index(level)] / self.n_toys

    def error(self, level: float, width: float = 0.6827) -> tuple[float, float]:
        """The Clopper-Pearson interval of the covered fraction at ``level`` (``width``: 68.27%, one sigma)."""
        return clopper_pearson(self.covered[self._index(level)], self.n_toys, width)

    def _index(self, level: float) -> int:
        for k, lev in enumerate(self.levels):
            if np.isclose(lev, level):
                return k
        raise InputError(f"no coverage at level {level}; this result has {self.levels}")

    def row(self) -> dict[str, Any]:
        """One table row: coverage, its Clopper-Pearson one-sigma interval and the nominal level per level."""
        out: dict[str, Any] = {"method": self.label, "rate": "rate" if self.include_rate else "shape"}
        for level, k in zip(self.levels, self.covered):
            lo, hi = clopper_pearson(k, self.n_toys)
            out[f"{100 * level:.1f}% coverage"] = k / self.n_toys
            out[f"{100 * level:.1f}% CP 68% interval"] = f"[{lo:.3f}, {hi:.3f}]"
        if self.cls_covered is not None:
            out[f"CLs {100 * self.cls_level:.0f}% not excluding mu_true"] = self.cls_covered / self.n_toys
        out.update(
            {"toys": self.n_toys, "mean events": self.mean_events, "pool n_eff": self.n_eff, "reuse": self.reuse}
        )
        return out


def clopper_pearson(k: int, n: int, width: float = 0.6827) -> tuple[float, float]:
    """Exact (Clopper-Pearson) central interval of a binomial fraction ``k / n``.

    >>> [round(v, 4) for v in clopper_pearson(50, 100)]
    [0.4453, 0.5547]
    """
    a = (1.0 - width) / 2
    lo = float(stats.beta.ppf(a, k, n - k + 1)) if k > 0 else 0.0
    hi = float(stats.beta.ppf(1 - a, k + 1, n - k)) if k < n else 1.0
    return lo, hi


def kish_effective_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``.

    >>> kish_effective_size([1.0, 1.0, 2.0])
    2.6666666666666665
    """
    w = as_finite_array(weights, "weights", ndim=1)
    return float(w.sum() ** 2 / np.sum(w**2)) if np.any(w != 0) else 0.0


def coverage_table(results: Sequence[Coverage]) -> Any:
    """A pandas DataFrame, one row per :class:`Coverage` (indexed by method and rate choice).

    >>> model = BinnedInterferenceModel.from_arrays([20.0, 10.0], [0.0, 0.0], [40.0, 90.0])
    >>> table = coverage_table(binned_coverage(model, np.linspace(0.0, 3.0, 31), 1.0, n_toys=200))
    >>> table.index.tolist(), table["95.0% coverage"].tolist()
    ([('binned', 'rate'), ('binned', 'shape')], [0.96, 0.975])
    """
    import pandas as pd

    return pd.DataFrame([r.row() for r in results]).set_index(["method", "rate"])


# ------------------------------------------------------------------------------------------------------------------
# the shared core: log likelihoods of the toys on the grid -> coverage
# ------------------------------------------------------------------------------------------------------------------
def _grid(mu: ArrayLike) -> np.ndarray:
    grid = as_finite_array(mu, "mu grid", ndim=1)
    if len(grid) < 3 or np.any(np.diff(grid) <= 0) or grid[0] < 0:
        raise InputError("the mu grid must be increasing, >= 0, with at least three points")
    return grid


def _at(grid: np.ndarray, values: np.ndarray, mu: float) -> np.ndarray:
    """``values[..., j]`` at ``mu``: exact on a grid point, else the parabola through the three nearest points."""
    hit = np.flatnonzero(np.isclose(grid, mu, rtol=1e-12, atol=1e-12))
    if len(hit):
        return values[..., hit[0]]
    j = int(np.clip(np.searchsorted(grid, mu) - 1, 0, len(grid) - 3))
    if j + 2 < len(grid) - 1 and abs(grid[j + 3] - mu) < abs(mu - grid[j]):
        j += 1  # the three points closest to mu
    x = grid[j : j + 3]
    basis = [np.prod([(mu - x[b]) / (x[a] - x[b]) for b in range(3) if b != a]) for a in range(3)]
    return sum(c * values[..., j + a] for a, c in enumerate(basis))


def _evaluate(
    grid: np.ndarray, ll: np.ndarray, mu_true: float, levels: Sequence[float], q_a_true: float | None, cl: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
    """(covered per level, q(mu_true), mu_hat, CLs-covered count) for the toys' log likelihoods ``ll``."""
    best, mu_hat = refine_maximum(grid, ll)
    q_true = np.maximum(-2.0 * (_at(grid, ll, mu_true) - best), 0.0)
    covered = np.array([np.count_nonzero(q_true <= stats.chi2.ppf(lev, 1)) for lev in levels])
    cls_ok = None
    if q_a_true is not None:
        q_tilde = np.where(mu_hat > mu_true, 0.0, q_true)
        cls_ok = int(np.count_nonzero(cls_from_q(q_tilde, q_a_true)[0] >= 1.0 - cl))
    return covered, q_true, mu_hat, cls_ok


def _q_asimov_at(grid: np.ndarray, ll_asimov: np.ndarray | None, mu_true: float) -> float | None:
    """``q~_A(mu_true)`` of the background-only Asimov log likelihood on the grid (None without one)."""
    if ll_asimov is None:
        return None
    best, mu_hat = refine_maximum(grid, ll_asimov)
    if mu_hat > mu_true:
        return 0.0
    return float(max(-2.0 * (_at(grid, ll_asimov, mu_true) - best), 0.0))


def _check_common(mu_true: Any, n_toys: Any, levels: Sequence[float], cl: float) -> tuple[float, int]:
    m = float(mu_true)
    if not np.isfinite(m) or m < 0:
        raise InputError(f"mu_true must be finite and >= 0, got {mu_true!r}")
    if not is_whole_number(n_toys) or n_toys < 1:
        raise InputError(f"n_toys must be a positive integer, got {n_toys!r}")
    if not all(0 < lev < 1 for lev in levels) or not 0 < cl < 1:
        raise InputError(f"levels and cl must be in (0, 1), got {levels} and {cl}")
    return m, int(n_toys)


def _results(
    label: str,
    grid: np.ndarray,
    lls: dict[bool, tuple[np.ndarray, np.ndarray | None]],
    mu_true: float,
    levels: Sequence[float],
    cl: float,
    mean_events: float,
    n_eff: float,
    reuse: float,
) -> tuple[Coverage, ...]:
    out = []
    for rate, (ll, ll_asimov) in lls.items():
        covered, q_true, mu_hat, cls_ok = _evaluate(
            grid, ll, mu_true, levels, _q_asimov_at(grid, ll_asimov, mu_true), cl
        )
        out.append(
            Coverage(
                label,
                mu_true,
                rate,
                len(ll),
                tuple(float(lev) for lev in levels),
                tuple(int(c) for c in covered),
                float(cl),
                cls_ok,
                mean_events,
                n_eff,
                reuse,
                q_true,
                mu_hat,
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------------------------------------------
# unbinned
# ------------------------------------------------------------------------------------------------------------------
def unbinned_coverage(
    log_r: ArrayLike,
    weights: ArrayLike,
    expected: ArrayLike,
    mu: ArrayLike,
    mu_true: float,
    *,
    n_toys: int = 2000,
    seed: int = 0,
    include_rate: Sequence[bool] = (True, False),
    background_weights: ArrayLike | None = None,
    levels: Sequence[float] = LEVELS,
    cl: float = 0.95,
    max_reuse: float = 10.0,
    label: str = "",
    progress: bool | None = None,
) -> tuple[Coverage, ...]:
    """Coverage of the unbinned likelihood-ratio intervals with toys drawn from a weighted event pool.

    Each toy draws ``n ~ Poisson(N(mu_true))``, ``N(mu_true) = sum_i w_i``, events from the pool with probability
    ``w_i / sum w`` (with replacement) and scans ``ln L(mu_j) = -N(mu_j) + n ln N(mu_j) + sum_i log r(x_i | mu_j,
    ref)`` (``include_rate=False``: the sum alone); ``q(mu) = -2 [ln L(mu) - max ln L]`` with the maximum over the
    grid refined by a parabola, ``ln L(mu_true)`` interpolated by a parabola if ``mu_true`` is not a grid point (put
    ``mu_true`` on the grid for exact values). Toys share
    pool events when ``n_toys N(mu_true)`` exceeds the pool's Kish effective size: a warning above 1, an error above
    ``max_reuse``.

    Parameters
    ----------
    log_r
        ``(len(mu), n_events)`` per-event ``log r(x_i | mu_j, ref)`` (any fixed reference).
    weights
        ``(n_events,)`` weights ``w_i(mu_true) >= 0`` in expected events.
    expected
        ``N(mu_j)`` on the grid, in the same units as ``weights``.
    mu
        The increasing grid of mu.
    mu_true
        The signal strength of the toys (``weights`` are at it).
    n_toys, seed
        Number of toys; seed of ``numpy.random.default_rng``.
    include_rate
        Which likelihoods to evaluate (the same toys for each).
    background_weights
        ``w_i(0)``: with them the CLs test of ``mu_true`` is evaluated too (``q~_A`` from the mu = 0 Asimov data).
    levels, cl
        Wilks interval levels (``q <= chi2.ppf(level, 1)``); the CLs level.
    max_reuse
        The largest ``n_toys N(mu_true) / n_eff`` accepted.
    label
        Method label of the results.
    progress
        Show a tqdm bar (default: for long runs).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x, grid = rng.normal(1.5, 1.0, 100_000), np.linspace(0.0, 3.0, 31)  # a pool at mu_true = 1.5
    >>> log_r = x[None, :] * grid[:, None] - 0.5 * grid[:, None] ** 2  # N(mu, 1) against N(0, 1)
    >>> w = np.full(len(x), 50 / len(x))  # 50 expected events
    >>> shape = unbinned_coverage(log_r, w, np.full(31, 50.0), grid, 1.5, n_toys=500, include_rate=(False,))[0]
    >>> round(shape.fraction(0.6827), 2)
    0.69
    """
    grid = _grid(mu)
    m_true, n_toys = _check_common(mu_true, n_toys, levels, cl)
    w = as_finite_array(weights, "weights", ndim=1)
    lr = log_ratio_table(log_r, len(grid), "mu")
    nu = as_finite_array(expected, "expected yields", ndim=1)
    if lr.shape[1] != len(w):
        raise InputError(f"log_r has {lr.shape[1]} events (columns), weights {len(w)}: give one weight per event")
    if nu.shape != grid.shape or np.any(nu <= 0):
        raise InputError(f"expected must give N(mu_j) > 0 at each of the {len(grid)} grid points")
    if np.any(w < 0) or not w.sum() > 0:
        raise InputError("the pool weights w_i(mu_true) must be >= 0 with a positive sum (toys draw events by weight)")
    used = w > 0
    if not np.isfinite(lr[:, used]).all():
        raise InputError("log_r is not finite for some events of positive weight: drop them or restrict the grid")
    n_true = float(w.sum())
    if grid[0] <= m_true <= grid[-1] and not np.isclose(_at(grid, nu, m_true), n_true, rtol=1e-2):
        raise InputError(
            f"sum of the weights ({n_true:.6g}) differs from expected at mu_true ({_at(grid, nu, m_true):.6g}): "
            "give weights and yields at the same luminosity"
        )
    n_eff = kish_effective_size(w)
    reuse = n_toys * n_true / n_eff
    if reuse > max_reuse:
        raise InputError(
            f"{n_toys} toys of {n_true:.3g} events draw {reuse:.1f} times the pool's effective size "
            f"{n_eff:.0f}: use fewer toys, a larger pool, or raise max_reuse"
        )
    if reuse > 1:
        warnings.warn(
            f"the toys draw {reuse:.2f} times the pool's Kish effective size ({n_eff:.0f} events): toys share events "
            "and the binomial errors of the coverage are somewhat optimistic",
            RuntimeWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    counts = rng.poisson(n_true, n_toys)
    picks = rng.choice(len(w), size=int(counts.sum()), p=w / n_true)
    toy = np.repeat(np.arange(n_toys), counts)
    # sum_i log r per toy and grid point, in chunks of toys: (toys x pool) counts matrix times the (pool x grid) table
    sums = np.empty((n_toys, len(grid)))
    step = max(1, int(_CHUNK // max(len(grid) * max(n_true, 1.0), 1.0)))
    starts = range(0, n_toys, step)
    show = progress if progress is not None else len(starts) > 20
    bounds = np.r_[0, np.cumsum(counts)]
    for s in tqdm(starts, desc="toys", disable=not show):
        e = min(s + step, n_toys)
        sl = slice(bounds[s], bounds[e])
        c = sparse.csr_matrix((np.ones(sl.stop - sl.start), (toy[sl] - s, picks[sl])), shape=(e - s, len(w)))
        sums[s:e] = (c @ lr.T) if c.nnz else 0.0
    lls: dict[bool, tuple[np.ndarray, np.ndarray | None]] = {}
    w0 = None if background_weights is None else as_finite_array(background_weights, "background_weights", ndim=1)
    if w0 is not None and (
        w0.shape != w.shape or np.any(w0 < 0) or not w0.sum() > 0 or not np.isfinite(lr[:, w0 > 0]).all()
    ):
        raise InputError(
            "background_weights must be w_i(0) >= 0 of the same events with a positive sum (the expected background), "
            "with finite log r"
        )
    for rate in include_rate:
        asimov = None
        if w0 is not None:  # the background-only Asimov scan, as hepnb.lfi.likelihood_scan
            kinematic, rate_ll, _ = unbinned_log_likelihood(lr, w0, nu if rate else None, grid="mu")
            asimov = kinematic + (rate_ll if rate else 0.0)
        lls[bool(rate)] = (sums + (rate_log_likelihood(counts, nu) if rate else 0.0), asimov)
    return _results(label, grid, lls, m_true, levels, cl, float(counts.mean()), n_eff, float(reuse))


# ------------------------------------------------------------------------------------------------------------------
# binned
# ------------------------------------------------------------------------------------------------------------------
def binned_coverage(
    model: BinnedInterferenceModel,
    mu: ArrayLike,
    mu_true: float,
    *,
    n_toys: int = 2000,
    seed: int = 0,
    include_rate: Sequence[bool] = (True, False),
    levels: Sequence[float] = LEVELS,
    cl: float = 0.95,
    label: str = "binned",
) -> tuple[Coverage, ...]:
    """Coverage of the binned intervals (and CLs) with Poisson toys ``n_k ~ Poisson(N_k(mu_true))``.

    ``ln L(mu_j) = sum_k [n_k ln N_k(mu_j) - N_k(mu_j)]`` (shape only: ``sum_k n_k ln(N_k(mu_j) / N(mu_j))``), the
    same scan, maximum and CLs as :func:`unbinned_coverage` (``q~_A`` from the model's mu = 0 Asimov data).

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([200.0, 100.0], [0.0, 0.0], [400.0, 900.0])
    >>> full = binned_coverage(model, np.linspace(0.0, 3.0, 61), 1.0, n_toys=1000, include_rate=(True,))[0]
    >>> round(full.fraction(0.95), 2)
    0.95
    """
    if not isinstance(model, BinnedInterferenceModel):
        raise InputError(f"model must be a BinnedInterferenceModel, got {type(model).__name__}")
    grid = _grid(mu)
    m_true, n_toys = _check_common(mu_true, n_toys, levels, cl)
    model.check_positive(np.r_[grid, m_true])
    nu = np.stack([model.expected(float(m)).ravel() for m in grid])  # (grid, bins)
    counts = np.random.default_rng(seed).poisson(model.expected(m_true).ravel(), (n_toys, nu.shape[1])).astype(float)
    background = model.asimov_data(0.0).ravel()
    lls: dict[bool, tuple[np.ndarray, np.ndarray | None]] = {}
    for rate in include_rate:
        log_nu = np.log(nu) if rate else np.log(nu / nu.sum(axis=1, keepdims=True))
        offset = nu.sum(axis=1) if rate else 0.0
        lls[bool(rate)] = (counts @ log_nu.T - offset, log_nu @ background - offset)
    return _results(label, grid, lls, m_true, levels, cl, float(counts.sum(axis=1).mean()), float("nan"), float("nan"))
