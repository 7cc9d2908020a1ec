"""Every public ``plot_*`` function of the package draws a figure a physicist can read: with the notebooks' style
(``hepnb.style.use()``) no title, label, tick label or legend overlaps another, and no legend hides the data.

Each figure is made from small constructed inputs (those of the modules' own tests) and checked with
:func:`hepnb.figure_checks.text_overlaps` and :func:`hepnb.figure_checks.legend_data_overlap`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from functools import cache
from types import SimpleNamespace
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from jet_toys import blobs
from matplotlib.figure import Figure  # noqa: E402

from hepnb import style  # noqa: E402
from hepnb.figure_checks import legend_data_overlap, text_overlaps  # noqa: E402


@pytest.fixture
def notebook_style() -> Iterator[None]:
    """The notebooks' style for one test; matplotlib's settings and warning filters restored afterwards."""
    saved = mpl.rcParams.copy()
    try:
        with warnings.catch_warnings():
            style.use()
            yield
    finally:
        plt.close("all")
        mpl.rcParams.update(saved)


def _figure(drawn: Any) -> Figure:
    """The figure of what a plot function returns: a figure, an axes or an array of axes."""
    if isinstance(drawn, Figure):
        return drawn
    return np.asarray(drawn).ravel()[0].figure


# ------------------------------------------------------------------------------------------------ inputs, cached
@cache
def _showers() -> Any:
    from hepnb.calo import validation as v
    from hepnb.calo.simulate import simulate

    return v.as_shower_arrays(simulate([300, 300], [8192.0, 65536.0], seed=3))


def _tail_samples() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Cells whose sums give responses evenly in (0.9, 1.0), and a copy 20 % high at 1 GeV (test_calo_diagnostics)."""
    n = 200
    grid = 0.9 + 0.1 * (np.arange(n) + 0.5) / n
    energy = np.r_[np.full(n, 1024.0), np.full(n, 65536.0)]
    raw = np.random.default_rng(0).exponential(size=(2 * n, 266))
    reference = raw / raw.sum(axis=1, keepdims=True) * (np.r_[grid, grid] * energy)[:, None]
    return energy, {"Reference": reference, "GAN": reference * np.where(energy == 1024.0, 1.2, 1.0)[:, None]}


@cache
def _vbf() -> Any:
    from hepnb import offshell as osh

    return osh.generate(40_000, seed=5, progress=False)


def _evaluation() -> tuple[Any, np.ndarray]:
    """A constructed evaluation set (thesis-like yields: S 1.1, V 6.9, SVI 6.1, B2 68.8) and a score per event."""
    from hepnb.offshell.strategies.samples import EvaluationSet

    rng = np.random.default_rng(1)
    n_vbf, n_bkg = 3000, 3000
    process = np.r_[np.zeros(n_vbf, int), rng.integers(1, 3, n_bkg)]
    vbf = process == 0
    w_s = np.where(vbf, 1.1 / n_vbf, 0.0)
    w_i = np.where(vbf, -1.9 / n_vbf, 0.0)
    w_b = np.where(vbf, 6.9 / n_vbf, 68.8 / n_bkg)
    score = np.where(vbf, rng.beta(3, 1.5, len(process)), rng.beta(1.5, 3, len(process)))
    x = rng.normal(size=(len(process), 2))
    return EvaluationSet(x, process, w_s, w_i, w_b, w_b, ("a", "b"), "test"), score


def _iz_scans() -> dict[str, Any]:
    from hepnb.metrics.thresholds import best_threshold_significance

    evaluation, score = _evaluation()
    scans = {}
    for name, power in (("GBDT, approach 1", 1.0), ("GBDT, approach 2", 2.0)):
        labels, weights, scores = evaluation.components(score**power)
        scans[name] = best_threshold_significance(labels, scores, weights, metric="iz", min_events=20)
    return scans


def _likelihood_scan(method: str, mu_true: float, include_rate: bool, width: float) -> Any:
    from hepnb.lfi.inference import LikelihoodScan

    kappa = np.linspace(0.0, 2.0, 81)
    mu = kappa**4
    return LikelihoodScan(
        method, kappa, mu, -0.5 * ((mu - mu_true) / width) ** 2, np.zeros_like(mu), include_rate, mu_true, 3000.0, 50.0
    )


