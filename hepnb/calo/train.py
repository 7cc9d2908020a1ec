"""``hepnb train calo``: train the calorimeter GAN on simulated showers into an EpochArchive.

The training set is the thesis's (nine energies 2^k MeV, 0.20 < |eta| < 0.25), simulated from ``seed``; the
GAN trains on one half and the per-epoch metrics of :mod:`hepnb.calo.epoch_metrics` are computed on showers of the
other half. Killing the command and running it again resumes from the last checkpoint. ``training.json`` in
the archive records the command, the configuration, the hardware and the accumulated wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from hepnb.calo.data import CaloDataModule
from hepnb.calo.epoch_metrics import epoch_metrics
from hepnb.calo.gan import CaloGAN
from hepnb.calo.simulate import standard_dataset
from hepnb.errors import InputError
from hepnb.io import write_json
from hepnb.training import EpochArchive, fit

__all__ = ["CaloTraining", "train_calo", "add_arguments"]


@dataclass(frozen=True)
class CaloTraining:
    """Everything that defines a calorimeter-GAN training (a resumed training must use the same)."""

    epochs: int = 400
    every: int = 20
    seed: int = 1
    fraction: float = 1.0
    double_critic: bool = True
    optimizer: str = "rmsprop"
    lr: float = 1e-4
    n_metric_showers: int = 5000


def _hardware() -> dict[str, object]:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "gpu": gpu, "torch": torch.__version__}


def train_calo(output: str | os.PathLike[str], config: CaloTraining, *, progress: bool = True,
               command: str | None = None, **trainer_options: object) -> EpochArchive:
    """Train (or resume) the calorimeter GAN described by ``config`` into the archive folder ``output``."""
    output = Path(output)
    record_path = output / "training.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    same = {k: v for k, v in asdict(config).items() if k != "epochs"}  # more epochs: a longer training
    if record and {k: v for k, v in record["config"].items() if k != "epochs"} != same:
        raise InputError(
            f"{output} holds a training with {record['config']}, not {asdict(config)}: "
            "resume with the same options (only --epochs may change) or use a new folder"
        )
    showers = standard_dataset(config.fraction, seed=config.seed, progress=progress)
    data = CaloDataModule(showers.cells, showers.energy, showers.p, showers.e, showers.delta_eta,
                          showers.delta_phi, seed=config.seed, energy_unit="MeV", cell_unit="MeV")
    reference = data.reference
    if len(reference) > config.n_metric_showers:
        pick = np.random.default_rng(config.seed).choice(len(reference), config.n_metric_showers, replace=False)
        reference = reference.subset(np.sort(pick))
    preprocessing = data.preprocessing.to_dict()

    def model() -> CaloGAN:
        return CaloGAN(preprocessing=preprocessing, double_critic=config.double_critic,
                       optimizer=config.optimizer, lr=config.lr, seed=config.seed)

    start = time.perf_counter()
    earlier_seconds = record.get("wall_seconds", 0.0)
    physics_metrics = epoch_metrics(reference, seed=config.seed)

    def metrics_and_record(model: CaloGAN, epoch: int) -> dict[str, float]:
        # the record is rewritten every epoch, so a killed training still says how far it got and how long it took
        write_json(record_path, {
            "command": command or record.get("command"),
            "config": asdict(config),
            "hardware": _hardware(),
            "wall_seconds": earlier_seconds + time.perf_counter() - start,
            "epochs_done": epoch,
            "training_showers": len(data.train),
        })
        return physics_metrics(model, epoch)

    return fit(model, data, output, max_epochs=config.epochs, seed=config.seed, every=config.every,
               metrics=metrics_and_record, progress=progress, **trainer_options)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hepnb train calo``."""
    defaults = CaloTraining()
    parser.add_argument("--output", required=True, help="archive folder (resumes if it holds checkpoints)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="total number of epochs")
    parser.add_argument("--every", type=int, default=defaults.every, help="checkpoint period in epochs")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--fraction", type=float, default=defaults.fraction,
                        help="fraction of the thesis's 88,000 showers to simulate (1.0 = all)")
    parser.add_argument("--single-critic", action="store_true", help="train the single-critic ablation")
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=["rmsprop", "adam"])
    parser.add_argument("--lr", type=float, default=defaults.lr, help="learning rate (thesis: 1e-5)")
    parser.add_argument("--metric-showers", type=int, default=defaults.n_metric_showers,
                        help="reference showers used for the per-epoch metrics")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--accelerator", default="cpu", help="Lightning accelerator: cpu, gpu, auto")


def run(args: argparse.Namespace) -> int:
    """Handler of ``hepnb train calo``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    config = CaloTraining(epochs=args.epochs, every=args.every, seed=args.seed, fraction=args.fraction,
                          double_critic=not args.single_critic, optimizer=args.optimizer, lr=args.lr,
                          n_metric_showers=args.metric_showers)
    archive = train_calo(args.output, config, command="hepnb " + " ".join(sys.argv[1:]),
                         accelerator=args.accelerator)
    print(f"{archive}: {len(archive.history)} epochs recorded")
    return 0
