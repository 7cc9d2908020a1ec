"""Real jets from Pythia 8 and FastJet: vectorised selection, truth labels, and resumable multi-process datasets.

Events come from ``Pythia.nextBatch`` as awkward arrays (pythia8mc 8.317); the stable visible particles are
clustered by FastJet's multi-event interface (anti-kT, R = 0.8), and jets, constituents and truth labels are
computed on whole batches, without a Python loop over particles or events.

Truth labels (jets_losses_vlq spec, section 7.2):

- top jets: as in the Top Quark Tagging Reference Dataset (arXiv:1902.09914), the jet is within dR < R of the
  top (its last copy, the mother of its b) *and* of the three decay quarks b, q, q' (the status-23 daughters of
  the top and of its W) -- :func:`top_matched`;
- gluon and light-quark jets: the nearest of the two hard-process partons (status 23) within dR < R is a gluon,
  or a u, d or s quark -- :func:`nearest_parton`. QCD jets record the same label but need none.

A dataset is written in chunks of ``chunk_jets`` jets, one Pythia per chunk with its own seed derived from the
user's (:func:`hepnb.jets.presets.chunk_seed`), so that the same seed gives the same bytes whatever the number of
processes and whether the run was interrupted: a killed run continues with the chunks that are missing.

>>> from hepnb.jets import generate_jets
>>> run = generate_jets("data/jets/top", 50_000, preset="jetnet", jet_class="top", seed=1)  # doctest: +SKIP
>>> sample = run.read()                                                                       # doctest: +SKIP
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
import numpy as np
from tqdm.auto import tqdm

import hepnb
from hepnb.errors import InputError
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

__all__ = ["GenerationRun", "generate_jets", "generate_chunk", "select_jets", "cluster_jets", "top_partons",
           "hard_partons", "top_matched", "nearest_parton", "delta_r", "package_versions"]

FORMAT = "hepnb.jets/1"
_LIGHT_QUARKS = (1, 2, 3)


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine the bytes of a dataset."""
    names = ("pythia8mc", "fastjet", "awkward", "numpy", "pyarrow")
    return {"hepnb": hepnb.__version__, **{name: importlib.metadata.version(name) for name in names}}


def delta_r(eta1: Any, phi1: Any, eta2: Any, phi2: Any) -> Any:
    """sqrt(d_eta^2 + d_phi^2) with d_phi wrapped into [-pi, pi); NaN in, NaN out."""
    dphi = (np.asarray(phi1) - np.asarray(phi2) + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), dphi)


def top_matched(jet_eta: np.ndarray, jet_phi: np.ndarray, parton_eta: np.ndarray, parton_phi: np.ndarray,
                radius: float) -> np.ndarray:
    """Which top each jet contains: the index of the first top whose partons are all within ``radius``, else -1.

    Parameters
    ----------
    jet_eta, jet_phi
        Jet axes, shape ``(n,)``.
    parton_eta, parton_phi
        Shape ``(n, n_tops, n_partons)``: for each jet, the partons of each top of its event (top, b, q, q'),
        NaN where a parton is unknown (such a top never matches).
    radius
        Matching radius (R of the jets).

    Examples
    --------
    >>> import numpy as np
    >>> eta = np.array([[[0.0, 0.3, -0.2, 0.5], [3.0, 3.1, 2.9, 3.2]]])
    >>> phi = np.array([[[0.0, 0.2, -0.3, 0.1], [3.1, 3.0, 2.8, -3.1]]])
    >>> top_matched(np.array([0.1]), np.array([0.0]), eta, phi, 0.8)
    array([0])
    """
    inside = delta_r(jet_eta[:, None, None], jet_phi[:, None, None], parton_eta, parton_phi) < radius
    contains = inside.all(axis=-1)
    return np.where(contains.any(axis=-1), contains.argmax(axis=-1), -1)


