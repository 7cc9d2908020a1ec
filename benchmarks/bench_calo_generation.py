"""Calorimeter showers per second on CPU: the GAN's generator against the parametric simulator, side by side.

Run: ``.venv/bin/python benchmarks/bench_calo_generation.py [--quick] [--archive data/calo/double] [--epoch N]``.
Times batch 1 and batch 10,000 of 65.5 GeV photons, each generator in a fresh process on one thread, and prints
showers/s, the GAN/simulator ratio and each process's peak memory, next to the Geant4 time the thesis quotes (10 s per
65.5 GeV shower; quoted, not measured here). The GAN's speed does not depend on its weights: without an archive an
untrained generator of the same architecture is timed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hepnb.calo.gan import CaloGAN
from hepnb.calo.speed import QUOTED, gan_speed, simulator_speed
from hepnb.training import EpochArchive


def load_generator(archive: Path, epoch: int | None) -> tuple[CaloGAN, str]:
    """The archive's generator at ``epoch`` (last by default), or an untrained one when there is no archive."""
    if (archive / "index.json").is_file():
        model = EpochArchive(archive).load(epoch)
        return model, f"{archive}, epoch {epoch if epoch is not None else EpochArchive(archive).last_epoch}"
    return CaloGAN(), f"untrained generator (no archive at {archive}; the speed does not depend on the weights)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="batch 1,000 instead of 10,000 and fewer batch-1 calls")
    parser.add_argument("--archive", type=Path, default=Path("data/calo/double"), help="epoch archive of the GAN")
    parser.add_argument("--epoch", type=int, default=None, help="checkpoint to time (default: the last)")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads of each measuring process")
    args = parser.parse_args()

    large = 1_000 if args.quick else 10_000
    model, what = load_generator(args.archive, args.epoch)
    print(f"GAN: {what}; {args.threads} thread(s), 65.5 GeV photons, each generator in a fresh process")
    gan = {
        r.batch_size: r for r in gan_speed(model, (1, large), n_single=50 if args.quick else 200, threads=args.threads)
    }
    sim = {
        r.batch_size: r for r in simulator_speed((1, large), n_single=10 if args.quick else 50, threads=args.threads)
    }

    geant4 = QUOTED["geant4_65gev"].value
    header = (
        f"{'batch':>7s} {'GAN [showers/s]':>16s} {'simulator [showers/s]':>22s} {'GAN / simulator':>16s} "
        f"{'GAN peak [MiB]':>15s} {'simulator peak [MiB]':>21s} {'GAN x Geant4':>13s}"
    )
    print(header)
    for batch in (1, large):
        g, s = gan[batch], sim[batch]
        print(
            f"{batch:7d} {g.showers_per_second:16.0f} {s.showers_per_second:22.0f} "
            f"{g.showers_per_second / s.showers_per_second:16.1f} {g.peak_memory_mib:15.0f} "
            f"{s.peak_memory_mib:21.0f} {g.showers_per_second * geant4:13.0f}"
        )
    print(f"Geant4 reference: {geant4:g} s per 65.5 GeV photon (quoted: {QUOTED['geant4_65gev'].source})")


if __name__ == "__main__":
    main()
