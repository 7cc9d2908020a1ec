"""The ``training.json`` record that ``hepnb train <study>`` keeps next to an epoch archive.

It says how the archive was made: the command, the configuration, the hardware, the accumulated wall time and how
many epochs are done. :class:`TrainingRecord` reads an earlier record (refusing a damaged one), refuses to resume with
another configuration, and gives the Lightning callback that rewrites the record when the training (re)starts and
after each epoch. Placed after :func:`hepnb.training.fit`'s ArchiveCallback, the callback runs once the epoch is in
the history, so ``epochs_done`` never runs ahead of ``history.json``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L

from hepnb.errors import InputError
from hepnb.io import write_json

__all__ = ["TrainingRecord", "hardware", "check_accelerator"]


def hardware() -> dict[str, object]:
    """The machine a training runs on: CPU, cores, torch threads, GPU name (or None) and torch version."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
    }


def check_accelerator(name: str, choices: tuple[str, ...]) -> None:
    """Refuse a Lightning accelerator this machine lacks (``choices``: the names the command offers)."""
    import torch

    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    present = {"cpu": True, "auto": True, "cuda": cuda, "mps": mps, "gpu": cuda or mps}
    if not present.get(name, False):
        usable = [k for k in choices if present.get(k, False)]
        raise InputError(
            f"--accelerator {name}: torch {torch.__version__} sees no such device on this machine "
            f"(CUDA available: {cuda}, MPS available: {mps}); use one of {usable}"
        )


class TrainingRecord:
    """``training.json`` of the archive folder ``folder``, written by the command ``command_name``.

    Parameters
    ----------
    folder
        The archive folder.
    command_name
        How the command is called in messages, e.g. ``"hepnb train jets"``.
    """

    def __init__(self, folder: str | os.PathLike[str], command_name: str) -> None:
        self.path = Path(folder) / "training.json"
        self.command_name = command_name
        self.earlier = self._read()
        self._start = time.perf_counter()

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"{self.path} is not valid JSON ({err}): restore it, or train into a new folder") from None
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise InputError(
                f"{self.path} is not a record written by {self.command_name} (it has no 'config' "
                "object): restore it, or train into a new folder"
            )
        return record

    def check_same(self, key: str, now: Mapping[str, Any], *, ignore: tuple[str, ...] = (), hint: str = "") -> None:
        """Refuse to resume when the earlier record's ``key`` differs from ``now`` (apart from ``ignore``).

        An option added after the earlier record was written, absent there, matches when it is None now (its
        default, the behaviour of the earlier training)."""
        if key not in self.earlier:
            return
        before = {k: v for k, v in self.earlier[key].items() if k not in ignore}
        current = json.loads(json.dumps(dict(now))).items()
        if before != {k: v for k, v in current if k not in ignore and (k in before or v is not None)}:
            raise InputError(
                f"{self.path.parent} holds a training with {key} {self.earlier[key]}, not "
                f"{dict(now)}: {hint or 'resume with the same options'} or use a new folder"
            )

    def write(self, epochs_done: int, command: str | None, **fields: Any) -> None:
        """Rewrite the record: ``command`` (the earlier one if None), ``fields``, the hardware, the wall time
        accumulated over all runs, and ``epochs_done``."""
        write_json(
            self.path,
            {
                "command": command or self.earlier.get("command"),
                **fields,
                "hardware": hardware(),
                "wall_seconds": self.earlier.get("wall_seconds", 0.0) + time.perf_counter() - self._start,
                "epochs_done": epochs_done,
            },
        )

    def callback(self, write: Callable[[int], None]) -> L.Callback:
        """A callback that calls ``write(epochs_done)`` when the training (re)starts and after each epoch."""

        class RecordCallback(L.Callback):
            def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
                if trainer.is_global_zero:  # the resumed epoch: later records were dropped from the history
                    write(trainer.current_epoch)

            def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
                if trainer.is_global_zero and not trainer.sanity_checking:
                    write(trainer.current_epoch + 1)

        return RecordCallback()
