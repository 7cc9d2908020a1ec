"""Study 5's targets side by side, in one run: the better jet GAN against the real-vs-real floor, and generation
speed against Pythia 8 + FastJet per CPU core.

For each class, every model is evaluated at the epoch the notebook's picker chose (its manifest in
``build/05_jet_generation``, else the automatic weighted-rank rule, which ranks the epochs on the jets its training
held out) on ``--test-jets`` test jets that neither the training nor the epoch choice saw: new Pythia 8 + FastJet
jets of the dataset's preset and class (:func:`hepnb.jets.evaluation.fresh_jets`, generated once into
``build/jets/test``). Half are the reference, half the real-vs-real floor, and the model generates as many jets.
At the default 2,500 jets per half a floor moves by tens of per cent from one sample to the next, and a ratio with
it, so this is repeated for every seed of ``--test-seeds`` (the generated jets with ``--seed`` plus the sample's
index). Printed ratios, per test sample and as mean and standard deviation over them:

- FPD / real-vs-real FPD (target <= 3; MPGAN on gluon jets: 3.8, arXiv:2211.10295 table 3) and
  W1M / real-vs-real W1M (target <= 1.5; MPGAN: 1.9) for the better model (smaller mean FPD ratio); the verdict
  reads the mean. The floor is its value, or its error when it is consistent with zero (FPD's often is);
- the models' jets per second on one thread over Pythia 8 + FastJet's per core (target >= 100 in bulk): one jet
  per forward pass, and 10,000 jets in passes of the generators' default size
  (``hepnb.jets.lsgan.GENERATION_BATCH``) and of 10,000, side by side. On a shared machine one timing moves by
  several per cent, so every generator is timed ``--repeats`` times in alternating rounds; the table holds the
  median time of each, and each round's ratio is printed too.

    .venv/bin/python benchmarks/bench_jets.py [--archives data/jets/archives] [--data data/jets] [--pythia-jets 300]
        [--repeats 3] [--test-seeds 2 3 4] [--test-jets 5000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"SetGAN": "setgan", "EPiC-GAN": "epic"}
TARGETS = {"FPD": 3.0, "W1M": 1.5, "speed": 100.0}


def chosen_epoch(archive: Path, cls: str) -> int:
    from hepnb.jets.epoch_metrics import DEFAULT_WEIGHTS
    from hepnb.training import EpochArchive
    from hepnb.widgets import EpochPicker

    manifest = ROOT / "build" / "05_jet_generation" / f"choice_{cls}_{archive.name}.json"
    return EpochPicker(EpochArchive(archive), weights=DEFAULT_WEIGHTS, manifest=manifest).epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archives", type=Path, default=ROOT / "data" / "jets" / "archives")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "jets", help="holds jetnet_top, jetnet_qcd")
    parser.add_argument("--classes", nargs="+", default=["top", "qcd"])
    parser.add_argument("--pythia-jets", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds of the speed measurements")
    parser.add_argument(
        "--test-seeds", type=int, nargs="+", default=[2, 3, 4], help="Pythia seeds of the test samples (not the data's)"
    )
    parser.add_argument("--test-jets", type=int, default=5000, help="test jets per class: reference + floor")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: time each generator at least once")
    if len(set(args.test_seeds)) < len(args.test_seeds):
        parser.error(f"--test-seeds {args.test_seeds}: a repeated seed repeats its sample and understates the spread")
    if args.test_jets < 16:
        parser.error(f"--test-jets {args.test_jets}: give at least 16 (two halves of 8 jets)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and torch load their thread pools
    import numpy as np
    import torch

    from hepnb.jets import evaluation, read_jets
    from hepnb.jets.lsgan import GENERATION_BATCH

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Found keys that are in the model state dict but not in the checkpoint")
    settings = evaluation.MetricSettings(metrics=("W1M", "FPD"))
    timed = {}  # the first class's models, timed after the metrics
    print(f"{'class':5} {'model':9} {'epoch':>5} {'jets':>5} {'test seed':>9} {'W1M/floor':>10} {'FPD/floor':>10}")
    for cls in args.classes:
        archives = {name: args.archives / f"{key}_{cls}" for name, key in MODELS.items()}
        setups = [evaluation.training_setup(path) for path in archives.values()]
        data = read_jets(args.data / f"jetnet_{cls}")
        if data.meta["seed"] in args.test_seeds:
            parser.error(f"--test-seeds {args.test_seeds}: {data.meta['seed']} is the seed of the {cls} training jets")
        evaluation.held_out_jets(data, setups)  # checks that the archives were trained on these jets
        epochs = {name: chosen_epoch(path, cls) for name, path in archives.items()}
        models = {
            name: (epochs[name], evaluation.load_generator(path, epochs[name])) for name, path in archives.items()
        }
        ratios = {name: {"W1M": [], "FPD": []} for name in models}
        for index, test_seed in enumerate(args.test_seeds):
            test = evaluation.fresh_jets(data, args.test_jets, ROOT / "build" / "jets" / "test", seed=test_seed)
            reference, floor_jets = evaluation.split_reference(test, seed=0)
            floor = evaluation.compare(reference, floor_jets, "real vs real", settings)
            for name, (epoch, model) in models.items():
                jets = evaluation.sample_jets(model, len(reference), seed=args.seed + index)
                row = evaluation.compare(reference, jets, name, settings)
                for metric, values in ratios[name].items():
                    values.append(row[metric].value / max(floor[metric].value, floor[metric].error))
                print(
                    f"{cls:5} {name:9} {epoch:5d} {len(reference):5d} {test_seed:9d} {ratios[name]['W1M'][-1]:10.2f} "
                    f"{ratios[name]['FPD'][-1]:10.2f}"
                )
        if cls == args.classes[0]:
            timed = {name: model for name, (_, model) in models.items()}
        best = min(ratios, key=lambda name: np.mean(ratios[name]["FPD"]))
        for metric in ("FPD", "W1M"):
            values = ratios[best][metric]
            mean = np.mean(values)
            spread = f"+- {np.std(values, ddof=1):.2f} over {len(values)} test samples" if len(values) > 1 else ""
            verdict = "meets" if mean <= TARGETS[metric] else "misses"
            print(
                f"  {cls}: better model {best}: {metric} / real-vs-real = {mean:.2f} {spread or '(one test sample)'} "
                f"({verdict} the target <= {TARGETS[metric]:g})"
            )
    rounds = []
    batches = (1, GENERATION_BATCH, 10_000)
    for _ in range(args.repeats):
        speeds = []
        for name, model in timed.items():
            speeds += evaluation.model_speed(model, name, batches, n_jets=10_000, threads=1, seed=args.seed)
        speeds += [evaluation.pythia_speed(args.pythia_jets, jet_class=cls) for cls in args.classes]
        rounds.append(speeds)
    median = [
        dataclasses.replace(first, seconds=float(np.median([speeds[i].seconds for speeds in rounds])))
        for i, first in enumerate(rounds[0])
    ]
    table = evaluation.speed_table(median)
    print()
    print(f"median time of {args.repeats} rounds:")
    print(table.round(1).to_string())
    per_round = [_fastest(evaluation.speed_table(speeds)) for speeds in rounds]
    fastest = _fastest(table)
    verdict = "meets" if fastest >= TARGETS["speed"] else "misses"
    print(
        f"fastest model / Pythia 8 + FastJet per core: {fastest:.0f}x from the median times "
        f"({verdict} the target >= {TARGETS['speed']:g}x); each round: " + ", ".join(f"{r:.0f}x" for r in per_round)
    )


def _fastest(table: pd.DataFrame) -> float:
    """The largest model-over-Pythia ratio of a :func:`hepnb.jets.evaluation.speed_table`."""
    return float(table[[b != "-" for _, b in table.index]]["x Pythia+FastJet"].max())


if __name__ == "__main__":
    main()
