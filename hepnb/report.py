"""Execute notebooks headless and write them, with an HTML report, under a build folder.

Each notebook runs in a fresh kernel (nbclient, widget state stored so sliders and plots show in the HTML) whose
environment is built here, not inherited blindly: matplotlib draws with the inline backend (so figures become
``image/png`` outputs even when the caller exports ``MPLBACKEND=Agg``) and ``--fast`` sets ``HEPNB_FAST=1``.
The kernel's peak resident memory is sampled while it runs, because every notebook has to fit in Binder's
2 GiB. A failing notebook (an exception, a cell over the timeout, a dead kernel, a file that is no notebook) is
recorded and the run goes on with the next one; what it executed is saved.

A notebook may declare the fewest figures it must produce in its metadata, ``{"hepnb": {"min_figures": N}}``;
an executed copy with fewer image outputs counts as a failure.
"""

from __future__ import annotations

import contextlib
import copy
import html
import os
import re
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import psutil
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from hepnb._polling_client import PollingNotebookClient
from hepnb.errors import InputError
from hepnb.io import atomic_write
from hepnb.notebook_parameters import inject_parameters

__all__ = [
    "NotebookRun",
    "count_figures",
    "kernel_environment",
    "read_notebook",
    "run_notebooks",
    "write_report",
]

MEMORY_BUDGET_GIB = 2.0
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SKIP_TAG = "skip-execution"  # nbclient's default ``skip_cells_with_tag``
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class NotebookRun:
    """What happened when one notebook was executed.

    ``status`` is ``"ok"``, ``"failed"`` (a cell raised), ``"timed out"``, ``"kernel died"`` or
    ``"not a notebook"``; ``error`` says more for every status but ``"ok"``. ``figures`` counts the image outputs
    of the executed cells (what the HTML page shows), ``widget_figures`` those stored in widget outputs.
    """

    name: str
    seconds: float
    peak_rss_gib: float
    status: str
    error: str | None
    executed: Path | None
    html: Path | None
    figures: int = 0
    widget_figures: int = 0
    min_figures: int | None = None

    @property
    def missing_figures(self) -> bool:
        """Whether the executed notebook holds fewer figures than its metadata asks for."""
        return self.min_figures is not None and self.figures < self.min_figures

    @property
    def ok(self) -> bool:
        return self.status == "ok" and not self.missing_figures

    def describe(self) -> str:
        """One line: the status and, when something is wrong, what."""
        if self.status != "ok":
            return f"{self.status}: {self.error}"
        if self.missing_figures:
            return f"too few figures: {self.figures}, expected at least {self.min_figures}"
        return "ok"


class _KernelWatch:
    """Watch the kernel process from a thread: its peak resident memory (with its children's), its exit code,
    and stalls.

    A stall is a cell in flight while the kernel and its children use (almost) no CPU for ``stall_seconds``: the
    kernel has finished or never received the request, and the client waits for a reply that will not come
    (seen with cells that display ipywidgets, jupyter/nbclient#312). The watch then kills the kernel, so that the
    client stops waiting with a DeadKernelError and the notebook can be run again.
    """

    def __init__(self, client: PollingNotebookClient, *, stall_seconds: float, interval: float = 0.2) -> None:
        self.client, self.interval, self.stall_seconds = client, interval, stall_seconds
        self.peak_bytes = 0
        self.process: subprocess.Popen[Any] | None = None
        self.cell_in_flight = False
        self.stalled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _usage(kernel: psutil.Process) -> tuple[int, float]:
        """Resident bytes and CPU seconds of the kernel and its children (finished children included)."""
        rss, times = kernel.memory_info().rss, kernel.cpu_times()
        cpu = times.user + times.system + times.children_user + times.children_system
        for child in kernel.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                rss += child.memory_info().rss
                child_times = child.cpu_times()
                cpu += child_times.user + child_times.system
        return rss, cpu

    def _sample(self) -> None:
        last_cpu, quiet_since = -1.0, time.monotonic()
        while not self._stop.is_set():
            process = getattr(getattr(self.client.km, "provisioner", None), "process", None)
            if process is not None:
                self.process = process
                try:
                    rss, cpu = self._usage(psutil.Process(process.pid))
                except psutil.Error:
                    pass
                else:
                    self.peak_bytes = max(self.peak_bytes, rss)
                    now = time.monotonic()
                    # busy: more than 1% of a core since the kernel was last seen busy
                    if not self.cell_in_flight or cpu - last_cpu > 0.01 * (now - quiet_since) or last_cpu < 0:
                        last_cpu, quiet_since = cpu, now
                    elif now - quiet_since > self.stall_seconds:
                        self.stalled = True
                        with contextlib.suppress(OSError):
                            process.kill()
            self._stop.wait(self.interval)

    def __enter__(self) -> _KernelWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def exit_description(self) -> str:
        """How the kernel process ended, e.g. ``"exit code 3"`` or ``"killed by signal 9"``, if known."""
        code = self.process.poll() if self.process is not None else None
        if code is None:
            return "exit status unknown"
        if code < 0:
            hint = " (out of memory?)" if code == -9 else ""
            return f"killed by signal {-code}{hint}"
        return f"exit code {code}"


