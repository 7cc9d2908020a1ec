"""The package keeps the shape docs/architecture.md describes: layers that import only downwards, one lazy
``__init__`` policy, modules of about 500 lines at most, light imports, and an architecture page that names every
subpackage and module of the tree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hepnb"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: The core layer: what every study builds on. It imports no study.
CORE = {
    "errors",
    "io",
    "units",
    "_lazy",
    "style",
    "figure_checks",
    "hists",
    "stats",
    "metrics",
    "training",
    "widgets",
    "report",
    "notebook_parameters",
    "_polling_client",
}
#: The studies, and the other studies each may read (their data sources).
STUDIES = {
    "calo": set(),
    "offshell": set(),
    "lfi": {"offshell"},
    "decorrelation": {"offshell", "jets"},
    "jets": set(),
    "examples": set(),
}
#: Inside the core: who may import whom (a core package missing here may import any core package).
CORE_RULES = {
    "errors": set(),
    "io": {"errors"},
    "units": {"errors"},
    "_lazy": set(),
    "_polling_client": set(),
    "notebook_parameters": {"errors"},
    "stats": {"errors", "io", "units", "_lazy"},
}
#: "About 500 lines": a module this long gets split by concern.
MAX_LINES = 520


def top_level(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def hepnb_imports(path: Path) -> set[str]:
    """The hepnb packages a module imports (anywhere in it, functions included), by their top-level name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("hepnb.")}
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
TOP_LEVEL = sorted({top_level(p) for p in MODULES} - {"__init__"})


def test_every_top_level_name_has_a_layer() -> None:
    unknown = set(TOP_LEVEL) - CORE - set(STUDIES) - {"cli"}
    assert not unknown, f"add {sorted(unknown)} to a layer in docs/architecture.md and in this test"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_downwards(path: Path) -> None:
    package = top_level(path)
    imported = hepnb_imports(path) - {package}
    if package in ("cli", "__init__"):
        return  # the command line sits on top and may import anything (lazily: tests/test_cli.py)
    if package in CORE:
        allowed = CORE_RULES.get(package, CORE)
    else:
        allowed = CORE | STUDIES[package]
    assert imported <= allowed, f"{path.relative_to(ROOT)} imports {sorted(imported - allowed)} against the layers"


def test_stats_imports_no_metrics() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (PACKAGE / "stats").rglob("*.py") if "metrics" in hepnb_imports(p)]
    assert offenders == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concern"


INITS = sorted(p for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE)


@pytest.mark.parametrize("path", INITS, ids=lambda p: str(p.relative_to(ROOT)))
def test_init_follows_the_lazy_policy(path: Path) -> None:
    """A docstring, ``from __future__``, a TYPE_CHECKING block, ``_EXPORTS`` and the lazy_exports line; no logic."""
    tree = ast.parse(path.read_text())
    body = tree.body
    assert ast.get_docstring(tree), f"{path} needs a docstring with the table of its public API"
    kinds = []
    for node in body[1:]:
        if isinstance(node, ast.ImportFrom) and node.module in ("__future__", "typing", "hepnb._lazy"):
            kinds.append("import")
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            kinds.append("type-checking")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [
                getattr(t, "id", None) or [getattr(e, "id", None) for e in getattr(t, "elts", [])] for t in targets
            ]
            kinds.append(str(names))
        else:
            kinds.append(type(node).__name__)
    assert "['_EXPORTS']" in kinds, f"{path}: no _EXPORTS mapping"
    assert "[['__getattr__', '__dir__', '__all__']]" in kinds, f"{path}: no lazy_exports line"
    others = [
        k
        for k in kinds
        if k not in ("import", "type-checking", "['_EXPORTS']", "[['__getattr__', '__dir__', '__all__']]")
    ]
    assert others == [], f"{path} holds logic ({others}): move it into a module"


@pytest.mark.parametrize("path", INITS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_lazy_export_resolves(path: Path) -> None:
    package = ".".join(path.parent.relative_to(ROOT).parts)
    code = (
        f"import importlib; p = importlib.import_module({package!r}); "
        "missing = [n for n in p.__all__ if getattr(p, n, None) is None]; print(missing)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.parametrize(
    "package",
    [
        "hepnb",
        "hepnb.offshell",
        "hepnb.lfi",
        "hepnb.calo",
        "hepnb.jets",
        "hepnb.decorrelation",
        "hepnb.stats",
        "hepnb.metrics",
        "hepnb.training",
        "hepnb.widgets",
        "hepnb.hists",
    ],
)
def test_importing_a_subpackage_loads_no_heavy_library(package: str) -> None:
    code = (
        f"import sys, {package}; "
        "print(sorted(m for m in ('torch', 'lightning', 'coffea', 'dask', 'pythia8mc', 'fastjet', 'sklearn') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", f"import {package} loads {result.stdout.strip()}"


def test_architecture_page_names_every_module() -> None:
    text = ARCHITECTURE.read_text()
    missing = []
    for path in MODULES:
        relative = path.relative_to(PACKAGE)
        if relative == Path("__init__.py"):
            continue
        if relative.name == "__init__.py":
            name = relative.parent.name + "/"
        else:
            name = relative.with_suffix("").name
        if relative.name != "__init__.py" and relative.name.startswith("_") and relative.name != "_lazy.py":
            continue
        if f"`{name}`" not in text and f"`{'/'.join(relative.with_suffix('').parts)}`" not in text:
            missing.append(str(relative))
    assert missing == [], f"docs/architecture.md does not name {missing}"
