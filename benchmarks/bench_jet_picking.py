"""Which per-epoch metric can pick a jet GAN's epoch: reproducibility and predictive power, side by side in one run.

For every checkpoint of each archive the metrics of :mod:`hepnb.jets.epoch_metrics` are computed on the jets its
training held out (the validation jets, as ``hepnb train jets`` does) for two seeds, together with JetNet's
extrapolated FPD at the same size (the per-epoch metric before 2026-12-06: batches at n_eval/2 ... n_eval, three
points, three batches each, drawn with the same seed as the generated jets), and on ``--test-jets`` new test jets
(:func:`hepnb.jets.evaluation.fresh_jets`, cached in ``build/jets/test``). Printed per archive and metric, as
Spearman rank correlations over the checkpoints:

- ``seeds``: the ranks for seed 0 against those for seed 1 (the generated jets and the metrics' batches). A metric
  whose ranks do not reproduce picks an epoch by chance;
- ``test``: the ranks on the validation jets (seed 0) against the same metric's on the test jets (the FPD at N on
  both sides for the two FPDs): whether the epoch the picker prefers is also better on jets it never saw.

Then the epoch each rule picks for each seed, and the test-jet W1M, W1P and FPD at N of that epoch:
the former rule (W1M and the extrapolated FPD) against the current default (W1M and the FPD at N).

    .venv/bin/python benchmarks/bench_jet_picking.py [ARCHIVE ...] [--test-seed 3] [--test-jets 5000]

Without archives it reads the four in ``data/jets/archives``. One checkpoint takes 5-10 s on one core.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("w1m", "w1p", "fpd", "fpd_n")
RULES = {"former (w1m + fpd)": {"w1m": 1.0, "fpd": 1.0}, "default (w1m + fpd_n)": {"w1m": 1.0, "fpd_n": 1.0}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archives", nargs="*", type=Path, help="archive folders (default: data/jets/archives/*)")
    parser.add_argument("--test-seed", type=int, default=3, help="Pythia seed of the test jets (not the data's)")
    parser.add_argument("--test-jets", type=int, default=5000)
    args = parser.parse_args()
    archives = args.archives or sorted(p for p in (ROOT / "data" / "jets" / "archives").iterdir() if p.is_dir())
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and torch load their thread pools
    import numpy as np
    import pandas as pd
    import torch
    from scipy.stats import spearmanr

    from hepnb.jets import evaluation, read_jets
    from hepnb.jets.epoch_metrics import epoch_metrics
    from hepnb.metrics.jetnet import fpd_kpd_features
    from hepnb.metrics.physics_distances import SmallSampleWarning, fpd
    from hepnb.training import EpochArchive
    from hepnb.widgets.epoch_picker import rank_epochs

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Found keys that are in the model state dict but not in the checkpoint")
    warnings.simplefilter("ignore", SmallSampleWarning)

    class Generated:
        """Jets already generated, in the shape epoch_metrics asks for (each checkpoint generates once per seed)."""

        def __init__(self, jets):
            self.jets = jets

        def generate(self, n, seed):
            return self.jets[:n]

    def scores(reference, seed):
        """The per-epoch metrics on ``reference`` plus the extrapolated FPD, as (model, epoch) -> dict; NaN for a
        diverged generator."""
        current, features, n = epoch_metrics(reference, seed=seed), fpd_kpd_features(reference), len(reference)

        def score(model, epoch):
            jets = model.generate(n, seed=seed)
            if not np.isfinite(jets).all():
                return dict.fromkeys(METRICS, float("nan"))
            extrapolated = fpd(
                features,
                fpd_kpd_features(jets),
                min_samples=n // 2,
                max_samples=n,
                num_batches=3,
                num_points=3,
                seed=seed,
            )
            return current(Generated(jets), epoch) | {"fpd": extrapolated.value}

        return score

    for path in archives:
        setup = evaluation.training_setup(path)
        data = read_jets(ROOT / setup.data if not Path(setup.data).is_absolute() else setup.data)
        validation = evaluation.held_out_jets(data, setup)
        test = evaluation.fresh_jets(data, args.test_jets, ROOT / "build" / "jets" / "test", seed=args.test_seed)
        on = {"seed 0": scores(validation, 0), "seed 1": scores(validation, 1), "test": scores(test, 0)}
        rows = {}
        for epoch in EpochArchive(path).epochs:
            model = evaluation.load_generator(path, epoch)
            rows[epoch] = {(name, m): v for name, score in on.items() for m, v in score(model, epoch).items()}
        everything = pd.DataFrame.from_dict(rows, orient="index")
        table = everything.dropna()  # a diverged checkpoint is never picked
        print(
            f"\n{path.name} ({setup.model}, {len(table)} checkpoints, {len(everything) - len(table)} diverged left "
            f"out, {len(validation)} validation jets, {len(test)} test jets)"
        )
        print(f"  {'metric':8} {'seeds':>6} {'test':>6}   (Spearman rank correlations over the checkpoints)")
        for metric in METRICS:
            against = "fpd_n" if metric == "fpd" else metric
            seeds = spearmanr(table[("seed 0", metric)], table[("seed 1", metric)])[0]
            predicts = spearmanr(table[("seed 0", metric)], table[("test", against)])[0]
            print(f"  {metric:8} {seeds:6.2f} {predicts:6.2f}")
        for rule, weights in RULES.items():
            picks = []
            for seed in ("seed 0", "seed 1"):
                epoch = int(rank_epochs(table[seed], weights).index[0])
                on_test = table.loc[epoch, "test"]
                picks.append(
                    f"{seed}: epoch {epoch:3d} (test W1M {1e3 * on_test['w1m']:.2f}, W1P {1e3 * on_test['w1p']:.2f}, "
                    f"FPD at N {1e3 * on_test['fpd_n']:.1f}, x1e3)"
                )
            print(f"  {rule:22} " + "; ".join(picks))


if __name__ == "__main__":
    main()
