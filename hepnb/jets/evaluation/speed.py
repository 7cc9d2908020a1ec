"""Generation speed: jets per second of a jet GAN and of Pythia 8 + FastJet, per core, measured in the same run.

A generator runs on one CPU thread at batch 1 and in bulk (:func:`model_speed`), beside Pythia 8 +
FastJet per core (:func:`pythia_speed`: :func:`hepnb.jets.generate_jets` with one worker); :func:`speed_table`
compares them.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hepnb.errors import InputError, is_whole_number

__all__ = ["GenerationSpeed", "model_speed", "pythia_speed", "speed_table"]


@dataclass(frozen=True)
class GenerationSpeed:
    """Jets made by ``generator`` in ``seconds`` on ``threads`` thread(s), ``batch_size`` per forward pass (None:
    the simulator, with its own events per batch); ``setup_seconds`` of initialisation are not in ``seconds``."""

    generator: str
    batch_size: int | None
    n_jets: int
    seconds: float
    threads: int
    setup_seconds: float = 0.0

    @property
    def jets_per_second(self) -> float:
        """Jets per second on one core (the runs here use one thread)."""
        return self.n_jets / self.seconds


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def model_speed(
    model: Any,
    label: str,
    batch_sizes: Sequence[int] | None = None,
    *,
    n_single: int = 200,
    n_jets: int = 10_000,
    threads: int = 1,
    seed: int = 0,
) -> list[GenerationSpeed]:
    """Time :meth:`generate` (noise, networks, physical units) at each batch size on ``threads`` torch thread(s).

    Batch size 1 generates ``n_single`` jets one per forward pass; a batch size b > 1 generates ``max(b, n_jets)``
    jets, b per forward pass, in one call (bulk generation). The default batch sizes are 1 and the generator's own,
    :data:`hepnb.jets.lsgan.GENERATION_BATCH`: on a CPU a pass of a few hundred jets is faster per jet than one of
    thousands, whose activations no longer fit the caches. A warm-up call comes first; the thread count is
    restored afterwards.
    """
    if batch_sizes is None:
        from hepnb.jets.lsgan import GENERATION_BATCH

        batch_sizes = (1, GENERATION_BATCH)
    for name, value in (("threads", threads), ("n_single", n_single), ("n_jets", n_jets)):
        if not is_whole_number(value) or value < 1:
            raise InputError(f"{name}={value!r} must be a whole number >= 1")
    if not batch_sizes or any(not is_whole_number(b) or b < 1 for b in batch_sizes):
        raise InputError(f"batch_sizes={batch_sizes!r} must be whole numbers >= 1")
    results = []
    with _torch_threads(threads):
        model.generate(2, seed=seed, batch_size=1)  # warm-up
        for batch in batch_sizes:
            n = n_single if batch == 1 else max(batch, n_jets)
            start = time.perf_counter()
            model.generate(n, seed=seed, batch_size=batch)
            results.append(GenerationSpeed(label, batch, n, time.perf_counter() - start, threads))
    return results


def pythia_speed(n_jets: int, *, jet_class: str = "top", preset: str = "jetnet", seed: int = 1) -> GenerationSpeed:
    """Jets per second of Pythia 8 + FastJet on one core: :func:`hepnb.jets.generate_jets` with one worker into a
    temporary folder (event generation, clustering, truth matching, writing), less one Pythia initialisation,
    timed separately and kept in ``setup_seconds`` (a long run pays it once)."""
    from hepnb.jets.generate import _pythia, generate_jets
    from hepnb.jets.presets import chunk_seed, get_preset

    start = time.perf_counter()
    _pythia(get_preset(preset).pythia_settings(jet_class, chunk_seed(seed, jet_class, 0)))
    setup = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="hepnb_pythia_speed_") as folder:
        run = generate_jets(
            Path(folder) / "jets",
            n_jets,
            preset=preset,
            jet_class=jet_class,
            seed=seed,
            workers=1,
            chunk_jets=n_jets,
            progress=False,
        )
    return GenerationSpeed(
        f"Pythia 8 + FastJet ({jet_class})", None, run.jets_made, max(run.cpu_seconds - setup, 1e-9), 1, setup
    )


def speed_table(speeds: Sequence[GenerationSpeed]) -> pd.DataFrame:
    """Jets per second of each measurement and its ratio to the fastest Pythia 8 + FastJet one (conservative)."""
    simulator = [s.jets_per_second for s in speeds if s.batch_size is None]
    if not simulator:
        raise InputError("speed_table needs a Pythia 8 + FastJet measurement (pythia_speed) to compare with")
    rows = [
        {
            "generator": s.generator,
            "batch size": "-" if s.batch_size is None else s.batch_size,
            "jets": s.n_jets,
            "jets/s per core": s.jets_per_second,
            "x Pythia+FastJet": s.jets_per_second / max(simulator),
        }
        for s in speeds
    ]
    return pd.DataFrame(rows).set_index(["generator", "batch size"])
