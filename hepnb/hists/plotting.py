"""Plots of a :class:`~hepnb.hists.Comparison`: the 1-D overlay with its ratio panel, the 2-D maps.

:meth:`Comparison.plot <hepnb.hists.Comparison.plot>` and :meth:`~hepnb.hists.Comparison.draw` call these; they
live apart so that matplotlib and mplhep are imported only when something is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import mplhep as mh
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepnb import style
from hepnb.errors import InputError
from hepnb.hists.inputs import _Sample

if TYPE_CHECKING:
    from hepnb.hists.comparison import Comparison

__all__ = ["plot_comparison", "draw_comparison"]


def _normalised(s: _Sample) -> tuple[np.ndarray, np.ndarray]:
    """Contents and errors of a 1-D sample normalised to unit area, per unit of the axis."""
    h = s.hist
    widths = np.diff(h.axes[0].edges)
    total = h.values().sum()
    return h.values() / total / widths, np.sqrt(np.maximum(h.variances(), 0)) / total / widths


def plot_comparison(comparison: Comparison, fig: Figure | None = None) -> Figure:
    """Normalised overlay with statistical bands and a ratio panel (1-D), or normalised maps (2-D)."""
    if comparison.ndim == 2:
        return _plot_2d(comparison, fig)
    if fig is None:
        fig = plt.figure(figsize=(7, 6), layout="constrained")
    ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.06})
    draw_comparison(comparison, ax, rax)
    style.experiment_label(ax, text=comparison.title or "Simulation", com=None)
    fig.align_ylabels([ax, rax])
    return style.legend_headroom(fig)


def draw_comparison(comparison: Comparison, ax: Axes, rax: Axes, *, compact: bool = False) -> None:
    """Draw the 1-D overlay on ``ax`` and the ratio to the reference on ``rax`` (no experiment label).

    ``compact=True`` uses small fonts and short legend entries, for grids of many comparisons.
    """
    if comparison.ndim != 1:
        raise InputError("draw() is for 1-D comparisons; use plot() for 2-D ones")
    edges = comparison.reference.hist.axes[0].edges
    ref, ref_err = _normalised(comparison.reference)
    mh.histplot(ref, edges, ax=ax, color="black", label=comparison.reference_label, yerr=False)
    ax.stairs(ref + ref_err, edges, baseline=ref - ref_err, fill=True, color="black", alpha=0.15, lw=0)
    safe = np.where(ref > 0, ref, np.nan)
    rel = np.nan_to_num(ref_err / safe)
    rax.stairs(1 + rel, edges, baseline=1 - rel, fill=True, color="black", alpha=0.15, lw=0)
    for i, (label, sample) in enumerate(comparison.others.items()):
        values, errors = _normalised(sample)
        c = comparison.chi2(label)
        text = (
            f"{label}: $\\chi^2$/ndf = {c.reduced:.1f}"
            if compact
            else f"{label} ($\\chi^2$/ndf = {c.chi2:.1f}/{c.ndf})"
        )
        mh.histplot(values, edges, yerr=errors, ax=ax, color=f"C{i}", label=text)
        mh.histplot(
            values / safe,
            edges,
            yerr=errors / safe,
            ax=rax,
            color=f"C{i}",
            histtype="errorbar",
            **({"markersize": 2} if compact else {}),
        )
    rax.axhline(1, color="black", lw=0.8)
    rax.set_ylim(0.5, 1.5)
    rax.set_yticks([0.75, 1.0, 1.25])  # no label at the panel's edges, where the x tick labels and the main panel are
    rax.set_xlabel(comparison.xlabel, **({"fontsize": "small"} if compact else {}))
    rax.set_ylabel("Ratio", **({"fontsize": "x-small"} if compact else {}))
    ax.set_xlabel("")
    ax.set_ylim(0, None)
    if compact:
        ax.tick_params(labelbottom=False, labelsize="x-small")
        rax.tick_params(labelsize="x-small")
        ax.legend(fontsize="xx-small", loc="upper right", frameon=False)
    else:
        ax.set_ylabel(comparison.ylabel or "Normalised entries / bin width")
        ax.legend(loc="upper right", fontsize="small")


def _plot_2d(comparison: Comparison, fig: Figure | None) -> Figure:
    n = len(comparison.others)
    if fig is None:
        fig = plt.figure(figsize=(5 * (n + 1), 4.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n + 1))
    xa, ya = comparison.reference.hist.axes
    ref = comparison.reference.hist.values()
    ref_norm = ref / ref.sum()
    # colour bars through fig.colorbar, so that the layout engine leaves room for their tick labels
    fig.colorbar(mh.hist2dplot(ref_norm, xa.edges, ya.edges, ax=axes[0], cbar=False).pcolormesh, ax=axes[0])
    axes[0].set_title(comparison.reference_label)
    for ax, (label, sample) in zip(axes[1:], comparison.others.items()):
        other = sample.hist.values()
        fig.colorbar(mh.hist2dplot(other / other.sum(), xa.edges, ya.edges, ax=ax, cbar=False).pcolormesh, ax=ax)
        ax.set_title(f"{label}: MSE = {comparison.mse(label):.3g}")
    for ax in axes:
        ax.set_xlabel(comparison.xlabel)
        ax.set_ylabel(comparison.ylabel)
    return fig
