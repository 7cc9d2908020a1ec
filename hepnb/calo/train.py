"""``hepnb train calo``: train the calorimeter GAN on simulated showers into an EpochArchive.

The training set is the thesis's (nine energies 2^k MeV, 0.20 < |eta| < 0.25), simulated from ``seed`` with the
default tuning of the simulator or the one ``--shower-model`` names (`hepnb.calo.gflash.SHOWER_MODELS`); the GAN
trains on one half and the per-epoch metrics of :mod:`hepnb.calo.epoch_metrics` are computed on showers of the other
half. Killing the command and running it again resumes from the last checkpoint. ``training.json`` in
the archive records the command, the configuration, the simulator's parameters, the hardware and the accumulated wall
time; a training whose shower model has changed since it started is not resumed.

The module imports torch only when a training starts, so ``hepnb --help`` stays light; the options are checked
(positive counts, an accelerator this machine has, an output folder, a readable ``training.json``) before any
shower is simulated, and so is the archive: its writer lock is taken first (a second training into the same folder
is refused at once), and a folder holding another model is refused. ``epochs_done`` in ``training.json`` is written
after the archive records an epoch, so it never runs ahead of ``history.json``.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from hepnb.calo.gflash import SHOWER_MODELS, ShowerModel
from hepnb.calo.simulate import standard_dataset
from hepnb.errors import InputError
from hepnb.training.command import add_hardware_arguments, positive_int

if TYPE_CHECKING:
    from hepnb.calo.data import CaloDataModule
    from hepnb.training import EpochArchive
    from hepnb.training.command import Prepared
    from hepnb.training.record import TrainingRecord

__all__ = [
    "CaloTraining",
    "train_calo",
    "training_data",
    "recorded_shower_model",
    "shower_model_record",
    "add_arguments",
]

COMMAND = "hepnb train calo"


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
    max_response: float | None = None
    shower_model: str | None = None  # a name of SHOWER_MODELS; None: the default model (as before the option)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shower_model", recorded_shower_model(self.shower_model))


def recorded_shower_model(name: str | None) -> str | None:
    """``--shower-model`` as a ``training.json`` records it: None for the default model (as the trainings from before
    the option), an unknown name refused before any archive is touched.

    >>> recorded_shower_model("default"), recorded_shower_model("atlas_lateral")
    (None, 'atlas_lateral')
    """
    ShowerModel.named(name)
    return None if name == "default" else name


def train_calo(
    output: str | os.PathLike[str],
    config: CaloTraining,
    *,
    progress: bool = True,
    command: str | None = None,
    **trainer_options: object,
) -> EpochArchive:
    """Train (or resume) the calorimeter GAN described by ``config`` into the archive folder ``output``.

    The archive's writer lock is taken before any shower is simulated: a folder another process is training
    into, or one holding another model, is refused at once (:func:`hepnb.training.command.train_recorded`).
    ``trainer_options`` go to :func:`hepnb.training.fit` (``accelerator="gpu"``, ``devices``, ``strategy``).
    """
    from hepnb.calo.gan import CaloGAN
    from hepnb.calo.networks import checked_max_response
    from hepnb.training.command import train_recorded

    if config.max_response is not None:  # checked before any shower is simulated
        checked_max_response(config.max_response)
    return train_recorded(
        output,
        config,
        lambda record: _prepare(config, record, progress),
        command_name=COMMAND,
        model_class=CaloGAN,
        progress=progress,
        command=command,
        **trainer_options,
    )


def _prepare(config: CaloTraining, record: TrainingRecord, progress: bool) -> Prepared:
    """The showers, the GAN factory and the per-epoch metrics, once the archive is locked."""
    from hepnb.calo.epoch_metrics import epoch_metrics
    from hepnb.calo.gan import CaloGAN
    from hepnb.training.command import Prepared

    simulator = shower_model_record(record, config.shower_model, COMMAND)
    data = training_data(config.fraction, config.seed, config.shower_model, progress=progress)
    reference = data.reference
    if len(reference) > config.n_metric_showers:
        pick = np.random.default_rng(config.seed).choice(len(reference), config.n_metric_showers, replace=False)
        reference = reference.subset(np.sort(pick))
    preprocessing = data.preprocessing.to_dict()

    def model() -> CaloGAN:
        return CaloGAN(
            preprocessing=preprocessing,
            double_critic=config.double_critic,
            optimizer=config.optimizer,
            lr=config.lr,
            max_response=config.max_response,
            seed=config.seed,
        )

    fields = {"training_showers": len(data.train), **simulator}
    return Prepared(model, data, epoch_metrics(reference, seed=config.seed), fields)


def shower_model_record(record: TrainingRecord, shower_model: str | None, command_name: str) -> dict[str, Any]:
    """The ``training.json`` fields that record every parameter of the simulator's tuning ``shower_model``.

    A name alone would not tell an archive trained on an earlier version of a tuning's parameters (``atlas_lateral``
    was recalibrated once) from one trained on today's. A training started before the field existed gets it on
    resuming, with ``shower_model_parameters_since_epoch``: the epoch its record had reached, before which the
    parameters are known by name only (0 for a training that records them from its start). Changes to the
    simulator's code that keep every parameter are not recorded.

    Parameters
    ----------
    record
        The ``training.json`` of the training's earlier runs (empty for a new training).
    shower_model
        A name of `hepnb.calo.gflash.SHOWER_MODELS`, None for the default.
    command_name
        The training command, for the message.

    Returns
    -------
    dict
        ``shower_model_parameters`` (`ShowerModel.parameters`) and ``shower_model_parameters_since_epoch``.

    Raises
    ------
    InputError
        The earlier runs recorded other parameters (resuming would mix two simulators in one training), or a damaged
        field.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> new = SimpleNamespace(earlier={}, path=None)
    >>> fields = shower_model_record(new, "atlas_lateral", "hepnb train calo")
    >>> fields["shower_model_parameters"]["max_radius_mm"], fields["shower_model_parameters_since_epoch"]
    (280.0, 0)
    >>> old = SimpleNamespace(earlier={"config": {}, "epochs_done": 375}, path=None)
    >>> shower_model_record(old, "atlas_lateral", "hepnb train calo")["shower_model_parameters_since_epoch"]
    375
    """
    model = ShowerModel.named(shower_model)
    earlier = record.earlier
    recorded = earlier.get("shower_model_parameters")
    if recorded is not None and (differences := model.changes_since(recorded, record.path)):
        raise InputError(
            f"{record.path.parent} was trained on the {shower_model or 'default'!r} shower model as it was when "
            f"the training started; that tuning has changed since ({differences}): restore its earlier parameters "
            f"(git log -p hepnb/calo/gflash.py) to finish it, or start a new {command_name} in a new folder"
        )
    since = earlier.get("epochs_done", 0) if recorded is None else earlier.get("shower_model_parameters_since_epoch", 0)
    return {"shower_model_parameters": model.parameters(), "shower_model_parameters_since_epoch": since}


def training_data(
    fraction: float, seed: int, shower_model: str | None, *, batch_size: int = 64, progress: bool = True
) -> CaloDataModule:
    """The showers of a training with this ``--fraction``, ``--seed`` and ``--shower-model``, split 50/50 by ``seed``.

    ``hepnb train calo`` and ``hepnb train calo-response`` (:mod:`hepnb.calo.train_response`) share it, so a response
    flow learns the same training half as the GANs of its seed. Energies and cells in MeV.
    """
    from hepnb.calo.data import CaloDataModule

    showers = standard_dataset(fraction, seed=seed, model=ShowerModel.named(shower_model), progress=progress)
    return CaloDataModule(
        showers.cells,
        showers.energy,
        showers.p,
        showers.e,
        showers.delta_eta,
        showers.delta_phi,
        batch_size=batch_size,
        seed=seed,
        energy_unit="MeV",
        cell_unit="MeV",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hepnb train calo``."""
    defaults = CaloTraining()
    parser.add_argument("--output", required=True, help="archive folder (resumes if it holds checkpoints)")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="total number of epochs")
    parser.add_argument("--every", type=positive_int, default=defaults.every, help="checkpoint period in epochs")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--fraction",
        type=float,
        default=defaults.fraction,
        help="fraction of the thesis's 88,000 showers to simulate (1.0 = all)",
    )
    parser.add_argument("--single-critic", action="store_true", help="train the single-critic ablation")
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=["rmsprop", "adam"])
    parser.add_argument("--lr", type=float, default=defaults.lr, help="learning rate (thesis: 1e-5)")
    parser.add_argument(
        "--metric-showers",
        type=positive_int,
        default=defaults.n_metric_showers,
        help="reference showers used for the per-epoch metrics",
    )
    parser.add_argument(
        "--max-response",
        type=_response_bound,
        default=defaults.max_response,
        help="bound the generated total response (sum of cells / E_true) below this number [not in the thesis]",
    )
    parser.add_argument(
        "--shower-model",
        choices=SHOWER_MODELS,
        default="default",
        help="the simulator's tuning: the shipped archives' default, or atlas_lateral (ATLAS-like lateral shapes)",
    )
    add_hardware_arguments(parser)


def _response_bound(text: str) -> float:
    """argparse type of ``--max-response``: a positive number.

    >>> _response_bound("2")
    2.0
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive bound on the response (2, say), got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    """Handler of ``hepnb train calo``."""
    from hepnb.training.command import run_training, setup_hardware

    setup_hardware(args)
    config = CaloTraining(
        epochs=args.epochs,
        every=args.every,
        seed=args.seed,
        fraction=args.fraction,
        double_critic=not args.single_critic,
        optimizer=args.optimizer,
        lr=args.lr,
        n_metric_showers=args.metric_showers,
        max_response=args.max_response,
        shower_model=args.shower_model,
    )
    return run_training(args, partial(train_calo, args.output, config))
