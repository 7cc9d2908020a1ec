"""Automatic checks that a figure reads well: no text on another text, no legend on the data.

:func:`text_overlaps` draws a figure and returns every pair of visible texts (titles, axis and tick labels, offset
texts, annotations, experiment labels, legends, colour-bar labels) whose glyph boxes overlap;
:func:`legend_data_overlap` returns every legend that hides more than a small fraction of a curve's, histogram's or
scatter plot's drawn points. Both measure what the Agg renderer draws, in display pixels, after the figure's layout
engine has run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from matplotlib import cbook
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox
from matplotlib.patches import StepPatch
from matplotlib.text import Text
from matplotlib.textpath import TextPath
from matplotlib.transforms import Bbox

from hepnb.errors import InputError

__all__ = ["Overlap", "LegendCover", "text_overlaps", "legend_data_overlap"]


@dataclass(frozen=True)
class Overlap:
    """Two texts whose boxes overlap by ``width`` x ``height`` display pixels."""

    first: str
    second: str
    width: float
    height: float

    def __str__(self) -> str:
        return f"{self.first} overlaps {self.second} ({self.width:.0f} x {self.height:.0f} px)"


@dataclass(frozen=True)
class LegendCover:
    """A legend that hides ``fraction`` of the drawn points of one artist (those inside its axes)."""

    legend: str
    artist: str
    fraction: float

    def __str__(self) -> str:
        return f"{self.legend} hides {self.fraction:.0%} of {self.artist}"


@dataclass(frozen=True)
class _Box:
    name: str
    bbox: Bbox
    group: int | None = None  # id of the legend a text belongs to
    frame: bool = False  # the legend's own box


def _short(text: str, length: int = 40) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= length else text[: length - 3] + "...")


def _axes_names(fig: Figure) -> dict[Axes, str]:
    """``axes 2 ('Ratio')``, or ``colour bar of axes 0``: which panel, by its index in ``fig.axes`` and a label."""
    names = {}
    for i, ax in enumerate(fig.axes):
        label = ax.get_title() or ax.get_ylabel() or ax.get_xlabel()
        names[ax] = f"axes {i}" + (f" ({_short(label)})" if label else "")
    for ax in fig.axes:
        colorbar = getattr(ax, "_colorbar", None)
        if colorbar is not None and colorbar.mappable.axes in names:
            names[ax] = f"colour bar of {names[colorbar.mappable.axes]}"
    return names


def _glyphs(text: Text, renderer: RendererBase) -> Bbox:
    """The box of a one-line text's glyphs (matplotlib's box pads each line to the height and depth of "lp").

    Multi-line, usetex and obliquely rotated texts keep matplotlib's box; a text's background box is added.
    """
    box = text.get_window_extent(renderer)
    rotation = text.get_rotation() % 360
    if "\n" not in text.get_text() and rotation in (0, 90) and not text.get_usetex():
        prop = text.get_fontproperties()
        string, ismath = text._preprocess_math(text.get_text())
        depth = max(
            renderer.get_text_width_height_descent(string, prop, ismath)[2],
            renderer.get_text_width_height_descent("lp", prop, False)[2],
        )
        ink = TextPath((0, 0), text.get_text(), prop=prop).get_extents()
        scale = renderer.points_to_pixels(1.0)
        if rotation == 0:  # the baseline starts at (x0, y0 + depth)
            box = Bbox.from_extents(
                box.x0 + scale * ink.x0,
                box.y0 + depth + scale * ink.y0,
                box.x0 + scale * ink.x1,
                box.y0 + depth + scale * ink.y1,
            )
        else:  # turned a quarter anticlockwise: the baseline runs up from (x1 - depth, y0)
            box = Bbox.from_extents(
                box.x1 - depth - scale * ink.y1,
                box.y0 + scale * ink.x0,
                box.x1 - depth - scale * ink.y0,
                box.y0 + scale * ink.x1,
            )
    patch = text.get_bbox_patch()
    return Bbox.union([box, patch.get_window_extent(renderer)]) if patch is not None else box


def _shown(text: Text, renderer: RendererBase) -> Bbox | None:
    if not text.get_visible() or not text.get_text().strip():
        return None
    box = _glyphs(text, renderer)
    return box if box.width > 0 and box.height > 0 and np.all(np.isfinite(box.get_points())) else None


def _figure_texts(fig: Figure | SubFigure, name: str) -> Iterator[tuple[str, Text]]:
    special = {}
    for kind in ("suptitle", "supxlabel", "supylabel"):
        text = getattr(fig, f"_{kind}", None)
        if text is not None:
            special[text] = kind
    for text in fig.texts:  # the suptitle and super labels are figure texts too
        yield f"{name} {special.get(text, 'text')}", text
    for k, sub in enumerate(fig.subfigs):
        yield from _figure_texts(sub, f"subfigure {k}")


def _axes_texts(ax: Axes) -> Iterator[tuple[str, Text]]:
    for kind, text in (("title", ax.title), ("left title", ax._left_title), ("right title", ax._right_title)):
        yield kind, text
    for letter, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        if not axis.get_visible():
            continue
        yield f"{letter} label", axis.label
        yield f"{letter} offset text", axis.offsetText
        for tick in axis._update_ticks():  # the ticks inside the view limits: the ones drawn
            yield f"{letter} tick label", tick.label1
            yield f"{letter} tick label", tick.label2
    for text in ax.texts:
        yield "text", text


def _legends(fig: Figure) -> Iterator[tuple[str, Legend]]:
    names = _axes_names(fig)
    for ax in fig.axes:
        if ax.get_legend() is not None and ax.get_visible():
            yield f"legend of {names[ax]}", ax.get_legend()
    for k, legend in enumerate(fig.legends):
        yield f"figure legend {k}", legend


def _boxes(fig: Figure, renderer: RendererBase) -> list[_Box]:
    found: list[_Box] = []

    def add(name: str, artist: Text, group: int | None = None) -> None:
        box = _shown(artist, renderer)
        if box is not None:
            found.append(_Box(f"{name} {_short(artist.get_text())}", box, group))

    for name, text in _figure_texts(fig, "figure"):
        add(name, text)
    for ax, name in _axes_names(fig).items():
        if not ax.get_visible():
            continue
        for kind, text in _axes_texts(ax):
            add(f"{name} {kind}", text)
        for k, artist in enumerate(ax.artists):
            if isinstance(artist, AnchoredOffsetbox) and artist.get_visible():
                found.append(_Box(f"{name} anchored box {k}", artist.get_window_extent(renderer)))
    for name, legend in _legends(fig):
        if not legend.get_visible():
            continue
        found.append(_Box(name, legend.get_window_extent(renderer), id(legend), frame=True))
        for text in [*legend.get_texts(), legend.get_title()]:
            add(f"{name}: entry" if text is not legend.get_title() else f"{name}: title", text, id(legend))
    return found


def text_overlaps(fig: Figure, tolerance: float = 2.0) -> list[Overlap]:
    """Every pair of visible texts of ``fig`` whose boxes overlap by more than ``tolerance`` pixels both ways.

    A one-line text's box is that of its glyphs (matplotlib's own box pads each line to the height and depth of
    "lp", so the padding of digits would meet before the digits do); a text's background box is part of it.
    The figure is drawn first (its layout engine runs). The texts are the figure's suptitle, supxlabel, supylabel and
    texts (of its subfigures too) and, per visible axes (colour bars included), the titles, axis labels, offset texts
    (``x1e-3``), the tick labels drawn, ``ax.text``/annotations (the experiment label) and anchored boxes. A legend
    counts as one box (its frame) against the other texts, and its entries are checked against each other only.

    Parameters
    ----------
    fig
        The figure to check (drawn with its own canvas: use the Agg backend).
    tolerance
        Overlaps up to this many pixels in width or height are accepted (antialiasing, glyph padding).

    Returns
    -------
    list of Overlap
        The overlapping pairs with readable names (which axes, which text, its string), largest overlap first.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(4, 3))
    >>> _ = ax.set_title("a clear title")
    >>> text_overlaps(fig)
    []
    >>> _ = ax.text(0.5, 1.0, "over the title", transform=ax.transAxes, va="bottom")
    >>> for overlap in text_overlaps(fig):
    ...     print(overlap.first, "|", overlap.second)
    axes 0 ('a clear title') title 'a clear title' | axes 0 ('a clear title') text 'over the title'
    >>> plt.close(fig)
    """
    if tolerance < 0:
        raise InputError(f"tolerance must be >= 0 pixels, got {tolerance}")
    fig.canvas.draw()
    boxes = _boxes(fig, fig.canvas.get_renderer())
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a.group != b.group:
                if (a.group is not None and not a.frame) or (b.group is not None and not b.frame):
                    continue  # a legend's entries meet other texts through its frame
            elif a.group is not None and (a.frame or b.frame):
                continue  # a legend's own entries sit inside its frame
            width = min(a.bbox.x1, b.bbox.x1) - max(a.bbox.x0, b.bbox.x0)
            height = min(a.bbox.y1, b.bbox.y1) - max(a.bbox.y0, b.bbox.y0)
            if width > tolerance and height > tolerance:
                found.append(Overlap(a.name, b.name, float(width), float(height)))
    return sorted(found, key=lambda o: -o.width * o.height)


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` pixels along a polyline (display coordinates), its vertices included."""
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) < 2:
        return points
    length = np.r_[0.0, np.cumsum(np.hypot(*np.diff(points, axis=0).T))]
    at = np.union1d(np.arange(0.0, length[-1], step), length)
    return np.column_stack([np.interp(at, length, points[:, 0]), np.interp(at, length, points[:, 1])])


