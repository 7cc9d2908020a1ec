"""Study 3 orchestration: samples, the method table, histogram baselines and the scan comparison (notebook 03).

Everything the notebook ``03_likelihood_free_inference.ipynb`` computes lives here (its plots in
:mod:`hepnb.lfi.plots`):

* :func:`make_samples`: detector-free (``detector="none"``) VBF samples with the ch7 preselection, the training one
  with the generator's weights (the joint ratio and score depend on the latent helicities: real "gold"), the
  evaluation one with helicity-summed weights (same expectations, less MC noise, the oracle peaks at the truth);
* :func:`toy_illustration`: the 1-D Gaussian toy of the talk's figures 5 and 6 (joint vs exact ratio and score);
* :func:`neff_table`: the MadMiner effective sample size against kappa for unweighted samples at each benchmark;
* :func:`train_method` / :func:`method_table`: every MadMiner method with its training time, its closure against the
  oracle and its interval widths;
* :func:`adaptive_edges`, :func:`histogram_model`, :func:`histogram_scan`: binned template fits through
  :class:`hepnb.stats.interference.BinnedInterferenceModel`, returned as :class:`hepnb.lfi.LikelihoodScan` so that
  every method goes through one :func:`hepnb.lfi.interval_table`;
* :func:`ratio_log_r_grid` / :func:`scans_from_log_r`: a ratio estimator evaluated once on the kappa grid and turned
  into scans at any number of true mu (what makes the notebook's mu slider instant);
* :func:`normalise_log_r`: ``log r_hat - log E_SM[r_hat]``, the calibration that keeps ALICES's Asimov scan from
  being over-confident;
* :func:`width_table`, :func:`method_table`, :func:`degeneracy_table`.

Evaluation luminosity and grid are the thesis's (:mod:`hepnb.stats.constants`: 36.1 fb^-1, kappa in [0, 2] with
51 points).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hepnb.errors import InputError, as_finite_array
from hepnb.lfi import augmented, estimators, inference
from hepnb.lfi.inference import LikelihoodScan
from hepnb.lfi.toy import GaussianToy
from hepnb.offshell import Events, effective_sample_size, generate, oracle_components, unweighted
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI
from hepnb.stats.interference import BinnedInterferenceModel
from hepnb.stats.yields import mu_from_kappa

__all__ = [
    "PRESET", "SUMMARY", "METHODS", "HIST_OBSERVABLES", "UNIFORM_KAPPAS", "RATIO_HIDDEN", "numerator_kappas",
    "make_samples", "ToyIllustration", "toy_illustration",
    "neff_table", "TrainedMethod", "train_method", "ratio_log_r_grid", "scans_from_log_r", "method_scans",
    "normalise_log_r", "oracle_scans", "adaptive_edges", "histogram_model", "histogram_scan", "histogram_scans",
    "width_table", "method_table", "closure_metrics", "degeneracy_table", "best_histogram", "ideal_classifier",
]

#: The ch7 preselection (m4l > 220 GeV, two jets).
PRESET = "thesis-ch7"
#: The 3-D summary the density estimators (an MDN: no flow library) model.
SUMMARY: tuple[str, ...] = ("m4l", "delta_eta_jj", "pt_j1")
#: 1-D histogram observables of the thesis's baselines.
HIST_OBSERVABLES: tuple[str, ...] = ("m4l", "pt_j1", "delta_eta_jj")

#: MadMiner's method table (K L473-505): group, what the network estimates, uses r(x,z), uses t(x,z).
METHODS: dict[str, dict[str, Any]] = {
    "carl": {"group": "likelihood ratio", "uses_r": False, "uses_t": False},
    "rolr": {"group": "likelihood ratio", "uses_r": True, "uses_t": False},
    "rascal": {"group": "likelihood ratio", "uses_r": True, "uses_t": True},
    "alice": {"group": "likelihood ratio", "uses_r": True, "uses_t": False},
    "alices": {"group": "likelihood ratio", "uses_r": True, "uses_t": True},
    "cascal": {"group": "likelihood ratio", "uses_r": False, "uses_t": True},
    "sally": {"group": "score", "uses_r": False, "uses_t": True},
    "sallino": {"group": "score", "uses_r": False, "uses_t": True},
    "nde": {"group": "likelihood", "uses_r": False, "uses_t": False},
    "scandal": {"group": "likelihood", "uses_r": False, "uses_t": True},
}
#: Numerator points of the ratio and density estimators by default: uniform in kappa over the scan range, the 51
#: points of the thesis's grid on [0, 2] (a prior over theta, as MadMiner's ``sample_train_ratio`` allows). The
#: thesis's hand-picked list (:data:`hepnb.lfi.THESIS_KAPPAS`) puts 26 of its 27 points at 0.84 <= kappa <= 2 and
#: the last at kappa = 0: trained on it, ``log r_hat(x | kappa=0)`` does not close against the oracle (notebook 03).
UNIFORM_KAPPAS: tuple[float, ...] = tuple(float(k) for k in THESIS_KAPPA_GRID)
#: Hidden layers of the ratio estimators by default: two of 100 tanh units. The thesis's one layer of 300 does not
#: follow the kappa dependence from kappa = 0 to 2 (notebook 03).
RATIO_HIDDEN: tuple[int, ...] = (100, 100)
_CL = (0.6827, 0.95)


def numerator_kappas(choice: str) -> tuple[float, ...]:
    """The numerator points in kappa: ``"uniform"`` (:data:`UNIFORM_KAPPAS`) or ``"thesis"`` (the ch7 list)."""
    points = {"uniform": UNIFORM_KAPPAS, "thesis": augmented.THESIS_KAPPAS}
    if choice not in points:
        raise InputError(f"numerator points must be one of {list(points)}, got {choice!r}")
    return points[choice]


# ------------------------------------------------------------------------------------------------------------------
# samples
# ------------------------------------------------------------------------------------------------------------------
def make_samples(n_train: int, n_test: int, seed: int, *, lumi: float = THESIS_LUMI) -> tuple[Events, Events]:
    """Training and evaluation VBF samples, ``detector="none"``, ch7 preselection (about half the events pass).

    The training sample keeps the generator's weights (they follow the sampled helicities, a latent variable); the
    evaluation sample (independent seed ``seed + 1``) gets helicity-summed weights
    (:func:`hepnb.lfi.helicity_summed`): the same expectation of anything observable, less MC noise, and an Asimov
    oracle scan that peaks exactly at the true mu.
    """
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(n, (int, np.integer)) or n < 1000:
            raise InputError(f"{name} must be an integer >= 1000 generated events, got {n!r}")
    train = generate(int(n_train), seed, detector="none", preset=PRESET, lumi=lumi, progress=False)
    test = generate(int(n_test), seed + 1, detector="none", preset=PRESET, lumi=lumi, progress=False)
    return train, inference.helicity_summed(test)


def _scale(events: Events, lumi: float) -> float:
    return float(lumi) / float(events.meta.get("config", {}).get("lumi", lumi))


def _asimov(events: Events, mu_true: float, lumi: float) -> tuple[np.ndarray, dict[str, float]]:
    scale = _scale(events, lumi)
    y = events.yields
    return events.weight(float(mu_true)) * scale, {c: float(y[c]) * scale for c in ("S", "I", "B")}


# ------------------------------------------------------------------------------------------------------------------
# the 1-D toy (talk figures 5 and 6)
# ------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ToyIllustration:
    """Events of the Gaussian toy with their joint and exact ratio and score.

    ``x`` and ``z`` are drawn at ``theta1`` (ratio panel) and at ``theta`` (score panel); ``bin_centres`` and the
    ``*_binned`` arrays are the means of the joint quantities in bins of x, which converge to the exact ones
    (thesis section 4.8.1: ``E[r(x,z) | x] = r(x)`` under ``theta1``, ``E[t(x,z) | x] = t(x)`` under ``theta``).
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


