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
