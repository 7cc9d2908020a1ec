"""Every simulator of the package: the same seed gives the same bytes in two processes, another seed other bytes.

The digests are computed by this file run as a script, in two processes with different ``PYTHONHASHSEED`` (so that
nothing may depend on set or dict-of-str ordering) and one torch thread each (``CaloGAN.generate``'s float32
products depend on the thread count).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (11, 12)


def _digest(*arrays: Any) -> str:
    """sha256 of the dtypes, shapes and bytes of ``arrays``."""
    h = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(array)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _digest_events(events: Any) -> str:
    import awkward as ak

    form, length, buffers = ak.to_buffers(events.array)
    return _digest(
        np.frombuffer(form.to_json().encode(), np.uint8), np.array([length]), *(buffers[k] for k in sorted(buffers))
    )


def _digest_fields(obj: Any) -> str:
    import dataclasses

    return _digest(*(np.asarray(getattr(obj, f.name)) for f in dataclasses.fields(obj)))


def _digest_sample(sample: Any) -> str:
    arrays = sample.arrays()
    return _digest(*(arrays[k] for k in sorted(arrays)))


# --------------------------------------------------------------------------------------------------------- simulators
def _calo_simulate(seed: int) -> str:
    from hepnb.calo.simulate import simulate

    plain = simulate([3, 2], [1024.0, 65536.0], seed=seed, progress=False)
    messy = simulate(
        4,
        [8192.0],
        seed=seed,
        noise=True,
        both_halves=True,
        dead_cell_rate=0.5,
        negative_cell_rate=0.02,
        clip_negative=False,
        phi_mismatch=(0.001, -0.002),
        progress=False,
    )
    return _digest_fields(plain) + _digest_fields(messy)


def _calo_datasets(seed: int) -> str:
    from hepnb.calo.simulate import extrapolation_dataset, interpolation_dataset, standard_dataset

    return "".join(
        _digest_fields(d(seed=seed, progress=False))
        for d in (
            lambda **k: standard_dataset(0.0005, **k),
            lambda **k: interpolation_dataset(3, **k),
            lambda **k: extrapolation_dataset(2, **k),
        )
    )


def _calo_add_noise(seed: int) -> str:
    from hepnb.calo.simulate import add_noise

    return _digest(add_noise(np.zeros((5, 266)), seed=seed))


def _calo_split(seed: int) -> str:
    from hepnb.calo.data import split_train_reference

    return _digest(*split_train_reference(50, seed))


def _offshell(process: str, detector: str = "atlas", **options: Any) -> Callable[[int], str]:
    def run(seed: int) -> str:
        from hepnb import offshell as osh

        return _digest_events(
            osh.generate(4000, seed, process, detector, preset=None, chunk_size=1500, progress=False, **options)
        )

    return run


def _offshell_unweighted(seed: int) -> str:
    from hepnb import offshell as osh

    return _digest_events(osh.unweighted(1.0, 40, seed, progress=False))


def _offshell_unweight_source(seed: int) -> str:
    from hepnb import offshell as osh

    pool = osh.generate(5000, 1, preset=None, progress=False)
    return _digest_events(osh.unweight(pool, 4.0, 50, seed))


def _offshell_processor(seed: int) -> str:
    from hepnb import offshell as osh

    out = osh.run_processor(
        {"vbf": 3000, "qqzz": 2000},
        seed,
        [0.0, 1.0, 4.0],
        {"m4l": (10, 220.0, 1020.0)},
        preset="4l",
        chunk_size=1000,
        executor="iterative",
    )
    h = out["hists"]["m4l"]
    return _digest(
        h.values(flow=True), h.variances(flow=True), np.array([out["n_selected"][p] for p in sorted(out["n_selected"])])
    )


def _dimuon(seed: int) -> str:
    from hepnb.examples.dimuon import sample_dimuon_mass

    return _digest(sample_dimuon_mass(500, seed))


def _lfi_toy(seed: int) -> str:
    from hepnb.lfi import GaussianToy

    toy = GaussianToy()
    return "".join(
        _digest_sample(s)
        for s in (
            toy.ratio_sample(40, seed, [0.5, 1.0]),
            toy.local_sample(20, seed),
            toy.density_sample(20, seed, [0.0, 1.0]),
        )
    )


def _lfi_mining(seed: int) -> str:
    from hepnb import lfi
    from hepnb import offshell as osh

    events = osh.generate(20_000, 1, detector="none", preset="thesis-ch7", progress=False)
    return "".join(
        _digest_sample(s)
        for s in (
            lfi.mine_ratio_sample(events, 60, seed, theta0=[0.5, 1.5]),
            lfi.mine_local_sample(events, 30, seed),
            lfi.mine_density_sample(events, 30, seed, thetas=[0.5, 1.5]),
        )
    )


def _calo_gan(seed: int) -> str:
    from hepnb.training import EpochArchive

    model = EpochArchive(ROOT / "data" / "calo" / "double").load(650)
    energy = np.array([1024.0, 25000.0, 65536.0, 262144.0])
    return _digest(model.generate(energy, [0, 1, 2, 3], [0, 1, 0, 1], 0.001, -0.002, seed=seed))


SIMULATORS: dict[str, Callable[[int], str]] = {
    "calo.simulate": _calo_simulate,
    "calo.datasets": _calo_datasets,
    "calo.add_noise": _calo_add_noise,
    "calo.split_train_reference": _calo_split,
    "offshell.generate vbf atlas": _offshell("vbf"),
    "offshell.generate vbf delphes": _offshell("vbf", "delphes"),
    "offshell.generate vbf none": _offshell("vbf", "none"),
    "offshell.generate qqzz pathologies": _offshell("qqzz", zero_weight_fraction=0.3, negative_pocket=(50.0, 2.0)),
    "offshell.generate ggzz": _offshell("ggzz"),
    "offshell.unweighted": _offshell_unweighted,
    "offshell.unweight source": _offshell_unweight_source,
    "offshell.run_processor iterative": _offshell_processor,
    "examples.sample_dimuon_mass": _dimuon,
    "lfi.GaussianToy samples": _lfi_toy,
    "lfi.mine samples": _lfi_mining,
    "calo.CaloGAN.generate": _calo_gan,
}


def _worker() -> None:
    """Print ``{"hash": hash("hepnb"), "digests": {seed: {simulator: digest}}}`` as JSON."""
    import torch

    torch.set_num_threads(1)
    digests = {str(seed): {name: run(seed) for name, run in SIMULATORS.items()} for seed in SEEDS}
    print(json.dumps({"hash": hash("hepnb"), "digests": digests}))


@pytest.fixture(scope="module")
def runs() -> list[dict[str, Any]]:
    def run(hash_seed: str) -> dict[str, Any]:
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        done = subprocess.run(
            [sys.executable, __file__], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, ["1", "2"]))


def test_the_two_processes_hash_strings_differently(runs: list[dict[str, Any]]) -> None:
    assert runs[0]["hash"] != runs[1]["hash"]


@pytest.mark.parametrize("name", list(SIMULATORS))
def test_same_seed_same_bytes_other_seed_other_bytes(runs: list[dict[str, Any]], name: str) -> None:
    first, second = (r["digests"] for r in runs)
    for seed in map(str, SEEDS):
        assert first[seed][name] == second[seed][name], f"{name}: seed {seed} differs between two processes"
    assert first[str(SEEDS[0])][name] != first[str(SEEDS[1])][name], f"{name}: seeds {SEEDS} give the same bytes"


if __name__ == "__main__":
    _worker()
