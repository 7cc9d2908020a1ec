"""EpochArchive: per-epoch checkpoints and metric history of a training, on disk.

Layout of an archive folder::

    index.json         model class, seed and hyper-parameters of the training, and for each saved epoch its
                       file, size and sha256
    history.json       one record per finished epoch: {"epoch": n, "<metric>": value, ...}
    epoch-000010.ckpt  a Lightning checkpoint (model, optimiser and loop state) after 10 epochs
    epoch-000010-compact.ckpt  the same slimmed in place (weights only; `hepnb.training.compact_checkpoints`)
    .lock              held (``fcntl.flock``) by the one process writing the archive

Epochs count finished passes over the training data, starting at 1. Every file is written atomically, so a
training killed at any moment leaves an archive whose index and history are consistent; the checksum catches a
checkpoint damaged afterwards. Checkpoints are read with ``torch.load(weights_only=True)``: a file that holds
anything but tensors and plain values is refused, never executed. Writers (training, :meth:`EpochArchive.export`,
:meth:`EpochArchive.prune`, ...) hold the lock; a second writer gets an InputError, readers need no lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import math
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch

from hepnb.errors import CheckpointError, InputError, is_whole_number
from hepnb.io import FolderBusy, folder_lock, write_json

__all__ = ["EpochArchive", "safe_loading"]

FORMAT = 1
# checkpoints written before hepnb stored numpy's random state as plain lists hold one uint32 array
_NUMPY_ARRAY = [np._core.multiarray._reconstruct, np.ndarray, np.dtype, np.dtypes.UInt32DType]


def safe_loading() -> contextlib.AbstractContextManager[Any]:
    """Context in which ``torch.load(weights_only=True)`` also accepts plain numpy arrays (older checkpoints)."""
    return torch.serialization.safe_globals(_NUMPY_ARRAY)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str) -> type[L.LightningModule]:
    module, _, name = path.partition(":")
    try:
        target: Any = importlib.import_module(module)
        for part in name.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, TypeError, ValueError) as err:
        raise CheckpointError(f"the archive's model class {path} cannot be imported ({err})") from None
    if not (isinstance(target, type) and issubclass(target, L.LightningModule)):
        raise CheckpointError(f"the archive's model class {path} is not a LightningModule; index.json is damaged")
    return target


def _is_epoch(value: Any) -> bool:
    return is_whole_number(value) and value >= 1


def _torch_reason(err: Exception) -> str:
    """The informative line of torch's long weights-only refusal."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation", "(1)", "(2)")
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    detail = [line for line in lines if not line.startswith(boilerplate)]
    return (detail or lines or [type(err).__name__])[-1]


def _check_index(index: Any, where: Path) -> dict[str, Any]:
    def damaged(problem: str) -> CheckpointError:
        return CheckpointError(f"{where} {problem}; the archive is damaged: restore it or train into a new folder")

    if not isinstance(index, dict):
        raise damaged(f"holds a JSON {type(index).__name__}, not an object")
    if index.get("format") != FORMAT:
        raise CheckpointError(f"{where} has format {index.get('format')!r}, this hepnb reads {FORMAT}")
    checkpoints = index.get("checkpoints")
    if not isinstance(checkpoints, dict):
        raise damaged("has no 'checkpoints' object")
    model_class = index.get("model_class")
    if not (model_class is None or isinstance(model_class, str)) or (checkpoints and model_class is None):
        raise damaged(f"has model_class {model_class!r}, not a 'module:Class' name")
    for key, entry in checkpoints.items():
        if not (key.isascii() and key.isdigit()) or str(int(key)) != key or int(key) < 1:
            raise damaged(f"has the checkpoint key {key!r}, not a positive epoch number")
        if not isinstance(entry, dict):
            raise damaged(f"has a {type(entry).__name__} for epoch {key}, not an object")
        file = entry.get("file")
        if not (isinstance(file, str) and re.fullmatch(r"[\w-][\w.-]*", file)):
            raise damaged(
                f"names the file {file!r} for epoch {key}: only a plain file name inside the folder is allowed"
            )
        size, digest = entry.get("bytes"), entry.get("sha256")
        if not (isinstance(size, int) and not isinstance(size, bool) and size >= 0):
            raise damaged(f"has no byte count for epoch {key}")
        if not (isinstance(digest, str) and re.fullmatch("[0-9a-f]{64}", digest)):
            raise damaged(f"has no sha256 checksum for epoch {key}")
        if not isinstance(entry.get("compact", False), bool):
            raise damaged(f"has a non-boolean 'compact' flag for epoch {key}")
    seed = index.get("seed")
    if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool)):
        raise damaged(f"has the seed {seed!r}, not an integer")
    if not isinstance(index.get("hparams", {}), dict):
        raise damaged("has 'hparams' that are not an object")
    return index


