"""Train a LightningModule into an EpochArchive, resuming from its last checkpoint."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.utilities import rank_zero_only

from hepnb.errors import CheckpointError, InputError, is_whole_number
from hepnb.training.archive import EpochArchive, _class_path, safe_loading
from hepnb.training.callbacks import ArchiveCallback, MetricsFunction
from hepnb.training.trainers import trainer

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
    A resume is refused (before any training) when the archive holds another model class, seed or
    hyper-parameters, when its history misses an epoch up to the last checkpoint, when the folder has
    checkpoints but no index, or when the last checkpoint is exported (weights only). The archive is locked for
    the whole call: a second writer gets an InputError.

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
        Passed on to :func:`hepnb.training.trainer` (``accelerator="gpu"``, ``devices=4``, ``strategy="ddp"``,
        ...; the default is the CPU).
    """
    if not isinstance(archive, EpochArchive):
        archive = EpochArchive(archive)
    seed, max_epochs = _integer("seed", seed, 0, 2**32 - 1), _integer("max_epochs", max_epochs, 1)
    L.seed_everything(seed, workers=True, verbose=False)
    if not isinstance(model, L.LightningModule):
        model = model()
        if not isinstance(model, L.LightningModule):
            raise InputError(f"model must be a LightningModule or a function returning one, got {type(model).__name__}")
    if rank_zero_only.rank != 0:  # the other processes of a distributed training neither check nor write
        return _train(
            model, datamodule, archive, archive.last_epoch, max_epochs, every, metrics, progress, trainer_options
        )
    with archive.writing():
        resume = _resume_point(archive, model, seed)
        if resume is not None and resume >= max_epochs:
            return archive
        return _train(model, datamodule, archive, resume, max_epochs, every, metrics, progress, trainer_options)


def _integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    if not is_whole_number(value) or value < low or (high is not None and value > high):
        limits = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InputError(f"{name} must be an integer {limits}, got {value!r}")
    return int(value)


def _resume_point(archive: EpochArchive, model: L.LightningModule, seed: int) -> int | None:
    """The epoch to resume from (None: a fresh training, whose index is written now), after checking that the
    archive holds an intact, resumable training of this model, seed and hyper-parameters."""
    if not archive.exists:
        strays = sorted(p.name for p in archive.path.glob("epoch-*.ckpt"))
        if strays:
            raise CheckpointError(
                f"{archive.path} holds checkpoints ({', '.join(strays[:3])}, ...) but no index.json, so it cannot "
                "be resumed: restore index.json, or train into a new folder (nothing here was changed)"
            )
    resume = archive.last_epoch
    if resume is None:
        archive.reset(_class_path(model), seed, _hparams(model))
        return None
    _check_same_training(archive, model, seed)
    checkpoint = archive.read_checkpoint(resume)  # refuses an unsafe or damaged file before any training
    if "optimizer_states" not in checkpoint or "loops" not in checkpoint:
        raise CheckpointError(
            f"the checkpoint of epoch {resume} in {archive.path} holds weights only (an exported "
            "archive): it cannot resume a training; train into a new folder"
        )
    archive.truncate(after_epoch=resume)
    recorded = [record["epoch"] for record in archive.records]
    if recorded != list(range(1, resume + 1)):
        missing = sorted(set(range(1, resume + 1)) - set(recorded))
        raise CheckpointError(
            f"{archive.path}/history.json lacks the metrics of epochs {missing[:5]}{' ...' if len(missing) > 5 else ''}"
            f" although the checkpoints reach epoch {resume}; resuming would lose them: restore history.json, or "
            "train into a new folder"
        )
    return resume


def _check_same_training(archive: EpochArchive, model: L.LightningModule, seed: int) -> None:
    """Refuse to continue the archive's training with another model class, seed or hyper-parameters."""
    recorded = archive.provenance
    where = f"the archive {archive.path}"
    if recorded["model_class"] != _class_path(model):
        raise InputError(f"{where} holds a {recorded['model_class']}, not a {_class_path(model)}: use a new folder")
    if recorded.get("seed", seed) != seed:
        raise InputError(
            f"{where} was trained with seed={recorded['seed']}, not seed={seed}: resume with "
            f"seed={recorded['seed']}, or train into a new folder"
        )
    if "hparams" not in recorded:  # an archive written before hepnb recorded them
        return
    saved, now = recorded["hparams"], _hparams(model)
    changed = sorted(
        k
        for k in saved.keys() | now.keys()
        if json.dumps(saved.get(k), sort_keys=True) != json.dumps(now.get(k), sort_keys=True)
    )
    if changed:
        described = ", ".join(f"{k}={saved.get(k)!r} in the archive, {now.get(k)!r} now" for k in changed)
        raise InputError(
            f"{where} was trained with other hyper-parameters ({described}): resume with the same "
            "settings, or train into a new folder"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _hparams(model: L.LightningModule) -> dict[str, Any]:
    """The model's hyper-parameters as plain JSON (an object JSON cannot hold is named by its type)."""
    return json.loads(json.dumps(dict(model.hparams), sort_keys=True, default=_jsonable))


def _train(
    model: L.LightningModule,
    datamodule: L.LightningDataModule,
    archive: EpochArchive,
    resume: int | None,
    max_epochs: int,
    every: int,
    metrics: MetricsFunction | None,
    progress: bool,
    trainer_options: dict[str, Any],
) -> EpochArchive:
    callbacks = [ArchiveCallback(archive, every=every, metrics=metrics), *trainer_options.pop("callbacks", [])]
    ckpt_path = archive.checkpoint_path(resume) if resume is not None else None
    with quiet_lightning(), safe_loading():
        lightning_trainer = trainer(max_epochs=max_epochs, progress=progress, callbacks=callbacks, **trainer_options)
        lightning_trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    return archive
