"""Execute notebooks headless and write them, with an HTML report, under a build folder.

Each notebook runs in a fresh kernel (nbclient, widget state stored so sliders and plots show in the HTML);
the kernel's peak resident memory is sampled while it runs, because every notebook has to fit in Binder's 2 GiB.
"""

from __future__ import annotations

import html
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

from hepnb.errors import InputError
from hepnb.io import atomic_write

__all__ = ["NotebookRun", "execute_notebook", "run_notebooks", "write_report"]

MEMORY_BUDGET_GIB = 2.0
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class NotebookRun:
    """What happened when one notebook was executed."""

    name: str
    seconds: float
    peak_rss_gib: float
    error: str | None
    executed: Path
    html: Path

    @property
    def ok(self) -> bool:
        return self.error is None


@contextmanager
def _peak_memory(client: NotebookClient, interval: float = 0.2) -> Iterator[list[float]]:
    """Sample the kernel's resident memory (and its children's) while the block runs; yields [peak bytes]."""
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            provisioner = getattr(client.km, "provisioner", None)
            process = getattr(provisioner, "process", None)
            if process is not None:
                try:
                    kernel = psutil.Process(process.pid)
                    rss = kernel.memory_info().rss + sum(
                        c.memory_info().rss for c in kernel.children(recursive=True)
                    )
                    peak[0] = max(peak[0], rss)
                except psutil.Error:
                    pass
            stop.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def execute_notebook(path: Path, build: Path, *, timeout: int = 3600, fast: bool = False) -> NotebookRun:
    """Execute ``path``; write the executed notebook to ``build/notebooks`` and its HTML to ``build/report``."""
    notebook = nbformat.read(path, as_version=4)
    env_fast = os.environ.get("HEPNB_FAST")
    if fast:
        os.environ["HEPNB_FAST"] = "1"
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    error = None
    start = time.perf_counter()
    try:
        with _peak_memory(client) as peak:
            client.execute()
    except CellExecutionError as err:
        text = ANSI_ESCAPE.sub("", str(err)).strip()
        error = text.splitlines()[-1] if text else repr(err)
    finally:
        if fast:
            if env_fast is None:
                os.environ.pop("HEPNB_FAST", None)
            else:
                os.environ["HEPNB_FAST"] = env_fast
    seconds = time.perf_counter() - start
    executed = build / "notebooks" / path.name
    with atomic_write(executed, "w") as handle:
        nbformat.write(notebook, handle)
    page = build / "report" / f"{path.stem}.html"
    body, _ = HTMLExporter().from_notebook_node(notebook)
    with atomic_write(page, "w") as handle:
        handle.write(body)
    return NotebookRun(path.stem, seconds, peak[0] / 2**30, error, executed, page)


def write_report(runs: Sequence[NotebookRun], build: Path) -> Path:
    """Write ``build/report/index.html`` linking every notebook's page with its time, memory and status."""
    rows = []
    for run in runs:
        status = "ok" if run.ok else f"failed: {html.escape(run.error or '')}"
        memory = f"{run.peak_rss_gib:.2f}"
        if run.peak_rss_gib > MEMORY_BUDGET_GIB:
            memory += f" (over the {MEMORY_BUDGET_GIB:g} GiB Binder budget)"
        rows.append(
            f"<tr><td><a href='{run.html.name}'>{html.escape(run.name)}</a></td>"
            f"<td>{run.seconds:.0f}</td><td>{memory}</td><td>{status}</td></tr>"
        )
    total = sum(r.seconds for r in runs)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>hepnb report</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style></head>"
        "<body><h1>hepnb: executed studies</h1>"
        "<table><tr><th>notebook</th><th>time [s]</th><th>peak kernel memory [GiB]</th><th>status</th></tr>"
        + "".join(rows)
        + f"</table><p>Total execution time: {total:.0f} s.</p></body></html>"
    )
    index = build / "report" / "index.html"
    with atomic_write(index, "w") as handle:
        handle.write(page)
    return index


def run_notebooks(
    notebooks: Sequence[Path], build: Path, *, fast: bool = False, timeout: int = 3600
) -> tuple[list[NotebookRun], Path]:
    """Execute ``notebooks`` one after the other, printing a line per notebook, and write the report."""
    missing = [str(p) for p in notebooks if not p.exists()]
    if missing:
        raise InputError(f"notebooks not found: {missing}")
    if not notebooks:
        raise InputError("no notebook to run")
    runs = []
    start = time.perf_counter()
    for i, path in enumerate(notebooks, 1):
        print(f"[{i}/{len(notebooks)}] {path.name} ...", flush=True)
        run = execute_notebook(path, build, timeout=timeout, fast=fast)
        state = "ok" if run.ok else f"FAILED ({run.error})"
        print(f"[{i}/{len(notebooks)}] {path.name}: {state} in {run.seconds:.0f} s, "
              f"peak memory {run.peak_rss_gib:.2f} GiB", flush=True)
        runs.append(run)
    index = write_report(runs, build)
    print(f"Executed {len(runs)} notebooks in {time.perf_counter() - start:.0f} s; report: {index}", flush=True)
    return runs, index
