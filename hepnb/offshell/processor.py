"""Scale-out: event generation and mu-template histogramming as a coffea processor over seeded chunks.

A tiny parquet *manifest* per process lists the generation chunks (``chunk``, ``n_events``, ``n_total``); coffea's
``processor.Runner`` splits it into work items (one chunk each) and :class:`OffshellProcessor` generates chunk ``c``
from the seed ``(seed, process, c)`` and fills the histograms. The chunks are exactly those of
:func:`hepnb.offshell.generate` with the same ``chunk_size``, so the histograms do not depend on the executor and
equal those of ``histogram_yields(generate(...), ...)`` up to the floating-point order of the final sums.

Executors: ``"iterative"`` (one process), ``"dask"`` (default; a ``dask.distributed.LocalCluster`` with
``n_workers`` single-threaded workers, or the scheduler at ``scheduler``; with a remote scheduler ``workdir`` must be
a folder the workers can read).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from coffea import processor
from coffea.nanoevents import BaseSchema

from hepnb.errors import InputError, is_whole_number
from hepnb.io import atomic_write
from hepnb.offshell import events as ev
from hepnb.offshell.histograms import BinSpec, empty_histogram, fill_histogram
from hepnb.stats.constants import THESIS_LUMI

__all__ = ["OffshellProcessor", "write_manifest", "run_processor", "local_client"]


class OffshellProcessor(processor.ProcessorABC):
    """Generate the chunks listed in a manifest and histogram observables at several mu.

    Parameters
    ----------
    configs
        Generation config per process name (the coffea dataset name).
    seed
        Master seed; chunk ``c`` of process ``p`` uses ``SeedSequence([seed, p, c])``.
    mus
        Signal strengths of the templates.
    observables
        ``{observable: bins}`` with ``bins`` as ``(n, lo, hi)`` or edges.
    """

    def __init__(
        self,
        configs: Mapping[str, ev.GenerationConfig],
        seed: int,
        mus: Sequence[float],
        observables: Mapping[str, BinSpec],
    ) -> None:
        self.configs = dict(configs)
        self.seed = int(seed)
        self.mus = [float(m) for m in ev.mu_array(mus, "mus").ravel()]
        self.observables = dict(observables)
        for obs, bins in self.observables.items():
            empty_histogram(obs, bins, self.mus)  # validates names and bins early

    def _empty(self) -> dict[str, Any]:
        names = sorted(self.configs)
        return {
            "hists": {obs: empty_histogram(obs, bins, self.mus, names) for obs, bins in self.observables.items()},
            "n_selected": dict.fromkeys(names, 0),
            "n_generated": dict.fromkeys(names, 0),
        }

    def process(self, events: Any) -> dict[str, Any]:
        """Generate and histogram the chunks of one work item."""
        name = events.metadata["dataset"]
        config = self.configs[name]
        out = self._empty()
        rows = zip(np.asarray(events.chunk), np.asarray(events.n_events), np.asarray(events.n_total))
        for chunk, n_chunk, n_total in rows:
            cols = ev.generate_chunk(config, self.seed, int(chunk), int(n_chunk), int(n_total), list(self.observables))
            for obs, h in out["hists"].items():
                fill_histogram(h, cols["x"][obs], cols["w_S"], cols["w_I"], cols["w_B"], self.mus, process=name)
            out["n_selected"][name] += len(cols["event"])
            out["n_generated"][name] += int(n_chunk)
        return out

    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        """Nothing to do: the histograms are final."""
        return accumulator


def write_manifest(path: str | Path, n: int, chunk_size: int) -> Path:
    """Write the chunk manifest of an ``n``-event sample (one row per generation chunk)."""
    sizes = ev._chunk_sizes(int(n), int(chunk_size))
    table = ak.to_arrow_table(
        ak.zip(
            {
                "chunk": np.arange(len(sizes), dtype=np.int64),
                "n_events": np.asarray(sizes, dtype=np.int64),
                "n_total": np.full(len(sizes), int(n), dtype=np.int64),
            }
        )
    )
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    with atomic_write(path, "wb") as handle:
        pq.write_table(table, pa.PythonFile(handle, mode="w"))
    return path


@contextlib.contextmanager
def local_client(n_workers: int = 2, worker_processes: bool = True) -> Iterator[Any]:
    """A ``dask.distributed`` client on a new ``LocalCluster`` of single-threaded workers (closed on exit).

    Worker processes are spawned without dask's ``MALLOC_TRIM_THRESHOLD_=65536`` default: setting it switches off
    glibc's dynamic mmap threshold, so every large numpy temporary is mmapped and page-faulted anew, which made the
    generator about 2x slower per core on the workers.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    if not is_whole_number(n_workers) or n_workers < 1:
        raise InputError(f"n_workers must be a positive integer, got {n_workers!r}")
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(
            n_workers=int(n_workers), threads_per_worker=1, processes=worker_processes, dashboard_address=None
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@contextlib.contextmanager
def _dask_client(scheduler: str | None, n_workers: int, worker_processes: bool) -> Iterator[Any]:
    if scheduler is None:
        with local_client(n_workers, worker_processes) as client:
            yield client
        return
    from dask.distributed import Client

    client = Client(scheduler)
    try:
        yield client
    finally:
        client.close()


def run_processor(
    n: int | Mapping[str, int],
    seed: int,
    mus: Sequence[float],
    observables: Mapping[str, BinSpec],
    *,
    detector: str = "atlas",
    preset: str | None = "thesis-ch6",
    lumi: float = THESIS_LUMI,
    chunk_size: int = ev.DEFAULT_CHUNK_SIZE,
    executor: str = "dask",
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int = 2,
    worker_processes: bool = True,
    workdir: str | Path | None = None,
    status: bool = False,
) -> dict[str, Any]:
    """Generate and histogram with coffea's ``processor.Runner``; returns ``{"hists", "n_selected", "n_generated"}``.

    Parameters
    ----------
    n
        Events to generate (before selection): an int for the VBF sample, or ``{process: n}``.
    seed, mus, observables
        As for :class:`OffshellProcessor`.
    detector, preset, lumi, chunk_size
        As for :func:`hepnb.offshell.generate` (the same ``chunk_size`` gives the same events).
    executor
        ``"dask"`` (default) or ``"iterative"``.
    scheduler
        Address of an existing dask scheduler (``"tcp://host:8786"``); default: a new ``LocalCluster``.
    client
        An existing ``dask.distributed.Client`` (overrides ``scheduler``).
    n_workers, worker_processes
        Size of the LocalCluster and whether its workers are processes (True) or threads.
    workdir
        Folder for the chunk manifests (default: a temporary folder; must be shared with remote workers).
    status
        Show coffea's progress bars.
    """
    counts = dict(n) if isinstance(n, Mapping) else {"vbf": n}
    if not counts or any(not is_whole_number(v) or v < 1 for v in counts.values()):
        raise InputError(
            f"n must be a positive whole number (not a bool) or a dict {{process: positive whole number}}, got {n!r}"
        )
    if executor not in ("dask", "iterative"):
        raise InputError(f"executor must be 'dask' or 'iterative', got {executor!r}")
    configs = {p: ev.GenerationConfig(p, detector, preset, lumi, chunk_size) for p in counts}
    proc = OffshellProcessor(configs, seed, mus, observables)
    with contextlib.ExitStack() as stack:
        folder = Path(workdir) if workdir is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        fileset = {
            p: [str(write_manifest(folder / f"manifest_{p}_{seed}.parquet", counts[p], chunk_size))] for p in counts
        }
        if executor == "iterative":
            exe: processor.executor.ExecutorBase = processor.IterativeExecutor(status=status)
        else:
            if client is None:
                client = stack.enter_context(_dask_client(scheduler, n_workers, worker_processes))
            exe = processor.DaskExecutor(client=client, status=status, retries=0)
        runner = processor.Runner(executor=exe, schema=BaseSchema, format="parquet", chunksize=1, metadata_cache={})
        return runner(fileset, proc, treename="events")
