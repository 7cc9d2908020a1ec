"""hepnb.widgets.slider: the one body of MuSlider, ScanExplorer, LambdaExplorer and EpochPicker (slider, output areas,
redraw)."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hepnb.decorrelation.plots import LambdaExplorer  # noqa: E402
from hepnb.errors import InputError  # noqa: E402
from hepnb.lfi.inference import LikelihoodScan  # noqa: E402
from hepnb.lfi.plots import ScanExplorer  # noqa: E402
from hepnb.metrics import decorrelation as dm  # noqa: E402
from hepnb.offshell.plots import MuSlider  # noqa: E402
from hepnb.widgets import EpochPicker, SliderWidget  # noqa: E402


class Lines(SliderWidget):
    """Two output areas: a figure and a text in the first, two figures in the second."""

    outputs = 2

    def __init__(self) -> None:
        super().__init__()
        self.n = 1
        self.drawn: list[int] = []

    def _start(self) -> int:
        return self.n

    def _make_slider(self, value: int) -> widgets.IntSlider:
        return widgets.IntSlider(value=value, min=1, max=5, description="lines")

    def _select(self, value: int) -> int:
        if not 1 <= value <= 5:
            raise InputError(f"lines must be in [1, 5], got {value}")
        self.n = int(value)
        return self.n

    def _panels(self) -> list[list[object]]:
        self.drawn.append(self.n)
        first, second, third = plt.figure(), plt.figure(), plt.figure()
        return [[first, f"{self.n} lines"], [second, third]]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_the_base_redraws_on_the_slider_and_on_update_and_closes_what_it_replaced() -> None:
    view = Lines()
    headless = view.update(2)
    assert isinstance(headless, Figure) and view.last_figure is headless and view.drawn == [2]
    assert plt.fignum_exists(headless.number)  # headless: the figures stay for the caller
    ui = view.widget()
    slider = ui.children[0]
    assert [type(w) for w in ui.children] == [widgets.IntSlider, widgets.Output, widgets.Output]
    assert slider.value == 2 and view.drawn == [2, 2] and not plt.fignum_exists(headless.number)
    slider.value = 4  # the user moves the slider
    assert view.n == 4 and view.drawn == [2, 2, 4]
    assert plt.get_fignums() == []  # shown in the output areas, then closed
    view.update(1)  # code moves the slider, one redraw only
    assert slider.value == 1 and view.drawn == [2, 2, 4, 1]
    with pytest.raises(InputError, match=r"\[1, 5\]"):
        view.update(7)
    assert view.n == 1 and slider.value == 1


def test_every_slider_widget_shares_the_base() -> None:
    assert all(issubclass(cls, SliderWidget) for cls in (MuSlider, ScanExplorer, EpochPicker, LambdaExplorer))


def _scan(mu_true: float, include_rate: bool) -> LikelihoodScan:
    mu = np.linspace(0.0, 6.0, 61)
    return LikelihoodScan(
        "toy", mu**0.25, mu, -0.5 * (mu - mu_true) ** 2, -0.1 * (mu - mu_true) ** 2, include_rate, mu_true, 36.1, 100.0
    )


def test_scan_explorer_keeps_its_slider_and_rate_box_in_step_with_update() -> None:
    scans = {"toy": {(m, r): _scan(m, r) for m in (0.0, 1.0, 4.0) for r in (True, False)}}
    explorer = ScanExplorer(scans)
    box = explorer.widget()
    slider, rate = box.children[0].children
    assert (slider.description, rate.description) == ("true $\\mu$", "include rate")
    first = explorer.last_figure
    explorer.update(3.4, include_rate=False)  # what the notebook does by code
    assert (slider.value, rate.value) == (4.0, False) and explorer.last_figure is not first
    assert explorer.current()["toy"] is scans["toy"][4.0, False]
    rate.value = True  # the user ticks the box
    assert explorer.include_rate and explorer.current()["toy"] is scans["toy"][4.0, True]
    slider.value = 1.0
    assert explorer.mu_true == 1.0


def test_lambda_explorer_draws_the_chosen_model_and_refuses_a_lambda_outside_the_scan() -> None:
    import pandas as pd

    rng = np.random.default_rng(3)
    m, labels = rng.random(6000), rng.integers(0, 2, 6000)
    sculpted = dm.efficiency_thresholds(m + 0.3 * rng.random(6000), m, labels, np.ones(6000), bins=5)
    flat = dm.efficiency_thresholds(rng.random(6000), m, labels, np.ones(6000), bins=5)
    summary = pd.DataFrame(
        {
            "method": ["plain", "aspiration", "aspiration", "aspiration"],
            "lam": [0.0, 1.0, 3.0, 10.0],
            "r50": [20.0, 16.0, 12.0, 4.0],
            "inv_jsd50": [5.0, 20.0, 60.0, 200.0],
        }
    ).set_index(["method", "lam"])
    explorer = LambdaExplorer({1.0: sculpted, 3.0: flat, 10.0: flat}, sculpted, summary)
    box = explorer.widget()
    slider, output = box.children
    assert slider.description == "lambda" and slider.value == 3.0  # starts in the middle of the grid
    drawn = explorer.last_figure
    (thresholds, front) = drawn.axes[:2]
    assert front.get_xscale() == "log" and any("lambda=3" in t.get_text() for t in thresholds.get_legend().texts)
    slider.value = 10.0  # the user moves it: a new figure with the R50 / 1/JSD50 point of lambda = 10
    assert explorer.lam == 10.0 and explorer.last_figure is not drawn
    marker = explorer.last_figure.axes[1].lines[-1]
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (200.0, 4.0)
    with pytest.raises(InputError, match="not in the aspiration scan: choose one of 1, 3, 10"):
        explorer.update(5.0)
    with pytest.raises(InputError, match="lacks aspiration at lambda 30"):
        LambdaExplorer({30.0: flat}, sculpted, summary)
    with pytest.raises(InputError, match="curves is empty"):
        LambdaExplorer({}, sculpted, summary)