def kernel_environment(fast: bool) -> dict[str, str]:
    """The environment of a notebook kernel: the caller's, with inline figures and ``HEPNB_FAST=1`` if ``fast``.

    ``MPLBACKEND`` is always the inline backend: a caller's ``Agg`` (handy for tests) would leave every
    ``plt.show()`` without output, the executed notebook and the report without figures.
    """
    env = dict(os.environ)
    env["MPLBACKEND"] = INLINE_BACKEND
    if fast:
        env["HEPNB_FAST"] = "1"
    return env


def read_notebook(path: Path) -> NotebookNode:
    """Read the notebook at ``path``; raise InputError saying why when it is not one (a folder, garbage, empty)."""
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the .ipynb files in it")
    try:
        notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except (ValueError, TypeError, AttributeError, KeyError, nbformat.ValidationError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{path} cannot be read as a notebook ({first[:200]})") from None
    if not isinstance(notebook.get("cells"), list):
        raise InputError(f"{path} has no list of cells")
    return notebook


def _min_figures(notebook: NotebookNode, path: Path) -> int | None:
    """The notebook's declared ``hepnb.min_figures``, checked."""
    settings = notebook.metadata.get("hepnb", {})
    if not isinstance(settings, Mapping):
        raise InputError(f'{path}: metadata hepnb must be an object like {{"min_figures": 3}}, got {settings!r}')
    value = settings.get("min_figures")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{path}: metadata hepnb.min_figures must be a whole number >= 0, got {value!r}")
    return value


def _images(outputs: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for o in outputs if any(kind in o.get("data", {}) for kind in IMAGE_TYPES))


def count_figures(notebook: NotebookNode) -> tuple[int, int]:
    """Image outputs of the code cells, and image outputs stored in widget (``ipywidgets.Output``) state."""
    cells = sum(_images(c.get("outputs", [])) for c in notebook.cells if c.cell_type == "code")
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    widgets = sum(
        _images(model.get("state", {}).get("outputs", []))
        for model in state.values()
        if model.get("model_name") == "OutputModel"
    )
    return cells, widgets


def _check_build_folder(build: Path) -> None:
    """Create ``build/notebooks`` and ``build/report`` now, so a bad ``--output`` fails before any notebook runs."""
    for folder in (build, build / "notebooks", build / "report"):
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder} is a file, not a folder: choose another --output")
    for folder in (build / "notebooks", build / "report"):
        folder.mkdir(parents=True, exist_ok=True)


