"""The conda and Binder environments against the pins: environment.yml, binder/environment.yml and binder/postBuild
must install what constraints.txt and pyproject.toml say.

Rules (``environment_problems`` lists every breach, so a failure names all drifts at once):

- every conda package that is in constraints.txt is pinned with ``=X.Y[.Z...]`` (conda: that version or any
  release under it; at least major.minor) or ``==X.Y.Z`` (exact), and the pin agrees with constraints.txt
  (``numpy=2.4`` matches ``numpy==2.4.6``, ``numpy=2.40`` does not); conda names are mapped to PyPI names;
- a conda package that is not in constraints.txt is an error unless it is in ``NOT_IN_CONSTRAINTS``;
- every pip entry equals its constraints.txt pin exactly;
- binder/environment.yml holds the same channels and dependencies as environment.yml, apart from
  ``ONLY_IN_CONDA_FILE`` (``-e .``: repo2docker may build the environment before the repository is copied in, so
  binder/postBuild installs hepnb);
- binder/postBuild's install command is the one the README names, and when it is ``--no-deps`` (or in any case for
  environment.yml) every requirement of hepnb in pyproject.toml, extras included, is listed in the environment.
"""

from __future__ import annotations

import re
import shutil
import sys
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import toml as tomllib  # a dependency of coffea; same ``loads`` for these files

ROOT = Path(__file__).resolve().parents[1]
CONDA_FILE = "environment.yml"
BINDER_FILE = "binder/environment.yml"
POSTBUILD = "binder/postBuild"

# conda-forge name -> PyPI name, where they differ beyond case and -/_/.
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch": "torch", "matplotlib-base": "matplotlib"}
# conda packages that constraints.txt (a pip freeze) cannot hold.
NOT_IN_CONSTRAINTS = frozenset({"python", "pip"})
# Entries of environment.yml that binder/environment.yml leaves out on purpose (see its header).
ONLY_IN_CONDA_FILE = frozenset({"pip:-e ."})


def normalise(name: str) -> str:
    """A package name as PyPI compares them (PEP 503): lower case, runs of -, _ and . as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def version_matches(pin: str, version: str) -> bool:
    """Whether conda's fuzzy pin ``=pin`` admits ``version``: its release components start with pin's."""
    wanted, have = pin.split("."), version.split(".")
    return have[: len(wanted)] == wanted


def read_constraints(path: Path) -> dict[str, tuple[str, str]]:
    """constraints.txt as {normalised name: (name as written, version)}."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalise(name)] = (name.strip(), version.strip())
    return pins


# A conda match spec: name, then optionally an operator and a version; anything after (a build string) is refused.
_CONDA_SPEC = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*)\s*"
    r"(?:(?P<op>==|=|>=|<=|!=|~=|>|<)\s*(?P<version>[^\s=,]+))?(?P<rest>.*)$"
)


def read_environment(path: Path) -> dict:
    """An environment file as {"channels": [...], "conda": [spec, ...], "pip": [entry, ...]}."""
    document = yaml.safe_load(path.read_text())
    conda, pip = [], []
    for entry in document.get("dependencies") or []:
        if isinstance(entry, dict) and set(entry) == {"pip"}:
            pip.extend(str(item).strip() for item in entry["pip"])
        else:
            conda.append(str(entry).strip())
    return {"channels": list(document.get("channels") or []), "conda": conda, "pip": pip}


def _pinned_names(environment: dict) -> set[str]:
    """Normalised PyPI names of all packages an environment file lists (conda and pip)."""
    names = set()
    for spec in environment["conda"]:
        match = _CONDA_SPEC.match(spec)
        if match:
            names.add(normalise(CONDA_TO_PYPI.get(match["name"].lower(), match["name"])))
    for entry in environment["pip"]:
        if not entry.startswith("-"):
            names.add(normalise(Requirement(entry).name))
    return names


def _check_conda_spec(label: str, spec: str, constraints: dict) -> list[str]:
    match = _CONDA_SPEC.match(spec)
    if match is None or match["rest"].strip():
        return [f"{label}: cannot read '{spec}'; write 'name=X.Y' or 'name==X.Y.Z'"]
    conda_name = match["name"]
    pypi = normalise(CONDA_TO_PYPI.get(conda_name.lower(), conda_name))
    if pypi in NOT_IN_CONSTRAINTS:
        return []
    if pypi not in constraints:
        return [
            f"{label}: '{conda_name}' is not in constraints.txt; pin it there (pyproject.toml + make lock) or, "
            f"if its PyPI name differs, map it in CONDA_TO_PYPI of tests/test_environment_files.py"
        ]
    pinned_name, version = constraints[pypi]
    release = re.match(r"\d+(?:\.\d+)*", version)
    advice = f"constraints.txt has {pinned_name}=={version}; write {conda_name}=" + (
        ".".join(release[0].split(".")[:2]) if release else version
    )
    op, pin = match["op"], match["version"]
    if op is None:
        return [f"{label}: '{conda_name}' is not pinned; {advice}"]
    if op not in ("=", "=="):
        return [f"{label}: '{spec}' is a range, not a pin; {advice}"]
    if op == "=" and len(pin.rstrip(".*").split(".")) < 2:
        return [f"{label}: '{spec}' pins less than major.minor; {advice}"]
    if op == "=" and not version_matches(pin.rstrip(".*"), version):
        return [f"{label}: '{spec}' does not admit {version}; {advice}"]
    if op == "==" and pin != version:
        return [f"{label}: '{spec}' is not {version}; {advice}"]
    return []


