"""Figures and widgets of the interference notebook: S, I, B versus m4l, a mu slider, the degeneracy, iZ curves.

Every histogram is a ``hist.Hist`` (``Weight`` storage, so MC errors come from the sums of squared weights) and every
plot goes through :mod:`hepnb.style` and mplhep. Each function returns its figure (or widget) and shows nothing,
so it works headless; :class:`MuSlider` (a :class:`~hepnb.widgets.slider.SliderWidget`) redraws on
:meth:`MuSlider.update`, which tests can call directly. The numbers behind the degeneracy figures (histograms of
S, I, B, per-bin partners, the degeneracy table) are computed in :mod:`hepnb.offshell.degeneracy`; its names are
importable from here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import hist
import ipywidgets as widgets
import matplotlib.pyplot as plt
import mplhep as mh
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepnb import style
from hepnb.errors import InputError
from hepnb.hists import Comparison
from hepnb.metrics.importance import PermutationImportance
from hepnb.metrics.thresholds import ThresholdScan
from hepnb.offshell.degeneracy import (
    DEGENERACY_OBSERVABLES,
    LABELS,
    _label,
    bin_partners,
    component_histograms,
    degeneracy_comparisons,
    degeneracy_table,
)
from hepnb.offshell.events import Events, mu_array
from hepnb.offshell.histograms import BinSpec
from hepnb.stats.yields import combine, degenerate_mu
from hepnb.widgets.slider import SliderWidget

__all__ = [
    "LABELS",
    "AMPLITUDE_PICTURE",
    "component_histograms",
    "plot_components",
    "MuSlider",
    "DEGENERACY_OBSERVABLES",
    "degeneracy_comparisons",
    "degeneracy_table",
    "bin_partners",
    "plot_bin_partners",
    "plot_degeneracy",
    "plot_iz_curves",
    "plot_scores",
    "plot_importance",
]

#: The amplitude picture written on the component plots.
AMPLITUDE_PICTURE = (
    "$|\\mu^{1/2}\\,A_H + A_V|^2 = \\mu\\,|A_H|^2 + \\mu^{1/2}\\,2\\mathrm{Re}(A_H^* A_V) + |A_V|^2$\n"
    "$N(\\mu) = \\mu\\,S + \\mu^{1/2}\\,I + B$"
)

# (mathtext's \\sqrt has no glyph in the ATLAS fonts: the labels write ^{1/2})
_COLOURS = {"S": "#1f77b4", "I": "#d62728", "B": "#7f7f7f", "N": "black", "partner": "#2ca02c", "zero": "#ff7f0e"}


def _n_of_mu(h: Mapping[str, hist.Hist], mu: float) -> tuple[np.ndarray, np.ndarray]:
    """Bin contents and MC errors of ``mu S + sqrt(mu) I + B`` (errors from the components' variances)."""
    r = np.sqrt(mu)
    values = combine(mu, h["S"].values(), h["I"].values(), h["B"].values())
    # same events in S, I, B: the error is not the quadrature sum, but this bound is what the plot needs
    errors = mu * np.sqrt(h["S"].variances()) + r * np.sqrt(h["I"].variances()) + np.sqrt(h["B"].variances())
    return values, errors


def plot_components(
    vbf: Events,
    observable: str = "m4l",
    bins: BinSpec = (32, 220.0, 1020.0),
    *,
    mus: Sequence[float] = (0.0, 1.0),
    b2: Events | None = None,
    fig: Figure | None = None,
) -> Figure:
    """S, I (negative: destructive) and B versus an observable, N(mu) for some mu, and the ratio I/S below.

    The top panel is logarithmic, so the interference is drawn as ``-I``; the lower panel shows ``I/S``, which
    tends to ``-2 rho`` at high m4l (the unitarity cancellation: at mu = 1 the Higgs removes what the longitudinal
    VBS amplitude adds).
    """
    m = mu_array(list(mus), "mus")
    h = component_histograms(vbf, observable, bins, b2=b2)
    edges = h["S"].axes[0].edges
    if fig is None:
        fig = plt.figure(figsize=(8, 7))
    ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2], "hspace": 0.06})
    s, i, b = h["S"].values(), h["I"].values(), h["B"].values()
    errs = {k: np.sqrt(h[k].variances()) for k in "SIB"}
    mh.histplot(s, edges, yerr=errs["S"], ax=ax, color=_COLOURS["S"], label="S: $|A_H|^2$ (Higgs only)")
    mh.histplot(
        -i,
        edges,
        yerr=errs["I"],
        ax=ax,
        color=_COLOURS["I"],
        ls="--",
        label="$-I$: $-2\\mathrm{Re}(A_H^* A_V)$ (destructive)",
    )
    b_label = "B: $|A_V|^2$ (VBS)" + (" + qqZZ + ggZZ" if b2 is not None else "")
    mh.histplot(b, edges, yerr=errs["B"], ax=ax, color=_COLOURS["B"], label=b_label)
    for k, mu in enumerate(m):
        n, _ = _n_of_mu(h, float(mu))
        mh.histplot(n, edges, ax=ax, color=f"C{4 + k}", lw=2, label=f"$N(\\mu={float(mu):g})$")
    ax.set_yscale("log")
    ax.set_ylabel("Expected events / bin")
    ax.legend(loc="upper right", fontsize="small")
    ax.text(
        0.03,
        0.05,
        AMPLITUDE_PICTURE,
        transform=ax.transAxes,
        fontsize="small",
        va="bottom",
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
    )
    style.experiment_label(ax, "Simulation", lumi=vbf.meta.get("config", {}).get("lumi"))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s > 0, i / s, np.nan)
        ratio_err = np.where(s > 0, np.abs(ratio) * np.hypot(errs["I"] / np.abs(i), errs["S"] / s), np.nan)
    mh.histplot(ratio, edges, yerr=np.nan_to_num(ratio_err), ax=rax, histtype="errorbar", color=_COLOURS["I"])
    rax.axhline(-2.0, color="0.4", ls=":", lw=1)
    rax.axhline(0.0, color="black", lw=0.8)
    rax.set_ylim(-2.4, 0.4)
    rax.set_ylabel("$I/S$")
    rax.set_xlabel(_label(observable))
    return fig


