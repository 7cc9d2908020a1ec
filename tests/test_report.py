"""`hepnb run`: execution, executed notebooks, HTML report, figures, faults, parameters, exit codes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from hepnb.cli import main
from hepnb.notebook_parameters import _derived_parameters, parse_parameter
from hepnb.report import INLINE_BACKEND, kernel_environment

IMG_PNG = re.compile(r"<img[^>]*src=\"data:image/png;base64,")


def write_notebook(path: Path, *sources: str, parameters: str = "", min_figures: int | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('import os\nFAST = os.environ.get("HEPNB_FAST") == "1"\n' + parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if min_figures is not None:
        nb.metadata["hepnb"] = {"min_figures": min_figures}
    nbformat.write(nb, path)
    return path


def test_run_writes_executed_notebooks_and_report(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("HEPNB_FAST", raising=False)
    good = write_notebook(tmp_path / "a_good.ipynb", "print('fast' if FAST else 'full', 6 * 7)", "x = 1")
    bad = write_notebook(tmp_path / "b_bad.ipynb", "assert 1 == 2, 'claim does not hold'")
    build = tmp_path / "build"
    assert main(["run", str(good), str(bad), "--output", str(build), "--fast"]) == 1
    assert "HEPNB_FAST" not in os.environ  # --fast reaches the kernel only
    printed = capsys.readouterr().out
    for k in (1, 2, 3):
        assert re.search(rf"\[1/2\] a_good.ipynb: cell {k} of 3, elapsed \d+ s", printed)
    assert "[1/2] a_good.ipynb: ok" in printed
    assert "[2/2] b_bad.ipynb: FAILED" in printed and "claim does not hold" in printed
    assert "Executed 2 notebooks in" in printed and "1 ok, 1 failed" in printed
    executed = nbformat.read(build / "notebooks" / "a_good.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "fast 42\n"
    index = (build / "report" / "index.html").read_text()
    assert "href='a_good.html'" in index and "href='b_bad.html'" in index
    assert "failed: AssertionError: claim does not hold" in index
    assert "fast 42" in (build / "report" / "a_good.html").read_text()


def test_figures_reach_the_executed_notebook_and_report_under_agg(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # what `make` used to export to every kernel
    plot = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"
    plots = write_notebook(tmp_path / "plots.ipynb", plot, min_figures=1)
    too_few = write_notebook(tmp_path / "too_few.ipynb", plot, min_figures=3)
    build = tmp_path / "build"
    assert main(["run", str(plots), str(too_few), "--output", str(build), "--timeout", "120"]) == 1
    printed = capsys.readouterr().out
    assert "[1/2] plots.ipynb: ok" in printed and "1 figures" in printed
    assert "[2/2] too_few.ipynb: FAILED (too few figures: 1, expected at least 3)" in printed
    executed = nbformat.read(build / "notebooks" / "plots.ipynb", as_version=4)
    assert [o.output_type for o in executed.cells[1].outputs if "image/png" in o.get("data", {})] == ["display_data"]
    assert len(IMG_PNG.findall((build / "report" / "plots.html").read_text())) == 1
    index = (build / "report" / "index.html").read_text()
    assert "<th>figures</th>" in index
    assert "<td>1 (at least 1)</td>" in index
    assert "1: expected at least 3" in index and "too few figures" in index


def test_faults_are_recorded_and_the_run_goes_on(tmp_path: Path, capsys) -> None:
    slow = write_notebook(
        tmp_path / "a_slow.ipynb", "print('before the sleep')", "import time\ntime.sleep(60)", "print('never')"
    )
    dead = write_notebook(tmp_path / "b_dead.ipynb", "print('still alive')", "import os\nos._exit(3)")
    (tmp_path / "c_garbage.ipynb").write_text("{this is not json")
    (tmp_path / "d_empty.ipynb").write_text("")
    (tmp_path / "e_folder.ipynb").mkdir()
    good = write_notebook(tmp_path / "f_good.ipynb", "print(6 * 7)")
    build = tmp_path / "build"
    names = [slow, dead, "c_garbage.ipynb", "d_empty.ipynb", "e_folder.ipynb", good]
    assert main(["run", *[str(tmp_path / n) for n in names], "--output", str(build), "--timeout", "3"]) == 1
    printed = capsys.readouterr().out
    assert "[1/6] a_slow.ipynb: FAILED (timed out: cell 3 of 4 ran longer than 3 s)" in printed
    assert "[2/6] b_dead.ipynb: FAILED (kernel died: in cell 3 of 3 (exit code 3))" in printed
    assert "[3/6] c_garbage.ipynb: FAILED (not a notebook: " in printed and "cannot be read as a notebook" in printed
    assert "[4/6] d_empty.ipynb: FAILED (not a notebook: " in printed
    assert "[5/6] e_folder.ipynb: FAILED (not a notebook: " in printed and "is a folder" in printed
    assert "[6/6] f_good.ipynb: ok" in printed
    assert "Executed 6 notebooks" in printed and "1 ok, 5 failed" in printed
    # what ran is kept: the partially executed notebooks and their pages
    partial = nbformat.read(build / "notebooks" / "a_slow.ipynb", as_version=4)
    assert partial.cells[1].outputs[0]["text"] == "before the sleep\n"
    assert not partial.cells[3].outputs
    died = nbformat.read(build / "notebooks" / "b_dead.ipynb", as_version=4)
    assert died.cells[1].outputs[0]["text"] == "still alive\n"
    assert "before the sleep" in (build / "report" / "a_slow.html").read_text()
    assert "still alive" in (build / "report" / "b_dead.html").read_text()
    assert "42" in (build / "report" / "f_good.html").read_text()
    index = (build / "report" / "index.html").read_text()
    assert "timed out: cell 3 of 4" in index and "kernel died" in index
    assert index.count("not a notebook: ") == 3
    assert "href='f_good.html'" in index and "1 ok, 5 failed" in index


def test_parameters_are_injected_after_the_parameters_cell(tmp_path: Path, capsys) -> None:
    notebook = write_notebook(
        tmp_path / "p.ipynb", "assert X == 5, f'X is {X!r}'\nprint(repr(LABEL))", parameters="X = 1\nLABEL = 'default'"
    )
    build = tmp_path / "build"
    assert main(["run", str(notebook), "--output", str(build), "-p", "X", "5", "-p", "LABEL", "tight cuts"]) == 0
    executed = nbformat.read(build / "notebooks" / "p.ipynb", as_version=4)
    assert executed.cells[1].metadata["tags"] == ["injected-parameters"]
    assert executed.cells[1].source == "# Parameters\nX = 5\nLABEL = 'tight cuts'\n"
    assert executed.cells[2].outputs[0]["text"] == "'tight cuts'\n"
    assert main(["run", str(notebook), "--output", str(build)]) == 1
    assert "AssertionError: X is 1" in capsys.readouterr().out


def test_bad_parameters_and_outputs_are_refused_before_anything_runs(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "ran"
    notebook = write_notebook(tmp_path / "n.ipynb", f"open({str(marker)!r}, 'w').close()", parameters="X = 1")
    assert main(["run", str(notebook), "--output", str(tmp_path / "b"), "-p", "Y", "2"]) == 2
    assert "['Y'] not set in the parameters cell; it sets ['FAST', 'X']" in capsys.readouterr().err
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["run", str(notebook), "--output", str(afile)]) == 2
    assert f"{afile} is a file, not a folder: choose another --output" in capsys.readouterr().err
    assert not marker.exists()
    for timeout in ("0", "-1", "abc"):
        with pytest.raises(SystemExit) as exit_:
            main(["run", str(notebook), "--timeout", timeout])
        assert exit_.value.code == 2
        assert "--timeout: " in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("S = 1\nA: int = S + 1", {"A": {"S"}}),
        ("S = 1\nA, B = S, 3", {"A": {"S"}, "B": set()}),  # tuples pair up
        ("S = 1\nA, B = divmod(S, 2)", {"A": {"S"}, "B": {"S"}}),
        ("S = 1\nA = S\nA = 3", {"A": set()}),  # a new value replaces the old one
        ("S = 1\nA = S\nA = A + 1", {"A": {"S"}}),  # unless it reads it
        ("S = 1\nN = 10\nN *= S", {"N": {"S"}}),
        ("S = 1\nK = 2\nD = {}\nD[K] = S", {"D": {"K", "S"}, "K": set()}),
        ("S = 1\nF = lambda x: x * S", {"F": set()}),  # read when called, after any injection
        ("S = 1\nL = [S for S in range(3)]", {"L": set()}),  # the comprehension's own S
        ("S = 1\nL = [s * S for s in range(3)]", {"L": {"S"}}),
        ("S = 1\nif S:\n    A = S", {}),  # top level only
        ("S = 1\nA = S\nB = A\nA = 3", {"A": set(), "B": {"A", "S"}}),  # B keeps what A read
    ],
)
def test_derived_parameters(source: str, expected: dict[str, set[str]]) -> None:
    assert _derived_parameters(source) == {"S": set(), **expected}


def test_a_parameter_others_are_computed_from_is_injected_only_with_them(tmp_path: Path, capsys) -> None:
    # RUN_DIR would keep SEED's default: a run with another seed would read the default seed's trainings
    parameters = "SEED = 3\nTHREADS = 1\nRUN_DIR = f'seed{SEED}-' + ('fast' if FAST else 'full')\nLABEL = 'x'"
    notebook = write_notebook(tmp_path / "d.ipynb", "print(RUN_DIR)", parameters=parameters)
    build = tmp_path / "build"
    assert main(["run", str(notebook), "--output", str(build), "-p", "SEED", "4"]) == 2
    err = capsys.readouterr().err
    assert "['RUN_DIR'] computed from SEED in the parameters cell would keep the value of the default SEED" in err
    assert "set RUN_DIR too" in err
    assert main(["run", str(notebook), "--output", str(build), "-p", "FAST", "True"]) == 2
    assert "FAST follows HEPNB_FAST: run in fast mode instead" in capsys.readouterr().err
    assert main(["run", str(notebook), "--output", str(build), "-p", "SEED", "4", "-p", "RUN_DIR", "seed4"]) == 0
    executed = nbformat.read(build / "notebooks" / "d.ipynb", as_version=4)
    assert executed.cells[2].outputs[0]["text"] == "seed4\n"
    effect = write_notebook(tmp_path / "e.ipynb", "1", parameters="import os\nN = 1\nos.environ['N'] = str(N)")
    assert main(["run", str(effect), "--output", str(build), "-p", "N", "2"]) == 2
    assert (
        "changes ['os'] with N, which an injected value cannot redo: move that statement after"
        in capsys.readouterr().err
    )
    for free in ("THREADS", "LABEL"):  # read by no other parameter
        assert main(["run", str(notebook), "--output", str(build), "-p", free, "2"]) == 0


def test_run_of_missing_notebook_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "nope.ipynb"), "--output", str(tmp_path)]) == 2
    assert "notebooks not found" in capsys.readouterr().err


def test_kernel_environment_draws_inline_and_leaves_the_caller_alone(monkeypatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("HEPNB_FAST", raising=False)
    env = kernel_environment(fast=True)
    assert env["MPLBACKEND"] == INLINE_BACKEND and env["HEPNB_FAST"] == "1"
    assert "HEPNB_FAST" not in kernel_environment(fast=False)
    assert os.environ["MPLBACKEND"] == "Agg" and "HEPNB_FAST" not in os.environ


def test_parameter_values_are_read_as_papermill_does() -> None:
    assert parse_parameter("5") == 5 and parse_parameter("2.5e3") == 2500.0
    assert parse_parameter("True") is True and parse_parameter("None") is None
    assert parse_parameter("[1, 2]") == [1, 2] and parse_parameter("'a b'") == "a b"
    assert parse_parameter("tight cuts") == "tight cuts" and parse_parameter("os.system('x')") == "os.system('x')"


def test_a_stalled_cell_is_stopped_and_the_notebook_run_once_more(tmp_path: Path, capsys) -> None:
    # A sleeping cell looks to the watch like a lost reply: a cell in flight, a kernel using no CPU. The marker file
    # counts the attempts: the first sleeps (and stalls), the second finds the marker and finishes.
    marker = tmp_path / "attempts.txt"
    notebook = write_notebook(
        tmp_path / "stall.ipynb",
        f"import pathlib, time\nmarker = pathlib.Path({str(marker)!r})\n"
        "attempt = len(marker.read_text()) + 1 if marker.exists() else 1\nmarker.write_text('x' * attempt)\n"
        "if attempt == 1:\n    time.sleep(60)\nprint(f'attempt {attempt}')",
    )
    build = tmp_path / "build"
    assert main(["run", str(notebook), "--output", str(build), "--stall-timeout", "4", "--timeout", "50"]) == 0
    printed = capsys.readouterr().out
    assert "[1/1] stall.ipynb: no reply in cell 2 of 2 while the kernel stayed idle for 4 s" in printed
    assert "running it again from the start" in printed and "[1/1] stall.ipynb: ok" in printed
    assert marker.read_text() == "xx"
    executed = nbformat.read(build / "notebooks" / "stall.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "attempt 2\n"


def test_a_notebook_that_stalls_twice_is_recorded_as_stalled(tmp_path: Path, capsys) -> None:
    notebook = write_notebook(tmp_path / "sleepy.ipynb", "import time\ntime.sleep(60)")
    build = tmp_path / "build"
    assert main(["run", str(notebook), "--output", str(build), "--stall-timeout", "3", "--timeout", "50"]) == 1
    printed = capsys.readouterr().out
    assert printed.count("running it again from the start") == 1
    assert "[1/1] sleepy.ipynb: FAILED (stalled: no reply in cell 2 of 2" in printed
    assert "stalled: no reply" in (build / "report" / "index.html").read_text()


def test_report_gives_each_notebooks_wall_time_and_peak_kernel_memory(tmp_path: Path, capsys) -> None:
    # a kernel that holds 400 MiB for 2 s: the report's row must show at least that memory and that time
    hog = write_notebook(
        tmp_path / "hog.ipynb",
        "import time\nimport numpy as np\nblock = np.ones(400 * 2**20 // 8)\ntime.sleep(2.0)\nprint(block.sum() > 0)",
    )
    light = write_notebook(tmp_path / "light.ipynb", "print(6 * 7)")
    build = tmp_path / "build"
    assert main(["run", str(hog), str(light), "--output", str(build), "--fast"]) == 0
    index = (build / "report" / "index.html").read_text()
    assert "<th>time [s]</th><th>peak kernel memory [GiB]</th>" in index
    rows = {
        name: (float(seconds), float(memory))
        for name, seconds, memory in re.findall(
            r"href='(\w+)\.html'>[^<]*</a></td><td>([\d.]+)</td><td>([\d.]+)", index
        )
    }
    assert set(rows) == {"hog", "light"}, index
    assert rows["hog"][0] >= 2 and rows["hog"][1] >= 400 / 1024, rows
    assert rows["light"][1] < rows["hog"][1] - 300 / 1024, rows  # each notebook's own kernel, not a running maximum
    assert "hog.ipynb: ok" in capsys.readouterr().out
