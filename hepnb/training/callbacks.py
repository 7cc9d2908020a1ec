"""Lightning callback that fills an EpochArchive: metrics every epoch, checkpoints every k epochs."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import numpy as np
import torch

from hepnb.errors import InputError, is_whole_number
from hepnb.io import fsync_directory
from hepnb.training.archive import EpochArchive

__all__ = ["ArchiveCallback"]

MetricsFunction = Callable[[L.LightningModule, int], Mapping[str, float]]


def _rng_state() -> dict[str, Any]:
    """The random-number state as tensors and plain values, so that the checkpoint loads with weights_only."""
    name, keys, position, has_gauss, gauss = np.random.get_state()  # noqa: NPY002 (the global state to restore)
    return {
        "torch": torch.get_rng_state(),
        "numpy": [name, keys.tolist(), position, has_gauss, gauss],
        "python": random.getstate(),
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    name, keys, position, has_gauss, gauss = state["numpy"]  # older checkpoints hold ``keys`` as an array
    torch.set_rng_state(state["torch"])
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, gauss))  # noqa: NPY002
    random.setstate(state["python"])


class ArchiveCallback(L.Callback):
    """Write each finished epoch's metrics, and every ``every`` epochs a checkpoint, into ``archive``.

    The recorded metrics are the scalars the model logged (``trainer.callback_metrics``) plus what
    ``metrics(model, epoch)`` returns (physics metrics on a validation set, for instance). Checkpoints hold the
    model, optimiser and loop state and the random-number state, so a resumed training continues exactly as an
    uninterrupted one would.

    Parameters
    ----------
    archive
        Where to write.
    every
        Checkpoint period in epochs (the last epoch of a training is always checkpointed).
    metrics
        Optional function ``(model, epoch) -> {name: value}`` evaluated after each epoch.
    """

    def __init__(self, archive: EpochArchive, every: int = 1, metrics: MetricsFunction | None = None) -> None:
        if not is_whole_number(every) or every < 1:
            raise InputError(f"checkpoint period every={every} must be a positive number of epochs")
        self.archive, self.every, self.metrics = archive, every, metrics
        self._lock: contextlib.ExitStack | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # the archive's writer lock, held until the training ends (already held when called from ``fit``)
        if stage == "fit" and trainer.is_global_zero and self._lock is None:
            self._lock = contextlib.ExitStack()
            self._lock.enter_context(self.archive.writing())

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._release()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._release()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch + 1
        values = {k: v for k, v in trainer.callback_metrics.items() if torch.as_tensor(v).numel() == 1}
        if self.metrics is not None:
            was_training = pl_module.training
            pl_module.eval()
            with torch.no_grad():
                values.update(self.metrics(pl_module, epoch))
            pl_module.train(was_training)
        self.archive.append_metrics(epoch, values)
        if epoch % self.every == 0 or epoch == trainer.max_epochs:
            self._save(trainer, pl_module, epoch)

    def _save(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> None:
        target = self.archive.checkpoint_file(epoch)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        with self.archive.writing():
            trainer.save_checkpoint(temporary, weights_only=False)
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, target)
            fsync_directory(target.parent)
            self.archive.add_checkpoint(epoch, target, pl_module)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint["hepnb_rng_state"] = _rng_state()

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        if "hepnb_rng_state" in checkpoint:
            _set_rng_state(checkpoint["hepnb_rng_state"])
