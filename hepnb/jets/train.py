"""``hepnb train jets``: train a jet GAN on a Pythia jet dataset into an EpochArchive.

The data are a folder written by ``hepnb data jets`` (:func:`hepnb.jets.generate_jets`), read as JetNet clouds
(eta_rel, phi_rel, pT_rel, mask) of the preset's P hardest particles. ``n_eval`` jets drawn with ``seed`` are held
out; the GAN trains on the others, and after each epoch the W1M, W1P and FPD at N of
:mod:`hepnb.jets.epoch_metrics` compare ``n_eval`` generated jets with the held-out ones. The model is the thesis's
two-stage Set-Transformer GAN (``setgan``, :mod:`hepnb.jets.gan`) or the EPiC-GAN baseline (``epic``,
:mod:`hepnb.jets.epic`), in its ``thesis`` configuration (for a GPU) or its ``cpu`` one. Killing the command and
running it again resumes from the last checkpoint; ``training.json`` in the archive records the command, the
configuration, the dataset, the hardware and the accumulated wall time. ``--rescore`` trains nothing: it adds the
metrics that the records of the archive's checkpoints lack (:func:`hepnb.jets.epoch_metrics.rescore`), for an
archive trained before a metric was added.

The module imports torch only when a training starts, so ``hepnb --help`` stays light; the options are checked (a
known model and configuration, positive counts, an accelerator this machine has, an output folder, a dataset folder,
a readable ``training.json``) before any jet is read, and the archive's writer lock is taken first (a second
training into the same folder is refused at once).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepnb.errors import InputError, is_whole_number
from hepnb.training.command import add_hardware_arguments, non_negative_int, positive_int

if TYPE_CHECKING:
    from hepnb.training import EpochArchive
    from hepnb.training.command import Prepared
    from hepnb.training.record import TrainingRecord

__all__ = ["MODELS", "CONFIGURATIONS", "JetTraining", "train_jets", "add_arguments", "run"]

MODELS = ("setgan", "epic")
CONFIGURATIONS = ("thesis", "cpu")
COMMAND = "hepnb train jets"


@dataclass(frozen=True)
class JetTraining:
    """Everything that defines a jet-GAN training (a resumed training must use the same, except ``epochs``).

    Attributes
    ----------
    model
        ``"setgan"`` (the thesis's two-stage Set-Transformer GAN) or ``"epic"`` (EPiC-GAN).
    configuration
        ``"thesis"`` (the published sizes; a GPU's job) or ``"cpu"`` (the small configuration).
    epochs, every
        Total epochs, and the checkpoint period.
    seed
        Seeds the held-out split, the weights, the batches and the metrics' jets.
    batch_size
        Jets per batch (not given in the thesis).
    lr
        RMSprop learning rate (the thesis: 2e-4).
    n_eval
        Held-out real jets, and jets generated for the metrics after each epoch.
    """

    model: str = "setgan"
    configuration: str = "cpu"
    epochs: int = 30
    every: int = 5
    seed: int = 1
    batch_size: int = 128
    lr: float = 2e-4
    n_eval: int = 5000

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise InputError(f"model={self.model!r}: use one of {list(MODELS)}")
        if self.configuration not in CONFIGURATIONS:
            raise InputError(f"configuration={self.configuration!r}: use one of {list(CONFIGURATIONS)}")
        for name, lowest in (("epochs", 1), ("every", 1), ("seed", 0), ("batch_size", 2), ("n_eval", 10)):
            value = getattr(self, name)
            if not is_whole_number(value) or value < lowest:
                raise InputError(f"{name}={value!r} must be a whole number of at least {lowest}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise InputError(f"lr={self.lr!r} must be a positive learning rate")


def train_jets(
    output: str | os.PathLike[str],
    config: JetTraining,
    *,
    data: str | os.PathLike[str],
    progress: bool = True,
    command: str | None = None,
    **trainer_options: object,
) -> EpochArchive:
    """Train (or resume) the jet GAN described by ``config`` on the dataset folder ``data`` into ``output``.

    Parameters
    ----------
    output
        The archive folder (resumed if it holds checkpoints of the same training).
    config
        The training.
    data
        A folder written by ``hepnb data jets``.
    progress
        Show progress bars.
    command
        The command line to record (the earlier one is kept if None).
    trainer_options
        Passed on to :func:`hepnb.training.fit` (``accelerator="gpu"``, ``devices``, ``strategy``, ...; the default
        is the CPU).
    """
    from hepnb.training.command import check_output, train_recorded

    data = Path(data)
    check_output(output)
    if not (data / "dataset.json").is_file():
        raise InputError(
            f"{data} holds no jet dataset (no dataset.json): make one with "
            f"`hepnb data jets --output {data} --jets 20000`"
        )
    from hepnb.jets import epic, gan

    model_class = gan.SetGAN if config.model == "setgan" else epic.EPiCGAN
    return train_recorded(
        output,
        config,
        partial(_prepare, config, data),
        command_name=COMMAND,
        model_class=model_class,
        progress=progress,
        command=command,
        **trainer_options,
    )


def _model_factory(config: JetTraining, preprocessing: dict[str, Any]) -> Any:
    """A function building the configured model (called by ``fit`` after seeding)."""
    from hepnb.jets import epic, gan

    module, cls = (gan, gan.SetGAN) if config.model == "setgan" else (epic, epic.EPiCGAN)
    shape = replace(getattr(module, config.configuration.upper()), lr=config.lr)
    return lambda: cls(preprocessing=preprocessing, config=shape, seed=config.seed)


def _prepare(config: JetTraining, data: Path, record: TrainingRecord) -> Prepared:
    """The jets (the same dataset as the record's, if any), the held-out split, the GAN factory and the metrics,
    once the archive is locked."""
    from hepnb.jets.datamodule import JetDataModule, split_held_out
    from hepnb.jets.epoch_metrics import epoch_metrics
    from hepnb.jets.io import particle_features, read_jets
    from hepnb.training.command import Prepared

    sample = read_jets(data)
    dataset = {key: sample.meta[key] for key in ("jet_class", "seed", "n_jets")} | {"preset": sample.preset.name}
    record.check_same("dataset", dataset, hint="resume on the same jets (--data)")
    particles = particle_features(sample.jets, sample.preset.replace(representation="jetnet"))
    if len(particles) < config.n_eval + config.batch_size:
        raise InputError(
            f"{data} holds {len(particles)} jets: too few to hold out n_eval={config.n_eval} and train "
            f"on batches of {config.batch_size}; make more jets or lower --eval-jets"
        )
    train, held_out = split_held_out(len(particles), config.n_eval, config.seed)
    datamodule = JetDataModule(particles[train], batch_size=config.batch_size)
    fields = {"data": str(data), "dataset": dataset, "training_jets": len(train), "held_out_jets": len(held_out)}
    return Prepared(
        _model_factory(config, datamodule.preprocessing.to_dict()),
        datamodule,
        epoch_metrics(particles[held_out], seed=config.seed),
        fields,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``hepnb train jets``."""
    defaults = JetTraining()
    parser.add_argument("--output", required=True, help="archive folder (resumes if it holds checkpoints)")
    parser.add_argument("--data", required=True, help="jet dataset folder written by `hepnb data jets`")
    parser.add_argument(
        "--model",
        choices=MODELS,
        default=defaults.model,
        help="setgan: the thesis's two-stage Set-Transformer GAN; epic: EPiC-GAN (default: setgan)",
    )
    parser.add_argument(
        "--config",
        choices=("auto", *CONFIGURATIONS),
        default="auto",
        help="network sizes: thesis (for a GPU) or cpu (small); auto: thesis on a GPU, else cpu",
    )
    parser.add_argument("--epochs", type=positive_int, default=defaults.epochs, help="total number of epochs")
    parser.add_argument("--every", type=positive_int, default=defaults.every, help="checkpoint period in epochs")
    parser.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    parser.add_argument("--batch-size", type=positive_int, default=defaults.batch_size, help="jets per batch")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="RMSprop learning rate (thesis: 2e-4)")
    parser.add_argument(
        "--eval-jets",
        type=positive_int,
        default=defaults.n_eval,
        help="held-out real jets, and generated jets for the per-epoch metrics",
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="train nothing: add the per-epoch metrics the checkpoints of --output lack, computed on the jets its "
        "training held out of --data with its seed (read from its training.json; the training options are ignored)",
    )
    add_hardware_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Handler of ``hepnb train jets``."""
    from hepnb.training.command import run_training, setup_hardware

    on_gpu = setup_hardware(args)
    if args.rescore:
        from hepnb.jets.epoch_metrics import METRICS, rescore

        print("scoring the checkpoints only: the training's seed and held-out jets are read from its training.json")
        archive = rescore(args.output, args.data, progress=True)
        print(f"{archive.path}: {', '.join(METRICS)} recorded at its {len(archive.epochs)} checkpointed epochs")
        return 0
    configuration = args.config if args.config != "auto" else ("thesis" if on_gpu else "cpu")
    config = JetTraining(
        model=args.model,
        configuration=configuration,
        epochs=args.epochs,
        every=args.every,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        n_eval=args.eval_jets,
    )
    print(
        f"training the {configuration} configuration of {args.model} on {'a GPU' if on_gpu else 'the CPU'}"
        + ("" if configuration == "thesis" else " (the thesis configuration needs a GPU: --config thesis)")
    )
    return run_training(args, partial(train_jets, args.output, config, data=args.data))