def _check_history(records: Any, where: Path) -> list[dict[str, Any]]:
    def damaged(problem: str) -> CheckpointError:
        return CheckpointError(f"{where} {problem}; the history is damaged: restore it or train into a new folder")

    if not isinstance(records, list):
        raise damaged(f"holds a JSON {type(records).__name__}, not a list of records")
    seen: set[int] = set()
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise damaged(f"has a {type(record).__name__} as record {position}, not an object")
        epoch = record.get("epoch")
        if not _is_epoch(epoch):
            raise damaged(f"has record {position} without a positive integer 'epoch' (got {epoch!r})")
        if epoch in seen:
            raise damaged(f"records epoch {epoch} twice")
        seen.add(epoch)
        for key, value in record.items():
            if not (value is None or isinstance(value, (str, int, float))):
                raise damaged(f"has a {type(value).__name__} as the value of {key!r} at epoch {epoch}")
    return sorted(records, key=lambda r: r["epoch"])


def _metric_value(key: str, value: Any, epoch: int) -> Any:
    """A history value: a string, a boolean, a finite float, or None (None, NaN and infinities)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise InputError(
                f"metric {key!r} of epoch {epoch} must be one number, got a tensor of shape {tuple(value.shape)}"
            )
        value = value.detach().cpu().item()
    array = np.asarray(value)
    if array.size != 1:
        raise InputError(
            f"metric {key!r} of epoch {epoch} must be one number, got {type(value).__name__} of shape {array.shape}"
        )
    item = array.reshape(()).item()
    if isinstance(item, (str, bool)):
        return item
    if not isinstance(item, (int, float)):
        raise InputError(f"metric {key!r} of epoch {epoch} must be a number or a string, got {item!r}")
    return float(item) if math.isfinite(item) else None


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
            return json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            raise CheckpointError(f"{path} is not UTF-8 text; the archive is damaged") from None
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{path} is not valid JSON ({err}); the archive is damaged") from None
        except OSError as err:
            raise CheckpointError(f"{path} cannot be read ({err})") from None

    def _index(self) -> dict[str, Any]:
        index = self._read_json(self._index_path, {"format": FORMAT, "model_class": None, "checkpoints": {}})
        return _check_index(index, self._index_path)

    @property
    def exists(self) -> bool:
        """Whether the folder holds an archive (an ``index.json``)."""
        return self._index_path.exists()

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
        """The metric history: one dict per finished epoch, in epoch order."""
        return _check_history(self._read_json(self._history_path, []), self._history_path)

    @property
    def history(self) -> pd.DataFrame:
        """The metric history as a table indexed by epoch (a value stored as null reads as NaN)."""
        records = self.records
        if not records:
            return pd.DataFrame(index=pd.Index([], name="epoch"))
        frame = pd.DataFrame(records).set_index("epoch").sort_index()
        return frame.astype({name: float for name in frame.columns if frame[name].isna().all()})

    def metrics(self, epoch: int) -> dict[str, Any]:
        """The metrics recorded for ``epoch``."""
        records = self.records
        for record in records:
            if record["epoch"] == epoch:
                return {k: v for k, v in record.items() if k != "epoch"}
        raise InputError(f"no metrics recorded for epoch {epoch}; recorded epochs: {[r['epoch'] for r in records]}")

    def _entry(self, epoch: int) -> dict[str, Any]:
        entry = self._index()["checkpoints"].get(str(epoch)) if _is_epoch(epoch) else None
        if entry is None:
            raise CheckpointError(
                f"no checkpoint for epoch {epoch!r} in {self.path}; loadable epochs: {self.loadable_epochs()}"
            )
        return entry

    def checksum(self, epoch: int) -> str:
        """The sha256 recorded for ``epoch``'s checkpoint when it was written (its identity)."""
        return self._entry(epoch)["sha256"]

    def checkpoint_path(self, epoch: int) -> Path:
        """The file of ``epoch``'s checkpoint, after checking it exists and is intact."""
        entry = self._entry(epoch)
        path = self.path / entry["file"]
        problem = self._problem(entry)
        if problem:
            raise CheckpointError(
                f"the checkpoint of epoch {epoch} ({path}) {problem}; loadable epochs: {self.loadable_epochs()}"
            )
        return path

    def _problem(self, entry: Mapping[str, Any]) -> str | None:
        path = self.path / entry["file"]
        if not path.is_file():
            return "is missing"
        if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            return "is corrupt (its checksum does not match the one recorded when it was written)"
        return None

    def loadable_epochs(self) -> list[int]:
        """Epochs whose checkpoint file exists and matches its recorded checksum."""
        checkpoints = self._index()["checkpoints"]
        return sorted(int(e) for e, entry in checkpoints.items() if self._problem(entry) is None)

    def _unreadable(self, epoch: int, path: Path, err: Exception) -> CheckpointError:
        if isinstance(err, pickle.UnpicklingError):
            reason = (
                f"torch.load(weights_only=True) refused it: {_torch_reason(err)}; it is damaged, or holds "
                "objects that could run code, which are never loaded"
            )
        else:
            reason = str(err)
        return CheckpointError(
            f"the checkpoint of epoch {epoch} ({path}) cannot be read ({reason}); "
            f"loadable epochs: {[e for e in self.loadable_epochs() if e != epoch]}"
        )

    def read_checkpoint(self, epoch: int) -> dict[str, Any]:
        """``epoch``'s checkpoint as a dict of tensors and plain values (``torch.load(weights_only=True)``)."""
        return self._read(epoch, self.checkpoint_path(epoch))

    def _read(self, epoch: int, path: Path) -> dict[str, Any]:
        try:
            with safe_loading():
                checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
            raise self._unreadable(epoch, path, err) from None
        if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
            raise CheckpointError(
                f"the checkpoint of epoch {epoch} ({path}) holds no state_dict; "
                f"loadable epochs: {[e for e in self.loadable_epochs() if e != epoch]}"
            )
        return checkpoint

    def load(self, epoch: int | None = None, *, map_location: str = "cpu") -> Any:
        """Rebuild the model of ``epoch`` (the last one by default), in eval mode and ready to use.

        A compact (exported) checkpoint must hold every entry of each sub-network it touches (the generator of a
        GAN, say), and at least one whole sub-network; the others stay as initialised.
        """
        if epoch is None:
            epoch = self.last_epoch
            if epoch is None:
                raise CheckpointError(f"the archive {self.path} holds no checkpoint yet")
        compact = self._entry(epoch).get("compact", False)
        path = self.checkpoint_path(epoch)
        stored = set(self._read(epoch, path)["state_dict"]) if compact else set()
        if compact and not stored:  # refused before Lightning loads (and warns about) an empty state dict
            self._check_compact(epoch, stored, set())
        cls = _import_class(self.model_class)
        try:
            with warnings.catch_warnings(), safe_loading():
                if compact:
                    warnings.filterwarnings("ignore", message="Found keys that are in the model state dict but not")
                model = cls.load_from_checkpoint(path, map_location=map_location, weights_only=True, strict=not compact)
        except (RuntimeError, EOFError, KeyError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
            raise self._unreadable(epoch, path, err) from None
        if compact:
            self._check_compact(epoch, stored, set(model.state_dict()))
        model.eval()
        return model

    def _check_compact(self, epoch: int, stored: set[str], expected: set[str]) -> None:
        groups: dict[str, set[str]] = {}
        for name in expected:
            groups.setdefault(name.split(".")[0], set()).add(name)
        touched = {name.split(".")[0] for name in stored}
        problem = None
        if stored - expected:
            problem = f"holds entries the model does not have ({sorted(stored - expected)[:3]} ...)"
        elif not touched:
            problem = "holds no weights"
        elif any(not groups[g] <= stored for g in touched):
            partial = sorted(g for g in touched if not groups[g] <= stored)
            problem = f"holds only part of the sub-networks {partial}"
        if problem:
            raise CheckpointError(
                f"the slim checkpoint of epoch {epoch} in {self.path} {problem}: the model would be partly random; "
                f"export it again from the training's full checkpoint with keep= naming whole sub-networks of "
                f"{sorted(groups)}, or, where `hepnb archive compact` slimmed it in place, drop the epoch "
                f"(EpochArchive({str(self.path)!r}).prune(keep=[the other epochs]))"
            )

    # ------------------------------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the archive's writer lock for the block; on first taking it, delete temporary files of a killed
        writer. Re-entrant within a thread.

        Raises
        ------
        InputError
            Another process (or thread) is writing the archive, or its folder cannot be written.
        """
        with contextlib.ExitStack() as stack:
            try:
                fresh = stack.enter_context(folder_lock(self.path))
            except FolderBusy as busy:
                raise InputError(
                    f"the archive {self.path} is in use by pid {busy.owner}; wait for it or choose another folder"
                ) from None
            except OSError as err:
                raise InputError(
                    f"the archive {self.path} cannot be written ({err.strerror or err}): make the "
                    "folder writable, or choose another folder"
                ) from None
            for orphan in self.path.glob(".*.tmp") if fresh else ():
                if orphan.is_file():
                    orphan.unlink(missing_ok=True)
            yield

    @property
    def provenance(self) -> dict[str, Any]:
        """What the index says about the training: ``model_class``, and ``seed`` and ``hparams`` when recorded."""
        index = self._index()
        return {k: index[k] for k in ("model_class", "seed", "hparams") if k in index}

    def reset(self, model_class: str, seed: int, hparams: Mapping[str, Any]) -> None:
        """Start a fresh training: an empty history, and an index that records ``model_class``, ``seed`` and the
        JSON ``hparams`` but no checkpoint."""
        with self.writing():
            write_json(self._history_path, [])
            write_json(
                self._index_path,
                {
                    "format": FORMAT,
                    "model_class": model_class,
                    "checkpoints": {},
                    "seed": seed,
                    "hparams": dict(hparams),
                },
            )

    def add_checkpoint(self, epoch: int, file: Path, model: Any) -> None:
        """Register the already written checkpoint ``file`` (inside the archive) as epoch ``epoch``."""
        if not _is_epoch(epoch):
            raise InputError(f"epoch must be a positive integer, got {epoch!r}")
        if Path(file).parent.resolve() != self.path.resolve():
            raise InputError(f"the checkpoint {file} must be inside the archive folder {self.path}")
        with self.writing():
            index = self._index()
            class_path = _class_path(model)
            if index["model_class"] not in (None, class_path):
                raise InputError(
                    f"the archive {self.path} holds a {index['model_class']}, not a {class_path}: use a new folder"
                )
            index["model_class"] = class_path
            index["checkpoints"][str(int(epoch))] = {
                "file": file.name,
                "bytes": file.stat().st_size,
                "sha256": _sha256(file),
            }
            write_json(self._index_path, index)

    def checkpoint_file(self, epoch: int) -> Path:
        """Where the checkpoint of ``epoch`` is written."""
        return self.path / f"epoch-{epoch:06d}.ckpt"

    def append_metrics(self, epoch: int, metrics: Mapping[str, Any]) -> None:
        """Record the metrics of a finished epoch (replacing an earlier record of the same epoch).

        Values are strings, booleans or numbers (a one-element tensor or array counts as a number). None, NaN
        and infinities (a diverged loss) are stored as JSON null and read back as NaN in :attr:`history`.
        """
        if not _is_epoch(epoch):
            raise InputError(f"epoch must be a positive integer, got {epoch!r}")
        if "epoch" in metrics:
            raise InputError("'epoch' is the record's key, not a metric name: rename that metric")
        clean = {"epoch": int(epoch), **{str(k): _metric_value(str(k), v, epoch) for k, v in metrics.items()}}
        with self.writing():
            records = [r for r in self.records if r["epoch"] != epoch] + [clean]
            write_json(self._history_path, sorted(records, key=lambda r: r["epoch"]))

    def truncate(self, after_epoch: int) -> None:
        """Forget history records and checkpoints later than ``after_epoch`` (before resuming from it)."""
        with self.writing():
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
        """Write a slim copy for shipping: model weights only, optionally fp16 (see
        :func:`hepnb.training.export.export_archive` for the parameters)."""
        from hepnb.training.export import export_archive

        return export_archive(self, destination, epochs=epochs, keep=keep, half=half)

    def prune(self, keep: Iterable[int]) -> None:
        """Delete every checkpoint whose epoch is not in ``keep`` (history is kept)."""
        keep = set(keep)
        if not self.exists:
            raise InputError(f"{self.path} is not an epoch archive (it has no index.json)")
        with self.writing():
            index = self._index()
            unknown = keep - {int(e) for e in index["checkpoints"]}
            if unknown:
                raise InputError(
                    f"epochs {sorted(unknown, key=str)} have no checkpoint to keep; checkpointed epochs: {self.epochs}"
                )
            removed = [e for e in index["checkpoints"] if int(e) not in keep]
            files = [self.path / index["checkpoints"].pop(e)["file"] for e in removed]
            write_json(self._index_path, index)
            for file in files:
                file.unlink(missing_ok=True)
