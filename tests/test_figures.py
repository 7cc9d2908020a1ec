"""Figures of a real study reach the executed notebook and the HTML report (`hepnb run --fast` on the tour).

The tour is copied into a temporary folder, so it trains into ``tmp/build/tour`` and not into the repository.
``MPLBACKEND=Agg`` is exported on purpose: it is what `make` used to export, which left every figure out.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

from hepnb.cli import main
from hepnb.report import count_figures

TOUR = Path(__file__).resolve().parents[1] / "notebooks" / "00_tour.ipynb"
IMG_PNG = re.compile(r"<img[^>]*src=\"data:image/png;base64,[A-Za-z0-9+/=]{100,}\"")


def test_tour_figures_reach_the_executed_notebook_and_the_report(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = tmp_path / "notebooks" / TOUR.name
    notebook.parent.mkdir()
    shutil.copy(TOUR, notebook)
    declared = nbformat.read(TOUR, as_version=4).metadata["hepnb"]["min_figures"]
    assert declared >= 1

    build = tmp_path / "build"
    assert main(["run", str(notebook), "--fast", "--output", str(build), "--stall-timeout", "120"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"\[1/1\] 00_tour.ipynb: cell \d+ of \d+, elapsed \d+ s", printed)

    executed = nbformat.read(build / "notebooks" / TOUR.name, as_version=4)
    figures, widget_figures = count_figures(executed)
    assert figures >= declared
    assert widget_figures >= 1  # the epoch picker's curves and comparison, drawn inside its widget
    data = [o.get("data", {}) for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    as_text = [d["text/plain"] for d in data if "image/png" not in d and d.get("text/plain", "").startswith("<Fig")]
    assert not as_text  # a figure shown only as "<Figure size ...>": not drawn

    page = (build / "report" / "00_tour.html").read_text()
    assert len(IMG_PNG.findall(page)) == figures
    index = (build / "report" / "index.html").read_text()
    assert f"<td>{figures} (+{widget_figures} in widgets) (at least {declared})</td>" in index
    assert "1 ok, 0 failed" in index


def test_the_style_uses_constrained_layout_and_keeps_cell_sizes_in_plain_decimals() -> None:
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    from hepnb import style

    with mpl.rc_context():
        style.use()
        fig, (left, right) = plt.subplots(1, 2)
        left.plot([-0.06, 0.06], [0.0, 1.0])  # a barycentre in cell units: no "x10^-2" under the axis
        left.set_xlabel("<phi> (impact cell at 0)")
        right.plot([0.0, 2e-4], [0.0, 1.0])  # below 10^-3 a common power of ten is clearer than 0.0002
        fig.canvas.draw()
        assert left.xaxis.get_offset_text().get_text() == ""
        assert "10^{-4}" in right.xaxis.get_offset_text().get_text()
        assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
        plt.close(fig)
