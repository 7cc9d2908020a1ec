"""Plots of Study 3 (notebook 03): the toy's joint quantities, N_eff, closure against the oracle, p-value scans and
the mu slider that redraws precomputed scans (:class:`ScanExplorer`, a :class:`~hepnb.widgets.slider.SliderWidget`).
Style through :mod:`hepnb.style`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from hepnb import style
from hepnb.errors import InputError
from hepnb.lfi.inference import LikelihoodScan
from hepnb.lfi.study import ToyIllustration
from hepnb.widgets.slider import SliderWidget

__all__ = ["plot_toy", "plot_neff", "plot_closure", "plot_pvalues", "plot_scan_grid", "ScanExplorer"]

_STYLES: dict[str, dict[str, Any]] = {
    "oracle": {"color": "black", "lw": 2.5},
    "alices": {"color": "tab:red", "lw": 2},
    "sally": {"color": "tab:blue", "lw": 2},
    "sally local model": {"color": "tab:cyan", "lw": 2, "ls": "--"},
    "m4l": {"color": "tab:green", "ls": "-."},
    "pt_j1": {"color": "tab:orange", "ls": "-."},
    "delta_eta_jj": {"color": "tab:purple", "ls": "-."},
    "2-D": {"color": "tab:pink", "ls": ":", "lw": 2},
}
_P_1SIGMA, _P_2SIGMA = stats.chi2.sf(1.0, 1), stats.chi2.sf(4.0, 1)


def _style(name: str) -> dict[str, Any]:
    for key, value in _STYLES.items():
        if name == key or name.startswith(key):
            return dict(value)
    return {"lw": 1.5}


def plot_toy(ill: ToyIllustration, *, n_show: int = 400, x_fixed: float = 4.0) -> Figure:
    """The talk's figures 5 and 6 on the Gaussian toy (four panels).

    (a) class labels of events from theta0 (y=0) and theta1 (y=1) and the optimal classifier ``s(x) = 1/(1+r(x))``;
    (b) the joint ratios ``r(x, z)`` of events from theta1 scatter around ``r(x)``: their mean in bins of x is
    ``r(x)``; (c) the joint scores ``t(x, z | theta)`` around ``t(x | theta)``; (d) ``log p(x | theta)`` at fixed
    ``x`` against theta, with tangents of slope ``t(x | theta)``.
    """
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    (a, b), (c, d) = axes
    grid = np.linspace(-5, 5, 300)
    n = min(n_show, len(ill.x_ratio))
    rng = np.random.default_rng(0)
    pick = rng.choice(len(ill.x_ratio), n, replace=False)
    jitter = rng.uniform(-0.03, 0.03, n)
    a.scatter(ill.x_ratio[pick], ill.y[pick] + jitter, s=6, color="tab:green", alpha=0.5, label="events (class y)")
    a.plot(grid, 1 / (1 + ill.exact_r(grid)), color="tab:red", lw=2, label="optimal $s(x)=1/(1+r(x))$")
    a.set_xlabel("$x$")
    a.set_ylabel("class label / decision function")
    a.set_title(f"classifier: $\\theta_0={ill.theta0:g}$ (y=0) vs $\\theta_1={ill.theta1:g}$ (y=1)", fontsize=11)
    a.legend(fontsize="small", loc="upper center", ncol=2)  # one row above the y=1 events, off the curve
    ref = ill.y == 1
    xr, rr = ill.x_ratio[ref], ill.joint_r[ref]
    pick = rng.choice(len(xr), min(n_show, len(xr)), replace=False)
    b.scatter(xr[pick], rr[pick], s=6, color="tab:green", alpha=0.5, label="joint $r(x,z)$")
    b.plot(grid, ill.exact_r(grid), color="tab:red", lw=2, label="$r(x)$ (exact)")
    b.plot(ill.bin_centres, ill.r_binned, "ko", ms=4, label="mean of $r(x,z)$ in bins of $x$")
    b.set_yscale("log")
    b.set_xlabel("$x$")
    b.set_ylabel("$r(x \\,|\\, \\theta_0, \\theta_1)$")
    b.set_title("regression on the joint ratio", fontsize=11)
    b.legend(fontsize="small")
    pick = rng.choice(len(ill.x_score), min(n_show, len(ill.x_score)), replace=False)
    c.scatter(ill.x_score[pick], ill.joint_t[pick], s=6, color="tab:green", alpha=0.5, label="joint $t(x,z)$")
    c.plot(grid, ill.exact_t(grid), color="tab:red", lw=2, label="$t(x)$ (exact)")
    c.plot(ill.bin_centres, ill.t_binned, "ko", ms=4, label="mean of $t(x,z)$ in bins of $x$")
    c.set_xlabel("$x$")
    c.set_ylabel(f"$t(x \\,|\\, \\theta={ill.theta:g})$")
    c.set_title("regression on the joint score", fontsize=11)
    c.legend(fontsize="small")
    thetas = np.linspace(-3, 6, 200)
    d.plot(
        thetas,
        ill.toy.log_likelihood(np.full_like(thetas, x_fixed), thetas),
        color="tab:red",
        lw=2,
        label=f"$\\log p(x={x_fixed:g} \\,|\\, \\theta)$",
    )
    for th in (-1.0, 1.0, 3.0):
        lp = float(ill.toy.log_likelihood(np.array([x_fixed]), th)[0])
        t = float(ill.toy.score(np.array([x_fixed]), th)[0])
        d.plot([th - 0.8, th + 0.8], [lp - 0.8 * t, lp + 0.8 * t], color="tab:blue", lw=1.5)
        d.plot([th], [lp], "o", color="tab:blue")
    d.set_xlabel("$\\theta$")
    d.set_ylabel("$\\log p(x \\,|\\, \\theta)$")
    d.set_title("the score is the slope in $\\theta$", fontsize=11)
    d.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_neff(table: pd.DataFrame, *, n: int | None = None, ax: Axes | None = None) -> Figure:
    """``N_eff`` (or ``N_eff / n``) against kappa, one curve per source benchmark (thesis Fig 7.7)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 5))
    else:
        fig = ax.figure  # type: ignore[assignment]
    scale = 1.0 / n if n else 1.0
    for col in table.columns:
        ax.plot(table.index, table[col] * scale, "o-", ms=3, label=col.replace("kappa_b", "$\\kappa_b$"))
    ax.set_yscale("log")
    ax.set_xlabel("$\\kappa$ of the reweighted sample ($\\mu=\\kappa^4$)")
    ax.set_ylabel("$N_{\\mathrm{eff}}/N$" if n else "$N_{\\mathrm{eff}}$")
    ax.axvline(1.0, color="0.6", ls=":", lw=1)
    ax.legend(fontsize="small", title="source benchmark")
    style.experiment_label(ax, "Simulation")
    return fig  # type: ignore[return-value]


