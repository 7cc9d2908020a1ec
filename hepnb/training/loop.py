"""Train a LightningModule into an EpochArchive, resuming from its last checkpoint."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import lightning as L

from hepnb.training.archive import EpochArchive
from hepnb.training.callbacks import ArchiveCallback, MetricsFunction

__all__ = ["fit", "quiet_lightning"]


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's start-up chatter (hardware lines, tips, the few-workers hint) and its own deprecations."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*(LeafSpec|num_workers|does not have many workers).*")
            yield
    finally:
        logger.setLevel(level)


def progress_bar(enabled: bool) -> list[L.Callback]:
    """Lightning's tqdm progress bar as a callback list (empty when disabled).

    Passed explicitly because Lightning otherwise picks its Rich bar when ``rich`` is installed, and in Jupyter
    that bar captures the cell's later printed output into its own widget.
    """
    from lightning.pytorch.callbacks import TQDMProgressBar

    return [TQDMProgressBar()] if enabled else []


def fit(
    model: L.LightningModule | Callable[[], L.LightningModule],
    datamodule: L.LightningDataModule,
    archive: EpochArchive | str | os.PathLike[str],
    *,
    max_epochs: int,
    seed: int,
    every: int = 1,
    metrics: MetricsFunction | None = None,
    progress: bool = True,
    **trainer_options: Any,
) -> EpochArchive:
    """Train ``model`` for ``max_epochs`` epochs in total, archiving metrics and checkpoints.

    If the archive already holds checkpoints, training resumes from the last one: the history written after it
    (by a training killed before its next checkpoint) is dropped and those epochs are trained again, so no epoch
    is lost or duplicated, and the result is the same as that of an uninterrupted training with the same seed.

    Parameters
    ----------
    model
        What to train: preferably a function returning a fresh model (``lambda: MyGAN(lr=1e-3)``), called after
        seeding so that the initial weights depend on ``seed`` alone; an already built model is trained as is.
    datamodule
        The training (and validation) data.
    archive
        An EpochArchive or its folder.
    max_epochs
        Total number of epochs, counting those already in the archive.
    seed
        Seeds Python, numpy and torch; the training runs in deterministic mode.
    every
        Checkpoint period in epochs.
    metrics
        Optional ``(model, epoch) -> {name: value}`` evaluated after each epoch and stored in the history.
    progress
        Show Lightning's progress bar.
    trainer_options
        Passed on to ``lightning.Trainer`` (``accelerator="gpu"``, ``devices=4``, ``strategy="ddp"``, ...).
    """
    if not isinstance(archive, EpochArchive):
        archive = EpochArchive(archive)
    L.seed_everything(seed, workers=True, verbose=False)
    if not isinstance(model, L.LightningModule):
        model = model()
    resume = archive.last_epoch
    if resume is not None:
        archive.truncate(after_epoch=resume)
        if resume >= max_epochs:
            return archive
    options: dict[str, Any] = {
        "max_epochs": max_epochs,
        "deterministic": True,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": progress,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "accelerator": "cpu",
        **trainer_options,
    }
    callbacks = [ArchiveCallback(archive, every=every, metrics=metrics), *progress_bar(progress),
                 *options.pop("callbacks", [])]
    ckpt_path = archive.checkpoint_path(resume) if resume is not None else None
    with quiet_lightning():
        trainer = L.Trainer(callbacks=callbacks, **options)
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=False)
    return archive