class MuSlider(SliderWidget):
    """An ipywidgets slider for mu that redraws ``N(mu) = mu S + sqrt(mu) I + B``, its components and the partner.

    The partner of mu is the other signal strength with the same total yield,
    ``mu' = (-I/S - sqrt(mu))^2`` (:func:`hepnb.stats.yields.degenerate_mu`); for mu = 0 it is mu*.
    Left: the distribution at mu, its components, the distribution at the partner and at mu = 0. Right: the total
    yield against mu (a parabola in sqrt(mu)), with mu and its partner marked.

    Parameters
    ----------
    vbf
        VBF events (S, I and V weights).
    observable, bins
        What to histogram.
    b2
        Optional non-interfering backgrounds added to B (they shift N(mu) but not the degeneracy).
    mu, mu_max, step
        Initial value and range of the slider.
    """

    def __init__(
        self,
        vbf: Events,
        observable: str = "m4l",
        bins: BinSpec = (32, 220.0, 1020.0),
        *,
        b2: Events | None = None,
        mu: float = 1.0,
        mu_max: float = 10.0,
        step: float = 0.05,
    ) -> None:
        super().__init__()
        if not (np.isfinite(mu_max) and mu_max > 0 and 0 < step < mu_max):
            raise InputError(f"need mu_max > 0 and 0 < step < mu_max, got mu_max={mu_max!r}, step={step!r}")
        self.observable = observable
        self.hists = component_histograms(vbf, observable, bins, b2=b2)
        self.totals = {k: float(h.values().sum()) for k, h in self.hists.items()}
        if not self.totals["S"] > 0:
            raise InputError("the signal-only yield S is not positive in this binning: widen the bins")
        self.mu_max = float(mu_max)
        self.step = float(step)
        self.lumi = vbf.meta.get("config", {}).get("lumi")
        self.mu = self._check_mu(mu)
        self._text: widgets.HTML | None = None

    def _check_mu(self, mu: float) -> float:
        value = float(mu_array(mu))
        if value > self.mu_max:
            raise InputError(f"mu = {value:g} is beyond the slider's range [0, {self.mu_max:g}]")
        return value

    @property
    def mu_star(self) -> float:
        """The rate partner of mu = 0: ``(I/S)^2``."""
        return degenerate_mu(self.totals["S"], self.totals["I"], 0.0)

    def partner(self, mu: float | None = None) -> float:
        """The other mu with the same total yield (NaN if there is none)."""
        return degenerate_mu(self.totals["S"], self.totals["I"], self.mu if mu is None else float(mu))

    def expected(self, mu: float) -> float:
        """Total ``N(mu)`` in the histogram range."""
        return combine(mu, self.totals["S"], self.totals["I"], self.totals["B"])

    def summary(self, mu: float | None = None) -> str:
        """One line: N(mu), its components and the partner."""
        mu = self.mu if mu is None else float(mu)
        t = self.totals
        partner = self.partner(mu)
        text = (
            f"mu = {mu:.3g}: N = {self.expected(mu):.3f} = {mu * t['S']:.3f} (mu S) "
            f"{np.sqrt(mu) * t['I']:+.3f} (sqrt(mu) I) + {t['B']:.3f} (B); "
        )
        text += f"same yield at mu' = {partner:.3g}" if np.isfinite(partner) else "no other mu has this yield"
        return text + f"; mu* = {self.mu_star:.3g}"

    def plot(self, mu: float | None = None, fig: Figure | None = None) -> Figure:
        """The figure for ``mu`` (default: the current value)."""
        mu = self.mu if mu is None else self._check_mu(mu)
        h = self.hists
        edges = h["S"].axes[0].edges
        if fig is None:
            fig = plt.figure(figsize=(12, 4.8))
        ax, ax_rate = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        n, n_err = _n_of_mu(h, mu)
        mh.histplot(n, edges, yerr=n_err, ax=ax, color=_COLOURS["N"], lw=2, label=f"$N(\\mu={mu:.3g})$")
        mh.histplot(mu * h["S"].values(), edges, ax=ax, color=_COLOURS["S"], label="$\\mu S$")
        mh.histplot(np.sqrt(mu) * h["I"].values(), edges, ax=ax, color=_COLOURS["I"], ls="--", label="$\\mu^{1/2} I$")
        mh.histplot(h["B"].values(), edges, ax=ax, color=_COLOURS["B"], ls=":", label="$B$")
        partner = self.partner(mu)
        if np.isfinite(partner) and abs(partner - mu) > 1e-9:
            mh.histplot(
                _n_of_mu(h, partner)[0],
                edges,
                ax=ax,
                color=_COLOURS["partner"],
                ls="-.",
                label=f"$N(\\mu'={partner:.3g})$, same total",
            )
        if mu > 0:
            mh.histplot(_n_of_mu(h, 0.0)[0], edges, ax=ax, color=_COLOURS["zero"], alpha=0.6, label="$N(\\mu=0)$")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_xlabel(_label(self.observable))
        ax.set_ylabel("Expected events / bin")
        ax.legend(loc="upper right", fontsize="small")
        style.experiment_label(ax, "Simulation", lumi=self.lumi)
        grid = np.linspace(0.0, self.mu_max, 400)
        ax_rate.plot(grid, self.expected(grid), color="black")
        ax_rate.plot([mu], [self.expected(mu)], "o", color=_COLOURS["N"], label=f"$\\mu = {mu:.3g}$")
        if np.isfinite(partner) and partner <= self.mu_max:
            ax_rate.plot(
                [partner],
                [self.expected(partner)],
                "s",
                color=_COLOURS["partner"],
                label=f"partner $\\mu' = {partner:.3g}$",
            )
        ax_rate.axhline(self.expected(mu), color="0.6", ls=":", lw=1)
        ax_rate.axvline(self.mu_star, color=_COLOURS["zero"], ls="--", lw=1, label=f"$\\mu^* = {self.mu_star:.3g}$")
        ax_rate.set_xlabel("$\\mu$")
        ax_rate.set_ylabel("Total expected events $N(\\mu)$")
        ax_rate.legend(loc="upper left", fontsize="small")
        fig.tight_layout()
        return fig

    def update(self, mu: float) -> Figure:
        """Set mu and redraw (into the widget's output area when there is one); returns the new figure.

        Headless runs do not keep what a widget's output area shows: display the returned figure there.
        """
        fig = super().update(mu)
        if self._text is not None:
            self._text.value = f"<code>{self.summary()}</code>"
        return fig

    def _start(self) -> float:
        return self.mu

    def _make_slider(self, value: float) -> widgets.FloatSlider:
        return widgets.FloatSlider(
            value=value,
            min=0.0,
            max=self.mu_max,
            step=self.step,
            description="$\\mu$",
            continuous_update=False,
            readout_format=".2f",
        )

    def _select(self, value: float) -> float:
        self.mu = self._check_mu(value)
        return self.mu

    def _panels(self) -> list[list[Figure]]:
        return [[self.plot()]]

    def _layout(self, slider: widgets.FloatSlider, outputs: Sequence[widgets.Output]) -> widgets.Widget:
        """Slider, a "go to mu*" button, the numbers and the redrawn figure."""
        button = widgets.Button(description="go to mu*")
        button.on_click(lambda _: self.update(round(self.mu_star / self.step) * self.step))
        self._text = widgets.HTML()
        return widgets.VBox([widgets.HBox([slider, button]), self._text, *outputs])