def toy_illustration(n: int = 20_000, seed: int = 0, *, theta0: float = 1.0, theta1: float = -1.0,
                     theta: float = 0.0, bins: Any = _TOY_BINS) -> ToyIllustration:
    """The toy of figures 5 and 6: ``n`` events per hypothesis, joint vs exact ``r`` and ``t``."""
    if not isinstance(n, (int, np.integer)) or n < 10:
        raise InputError(f"n must be an integer >= 10, got {n!r}")
    toy = GaussianToy()
    sample = toy.ratio_sample(2 * int(n), seed, [theta0], theta1)
    x = sample.x[:, 0]
    local = toy.local_sample(int(n), seed + 1, theta)
    edges = as_finite_array(bins, "bins", ndim=1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    ref = sample.y == 1  # drawn at theta1: E[r(x,z)|x] = r(x)
    r = np.exp(sample.log_r_xz)
    idx = np.digitize(x[ref], edges) - 1
    ok = (idx >= 0) & (idx < len(centres))
    r_binned = _binned_mean(idx[ok], r[ref][ok], len(centres))
    idx_t = np.digitize(local.x[:, 0], edges) - 1
    ok_t = (idx_t >= 0) & (idx_t < len(centres))
    t_binned = _binned_mean(idx_t[ok_t], local.t_xz[ok_t], len(centres))
    return ToyIllustration(toy, float(theta0), float(theta1), float(theta), x, sample.y, r, local.x[:, 0],
                           local.t_xz, centres, r_binned, t_binned)


def _binned_mean(idx: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    count = np.bincount(idx, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.bincount(idx, weights=values, minlength=n) / np.maximum(count, 1), np.nan)


# ------------------------------------------------------------------------------------------------------------------
# N_eff
# ------------------------------------------------------------------------------------------------------------------
def neff_table(pool: Events, benchmarks: Sequence[float], kappas: Sequence[float], n: int, seed: int) -> pd.DataFrame:
    """MadMiner ``N_eff = sum w / max w`` of ``n`` unweighted events at each benchmark, reweighted to each kappa.

    Rows: kappa; columns: ``"kappa_b = ..."``, the source benchmark. The relative value ``N_eff / n`` is 1 at the
    benchmark itself and falls where the target has events the source rarely makes (Fig 7.7).
    """
    ks = as_finite_array(kappas, "kappas", ndim=1)
    out = {}
    for j, kb in enumerate(benchmarks):
        sample = unweighted(float(kb) ** 4, int(n), seed + j, source=pool)
        out[f"kappa_b = {float(kb):g}"] = [effective_sample_size(sample, float(k) ** 4).value for k in ks]
    return pd.DataFrame(out, index=pd.Index(ks, name="kappa"))


# ------------------------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TrainedMethod:
    """A trained estimator, its method, its training time in seconds and the size of its training sample."""

    method: str
    estimator: Any
    seconds: float
    n_rows: int
    best_epoch: int


def train_method(method: str, train: Events, *, n_samples: int, seed: int, max_epochs: int,
                 batch_size: int = 128, lr: float = 1e-3, n_hidden: Sequence[int] | None = None,
                 thetas: Sequence[float] = UNIFORM_KAPPAS, observables: Any = "thesis-ch7",
                 patience: int | None = 5) -> TrainedMethod:
    """Mine the augmented sample the method needs and train it; the time covers mining and training.

    Ratio methods get :func:`hepnb.lfi.mine_ratio_sample` (numerators ``thetas`` against the SM, default
    :data:`RATIO_HIDDEN`), SALLY/SALLINO :func:`~hepnb.lfi.mine_local_sample` at the SM (1x100), NDE/SCANDAL
    :func:`~hepnb.lfi.mine_density_sample` on :data:`SUMMARY` (an MDN, 1x100). The learning rate decays to lr/10.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {list(METHODS)}, got {method!r}")
    start = time.perf_counter()
    group = METHODS[method]["group"]
    opts: dict[str, Any] = {"lr": lr, "final_lr": lr / 10}
    if group == "likelihood ratio":
        sample = augmented.mine_ratio_sample(train, n_samples, seed, theta0=thetas, observables=observables)
        est: Any = estimators.ParameterizedRatioEstimator(sample.x.shape[1], method,
                                                          n_hidden=n_hidden or RATIO_HIDDEN,
                                                          **opts)
    elif group == "score":
        sample = augmented.mine_local_sample(train, n_samples, seed, observables=observables)
        est = estimators.ScoreEstimator(sample.x.shape[1], method, n_hidden=n_hidden or (100,), **opts)
    else:
        sample = augmented.mine_density_sample(train, n_samples, seed, thetas=thetas, observables=list(SUMMARY))
        est = estimators.DensityEstimator(sample.x.shape[1], method, n_hidden=n_hidden or (100,), **opts)
    est = estimators.train_estimator(est, sample, seed=seed, max_epochs=max_epochs, batch_size=batch_size,
                                     patience=patience)
    return TrainedMethod(method, est, time.perf_counter() - start, len(sample), int(est.history["best_epoch"]))


# ------------------------------------------------------------------------------------------------------------------
# scans
# ------------------------------------------------------------------------------------------------------------------
def ratio_log_r_grid(estimator: Any, events: Events, kappa: Any = THESIS_KAPPA_GRID) -> np.ndarray:
    """``log r_hat(x_i | kappa_j, SM)`` ``(len(kappa), n)``: the estimator evaluated once for every later scan."""
    x, _ = augmented.observables_matrix(events, estimator.observables)
    return np.stack([np.asarray(estimator.log_ratio(x, float(k), 1.0), dtype=float) for k in np.asarray(kappa)])


def normalise_log_r(log_r: np.ndarray, events: Events, reference_kappa: float = 1.0) -> np.ndarray:
    """``log r_hat - log E_ref[r_hat]`` per grid row: the estimate divided by its mean under the reference.

    A likelihood ratio satisfies ``E_{theta1}[r(x | theta0, theta1)] = 1``; a network's residual offsets of order
    0.01 violate it and, summed over the Asimov events, bias the expected log likelihood near the reference (an
    over-confident scan). Dividing by the Monte-Carlo mean over the events' reference weights (as the normalised
    local model of :func:`hepnb.lfi.sally_scan`) removes the offset and changes nothing for an exact ratio.
    """
    from scipy import special

    w_ref = events.weight(float(reference_kappa) ** 4)
    if not w_ref.sum() > 0:
        raise InputError(f"the events have no weight at the reference kappa={reference_kappa}")
    lr = np.asarray(log_r, dtype=float)
    b = w_ref / w_ref.sum()
    # row by row: the temporaries stay one event-array long (the grid has 51 rows of up to 10^6 events)
    return lr - np.array([special.logsumexp(row, b=b) for row in lr])[:, None]


def scans_from_log_r(log_r: np.ndarray, events: Events, mu_trues: Sequence[float], method: str, *,
                     kappa: Any = THESIS_KAPPA_GRID, lumi: float = THESIS_LUMI, normalise: bool = True
                     ) -> dict[tuple[float, bool], LikelihoodScan]:
    """Asimov scans ``{(mu_true, include_rate): scan}`` from a precomputed ``log r`` grid (as :func:`lfi.ratio_scan`),
    normalised with :func:`normalise_log_r` unless ``normalise=False``."""
    if normalise:
        log_r = normalise_log_r(log_r, events)
    out = {}
    for mu_true in mu_trues:
        w, y = _asimov(events, float(mu_true), lumi)
        scan = inference.scan_from_log_ratios(log_r, w, kappa=kappa, mu_true=float(mu_true), yields=y,
                                              include_rate=True, lumi=lumi, method=method)
        out[float(mu_true), True] = scan
        out[float(mu_true), False] = scan.with_rate(False)
    return out


def method_scans(trained: TrainedMethod, events: Events, mu_trues: Sequence[float], *,
                 kappa: Any = THESIS_KAPPA_GRID, lumi: float = THESIS_LUMI, bins: int = 25,
                 label: str | None = None, normalise: bool = True) -> dict[tuple[float, bool], LikelihoodScan]:
    """Scans of one trained method at each true mu, with and without rate.

    Ratio and density estimators: the weighted Asimov sum of ``log r_hat``. SALLY: the local exponential model
    (:func:`hepnb.lfi.sally_scan`). SALLINO: the binned template fit of the histogram of ``t_hat`` (for one
    parameter the same as MadMiner's SALLY histogram mode). Ratio and density estimates are normalised
    (:func:`normalise_log_r`) unless ``normalise=False``.
    """
    name = label or trained.method
    if trained.method == "sally":
        out = {}
        for mu_true in mu_trues:
            scan = inference.sally_scan(trained.estimator, events, float(mu_true), kappa=kappa, lumi=lumi)
            scan = LikelihoodScan(name, *_fields(scan)[1:])
            out[float(mu_true), True], out[float(mu_true), False] = scan, scan.with_rate(False)
        return out
    if trained.method == "sallino":
        t_hat = inference.estimated_scores(trained.estimator, events)
        return histogram_scans(t_hat, events, mu_trues, bins=bins, kappa=kappa, lumi=lumi, method=name)
    return scans_from_log_r(ratio_log_r_grid(trained.estimator, events, kappa), events, mu_trues, name,
                            kappa=kappa, lumi=lumi, normalise=normalise)


def _fields(scan: LikelihoodScan) -> tuple[Any, ...]:
    return (scan.method, scan.kappa, scan.mu, scan.log_likelihood_kinematic, scan.log_likelihood_rate,
            scan.include_rate, scan.mu_true, scan.lumi, scan.n_expected)


def oracle_scans(events: Events, mu_trues: Sequence[float], *, kappa: Any = THESIS_KAPPA_GRID,
                 lumi: float = THESIS_LUMI) -> dict[tuple[float, bool], LikelihoodScan]:
    """The exact (oracle) scans at each true mu, with and without rate (``detector="none"`` only)."""
    out = {}
    for mu_true in mu_trues:
        scan = inference.oracle_scan(events, float(mu_true), kappa=kappa, lumi=lumi)
        out[float(mu_true), True], out[float(mu_true), False] = scan, scan.with_rate(False)
    return out


# ------------------------------------------------------------------------------------------------------------------
# histograms (binned template fits through hepnb.stats)
# ------------------------------------------------------------------------------------------------------------------
def adaptive_edges(values: Any, events: Events, n_bins: int = 25, *, kappa: Any = THESIS_KAPPA_GRID) -> np.ndarray:
    """Equal-population bin edges of the grid-averaged weighted distribution (MadMiner ``"auto-grid"``).

    The weight averaged over the kappa grid is ``<mu> w_S + <sqrt mu> w_I + w_B``; the outer edges enclose every
    event, so no event is lost.
    """
    v = as_finite_array(values, "values", ndim=1)
    if len(v) != len(events):
        raise InputError(f"values has {len(v)} entries for {len(events)} events")
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
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


def histogram_model(values: Any, events: Events, bins: int | Sequence[int] = 25, *,
                    kappa: Any = THESIS_KAPPA_GRID, lumi: float = THESIS_LUMI,
                    axis_names: Sequence[str] | None = None) -> BinnedInterferenceModel:
    """S, I, B templates of ``values`` (``(n,)`` or ``(n, 2)``) at ``lumi``, equal-population edges per axis."""
    v = as_finite_array(values, "values")
    scale = _scale(events, lumi)
    w_s, w_i, w_b = (c * scale for c in events.components())
    if v.ndim == 1:
        edges: Any = adaptive_edges(v, events, int(bins), kappa=kappa)  # type: ignore[arg-type]
    elif v.ndim == 2 and v.shape[1] == 2:
        per_axis = [bins, bins] if np.isscalar(bins) else list(bins)  # type: ignore[arg-type]
        edges = [adaptive_edges(v[:, j], events, int(per_axis[j]), kappa=kappa) for j in range(2)]
    else:
        raise InputError(f"values must have shape (n,) or (n, 2), got {v.shape}")
    return BinnedInterferenceModel.from_weighted_events(v, w_s, w_i, w_b, edges, axis_names=axis_names)


def histogram_scan(model: BinnedInterferenceModel, mu_true: float, *, method: str,
                   kappa: Any = THESIS_KAPPA_GRID, lumi: float = THESIS_LUMI) -> LikelihoodScan:
    """The binned Asimov fit as a :class:`~hepnb.lfi.LikelihoodScan` (rate switchable like the unbinned ones).

    The Poisson likelihood of the bins is the multinomial shape term plus the Poisson rate term, so the scan's
    kinematic part is ``-q_shape/2`` and its rate part ``-(q_full - q_shape)/2``
    (both from :meth:`BinnedInterferenceModel.scan`).
    """
    k = np.asarray(kappa, dtype=float)
    mu = mu_from_kappa(k)
    full = model.scan(mu, mu_true=float(mu_true), include_rate=True)
    shape = model.scan(mu, mu_true=float(mu_true), include_rate=False)
    n = float(model.asimov_data(float(mu_true)).sum())
    return LikelihoodScan(method, k, mu, -0.5 * shape.q, -0.5 * (full.q - shape.q), True, float(mu_true),
                          float(lumi), n)


def histogram_scans(values: Any, events: Events, mu_trues: Sequence[float], *, method: str,
                    bins: int | Sequence[int] = 25, kappa: Any = THESIS_KAPPA_GRID,
                    lumi: float = THESIS_LUMI) -> dict[tuple[float, bool], LikelihoodScan]:
    """:func:`histogram_scan` at each true mu, with and without rate.

    ``values`` are the observable per event (templates from :func:`histogram_model` with the thesis grid's
    binning) or a ready :class:`BinnedInterferenceModel`.
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
    """The Bayes-optimal output of an (unphysical) S-vs-B classifier, ``f_S / (f_S + f_B)``, from the oracle."""
    comp = oracle_components(events)
    return comp["f_S"] / (comp["f_S"] + comp["f_B"])


# ------------------------------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------------------------------
def width_table(scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]], mu_trues: Sequence[float],
                reference: str = "oracle") -> pd.DataFrame:
    """68% / 95% interval widths relative to ``reference`` for every method, true mu and rate choice.

    Rows: method; columns: ``(mu_true, "rate"/"shape", "68%"/"95%")``.
    """
    cols = {}
    for mu_true in mu_trues:
        for rate in (True, False):
            table = inference.interval_table({m: s[float(mu_true), rate] for m, s in scans.items()}, reference)
            for row in table.rows:
                cols.setdefault((float(mu_true), "rate" if rate else "shape", "68%"), {})[row.method] = row.relative_68
                cols.setdefault((float(mu_true), "rate" if rate else "shape", "95%"), {})[row.method] = row.relative_95
    frame = pd.DataFrame(cols)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["true mu", "rate", "CL"])
    return frame


