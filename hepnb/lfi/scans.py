"""Study 3's scans: every method and the histogram baselines as Asimov scans at several true mu (notebook 03).

The single scans are those of :mod:`hepnb.lfi.inference` and :mod:`hepnb.lfi.oracle`; this module turns them into
``{(mu_true, include_rate): scan}`` dictionaries for the notebook's tables and sliders:

* :func:`ratio_log_r_grid` / :func:`scans_from_log_r`: a ratio estimator evaluated once on the kappa grid and turned
  into scans at any number of true mu (what makes the notebook's mu slider instant);
* :func:`calibrate_log_r` / :func:`apply_calibration`: the offsets ``log E_SM[r_hat]`` per grid point, computed on an
  independent calibration sample (:func:`hepnb.lfi.methods.make_calibration_sample`) and subtracted from the
  evaluation grid; :func:`normalise_log_r` is the same correction computed on the evaluation events themselves
  (kept to show what it hides, not for results);
* :func:`method_scans`, :func:`oracle_scans`: the scans of a trained method and of the exact likelihood;
* :func:`adaptive_edges`, :func:`histogram_model`, :func:`histogram_scan`, :func:`histogram_scans`: binned template
  fits through :class:`hepnb.stats.interference.BinnedInterferenceModel`, returned as
  :class:`hepnb.lfi.LikelihoodScan` so that every method goes through one :func:`hepnb.lfi.interval_table`.

Evaluation luminosity and grid are the thesis's (:mod:`hepnb.stats.constants`: 36.1 fb^-1, kappa in [0, 2] with
51 points).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepnb.errors import InputError, as_finite_array, is_whole_number
from hepnb.lfi import augmented, inference, oracle
from hepnb.lfi._asimov import asimov_weights, luminosity_scale
from hepnb.lfi.generic import log_ratio_grid
from hepnb.lfi.inference import LikelihoodScan
from hepnb.lfi.methods import TrainedMethod
from hepnb.offshell import Events, oracle_components
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI
from hepnb.stats.interference import BinnedInterferenceModel
from hepnb.stats.yields import mu_from_kappa

__all__ = [
    "HIST_OBSERVABLES",
    "ratio_log_r_grid",
    "scans_from_log_r",
    "method_scans",
    "normalise_log_r",
    "calibrate_log_r",
    "apply_calibration",
    "oracle_scans",
    "adaptive_edges",
    "histogram_model",
    "histogram_scan",
    "histogram_scans",
    "ideal_classifier",
]

#: 1-D histogram observables of the thesis's baselines.
HIST_OBSERVABLES: tuple[str, ...] = ("m4l", "pt_j1", "delta_eta_jj")


# ------------------------------------------------------------------------------------------------------------------
# scans
# ------------------------------------------------------------------------------------------------------------------
def ratio_log_r_grid(
    estimator: Any, events: Events, kappa: Any = THESIS_KAPPA_GRID, *, anchored: bool = True
) -> np.ndarray:
    """``log r_hat(x_i | kappa_j, SM)`` ``(len(kappa), n)``: the estimator evaluated once for every later scan.

    Anchored (the default), each event's row is ``log r_hat(x | kappa_j, SM) - log r_hat(x | SM, SM)``: the ratio then
    equals 1 at the reference for every ``x``, as an exact likelihood ratio does. A parameterised network does not learn
    that identity; a spurious ``f(x) = log r_hat(x | SM, SM)``, largely shared by the neighbouring kappa, is a constant
    of every scan but not of the calibration offsets (:func:`calibrate_log_r`): with ``log r_hat = log r + f`` they
    become ``log E_SM[r e^f]``, a different shift per grid point that tilts the scan. In notebook 03 (one ALICES
    network, seed 3, fast mode, on the collinear kinematics: ``f`` of 0.08 rms) it moved ``mu_hat`` at ``mu_true = 1``
    from the oracle's 0.97 to 0.61; anchored, 0.95. ``anchored=False`` gives the raw output; exact ratios and density
    estimators (``log p_hat(x | kappa) - log p_hat(x | SM)``) are unchanged.

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> class Exact:  # the exact log ratio of these events (oracle_log_r_grid) as an estimator
    ...     observables = ["m4l"]
    ...
    ...     def log_ratio(self, x, kappa, kappa_ref):
    ...         return osh.oracle_log_ratio(events, kappa**4, kappa_ref**4)
    >>> from hepnb.lfi.limits import oracle_log_r_grid
    >>> log_r = ratio_log_r_grid(Exact(), events, [0.5, 1.0, 1.5])
    >>> log_r.shape, bool(np.allclose(log_r, oracle_log_r_grid(events, [0.5, 1.0, 1.5])))
    ((3, 666), True)

    A spurious function of ``x`` common to every kappa cancels when anchored:

    >>> class Shifted(Exact):
    ...     def log_ratio(self, x, kappa, kappa_ref):
    ...         return super().log_ratio(x, kappa, kappa_ref) + 0.1 * np.sin(x[:, 0])
    >>> bool(np.allclose(ratio_log_r_grid(Shifted(), events, [0.5, 1.5]), log_r[[0, 2]]))
    True
    >>> bool(np.allclose(ratio_log_r_grid(Shifted(), events, [0.5, 1.5], anchored=False), log_r[[0, 2]]))
    False
    """
    x, _ = augmented.observables_matrix(events, estimator.observables)
    log_r = log_ratio_grid(estimator, x, kappa, theta_ref=1.0)
    if anchored:
        log_r = log_r - log_ratio_grid(estimator, x, [1.0], theta_ref=1.0)
    return log_r


def _log_mean_ratio(log_r: Any, events: Events, reference_kappa: float) -> np.ndarray:
    """``log E_ref[r_hat]`` per grid row: the log of the reference-weighted mean of ``exp(log_r)`` over ``events``."""
    from scipy import special

    lr = np.atleast_2d(as_finite_array(log_r, "log_r"))
    if lr.ndim != 2 or lr.shape[1] != len(events):
        raise InputError(
            f"log_r must have shape (n_kappa, {len(events)}) (one column per event of the sample it was evaluated "
            f"on), got {np.shape(log_r)}"
        )
    w_ref = events.weight(float(reference_kappa) ** 4)
    if not w_ref.sum() > 0:
        raise InputError(f"the events have no weight at the reference kappa={reference_kappa}")
    b = w_ref / w_ref.sum()
    # row by row: the temporaries stay one event-array long (the grid has 51 rows of up to 10^6 events)
    return np.array([special.logsumexp(row, b=b) for row in lr])


def normalise_log_r(log_r: np.ndarray, events: Events, reference_kappa: float = 1.0) -> np.ndarray:
    """``log r_hat - log E_ref[r_hat]`` per grid row, the mean taken over the same ``events`` (same-sample).

    A likelihood ratio satisfies ``E_{theta1}[r(x | theta0, theta1)] = 1``; a network's residual offsets of order
    0.01 violate it and, summed over the Asimov events, bias the expected log likelihood near the reference (an
    over-confident scan). This function divides by the Monte-Carlo mean over the events' reference weights and
    changes nothing for an exact ratio. Computed on the events that also form the Asimov data it is tuned to those
    very events: for results use :func:`calibrate_log_r` on an independent calibration sample, which is what a real
    analysis can do (it has no access to the expectation of its own data) and what this function is compared
    against in notebook 03.

    >>> from hepnb.lfi.methods import make_calibration_sample
    >>> ev = make_calibration_sample(2000, seed=1)
    >>> bool(np.allclose(normalise_log_r(np.full((2, len(ev)), 0.3), ev), 0.0))
    True
    """
    lr = np.asarray(log_r, dtype=float)
    return lr - _log_mean_ratio(lr, events, reference_kappa)[:, None]


def calibrate_log_r(
    estimator_or_log_r: Any,
    calibration: Events,
    kappa: Any = THESIS_KAPPA_GRID,
    *,
    reference_kappa: float = 1.0,
) -> np.ndarray:
    """Calibration offsets ``c_j = log E_ref[r_hat(x | kappa_j, ref)]`` on an independent calibration sample.

    An exact likelihood ratio has ``E_ref[r] = 1``, ``c_j = 0``; a network's ``c_j`` of order 0.01, summed over the
    Asimov events, tilt the scan near the reference and make it over-confident. :func:`apply_calibration`
    subtracts ``c_j`` from the ``log r_hat`` grid of the evaluation events (both anchored, as
    :func:`ratio_log_r_grid` makes them: offsets of a raw grid put the tilt back). The offsets depend only on the
    estimator and the ``calibration`` events: computed on a sample generated with its own seed
    (:func:`hepnb.lfi.methods.make_calibration_sample`), the correction cannot be tuned to the Asimov data it is
    applied to, which is the honest version of :func:`normalise_log_r` (the same correction computed on the
    evaluation events themselves).

    Parameters
    ----------
    estimator_or_log_r
        A ratio or density estimator (``log_ratio(x, kappa, 1)`` and ``observables``), evaluated here on the
        calibration events, or its ``log r_hat`` grid ``(len(kappa), len(calibration))`` on those events.
    calibration
        The calibration events (helicity-summed weights: an exact ratio then gives ``c_j = 0`` to rounding).
    kappa
        The grid points (those of the evaluation grid the offsets are applied to).
    reference_kappa
        The denominator (reference) point, the SM by default.

    Returns
    -------
    numpy.ndarray
        ``(len(kappa),)`` offsets ``c_j``.

    Examples
    --------
    >>> from hepnb.lfi.methods import make_calibration_sample
    >>> cal = make_calibration_sample(2000, seed=1)
    >>> offsets = calibrate_log_r(np.full((3, len(cal)), 0.05), cal, kappa=[0.0, 1.0, 2.0])
    >>> np.round(offsets, 6).tolist()
    [0.05, 0.05, 0.05]
    """
    if not isinstance(calibration, Events):
        raise InputError(
            f"calibration must be the calibration Events (methods.make_calibration_sample), got {type(calibration)}"
        )
    k = np.atleast_1d(np.asarray(kappa, dtype=float))
    if hasattr(estimator_or_log_r, "log_ratio"):
        log_r = ratio_log_r_grid(estimator_or_log_r, calibration, k)
    else:
        log_r = np.atleast_2d(np.asarray(estimator_or_log_r, dtype=float))
        if log_r.shape[0] != len(k):
            raise InputError(f"the log_r grid has {log_r.shape[0]} rows for {len(k)} kappa points")
    return _log_mean_ratio(log_r, calibration, reference_kappa)


def apply_calibration(log_r: Any, offsets: Any) -> np.ndarray:
    """``log r_hat(x_i | kappa_j) - c_j``: the calibration offsets of :func:`calibrate_log_r` applied to a grid.

    >>> apply_calibration(np.zeros((2, 3)), [0.1, -0.2]).tolist()
    [[-0.1, -0.1, -0.1], [0.2, 0.2, 0.2]]
    """
    lr = np.atleast_2d(np.asarray(log_r, dtype=float))
    c = np.atleast_1d(as_finite_array(offsets, "offsets", ndim=1))
    if len(c) != lr.shape[0]:
        raise InputError(f"{len(c)} calibration offsets for a log_r grid of {lr.shape[0]} kappa points")
    return lr - c[:, None]


def scans_from_log_r(
    log_r: np.ndarray,
    events: Events,
    mu_trues: Sequence[float],
    method: str,
    *,
    kappa: Any = THESIS_KAPPA_GRID,
    lumi: float = THESIS_LUMI,
    offsets: Any = None,
    normalise: bool = False,
) -> dict[tuple[float, bool], LikelihoodScan]:
    """Asimov scans ``{(mu_true, include_rate): scan}`` from a precomputed ``log r`` grid (as :func:`lfi.ratio_scan`).

    ``offsets`` (from :func:`calibrate_log_r` on an independent sample) are subtracted per grid point; without them
    the scan is uncalibrated. ``normalise=True`` applies the same-sample :func:`normalise_log_r` instead (for the
    comparison only).

    Examples
    --------
    The exact ``log r`` grid gives the oracle's scans:

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> from hepnb.lfi.limits import oracle_log_r_grid
    >>> from hepnb.lfi.oracle import oracle_scan
    >>> scans = scans_from_log_r(oracle_log_r_grid(events), events, [0.0, 1.0], "oracle")
    >>> sorted(scans), bool(np.allclose(scans[1.0, True].q, oracle_scan(events, 1.0).q))
    ([(0.0, False), (0.0, True), (1.0, False), (1.0, True)], True)
    """
    if offsets is not None and normalise:
        raise InputError("give either calibration offsets or normalise=True (same-sample), not both")
    if offsets is not None:
        log_r = apply_calibration(log_r, offsets)
    elif normalise:
        log_r = normalise_log_r(log_r, events)
    out = {}
    for mu_true in mu_trues:
        w, y = asimov_weights(events, float(mu_true), lumi, None)
        scan = inference.scan_from_log_ratios(
            log_r, w, kappa=kappa, mu_true=float(mu_true), yields=y, include_rate=True, lumi=lumi, method=method
        )
        out[float(mu_true), True] = scan
        out[float(mu_true), False] = scan.with_rate(False)
    return out


def method_scans(
    trained: TrainedMethod,
    events: Events,
    mu_trues: Sequence[float],
    *,
    kappa: Any = THESIS_KAPPA_GRID,
    lumi: float = THESIS_LUMI,
    bins: int = 25,
    label: str | None = None,
    calibration: Events | None = None,
    normalise: bool = False,
) -> dict[tuple[float, bool], LikelihoodScan]:
    """Scans of one trained method at each true mu, with and without rate.

    Ratio and density estimators: the weighted Asimov sum of ``log r_hat``, calibrated on the independent
    ``calibration`` events when given (:func:`calibrate_log_r`), uncalibrated otherwise; ``normalise=True`` is the
    same-sample :func:`normalise_log_r` (comparison only). ``"sally"``: MadMiner's SALLY limits, the binned
    template fit of the histogram of ``t_hat`` (SALLINO's for one parameter). ``"sally local model"``: the local
    exponential model (:func:`hepnb.lfi.sally_scan`).

    Examples
    --------
    A ratio method whose estimator is the exact log ratio has the oracle's scans (:func:`oracle_scans`):

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> class Exact:  # the exact log ratio of these events (oracle_log_r_grid) as an estimator
    ...     observables = ["m4l"]
    ...
    ...     def log_ratio(self, x, kappa, kappa_ref):
    ...         return osh.oracle_log_ratio(events, kappa**4, kappa_ref**4)
    >>> trained = TrainedMethod("alices", Exact(), seconds=0.0, n_rows=0, best_epoch=0)
    >>> scans, exact = method_scans(trained, events, [1.0], label="exact"), oracle_scans(events, [1.0])
    >>> sorted(scans), scans[1.0, True].method, bool(np.allclose(scans[1.0, True].q, exact[1.0, True].q))
    ([(1.0, False), (1.0, True)], 'exact', True)
    """
    name = label or trained.method
    if trained.method == "sally local model":
        out = {}
        for mu_true in mu_trues:
            scan = inference.sally_scan(trained.estimator, events, float(mu_true), kappa=kappa, lumi=lumi)
            scan = LikelihoodScan(name, *_fields(scan)[1:])
            out[float(mu_true), True], out[float(mu_true), False] = scan, scan.with_rate(False)
        return out
    if trained.method == "sally":
        t_hat = inference.estimated_scores(trained.estimator, events)
        return histogram_scans(t_hat, events, mu_trues, bins=bins, kappa=kappa, lumi=lumi, method=name)
    offsets = None if calibration is None else calibrate_log_r(trained.estimator, calibration, kappa)
    return scans_from_log_r(
        ratio_log_r_grid(trained.estimator, events, kappa),
        events,
        mu_trues,
        name,
        kappa=kappa,
        lumi=lumi,
        offsets=offsets,
        normalise=normalise,
    )


def _fields(scan: LikelihoodScan) -> tuple[Any, ...]:
    return (
        scan.method,
        scan.kappa,
        scan.mu,
        scan.log_likelihood_kinematic,
        scan.log_likelihood_rate,
        scan.include_rate,
        scan.mu_true,
        scan.lumi,
        scan.n_expected,
    )


def oracle_scans(
    events: Events, mu_trues: Sequence[float], *, kappa: Any = THESIS_KAPPA_GRID, lumi: float = THESIS_LUMI
) -> dict[tuple[float, bool], LikelihoodScan]:
    """The exact (oracle) scans at each true mu, with and without rate (``detector="none"`` only).

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> scans = oracle_scans(events, [0.0, 1.0])
    >>> sorted(scans), scans[1.0, False].method, scans[1.0, False].include_rate
    ([(0.0, False), (0.0, True), (1.0, False), (1.0, True)], 'oracle', False)
    """
    out = {}
    for mu_true in mu_trues:
        scan = oracle.oracle_scan(events, float(mu_true), kappa=kappa, lumi=lumi)
        out[float(mu_true), True], out[float(mu_true), False] = scan, scan.with_rate(False)
    return out


# ------------------------------------------------------------------------------------------------------------------
# histograms (binned template fits through hepnb.stats)
# ------------------------------------------------------------------------------------------------------------------
def adaptive_edges(values: Any, events: Events, n_bins: int = 25, *, kappa: Any = THESIS_KAPPA_GRID) -> np.ndarray:
    """Equal-population bin edges of the grid-averaged weighted distribution (MadMiner ``"auto-grid"``).

    The weight averaged over the kappa grid is ``<mu> w_S + <sqrt mu> w_I + w_B``; the outer edges enclose every
    event, so no event is lost.

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> m4l = np.asarray(events.x["m4l"], dtype=float)
    >>> edges = adaptive_edges(m4l, events, 4)
    >>> len(edges), bool(edges[0] < m4l.min() and m4l.max() < edges[-1])
    (5, True)
    """
    v = as_finite_array(values, "values", ndim=1)
    if len(v) != len(events):
        raise InputError(f"values has {len(v)} entries for {len(events)} events")
    if not is_whole_number(n_bins) or n_bins < 1:
        raise InputError(f"n_bins must be a positive integer, got {n_bins!r}")
    k = np.asarray(kappa, dtype=float)
    w_s, w_i, w_b = events.components()
    w = np.mean(k**4) * w_s + np.mean(k**2) * w_i + w_b
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(np.clip(w[order], 0.0, None))
    if not cum[-1] > 0:
        raise InputError("the events have no positive grid-averaged weight")
    inner = np.interp(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], cum / cum[-1], v[order])
    span = max(float(v.max() - v.min()), 1e-12)
    edges = np.unique(np.r_[v.min() - 1e-9 * span, inner, v.max() + 1e-9 * span])
    return edges


def histogram_model(
    values: Any,
    events: Events,
    bins: int | Sequence[int] = 25,
    *,
    kappa: Any = THESIS_KAPPA_GRID,
    lumi: float = THESIS_LUMI,
    axis_names: Sequence[str] | None = None,
) -> BinnedInterferenceModel:
    """S, I, B templates of ``values`` (``(n,)`` or ``(n, 2)``) at ``lumi``, equal-population edges per axis.

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> model = histogram_model(np.asarray(events.x["m4l"], dtype=float), events, 4)
    >>> type(model).__name__, model.shape
    ('BinnedInterferenceModel', (4,))
    """
    v = as_finite_array(values, "values")
    scale = luminosity_scale(events, lumi)
    w_s, w_i, w_b = (c * scale for c in events.components())
    if v.ndim == 1:
        edges: Any = adaptive_edges(v, events, int(bins), kappa=kappa)  # type: ignore[arg-type]
    elif v.ndim == 2 and v.shape[1] == 2:
        per_axis = [bins, bins] if np.isscalar(bins) else list(bins)  # type: ignore[arg-type]
        edges = [adaptive_edges(v[:, j], events, int(per_axis[j]), kappa=kappa) for j in range(2)]
    else:
        raise InputError(f"values must have shape (n,) or (n, 2), got {v.shape}")
    return BinnedInterferenceModel.from_weighted_events(v, w_s, w_i, w_b, edges, axis_names=axis_names)


def histogram_scan(
    model: BinnedInterferenceModel,
    mu_true: float,
    *,
    method: str,
    kappa: Any = THESIS_KAPPA_GRID,
    lumi: float = THESIS_LUMI,
) -> LikelihoodScan:
    """The binned Asimov fit as a :class:`~hepnb.lfi.LikelihoodScan` (rate switchable like the unbinned ones).

    The Poisson likelihood of the bins is the multinomial shape term plus the Poisson rate term, so the scan's
    kinematic part is ``-q_shape/2`` and its rate part ``-(q_full - q_shape)/2``
    (both from :meth:`BinnedInterferenceModel.scan`).

    Examples
    --------
    Four bins of ``m4l``: the likelihood peaks at the grid point ``mu_true = 1``, ``mu_hat`` is the vertex of the
    parabola through it and its neighbours:

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> model = histogram_model(np.asarray(events.x["m4l"], dtype=float), events, 4)
    >>> scan = histogram_scan(model, 1.0, method="m4l")
    >>> scan.method, round(scan.mu_hat, 2), [round(v, 2) for v in scan.interval(0.95).intervals[0]]
    ('m4l', 0.96, [0.0, 8.43])
    """
    k = np.asarray(kappa, dtype=float)
    mu = mu_from_kappa(k)
    full = model.scan(mu, mu_true=float(mu_true), include_rate=True)
    shape = model.scan(mu, mu_true=float(mu_true), include_rate=False)
    n = float(model.asimov_data(float(mu_true)).sum())
    return LikelihoodScan(
        method, k, mu, -0.5 * shape.q, -0.5 * (full.q - shape.q), True, float(mu_true), float(lumi), n
    )


def histogram_scans(
    values: Any,
    events: Events,
    mu_trues: Sequence[float],
    *,
    method: str,
    bins: int | Sequence[int] = 25,
    kappa: Any = THESIS_KAPPA_GRID,
    lumi: float = THESIS_LUMI,
) -> dict[tuple[float, bool], LikelihoodScan]:
    """:func:`histogram_scan` at each true mu, with and without rate.

    ``values`` are the observable per event (templates from :func:`histogram_model` with the thesis grid's
    binning) or a ready :class:`BinnedInterferenceModel`.

    Examples
    --------
    >>> model = BinnedInterferenceModel.from_arrays([2.0, 1.0], [-1.0, -0.5], [10.0, 5.0])
    >>> scans = histogram_scans(model, None, [0.0, 1.0], method="two bins")
    >>> sorted(scans), scans[1.0, True].q.shape
    ([(0.0, False), (0.0, True), (1.0, False), (1.0, True)], (51,))
    """
    if isinstance(values, BinnedInterferenceModel):
        model = values
    else:
        model = histogram_model(values, events, bins, lumi=lumi)
    out = {}
    for mu_true in mu_trues:
        scan = histogram_scan(model, float(mu_true), method=method, kappa=kappa, lumi=lumi)
        out[float(mu_true), True], out[float(mu_true), False] = scan, scan.with_rate(False)
    return out


def ideal_classifier(events: Events) -> np.ndarray:
    """The Bayes-optimal output of an (unphysical) S-vs-B classifier, ``f_S / (f_S + f_B)``, from the oracle.

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> p = ideal_classifier(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> p.shape, bool(np.all((p >= 0) & (p <= 1)))
    ((666,), True)
    """
    comp = oracle_components(events)
    return comp["f_S"] / (comp["f_S"] + comp["f_B"])