def plot_bin_partners(
    vbf: Events, observables: Mapping[str, BinSpec] | None = None, *, mu_star: float | None = None
) -> Figure:
    """Per-bin partners ``mu*_k`` of mu = 0 versus each observable (flat: blind to the degeneracy)."""
    if observables is None:
        observables = DEGENERACY_OBSERVABLES
    if not observables:
        raise InputError("plot_bin_partners needs at least one observable")
    fig, axes = plt.subplots(1, len(observables), figsize=(4.5 * len(observables), 3.8), sharey=True, squeeze=False)
    for ax, (observable, bins) in zip(axes[0], observables.items()):
        edges, mu_k, err = bin_partners(vbf, observable, bins)
        mh.histplot(mu_k, edges, yerr=np.nan_to_num(err), ax=ax, histtype="errorbar", color="C0")
        if mu_star is not None:
            ax.axhline(mu_star, color=_COLOURS["zero"], ls="--", lw=1, label=f"$\\mu^* = {mu_star:.3g}$")
            ax.legend(loc="lower left", fontsize="small")
        ax.set_xlabel(_label(observable))
        ax.set_ylim(0, None)
    axes[0][0].set_ylabel("Partner of $\\mu=0$ per bin, $(I_k/S_k)^2$")
    fig.tight_layout()
    return fig