def closure_metrics(trained: TrainedMethod, events: Events, kappas: Sequence[float] = (0.0, 0.8, 1.2, 1.5)
                    ) -> dict[str, float]:
    """Weighted (SM) mean squared error of ``log r_hat`` against the oracle at ``kappas`` (ratio/density methods),
    or of ``t_hat`` against the oracle score (score methods), and the weighted correlation."""
    w = events.weight(1.0)
    est = trained.estimator
    if METHODS[trained.method]["group"] == "score":
        learned = inference.estimated_scores(est, events)[None, :]
        exact = inference.oracle_score(events, 1.0)[None, :]
    else:
        x, _ = augmented.observables_matrix(events, est.observables)
        learned = np.stack([est.log_ratio(x, float(k), 1.0) for k in kappas])
        exact = np.stack([_oracle_log_r(events, float(k)) for k in kappas])
    mse = float(np.mean([np.average((a - b) ** 2, weights=w) for a, b in zip(learned, exact)]))
    corr = float(np.mean([np.cov(a, b, aweights=w)[0, 1] / np.sqrt(np.cov(a, b, aweights=w)[0, 0]
                                                                      * np.cov(a, b, aweights=w)[1, 1])
                          for a, b in zip(learned, exact)]))
    return {"mse": mse, "correlation": corr}


