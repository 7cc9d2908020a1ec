"""The one body of the notebooks' slider widgets: a slider, output areas redrawn when it moves, a headless default.

:class:`hepnb.offshell.plots.MuSlider`, :class:`hepnb.lfi.plots.ScanExplorer`,
:class:`hepnb.decorrelation.plots.LambdaExplorer` and :class:`hepnb.widgets.EpochPicker` are :class:`SliderWidget`
subclasses. A subclass says where the slider starts (``_start``, also the value a headless
run shows), which ipywidgets slider to build (``_make_slider``), how a value is checked and selected (``_select``),
what each output area shows for the selected value (``_panels``: figures, tables, text) and, if it has more
controls, how they are laid out (``_layout``). The base does the rest: moving the slider redraws;
:meth:`SliderWidget.update` does the same from code (headless runs cannot move a slider) and moves the slider there
without a second redraw; the figures of the previous value are closed, and a figure shown in an output area is
closed after display so that the inline backend does not show it twice.

Examples
--------
>>> import ipywidgets as widgets
>>> import matplotlib.pyplot as plt
>>> from hepnb.widgets.slider import SliderWidget
>>> class Power(SliderWidget):
...     outputs = 0  # no output area here: outside a kernel, what an output area shows goes to the terminal
...     def __init__(self) -> None:
...         super().__init__()
...         self.p = 1
...     def _start(self) -> int:
...         return self.p
...     def _make_slider(self, value: int) -> widgets.IntSlider:
...         return widgets.IntSlider(value=value, min=1, max=3, description="power")
...     def _select(self, value: int) -> int:
...         self.p = int(value)
...         return self.p
...     def _panels(self) -> list:
...         fig, ax = plt.subplots()
...         ax.plot([0, 1, 2], [x**self.p for x in (0, 1, 2)])
...         return [[fig]]
>>> view = Power()
>>> fig = view.update(2)                            # headless: the figure of the value, nothing displayed
>>> fig is view.last_figure, view.p
(True, 2)
>>> ui = view.widget()                              # the slider starts at the current value
>>> slider = ui.children[0]
>>> slider.value = 3                                # moving the slider redraws
>>> view.p, view.last_figure is fig
(3, False)
>>> _ = view.update(1)                              # so does code, and the slider follows
>>> slider.value
1
>>> plt.close("all")
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display
from matplotlib.figure import Figure

__all__ = ["SliderWidget"]


class SliderWidget(ABC):
    """Base of the slider widgets: an ipywidgets slider and output areas redrawn when the slider moves.

    ``last_figure`` is the first figure of the value shown last (what :meth:`update` returns).
    """

    #: Number of output areas below the controls (``_panels`` gives one list of items per area).
    outputs: ClassVar[int] = 1

    def __init__(self) -> None:
        self.last_figure: Figure | None = None
        self._figures: list[Figure] = []
        self._slider: widgets.ValueWidget | None = None
        self._outputs: tuple[widgets.Output, ...] = ()
        self._syncing = False

    # ------------------------------------------------------------------------------------------ for subclasses
    @abstractmethod
    def _start(self) -> Any:
        """The value the slider starts at (the headless default)."""

    @abstractmethod
    def _make_slider(self, value: Any) -> widgets.ValueWidget:
        """The ipywidgets slider, at ``value``."""

    @abstractmethod
    def _select(self, value: Any) -> Any:
        """Check ``value`` (raising :class:`hepnb.errors.InputError`), make it current; returns the slider's value."""

    @abstractmethod
    def _panels(self) -> Sequence[Sequence[Any]]:
        """What each output area shows for the current value: figures (at least one in all), tables, text."""

    def _layout(self, slider: widgets.ValueWidget, outputs: Sequence[widgets.Output]) -> widgets.Widget:
        """The widget: by default the slider above the output areas."""
        return widgets.VBox([slider, *outputs])

    def _on_change(self, control: widgets.ValueWidget, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(new value)`` when ``control`` changes, except when :meth:`update` moved it."""
        control.observe(lambda change: None if self._syncing else callback(change["new"]), names="value")

    def _set_quietly(self, control: widgets.ValueWidget | None, value: Any) -> None:
        """Move ``control`` to ``value`` without triggering a redraw."""
        if control is None or control.value == value:
            return
        self._syncing = True
        try:
            control.value = value
        finally:
            self._syncing = False

    # ------------------------------------------------------------------------------------------ the shared body
    def update(self, value: Any) -> Figure:
        """Show ``value``: redraw (into the widget's output areas when there are some); returns the new figure.

        Headless runs do not keep what a widget's output area shows: display the returned figure there.
        """
        shown = self._select(value)
        for fig in self._figures:
            plt.close(fig)
        panels = self._panels()
        self._figures = [item for panel in panels for item in panel if isinstance(item, Figure)]
        self.last_figure = self._figures[0]
        self._set_quietly(self._slider, shown)
        if self._outputs:
            for output, items in zip(self._outputs, panels):
                with output:
                    output.clear_output(wait=True)
                    for item in items:
                        if isinstance(item, str):
                            print(item)
                        else:
                            display(item)
            for fig in self._figures:
                plt.close(fig)  # shown in the widget; closing it keeps the inline backend from showing it twice
        return self.last_figure

    def widget(self) -> widgets.Widget:
        """The interactive widget, drawn at the start value."""
        start = self._start()
        self._slider = self._make_slider(start)
        self._outputs = tuple(widgets.Output() for _ in range(self.outputs))
        self._on_change(self._slider, self.update)
        box = self._layout(self._slider, self._outputs)
        self.update(start)
        return box

    def _ipython_display_(self) -> None:
        display(self.widget())
