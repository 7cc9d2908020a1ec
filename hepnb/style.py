"""The one place plots get their look: mplhep's ATLAS-like style, labels with units, a layout without overlaps."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import matplotlib as mpl
import mplhep as mh
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

__all__ = ["use", "axis_label", "experiment_label", "legend_headroom"]

EXPERIMENT = "hepnb"


def use() -> None:
    """Set the ATLAS-like mplhep style for every following plot, with constrained layout.

    Constrained layout makes room for every title, suptitle, axis label, colour bar and experiment label, so no
    text runs into another panel (a figure made with ``layout="tight"`` or ``fig.tight_layout()`` keeps that layout;
    matplotlib's note that the layout engine changed is silenced). Tick labels switch to a common power of ten only
    when the ticks are below 10^-2 (x10^-3 and smaller; the ATLAS style's x10^-2 sat on the x-axis label of
    cell-size quantities). The x tick labels sit 6 pt below the axis (the ATLAS style's 3.5 pt put the first one on
    the lowest y tick label, in the corner where both axes start; ``hepnb.figure_checks`` measures it).
    """
    mh.style.use("ATLAS")
    mpl.rcParams["xtick.major.pad"] = mpl.rcParams["xtick.minor.pad"] = 6.0
    mpl.rcParams["axes.formatter.limits"] = (-3, 4)
    mpl.rcParams["figure.max_open_warning"] = 0
    mpl.rcParams["figure.constrained_layout.use"] = True
    warnings.filterwarnings("ignore", message="The figure layout has changed to tight", category=UserWarning)


def legend_headroom(fig: Figure, margin: float = 0.03, *, axes: Sequence[Axes] | None = None) -> Figure:
    """Raise the top of every axes whose legend sits in an upper corner until the data stay below the legend.

    ``axes`` limits the change to those axes (default: every axes of ``fig``, which must be the top-level figure when
    the axes live in a subfigure: the layout is computed on it).

    The figure's layout is computed once (no drawing) to measure each legend in its axes; the y range then grows
    so that the highest data point (error bands included) ends ``margin`` (axes fraction) below the legend.
    Linear and log y scales; legends placed elsewhere, outside the axes or by ``loc="best"`` are left alone.
    """
    renderer = fig.canvas.get_renderer()
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)  # the axes' final sizes: the legend's share of the height depends on them
    for ax in fig.axes if axes is None else axes:
        legend = ax.get_legend()
        if legend is None or legend._loc not in (1, 2, 9):  # upper right, upper left, upper center
            continue
        room = legend.get_window_extent(renderer).transformed(ax.transAxes.inverted()).y0 - margin
        bottom, top = ax.get_ylim()
        high = ax.dataLim.y1
        if not (0.2 < room < 1 and np.isfinite(high) and bottom < high):
            continue
        if ax.get_yscale() == "log":
            if bottom <= 0 or high <= 0:
                continue
            needed = 10 ** (np.log10(bottom) + (np.log10(high) - np.log10(bottom)) / room)
        elif ax.get_yscale() == "linear":
            needed = bottom + (high - bottom) / room
        else:
            continue
        if needed > top:
            ax.set_ylim(bottom, needed)
    return fig


def axis_label(quantity: str, unit: str | None = None) -> str:
    r"""Return an axis title ``"quantity [unit]"``, or just ``quantity`` when it has no unit.

    >>> axis_label(r"$m_{4\ell}$", "GeV")
    '$m_{4\\ell}$ [GeV]'
    """
    return f"{quantity} [{unit}]" if unit else quantity


def experiment_label(
    ax: Axes, text: str = "Simulation", *, lumi: float | None = None, com: float | None = 13, rlabel: str | None = None
) -> None:
    """Write the experiment label (bold 'hepnb' plus ``text``) and, optionally, the luminosity."""
    if isinstance(ax.figure, SubFigure):
        # mplhep sizes its label from the top-level figure, which a subfigure is not: write the same text directly
        ax.text(0.0, 1.01, rf"$\bf{{{EXPERIMENT}}}$ {text}", transform=ax.transAxes, ha="left", va="bottom")
        right = (
            rlabel
            if rlabel is not None
            else ", ".join(
                part
                for part in (
                    f"{lumi:g} fb$^{{-1}}$" if lumi is not None else "",
                    f"$\\sqrt{{s}}$ = {com:g} TeV" if com is not None else "",
                )
                if part
            )
        )
        if right:
            ax.text(1.0, 1.01, right, transform=ax.transAxes, ha="right", va="bottom")
        return
    # data=True stops mplhep from adding its own 'Simulation' word: the text is ours.
    mh.label.exp_label(exp=EXPERIMENT, text=text, data=True, lumi=lumi, com=com, rlabel=rlabel, ax=ax, loc=0)
