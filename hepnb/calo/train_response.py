"""``hepnb train calo-response``: train the response flow (:mod:`hepnb.calo.response_flow`) into an EpochArchive.

The showers are those of ``hepnb train calo`` with the same ``--seed``, ``--fraction`` and ``--shower-model``: the
same simulation and the same 50/50 split, so the flow learns the training half of a GAN's data and its
``validation_nll`` (recorded after each epoch) is the mean negative log-likelihood on the held-out half, which
:func:`hepnb.calo.response_flow.best_epoch` minimises. Killing the command and running it again resumes from the last
checkpoint; a second training into the same folder is refused (:func:`hepnb.training.command.train_recorded`).
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from hepnb.calo.gflash import SHOWER_MODELS
from hepnb.calo.train import recorded_shower_model
from hepnb.errors import InputError, is_real_number, is_whole_number
from hepnb.training.command import add_hardware_arguments, positive_int

if TYPE_CHECKING:
    from hepnb.training import EpochArchive
    from hepnb.training.command import Prepared
    from hepnb.training.record import TrainingRecord

__all__ = ["ResponseTraining", "train_response_flow", "add_arguments"]

COMMAND = "hepnb train calo-response"


@dataclass(frozen=True)
class ResponseTraining:
    """Everything that defines a response-flow training (a resumed training must use the same)."""

    epochs: int = 40
    every: int = 1
    seed: int = 1
    fraction: float = 1.0
    batch_size: int = 512
    lr: float = 1e-3
    shower_model: str | None = None  # a name of SHOWER_MODELS; None: the default model

    def __post_init__(self) -> None:  # checked before any archive is touched or shower simulated
        object.__setattr__(self, "shower_model", recorded_shower_model(self.shower_model))
        for name, lowest in (("epochs", 1), ("every", 1), ("seed", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if not is_whole_number(value) or value < lowest:
                raise InputError(f"{name}={value!r} must be an integer >= {lowest}")
        if not (is_real_number(self.lr) and math.isfinite(self.lr) and self.lr > 0):
            raise InputError(f"lr={self.lr!r} must be a finite positive learning rate (1e-3, say)")
        if not (is_real_number(self.fraction) and 0 < self.fraction <= 1):
            raise InputError(f"fraction={self.fraction!r} must be in (0, 1]: the fraction of the 88,000 showers")


def train_response_flow(
    output: str | os.PathLike[str],
    config: ResponseTraining,
    *,
    progress: bool = True,
    command: str | None = None,
    **trainer_options: object,
) -> EpochArchive:
    """Train (or resume) the response flow described by ``config`` into the archive folder ``output``.

    ``trainer_options`` go to :func:`hepnb.training.fit` (``accelerator``, ``devices``, ``strategy``).
    """
    from hepnb.calo.response_flow import ResponseFlow
    from hepnb.training.command import train_recorded

    return train_recorded(
        output,
        config,
        lambda record: _prepare(config, record, progress),
        command_name=COMMAND,
        model_class=ResponseFlow,
        progress=progress,
        command=command,
        **trainer_options,
    )


def _prepare(config: ResponseTraining, record: TrainingRecord, progress: bool) -> Prepared:
    """The showers, the flow factory and the held-out negative log-likelihood, once the archive is locked."""
    from hepnb.calo.response_flow import VALIDATION_METRIC, ResponseFlow
    from hepnb.calo.train import shower_model_record, training_data
    from hepnb.training.command import Prepared

    simulator = shower_model_record(record, config.shower_model, COMMAND)
    data = training_data(
        config.fraction, config.seed, config.shower_model, batch_size=config.batch_size, progress=progress
    )

    def model() -> ResponseFlow:
        return ResponseFlow.for_data(data.train, data.preprocessing, lr=config.lr, seed=config.seed)

    def metrics(flow: ResponseFlow, epoch: int) -> dict[str, float]:
        return {VALIDATION_METRIC: flow.nll(data.reference)}

    return Prepared(model, data, metrics, {"training_showers": len(data.train), **simulator})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hepnb train calo-response``."""
    defaults = ResponseTraining()
    parser.add_argument("--output", required=True, help="archive folder (resumes if it holds checkpoints)")
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="total number of epochs")
    parser.add_argument("--every", type=positive_int, default=defaults.every, help="checkpoint period in epochs")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="data seed (a GAN's --seed) and weights seed")
    parser.add_argument(
        "--fraction", type=float, default=defaults.fraction, help="fraction of the thesis's 88,000 showers"
    )
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr, help="Adam learning rate")
    parser.add_argument("--shower-model", choices=SHOWER_MODELS, default="default", help="the simulator's tuning")
    add_hardware_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Handler of ``hepnb train calo-response``."""
    from hepnb.training.command import run_training, setup_hardware

    setup_hardware(args)
    config = ResponseTraining(
        epochs=args.epochs,
        every=args.every,
        seed=args.seed,
        fraction=args.fraction,
        batch_size=args.batch_size,
        lr=args.lr,
        shower_model=args.shower_model,
    )
    return run_training(args, partial(train_response_flow, args.output, config))
