"""Real jets from Pythia 8 and FastJet: resumable multi-process datasets of truth-labelled jets.

Each ``Pythia.nextBatch`` result is clustered, cut and labelled by :func:`hepnb.jets.selection.select_jets`
(vectorised over whole batches; the truth labels are described there); this module runs Pythia and writes the
selected jets.

A dataset is written in chunks of ``chunk_jets`` jets, one Pythia per chunk with its own seed derived from the
user's (:func:`hepnb.jets.presets.chunk_seed`), so that the same seed gives the same bytes whatever the number of
processes and whether the run was interrupted: a killed run continues with the chunks that are missing.

>>> import pathlib, tempfile
>>> from hepnb.jets import generate_jets
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = generate_jets(pathlib.Path(tmp) / "top", 20, preset="jetnet", jet_class="top", seed=1, progress=False)
...     n_jets = len(run.read().particle_features())
>>> n_jets
20
"""

from __future__ import annotations

import importlib.metadata
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
from tqdm.auto import tqdm

import hepnb
from hepnb.errors import InputError, is_whole_number
from hepnb.io import FolderBusy, folder_lock
from hepnb.jets.io import (
    MANIFEST,
    JetSample,
    chunk_metadata,
    chunk_path,
    read_jets,
    read_manifest,
    write_chunk,
    write_manifest,
)
from hepnb.jets.presets import JetPreset, check_jet_class, chunk_seed, get_preset
from hepnb.jets.selection import (
    cluster_jets,
    delta_r,
    hard_partons,
    nearest_parton,
    select_jets,
    top_matched,
    top_partons,
)

__all__ = [
    "GenerationRun",
    "generate_jets",
    "generate_chunk",
    "select_jets",
    "cluster_jets",
    "top_partons",
    "hard_partons",
    "top_matched",
    "nearest_parton",
    "delta_r",
    "package_versions",
]