def _closure_panel(
    ax: Axes,
    exact: np.ndarray,
    learned: np.ndarray,
    rng: np.random.Generator,
    n_show: int,
    color: str,
    xlabel: str,
    ylabel: str,
) -> None:
    """Scatter a random subset of (exact, learned) with the diagonal, on a square central-99% range."""
    exact, learned = np.asarray(exact), np.asarray(learned)
    pick = rng.choice(len(exact), min(n_show, len(exact)), replace=False)
    ax.scatter(exact[pick], learned[pick], s=3, alpha=0.4, color=color)
    lo, hi = np.percentile(np.r_[exact, learned], [0.5, 99.5])
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def plot_closure(
    exact_log_r: Mapping[float, np.ndarray],
    learned_log_r: Mapping[float, np.ndarray],
    exact_t: np.ndarray,
    learned_t: np.ndarray,
    *,
    learned_label: str = "ALICES",
    score_label: str = "SALLY",
    n_show: int = 3000,
    seed: int = 0,
) -> Figure:
    """Learned ``log r_hat(x | kappa, SM)`` against the oracle for each kappa, and ``t_hat`` against the oracle."""
    kappas = list(exact_log_r)
    fig, axes = plt.subplots(1, len(kappas) + 1, figsize=(4.2 * (len(kappas) + 1), 4.2))
    rng = np.random.default_rng(seed)
    for ax, k in zip(axes, kappas):
        _closure_panel(
            ax,
            exact_log_r[k],
            learned_log_r[k],
            rng,
            n_show,
            "tab:red",
            f"exact $\\log r(x|\\kappa={k:g}, 1)$",
            f"{learned_label} $\\log \\hat r$",
        )
    _closure_panel(
        axes[-1], exact_t, learned_t, rng, n_show, "tab:blue", "exact $t(x|\\kappa=1)$", f"{score_label} $\\hat t$"
    )
    fig.tight_layout()
    return fig


