"""Throughput of the parametric shower simulator on one CPU core (showers per second).

Run: ``.venv/bin/python benchmarks/bench_calo_simulate.py [--quick]``. Prints batch 1, batch 10,000 (65.5 GeV)
and the full 88,000-shower thesis set, next to the thesis's quoted Geant4 time (10 s per 65.5 GeV shower,
2.4 s at 16 GeV; quoted, not measured here).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, before numpy is imported

import argparse  # noqa: E402
import time  # noqa: E402

from hepnb.calo.simulate import simulate, standard_dataset  # noqa: E402

GEANT4_SECONDS_65GEV = 10.0


def rate(n_showers: int, seconds: float) -> float:
    """Showers per second."""
    return n_showers / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 10 s)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    rows: list[tuple[str, int, float]] = []
    n_single = 50 if args.quick else 200
    simulate(1, [65536.0], seed=0)  # warm-up (imports, caches)
    start = time.perf_counter()
    for i in range(n_single):
        simulate(1, [65536.0], seed=i)
    rows.append(("batch 1, 65.5 GeV", n_single, time.perf_counter() - start))

    n_batch = 1000 if args.quick else 10000
    start = time.perf_counter()
    simulate(n_batch, [65536.0], seed=1, progress=False)
    rows.append((f"batch {n_batch}, 65.5 GeV", n_batch, time.perf_counter() - start))

    fraction = 0.05 if args.quick else 1.0
    start = time.perf_counter()
    showers = standard_dataset(fraction=fraction, seed=2, progress=not args.quick)
    rows.append((f"thesis set x{fraction:g} (9 energies)", len(showers), time.perf_counter() - start))

    print(f"{'case':34s} {'showers':>8s} {'seconds':>9s} {'showers/s':>10s} {'x Geant4 (10 s/shower)':>24s}")
    for name, n, seconds in rows:
        r = rate(n, seconds)
        print(f"{name:34s} {n:8d} {seconds:9.2f} {r:10.0f} {r * GEANT4_SECONDS_65GEV:24.0f}")


if __name__ == "__main__":
    main()