def _normalised(h: hist.Hist) -> tuple[np.ndarray, np.ndarray]:
    widths = np.diff(h.axes[0].edges)
    total = h.values().sum()
    return h.values() / total / widths, np.sqrt(np.maximum(h.variances(), 0)) / total / widths


def plot_degeneracy(comparisons: Mapping[str, Comparison], fig: Figure | None = None) -> Figure:
    """The comparisons of :func:`degeneracy_comparisons` side by side: normalised shapes, ratio panels, chi2/ndf.

    ``comparisons`` come from :func:`hepnb.offshell.degeneracy.degeneracy_comparisons`.

    Drawn like :meth:`hepnb.hists.Comparison.plot` (which needs a figure of its own) in one row of panels.
    """
    if not comparisons:
        raise InputError("plot_degeneracy needs at least one Comparison")
    n = len(comparisons)
    if fig is None:
        fig = plt.figure(figsize=(5.2 * n, 5.2))
    grid = fig.add_gridspec(2, n, height_ratios=[3, 1], hspace=0.06, wspace=0.3)
    for j, comparison in enumerate(comparisons.values()):
        if comparison.ndim != 1:
            raise InputError("plot_degeneracy draws 1-D comparisons only")
        ax = fig.add_subplot(grid[0, j])
        rax = fig.add_subplot(grid[1, j], sharex=ax)
        edges = comparison.reference.hist.axes[0].edges
        ref, ref_err = _normalised(comparison.reference.hist)
        mh.histplot(ref, edges, ax=ax, color="black", label=comparison.reference_label, yerr=False)
        ax.stairs(ref + ref_err, edges, baseline=ref - ref_err, fill=True, color="black", alpha=0.15, lw=0)
        top = float(np.nanmax(ref + ref_err, initial=0.0))
        safe = np.where(ref > 0, ref, np.nan)
        rax.stairs(
            1 + np.nan_to_num(ref_err / safe),
            edges,
            baseline=1 - np.nan_to_num(ref_err / safe),
            fill=True,
            color="black",
            alpha=0.15,
            lw=0,
        )
        for k, (label, sample) in enumerate(comparison.others.items()):
            values, errors = _normalised(sample.hist)
            c = comparison.chi2(label)
            mh.histplot(
                values,
                edges,
                yerr=errors,
                ax=ax,
                color=f"C{k}",
                label=f"{label} ($\\chi^2$/ndf = {c.chi2:.1f}/{c.ndf})",
            )
            mh.histplot(values / safe, edges, yerr=errors / safe, ax=rax, color=f"C{k}", histtype="errorbar")
            top = max(top, float(np.nanmax(values + errors, initial=0.0)))
        rax.axhline(1, color="black", lw=0.8)
        rax.set_ylim(0.7, 1.3)
        rax.set_ylabel("Ratio")
        rax.set_xlabel(comparison.xlabel)
        ax.tick_params(labelbottom=False)
        ax.set_ylabel("Normalised / bin width")
        ax.set_ylim(0, 1.35 * top if top > 0 else None)  # headroom: the legend sits above the data
        ax.legend(loc="upper right", fontsize="x-small")
    return fig