def plot_pvalues(
    scans: Mapping[str, LikelihoodScan], *, ax: Axes | None = None, title: str | None = None, legend: bool = True
) -> Axes:
    """p-value ``chi2.sf(q, 1)`` against mu for several methods, with the 1 and 2 sigma lines (thesis Fig 7.16)."""
    if not scans:
        raise InputError("scans is empty: give {method: LikelihoodScan}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 5))
    for name, scan in scans.items():
        ax.plot(scan.mu, np.clip(scan.p_value, 1e-6, 1.0), label=name, **_style(name))
    first = next(iter(scans.values()))
    ax.axhline(_P_1SIGMA, color="0.5", ls=":", lw=1)
    ax.axhline(_P_2SIGMA, color="0.5", ls="--", lw=1)
    # the sigma labels on the left: the legend sits in the upper right corner
    ax.text(first.mu[0], _P_1SIGMA, " 1$\\sigma$", ha="left", va="bottom", fontsize=9, color="0.4")
    ax.text(first.mu[0], _P_2SIGMA, " 2$\\sigma$", ha="left", va="bottom", fontsize=9, color="0.4")
    ax.axvline(first.mu_true, color="0.7", lw=1)
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 1.5)
    ax.set_xlim(first.mu[0], first.mu[-1])
    ax.set_xlabel("$\\mu_{\\mathrm{VBF}}$")
    ax.set_ylabel("expected p-value")
    ax.set_title(
        title or f"true $\\mu$ = {first.mu_true:g}, " + ("with rate" if first.include_rate else "shape only"),
        fontsize=11,
    )
    if legend:
        ax.legend(fontsize="x-small", loc="upper right")  # p-values fall away from the true mu: the top corner is free
    return ax


def plot_scan_grid(
    scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]],
    mu_trues: Sequence[float],
    methods: Sequence[str] | None = None,
) -> Figure:
    """p-value scans, one column per true mu, rows with and without rate."""
    names = list(methods or scans)
    fig, axes = plt.subplots(2, len(mu_trues), figsize=(5.2 * len(mu_trues), 8.5), squeeze=False)
    for j, mu_true in enumerate(mu_trues):
        for i, rate in enumerate((True, False)):
            plot_pvalues(
                {n: scans[n][float(mu_true), rate] for n in names},
                ax=axes[i, j],
                legend=(i == 0 and j == len(mu_trues) - 1),
            )
    fig.tight_layout()
    return fig


class ScanExplorer(SliderWidget):
    """A slider over the true mu (and a rate toggle) that redraws precomputed p-value scans instantly.

    Parameters
    ----------
    scans
        ``{method: {(mu_true, include_rate): LikelihoodScan}}`` precomputed on a grid of true mu.
    methods
        The methods drawn (default all).
    """

    def __init__(
        self, scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]], methods: Sequence[str] | None = None
    ) -> None:
        super().__init__()
        if not scans:
            raise InputError("scans is empty")
        self.scans = scans
        self.methods = list(methods or scans)
        keys = [set(scans[m]) for m in self.methods]
        common = set.intersection(*keys)
        self.mu_trues = sorted({mu for mu, _ in common if (mu, True) in common and (mu, False) in common})
        if not self.mu_trues:
            raise InputError("the methods share no true mu with both rate choices: precompute them on one grid")
        self.mu_true, self.include_rate = self.mu_trues[0], True
        self._rate: widgets.Checkbox | None = None

    def nearest(self, mu: float) -> float:
        """The precomputed true mu closest to ``mu``."""
        return min(self.mu_trues, key=lambda m: abs(m - float(mu)))

    def current(self) -> dict[str, LikelihoodScan]:
        """The scans shown now."""
        return {m: self.scans[m][self.mu_true, self.include_rate] for m in self.methods}

    def summary(self) -> str:
        """68% / 95% intervals of every method for the shown true mu."""
        parts = []
        for name, scan in self.current().items():
            ci = scan.interval(0.95)
            parts.append(f"{name}: 95% " + " U ".join(f"[{lo:.2f}, {hi:.2f}]" for lo, hi in ci.intervals))
        return "; ".join(parts)

    def update(self, mu_true: float, include_rate: bool | None = None) -> Figure:
        """Show the scans at the precomputed true mu nearest to ``mu_true``; returns the figure."""
        if include_rate is not None:
            self.include_rate = bool(include_rate)
            self._set_quietly(self._rate, self.include_rate)
        return super().update(mu_true)

    def _start(self) -> float:
        return self.mu_true

    def _make_slider(self, value: float) -> widgets.SelectionSlider:
        return widgets.SelectionSlider(
            options=[(f"{m:g}", m) for m in self.mu_trues],
            value=value,
            description="true $\\mu$",
            continuous_update=True,
        )

    def _select(self, value: float) -> float:
        self.mu_true = self.nearest(value)
        return self.mu_true

    def _panels(self) -> list[list[Any]]:
        fig, ax = plt.subplots(figsize=(8, 5.2))
        plot_pvalues(self.current(), ax=ax)
        return [[fig, self.summary()]]

    def _layout(self, slider: widgets.SelectionSlider, outputs: Sequence[widgets.Output]) -> widgets.Widget:
        """Slider over the precomputed true mu, a rate checkbox and the redrawn plot."""
        self._rate = widgets.Checkbox(value=self.include_rate, description="include rate")
        self._on_change(self._rate, lambda rate: self.update(self.mu_true, rate))
        return widgets.VBox([widgets.HBox([slider, self._rate]), *outputs])
