"""The spread of every number a notebook asserts, over seeds and torch thread counts, measured side by side.

Run: ``.venv/bin/python benchmarks/notebook_claims.py [NOTEBOOK ...] [--mode fast|full] [--seeds 3]
[--set NAME=VALUE ...]``.

Each notebook's last code cell collects the numbers it asserts in a dict ``claims`` before asserting them. This
script executes the notebook (in a fresh kernel, the way ``hepnb run`` does) once per seed and per thread count
(1 and 2), with the seed injected into the ``parameters`` cell and the thread count set through
``OMP_NUM_THREADS`` (and ``THREADS`` where the notebook has that knob), reads ``claims`` back from the kernel
even when an assertion failed, and prints per claim: every value, the mean, the standard deviation over seeds (within
each thread count, pooled), the largest change of one seed's value with the thread count, and the smallest and
largest value. The assertion margins stated in the notebooks come from these tables.

``--set`` fixes other parameters in every run, e.g. notebook 01's test sample (the notebook refuses a test seed
equal to another sample's, so the 25 and 524 GeV samples move with it)::

    benchmarks/notebook_claims.py notebooks/01_calorimeter_gan.ipynb --threads 1 \
        --set TEST_SEED=102 --set INTERPOLATION_SEED=105 --set EXTRAPOLATION_SEED=106
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

from hepnb._polling_client import PollingNotebookClient
from hepnb.errors import InputError
from hepnb.notebook_parameters import inject_parameters, parse_parameter
from hepnb.report import kernel_environment

# The knob that reseeds each notebook's random steps. Notebook 01 loads trained archives: its training seeds
# are fixed by the archives (section 6 compares them), so the spread there is over latent seeds (GEN_SEED and the
# seeds after it, N_LATENT_SEEDS in all, in section 6) and thread counts only; its test sample moves with --set.
SEED_PARAMETER = {
    "00_tour": "SEED",
    "01_calorimeter_gan": "GEN_SEED",
    "02_interference_metrics": "SEED",
    "03_likelihood_free_inference": "SEED",
    "04_aspiration_decorrelation": "SEED",
    "05_jet_generation": "GEN_SEED",
}
READ_CLAIMS = "import json as _json\nprint(_json.dumps({k: float(v) for k, v in claims.items()}))"


def measure(
    path: Path, seed: int, threads: int, *, fast: bool, timeout: int, fixed: dict[str, object] | None = None
) -> dict[str, float]:
    """Execute ``path`` with ``seed``, ``threads`` and ``fixed``; return its ``claims`` (even if an assert failed)."""
    notebook = nbformat.read(path, as_version=4)
    parameters: dict[str, object] = {**(fixed or {}), SEED_PARAMETER[path.stem]: seed}
    if "THREADS =" in notebook.cells[[c.cell_type for c in notebook.cells].index("code")].source:
        parameters["THREADS"] = threads
    inject_parameters(notebook, parameters, path.name)
    environment = kernel_environment(fast) | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    client = PollingNotebookClient(  # short waits on the shell channel: nbclient issue 312 on widget cells
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent.resolve())}}
    )
    code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    with client.setup_kernel(env=environment):
        for index in code:
            try:
                client.execute_cell(notebook.cells[index], index)
            except CellExecutionError as err:
                if index != code[-1]:  # only the assertion cell may fail: its claims are set before it asserts
                    raise RuntimeError(f"{path.name} (seed {seed}, {threads} threads) failed in cell {index}") from err
        probe = nbformat.v4.new_code_cell(READ_CLAIMS)
        notebook.cells.append(probe)
        client.execute_cell(probe, len(notebook.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
    return json.loads(text.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "notebooks", nargs="*", type=Path, default=[Path("notebooks") / f"{name}.ipynb" for name in SEED_PARAMETER]
    )
    parser.add_argument("--mode", choices=("fast", "full"), default="fast")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per thread count (the notebook's own first)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--output", type=Path, default=Path("build/claims"), help="folder of the JSON results")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter fixed in every run (a Python literal), e.g. TEST_SEED=102; repeat for several",
    )
    args = parser.parse_args()
    fixed = dict(_parameter(text) for text in args.set)
    for path in args.notebooks:  # every --set name checked before the first run
        try:
            inject_parameters(nbformat.read(path, as_version=4), fixed, path.name)
        except InputError as err:
            raise SystemExit(f"--set: {err}") from None

    for path in args.notebooks:
        default = nbformat.read(path, as_version=4)
        first = next(c for c in default.cells if c.cell_type == "code").source
        seed0 = next(
            int(line.split("=")[1].split("#")[0])
            for line in first.splitlines()
            if line.startswith(f"{SEED_PARAMETER[path.stem]} =")
        )
        rows = []
        for threads in args.threads:
            for seed in range(seed0, seed0 + args.seeds):
                start = time.perf_counter()
                claims = measure(path, seed, threads, fast=args.mode == "fast", timeout=args.timeout, fixed=fixed)
                rows.append({"seed": seed, "threads": threads, "seconds": time.perf_counter() - start, **claims})
                print(f"{path.stem} seed {seed} threads {threads}: {time.perf_counter() - start:.0f} s", flush=True)
        args.output.mkdir(parents=True, exist_ok=True)
        suffix = "".join(f"-{name}={value}" for name, value in fixed.items())
        if suffix:  # a safe, short file name, one per set of values
            suffix = re.sub(r"[^\w.=+-]", "_", suffix)[:60] + "-" + hashlib.sha256(suffix.encode()).hexdigest()[:8]
        (args.output / f"{path.stem}-{args.mode}{suffix}.json").write_text(json.dumps(rows, indent=1))
        print(
            f"\n== {path.stem} ({args.mode} mode, seeds {seed0}..{seed0 + args.seeds - 1}, threads {args.threads}"
            + "".join(f", {name} = {value!r}" for name, value in fixed.items())
            + ")"
        )
        for name in [k for k in rows[0] if k not in ("seed", "threads", "seconds")]:
            values = [r[name] for r in rows]
            sd, thread_effect = _spread(rows, name)
            print(
                f"  {name}: mean {statistics.fmean(values):.4g}, sd over seeds {sd:.3g}, largest change with the "
                f"thread count {thread_effect:.2g}, min {min(values):.4g}, max {max(values):.4g}  "
                f"[{', '.join(f'{v:.4g}' for v in values)}]"
            )


def _spread(rows: list[dict], name: str) -> tuple[float, float]:
    """The standard deviation of ``name`` over seeds and the largest change of one seed's value with the thread count.

    The variance is taken over the seeds of each thread count and averaged: pooling all rows would count each seed
    once per thread count, and shrink the spread by sqrt(4/5) when the thread count changes nothing (3 seeds).
    """
    by_threads: dict[int, list[float]] = {}
    by_seed: dict[int, list[float]] = {}
    for row in rows:
        by_threads.setdefault(row["threads"], []).append(row[name])
        by_seed.setdefault(row["seed"], []).append(row[name])
    variances = [statistics.variance(v) for v in by_threads.values() if len(v) > 1]
    sd = statistics.fmean(variances) ** 0.5 if variances else 0.0
    return sd, max(max(v) - min(v) for v in by_seed.values())


def _parameter(text: str) -> tuple[str, object]:
    """``"NAME=VALUE"`` -> ``(NAME, VALUE)``, the value read as ``hepnb run -p`` reads it."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise SystemExit(f"--set takes NAME=VALUE with NAME a parameter of the notebook, got {text!r}")
    if name.strip() in {*SEED_PARAMETER.values(), "THREADS"}:
        raise SystemExit(f"--set {text!r}: the seed and THREADS vary from run to run: use --seeds and --threads")
    return name.strip(), parse_parameter(value.strip())


if __name__ == "__main__":
    main()