def _oracle_log_r(events: Events, kappa: float) -> np.ndarray:
    from hepnb.offshell import oracle_log_ratio

    return oracle_log_ratio(events, kappa**4, 1.0)


def method_table(trained: Mapping[str, TrainedMethod], events: Events, oracle: Mapping[tuple[float, bool], Any],
                 scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]], *,
                 mu_true: float = 1.0) -> pd.DataFrame:
    """MadMiner's method table with our numbers: what each method uses, its training rows and seconds, its closure
    against the oracle (MSE, correlation) and its 68%/95% widths relative to the oracle at ``mu_true``."""
    rows = []
    for name, tm in trained.items():
        info = METHODS[tm.method]
        closure = closure_metrics(tm, events)
        row = {"method": name, "group": info["group"], "uses r(x,z)": info["uses_r"], "uses t(x,z)": info["uses_t"],
               "observables": "3-D summary" if info["group"] == "likelihood" else "35 ch7",
               "training rows": tm.n_rows, "best epoch": tm.best_epoch, "training time [s]": tm.seconds,
               "closure MSE": closure["mse"], "closure corr.": closure["correlation"]}
        for rate in (True, False):
            table = inference.interval_table({"oracle": oracle[float(mu_true), rate],
                                              name: scans[name][float(mu_true), rate]})
            r = table.row(name)
            tag = "rate" if rate else "shape"
            row[f"68% / oracle ({tag})"] = r.relative_68
            row[f"95% / oracle ({tag})"] = r.relative_95
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def best_histogram(scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]], candidates: Sequence[str],
                   mu_true: float = 1.0, include_rate: bool = True) -> str:
    """The candidate with the narrowest 95% interval at ``mu_true``."""
    widths = {c: _width(scans[c][float(mu_true), include_rate], 0.95) for c in candidates}
    return min(widths, key=widths.__getitem__)


