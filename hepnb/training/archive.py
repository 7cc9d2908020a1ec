"""EpochArchive: per-epoch checkpoints and metric history of a training, on disk.

Layout of an archive folder::

    index.json         model class, and for each saved epoch its file, size and sha256
    history.json       one record per finished epoch: {"epoch": n, "<metric>": value, ...}
    epoch-000010.ckpt  a Lightning checkpoint (model, optimiser and loop state) after 10 epochs

Epochs count finished passes over the training data, starting at 1. Every file is written atomically, so a
training killed at any moment leaves an archive whose index and history are consistent; the checksum catches a
checkpoint damaged afterwards.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pickle
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from hepnb.errors import CheckpointError, InputError
from hepnb.io import atomic_write, write_json

__all__ = ["EpochArchive"]

FORMAT = 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str) -> type:
    module, _, name = path.partition(":")
    try:
        target: Any = importlib.import_module(module)
        for part in name.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as err:
        raise CheckpointError(f"the archive's model class {path} cannot be imported ({err})") from None
    return target


class EpochArchive:
    """Checkpoints and metric history of one training, stored in the folder ``path``.

    Parameters
    ----------
    path
        The archive folder; created when the first epoch is written.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"EpochArchive({str(self.path)!r}, epochs={self.epochs})"

    # ------------------------------------------------------------------------------------------ reading
    @property
    def _index_path(self) -> Path:
        return self.path / "index.json"

    @property
    def _history_path(self) -> Path:
        return self.path / "history.json"

    def _read_json(self, path: Path, default: Any) -> Any:
        if not path.exists():
            return default
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{path} is not valid JSON ({err}); the archive is damaged") from None

    def _index(self) -> dict[str, Any]:
        index = self._read_json(self._index_path, {"format": FORMAT, "model_class": None, "checkpoints": {}})
        if index.get("format") != FORMAT:
            raise CheckpointError(f"{self._index_path} has format {index.get('format')}, this hepnb reads {FORMAT}")
        return index

    @property
    def epochs(self) -> list[int]:
        """Epochs with a saved checkpoint, in increasing order."""
        return sorted(int(e) for e in self._index()["checkpoints"])

    @property
    def last_epoch(self) -> int | None:
        """The latest checkpointed epoch, or None for an empty archive."""
        epochs = self.epochs
        return epochs[-1] if epochs else None

    @property
    def model_class(self) -> str | None:
        """``module:QualName`` of the archived LightningModule."""
        return self._index()["model_class"]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The metric history: one dict per finished epoch."""
        return self._read_json(self._history_path, [])

    @property
    def history(self) -> pd.DataFrame:
        """The metric history as a table indexed by epoch."""
        records = self.records
        if not records:
            return pd.DataFrame(index=pd.Index([], name="epoch"))
        return pd.DataFrame(records).set_index("epoch").sort_index()

    def metrics(self, epoch: int) -> dict[str, Any]:
        """The metrics recorded for ``epoch``."""
        for record in self.records:
            if record["epoch"] == epoch:
                return {k: v for k, v in record.items() if k != "epoch"}
        raise InputError(f"no metrics recorded for epoch {epoch}; recorded epochs: {[r['epoch'] for r in self.records]}")

    def checkpoint_path(self, epoch: int) -> Path:
        """The file of ``epoch``'s checkpoint, after checking it exists and is intact."""
        entry = self._index()["checkpoints"].get(str(epoch))
        if entry is None:
            raise CheckpointError(
                f"no checkpoint for epoch {epoch} in {self.path}; loadable epochs: {self.loadable_epochs()}"
            )
        path = self.path / entry["file"]
        problem = self._problem(entry)
        if problem:
            raise CheckpointError(
                f"the checkpoint of epoch {epoch} ({path}) {problem}; loadable epochs: {self.loadable_epochs()}"
            )
        return path

    def _problem(self, entry: Mapping[str, Any]) -> str | None:
        path = self.path / entry["file"]
        if not path.exists():
            return "is missing"
        if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            return "is corrupt (its checksum does not match the one recorded when it was written)"
        return None

    def loadable_epochs(self) -> list[int]:
        """Epochs whose checkpoint file exists and matches its recorded checksum."""
        checkpoints = self._index()["checkpoints"]
        return sorted(int(e) for e, entry in checkpoints.items() if self._problem(entry) is None)

    def load(self, epoch: int | None = None, *, map_location: str = "cpu") -> Any:
        """Rebuild the model of ``epoch`` (the last one by default), in eval mode and ready to use."""
        if epoch is None:
            epoch = self.last_epoch
            if epoch is None:
                raise CheckpointError(f"the archive {self.path} holds no checkpoint yet")
        path = self.checkpoint_path(epoch)
        cls = _import_class(self.model_class)
        compact = self._index()["checkpoints"][str(epoch)].get("compact", False)
        try:
            # a compact checkpoint keeps only some sub-networks (the generator of a GAN): the rest stays initialised
            with warnings.catch_warnings():
                if compact:
                    warnings.filterwarnings("ignore", message="Found keys that are in the model state dict but not")
                model = cls.load_from_checkpoint(path, map_location=map_location, weights_only=False,
                                                 strict=not compact)
        except (RuntimeError, EOFError, KeyError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
            raise CheckpointError(
                f"the checkpoint of epoch {epoch} ({path}) cannot be read ({err}); "
                f"loadable epochs: {[e for e in self.loadable_epochs() if e != epoch]}"
            ) from None
        model.eval()
        return model

    # ------------------------------------------------------------------------------------------ writing
    def add_checkpoint(self, epoch: int, file: Path, model: Any) -> None:
        """Register the already written checkpoint ``file`` (inside the archive) as epoch ``epoch``."""
        index = self._index()
        class_path = _class_path(model)
        if index["model_class"] not in (None, class_path):
            raise InputError(
                f"the archive {self.path} holds a {index['model_class']}, not a {class_path}: use a new folder"
            )
        index["model_class"] = class_path
        index["checkpoints"][str(epoch)] = {
            "file": file.name,
            "bytes": file.stat().st_size,
            "sha256": _sha256(file),
        }
        write_json(self._index_path, index)

    def checkpoint_file(self, epoch: int) -> Path:
        """Where the checkpoint of ``epoch`` is written."""
        return self.path / f"epoch-{epoch:06d}.ckpt"

    def append_metrics(self, epoch: int, metrics: Mapping[str, Any]) -> None:
        """Record the metrics of a finished epoch (replacing an earlier record of the same epoch)."""
        clean = {"epoch": int(epoch)}
        for key, value in metrics.items():
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().item()
            clean[key] = float(value) if not isinstance(value, (str, bool)) else value
        records = [r for r in self.records if r["epoch"] != epoch] + [clean]
        write_json(self._history_path, sorted(records, key=lambda r: r["epoch"]))

    def truncate(self, after_epoch: int) -> None:
        """Forget history records and checkpoints later than ``after_epoch`` (before resuming from it)."""
        records = self.records
        kept = [r for r in records if r["epoch"] <= after_epoch]
        if len(kept) != len(records):
            write_json(self._history_path, kept)
        index = self._index()
        later = [e for e in index["checkpoints"] if int(e) > after_epoch]
        if later:
            for e in later:
                del index["checkpoints"][e]
            write_json(self._index_path, index)

    def export(
        self,
        destination: str | os.PathLike[str],
        *,
        epochs: Iterable[int] | None = None,
        keep: tuple[str, ...] = (),
        half: bool = True,
    ) -> EpochArchive:
        """Write a slim copy for shipping: model weights only (no optimiser or loop state), optionally fp16.

        Parameters
        ----------
        destination
            Folder of the new archive (must not hold one already).
        epochs
            Epochs to export (all by default).
        keep
            Prefixes of the state-dict entries to keep (e.g. ``("generator.",)``); all entries by default.
        half
            Store floating-point weights as float16 (they are cast back to the model's dtype when loaded).

        The history is copied whole. Exported checkpoints load with :meth:`load`, but cannot resume a training.
        """
        target = EpochArchive(destination)
        if target.epochs:
            raise InputError(f"{target.path} already holds an archive: export into a new folder")
        target.path.mkdir(parents=True, exist_ok=True)
        index = self._index()
        for epoch in sorted(epochs if epochs is not None else self.epochs):
            checkpoint = torch.load(self.checkpoint_path(epoch), map_location="cpu", weights_only=False)
            state = {
                name: (value.half() if half and value.is_floating_point() else value)
                for name, value in checkpoint["state_dict"].items()
                if not keep or name.startswith(keep)
            }
            slim = {k: checkpoint[k] for k in ("epoch", "global_step", "pytorch-lightning_version",
                                               "hyper_parameters", "hparams_name") if k in checkpoint}
            slim["state_dict"] = state
            file = target.checkpoint_file(epoch)
            with atomic_write(file, "wb") as handle:
                torch.save(slim, handle)
            entry = {"file": file.name, "bytes": file.stat().st_size, "sha256": _sha256(file), "compact": True}
            target_index = target._index()
            target_index["model_class"] = index["model_class"]
            target_index["checkpoints"][str(epoch)] = entry
            write_json(target._index_path, target_index)
        write_json(target._history_path, self.records)
        return target

    def prune(self, keep: Iterable[int]) -> None:
        """Delete every checkpoint whose epoch is not in ``keep`` (history is kept)."""
        keep = set(keep)
        index = self._index()
        for epoch in [e for e in index["checkpoints"] if int(e) not in keep]:
            file = self.path / index["checkpoints"].pop(epoch)["file"]
            write_json(self._index_path, index)
            file.unlink(missing_ok=True)
