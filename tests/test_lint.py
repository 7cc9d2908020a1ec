"""The repository habits `make test` enforces: ruff-clean and ruff-formatted code under the rules of pyproject.toml
([tool.ruff]), and notebooks committed without outputs (nbstripout, as the pre-commit hook does)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ["hepnb", "tests", "benchmarks"]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found is not None, f"{name} is not installed: make venv installs it with the dev extra"
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check_is_clean() -> None:
    result = run(tool("ruff"), "check", "--no-cache", *CODE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied() -> None:
    result = run(tool("ruff"), "format", "--check", "--no-cache", *CODE)
    assert result.returncode == 0, "run `ruff format hepnb tests benchmarks`:\n" + result.stdout + result.stderr


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebook_is_stripped(notebook: str) -> None:
    result = run(tool("nbstripout"), "--keep-id", "--verify", f"notebooks/{notebook}")
    assert result.returncode == 0, f"run `make strip`: {result.stdout}{result.stderr}"