def _execute(
    path: Path,
    notebook: NotebookNode,
    build: Path,
    *,
    timeout: int,
    fast: bool,
    label: str,
    min_figures: int | None,
    stall_seconds: float,
) -> NotebookRun:
    """Execute ``notebook`` (read from ``path``); save what ran, even after a timeout or a dead kernel."""
    code = [
        i
        for i, c in enumerate(notebook.cells)
        if c.cell_type == "code" and c.source.strip() and SKIP_TAG not in c.metadata.get("tags", [])
    ]
    position = {cell_index: k for k, cell_index in enumerate(code, 1)}
    current = [0]
    start = time.perf_counter()

    def cell_started(cell: NotebookNode, cell_index: int) -> None:
        current[0] = position.get(cell_index, 0)
        watch.cell_in_flight = True

    def cell_executed(cell: NotebookNode, cell_index: int, execute_reply: object) -> None:
        watch.cell_in_flight = False
        print(
            f"{label} {path.name}: cell {position.get(cell_index, '?')} of {len(code)}, "
            f"elapsed {time.perf_counter() - start:.0f} s",
            flush=True,
        )

    client = PollingNotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        on_cell_execute=cell_started,
        on_cell_executed=cell_executed,
    )
    status, error = "ok", None
    watch = _KernelWatch(client, stall_seconds=stall_seconds)
    with watch:
        try:
            client.execute(env=kernel_environment(fast))
        except CellExecutionError as err:
            text = ANSI_ESCAPE.sub("", str(err)).strip()
            status, error = "failed", (text.splitlines()[-1] if text else repr(err))
        except CellTimeoutError:
            status, error = "timed out", f"cell {current[0]} of {len(code)} ran longer than {timeout} s"
        except DeadKernelError:
            where = f"in cell {current[0]} of {len(code)}" if current[0] else "before the first cell"
            if watch.stalled:
                status, error = (
                    "stalled",
                    (f"no reply {where} while the kernel stayed idle for {stall_seconds:g} s; the kernel was stopped"),
                )
            else:
                status, error = "kernel died", f"{where} ({watch.exit_description()})"
    seconds = time.perf_counter() - start
    executed = build / "notebooks" / path.name
    with atomic_write(executed, "w") as handle:
        nbformat.write(notebook, handle)
    page = build / "report" / f"{path.stem}.html"
    body, _ = HTMLExporter().from_notebook_node(notebook)
    with atomic_write(page, "w") as handle:
        handle.write(body)
    figures, widget_figures = count_figures(notebook)
    return NotebookRun(
        path.stem,
        seconds,
        watch.peak_bytes / 2**30,
        status,
        error,
        executed,
        page,
        figures,
        widget_figures,
        min_figures,
    )


def _figures_cell(run: NotebookRun) -> str:
    text = f"{run.figures}"
    if run.widget_figures:
        text += f" (+{run.widget_figures} in widgets)"
    if run.missing_figures:
        text = f"<b class='bad'>{text}: expected at least {run.min_figures}</b>"
    elif run.min_figures is not None:
        text += f" (at least {run.min_figures})"
    return text


def write_report(runs: Sequence[NotebookRun], build: Path) -> Path:
    """Write ``build/report/index.html``: each notebook's page, status, time, memory and number of figures."""
    rows = []
    for run in runs:
        name = html.escape(run.name)
        link = f"<a href='{html.escape(run.html.name)}'>{name}</a>" if run.html is not None else name
        status = html.escape(run.describe())
        if not run.ok:
            status = f"<b class='bad'>{status}</b>"
        memory = f"{run.peak_rss_gib:.2f}"
        if run.peak_rss_gib > MEMORY_BUDGET_GIB:
            memory = f"<b class='bad'>{memory} (over the {MEMORY_BUDGET_GIB:g} GiB Binder budget)</b>"
        rows.append(
            f"<tr><td>{link}</td><td>{run.seconds:.0f}</td><td>{memory}</td>"
            f"<td>{_figures_cell(run)}</td><td>{status}</td></tr>"
        )
    total = sum(r.seconds for r in runs)
    failed = sum(not r.ok for r in runs)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>hepnb report</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}"
        ".bad{color:#b00}</style></head><body><h1>hepnb: executed studies</h1>"
        "<table><tr><th>notebook</th><th>time [s]</th><th>peak kernel memory [GiB]</th><th>figures</th>"
        "<th>status</th></tr>"
        + "".join(rows)
        + f"</table><p>Total execution time: {total:.0f} s; {len(runs) - failed} ok, {failed} failed.</p>"
        "</body></html>"
    )
    index = build / "report" / "index.html"
    with atomic_write(index, "w") as handle:
        handle.write(page)
    return index


