"""The notebooks as a user meets them: JupyterLab in a real (headless) Chromium, driven with the mouse.

`make test-browser` runs this module (and `make test` runs `make test-browser`). It needs Debian's Chromium at
``/usr/bin/chromium`` (the make target installs it with apt) and Playwright's Python package (a dev extra);
Playwright's own browser download is not used.

For every notebook of ``WIDGETS`` the test opens JupyterLab on a free loopback port behind a random token, runs
all cells from the Run menu with ``HEPNB_FAST=1`` and checks:

- no cell errored and every code cell ran (the kernel is idle, every prompt has its execution count);
- the widget rendered (its slider is visible);
- it shows the value a headless run leaves it at (the automatic epoch, or where the notebook's code moved it);
- dragging the slider's handle with the mouse changes what the table says must change (the plot images);
- for an epoch picker, "Save choice" writes the slider's epoch to the manifest.

The notebooks are copied into a temporary folder (with ``data`` linked), so the kernels write their archives and
manifests under ``tmp/build`` and never modify the repository's notebooks. Screenshots go to
``build/screenshots/``. JupyterLab runs in its own process group: it is stopped by its PID (and its kernels by
theirs) at the end, also when a test fails, and the test checks that the port is free again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "screenshots"
# keep Chromium off the network (no downloads, no sync); the profile is a fresh folder per run
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
REDRAW_TIMEOUT_S = 120  # one epoch of the calorimeter picker generates ~44k showers before it redraws
# JupyterLab settings of the test's own user-settings folder: render every cell (no windowing, so the widgets
# and images of cells out of view are in the page) and no news or update pop-ups over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


# ------------------------------------------------------------------------------------------ what must change
def tour_default(workdir: Path, page: Page) -> int:
    """The tour's picker default in a headless run: the automatic rule on the archive the run trained."""
    from hepnb.training import EpochArchive
    from hepnb.widgets import EpochPicker

    parameters = _parameters(workdir / "notebooks" / "00_tour.ipynb")
    run_dir = workdir / "build" / "tour" / f"fast-seed{parameters['SEED']}-threads{parameters['THREADS']}"
    return EpochPicker(EpochArchive(run_dir / "archive"), weights=parameters["WEIGHTS"]).automatic().epoch


def calo_default(workdir: Path, page: Page) -> int:
    """The calorimeter notebook's double-critic picker default: the rule's choice among the checkpoints that pass the
    physical check, which the notebook prints below the pickers."""
    printed = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="epoch_double = choice_double"))
    found = re.search(r"GAN, double critic: epoch (\d+)", printed.locator(".jp-OutputArea").inner_text())
    assert found, "notebook 01 did not print the double critic's chosen epoch"
    return int(found.group(1))


def mu_default(workdir: Path, page: Page) -> float:
    """Notebook 02 builds its MuSlider at mu = 1, then its next cell moves it to mu* by code (for headless runs;
    the "go to mu*" button rounds mu* to the slider's step): the slider ends at the mu* that cell prints."""
    printed = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="slider.update(slider.mu_star)"))
    found = re.search(r"; mu\* = ([0-9.]+)", printed.locator(".jp-OutputArea").inner_text())
    assert found, "notebook 02 did not print the slider's summary after moving it to mu*"
    return float(found.group(1))


def scan_default(workdir: Path, page: Page) -> float:
    """Notebook 03's ScanExplorer starts at the smallest precomputed true mu; its next cell moves it by code (for
    headless runs) to the precomputed true mu nearest the value it asks for."""
    path = workdir / "notebooks" / "03_likelihood_free_inference.ipynb"
    asked = float(re.search(r"explorer\.update\(([0-9.]+)", _cell_source(path, "explorer.update(")).group(1))
    return min(_parameters(path)["MU_SLIDER"], key=lambda mu: abs(mu - asked))


