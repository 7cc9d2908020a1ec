"""`hepnb run`: execution, executed notebooks, HTML report, failure reporting, exit codes."""

from __future__ import annotations

from pathlib import Path

import nbformat

from hepnb.cli import main


def write_notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('import os\nFAST = os.environ.get("HEPNB_FAST") == "1"')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_run_writes_executed_notebooks_and_report(tmp_path: Path, capsys) -> None:
    good = write_notebook(tmp_path / "a_good.ipynb", "print('fast' if FAST else 'full', 6 * 7)")
    bad = write_notebook(tmp_path / "b_bad.ipynb", "assert 1 == 2, 'claim does not hold'")
    build = tmp_path / "build"
    assert main(["run", str(good), str(bad), "--output", str(build), "--fast"]) == 1
    printed = capsys.readouterr().out
    assert "[1/2] a_good.ipynb: ok" in printed
    assert "[2/2] b_bad.ipynb: FAILED" in printed and "claim does not hold" in printed
    assert "Executed 2 notebooks in" in printed
    executed = nbformat.read(build / "notebooks" / "a_good.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "fast 42\n"
    index = (build / "report" / "index.html").read_text()
    assert "href='a_good.html'" in index and "href='b_bad.html'" in index
    assert "failed: AssertionError: claim does not hold" in index
    assert "fast 42" in (build / "report" / "a_good.html").read_text()


def test_run_of_missing_notebook_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "nope.ipynb"), "--output", str(tmp_path)]) == 2
    assert "notebooks not found" in capsys.readouterr().err