def _inside(box: Bbox, xy: np.ndarray) -> np.ndarray:
    return (xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)


def _drawn_points(ax: Axes, step: float) -> Iterator[tuple[str, np.ndarray]]:
    """Display points of each curve, marker set, step histogram and scatter plot drawn in data coordinates."""
    for k, artist in enumerate([*ax.lines, *ax.collections, *ax.patches]):
        if not artist.get_visible() or not artist.get_transform().contains_branch(ax.transData):
            continue  # reference lines (axhline) span the axes in axes coordinates: not data
        label = artist.get_label()
        name = _short(label) if label and not label.startswith("_") else f"{type(artist).__name__} {k}"
        if isinstance(artist, Line2D):
            x, y = artist.get_xdata(orig=False), artist.get_ydata(orig=False)
            if artist.get_drawstyle() in cbook.STEP_LOOKUP_MAP and artist.get_drawstyle() != "default":
                x, y = cbook.STEP_LOOKUP_MAP[artist.get_drawstyle()](x, y)
            xy = artist.get_transform().transform(np.column_stack([x, y]).astype(float))
            joined = artist.get_linestyle() not in ("None", "none", " ", "")
            yield name, _densify(xy, step) if joined else xy
        elif isinstance(artist, PathCollection) and len(artist.get_offsets()):
            yield name, artist.get_offset_transform().transform(np.asarray(artist.get_offsets(), dtype=float))
        elif isinstance(artist, StepPatch):
            parts = artist.get_transform().transform_path(artist.get_path()).to_polygons(closed_only=False)
            if parts:
                yield name, np.concatenate([_densify(p, step) for p in parts])