def run_notebooks(
    notebooks: Sequence[Path],
    build: Path,
    *,
    fast: bool = False,
    timeout: int = 3600,
    parameters: Mapping[str, object] | None = None,
    stall_timeout: float = 600.0,
) -> tuple[list[NotebookRun], Path]:
    """Execute ``notebooks`` one after the other into ``build``, printing progress, and write the report.

    Parameters
    ----------
    notebooks
        Notebook files; one that cannot be read is recorded as ``"not a notebook"`` and the others still run.
    build
        Build folder: executed notebooks go to ``build/notebooks``, HTML pages and ``index.html`` to
        ``build/report``.
    fast
        Run the kernels with ``HEPNB_FAST=1`` (small sizes, every step).
    timeout
        Seconds allowed per cell.
    parameters
        Values injected after every notebook's ``parameters`` cell (see :func:`inject_parameters`).
    stall_timeout
        Seconds a cell may wait for its reply while the kernel uses no CPU; a notebook that stalls so (an
        nbclient hang with widgets, jupyter/nbclient#312) is run once more from the start, in a fresh kernel.

    Usage errors (no notebooks, missing files, a build folder that is a file, unknown parameters) raise
    InputError before any notebook runs.
    """
    if not notebooks:
        raise InputError("no notebook to run: name the notebooks, or run from the folder holding notebooks/")
    missing = [str(p) for p in notebooks if not p.exists()]
    if missing:
        raise InputError(f"notebooks not found: {missing}")
    stems = [p.stem for p in notebooks]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise InputError(f"notebooks named {twice} appear twice; their outputs would overwrite each other")
    _check_build_folder(build)
    prepared: list[tuple[Path, NotebookNode | str, int | None]] = []
    for path in notebooks:
        try:
            notebook = read_notebook(path)
        except InputError as err:
            prepared.append((path, str(err), None))
            continue
        if parameters:
            inject_parameters(notebook, parameters, path.name)
        prepared.append((path, notebook, _min_figures(notebook, path)))

    runs = []
    start = time.perf_counter()
    for i, (path, notebook, min_figures) in enumerate(prepared, 1):
        label = f"[{i}/{len(prepared)}]"
        if isinstance(notebook, str):
            run = NotebookRun(path.stem, 0.0, 0.0, "not a notebook", notebook, None, None)
        else:
            print(f"{label} {path.name} ...", flush=True)
            for attempt in (1, 2):
                run = _execute(
                    path,
                    copy.deepcopy(notebook),
                    build,
                    timeout=timeout,
                    fast=fast,
                    label=label,
                    min_figures=min_figures,
                    stall_seconds=stall_timeout,
                )
                if run.status != "stalled" or attempt == 2:
                    break
                print(f"{label} {path.name}: {run.error}; running it again from the start", flush=True)
        state = "ok" if run.ok else f"FAILED ({run.describe()})"
        print(
            f"{label} {path.name}: {state} in {run.seconds:.0f} s, peak memory {run.peak_rss_gib:.2f} GiB, "
            f"{run.figures} figures",
            flush=True,
        )
        runs.append(run)
    index = write_report(runs, build)
    failed = sum(not r.ok for r in runs)
    width = max(len(r.name) for r in runs)
    print(
        f"Executed {len(runs)} notebooks in {time.perf_counter() - start:.0f} s: {len(runs) - failed} ok, "
        f"{failed} failed; report: {index}",
        flush=True,
    )
    for run in runs:
        print(
            f"  {run.name:<{width}} {run.seconds:6.0f} s {run.peak_rss_gib:6.2f} GiB {run.figures:3d} figures  "
            f"{run.describe()}",
            flush=True,
        )
    return runs, index
