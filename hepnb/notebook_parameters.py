r"""The ``parameters`` cell of a notebook, as ``hepnb run -p`` and ``benchmarks/notebook_claims.py`` set it.

Papermill's convention: the knobs of a notebook are assigned in its first code cell, tagged ``parameters``, and a run
with other values inserts a cell tagged ``injected-parameters`` right after it. `inject_parameters` refuses what
would go silently wrong that way: a name the cell does not set (a typo), and a knob that another knob of the cell is
computed from (the other would keep the value computed from the default), unless both are set.

>>> import nbformat
>>> cell = nbformat.v4.new_code_cell("SEED = 1\nRUN = f'run-{SEED}'\nLABEL = 'x'")
>>> cell.metadata["tags"] = ["parameters"]
>>> notebook = nbformat.v4.new_notebook(cells=[cell])
>>> inject_parameters(notebook, {"LABEL": parse_parameter("tight cuts")}, "demo.ipynb")
>>> notebook.cells[1].source
"# Parameters\nLABEL = 'tight cuts'\n"
>>> try:
...     inject_parameters(notebook, {"SEED": 2}, "demo.ipynb")
... except InputError as err:
...     print(err)  # doctest: +NORMALIZE_WHITESPACE
demo.ipynb: ['RUN'] computed from SEED in the parameters cell would keep the value of the default SEED:
set RUN too
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Mapping

import nbformat
from nbformat import NotebookNode

from hepnb.errors import InputError

__all__ = ["inject_parameters", "parse_parameter"]


def parse_parameter(text: str) -> object:
    """A ``-p NAME VALUE`` value as papermill reads it: a Python literal if it is one, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _assigned_names(source: str) -> set[str] | None:
    """Names a cell assigns at top level, or None if it is not plain Python (e.g. holds IPython magics)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:  # D[K] = V assigns no name
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def _derived_parameters(source: str) -> dict[str, set[str]]:
    """For each name a cell assigns at top level, the other names of the cell its value reads when the cell runs.

    Only top-level assignments count (not those in ``if`` / ``for`` blocks or ``def`` defaults). A plain assignment
    replaces what a name read before unless it reads the name itself; an augmented one (``N *= S``) or an item
    assignment (``D[K] = V``) adds to it. A lambda's body is read when it is called and a comprehension's own
    variables are not names of the cell, so neither counts.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}

    def loaded(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Lambda):
            return set()
        if isinstance(node, ast.Name):
            return {node.id} if isinstance(node.ctx, ast.Load) else set()
        names = set().union(*(loaded(child) for child in ast.iter_child_nodes(node)))
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            names -= {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        return names

    derived: dict[str, set[str]] = {}

    def assign(target: ast.AST, value: ast.AST | None, add: bool) -> None:
        reads = loaded(value) if value is not None else set()
        reads |= set().union(*(derived.get(read, set()) for read in reads))  # B = A after A = S reads S too
        if isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            if values is not None and len(values) == len(target.elts):
                for element, element_value in zip(target.elts, values):
                    assign(element, element_value, add)
            else:
                for element in target.elts:
                    assign(element, value, add)
        elif isinstance(target, ast.Name):
            keeps = add or target.id in reads  # N *= S and N = N + S keep what N read before
            derived[target.id] = (derived.get(target.id, set()) if keeps else set()) | reads
        elif isinstance(target, (ast.Subscript, ast.Attribute)):  # D[K] = V, D.x = V: D now depends on K and V
            base = target.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                derived[base.id] = derived.get(base.id, set()) | reads | (loaded(target) - {base.id})
        elif isinstance(target, ast.Starred):
            assign(target.value, value, add)

    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                assign(target, node.value, add=False)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            assign(node.target, node.value, add=False)
        elif isinstance(node, ast.AugAssign):
            assign(node.target, node.value, add=True)
    assigned = set(derived)
    return {name: (reads & assigned) - {name} for name, reads in derived.items()}


def inject_parameters(notebook: NotebookNode, parameters: Mapping[str, object], name: str) -> None:
    """Insert a cell tagged ``injected-parameters`` that sets ``parameters`` right after the ``parameters`` cell.

    Raises InputError when ``name`` (the notebook, for the message) has no cell tagged ``parameters``, when a
    parameter is not a Python name or is not set in that cell (a typo would otherwise be silently ignored), and when
    another parameter of that cell is computed from an injected one (it would keep the value computed from the
    default: a run directory or a list of seeds silently left behind), unless it is injected too.
    """
    notebook.cells = [c for c in notebook.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    tagged = [
        i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    ]
    if not tagged:
        raise InputError(
            f"{name} has no code cell tagged 'parameters', so -p has nowhere to go: tag the cell "
            "that holds the notebook's knobs with 'parameters'"
        )
    bad = [p for p in parameters if not p.isidentifier() or keyword.iskeyword(p)]
    if bad:
        raise InputError(f"parameter names must be Python names, got {bad}")
    known = _assigned_names(notebook.cells[tagged[0]].source)
    unknown = sorted(set(parameters) - known) if known is not None else []
    if unknown:
        raise InputError(f"{name}: {unknown} not set in the parameters cell; it sets {sorted(known or ())}")
    derived = _derived_parameters(notebook.cells[tagged[0]].source)
    for parameter in parameters:
        readers = {t for t, reads in derived.items() if parameter in reads and t not in parameters}
        effects = sorted(readers - (known or set()))  # os.environ[...] = THREADS: not a knob, cannot be set
        if effects:
            raise InputError(
                f"{name}: the parameters cell changes {effects} with {parameter}, which an injected value cannot redo: "
                "move that statement after the parameters cell"
            )
        stale = sorted(readers)
        if stale:
            hint = (
                " (FAST follows HEPNB_FAST: run in fast mode instead, hepnb run --fast)" if parameter == "FAST" else ""
            )
            raise InputError(
                f"{name}: {stale} computed from {parameter} in the parameters cell would keep the value of the default "
                f"{parameter}: set {', '.join(stale)} too{hint}"
            )
    source = "# Parameters\n" + "".join(f"{key} = {value!r}\n" for key, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(tagged[0] + 1, cell)
