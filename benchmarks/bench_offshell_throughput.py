"""Throughput of hepnb.offshell generation + mu-template histogramming: one process vs a dask LocalCluster.

Prints weighted events generated per second (total and per core) for coffea's IterativeExecutor (1 core) and the
DaskExecutor on a LocalCluster of ``--workers`` single-threaded worker processes, side by side, and their ratio.
The cluster's start-up (spawning workers, first imports) is timed separately from the steady-state run.
Both runs produce the same histograms (checked at the end). Then ``osh.generate`` alone (generation, the
ATLAS-like detector and the ch6 selection, one process) with the exact kinematics (the default) and the collinear
ones (``VBFModel.collinear()``), in alternating runs, with the median of their ratio.

    .venv/bin/python benchmarks/bench_offshell_throughput.py --n 400000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from hepnb import offshell as osh

OBSERVABLES = {"m4l": (40, 220.0, 1020.0), "delta_eta_jj": (18, 0.0, 9.0), "pt_j1": (20, 30.0, 430.0)}
MUS = [0.0, 0.5, 1.0, 2.0, 4.0, 9.0]


def _timed(**kwargs: object) -> tuple[float, dict]:
    start = time.perf_counter()
    out = osh.run_processor(**kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400_000, help="weighted VBF events to generate per run")
    parser.add_argument("--chunk-size", type=int, default=25_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs of the kinematics comparison")
    args = parser.parse_args()
    common = dict(n=args.n, seed=args.seed, mus=MUS, observables=OBSERVABLES, chunk_size=args.chunk_size)

    from hepnb.offshell.processor import local_client

    osh.generate(args.chunk_size, seed=0, progress=False)  # warm imports and caches
    t_single, single = _timed(executor="iterative", **common)
    start = time.perf_counter()
    with local_client(args.workers, worker_processes=True) as client:
        warm = dict(common, n=args.chunk_size * args.workers)
        osh.run_processor(executor="dask", client=client, **warm)  # workers import hepnb, coffea, numpy
        t_startup = time.perf_counter() - start
        t_cluster, cluster = _timed(executor="dask", client=client, **common)

    rate_single = args.n / t_single
    rate_cluster = args.n / t_cluster
    cores = os.cpu_count()
    print(
        f"machine: {cores} logical cores (os.cpu_count); n = {args.n:,} weighted events, "
        f"chunk_size = {args.chunk_size:,}, {len(MUS)} mu values x {len(OBSERVABLES)} observables"
    )
    print(f"{'':28s} {'single process':>16s} {f'dask {args.workers} workers':>16s} {'ratio':>8s}")
    print(f"{'cluster start + warm-up [s]':28s} {'-':>16s} {t_startup:16.2f}")
    print(f"{'wall time [s]':28s} {t_single:16.2f} {t_cluster:16.2f} {t_cluster / t_single:8.2f}")
    print(f"{'events / s':28s} {rate_single:16,.0f} {rate_cluster:16,.0f} {rate_cluster / rate_single:8.2f}")
    per_core_single, per_core_cluster = rate_single, rate_cluster / args.workers
    print(
        f"{'events / s / core':28s} {per_core_single:16,.0f} {per_core_cluster:16,.0f} "
        f"{per_core_cluster / per_core_single:8.2f}"
    )
    same = all(
        np.allclose(single["hists"][o].values(flow=True), cluster["hists"][o].values(flow=True), rtol=1e-12, atol=0)
        for o in OBSERVABLES
    )
    print(f"histograms identical (rtol 1e-12): {same}; selected events: {single['n_selected']}")
    _compare_kinematics(args.n, args.seed, args.chunk_size, args.repeats)


def _compare_kinematics(n: int, seed: int, chunk_size: int, repeats: int) -> None:
    """Generation rate (events generated per second, one process) of the exact against the collinear kinematics."""
    times: dict[str, list[float]] = {"exact": [], "collinear": []}
    models = {"exact": osh.VBFModel(), "collinear": osh.VBFModel.collinear()}
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            osh.generate(n, seed=seed, chunk_size=chunk_size, model=model, progress=False)
            times[name].append(time.perf_counter() - start)
    ratios = np.array(times["exact"]) / np.array(times["collinear"])
    print(f"generation only, one process, {repeats} alternating runs (median, range):")
    for name, values in times.items():
        rates = n / np.array(values)
        print(f"  {name:10s} {np.median(rates):12,.0f} events / s ({rates.min():,.0f}-{rates.max():,.0f})")
    print(f"  time exact / collinear: {np.median(ratios):.3f} ({ratios.min():.3f}-{ratios.max():.3f})")


if __name__ == "__main__":
    main()
