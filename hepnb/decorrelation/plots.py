"""The figures of study 4 (notebook 04): mass sculpting, profiles, fixed-efficiency thresholds, real against aspired
pairs, the R50 against 1/JSD50 plane and the lambda slider (:class:`LambdaExplorer`). Histograms are ``hist.Hist``
drawn with mplhep (``hepnb.style.use()``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import hist
import ipywidgets as widgets
import matplotlib.pyplot as plt
import mplhep as mh
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from hepnb.decorrelation.datasets import Split
from hepnb.decorrelation.scan import pareto_front
from hepnb.errors import InputError
from hepnb.metrics.decorrelation import EfficiencyThresholds, ScoreProfile
from hepnb.widgets.slider import SliderWidget

__all__ = [
    "COLOURS",
    "plot_sculpting",
    "plot_scatter_and_profile",
    "plot_profiles",
    "plot_thresholds",
    "plot_aspired_pairs",
    "plot_front",
    "LambdaExplorer",
]

COLOURS = {
    "plain": "black",
    "plain, no mass input": "grey",
    "pivot": "tab:purple",
    "pivot_binned": "tab:pink",
    "pivot_regression": "tab:brown",
    "aspiration": "tab:red",
    "aspiration_conditional": "tab:orange",
    "disco": "tab:blue",
    "mode0": "tab:green",
    "mode1": "tab:olive",
}


def _colour(name: str, index: int) -> Any:
    return COLOURS.get(name, f"C{index % 10}")


def plot_sculpting(
    split: Split,
    scores: Mapping[str, np.ndarray],
    *,
    signal_efficiency: float = 0.5,
    bins: tuple[int, float, float] | None = None,
    mass_label: str = "mass",
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Signal and background mass, normalised, before and after the cut keeping ``signal_efficiency`` of the
    signal, for each score (one panel per class)."""
    if not scores:
        raise InputError("scores is empty: give {name: score per event}")
    low, high = np.quantile(split.mass, [0.0, 0.99])
    axis = hist.axis.Regular(*(bins or (30, float(low), float(high))), name="mass", label=mass_label)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    for ax, label, title in zip(axes, (1, 0), ("signal", "background")):
        rows = split.labels == label
        w = split.physical_weights[rows]
        before = hist.Hist(axis, storage=hist.storage.Weight()).fill(split.mass[rows], weight=w)
        mh.histplot(before, density=True, ax=ax, color="lightgrey", histtype="fill", label="before the cut")
        for index, (name, score) in enumerate(scores.items()):
            signal = split.labels == 1
            order = np.sort(score[signal])
            cut = order[int((1 - signal_efficiency) * len(order))]
            passing = rows & (score >= cut)
            after = hist.Hist(axis, storage=hist.storage.Weight()).fill(
                split.mass[passing], weight=split.physical_weights[passing]
            )
            mh.histplot(after, density=True, ax=ax, color=_colour(name, index), label=f"{name}, after the cut")
        ax.set_yscale("log")
        ax.set_ylabel("normalised events")
        ax.set_title(f"{title}: cut at {signal_efficiency:.0%} signal efficiency", fontsize="medium")
        ax.legend(fontsize="x-small")
    return np.asarray(axes)