FORMAT = "hepnb.jets/1"


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine the bytes of a dataset."""
    names = ("pythia8mc", "fastjet", "awkward", "numpy", "pyarrow")
    return {"hepnb": hepnb.__version__, **{name: importlib.metadata.version(name) for name in names}}


def _pythia(settings: list[str]) -> Any:
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in settings:
        if not pythia.readString(line):
            raise InputError(f"Pythia refused the setting {line!r}: check the preset")
    if not pythia.init():
        raise InputError(f"Pythia failed to initialise with {settings}: check the preset")
    return pythia


def generate_chunk(
    preset: JetPreset, jet_class: str, seed: int, index: int, n_jets: int, *, events_per_batch: int = 100
) -> tuple[ak.Array, int]:
    """The first ``n_jets`` jets of chunk ``index`` and the number of events generated for them.

    Events are generated ``events_per_batch`` at a time until enough jets pass, so a smaller ``n_jets`` gives a
    prefix of a larger one. More than ``20 n_jets + 10 events_per_batch`` events for too few jets is refused
    as a preset whose cuts select (almost) nothing.
    """
    pythia = _pythia(preset.pythia_settings(jet_class, chunk_seed(seed, jet_class, index)))
    pieces, found, events = [], 0, 0
    limit = 20 * n_jets + 10 * events_per_batch
    while found < n_jets:
        if events >= limit:
            raise InputError(
                f"only {found} of {n_jets} {jet_class} jets passed the cuts of preset {preset.name!r} "
                f"in {events} events: move the pTHat window onto the jet-pT window or widen the cuts"
            )
        jets = select_jets(pythia.nextBatch(events_per_batch), preset, jet_class)
        pieces.append(ak.with_field(jets, jets.event + events, "event"))
        found += len(jets)
        events += events_per_batch
    return ak.to_packed(ak.concatenate(pieces)[:n_jets]), events


@dataclass(frozen=True)
class _Chunk:
    folder: str
    index: int
    n_jets: int
    identity: dict[str, Any]


def _make_chunk(task: _Chunk) -> tuple[int, int, float]:
    """Generate and write one chunk (runs in a worker process); returns (jets, events, seconds)."""
    start = time.perf_counter()
    identity = task.identity
    preset = JetPreset(**identity["preset"])
    jets, events = generate_chunk(
        preset,
        identity["jet_class"],
        identity["seed"],
        task.index,
        task.n_jets,
        events_per_batch=identity["events_per_batch"],
    )
    pythia_seed = chunk_seed(identity["seed"], identity["jet_class"], task.index)
    meta = {
        **identity,
        "chunk": task.index,
        "n_jets": task.n_jets,
        "events": events,
        "pythia_seed": pythia_seed,
        "pythia_settings": preset.pythia_settings(identity["jet_class"], pythia_seed),
    }
    write_chunk(jets, chunk_path(task.folder, task.index), meta)
    return task.n_jets, events, time.perf_counter() - start


def _chunk_done(folder: Path, index: int, n_jets: int, identity: dict[str, Any]) -> bool:
    meta = chunk_metadata(chunk_path(folder, index))
    return (
        meta is not None
        and meta.get("chunk") == index
        and meta.get("n_jets") == n_jets
        and all(meta.get(key) == value for key, value in identity.items())
    )


@dataclass(frozen=True)
class GenerationRun:
    """What :func:`generate_jets` did: the dataset ``folder`` with ``n_jets`` jets, of which ``jets_made`` in
    ``chunks_made`` chunks (``events`` Pythia events) were generated by this call in ``seconds`` of wall time
    and ``cpu_seconds`` summed over the ``workers`` processes."""

    folder: Path
    n_jets: int
    chunks_made: int
    jets_made: int
    events: int
    seconds: float
    cpu_seconds: float
    workers: int

    @property
    def jets_per_second(self) -> float:
        """Jets generated per second of wall time (NaN if nothing was generated)."""
        return self.jets_made / self.seconds if self.jets_made else math.nan

    @property
    def jets_per_second_per_core(self) -> float:
        """Jets generated per second of one worker's time (NaN if nothing was generated)."""
        return self.jets_made / self.cpu_seconds if self.jets_made else math.nan

    def read(self) -> JetSample:
        """The whole dataset (:func:`hepnb.jets.io.read_jets`)."""
        return read_jets(self.folder)

    def summary(self) -> str:
        """One line for the command line."""
        if not self.jets_made:
            return f"{self.folder}: {self.n_jets} jets, already complete"
        return (
            f"{self.folder}: {self.n_jets} jets; made {self.jets_made} ({self.chunks_made} chunks, "
            f"{self.events} events) in {self.seconds:.1f} s with {self.workers} worker(s): "
            f"{self.jets_per_second:.1f} jets/s, {self.jets_per_second_per_core:.1f} jets/s per core"
        )