def lambda_default(workdir: Path, page: Page) -> float:
    """Notebook 04's LambdaExplorer starts in the middle of the aspiration network's lambda grid."""
    grid = sorted(
        _parameters(workdir / "notebooks" / "04_aspiration_decorrelation.ipynb")["OFFSHELL_LAMBDAS"]["aspiration"]
    )
    return grid[len(grid) // 2]


def jets_default(workdir: Path, page: Page) -> int:
    """Notebook 05's first picker (top jets, SetGAN): the automatic rule on the shipped archive."""
    from hepnb.training import EpochArchive
    from hepnb.widgets import EpochPicker

    parameters = _parameters(workdir / "notebooks" / "05_jet_generation.ipynb")
    archive = workdir / "notebooks" / parameters["ARCHIVES"]["top"]["SetGAN"]
    return EpochPicker(EpochArchive(archive), weights=parameters["WEIGHTS"]).automatic().epoch


@dataclass(frozen=True)
class Widget:
    """A slider of a notebook and what moving it must change."""

    notebook: str
    widget: str
    cell: str  # text of the code cell that displays the widget
    slider: str | None  # the slider's description label (None: the cell's only slider)
    must_change: str  # what a user sees change (documentation; the images are compared)
    default: Callable[[Path, Page], float]  # the value a headless run leaves the slider at
    manifest: Callable[[Path], Path] | None = None  # where "Save choice" writes (epoch pickers only)
    run_all_s: float = 300  # limit of Run All in fast mode (measured on 2 shared cores, with margin)


WIDGETS = [
    Widget(
        "00_tour.ipynb",
        "EpochPicker epoch slider",
        "picker = EpochPicker(",
        "Epoch",
        "the Z lineshape comparison (GAN at the epoch vs reference, ratio panel), the metric curves' epoch "
        "line, the metric table and the dropdown",
        tour_default,
        lambda w: w / "build" / "tour" / "fast-seed12-threads1" / "choice.json",
        300,
    ),
    Widget(
        "01_calorimeter_gan.ipynb",
        "EpochPicker epoch slider (double critic)",
        "picker_double = EpochPicker(",
        "Epoch",
        "the 65.5 GeV total-energy comparison and the p/e alignment comparisons of the epoch's showers, "
        "the metric curves' epoch line, the metric table and the dropdown",
        calo_default,
        lambda w: w / "build" / "01_calorimeter_gan" / "choice_double.json",
        1200,
    ),
    Widget(
        "02_interference_metrics.ipynb",
        "MuSlider mu slider",
        "slider = plots.MuSlider(",
        None,
        "N(mu) and its components, the rate partner mu', the N(mu) parabola's marker and the summary line",
        mu_default,
        None,
        600,
    ),
    Widget(
        "03_likelihood_free_inference.ipynb",
        "ScanExplorer true-mu slider",
        "explorer = lplots.ScanExplorer(",
        None,
        "the p-value curves of every method at the new true mu and the 95% intervals printed below",
        scan_default,
        None,
        900,
    ),
    Widget(
        "04_aspiration_decorrelation.ipynb",
        "LambdaExplorer lambda slider",
        "explorer = plots.LambdaExplorer(",
        None,
        "the aspiration network's score cuts against m4l at the new lambda and its marked point in the R50 against "
        "1/JSD50 plane",
        lambda_default,
        None,
        900,
    ),
    Widget(
        "05_jet_generation.ipynb",
        "EpochPicker epoch slider (top jets, SetGAN)",
        "pickers = {(cls, name): EpochPicker(",
        "Epoch",
        "the jet mass, multiplicity and pT_rel comparisons of the epoch's jets with the validation (held-out) "
        "jets, the metric curves' epoch line, the metric table and the dropdown",
        jets_default,
        lambda w: w / "build" / "05_jet_generation" / "choice_top_setgan_top.json",
        600,
    ),
]


# ------------------------------------------------------------------------------------------ helpers
def _cell_source(path: Path, marker: str) -> str:
    cells = [c["source"] for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    sources = ["".join(s) if isinstance(s, list) else s for s in cells]
    found = [s for s in sources if marker in s]
    assert len(found) == 1, f"{path.name}: expected one code cell with {marker!r}, found {len(found)}"
    return found[0]


def _parameters(path: Path) -> dict:
    """The parameters cell of a notebook, executed in fast mode (it only sets plain values)."""
    nb = json.loads(path.read_text())
    source = next("".join(c["source"]) for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    namespace: dict = {}
    exec(compile(source.replace('os.environ.get("HEPNB_FAST") == "1"', "True"), str(path), "exec"), namespace)
    return namespace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections in TIME_WAIT do not count
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _stop(process: subprocess.Popen) -> None:
    """Stop JupyterLab (its process group) and its kernels (their own sessions), by PID."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    for child in children:  # kernels run in their own sessions: end any the server left behind
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(children, timeout=10)


@dataclass
class Lab:
    url: str
    token: str
    port: int
    workdir: Path
    log: Path
    process: subprocess.Popen


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a copy of the notebooks, 127.0.0.1:<free port>, random token; stopped by PID afterwards."""
    workdir = tmp_path_factory.mktemp("lab")
    (workdir / "notebooks").mkdir()
    for widget in WIDGETS:
        shutil.copy(ROOT / "notebooks" / widget.notebook, workdir / "notebooks" / widget.notebook)
    (workdir / "data").symlink_to(ROOT / "data", target_is_directory=True)  # read-only inputs (shipped archives)
    (workdir / "build").mkdir()
    settings = workdir / "lab" / "user-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))

    token, port = secrets.token_hex(24), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "JUPYTER_TOKEN")}
    env.update(
        HEPNB_FAST="1",
        JUPYTER_TOKEN=token,
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        JUPYTER_CONFIG_DIR=str(workdir / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        IPYTHONDIR=str(workdir / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--no-browser",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={workdir / 'notebooks'}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workdir / 'lab' / 'workspaces'}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = workdir / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() >= deadline:
                pytest.fail(f"JupyterLab did not answer in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Lab(url, token, port, workdir, log, process)
    finally:
        _stop(process)
        assert process.poll() is not None
        assert _port_is_free(port), f"port {port} is still taken after JupyterLab was stopped"


@pytest.fixture(scope="module")
def browser(lab: Lab):
    """Headless Debian Chromium through Playwright, fresh profile, off the network."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make test-browser` (it installs Debian's chromium)"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(lab.workdir / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1500, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _api(lab: Lab, method: str, path: str, body: dict | None = None):
    """Call JupyterLab's REST API (with the token)."""
    request = urllib.request.Request(
        f"{lab.url}/api/{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        text = reply.read()
    return json.loads(text) if text else None


def _shot(page, target, name: str) -> str:
    """Screenshot of ``target`` (a locator, or the page) under build/screenshots/, the viewport grown to hold it:
    JupyterLab scrolls the notebook inside the page, so a cell taller than the window would be cut."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    box = target.bounding_box() if target is not page else None
    if box is not None and box["height"] + 250 > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(int(box["height"]) + 250, 12_000)})
    try:
        if target is not page:
            target.scroll_into_view_if_needed()
        # the resized page lays the cells out again: wait until every image is decoded and painted
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        page.wait_for_timeout(300)
        target.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path.name


def _images(locator) -> list[str]:
    """sha256 of every inline image under ``locator``, in page order."""
    sources = locator.locator("img").evaluate_all("els => els.map(e => e.getAttribute('src') || '')")
    return [
        hashlib.sha256(base64.b64decode(s.split(",", 1)[1]) if s.startswith("data:") else s.encode()).hexdigest()[:12]
        for s in sources
    ]


JS_STATE = """() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent.trim());
  const errors = [...nb.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(e => e.textContent).filter(t => /Traceback|Error\\b/.test(t));
  const indicator = nb.querySelector('.jp-Notebook-ExecutionIndicator');
  return {prompts, errors, status: indicator ? indicator.getAttribute('data-status') : null};
}"""


def _wait_for_kernel(page, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = page.evaluate(JS_STATE)
        if state["status"] == "idle":
            return state
        if time.monotonic() >= deadline:
            pytest.fail(f"the kernel did not become idle in {timeout_s:.0f} s: {state}")
        page.wait_for_timeout(500)


def _run_all(page, timeout_s: float) -> dict:
    """Run > Run All Cells, then wait until no cell is queued and the kernel is idle."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    deadline, started = time.monotonic() + timeout_s, time.monotonic()
    while True:
        state = page.evaluate(JS_STATE)
        busy = any("*" in p for p in state["prompts"])
        if state["errors"] or (not busy and state["status"] == "idle" and time.monotonic() - started > 2):
            return state
        if time.monotonic() >= deadline:
            pytest.fail(
                f"Run All did not finish in {timeout_s:.0f} s; prompts {state['prompts']}, kernel {state['status']}"
            )
        page.wait_for_timeout(1000)


def _drag(page, slider, fraction: float) -> None:
    """Press the slider's handle, move it to ``fraction`` of the track, release (a real mouse drag)."""
    handle, track = slider.locator(".noUi-handle").first, slider.locator(".noUi-target").first
    handle.scroll_into_view_if_needed()
    box, bar = handle.bounding_box(), track.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(bar["x"] + fraction * bar["width"], box["y"] + box["height"] / 2, steps=12)
    page.mouse.up()


def _wait_for_change(page, what: Callable[[], object], before: object, timeout_s: float, message: str) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        now = what()
        if now != before:
            return now
        if time.monotonic() >= deadline:
            pytest.fail(message)
        page.wait_for_timeout(500)


# ------------------------------------------------------------------------------------------ the tests
def _slider_markers() -> tuple[str, ...]:
    """Code that shows a slider: a SliderWidget subclass of hepnb, or an ipywidgets slider or interact."""
    import hepnb.decorrelation.plots
    import hepnb.lfi.plots
    import hepnb.offshell.plots
    import hepnb.widgets.epoch_picker  # noqa: F401  (the modules that define the subclasses)
    from hepnb.widgets import SliderWidget

    names = {cls.__name__ for cls in SliderWidget.__subclasses__()}
    return (*(f"{name}(" for name in names), "Slider(", "interact(", "interactive(")


def test_every_notebook_with_a_slider_is_in_the_table() -> None:
    """A new notebook's slider is dragged here too: the table lists every notebook whose code shows one."""
    with_slider = {
        path.name
        for path in (ROOT / "notebooks").glob("*.ipynb")
        if any(marker in _cell_source_all(path) for marker in _slider_markers())
    }
    assert with_slider == {w.notebook for w in WIDGETS}, f"notebooks with a slider: {sorted(with_slider)}"


def _cell_source_all(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: w.notebook.split("_")[0])
def test_widget_in_jupyterlab(widget: Widget, lab: Lab, browser) -> None:
    stem = Path(widget.notebook).stem
    page = browser.new_page()
    page.set_default_timeout(60_000)
    try:
        # the notebook's session (kernel python3) is made first, as if it had been opened before: JupyterLab then
        # connects to it instead of asking which kernel to start
        _api(
            lab,
            "POST",
            "sessions",
            {"path": widget.notebook, "type": "notebook", "name": widget.notebook, "kernel": {"name": "python3"}},
        )
        # a workspace of its own per notebook: JupyterLab would otherwise reopen the notebooks of earlier tests
        page.goto(f"{lab.url}/lab/workspaces/{stem}/tree/{widget.notebook}?reset&token={lab.token}")
        page.locator(".jp-NotebookPanel .jp-Notebook").wait_for()
        assert page.locator(".jp-NotebookPanel").count() == 1, f"{widget.notebook}: other notebooks are open too"
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        _wait_for_kernel(page, 120)

        # 1. Run > Run All Cells: every cell runs, none errors
        started = time.monotonic()
        state = _run_all(page, widget.run_all_s)
        print(f"{widget.notebook}: Run All took {time.monotonic() - started:.0f} s", flush=True)
        assert not state["errors"], f"{widget.notebook}: a cell raised:\n" + "\n".join(state["errors"])[-4000:]
        not_run = [i for i, p in enumerate(state["prompts"]) if not re.fullmatch(r"\[\d+\]:", p)]
        assert not not_run, f"{widget.notebook}: code cells {not_run} did not run: {state['prompts']}"

        # 2. the widget rendered
        cell = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text=widget.cell))
        assert cell.count() == 1, f"{widget.notebook}: no single cell shows {widget.cell!r}"
        view = cell.locator(".jp-OutputArea-output .jupyter-widgets").first
        view.wait_for(state="visible")
        if widget.slider is None:
            slider = cell.locator(".widget-slider")
        else:
            slider = cell.locator(".widget-slider", has=page.locator(".widget-label", has_text=widget.slider))
        slider.first.wait_for(state="visible")
        assert slider.count() == 1, f"{widget.notebook}: {slider.count()} sliders match the {widget.widget}"
        readout = slider.locator(".widget-readout")
        _shot(page, cell, f"{stem}-widget-before")

        # 3. its default is the headless run's
        default = widget.default(lab.workdir, page)
        shown = readout.inner_text().strip()
        # the readouts print 2 decimals, notebook 02 prints mu* with 3 significant digits
        assert float(shown) == pytest.approx(default, abs=0.006 if abs(default) < 10 else 0.06), (
            f"{widget.notebook}: the {widget.widget} starts at {shown}, the headless run's default is {default}"
        )

        # 4. a mouse drag changes the plots
        images = _images(cell)
        assert images, f"{widget.notebook}: the {widget.widget} shows no plot"
        box = slider.locator(".noUi-handle").first.bounding_box()
        bar = slider.locator(".noUi-target").first.bounding_box()
        fraction = 0.15 if box["x"] - bar["x"] > bar["width"] / 2 else 0.85
        _drag(page, slider, fraction)
        moved = readout.inner_text().strip()
        assert moved != shown, f"{widget.notebook}: dragging the {widget.widget} did not move it (still {shown})"
        after = _wait_for_change(
            page,
            lambda: _images(cell),
            images,
            REDRAW_TIMEOUT_S,
            f"{widget.notebook}: moving the {widget.widget} from {shown} to {moved} did not change the plots "
            f"(it must change: {widget.must_change})",
        )
        # all images redrawn: wait until their number is back and none is left as it was
        _wait_for_change(
            page,
            lambda: len(_images(cell)) >= len(images) and not set(_images(cell)) & set(images),
            False,
            REDRAW_TIMEOUT_S,
            f"{widget.notebook}: after moving the {widget.widget} to {moved} some plots are not "
            f"redrawn: before {images}, after {_images(cell)}",
        )
        page.wait_for_timeout(500)
        state = page.evaluate(JS_STATE)
        assert not state["errors"], f"{widget.notebook}: moving the slider raised:\n" + "\n".join(state["errors"])
        _shot(page, cell, f"{stem}-widget-after")
        print(f"{widget.notebook}: {widget.widget} {shown} -> {moved}, images {images} -> {after}", flush=True)

        # 5. "Save choice" writes the manifest with the slider's epoch
        if widget.manifest is not None:
            manifest = widget.manifest(lab.workdir)
            old = manifest.read_bytes() if manifest.exists() else b""
            cell.locator("button", has_text="Save choice").click()
            _wait_for_change(
                page,
                lambda: manifest.read_bytes() if manifest.exists() else b"",
                old,
                30,
                f"{widget.notebook}: clicking 'Save choice' did not write {manifest}",
            )
            saved = json.loads(manifest.read_text())
            assert saved["epoch"] == int(moved), f"{manifest} holds epoch {saved['epoch']}, the slider shows {moved}"
            assert saved["rule"] == "manual"
            # the label follows the file: the kernel writes the manifest, then sends the widget's update
            label = cell.locator(".widget-html", has_text=f"Saved epoch {moved}")
            label.wait_for(timeout=30_000)
            assert label.count() == 1

        # the notebook's figures as a user sees them (layout of titles, labels and legends)
        for i, figure_cell in enumerate(page.locator(".jp-CodeCell", has=page.locator(".jp-RenderedImage")).all()):
            _shot(page, figure_cell, f"{stem}-figure{i:02d}")
    except BaseException:
        with contextlib.suppress(Exception):  # the failure itself is what the test reports
            _shot(page, page, f"{stem}-failure")
        raise
    finally:
        page.close()
        for session in _api(lab, "GET", "sessions"):  # free the kernel's memory before the next notebook
            _api(lab, "DELETE", f"sessions/{session['id']}")