def plot_scatter_and_profile(
    score: np.ndarray,
    protected: np.ndarray,
    profile: ScoreProfile,
    *,
    label: str = "protected variable",
    max_points: int = 5000,
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """The score against the protected variable as a scatter plot (left) and as a profile (right)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    step = max(1, len(score) // max_points)
    axes[0].scatter(protected[::step], score[::step], s=2, alpha=0.4, color="black")
    axes[0].set_xlabel(label)
    axes[0].set_ylabel("classifier score")
    centres = profile.hist.axes[0].centers
    axes[1].errorbar(centres, profile.mean, yerr=profile.error, fmt="o", color="black")
    axes[1].set_xlabel(label)
    axes[1].set_ylabel("mean score")
    return np.asarray(axes)


def plot_profiles(
    profiles: Mapping[str, ScoreProfile], *, label: str = "protected variable", ax: Axes | None = None
) -> Axes:
    """Mean score per bin of the protected variable, one curve per method."""
    ax = ax or plt.subplots(figsize=(7, 5), constrained_layout=True)[1]
    for index, (name, profile) in enumerate(profiles.items()):
        ax.errorbar(
            profile.hist.axes[0].centers,
            profile.mean,
            yerr=profile.error,
            fmt="o-",
            ms=3,
            color=_colour(name, index),
            label=name,
        )
    ax.set_xlabel(label)
    ax.set_ylabel(f"mean score ({next(iter(profiles.values())).on})")
    ax.legend(fontsize="x-small")
    return ax


def plot_thresholds(
    curves: Mapping[str, EfficiencyThresholds],
    *,
    label: str = "protected variable",
    colours: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The score cut at each fixed signal efficiency against the protected variable (thesis Fig 8.11).

    ``colours`` overrides the colour of some curves (by name); the others take the method's colour of ``COLOURS``.
    """
    ax = ax or plt.subplots(figsize=(7, 5), constrained_layout=True)[1]
    styles = ("-", "--", ":")
    for index, (name, curve) in enumerate(curves.items()):
        colour = (colours or {}).get(name, _colour(name, index))
        for row, efficiency in enumerate(curve.efficiencies):
            ax.errorbar(
                curve.centers,
                curve.thresholds[row],
                yerr=curve.errors[row],
                fmt="o",
                ms=3,
                ls=styles[row % 3],
                color=colour,
                label=f"{name}, {efficiency:.0%}",
            )
    ax.set_xlabel(label)
    ax.set_ylabel("score cut at fixed signal efficiency")
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def plot_aspired_pairs(
    score: np.ndarray,
    protected: np.ndarray,
    seed: int,
    *,
    label: str = "protected variable",
    bins: int = 25,
    axes: Sequence[Axes] | None = None,
) -> np.ndarray:
    """Real ``(score, m)`` pairs, aspired pairs (m shuffled without replacement) and their normalised difference."""
    rng = np.random.default_rng(seed)
    shuffled = protected[rng.permutation(len(protected))]
    edges_s = np.quantile(score, np.linspace(0, 1, bins + 1))
    edges_m = np.linspace(protected.min(), protected.max(), bins + 1)
    edges_s = np.unique(edges_s)
    # the last bins hold their upper edges (the largest score and mass), as numpy's histograms do
    binning = [hist.axis.Variable(np.append(e[:-1], np.nextafter(e[-1], np.inf))) for e in (edges_s, edges_m)]
    real, aspired = (
        hist.Hist(*binning, storage=hist.storage.Double()).fill(score, m).values() for m in (protected, shuffled)
    )
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    # colour bars through fig.colorbar, so that the constrained layout leaves room for their tick labels
    for ax, h, title in zip(axes, (real, aspired), ("real pairs", "aspired pairs (m shuffled)")):
        ax.figure.colorbar(mh.hist2dplot(h, edges_s, edges_m, ax=ax, cbar=False).pcolormesh, ax=ax)
        ax.set_title(title, fontsize="medium")
    with np.errstate(divide="ignore", invalid="ignore"):
        pull = np.where(aspired > 0, (real - aspired) / np.sqrt(aspired), 0.0)
    drawn = mh.hist2dplot(pull, edges_s, edges_m, ax=axes[2], cbar=False, cmap="RdBu_r", cmin=-5, cmax=5)
    axes[2].figure.colorbar(drawn.pcolormesh, ax=axes[2])
    axes[2].set_title("(real - aspired) / sqrt(aspired)", fontsize="medium")
    for ax in axes:
        ax.set_xlabel("classifier score (quantile bins)")
        ax.set_ylabel(label)
    return np.asarray(axes)


def plot_front(
    summary: pd.DataFrame, *, methods: Sequence[str] | None = None, title: str = "", ax: Axes | None = None
) -> Axes:
    """R50 against 1/JSD50 with the standard deviation over seeds, per method, its Pareto front as a line."""
    ax = ax or plt.subplots(figsize=(7, 5.5), constrained_layout=True)[1]
    names = list(dict.fromkeys(summary.index.get_level_values("method"))) if methods is None else list(methods)
    for index, name in enumerate(names):
        rows = summary.xs(name, level="method")
        colour = _colour(name, index)
        ax.errorbar(
            rows["inv_jsd50"],
            rows["r50"],
            xerr=rows.get("inv_jsd50_std"),
            yerr=rows.get("r50_std"),
            fmt="o" if name != "plain" else "*",
            ms=6 if name != "plain" else 12,
            color=colour,
            label=name,
            alpha=0.8,
        )
        front = pareto_front(rows)
        if len(front) > 1:
            ax.plot(front["inv_jsd50"], front["r50"], "-", color=colour, alpha=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("1/JSD50 (background mass, pass vs fail)")
    ax.set_ylabel("R50 (background rejection)")
    if title:
        ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="x-small")
    return ax


class LambdaExplorer(SliderWidget):
    """A slider over the lambda grid of one method's scan: its score cuts at fixed signal efficiency against the
    protected variable, next to the plain classifier's, and its point in the R50 against 1/JSD50 plane.

    Parameters
    ----------
    curves
        ``{lambda: EfficiencyThresholds}`` of the method's models (one training seed), on the test events.
    reference
        The plain classifier's thresholds on the same events and bins.
    summary
        The scan's summary over seeds (:func:`hepnb.decorrelation.scan.summarise`), indexed by ``(method, lam)``;
        it must hold ``plain`` and every lambda of ``curves``.
    method
        The method's name in ``summary``.
    label
        Axis label of the protected variable.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from hepnb.metrics import decorrelation as dm
    >>> rng = np.random.default_rng(1)
    >>> m, labels = rng.random(4000), rng.integers(0, 2, 4000)
    >>> curve = dm.efficiency_thresholds(rng.random(4000), m, labels, np.ones(4000), bins=4)
    >>> summary = pd.DataFrame({"method": ["plain", "aspiration", "aspiration"], "lam": [0.0, 1.0, 3.0],
    ...                         "r50": [20.0, 15.0, 10.0], "inv_jsd50": [5.0, 30.0, 90.0]}).set_index(["method", "lam"])
    >>> explorer = LambdaExplorer({1.0: curve, 3.0: curve}, curve, summary)
    >>> explorer.lam, float(explorer.point()["r50"])
    (3.0, 10.0)
    >>> _ = explorer.update(1.0)
    >>> explorer.lam
    1.0
    >>> explorer.update(2.0)
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: lambda = 2 is not in the aspiration scan: choose one of 1, 3
    >>> plt.close("all")
    """

    def __init__(
        self,
        curves: Mapping[float, EfficiencyThresholds],
        reference: EfficiencyThresholds,
        summary: pd.DataFrame,
        *,
        method: str = "aspiration",
        label: str = "protected variable",
    ) -> None:
        super().__init__()
        if not curves:
            raise InputError(f"curves is empty: give the thresholds of at least one {method} model")
        self.lambdas = sorted(float(lam) for lam in curves)
        self.curves = {float(lam): curve for lam, curve in curves.items()}
        lacks = [] if ("plain", 0.0) in summary.index else ["plain"]
        missing = [lam for lam in self.lambdas if (method, lam) not in summary.index]
        lacks += [f"{method} at lambda {_lambda_list(missing)}"] if missing else []
        if lacks:
            raise InputError(f"the summary lacks {' and '.join(lacks)}: summarise the scan that trained these models")
        self.reference, self.summary, self.method, self.label = reference, summary, method, label
        self.lam = self.lambdas[len(self.lambdas) // 2]

    def point(self) -> pd.Series:
        """The shown lambda's row of the summary (R50, 1/JSD50, ... averaged over seeds)."""
        return self.summary.loc[(self.method, self.lam)]

    def _start(self) -> float:
        return self.lam

    def _make_slider(self, value: float) -> widgets.SelectionSlider:
        return widgets.SelectionSlider(
            options=[(f"{lam:g}", lam) for lam in self.lambdas],
            value=value,
            description="lambda",
            continuous_update=False,
        )

    def _select(self, value: float) -> float:
        if float(value) not in self.curves:
            raise InputError(
                f"lambda = {float(value):g} is not in the {self.method} scan: choose one of "
                f"{_lambda_list(self.lambdas)}"
            )
        self.lam = float(value)
        return self.lam

    def _panels(self) -> list[list[Any]]:
        fig, axes = plt.subplots(1, 2, figsize=(14, 5), constrained_layout=True)
        name, colour = f"{self.method}, lambda={self.lam:g}", _colour(self.method, 1)
        curves = {"plain": self.reference, name: self.curves[self.lam]}
        plot_thresholds(curves, label=self.label, colours={name: colour}, ax=axes[0])
        plot_front(self.summary, methods=["plain", self.method], ax=axes[1])
        row = self.point()
        axes[1].plot(row["inv_jsd50"], row["r50"], "s", ms=16, mfc="none", color=colour)
        text = f"{name}: R50 {row['r50']:.3g}, 1/JSD50 {row['inv_jsd50']:.3g} (mean over the scan's seeds)"
        return [[fig, text]]


def _lambda_list(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)