def _lfi_scans() -> dict[str, dict[tuple[float, bool], Any]]:
    widths = {"oracle": 1.0, "alices": 1.2, "sally": 1.5, "m4l": 3.0}
    return {
        name: {(mu, rate): _likelihood_scan(name, mu, rate, w) for mu in (1.0, 4.0) for rate in (True, False)}
        for name, w in widths.items()
    }


def _split() -> Any:
    from hepnb.decorrelation.datasets import Split

    rng = np.random.default_rng(0)
    n = 4000
    labels = rng.integers(0, 2, n)
    m = np.clip(rng.normal(0.4 + 0.2 * labels, 0.15), 0, 1)
    ones = np.ones(n)
    return Split(rng.normal(size=(n, 2)), labels, ones, ones, m[:, None], 100 * m, 1 - labels)


def _decorrelation_scores(split: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    plain = np.clip(0.5 * split.labels + 0.8 * split.m + rng.normal(0, 0.2, len(split)), 0, None)
    return {"plain": plain / plain.max(), "aspiration": rng.uniform(size=len(split)) * 0.7 + 0.3 * split.labels}


def _comparisons() -> dict[str, Any]:
    from hepnb.hists import Comparison

    rng = np.random.default_rng(5)
    one = Comparison(rng.normal(size=1000), {"a": rng.normal(size=1000), "b": rng.normal(size=500)}, bins=(20, -3, 3))
    two = Comparison(rng.normal(size=(4000, 2)), {"gen": rng.normal(size=(4000, 2))}, bins=((8, -3, 3), (8, -3, 3)))
    return {"1-D": one, "2-D": two}


# ------------------------------------------------------------------------------------------------ the figures
def plot_speed() -> Any:
    from hepnb.calo import speed

    results = [
        speed.SpeedResult("GAN", 1, 50, 0.5, 65536.0, 900.0, 800.0, 1),
        speed.SpeedResult("GAN", 1024, 1024, 0.4, 65536.0, 1100.0, 800.0, 1),
        speed.SpeedResult("simulator", 1, 20, 0.3, 65536.0, 300.0, 250.0, 1),
        speed.SpeedResult("simulator", 1024, 1024, 2.0, 65536.0, 350.0, 250.0, 1),
    ]
    return speed.plot_speed(results)


def plot_response_tails() -> Any:
    from hepnb.calo import validation as v

    energy, samples = _tail_samples()
    return v.plot_response_tails(energy, samples)


def plot_response_vs_condition() -> Any:
    from hepnb.calo import validation as v

    rng = np.random.default_rng(0)
    deta = rng.uniform(-0.0125, 0.0125, 4000)
    flat = 0.97 + 0.01 * rng.normal(size=4000)
    drift = 0.97 + deta + 0.01 * rng.normal(size=4000)
    profile = v.response_vs_condition(np.full(4000, 65536.0), {"Reference": flat, "GAN": drift}, deta, r"$d\eta$")
    return v.plot_response_vs_condition(profile)


def plot_alignment_effects() -> Any:
    from hepnb.calo import validation as v

    return v.plot_alignment_effects(_showers())


def plot_mean_images() -> Any:
    from hepnb.calo import validation as v

    return v.plot_mean_images(_showers(), energy_mev=65536.0)


def plot_response_resolution() -> Any:
    from hepnb.calo import validation as v

    showers = _showers()
    wide = showers.cells * 1.02
    return v.plot_response_resolution(v.response_resolution(showers.energy, {"Reference": showers.cells, "GAN": wide}))


def plot_resolution_by_epoch() -> Any:
    from hepnb.calo import validation as v

    epochs = [10, 20, 30, 40, 50]
    index = pd.MultiIndex.from_tuples([(s, e) for s in ("double critic", "single") for e in epochs])
    table = pd.DataFrame({"ratio": [1.6, 1.3, 1.1, 1.05, 0.98, 2.0, 1.7, 1.4, 1.3, 1.25], "error": 0.03}, index=index)
    table.index.names = ["sample", "epoch"]
    return v.plot_resolution_by_epoch(table, tolerance=0.2, chosen={"double critic": 50})


def plot_training_history() -> Any:
    from hepnb.calo import validation as v

    epochs = pd.Index(np.arange(1, 1001), name="epoch")
    history = pd.DataFrame({"wasserstein": 1.0 / epochs, "resolution_error": 0.1 + 0.0 * epochs}, index=epochs)
    return v.plot_training_history(
        {"double critic": SimpleNamespace(history=history), "single": SimpleNamespace(history=2 * history)}
    )


def plot_sculpting() -> Any:
    from hepnb.decorrelation import plots

    split = _split()
    return plots.plot_sculpting(split, _decorrelation_scores(split), mass_label="$m_{4\\ell}$ [GeV]")


def plot_scatter_and_profile() -> Any:
    from hepnb.decorrelation import plots
    from hepnb.metrics import decorrelation as dm

    split = _split()
    score = _decorrelation_scores(split)["plain"]
    profile = dm.score_profile(score, split.m, bins=(12, 0.0, 1.0))
    return plots.plot_scatter_and_profile(score, split.m, profile, label="scaled mass")


def plot_profiles() -> Any:
    from hepnb.decorrelation import plots
    from hepnb.metrics import decorrelation as dm

    split = _split()
    profiles = {
        name: dm.score_profile(s, split.m, split.labels, bins=(12, 0.0, 1.0), on="background")
        for name, s in _decorrelation_scores(split).items()
    }
    return plots.plot_profiles(profiles, label="scaled mass")


def plot_thresholds() -> Any:
    from hepnb.decorrelation import plots
    from hepnb.metrics import decorrelation as dm

    split = _split()
    curves = {
        name: dm.efficiency_thresholds(s, split.m, split.labels, bins=8)
        for name, s in _decorrelation_scores(split).items()
    }
    return plots.plot_thresholds(curves, label="scaled mass")


def plot_aspired_pairs() -> Any:
    from hepnb.decorrelation import plots

    split = _split()
    return plots.plot_aspired_pairs(_decorrelation_scores(split)["plain"], split.m, seed=1, label="scaled mass")


def plot_front() -> Any:
    from hepnb.decorrelation import plots

    summary = pd.DataFrame(
        {
            "method": ["plain", "disco", "disco", "aspiration", "aspiration"],
            "lam": [0.0, 1.0, 3.0, 1.0, 3.0],
            "r50": [20.0, 8.0, 4.0, 12.0, 6.0],
            "inv_jsd50": [3.0, 30.0, 90.0, 10.0, 40.0],
            "r50_std": [1.0, 0.5, 0.4, 0.6, 0.5],
            "inv_jsd50_std": [0.2, 3.0, 9.0, 1.0, 4.0],
        }
    ).set_index(["method", "lam"])
    return plots.plot_front(summary, title="toy")


def plot_comparison() -> Any:
    from hepnb.hists.plotting import plot_comparison

    return plot_comparison(_comparisons()["1-D"])


def plot_comparison_2d() -> Any:
    from hepnb.hists.plotting import plot_comparison

    return plot_comparison(_comparisons()["2-D"])


def plot_comparisons() -> Any:
    from hepnb.jets import evaluation

    reference = blobs(600, 1)
    found = evaluation.feature_comparisons(
        reference, {"same": blobs(600, 2), "wide": blobs(600, 3, width=0.2)}, n_bins=20
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluation.plot_comparisons(found, ncols=3, title="toy")


def plot_toy() -> Any:
    from hepnb.lfi import plots as lplots
    from hepnb.lfi import study

    return lplots.plot_toy(study.toy_illustration(40_000, seed=3))


def plot_neff() -> Any:
    from hepnb.lfi import plots as lplots

    kappa = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    table = pd.DataFrame(
        {"kappa_b = 1": [40.0, 150.0, 300.0, 120.0, 30.0], "kappa_b = 1.5": [10.0, 60.0, 200.0, 300.0, 150.0]},
        index=pd.Index(kappa, name="kappa"),
    )
    return lplots.plot_neff(table, n=300)


def plot_closure() -> Any:
    from hepnb.lfi import plots as lplots

    rng = np.random.default_rng(0)
    exact = {k: rng.normal(0, 1 + k, 2000) for k in (0.0, 0.5, 1.5)}
    learned = {k: v + rng.normal(0, 0.1, v.size) for k, v in exact.items()}
    t = rng.normal(size=2000)
    return lplots.plot_closure(exact, learned, t, t + rng.normal(0, 0.1, t.size))


def plot_pvalues() -> Any:
    from hepnb.lfi import plots as lplots

    return lplots.plot_pvalues({name: scans[4.0, True] for name, scans in _lfi_scans().items()})


def plot_scan_grid() -> Any:
    from hepnb.lfi import plots as lplots

    return lplots.plot_scan_grid(_lfi_scans(), [1.0, 4.0])


def plot_components() -> Any:
    from hepnb.offshell import plots

    return plots.plot_components(_vbf(), mus=(0, 1, 4))


def plot_bin_partners() -> Any:
    from hepnb.offshell import plots

    high = _vbf()[np.asarray(_vbf().x.m4l) > 500.0]
    return plots.plot_bin_partners(high, mu_star=3.0)


def plot_degeneracy() -> Any:
    from hepnb.hists import OutsideBinningWarning
    from hepnb.offshell import plots

    high = _vbf()[np.asarray(_vbf().x.m4l) > 500.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideBinningWarning)
        return plots.plot_degeneracy(plots.degeneracy_comparisons(high, 3.0))


def plot_iz_curves() -> Any:
    from hepnb.offshell import plots

    scans = _iz_scans()
    return plots.plot_iz_curves(scans, no_cut=float(next(iter(scans.values())).values[0]))


def plot_scores() -> Any:
    from hepnb.offshell import plots

    evaluation, score = _evaluation()
    pocket = np.zeros(len(evaluation), bool)
    pocket[np.flatnonzero(~evaluation.is_vbf)[:50]] = True
    return plots.plot_scores(score, evaluation, pocket=pocket, title="GBDT, approach 2")


def plot_importance() -> Any:
    from hepnb.metrics.importance import PermutationImportance
    from hepnb.offshell import plots

    features = ("m4l", "pt_j1", "delta_eta_jj", "leading_jet_eta", "mjj", "pt4l", "subleading_jet_pt")
    importance = np.linspace(0.08, 0.0, len(features))
    drops = importance[:, None] + np.zeros((1, 2))
    pis = {
        metric: PermutationImportance(
            features, importance, importance / 10, importance / 5, drops, 0.8, metric, 2, 0, 1
        )
        for metric in ("AUC", "iZ")
    }
    return plots.plot_importance(pis, top=5)


FIGURES: dict[str, Callable[[], Any]] = {
    f.__name__: f
    for f in (
        plot_speed,
        plot_response_tails,
        plot_response_vs_condition,
        plot_alignment_effects,
        plot_mean_images,
        plot_response_resolution,
        plot_resolution_by_epoch,
        plot_training_history,
        plot_sculpting,
        plot_scatter_and_profile,
        plot_profiles,
        plot_thresholds,
        plot_aspired_pairs,
        plot_front,
        plot_comparison,
        plot_comparison_2d,
        plot_comparisons,
        plot_toy,
        plot_neff,
        plot_closure,
        plot_pvalues,
        plot_scan_grid,
        plot_components,
        plot_bin_partners,
        plot_degeneracy,
        plot_iz_curves,
        plot_scores,
        plot_importance,
    )
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_no_text_overlaps_another_and_no_legend_hides_the_data(name: str, notebook_style: None) -> None:
    fig = _figure(FIGURES[name]())
    overlaps = [str(o) for o in text_overlaps(fig)]
    assert overlaps == [], f"{name}: " + "; ".join(overlaps)
    covers = [str(c) for c in legend_data_overlap(fig)]
    assert covers == [], f"{name}: " + "; ".join(covers)
