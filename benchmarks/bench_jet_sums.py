"""The jet GANs with and without a calibration of each jet's summed pT_rel, side by side on test jets.

The QCD generators spread the summed pT_rel of a jet's 30 particles, which for real QCD jets piles up just below 1,
and lose coverage (COV) where they do. A second, calibration stage of the generator fixes the sums: each generated
jet's pT_rel are multiplied by one factor, so that its sum moves through the map from the generator's summed pT_rel
to the training jets' (quantile to quantile, :func:`hepnb.jets.evaluation.match_pt_sums` with ``source``), fitted
on ``--calibration-jets`` generated jets of another noise seed and on the archive's training jets
(:func:`hepnb.jets.evaluation.training_jets`). Neither the held-out nor the test jets enter the map.

For each class and model (at the epoch the notebook's picker chose, as ``bench_jets.py`` takes it) and each test
sample of ``--test-seeds`` (new Pythia 8 + FastJet jets, half the reference, half the real-vs-real floor, and
as many jets of the other class for the top-vs-QCD scale), printed side by side for the jets as generated and as
calibrated ("generated -> calibrated"):

- W1M / real-vs-real W1M and FPD / real-vs-real FPD (the study's targets: <= 1.5 and <= 3);
- COV's fraction of the top-vs-QCD gap, at JetNet's 10 batches of 100 jets: ``of gap`` of
  :func:`hepnb.jets.evaluation.distance_summary` on 1 - COV, (COV_floor - COV) / (COV_floor - COV_scale); beside it
  ``gap sigma``, the top-QCD difference in COV over its error (where it is small, the fraction is mostly noise);
- the fraction of jets whose particles carry more than 1.01 of the jet's pT (real jets: a few per mille).

The jet mass of massless particles scales with a common factor of their pT, so the calibration moves W1M too.

    .venv/bin/python benchmarks/bench_jet_sums.py [--classes top qcd] [--test-seeds 2 3 4] [--test-jets 4000]
        [--calibration-jets 15000]
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

from bench_jets import chosen_epoch  # the notebook's choice of epoch, as bench_jets.py takes it

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"SetGAN": "setgan", "EPiC-GAN": "epic"}
OTHER = {"top": "qcd", "qcd": "top"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archives", type=Path, default=ROOT / "data" / "jets" / "archives")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "jets", help="holds jetnet_top, jetnet_qcd")
    parser.add_argument("--classes", nargs="+", default=["top", "qcd"], choices=sorted(OTHER))
    parser.add_argument("--seed", type=int, default=7, help="noise of the evaluated jets (plus the sample's index)")
    parser.add_argument("--calibration-seed", type=int, default=1000, help="noise of the jets the map is fitted on")
    parser.add_argument("--calibration-jets", type=int, default=15000)
    parser.add_argument("--test-seeds", type=int, nargs="+", default=[2, 3, 4], help="Pythia seeds of the test jets")
    parser.add_argument("--test-jets", type=int, default=4000, help="test jets per class: reference + floor")
    args = parser.parse_args()
    if len(set(args.test_seeds)) < len(args.test_seeds):
        parser.error(f"--test-seeds {args.test_seeds}: a repeated seed repeats its sample and understates the spread")
    if args.seed <= args.calibration_seed < args.seed + len(args.test_seeds):
        parser.error(f"--calibration-seed {args.calibration_seed} is the noise of an evaluated sample: choose another")
    if args.test_jets < 16 or args.calibration_jets < 100:
        parser.error("give at least 16 --test-jets and 100 --calibration-jets")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and torch load their thread pools
    import numpy as np
    import torch

    from hepnb.jets import evaluation, read_jets

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Found keys that are in the model state dict but not in the checkpoint")
    settings = evaluation.MetricSettings(metrics=("W1M", "FPD", "COV"), cov_mmd_jets=100, cov_mmd_batches=10)
    data = {cls: read_jets(args.data / f"jetnet_{cls}") for cls in {*args.classes, *(OTHER[c] for c in args.classes)}}
    for cls, sample in data.items():
        if sample.meta["seed"] in args.test_seeds:
            parser.error(f"--test-seeds {args.test_seeds}: {sample.meta['seed']} is the {cls} training jets' seed")
    halves = {}  # (class, test seed) -> (reference, floor)
    for cls in data:
        for test_seed in args.test_seeds:
            test = evaluation.fresh_jets(data[cls], args.test_jets, ROOT / "build" / "jets" / "test", seed=test_seed)
            halves[(cls, test_seed)] = evaluation.split_reference(test, seed=0)
    yardsticks = {}  # (class, test seed) -> (floor row, scale row)
    for cls in args.classes:
        for test_seed in args.test_seeds:
            reference, floor_jets = halves[(cls, test_seed)]
            yardsticks[(cls, test_seed)] = (
                evaluation.compare(reference, floor_jets, "real vs real", settings),
                evaluation.compare(reference, halves[(OTHER[cls], test_seed)][1], "top vs QCD", settings),
            )
    columns = ("W1M/floor", "FPD/floor", "COV of gap", "sum > 1.01")
    print(
        f"{'class':5} {'model':9} {'epoch':>5} {'test seed':>9} " + " ".join(f"{c:>16}" for c in columns) + " gap sigma"
    )
    for cls in args.classes:
        for name, key in MODELS.items():
            archive = args.archives / f"{key}_{cls}"
            epoch = chosen_epoch(archive, cls)
            model = evaluation.load_generator(archive, epoch)
            training = evaluation.training_jets(data[cls], evaluation.training_setup(archive))
            source = evaluation.sample_jets(model, args.calibration_jets, seed=args.calibration_seed)
            found = []  # per test sample: [as generated, calibrated] x columns
            for index, test_seed in enumerate(args.test_seeds):
                reference, _ = halves[(cls, test_seed)]
                floor, scale = yardsticks[(cls, test_seed)]
                generated = evaluation.sample_jets(model, len(reference), seed=args.seed + index)
                pair = []
                for jets in (generated, evaluation.match_pt_sums(generated, training, source=source)):
                    row = evaluation.compare(reference, jets, name, settings)
                    summary = evaluation.distance_summary(row, floor, scale)
                    values = [row[m].value / max(floor[m].value, floor[m].error) for m in ("W1M", "FPD")]
                    pair.append([*values, summary.loc["COV", "of gap"], float(np.mean(evaluation.pt_sum(jets) > 1.01))])
                found.append(pair)
                cells = " ".join(f"{a:7.3f} -> {b:6.3f}" for a, b in zip(*pair))
                gap = summary.loc["COV", "gap sigma"]
                print(f"{cls:5} {name:9} {epoch:5d} {test_seed:9d} {cells} {gap:9.1f}", flush=True)
            table = np.array(found)  # [samples, 2, columns]
            spread = table.std(axis=0, ddof=1) if len(found) > 1 else np.zeros(table.shape[1:])
            for column, (mean, sd) in enumerate(zip(table.mean(axis=0).T, spread.T)):
                print(
                    f"  {cls} {name}, {columns[column]}: {mean[0]:.3f} +- {sd[0]:.3f} as generated -> "
                    f"{mean[1]:.3f} +- {sd[1]:.3f} calibrated ({len(found)} test samples)"
                )


if __name__ == "__main__":
    main()