def legend_data_overlap(fig: Figure, max_fraction: float = 0.02, *, step: float = 2.0) -> list[LegendCover]:
    """Every legend that hides more than ``max_fraction`` of the drawn points of a curve, histogram or scatter plot.

    The figure is drawn first. The points are each ``Line2D``'s vertices (and, when they are joined by a line,
    points every ``step`` pixels along it; steps drawn as steps), each scatter plot's markers and each step
    histogram's outline (``StepPatch``), in data coordinates (``axhline``-like reference lines are not data). Only
    the points inside their own axes count; the fraction is of those.

    Parameters
    ----------
    fig
        The figure to check.
    max_fraction
        Largest accepted share of an artist's points under a legend.
    step
        Spacing in pixels of the points taken along a line.

    Returns
    -------
    list of LegendCover
        The legend, the artist (by its label, or its type) and the hidden fraction, largest first.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(4, 3))
    >>> _ = ax.plot([0, 1], [0, 1], label="rising")
    >>> _ = ax.legend(loc="lower right")
    >>> legend_data_overlap(fig)
    []
    >>> _ = ax.legend(loc="center")  # on the line's middle
    >>> for cover in legend_data_overlap(fig):
    ...     print(cover.legend, "|", cover.artist, "|", 0.1 < cover.fraction < 0.5)
    legend of axes 0 | axes 0: 'rising' | True
    >>> plt.close(fig)
    """
    if not 0 <= max_fraction < 1 or step <= 0:
        raise InputError(f"need 0 <= max_fraction < 1 and step > 0, got {max_fraction} and {step}")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    names = _axes_names(fig)
    found = []
    for legend_name, legend in _legends(fig):
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            frame = ax.get_window_extent(renderer)
            for name, xy in _drawn_points(ax, step):
                xy = xy[_inside(frame, xy)]
                if len(xy) == 0:
                    continue
                fraction = float(_inside(box, xy).mean())
                if fraction > max_fraction:
                    found.append(LegendCover(legend_name, f"{names[ax]}: {name}", fraction))
    return sorted(found, key=lambda c: -c.fraction)