def plot_iz_curves(
    results: Mapping[str, ThresholdScan] | Sequence[Any], *, no_cut: float | None = None, ax: Axes | None = None
) -> Figure:
    """iZ versus the score threshold with its MC error band; each scan's chosen point marked and in the legend.

    A scan's chosen point is its ``threshold`` and ``value``: for :func:`hepnb.offshell.strategies.evaluate`, the test
    iZ at the threshold picked on the validation events (not the test curve's maximum).

    ``results``: label -> :class:`~hepnb.metrics.thresholds.ThresholdScan`, or objects with ``.scan`` and
    ``.label`` (:class:`hepnb.offshell.strategies.StrategyResult`). ``no_cut``: iZ without a threshold (a line).
    """
    if isinstance(results, Mapping):
        curves = dict(results)
    else:
        curves = {r.label: r.scan for r in results}
    if not curves:
        raise InputError("plot_iz_curves needs at least one scan")
    for label, scan in curves.items():
        if not isinstance(scan, ThresholdScan) or scan.metric not in ("iz", "iz_asymptotic"):
            raise InputError(f"{label}: expected a ThresholdScan of metric 'iz', got {type(scan).__name__}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 5.5))
    else:
        fig = ax.figure
    styles = ["-", "--", "-.", ":"]
    for k, (label, scan) in enumerate(curves.items()):
        colour = f"C{k}"
        t, v, e = scan.thresholds, scan.values, scan.errors
        ax.plot(
            t,
            v,
            color=colour,
            ls=styles[k % len(styles)],
            label=f"{label}: {scan.value:.3f} $\\pm$ {scan.error:.3f} at {scan.threshold:.2f}",
        )
        ax.fill_between(t, v - e, v + e, color=colour, alpha=0.2, lw=0)
        ax.plot([scan.threshold], [scan.value], "o", color=colour)
    if no_cut is not None:
        ax.axhline(no_cut, color="0.4", ls=":", lw=1, label=f"no cut: {no_cut:.3f}")
    ax.set_xlabel("Score threshold")
    ax.set_ylabel("$iZ = (S + I/2)/(S+I+B)^{1/2}$ above threshold")
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.legend(loc="upper left", fontsize="small")
    style.experiment_label(ax, "Simulation", lumi=None)
    return fig


def plot_scores(
    score: np.ndarray,
    evaluation: Any,
    *,
    bins: BinSpec = (25, 0.0, 1.0),
    pocket: np.ndarray | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Figure:
    """Weighted score distributions of S, V, SVI and B2 (expected events), thesis Figs 6.9, 6.11, 6.12.

    ``evaluation`` is an :class:`hepnb.offshell.strategies.EvaluationSet` and ``score`` one value per event. With
    ``pocket`` (a mask of events) the B2 events inside it are drawn separately (the negative-weight pocket).
    """
    s = np.asarray(score, dtype=float)
    if s.shape != (len(evaluation),):
        raise InputError(f"score must have one entry per evaluation event ({len(evaluation)}), got {s.shape}")
    if isinstance(bins, tuple) and len(bins) == 3:
        axis = hist.axis.Regular(int(bins[0]), float(bins[1]), float(bins[2]), name="score")
    else:
        axis = hist.axis.Variable(np.asarray(bins, dtype=float), name="score")
    vbf = evaluation.is_vbf
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "S": (vbf, evaluation.w_S),
        "V": (vbf, evaluation.w_B),
        "SVI": (vbf, evaluation.w_SVI),
    }
    if pocket is None:
        parts["B2"] = (~vbf, evaluation.w_B)
    else:
        pocket = np.asarray(pocket, dtype=bool)
        parts["B2 outside the pocket"] = (~vbf & ~pocket, evaluation.w_B)
        parts["B2 in the negative-weight pocket"] = (~vbf & pocket, evaluation.w_B)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 5.5))
    else:
        fig = ax.figure
    for k, (label, (mask, w)) in enumerate(parts.items()):
        h = hist.Hist(axis, storage=hist.storage.Weight())
        h.fill(np.clip(s[mask], axis.edges[0], axis.edges[-1] - 1e-9), weight=w[mask])
        mh.histplot(h, ax=ax, color=f"C{k}", label=label, yerr=np.sqrt(h.variances()))
    ax.set_yscale("log")
    ax.set_xlabel("Classifier score")
    ax.set_ylabel("Expected events / bin")
    ax.legend(loc="upper center", fontsize="small")
    style.experiment_label(ax, title or "Simulation", lumi=None)
    # the log y range reaches above the legend (the top-level figure: ax may be in a subfigure)
    style.legend_headroom(fig.figure, axes=[ax])
    return fig


def plot_importance(importances: Mapping[str, PermutationImportance], *, top: int | None = None) -> Figure:
    """Horizontal bars of permutation importance with errors, one panel per metric, most important on top."""
    if not importances:
        raise InputError("plot_importance needs at least one PermutationImportance")
    n = len(importances)
    height = 0.35 * max(len(pi.features) if top is None else min(top, len(pi.features)) for pi in importances.values())
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 1.5 + height), squeeze=False)
    for ax, (name, pi) in zip(axes[0], importances.items()):
        table = pi.table()
        if top is not None:
            table = table.head(top)
        y = np.arange(len(table))[::-1]
        ax.barh(y, table["importance"], xerr=table["error"], color="C0", alpha=0.8)
        ax.set_yticks(y, table["feature"], fontsize="small")
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_xlabel(f"Drop of {name} when shuffled")
        ax.set_title(f"{name} (baseline {pi.baseline:.3g})", fontsize="medium")
    fig.tight_layout()
    return fig