def nearest_parton(jet_eta: np.ndarray, jet_phi: np.ndarray, parton_eta: np.ndarray, parton_phi: np.ndarray,
                   parton_id: np.ndarray, radius: float) -> np.ndarray:
    """PDG id of the parton nearest to each jet if it is within ``radius``, else 0.

    ``jet_*`` have shape ``(n,)``; ``parton_*`` shape ``(n, k)`` (NaN for a missing parton).

    >>> import numpy as np
    >>> nearest_parton(np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([[0.1, 0.5], [2.0, 3.0]]),
    ...                np.zeros((2, 2)), np.array([[21, 2], [21, 2]]), 0.8)
    array([21,  0])
    """
    distance = np.nan_to_num(delta_r(jet_eta[:, None], jet_phi[:, None], parton_eta, parton_phi), nan=np.inf)
    nearest = distance.argmin(axis=-1)
    rows = np.arange(len(nearest))
    return np.where(distance[rows, nearest] < radius, parton_id[rows, nearest], 0)


def _column(values: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(values))


@dataclass(frozen=True)
class _Flat:
    """The particles of a batch as flat numpy columns; ``mother`` indexes these columns too."""

    n_events: int
    event: np.ndarray
    id: np.ndarray
    status: np.ndarray
    mother: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray

    @classmethod
    def of(cls, particles: ak.Array) -> _Flat:
        counts = ak.to_numpy(ak.num(particles, axis=1))
        event = np.repeat(np.arange(len(counts)), counts)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        p = particles.p
        return cls(len(counts), event, _column(particles.id), _column(particles.status),
                   _column(particles.mother1) + first[event], _column(p.px), _column(p.py), _column(p.pz),
                   _column(p.e))

    def rows(self, selected: np.ndarray, k: int) -> np.ndarray:
        """``(n_events, k)`` indices of the ``selected`` particles of each event; -1 in events without exactly k."""
        event = self.event[selected]
        rank = np.arange(len(event)) - np.searchsorted(event, event)
        ok = np.bincount(event, minlength=self.n_events)[event] == k
        out = np.full((self.n_events, k), -1, dtype=np.int64)
        out[event[ok], rank[ok]] = selected[ok]
        return out

    def eta_phi(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pseudorapidity and azimuth of the particles at ``index`` (NaN where it is -1)."""
        safe = np.maximum(index, 0)
        px, py = self.px[safe], self.py[safe]
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = np.arcsinh(self.pz[safe] / np.hypot(px, py))
        missing = index < 0
        return np.where(missing, np.nan, eta), np.where(missing, np.nan, np.arctan2(py, px))


def top_partons(particles: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """(eta, phi) of the top, its b and its W's two quarks for the top and the antitop of each event.

    ``particles`` is the ``prt`` field of ``Pythia.nextBatch``. The b and the quarks are the outgoing partons
    (status 23) whose mother is the top or its W (so the top is its last copy, the b's mother). Returns two
    arrays of shape ``(n_events, 2, 4)`` (axis 1: top, antitop; axis 2: top, b, q, q'); NaN where an event
    lacks that decay chain.
    """
    flat = _Flat.of(particles)
    outgoing = np.abs(flat.status) == 23
    mother_id = flat.id[flat.mother]
    tops = []
    for sign in (1, -1):
        b = flat.rows(np.flatnonzero(outgoing & (mother_id == 6 * sign)), 1)
        quarks = flat.rows(np.flatnonzero(outgoing & (mother_id == 24 * sign)), 2)
        tops.append(np.concatenate([np.where(b >= 0, flat.mother[b], -1), b, quarks], axis=1))
    return flat.eta_phi(np.stack(tops, axis=1))


def hard_partons(particles: ak.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(eta, phi, PDG id) of the two outgoing partons (status 23) of each event's hard process, ``(n_events, 2)``;
    NaN and id 0 in an event that has not exactly two."""
    flat = _Flat.of(particles)
    index = flat.rows(np.flatnonzero(np.abs(flat.status) == 23), 2)
    eta, phi = flat.eta_phi(index)
    return eta, phi, np.where(index >= 0, flat.id[np.maximum(index, 0)], 0)


def cluster_jets(particles: ak.Array, preset: JetPreset) -> ak.Array:
    """Anti-kT jets of the stable visible particles that pass the preset's cuts, one record per jet.

    Only the ``preset.leading_jets`` hardest jets of an event are candidates; kept are those with
    ``jet_pt_min <= pT < jet_pt_max`` and ``|eta| < jet_abs_eta_max``. Records as in :mod:`hepnb.jets.io`
    (``event`` counts from 0 in ``particles``; ``parton_id`` is added by :func:`select_jets`).
    """
    import fastjet

    flat = _Flat.of(particles)
    pid = np.abs(flat.id)
    final = np.flatnonzero((flat.status > 0) & (pid != 12) & (pid != 14) & (pid != 16))  # isVisible: no neutrino
    per_event = np.bincount(flat.event[final], minlength=flat.n_events)
    inputs = ak.unflatten(ak.zip({"px": flat.px[final], "py": flat.py[final], "pz": flat.pz[final],
                                  "E": flat.e[final]}), per_event)
    sequence = fastjet.ClusterSequence(inputs, fastjet.JetDefinition(fastjet.antikt_algorithm, preset.radius))
    jets = sequence.inclusive_jets(preset.jet_pt_min)
    members = sequence.constituent_index(preset.jet_pt_min)
    order = ak.argsort(np.hypot(jets.px, jets.py), axis=1, ascending=False)[:, :preset.leading_jets]
    jets, members = jets[order], members[order]

    event = np.repeat(np.arange(flat.n_events), ak.to_numpy(ak.num(jets, axis=1)))
    px, py, pz, e = (ak.to_numpy(ak.flatten(getattr(jets, f))) for f in ("px", "py", "pz", "E"))
    pt = np.hypot(px, py)
    eta, phi = np.arcsinh(pz / pt), np.arctan2(py, px)
    mass = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    keep = (pt < preset.jet_pt_max) & (np.abs(eta) < preset.jet_abs_eta_max)

    # constituents: index in the event's visible particles -> index in the flat columns, hardest first per jet
    members = ak.flatten(members, axis=1)[keep]
    sizes = ak.to_numpy(ak.num(members, axis=1))
    first = np.concatenate([[0], np.cumsum(per_event)[:-1]])
    where = final[ak.to_numpy(ak.flatten(members + first[event[keep]]))]
    cpt = np.hypot(flat.px[where], flat.py[where])
    where = where[np.lexsort((-cpt, np.repeat(np.arange(len(sizes)), sizes)))]
    cpx, cpy, cpz = flat.px[where], flat.py[where], flat.pz[where]
    cpt = np.hypot(cpx, cpy)
    columns = {"pt": cpt, "eta": np.arcsinh(cpz / cpt), "phi": np.arctan2(cpy, cpx), "e": flat.e[where]}
    constituents = ak.unflatten(ak.zip({k: v.astype(np.float32) for k, v in columns.items()}), sizes)
    return ak.zip({
        "pt": pt[keep], "eta": eta[keep], "phi": phi[keep], "mass": mass[keep],
        "n_constituents": sizes.astype(np.int32), "parton_id": np.zeros(len(sizes), np.int32),
        "event": event[keep].astype(np.int64), "constituents": constituents,
    }, depth_limit=1)


def select_jets(events: ak.Array, preset: JetPreset, jet_class: str) -> ak.Array:
    """The jets of a ``Pythia.nextBatch`` result that belong to ``jet_class``, with their ``parton_id`` label.

    ``top``: jets containing a top and its three quarks (``parton_id`` +-6); ``qcd``: all jets, labelled with
    the nearest hard parton (0 if none within R); ``gluon`` / ``quark``: the jets so labelled 21 / u, d, s.
    """
    check_jet_class(jet_class)
    jets = cluster_jets(events.prt, preset)
    event = ak.to_numpy(jets.event)
    eta, phi = ak.to_numpy(jets.eta), ak.to_numpy(jets.phi)
    if jet_class == "top":
        top_eta, top_phi = top_partons(events.prt)
        which = top_matched(eta, phi, top_eta[event], top_phi[event], preset.radius)
        label, keep = np.where(which == 0, 6, -6), which >= 0
    else:
        hard_eta, hard_phi, hard_id = hard_partons(events.prt)
        label = nearest_parton(eta, phi, hard_eta[event], hard_phi[event], hard_id[event], preset.radius)
        keep = {"qcd": np.ones(len(label), bool), "gluon": label == 21,
                "quark": np.isin(np.abs(label), _LIGHT_QUARKS)}[jet_class]
    jets = ak.with_field(jets, label.astype(np.int32), "parton_id")
    return jets[keep]


def _pythia(settings: list[str]) -> Any:
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in settings:
        if not pythia.readString(line):
            raise InputError(f"Pythia refused the setting {line!r}: check the preset")
    if not pythia.init():
        raise InputError(f"Pythia failed to initialise with {settings}: check the preset")
    return pythia


def generate_chunk(preset: JetPreset, jet_class: str, seed: int, index: int, n_jets: int, *,
                   events_per_batch: int = 100) -> tuple[ak.Array, int]:
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
            raise InputError(f"only {found} of {n_jets} {jet_class} jets passed the cuts of preset {preset.name!r} "
                             f"in {events} events: move the pTHat window onto the jet-pT window or widen the cuts")
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
    jets, events = generate_chunk(preset, identity["jet_class"], identity["seed"], task.index, task.n_jets,
                                  events_per_batch=identity["events_per_batch"])
    pythia_seed = chunk_seed(identity["seed"], identity["jet_class"], task.index)
    meta = {**identity, "chunk": task.index, "n_jets": task.n_jets, "events": events, "pythia_seed": pythia_seed,
            "pythia_settings": preset.pythia_settings(identity["jet_class"], pythia_seed)}
    write_chunk(jets, chunk_path(task.folder, task.index), meta)
    return task.n_jets, events, time.perf_counter() - start


def _chunk_done(folder: Path, index: int, n_jets: int, identity: dict[str, Any]) -> bool:
    meta = chunk_metadata(chunk_path(folder, index))
    return (meta is not None and meta.get("chunk") == index and meta.get("n_jets") == n_jets
            and all(meta.get(key) == value for key, value in identity.items()))


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
        return (f"{self.folder}: {self.n_jets} jets; made {self.jets_made} ({self.chunks_made} chunks, "
                f"{self.events} events) in {self.seconds:.1f} s with {self.workers} worker(s): "
                f"{self.jets_per_second:.1f} jets/s, {self.jets_per_second_per_core:.1f} jets/s per core")


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def generate_jets(output: str | os.PathLike[str], n_jets: int, *, preset: str | JetPreset = "jetnet",
                  jet_class: str = "top", seed: int = 1, workers: int | None = None, chunk_jets: int = 1000,
                  events_per_batch: int = 100, progress: bool = True) -> GenerationRun:
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
    >>> run = generate_jets("jets/qcd", 2000, preset="thesis", jet_class="qcd", seed=3)  # doctest: +SKIP
    >>> run.read().particle_features().shape                                           # doctest: +SKIP
    (2000, 100, 5)
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
    identity = {"format": FORMAT, "preset": preset.to_dict(), "jet_class": jet_class, "seed": int(seed),
                "chunk_jets": chunk_jets, "events_per_batch": events_per_batch, "versions": package_versions()}
    sizes = [min(chunk_jets, n_jets - start) for start in range(0, n_jets, chunk_jets)]
    try:
        with folder_lock(folder) as fresh:
            if fresh:  # what a killed run left half-written
                for stale in folder.glob(".*.tmp"):
                    stale.unlink()
            _check_same_dataset(folder, identity)
            write_manifest(folder, {**identity, "n_jets": n_jets, "n_chunks": len(sizes)})
            todo = [_Chunk(str(folder), i, size, identity) for i, size in enumerate(sizes)
                    if not _chunk_done(folder, i, size, identity)]
            start = time.perf_counter()
            made = _run_chunks(todo, workers, n_jets, progress, f"{preset.name} {jet_class} jets")
    except FolderBusy as busy:
        raise InputError(f"another process (pid {busy.owner}) is writing into {folder}: wait for it to finish or "
                         "choose another folder") from None
    return GenerationRun(folder, n_jets, len(todo), sum(m[0] for m in made), sum(m[1] for m in made),
                         time.perf_counter() - start, sum(m[2] for m in made), min(workers, max(len(todo), 1)))


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
        raise InputError(f"{folder} holds another jet dataset ({described}): use a new folder, or the same "
                         "options to resume or extend it")


def _run_chunks(todo: list[_Chunk], workers: int, n_jets: int, progress: bool,
                label: str) -> list[tuple[int, int, float]]:
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
            raise RuntimeError("a worker process died (killed, out of memory, or a script that calls "
                               "generate_jets outside `if __name__ == \"__main__\":`, which processes "
                               "started by spawn re-run); the chunks written so far are kept: run again to "
                               "resume") from None
        finally:
            # after an interrupt (Jupyter's stops only this process) the waiting chunks are dropped at once; those
            # in progress finish in the background, writing what a resumed run would write, byte for byte
            pool.shutdown(wait=False, cancel_futures=True)
    return made
