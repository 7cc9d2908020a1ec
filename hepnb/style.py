"""The one place plots get their look: mplhep's ATLAS-like style, labels with units."""

from __future__ import annotations

import matplotlib as mpl
import mplhep as mh
from matplotlib.axes import Axes
from matplotlib.figure import SubFigure

__all__ = ["use", "axis_label", "experiment_label"]

EXPERIMENT = "hepnb"


def use() -> None:
    """Set the ATLAS-like mplhep style for every following plot."""
    mh.style.use("ATLAS")
    mpl.rcParams["figure.max_open_warning"] = 0


def axis_label(quantity: str, unit: str | None = None) -> str:
    """Return an axis title ``"quantity [unit]"``, or just ``quantity`` when it has no unit.

    >>> axis_label("$m_{4\\ell}$", "GeV")
    '$m_{4\\\\ell}$ [GeV]'
    """
    return f"{quantity} [{unit}]" if unit else quantity


def experiment_label(
    ax: Axes,
    text: str = "Simulation",
    *,
    lumi: float | None = None,
    com: float | None = 13,
    rlabel: str | None = None,
) -> None:
    """Write the experiment label (bold 'hepnb' plus ``text``) and, optionally, the luminosity."""
    if isinstance(ax.figure, SubFigure):
        # mplhep sizes its label from the top-level figure, which a subfigure is not: write the same text directly
        ax.text(0.0, 1.01, rf"$\bf{{{EXPERIMENT}}}$ {text}", transform=ax.transAxes, ha="left", va="bottom")
        right = rlabel if rlabel is not None else ", ".join(
            part for part in (f"{lumi:g} fb$^{{-1}}$" if lumi is not None else "",
                              f"$\\sqrt{{s}}$ = {com:g} TeV" if com is not None else "") if part)
        if right:
            ax.text(1.0, 1.01, right, transform=ax.transAxes, ha="right", va="bottom")
        return
    # data=True stops mplhep from adding its own 'Simulation' word: the text is ours.
    mh.label.exp_label(exp=EXPERIMENT, text=text, data=True, lumi=lumi, com=com, rlabel=rlabel, ax=ax, loc=0)
