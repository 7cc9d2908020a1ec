"""Binned likelihood for a signal that interferes with its background: ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k``.

The histogram baseline of the off-shell study (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL
tel-03324250, section 7.7): templates S (signal only), I (interference, often negative) and B (everything that
does not scale with mu) per bin, a Poisson (shape and rate) or multinomial (shape only) likelihood, and a scan of
``q(mu) = 2 (NLL(mu) - min NLL)`` on a mu grid (the thesis grid, :func:`hepnb.stats.constants.thesis_mu_grid`),
turned into p-values (chi2, 1 dof) and intervals.

Yields come from :func:`hepnb.stats.yields.combine`, Asimov scans without nuisances from
:func:`hepnb.stats.asymptotic.asimov_scan`, deviances from :func:`hepnb.stats.deviance.poisson_half_deviance`.
This module adds what those do not cover: arbitrary (observed) data, the minimum over mu, and the profiling of
one MC-statistics nuisance per bin (pyhf's ``staterror``, Barlow-Beeston lite, solved in closed form).
:mod:`hepnb.stats.pyhf_bridge` writes the same model as a stock pyhf workspace; :mod:`hepnb.stats.cls` computes
CLs and upper limits from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import hist
import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, xlogy

from hepnb.errors import InputError, as_finite_array, check_same_length
from hepnb.stats.asymptotic import Scan, asimov_scan, refine_minimum
from hepnb.stats.constants import thesis_mu_grid
from hepnb.stats.deviance import poisson_half_deviance
from hepnb.stats.yields import combine, expected_yield

__all__ = ["BinnedInterferenceModel", "InterferenceScan"]

_TEMPLATES = ("S", "I", "B")


@dataclass(frozen=True, eq=False)
class InterferenceScan(Scan):
    """``q(mu) = 2 (NLL(mu) - min NLL)`` on a grid of mu, for Asimov or observed data.

    ``mu_hat`` is the best fit in the scanned range (where ``q = 0``), ``mu_true`` the signal strength of the
    Asimov data (None for observed data). ``twice_nll`` is ``2 NLL(mu)`` up to a constant (numpy: minus the
    saturated model; pyhf: the full ``-2 logpdf``), ``method`` says what computed it (``"numpy"`` here, ``"pyhf"``
    in :mod:`hepnb.stats.pyhf_bridge`). ``z``, ``p_value`` and ``interval(cl)`` come from :class:`Scan`.
    """

    mu: np.ndarray
    q: np.ndarray
    twice_nll: np.ndarray
    mu_hat: float
    mu_true: float | None
    data: np.ndarray
    include_rate: bool
    profile_mc_stat: bool
    method: str


def _template(values: ArrayLike, name: str) -> np.ndarray:
    array = as_finite_array(values, f"template {name}")
    if array.ndim not in (1, 2) or array.size == 0:
        raise InputError(f"template {name} must be a non-empty 1-d or 2-d array of bin contents, got {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class BinnedInterferenceModel:
    """Templates S, I, B (bin contents at the SM, mu = 1) with ``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k``.

    Build with :meth:`from_arrays`, :meth:`from_hists` or :meth:`from_weighted_events`. Templates are 1-d or 2-d
    (one entry per bin); I may be negative, the total must be > 0 in every bin at every scanned mu
    (:meth:`check_positive`). ``s_var``, ``i_var``, ``b_var`` are the MC statistical variances (``sum w^2``) of
    each template, None if unknown; they feed the per-bin MC-statistics nuisance (:meth:`mc_stat_rel_error`).
    ``edges`` (one array per axis) and ``axis_names`` describe the binning, when known.
    """

    s: np.ndarray
    i: np.ndarray
    b: np.ndarray
    s_var: np.ndarray | None = None
    i_var: np.ndarray | None = None
    b_var: np.ndarray | None = None
    edges: tuple[np.ndarray, ...] | None = None
    axis_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        s, i, b = (_template(v, n) for v, n in zip((self.s, self.i, self.b), _TEMPLATES))
        shapes = {"S": s.shape, "I": i.shape, "B": b.shape}
        if len(set(shapes.values())) > 1:
            raise InputError(
                f"templates S, I and B must have the same binning, got shapes {shapes}; "
                "fill them with the same bin edges"
            )
        object.__setattr__(self, "s", s)
        object.__setattr__(self, "i", i)
        object.__setattr__(self, "b", b)
        for name in ("s_var", "i_var", "b_var"):
            value = getattr(self, name)
            if value is None:
                continue
            var = as_finite_array(value, f"MC variance {name}")
            if var.shape != s.shape:
                raise InputError(f"{name} must have the templates' shape {s.shape}, got {var.shape}")
            if np.any(var < 0):
                raise InputError(f"{name} are variances (sum of squared weights) and must be >= 0")
            object.__setattr__(self, name, var)
        if self.edges is not None:
            edges = tuple(as_finite_array(e, f"edges of axis {k}", ndim=1) for k, e in enumerate(self.edges))
            expected = tuple(n + 1 for n in s.shape)
            got = tuple(len(e) for e in edges)
            if got != expected:
                raise InputError(f"bin edges have lengths {got}, templates of shape {s.shape} need {expected}")
            if any(np.any(np.diff(e) <= 0) for e in edges):
                raise InputError("bin edges must be strictly increasing")
            object.__setattr__(self, "edges", edges)
        if self.axis_names is not None:
            names = tuple(str(n) for n in self.axis_names)
            if len(names) != s.ndim:
                raise InputError(f"axis_names has {len(names)} names for {s.ndim}-d templates")
            object.__setattr__(self, "axis_names", names)

    # ------------------------------------------------------------------------------------------ constructors

    @classmethod
    def from_arrays(
        cls,
        s: ArrayLike,
        i: ArrayLike,
        b: ArrayLike,
        *,
        s_var: ArrayLike | None = None,
        i_var: ArrayLike | None = None,
        b_var: ArrayLike | None = None,
        edges: Sequence[ArrayLike] | None = None,
        axis_names: Sequence[str] | None = None,
    ) -> BinnedInterferenceModel:
        """Model from bin contents (1-d or 2-d arrays of the same shape), optionally MC variances and edges."""
        return cls(
            s,
            i,
            b,
            s_var,
            i_var,
            b_var,  # type: ignore[arg-type]
            None if edges is None else tuple(edges),  # type: ignore[arg-type]
            None if axis_names is None else tuple(axis_names),
        )

    @classmethod
    def from_hists(cls, s: hist.Hist, i: hist.Hist, b: hist.Hist) -> BinnedInterferenceModel:
        """Model from three ``hist.Hist`` with identical axes (under/overflow are not used).

        Variances are taken from histograms with ``Weight`` storage (None otherwise).
        """
        hists = {"S": s, "I": i, "B": b}
        for name, h in hists.items():
            if not isinstance(h, hist.Hist):
                raise InputError(f"template {name} must be a hist.Hist, got {type(h).__name__}")
            if h.ndim not in (1, 2):
                raise InputError(f"template {name} must be a 1-d or 2-d histogram, got {h.ndim} axes")
        ref = s
        for name, h in (("I", i), ("B", b)):
            if h.ndim != ref.ndim:
                raise InputError(f"template {name} has {h.ndim} axes, S has {ref.ndim}: use the same binning")
            for k, (a_ref, a) in enumerate(zip(ref.axes, h.axes)):
                label = a_ref.name or f"#{k}"
                if len(a) != len(a_ref):
                    raise InputError(
                        f"template {name} axis {label} has {len(a)} bins, S has {len(a_ref)}: use the same binning"
                    )
                if not np.allclose(a.edges, a_ref.edges, rtol=1e-12, atol=0.0):
                    j = int(np.flatnonzero(~np.isclose(a.edges, a_ref.edges, rtol=1e-12, atol=0.0))[0])
                    raise InputError(
                        f"template {name} axis {label} edges differ from S at edge {j}: "
                        f"{a.edges[j]!r} vs {a_ref.edges[j]!r}; fill all templates with the same bin edges"
                    )
                if a.name != a_ref.name:
                    raise InputError(
                        f"template {name} axis {k} is named {a.name!r}, S's is {a_ref.name!r}: "
                        "the templates must histogram the same observable"
                    )

        def variances(h: hist.Hist) -> np.ndarray | None:
            return None if h.storage_type is not hist.storage.Weight else np.asarray(h.variances(), dtype=float)

        return cls(
            np.asarray(s.values(), dtype=float),
            np.asarray(i.values(), dtype=float),
            np.asarray(b.values(), dtype=float),
            variances(s),
            variances(i),
            variances(b),
            tuple(np.asarray(a.edges, dtype=float) for a in s.axes),
            tuple(a.name for a in s.axes),
        )

    @classmethod
    def from_weighted_events(
        cls,
        values: ArrayLike,
        w_s: ArrayLike,
        w_i: ArrayLike,
        w_b: ArrayLike,
        bins: int | ArrayLike | Sequence[int | ArrayLike],
        *,
        axis_names: Sequence[str] | None = None,
    ) -> BinnedInterferenceModel:
        """Model from events carrying three weights (e.g. morphed S, I and B weights of the same events).

        Templates are ``sum w`` per bin with variances ``sum w^2`` (a ``hist`` ``Weight`` storage per template).
        Binning as ``numpy.histogramdd``: an int (equal-width bins over the data range), an array of edges, or one
        of those per axis for 2-d; the last bin includes its upper edge, events outside the edges are dropped.

        Parameters
        ----------
        values
            Observable per event: shape ``[N]`` (1-d) or ``[N, 2]`` (2-d).
        w_s, w_i, w_b
            Per-event weights of the S, I and B templates (negative allowed, e.g. I), shape ``[N]``.
        bins
            Binning, see above.
        axis_names
            Names of the observables, one per axis.
        """
        x = as_finite_array(values, "values")
        if x.ndim == 1:
            x2 = x[:, None]
        elif x.ndim == 2 and x.shape[1] == 2:
            x2 = x
        else:
            raise InputError(f"values must have shape [N] (1-d) or [N, 2] (2-d), got {x.shape}")
        if len(x2) == 0:
            raise InputError("values is empty: no events to fill the templates with")
        weights = {
            "w_s": as_finite_array(w_s, "w_s", ndim=1),
            "w_i": as_finite_array(w_i, "w_i", ndim=1),
            "w_b": as_finite_array(w_b, "w_b", ndim=1),
        }
        check_same_length(values=x2, **weights)
        dim = x2.shape[1]
        per_axis = [bins] * dim if np.isscalar(bins) else ([bins] if dim == 1 else list(bins))  # type: ignore[arg-type]
        if len(per_axis) != dim:
            raise InputError(f"2-d values need an int or one binning per axis (2), got {len(per_axis)}")
        edges: list[np.ndarray] = []
        for k, axis_bins in enumerate(per_axis):
            if np.isscalar(axis_bins):
                if int(axis_bins) != axis_bins or int(axis_bins) < 1:  # type: ignore[arg-type]
                    raise InputError(f"the number of bins must be an integer >= 1, got {axis_bins!r}")
                axis_edges = np.histogram_bin_edges(x2[:, k], bins=int(axis_bins))  # type: ignore[arg-type]
            else:
                axis_edges = as_finite_array(axis_bins, f"bin edges of axis {k}", ndim=1)
            if len(axis_edges) < 2 or np.any(np.diff(axis_edges) <= 0):
                raise InputError(
                    f"cannot bin the events with bins={bins!r}: the edges of axis {k} must be at least "
                    f"two strictly increasing numbers, got {axis_edges}"
                )
            edges.append(axis_edges)
        # the last bin is closed (numpy's convention): an event on the upper edge joins it instead of the overflow
        columns = [np.where(x2[:, k] == e[-1], e[-2], x2[:, k]) for k, e in enumerate(edges)]
        templates = [
            hist.Hist(*(hist.axis.Variable(e) for e in edges), storage=hist.storage.Weight()).fill(*columns, weight=w)
            for w in weights.values()
        ]
        return cls(
            *(h.values() for h in templates),
            *(h.variances() for h in templates),
            tuple(edges),
            None if axis_names is None else tuple(axis_names),
        )

    # ------------------------------------------------------------------------------------------ the model

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the binning (``(n,)`` or ``(nx, ny)``)."""
        return self.s.shape

    @property
    def n_bins(self) -> int:
        """Total number of bins."""
        return int(self.s.size)

    @property
    def has_mc_stat(self) -> bool:
        """Whether any MC statistical variance is known."""
        return any(v is not None for v in (self.s_var, self.i_var, self.b_var))

    def expected(self, mu: float) -> np.ndarray:
        """``N_k(mu) = mu S_k + sqrt(mu) I_k + B_k`` (template shape); a clear error if a bin is not > 0."""
        self.check_positive([mu])
        return np.asarray(expected_yield(self.s, self.i, self.b, float(mu)), dtype=float)

    def asimov_data(self, mu_true: float = 1.0) -> np.ndarray:
        """Asimov data: the expected yields at ``mu_true`` (non-integer counts)."""
        return self.expected(mu_true)

    def mc_stat_rel_error(self) -> np.ndarray:
        """Relative MC error of the SM total per bin, ``sqrt(sum of variances)/(S + I + B)`` (pyhf ``staterror``).

        Missing variances count as zero; a bin with zero variance has no nuisance.
        """
        if not self.has_mc_stat:
            raise InputError("the model has no MC variances: build it with s_var/i_var/b_var or Weight-storage hists")
        total_var = sum(v for v in (self.s_var, self.i_var, self.b_var) if v is not None)
        total = self.s + self.i + self.b
        self._require_positive_total(total, 1.0, "the MC-statistics nuisance is relative to the SM total")
        return np.sqrt(total_var) / total

    def _bin_label(self, flat_index: int) -> str:
        index = np.unravel_index(flat_index, self.shape)
        label = f"bin {index[0]}" if len(index) == 1 else f"bin {tuple(int(k) for k in index)}"
        if self.edges is not None:
            ranges = ", ".join(
                f"{name}[{e[k]:.6g}, {e[k + 1]:.6g})"
                for name, e, k in zip(self.axis_names or ("x", "y"), self.edges, index)
            )
            label += f" ({ranges})"
        return label

    def _require_positive_total(self, total: np.ndarray, mu: float, hint: str) -> None:
        bad = ~(total.ravel() > 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"expected yield N(mu={mu:.6g}) = mu S + sqrt(mu) I + B is {total.ravel()[k]:.6g} <= 0 in "
                f"{self._bin_label(k)} ({int(bad.sum())} bin(s) in all); {hint}"
            )

    def check_positive(self, mu: ArrayLike) -> None:
        """Raise :class:`InputError` naming the bin and mu if ``N_k(mu) <= 0`` anywhere in ``[min mu, max mu]``.

        ``N_k`` is a parabola in ``r = sqrt(mu)``; besides the given mu values its vertex
        ``r = -I_k/(2 S_k)`` is checked when it lies in the range, so the whole interval is covered.
        """
        grid = np.atleast_1d(as_finite_array(mu, "mu"))
        if grid.ndim != 1 or grid.size == 0:
            raise InputError(f"mu must be a scalar or a non-empty 1-d grid, got shape {grid.shape}")
        if np.any(grid < 0):
            raise InputError(f"mu must be >= 0 (N(mu) = mu S + sqrt(mu) I + B), got min {grid.min():g}")
        s, i, b = self.s.ravel(), self.i.ravel(), self.b.ravel()
        r_lo, r_hi = np.sqrt(grid.min()), np.sqrt(grid.max())
        with np.errstate(divide="ignore", invalid="ignore"):
            r_vertex = np.where(s > 0, -i / (2 * s), np.nan)
        inside = (r_vertex > r_lo) & (r_vertex < r_hi)
        candidates = [np.full_like(s, r) for r in np.sqrt(grid)]
        candidates.append(np.where(inside, r_vertex, r_lo))  # each bin's own vertex, where inside the range
        worst_value, worst_bin, worst_mu = np.inf, -1, 0.0
        for r in candidates:
            total = combine(r, s, i, b, param="sqrt_mu")
            k = int(np.argmin(total))
            if total[k] < worst_value:
                worst_value, worst_bin, worst_mu = float(total[k]), k, float(r[k] ** 2)
        if not worst_value > 0:
            raise InputError(
                f"expected yield N(mu) = mu S + sqrt(mu) I + B is {worst_value:.6g} <= 0 in "
                f"{self._bin_label(worst_bin)} at mu = {worst_mu:.6g} (scanned range [{grid.min():g}, "
                f"{grid.max():g}]); the Poisson likelihood needs a positive expectation in every bin: merge bins, "
                "restrict the mu range or check the interference template"
            )

    def _data(self, data: ArrayLike) -> np.ndarray:
        n = as_finite_array(data, "data")
        if n.shape != self.shape and n.shape != (self.n_bins,):
            raise InputError(f"data must have one count per bin, shape {self.shape}, got {n.shape}")
        if np.any(n < 0):
            raise InputError("data are event counts and must be >= 0")
        return n.reshape(self.shape)

    # ------------------------------------------------------------------------------------------ likelihood

    def _profiled_gamma(self, nu: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """MC-stat factor gamma_k maximising ``Pois(n | gamma nu) Gauss(1 | gamma, sigma)`` per bin (closed form).

        ``d/dgamma = 0`` gives ``gamma^2/sigma^2 + gamma (nu - 1/sigma^2) - n = 0``, whose positive root is used;
        bins with sigma = 0 keep gamma = 1.
        """
        sigma = self.mc_stat_rel_error()
        has = sigma > 0
        sig2 = np.where(has, sigma, 1.0) ** 2
        a = 1.0 / sig2
        b_coef = nu - a
        gamma = (-b_coef + np.sqrt(b_coef**2 + 4 * a * n)) / (2 * a)
        # n = 0 with nu sigma^2 > 1 puts the optimum at the boundary gamma = 0: keep pyhf's lower bound 1e-10
        return np.where(has, np.maximum(gamma, 1e-10), 1.0), sigma

    def nll(self, mu: float, data: ArrayLike, *, include_rate: bool = True, profile_mc_stat: bool = False) -> float:
        """Negative log-likelihood of ``data`` at ``mu``, with all constants (Poisson: pyhf's ``-logpdf``).

        Poisson: ``sum_k [nu_k - n_k ln nu_k + ln Gamma(n_k + 1)]``; shape only (multinomial):
        ``-sum_k n_k ln(nu_k/nu) - ln Gamma(n + 1) + sum_k ln Gamma(n_k + 1)``. With ``profile_mc_stat`` the
        per-bin MC-statistics factor is profiled and its Gaussian constraint added (Poisson only).

        Parameters
        ----------
        mu
            Signal strength, >= 0.
        data
            Observed (or Asimov) counts per bin.
        include_rate
            Poisson (shape and rate) if True, multinomial (shape only) if False.
        profile_mc_stat
            Profile one MC-statistics nuisance per bin (pyhf ``staterror``).
        """
        self._check_options(include_rate, profile_mc_stat)
        n = self._data(data).ravel()
        nu = self.expected(mu).ravel()
        if profile_mc_stat:
            gamma, sigma = self._profiled_gamma(nu, n)
            nu = gamma * nu
            has = sigma > 0
            constraint = np.sum(0.5 * ((gamma[has] - 1) / sigma[has]) ** 2 + np.log(sigma[has] * np.sqrt(2 * np.pi)))
        else:
            constraint = 0.0
        if include_rate:
            return float(np.sum(nu - xlogy(n, nu) + gammaln(n + 1)) + constraint)
        total = n.sum()
        return float(-np.sum(xlogy(n, nu / nu.sum())) - gammaln(total + 1) + np.sum(gammaln(n + 1)))

    def _deviance(self, mu: float, n: np.ndarray, include_rate: bool, profile_mc_stat: bool) -> float:
        """``2 (NLL(mu) - NLL(saturated))``: the Poisson/multinomial deviance, accurate near the minimum."""
        nu = np.asarray(expected_yield(self.s, self.i, self.b, float(mu)), dtype=float).ravel()
        extra = 0.0
        if profile_mc_stat:
            gamma, sigma = self._profiled_gamma(nu, n)
            nu = gamma * nu
            has = sigma > 0
            extra = float(np.sum(((gamma[has] - 1) / sigma[has]) ** 2))
        value = 2 * float(np.sum(poisson_half_deviance(n, nu))) + extra
        if not include_rate:
            value -= 2 * float(poisson_half_deviance(n.sum(), nu.sum()))
        return value

    def twice_nll_deviance(
        self, mu: ArrayLike, data: ArrayLike, *, include_rate: bool = True, profile_mc_stat: bool = False
    ) -> np.ndarray:
        """``2 NLL(mu)`` minus its saturated-model value, on a grid of mu (differences equal those of :meth:`nll`)."""
        grid = np.atleast_1d(as_finite_array(mu, "mu"))
        self.check_positive(grid)
        n = self._data(data).ravel()
        self._check_options(include_rate, profile_mc_stat)
        return np.array([self._deviance(float(m), n, include_rate, profile_mc_stat) for m in grid])

    def _check_options(self, include_rate: bool, profile_mc_stat: bool) -> None:
        if profile_mc_stat and not include_rate:
            raise InputError("profile_mc_stat needs include_rate=True (the nuisance scales the Poisson rate)")
        if profile_mc_stat and not self.has_mc_stat:
            raise InputError("profile_mc_stat=True needs MC variances (s_var/i_var/b_var or Weight-storage hists)")

    # ------------------------------------------------------------------------------------------ scan

    def scan(
        self,
        mu_grid: ArrayLike | None = None,
        data: ArrayLike | None = None,
        *,
        mu_true: float = 1.0,
        include_rate: bool = True,
        profile_mc_stat: bool = False,
    ) -> InterferenceScan:
        """``q(mu) = 2 (NLL(mu) - min NLL)`` on ``mu_grid`` for ``data`` (Asimov at ``mu_true`` if None).

        The minimum is taken over the scanned range ``[min mu, max mu]`` (grid, then refined in ``sqrt(mu)``
        between the neighbours of the best grid point), where positivity of every bin is checked. Asimov scans
        without nuisances are :func:`hepnb.stats.asymptotic.asimov_scan`.

        Parameters
        ----------
        mu_grid
            Increasing grid of mu >= 0; default :func:`thesis_mu_grid`.
        data
            Observed counts per bin; None for Asimov data at ``mu_true``.
        mu_true
            Signal strength of the Asimov data (ignored when ``data`` is given).
        include_rate
            Shape and rate (Poisson) if True, shape only (multinomial on normalised templates) if False.
        profile_mc_stat
            Profile the per-bin MC-statistics nuisance (needs variances and ``include_rate``).
        """
        mu = thesis_mu_grid() if mu_grid is None else np.atleast_1d(as_finite_array(mu_grid, "mu_grid"))
        if mu.ndim != 1 or len(mu) < 2 or np.any(np.diff(mu) <= 0):
            raise InputError("mu_grid must be a strictly increasing 1-d grid of at least two points")
        self._check_options(include_rate, profile_mc_stat)
        self.check_positive(mu)
        asimov = data is None
        if asimov:
            self.check_positive([mu_true])
            n = self.asimov_data(mu_true).ravel()
        else:
            n = self._data(data).ravel()
        if asimov and not profile_mc_stat:
            raw = asimov_scan(
                mu, self.s.ravel(), self.i.ravel(), self.b.ravel(), mu_true=float(mu_true), shape_only=not include_rate
            ).q
        else:
            raw = np.array([self._deviance(float(m), n, include_rate, profile_mc_stat) for m in mu])
        mu_hat, minimum = refine_minimum(mu, raw, lambda m: self._deviance(m, n, include_rate, profile_mc_stat))
        if asimov and not profile_mc_stat and mu[0] <= mu_true <= mu[-1]:
            mu_hat, minimum = float(mu_true), 0.0  # the Asimov deviance vanishes exactly at mu_true
        q = np.maximum(raw - minimum, 0.0)
        return InterferenceScan(
            mu,
            q,
            raw,
            float(mu_hat),
            float(mu_true) if asimov else None,
            n.reshape(self.shape),
            bool(include_rate),
            bool(profile_mc_stat),
            "numpy",
        )
