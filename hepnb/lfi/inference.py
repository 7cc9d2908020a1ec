"""Expected limits on Asimov data: unbinned likelihood scans from estimated or exact likelihood ratios.

The Asimov data set at a true ``mu`` is a held-out *weighted* sample reweighted to that ``mu``: the expected
kinematic log likelihood is the weighted sum over events

    ``ln L_kin(mu) = sum_i w_i(mu_true) log r(x_i | mu, mu_ref)``        (``sum_i w_i(mu_true) = N(mu_true)``)

optionally plus the Poisson rate term ``ln L_rate(mu) = n ln nu(mu) - nu(mu)`` with ``n = nu(mu_true)`` and the
known ``nu(mu) = L (mu S + sqrt(mu) I + B)`` from the weights (MadMiner ``include_xsec``, without rounding ``n``).
``q(mu) = -2 [ln L(mu) - max ln L]`` on the thesis grid (:data:`hepnb.stats.constants.THESIS_KAPPA_GRID`, at
:data:`~hepnb.stats.constants.THESIS_LUMI`), p-values ``chi2.sf(q, 1)``, and 68% / 95% intervals read off with
:func:`hepnb.stats.asymptotic.confidence_interval` (the :class:`~hepnb.stats.asymptotic.Scan` interface). As in
A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, section 7.7, and MadMiner (Brehmer, Kling,
Espejo, Cranmer, Comput. Softw. Big Sci. 4 (2020) 3, arXiv:1907.10621).

Sources of ``log r``: a ratio estimator (:func:`ratio_scan`), SALLY's estimated score in the local exponential model
(:func:`sally_scan`), and, for ``detector="none"`` VBF samples, the exact oracle likelihood
(:func:`hepnb.lfi.oracle.oracle_scan`), against which every method is reported (:func:`interval_table`).
:func:`estimated_scores` gives the ``t_hat`` values for a histogram of the estimated score in the binned model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from hepnb.errors import InputError
from hepnb.lfi._asimov import asimov_weights, check_mu_true, kappa_grid
from hepnb.lfi.augmented import Observables, observables_matrix
from hepnb.lfi.generic import log_ratio_grid
from hepnb.offshell import Events
from hepnb.stats.asymptotic import (
    ConfidenceInterval,
    Scan,
    log_ratio_table,
    refine_maximum,
    unbinned_log_likelihood,
)
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI
from hepnb.stats.yields import combine, mu_from_kappa

__all__ = [
    "LikelihoodScan",
    "IntervalRow",
    "IntervalTable",
    "scan_from_log_ratios",
    "ratio_scan",
    "sally_scan",
    "estimated_scores",
    "interval_table",
]


@dataclass(frozen=True, eq=False)
class LikelihoodScan(Scan):
    """An Asimov likelihood scan over ``mu`` (kinematic and rate parts kept separately).

    Attributes
    ----------
    method
        Label (``"alices"``, ``"sally"``, ``"oracle"``, ...).
    kappa, mu
        The grid (``mu = kappa^4``).
    log_likelihood_kinematic
        ``sum_i w_i(mu_true) log r(x_i | mu, mu_ref)`` per grid point.
    log_likelihood_rate
        ``n ln(nu(mu)/nu(mu_ref)) - (nu(mu) - nu(mu_ref))`` per grid point.
    include_rate
        Whether :attr:`q` includes the rate term.
    mu_true
        The signal strength of the Asimov data.
    lumi
        Integrated luminosity in fb^-1.
    n_expected
        ``N(mu_true)``, the size of the Asimov data set.
    """

    method: str
    kappa: np.ndarray
    mu: np.ndarray
    log_likelihood_kinematic: np.ndarray
    log_likelihood_rate: np.ndarray
    include_rate: bool
    mu_true: float
    lumi: float
    n_expected: float

    @property
    def log_likelihood(self) -> np.ndarray:
        """Expected ``ln L(mu)`` (kinematic, plus the rate term if :attr:`include_rate`)."""
        rate = self.log_likelihood_rate if self.include_rate else 0.0
        return self.log_likelihood_kinematic + rate

    @property
    def q(self) -> np.ndarray:
        """``-2 [ln L(mu) - max ln L]`` (minimum subtracted)."""
        ll = self.log_likelihood
        return -2.0 * (ll - ll.max())

    @property
    def mu_hat(self) -> float:
        """The best fit: the grid point with the largest likelihood, refined by a parabola through its neighbours.

        The vertex of the parabola in ``mu`` through the best point and its two neighbours
        (:func:`~hepnb.stats.asymptotic.refine_maximum`, as :attr:`hepnb.lfi.GenericScan.theta_hat` and the toys of
        :mod:`hepnb.stats.coverage`); at a grid end, or on a two-point grid, the grid point itself.
        """
        if len(self.mu) < 3:
            return float(self.mu[int(np.argmin(self.q))])
        return float(refine_maximum(self.mu, -0.5 * self.q)[1])

    def with_rate(self, include_rate: bool) -> LikelihoodScan:
        """The same scan with or without the rate term."""
        return dataclasses.replace(self, include_rate=bool(include_rate))


# ------------------------------------------------------------------------------------------------------------------
# core
# ------------------------------------------------------------------------------------------------------------------
def scan_from_log_ratios(
    log_r: Any,
    weights: Any,
    *,
    kappa: Any,
    mu_true: float,
    yields: Mapping[str, float],
    include_rate: bool = True,
    reference_kappa: float = 1.0,
    lumi: float = THESIS_LUMI,
    method: str = "",
) -> LikelihoodScan:
    """The Asimov scan from per-event ``log r(x_i | kappa_j, reference)`` (the engine of the other scans).

    Parameters
    ----------
    log_r
        ``(len(kappa), n_events)`` log likelihood ratios against the reference point.
    weights
        ``(n_events,)`` weights of the Asimov events at ``mu_true`` in expected events at ``lumi``.
    kappa
        The grid.
    mu_true
        Signal strength of the Asimov data (recorded; the weights define the data).
    yields
        ``S, I, B`` in expected events at ``lumi``: ``nu(mu) = mu S + sqrt(mu) I + B`` for the rate term.
    include_rate
        Whether :attr:`LikelihoodScan.q` includes the rate term.
    reference_kappa
        The denominator of ``log_r``.
    lumi
        Integrated luminosity (recorded).
    method
        Label.

    Examples
    --------
    No kinematic information, the rate term alone: ``ln L`` peaks where ``nu(mu) = n``, at ``mu = 1``; ``mu_hat`` is
    the vertex of the parabola through the best grid point and its neighbours:

    >>> yields = {"S": 3.0, "I": -2.0, "B": 9.0}
    >>> kappa = [0.5, 0.9, 1.0, 1.1, 1.5]
    >>> scan = scan_from_log_ratios(np.zeros((5, 2)), [4.0, 6.0], kappa=kappa, mu_true=1.0, yields=yields)
    >>> round(scan.mu_hat, 3), scan.n_expected, scan.q[[0, -1]].round(3).tolist()
    (0.991, 10.0, [0.189, 5.827])
    """
    k = kappa_grid(kappa)
    m_true = check_mu_true(mu_true)
    missing = {"S", "I", "B"} - set(yields)
    if missing:
        raise InputError(f"yields must give 'S', 'I' and 'B' (expected events), missing {sorted(missing)}")
    mu = mu_from_kappa(k)
    s, i, b = (float(yields[c]) for c in ("S", "I", "B"))
    nu = combine(mu, s, i, b)
    nu_ref = combine(reference_kappa, s, i, b, param="kappa")
    n = combine(m_true, s, i, b)
    if np.any(nu <= 0) or nu_ref <= 0 or n <= 0:
        raise InputError("the expected yield mu S + sqrt(mu) I + B must be > 0 on the whole grid")
    lr = log_ratio_table(log_r, len(k), "kappa")
    ll_kin, ll_rate, _ = unbinned_log_likelihood(lr, weights, nu, n=n, nu_ref=nu_ref, grid="kappa")
    return LikelihoodScan(str(method), k, mu, ll_kin, ll_rate, bool(include_rate), m_true, float(lumi), float(n))


def _observables(estimator: Any, observables: Observables | None) -> Observables:
    obs = observables if observables is not None else getattr(estimator, "observables", None)
    if obs is None:
        raise InputError(
            "the estimator does not know its observables (train it with train_estimator, or pass "
            "observables='thesis-ch7' / a list of fields of events.x)"
        )
    return obs


# ------------------------------------------------------------------------------------------------------------------
# scans
# ------------------------------------------------------------------------------------------------------------------
def ratio_scan(
    estimator: Any,
    events: Events,
    mu_true: float,
    *,
    kappa: Any = THESIS_KAPPA_GRID,
    include_rate: bool = True,
    lumi: float = THESIS_LUMI,
    reference_kappa: float = 1.0,
    observables: Observables | None = None,
    yields: Mapping[str, float] | None = None,
    method: str | None = None,
) -> LikelihoodScan:
    """Asimov scan from a likelihood-ratio estimator: ``log r_hat(x | kappa, kappa_ref)`` summed with weights.

    Parameters
    ----------
    estimator
        Anything with ``log_ratio(x, theta, theta_ref)``: a trained ratio or density estimator, or an ensemble.
    events
        Held-out weighted events (not used in training), reweighted to ``mu_true`` to form the Asimov data.
    mu_true
        True signal strength.
    kappa
        Grid of kappa (default: 51 points in [0, 2]).
    include_rate
        Add the Poisson rate term to :attr:`LikelihoodScan.q` (both parts are stored either way).
    lumi
        Luminosity in fb^-1 (the events' weights are rescaled from their own luminosity).
    reference_kappa
        Denominator of the ratio (the SM).
    observables
        Override the estimator's observables.
    yields
        ``S, I, B`` at the events' luminosity for ``sigma(mu)`` (default: the events' own yields).
    method
        Label (default: the estimator's method).

    Examples
    --------
    Any object with ``log_ratio(x, kappa, kappa_ref)`` and ``observables`` is an estimator; one that returns the exact
    ratio of the events gives the oracle's scan:

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed, oracle_scan
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> class Exact:
    ...     observables = ["m4l"]
    ...
    ...     def log_ratio(self, x, kappa, kappa_ref):
    ...         return osh.oracle_log_ratio(events, kappa**4, kappa_ref**4)
    >>> scan = ratio_scan(Exact(), events, 1.0, kappa=[0.5, 1.0, 1.5])
    >>> scan.method, bool(np.allclose(scan.q, oracle_scan(events, 1.0, kappa=[0.5, 1.0, 1.5]).q))
    ('ratio', True)
    """
    k = kappa_grid(kappa)
    w, y = asimov_weights(events, mu_true, lumi, yields)
    x, _ = observables_matrix(events, _observables(estimator, observables))
    log_r = log_ratio_grid(estimator, x, k, reference_kappa)
    label = method if method is not None else str(getattr(estimator, "hparams", {}).get("method", "ratio"))
    options: dict[str, Any] = {"yields": y, "include_rate": include_rate, "lumi": lumi}
    return scan_from_log_ratios(
        log_r, w, kappa=k, mu_true=mu_true, reference_kappa=reference_kappa, method=label, **options
    )


def estimated_scores(estimator: Any, events: Events, observables: Observables | None = None) -> np.ndarray:
    """``t_hat(x_i | SM)`` per event from a score estimator: the observable of the "histogram of the score" fit.

    Examples
    --------
    Any object with ``score(x)`` and ``observables`` (here a score that is ``m4l`` in TeV):

    >>> from hepnb import offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> class M4l:
    ...     observables = ["m4l"]
    ...
    ...     def score(self, x):
    ...         return x[:, 0] / 1000.0
    >>> t_hat = estimated_scores(M4l(), events)
    >>> t_hat.shape, bool(np.allclose(1000.0 * t_hat, events.x["m4l"]))
    ((666,), True)
    """
    x, _ = observables_matrix(events, _observables(estimator, observables))
    return np.asarray(estimator.score(x), dtype=float)


def sally_scan(
    estimator: Any,
    events: Events,
    mu_true: float,
    *,
    kappa: Any = THESIS_KAPPA_GRID,
    include_rate: bool = True,
    lumi: float = THESIS_LUMI,
    local_model: str = "exponential",
    observables: Observables | None = None,
    yields: Mapping[str, float] | None = None,
) -> LikelihoodScan:
    """Asimov scan from SALLY's estimated score ``t_hat(x)`` at ``kappa_ref`` in the local model.

    ``"exponential"`` (default): the normalised local model ``p(x|kappa) = p(x|kappa_ref) exp(t_hat(x) dk) /
    Z(dk)``, ``dk = kappa - kappa_ref``, ``Z = E_ref[exp(t_hat dk)]`` from the events' weights at the reference: its
    log ratio is exact to first order in ``dk`` and the expected log likelihood peaks where the model's mean score
    matches the data's. ``"linear"``: ``log r = t_hat(x) dk`` (unnormalised; its kinematic part is linear in kappa
    and only the rate term bounds it).

    Examples
    --------
    Any object with ``score(x)``, ``observables`` and ``hparams["theta_ref"]``; even the exact score (here) gives a
    wider 95% interval than the oracle's (:func:`hepnb.lfi.oracle.oracle_scan`), the local model being exact only
    near the reference:

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed, oracle_scan, oracle_score
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> class ExactScore:
    ...     observables, hparams = ["m4l"], {"method": "sally", "theta_ref": 1.0}
    ...
    ...     def score(self, x):
    ...         return oracle_score(events, 1.0)
    >>> scan, exact = sally_scan(ExactScore(), events, 1.0), oracle_scan(events, 1.0)
    >>> [[round(v, 2) for v in s.interval(0.95).intervals[0]] for s in (scan, exact)]
    [[0.0, 8.99], [0.0, 6.89]]
    >>> scan.method, round(scan.mu_hat, 2)
    ('sally', 1.0)
    """
    if local_model not in ("exponential", "linear"):
        raise InputError(f"local_model must be 'exponential' or 'linear', got {local_model!r}")
    k = kappa_grid(kappa)
    w, y = asimov_weights(events, mu_true, lumi, yields)
    ref = float(getattr(estimator, "hparams", {}).get("theta_ref", 1.0))
    t_hat = estimated_scores(estimator, events, observables)
    dk = k - ref
    log_r = dk[:, None] * t_hat[None, :]
    if local_model == "exponential":
        w_ref = events.weight(ref**4)
        if not w_ref.sum() > 0:
            raise InputError(f"the events have no weight at the reference kappa={ref}")
        log_z = special.logsumexp(log_r, b=w_ref[None, :] / w_ref.sum(), axis=1)
        log_r = log_r - log_z[:, None]
    label = str(getattr(estimator, "hparams", {}).get("method", "sally"))
    options: dict[str, Any] = {"yields": y, "include_rate": include_rate, "lumi": lumi}
    return scan_from_log_ratios(log_r, w, kappa=k, mu_true=mu_true, reference_kappa=ref, method=label, **options)


# ------------------------------------------------------------------------------------------------------------------
# comparison table
# ------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntervalRow:
    """Expected 68% / 95% intervals of one method and their widths in mu relative to the reference's."""

    method: str
    width_68: float
    width_95: float
    relative_68: float
    relative_95: float
    intervals_68: tuple[tuple[float, float], ...]
    intervals_95: tuple[tuple[float, float], ...]
    open_at_edge: bool


