"""hepnb.offshell I/O and scale-out: same seed -> same bytes, coffea processor == single-process histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hepnb import offshell as osh
from hepnb.errors import InputError

OBSERVABLES = {"m4l": (20, 220.0, 1020.0), "delta_eta_jj": (18, 0.0, 9.0), "pt_j1": [30.0, 60.0, 100.0, 200.0, 500.0]}
MUS = [0.0, 1.0, 4.0]


def test_same_seed_gives_the_same_parquet_bytes(tmp_path: Path) -> None:
    files = []
    for i, seed in enumerate((3, 3, 4)):
        events = osh.generate(12_000, seed=seed, chunk_size=4_000, preset="thesis-ch7", detector="delphes")
        files.append(osh.write_parquet(events, tmp_path / f"sample_{i}.parquet"))
    first, second, other = (f.read_bytes() for f in files)
    assert first == second
    assert first != other
    back = osh.read_parquet(files[0])
    assert back.meta["seed"] == 3 and back.meta["n_generated"] == 12_000
    assert back.meta["config"]["preset"] == "thesis-ch7"
    assert np.array_equal(back.weight(2.0), events_weight(files[1], 2.0))
    assert back.array.fields == ["event", "process", "w_S", "w_I", "w_B", "z", "x"]
    with pytest.raises(InputError, match="no parquet file"):
        osh.read_parquet(tmp_path / "missing.parquet")


def events_weight(path: Path, mu: float) -> np.ndarray:
    return osh.read_parquet(path).weight(mu)


def test_chunks_do_not_depend_on_how_many_are_generated() -> None:
    small = osh.generate(8_000, seed=9, chunk_size=4_000, preset=None)
    large = osh.generate(12_000, seed=9, chunk_size=4_000, preset=None)
    # the first two chunks are identical up to the 1/n_total weight normalisation
    n = len(small)
    assert np.array_equal(np.asarray(small.z.m4l), np.asarray(large.z.m4l)[:n])
    assert np.allclose(small.weight(1.0) * 8_000, large.weight(1.0)[:n] * 12_000, rtol=1e-12)


def _reference() -> dict:
    out = {}
    for process, n in (("vbf", 30_000), ("qqzz", 20_000)):
        events = osh.generate(n, seed=17, process=process, chunk_size=10_000, progress=False)
        out[process] = {obs: osh.histogram_yields(events, obs, bins, MUS) for obs, bins in OBSERVABLES.items()}
    return out


def _assert_same(result: dict, reference: dict) -> None:
    for process, hists in reference.items():
        for obs, h in hists.items():
            got = result["hists"][obs][{"process": process}]
            assert np.allclose(got.values(flow=True), h.values(flow=True), rtol=1e-12, atol=0)
            assert np.allclose(got.variances(flow=True), h.variances(flow=True), rtol=1e-12, atol=0)


def test_processor_iterative_and_dask_match_single_process() -> None:
    reference = _reference()
    kwargs = dict(seed=17, mus=MUS, observables=OBSERVABLES, chunk_size=10_000)
    counts = {"vbf": 30_000, "qqzz": 20_000}
    iterative = osh.run_processor(counts, executor="iterative", **kwargs)
    _assert_same(iterative, reference)
    assert iterative["n_generated"] == counts
    dask = osh.run_processor(counts, executor="dask", n_workers=2, worker_processes=False, **kwargs)
    _assert_same(dask, reference)
    assert dask["n_selected"] == iterative["n_selected"]
    h = dask["hists"]["m4l"][{"process": "vbf"}]
    # the templates follow N(mu) = mu S + sqrt(mu) I + B bin by bin
    s_i_b = np.array([h[{"mu": m}].values() for m in ("0", "1", "4")])
    b, n1, n4 = s_i_b
    s = (n4 - 2 * n1 + b) / 2
    i = n1 - b - s
    assert np.all(i <= 1e-12) and np.all(s >= 0)