def _width(scan: Any, cl: float) -> float:
    return float(sum(hi - lo for lo, hi in scan.interval(cl).intervals))


def degeneracy_table(scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]], mu_star: float
                     ) -> pd.DataFrame:
    """``q(mu*)`` for Asimov data at ``mu = 0``: how strongly each method rejects the rate partner ``mu*``.

    ``scans`` are at ``mu_true = 0`` on a grid that contains ``mu*`` (e.g. ``kappa = [0, mu*^(1/4)]``). With the
    rate, ``N(mu*) = N(0)`` adds nothing: all the separation comes from the shapes. ``Z = sqrt(q)``.
    """
    rows = {}
    for name, by_key in scans.items():
        row = {}
        for rate in (True, False):
            if (0.0, rate) not in by_key:
                raise InputError(f"the scans of {name!r} have no Asimov data at mu = 0 (rate={rate}): scan true "
                                 "mu = 0 on kappa = [0, mu*^(1/4)]")
            scan = by_key[0.0, rate]
            j = int(np.argmin(np.abs(scan.mu - float(mu_star))))
            if not np.isclose(scan.mu[j], float(mu_star), rtol=1e-9, atol=1e-12):
                raise InputError(f"the scan of {name!r} has no grid point at mu* = {mu_star:g}: scan kappa = "
                                 "[0, mu*^(1/4)]")
            tag = "rate" if rate else "shape"
            row[f"q(mu*) ({tag})"] = float(scan.q[j])
            row[f"Z ({tag})"] = float(np.sqrt(scan.q[j]))
        rows[name] = row
    return pd.DataFrame(rows).T