def _check_count(value: object, name: str) -> int:
    if not is_whole_number(value) or value < 1:
        raise InputError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def generate_jets(
    output: str | os.PathLike[str],
    n_jets: int,
    *,
    preset: str | JetPreset = "jetnet",
    jet_class: str = "top",
    seed: int = 1,
    workers: int | None = None,
    chunk_jets: int = 1000,
    events_per_batch: int = 100,
    progress: bool = True,
) -> GenerationRun:
    """Generate (or finish, or extend) a dataset of ``n_jets`` jets of ``jet_class`` in the folder ``output``.

    Chunks already in the folder with the same settings are kept; the missing ones are generated by ``workers``
    processes (default: all cores), each chunk by its own Pythia, and written atomically. A folder holding
    another dataset (other preset, class, seed, chunk size or package versions) is refused, and so is a folder
    another run is writing into.

    Parameters
    ----------
    output
        Dataset folder (created if missing).
    n_jets
        Jets in the dataset.
    preset
        ``"jetnet"``, ``"thesis"`` or a :class:`~hepnb.jets.presets.JetPreset`.
    jet_class
        ``"top"``, ``"qcd"``, ``"gluon"`` or ``"quark"``.
    seed
        The same seed gives the same bytes.
    workers
        Processes (default ``os.cpu_count()``); 1 generates in this process.
    chunk_jets, events_per_batch
        Jets per chunk file and events per ``Pythia.nextBatch`` call; both change the jets a seed gives.
    progress
        Show a tqdm bar of the jets written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = generate_jets(pathlib.Path(tmp) / "qcd", 20, preset="thesis", jet_class="qcd", seed=3, progress=False)
    ...     shape = run.read().particle_features().shape
    >>> shape
    (20, 100, 5)
    """
    preset = get_preset(preset)
    check_jet_class(jet_class)
    n_jets, chunk_jets = _check_count(n_jets, "n_jets"), _check_count(chunk_jets, "chunk_jets")
    events_per_batch = _check_count(events_per_batch, "events_per_batch")
    workers = _check_count(workers if workers is not None else os.cpu_count() or 1, "workers")
    chunk_seed(seed, jet_class, 0)  # checks the seed
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder: give a new folder, or a dataset folder to resume")
    identity = {
        "format": FORMAT,
        "preset": preset.to_dict(),
        "jet_class": jet_class,
        "seed": int(seed),
        "chunk_jets": chunk_jets,
        "events_per_batch": events_per_batch,
        "versions": package_versions(),
    }
    sizes = [min(chunk_jets, n_jets - start) for start in range(0, n_jets, chunk_jets)]
    try:
        with folder_lock(folder) as fresh:
            if fresh:  # what a killed run left half-written
                for stale in folder.glob(".*.tmp"):
                    stale.unlink()
            _check_same_dataset(folder, identity)
            write_manifest(folder, {**identity, "n_jets": n_jets, "n_chunks": len(sizes)})
            todo = [
                _Chunk(str(folder), i, size, identity)
                for i, size in enumerate(sizes)
                if not _chunk_done(folder, i, size, identity)
            ]
            start = time.perf_counter()
            made = _run_chunks(todo, workers, n_jets, progress, f"{preset.name} {jet_class} jets")
    except FolderBusy as busy:
        raise InputError(
            f"another process (pid {busy.owner}) is writing into {folder}: wait for it to finish or "
            "choose another folder"
        ) from None
    return GenerationRun(
        folder,
        n_jets,
        len(todo),
        sum(m[0] for m in made),
        sum(m[1] for m in made),
        time.perf_counter() - start,
        sum(m[2] for m in made),
        min(workers, max(len(todo), 1)),
    )


def _check_same_dataset(folder: Path, identity: dict[str, Any]) -> None:
    path = folder / MANIFEST
    if not path.exists():
        return
    try:
        old = read_manifest(folder)
    except InputError:
        old = None
    if not isinstance(old, dict):
        raise InputError(f"{path} is damaged: delete the folder or generate into a new one")
    different = [key for key, value in identity.items() if old.get(key) != value]
    if different:
        described = "; ".join(f"{key}: {old.get(key)!r} there, {identity[key]!r} asked" for key in different)
        raise InputError(
            f"{folder} holds another jet dataset ({described}): use a new folder, or the same "
            "options to resume or extend it"
        )


def _run_chunks(
    todo: list[_Chunk], workers: int, n_jets: int, progress: bool, label: str
) -> list[tuple[int, int, float]]:
    done = n_jets - sum(task.n_jets for task in todo)
    made = []
    with tqdm(total=n_jets, initial=done, unit="jet", desc=label, disable=not progress) as bar:
        if min(workers, len(todo)) <= 1:
            for task in todo:
                made.append(_make_chunk(task))
                bar.update(task.n_jets)
            return made
        context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads (Jupyter)
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context)
        try:
            for future in as_completed([pool.submit(_make_chunk, task) for task in todo]):
                made.append(future.result())
                bar.update(made[-1][0])
        except BrokenProcessPool:
            raise RuntimeError(
                "a worker process died (killed, out of memory, or a script that calls "
                'generate_jets outside `if __name__ == "__main__":`, which processes '
                "started by spawn re-run); the chunks written so far are kept: run again to "
                "resume"
            ) from None
        finally:
            # after an interrupt (Jupyter's stops only this process) the waiting chunks are dropped at once; those
            # in progress finish in the background, writing what a resumed run would write, byte for byte
            pool.shutdown(wait=False, cancel_futures=True)
    return made
