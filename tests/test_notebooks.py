"""House rules for the curated notebooks (their execution is nbval's job, see `make test`)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from hepnb.notebook_parameters import _assigned_names, inject_parameters

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS][:1] == ["00_tour.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_conventions(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    with_outputs = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not with_outputs, f"{path.name}: code cells {with_outputs} have outputs; run `make strip`"
    assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell must be tagged 'parameters'"
    assert 'os.environ.get("HEPNB_FAST") == "1"' in code[0].source, f"{path.name}: parameters must read HEPNB_FAST"
    assert code[-1].source.lstrip().startswith("assert") or "\nassert " in code[-1].source, (
        f"{path.name}: the last code cell must assert the study's key claim"
    )
    assert notebook.cells[0].cell_type == "markdown", f"{path.name}: start with a title and the physics"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_parameter_but_fast_can_be_set_alone(path: Path) -> None:
    # a parameter computed from another would keep the default's value when the other is injected (hepnb run -p,
    # benchmarks/notebook_claims.py): the notebook derives such values after the parameters cell
    notebook = nbformat.read(path, as_version=4)
    source = next(c for c in notebook.cells if c.cell_type == "code").source
    tree = ast.parse(source)
    # the cell holds knobs only (top-level assignments and imports), so every knob is seen here, tuples included
    assert all(isinstance(node, (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom)) for node in tree.body), path
    names = _assigned_names(source)
    assert "FAST" in names and len(names) > 5, path.name
    for name in sorted(names - {"FAST"}):
        inject_parameters(notebook, {name: None}, path.name)
