"""What the ``hepnb train <study>`` commands share: hardware options, the locked archive, the record, the fit.

A study's command (``hepnb train calo``, ``hepnb train jets``) defines its configuration (a frozen dataclass with
``epochs``, ``every`` and ``seed``), its options and a *prepare* step that reads or simulates the data. The rest is
here:

- :func:`setup_hardware`: applies ``--threads`` and refuses an ``--accelerator`` this machine lacks, before any work;
- :func:`train_recorded`: refuse an output that is a file, take the archive's writer lock (a second training into
  the same folder is refused at once), refuse a ``training.json`` of another configuration and an archive of another
  model, then call *prepare*, and :func:`hepnb.training.fit` with the :class:`~hepnb.training.record.TrainingRecord`
  callback placed after the archive's, so that ``epochs_done`` never runs ahead of ``history.json``;
- :func:`run_training`: the end of a command handler (the command line recorded, the accelerator passed on, the
  archive printed).

- :func:`add_hardware_arguments`, :func:`positive_int`, :func:`non_negative_int`, :func:`epoch_list`: the options
  and argparse types every command shares. This module imports no torch at its top, so ``hepnb --help`` stays
  fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepnb.errors import InputError

if TYPE_CHECKING:
    import lightning as L

    from hepnb.training import EpochArchive
    from hepnb.training.callbacks import MetricsFunction
    from hepnb.training.record import TrainingRecord

__all__ = [
    "ACCELERATORS",
    "Prepared",
    "add_hardware_arguments",
    "check_output",
    "epoch_list",
    "locked_archive",
    "non_negative_int",
    "positive_int",
    "run_training",
    "setup_hardware",
    "train_recorded",
]

#: The ``--accelerator`` choices of every ``hepnb train`` command (Lightning's names).
ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1.

    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: a whole number of at least 0 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def epoch_list(text: str) -> list[int]:
    """argparse type: comma-separated epochs such as ``50,100``.

    >>> epoch_list("50,100")
    [50, 100]
    """
    try:
        epochs = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of epochs such as 50,100") from None
    if min(epochs) < 1:
        raise argparse.ArgumentTypeError(f"epochs count from 1, got {text!r}")
    return epochs


def add_hardware_arguments(parser: argparse.ArgumentParser) -> None:
    """``--threads`` and ``--accelerator`` (checked by :func:`setup_hardware` when the command runs)."""
    parser.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--accelerator",
        default="cpu",
        choices=ACCELERATORS,
        help="Lightning accelerator (default: cpu); it must exist on this machine",
    )


@dataclass(frozen=True)
class Prepared:
    """What a study's *prepare* step gives :func:`train_recorded`.

    Attributes
    ----------
    model
        A function building a fresh model (called by :func:`hepnb.training.fit` after seeding).
    datamodule
        The training batches.
    metrics
        The per-epoch metrics, ``(model, epoch) -> {name: value}``.
    record
        Fields of ``training.json`` after ``command`` and ``config`` (the data, the sample sizes, ...).
    """

    model: Callable[[], L.LightningModule]
    datamodule: L.LightningDataModule
    metrics: MetricsFunction
    record: Mapping[str, Any]


def setup_hardware(args: argparse.Namespace, accelerators: tuple[str, ...] = ACCELERATORS) -> bool:
    """Refuse an ``--accelerator`` this machine lacks (``accelerators``: the command's choices, named in the
    message), apply ``--threads``; True when the training runs on a GPU."""
    import torch

    from hepnb.training.record import check_accelerator

    check_accelerator(args.accelerator, accelerators)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args.accelerator in ("gpu", "cuda") or (args.accelerator == "auto" and torch.cuda.is_available())


def run_training(args: argparse.Namespace, train: Callable[..., EpochArchive]) -> int:
    """The end of a ``hepnb train <study>`` handler: ``train(command=..., accelerator=...)`` with the command line
    that was run, then the archive and its number of recorded epochs printed; the exit status 0."""
    archive = train(command="hepnb " + " ".join(sys.argv[1:]), accelerator=args.accelerator)
    print(f"{archive}: {len(archive.history)} epochs recorded")
    return 0


def check_output(output: str | os.PathLike[str]) -> Path:
    """``output`` as a Path, refused when it is a file (an archive is a folder)."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise InputError(f"{output} is a file, not a folder: give a new folder, or an archive to resume")
    return output


@contextlib.contextmanager
def locked_archive(output: str | os.PathLike[str]) -> Iterator[EpochArchive]:
    """The :class:`~hepnb.training.EpochArchive` of the folder ``output``, holding its writer lock.

    The other processes of a distributed training neither check nor write (as in :func:`hepnb.training.fit`): they
    get the archive unlocked.
    """
    output = check_output(output)
    from lightning.pytorch.utilities import rank_zero_only  # torch, once the options are known to be good

    from hepnb.training.archive import EpochArchive

    archive = EpochArchive(output)
    with archive.writing() if rank_zero_only.rank == 0 else contextlib.nullcontext():
        yield archive


def train_recorded(
    output: str | os.PathLike[str],
    config: Any,
    prepare: Callable[[TrainingRecord], Prepared],
    *,
    command_name: str,
    model_class: type,
    progress: bool = True,
    command: str | None = None,
    **trainer_options: Any,
) -> EpochArchive:
    """Train (or resume) the training ``config`` into the archive folder ``output``, keeping its ``training.json``.

    Parameters
    ----------
    output
        The archive folder (resumed if it holds checkpoints of the same training).
    config
        A dataclass with ``epochs``, ``every`` and ``seed``; a resumed training must have the same, except
        ``epochs``.
    prepare
        Reads or makes the data once the archive is locked and the record checked (it may check more of the record,
        e.g. the dataset), and returns the model factory, the data, the metrics and the record's other fields.
    command_name
        How the command is called in messages, e.g. ``"hepnb train jets"``.
    model_class
        The model's class; an archive of another class is refused.
    progress
        Show progress bars.
    command
        The command line to record (the earlier one is kept if None).
    trainer_options
        Passed on to :func:`hepnb.training.fit` (``accelerator="gpu"``, ``devices``, ``strategy``, ``callbacks``
        run after the archive's and before the record's).
    """
    from hepnb.training.loop import fit
    from hepnb.training.record import TrainingRecord

    with locked_archive(output) as archive:
        record = TrainingRecord(archive.path, command_name)
        record.check_same(
            "config",
            asdict(config),
            ignore=("epochs",),  # more epochs: a longer training
            hint="resume with the same options (only --epochs may change)",
        )
        path = f"{model_class.__module__}:{model_class.__qualname__}"
        if archive.exists and archive.model_class not in (None, path):
            raise InputError(
                f"the archive {archive.path} holds a {archive.model_class}, not a {path}: use a new folder"
            )
        prepared = prepare(record)

        def write(epochs_done: int) -> None:
            record.write(epochs_done, command, config=asdict(config), **prepared.record)

        callbacks = [*trainer_options.pop("callbacks", []), record.callback(write)]
        return fit(
            prepared.model,
            prepared.datamodule,
            archive,
            max_epochs=config.epochs,
            seed=config.seed,
            every=config.every,
            metrics=prepared.metrics,
            progress=progress,
            callbacks=callbacks,
            **trainer_options,
        )