@dataclass(frozen=True)
class IntervalTable:
    """Interval widths of several methods relative to a reference (the oracle) at one ``mu_true``."""

    rows: tuple[IntervalRow, ...]
    reference: str
    mu_true: float
    include_rate: bool

    def row(self, method: str) -> IntervalRow:
        """The row of ``method``."""
        for r in self.rows:
            if r.method == method:
                return r
        raise InputError(f"no method {method!r} in the table; it has {[r.method for r in self.rows]}")

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per method."""
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(r) for r in self.rows]).set_index("method")


def _width(ci: ConfidenceInterval) -> float:
    return float(sum(hi - lo for lo, hi in ci.intervals))


def interval_table(
    scans: Mapping[str, LikelihoodScan] | Sequence[LikelihoodScan], reference: str = "oracle"
) -> IntervalTable:
    """68% / 95% interval widths (total length in mu) of each scan, divided by those of ``reference``.

    Parameters
    ----------
    scans
        ``{label: scan}`` or scans labelled by their ``method``; all on the same grid, ``mu_true`` and rate choice.
    reference
        Label of the scan the others are reported against (the oracle).

    Examples
    --------
    The oracle against an estimator without kinematic information (``log r = 0``: the rate term alone):

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed, oracle_scan
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> class Blind:
    ...     observables = ["m4l"]
    ...
    ...     def log_ratio(self, x, kappa, kappa_ref):
    ...         return np.zeros(len(x))
    >>> table = interval_table([oracle_scan(events, 1.0), ratio_scan(Blind(), events, 1.0, method="rate only")])
    >>> [(row.method, round(row.width_95, 2), round(row.relative_95, 2)) for row in table.rows]
    [('oracle', 6.89, 1.0), ('rate only', 9.24, 1.34)]
    """
    items = dict(scans) if isinstance(scans, Mapping) else {s.method: s for s in scans}
    if reference not in items:
        raise InputError(f"the reference scan {reference!r} is missing; got {sorted(items)}")
    ref = items[reference]
    for label, s in items.items():
        if not isinstance(s, LikelihoodScan):
            raise InputError(f"scan {label!r} is a {type(s).__name__}, not a LikelihoodScan")
        if s.mu.shape != ref.mu.shape or not np.allclose(s.mu, ref.mu):
            raise InputError(f"scan {label!r} is on a different mu grid from {reference!r}")
        if not np.isclose(s.mu_true, ref.mu_true) or s.include_rate != ref.include_rate:
            raise InputError(
                f"scan {label!r} has mu_true={s.mu_true}, include_rate={s.include_rate}; the reference "
                f"has {ref.mu_true}, {ref.include_rate}: compare like with like"
            )
    ref68, ref95 = _width(ref.interval(0.6827)), _width(ref.interval(0.95))
    rows = []
    for label, s in items.items():
        c68, c95 = s.interval(0.6827), s.interval(0.95)
        w68, w95 = _width(c68), _width(c95)
        rows.append(
            IntervalRow(
                label,
                w68,
                w95,
                w68 / ref68 if ref68 > 0 else float("nan"),
                w95 / ref95 if ref95 > 0 else float("nan"),
                c68.intervals,
                c95.intervals,
                c68.open_at_edge or c95.open_at_edge,
            )
        )
    return IntervalTable(tuple(rows), reference, ref.mu_true, ref.include_rate)