def _check_pip_entry(label: str, entry: str, constraints: dict) -> list[str]:
    if entry.startswith("-"):
        return []
    requirement = Requirement(entry)
    name = normalise(requirement.name)
    if name not in constraints:
        return [f"{label}: pip entry '{entry}' is not in constraints.txt"]
    pinned_name, version = constraints[name]
    specs = list(requirement.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or specs[0].version != version:
        return [f"{label}: pip entry '{entry}' must be exactly '{requirement.name}=={version}' (constraints.txt)"]
    return []


def _hepnb_requirements(pyproject: dict) -> list[str]:
    """Normalised names hepnb needs installed: its dependencies, every extra, and what their extras pull in."""
    project = pyproject["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    names = []
    for spec in specs:
        requirement = Requirement(spec)
        names.append(normalise(requirement.name))
        for extra in sorted(requirement.extras):  # coffea[dask]: dask, distributed, bokeh
            try:
                inner = requires(requirement.name) or []
            except PackageNotFoundError:
                names.append(f"{requirement.name}[{extra}] (not installed here, its extra cannot be read)")
                continue
            for line in inner:
                dependency = Requirement(line)
                if (
                    dependency.marker is not None
                    and dependency.marker.evaluate({"extra": extra})
                    and not dependency.marker.evaluate({"extra": ""})
                ):
                    names.append(normalise(dependency.name))
    return sorted(set(names))


def environment_problems(root: Path) -> list[str]:
    """Every disagreement between the environment files, constraints.txt, pyproject.toml and the README."""
    constraints = read_constraints(root / "constraints.txt")
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    environments = {label: read_environment(root / label) for label in (CONDA_FILE, BINDER_FILE)}
    problems: list[str] = []

    for label, environment in environments.items():
        for spec in environment["conda"]:
            problems += _check_conda_spec(label, spec, constraints)
        for entry in environment["pip"]:
            problems += _check_pip_entry(label, entry, constraints)
        python = [
            spec
            for spec in environment["conda"]
            if _CONDA_SPEC.match(spec) and _CONDA_SPEC.match(spec)["name"] == "python"
        ]
        requires_python = SpecifierSet(pyproject["project"].get("requires-python", ""))
        if (
            len(python) != 1
            or _CONDA_SPEC.match(python[0])["version"] is None
            or _CONDA_SPEC.match(python[0])["version"].rstrip(".*") not in requires_python
        ):
            problems.append(f"{label}: needs one 'python=X.Y' within requires-python '{requires_python}', has {python}")
        listed = _pinned_names(environment)
        for name in _hepnb_requirements(pyproject):
            if name not in listed:
                problems.append(f"{label}: hepnb needs '{name}' (pyproject.toml) but the file does not list it")

    conda, binder = environments[CONDA_FILE], environments[BINDER_FILE]
    if conda["channels"] != binder["channels"]:
        problems.append(f"{BINDER_FILE}: channels {binder['channels']} differ from {CONDA_FILE}'s {conda['channels']}")
    entries = {
        label: {f"conda:{spec}" for spec in env["conda"]} | {f"pip:{entry}" for entry in env["pip"]}
        for label, env in environments.items()
    }
    for entry in sorted(entries[CONDA_FILE] - entries[BINDER_FILE] - ONLY_IN_CONDA_FILE):
        problems.append(f"{BINDER_FILE}: lacks '{entry}' of {CONDA_FILE}")
    for entry in sorted(entries[BINDER_FILE] - entries[CONDA_FILE]):
        problems.append(f"{BINDER_FILE}: has '{entry}', which {CONDA_FILE} does not")
    for entry in sorted(ONLY_IN_CONDA_FILE & entries[BINDER_FILE]):
        problems.append(f"{BINDER_FILE}: lists '{entry}', which binder/postBuild installs instead")

    installs = [
        line.strip()
        for line in (root / POSTBUILD).read_text().splitlines()
        if "pip install" in line and not line.lstrip().startswith("#")
    ]
    readme = (root / "README.md").read_text()
    if len(installs) != 1:
        problems.append(f"{POSTBUILD}: expected one 'pip install' of hepnb, found {installs}")
    elif f"`{installs[0]}`" not in readme:
        problems.append(
            f"{POSTBUILD}: installs with '{installs[0]}', which the README's Binder paragraph does not name"
        )
    elif not installs[0].endswith(" -e ."):
        problems.append(f"{POSTBUILD}: '{installs[0]}' does not install the repository (-e .)")
    return problems


def test_environment_files_agree_with_the_pins() -> None:
    assert environment_problems(ROOT) == []


@pytest.mark.parametrize(
    ("pin", "version", "admits"),
    [
        ("2.4", "2.4.6", True),
        ("2.4.6", "2.4.6", True),
        ("0.9", "0.9.7.post1", True),
        ("2026.9", "2026.9.0", True),
        ("2.4", "2.40.1", False),
        ("2.3", "2.4.6", False),
        ("2.4.6", "2.4", False),
        ("7.2", "7.20.2", False),
    ],
)
def test_conda_pin_matches_whole_version_components(pin: str, version: str, admits: bool) -> None:
    assert version_matches(pin, version) is admits


def _copy_project(tmp_path: Path) -> Path:
    for name in ("constraints.txt", "pyproject.toml", "README.md", CONDA_FILE, BINDER_FILE, POSTBUILD):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        (CONDA_FILE, "  - numpy=2.4\n", "  - numpy=2.3\n", "'numpy=2.3' does not admit 2.4.6"),
        (BINDER_FILE, "  - pandas=3.1\n", "  - pandas\n", "'pandas' is not pinned"),
        (CONDA_FILE, "  - scipy=1.17\n", "  - scipy=1\n", "'scipy=1' pins less than major.minor"),
        (CONDA_FILE, "  - numpy=2.4\n", "  - numpy=2.4=py311*\n", "cannot read 'numpy=2.4=py311*'"),
        (CONDA_FILE, "  - tqdm=4.70\n", "  - tqdm==4.70.0\n", "'tqdm==4.70.0' is not 4.70.1"),
        (CONDA_FILE, "  - psutil=7.2\n", "  - psutil>=7\n", "'psutil>=7' is a range"),
        (BINDER_FILE, "  - pot=0.9\n", "  - pot=0.8\n", "'pot=0.8' does not admit 0.9.7.post1"),
        ("constraints.txt", "torch==2.13.0\n", "torch==2.14.0\n", "'pytorch-cpu=2.13' does not admit 2.14.0"),
        (BINDER_FILE, "fastjet==3.5.2.0", "fastjet==3.5.1", "'fastjet==3.5.1' must be exactly 'fastjet==3.5.2.0'"),
        (CONDA_FILE, "fastjet==3.5.2.0", "fastjet>=3.5", "'fastjet>=3.5' must be exactly"),
        (
            BINDER_FILE,
            "  - psutil=7.2\n",
            "  - psutil=7.2\n  - ruamel.yaml=0.18\n",
            "'ruamel.yaml' is not in constraints",
        ),
        (BINDER_FILE, "  - ipykernel=7.4\n", "", "lacks 'conda:ipykernel=7.4'"),
        (CONDA_FILE, "  - nbformat=5.11\n", "", "hepnb needs 'nbformat'"),
        (BINDER_FILE, "  - bokeh=3.9\n", "", "hepnb needs 'bokeh'"),
        (
            BINDER_FILE,
            "      - fastjet==3.5.2.0\n",
            "      - fastjet==3.5.2.0\n      - -e .\n",
            "which binder/postBuild",
        ),
        (POSTBUILD, "pip install --no-deps -e .", "pip install -e .", "'pip install -e .', which the README"),
        (CONDA_FILE, "  - python=3.11\n", "  - python=3.9\n", "'python=X.Y' within requires-python"),
    ],
)
def test_checker_reports_a_drift(tmp_path: Path, path: str, old: str, new: str, expected: str) -> None:
    root = _copy_project(tmp_path)
    assert environment_problems(root) == []  # the copy is sound: what follows is the edit's doing
    text = (root / path).read_text()
    assert old in text, f"the drift to test needs '{old.strip()}' in {path}"
    (root / path).write_text(text.replace(old, new, 1))
    problems = environment_problems(root)
    assert any(expected in problem for problem in problems), problems


def test_one_version_source() -> None:
    """The version is written once, in hepnb/__init__.py: pyproject.toml reads it, CITATION.cff repeats it."""
    import hepnb

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "hepnb.__version__"}
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == hepnb.__version__


def test_exact_pins_only_in_constraints() -> None:
    """pyproject.toml states ranges; the exact pins (torch 2.13.0 CPU, pythia8mc 8.317.2) live in constraints.txt."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = [
        *project["project"]["dependencies"],
        *(r for extra in project["project"]["optional-dependencies"].values() for r in extra),
    ]
    exact = [r for r in requirements if any(s.operator in ("==", "===") for s in Requirement(r).specifier)]
    assert exact == [], f"exact pins belong in constraints.txt: {exact}"
    pins = read_constraints(ROOT / "constraints.txt")
    assert pins["torch"][1] == "2.13.0" and pins["pythia8mc"][1] == "8.317.2"
