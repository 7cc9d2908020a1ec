"""Slim checkpoints for shipping: model weights only (no optimiser or loop state), optionally fp16, in a copy of an
EpochArchive (`export_archive`) or in place for a long training's older checkpoints (`compact_checkpoints`)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from hepnb.errors import CheckpointError, InputError
from hepnb.io import atomic_write, fsync_directory, write_json
from hepnb.training.archive import FORMAT, EpochArchive, _is_epoch, _sha256

__all__ = ["compact_checkpoints", "export_archive"]


def export_archive(
    archive: EpochArchive,
    destination: str | os.PathLike[str],
    *,
    epochs: Iterable[int] | None = None,
    keep: tuple[str, ...] = (),
    half: bool = True,
) -> EpochArchive:
    """Write a slim copy of ``archive`` for shipping: model weights only (no optimiser or loop state), optionally
    fp16.

    Parameters
    ----------
    archive
        The source archive.
    destination
        Folder of the new archive: must not exist, or be empty. It appears complete or not at all (the copy
        is written into a temporary sibling folder, then renamed).
    epochs
        Epochs to export (all by default).
    keep
        Prefixes of the state-dict entries to keep (e.g. ``("generator.",)``); all entries by default. Each
        prefix must match an entry.
    half
        Store floating-point weights as float16 (they are cast back to the model's dtype when loaded); a
        weight beyond float16's range (65504) is refused: export it with ``half=False``. Buffers (the model's
        non-trainable state, such as a flow's lattice of discrete observable values, `hepnb.lfi.DensityEstimator`)
        keep their precision: a rounded level would no longer match the values it stands for. To tell them apart
        the first exported epoch is loaded into its model, so the model's class must import.

    The history is copied whole. Exported checkpoints load with :meth:`EpochArchive.load`, but cannot resume a
    training. The source's writer lock is held while copying (unless the source folder is read-only).
    """
    target = EpochArchive(destination)
    keep = _checked_keep(keep)
    if target.exists or target.path.resolve() == archive.path.resolve():
        raise InputError(f"{target.path} already holds an archive: export into a new folder")
    if target.path.exists() and (not target.path.is_dir() or any(target.path.iterdir())):
        raise InputError(f"{target.path} exists and is not an empty folder: export into a new folder")
    if not archive.exists:
        raise InputError(f"{archive.path} is not an epoch archive (it has no index.json): check the source folder")
    wanted = archive.epochs if epochs is None else sorted(set(epochs))
    if not wanted:
        raise InputError(f"{archive.path} holds no checkpoint to export")
    with archive.writing() if os.access(archive.path, os.W_OK) else contextlib.nullcontext():
        return _export(archive, target.path, wanted, keep, half)  # (a read-only source has no writer to wait for)


def compact_checkpoints(
    archive: EpochArchive, epochs: Iterable[int] | None = None, *, keep: tuple[str, ...] = (), half: bool = True
) -> None:
    """Slim checkpoints of ``archive`` in place, as `export_archive` writes them, for a long training kept in parts
    (each part committed with its last, resumable checkpoint and the others slim). The last checkpoint, from which
    the training resumes, is refused; so is a folder another process is writing (a running training).

    Parameters
    ----------
    archive
        The archive, not being trained.
    epochs
        Epochs to slim (default: every checkpoint but the last). One already slim is left as it is, whatever
        ``keep`` and ``half`` say now.
    keep, half
        As for `export_archive`.

    Each checkpoint is written under a new name (``epoch-000050-compact.ckpt``), then registered in the index, then
    the old file is deleted: a killed run leaves every checkpoint readable, and a second run deletes the old file
    it may have left.

    Examples
    --------
    >>> from hepnb.training import EpochArchive
    >>> compact_checkpoints(EpochArchive("no/such/archive"))
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: no/such/archive is not an epoch archive (it has no index.json): check the folder

    On a training stopped at epoch 200, with checkpoints every 50 epochs, the generator of 50, 100 and 150:

    >>> compact_checkpoints(EpochArchive("build/calo/x"), keep=("generator.",))  # doctest: +SKIP
    """
    keep = _checked_keep(keep)
    listed = None if epochs is None else list(epochs)
    if listed is not None and not all(_is_epoch(e) for e in listed):
        raise InputError(f"epochs must be positive whole numbers, got {listed!r}")
    if not archive.exists:
        raise InputError(f"{archive.path} is not an epoch archive (it has no index.json): check the folder")
    with archive.writing():
        held, last = archive.epochs, archive.last_epoch
        wanted = held[:-1] if listed is None else sorted({int(e) for e in listed})
        unknown = sorted(set(wanted) - set(held))
        if unknown:
            raise InputError(f"{archive.path} has no checkpoint for epochs {unknown}; it holds {held}")
        if last in wanted:
            raise InputError(
                f"epoch {last} is the last checkpoint of {archive.path}, from which the training resumes: leave it "
                "out (export_archive makes a slim copy of a finished training)"
            )
        index = archive._index()
        todo = [epoch for epoch in wanted if not index["checkpoints"][str(epoch)].get("compact", False)]
        buffers = _buffer_names(archive, todo[0]) if half and todo else set()
        for epoch in todo:
            old = archive.checkpoint_path(epoch)
            slim = _slim_checkpoint(archive._read(epoch, old), keep, half, epoch, buffers)
            new = old.with_name(f"{archive.checkpoint_file(epoch).stem}-compact.ckpt")
            with atomic_write(new, "wb") as handle:
                torch.save(slim, handle)
            index["checkpoints"][str(epoch)] = {
                "file": new.name,
                "bytes": new.stat().st_size,
                "sha256": _sha256(new),
                "compact": True,
            }
            write_json(archive._index_path, index)
            old.unlink()
        for epoch in wanted:  # the full file a killed run registered as slim but did not delete
            full = archive.checkpoint_file(epoch)
            if index["checkpoints"][str(epoch)]["file"] != full.name:
                full.unlink(missing_ok=True)


def _checked_keep(keep: str | Iterable[str]) -> tuple[str, ...]:
    """``keep`` as a tuple of non-empty state-dict prefixes (one prefix may be given as a string)."""
    keep = (keep,) if isinstance(keep, str) else tuple(keep)
    if not all(isinstance(p, str) and p for p in keep):
        raise InputError(f"keep must be state-dict prefixes such as ('generator.',), got {keep!r}")
    return keep


def _buffer_names(archive: EpochArchive, epoch: int) -> set[str]:
    """The state-dict names of the model's buffers, from the model ``epoch`` loads into (torch's random state kept)."""
    try:
        with torch.random.fork_rng(devices=[]):  # a model may draw its initial weights before they are loaded
            model = archive.load(epoch)
    except (InputError, CheckpointError) as err:
        raise InputError(
            f"cannot rebuild the model of epoch {epoch} to keep its buffers in full precision ({err}): "
            "export with half=False (hepnb archive export --full-precision)"
        ) from None
    return {name for name, _ in model.named_buffers(remove_duplicate=False)}


def _slim_checkpoint(
    checkpoint: Mapping[str, Any], keep: tuple[str, ...], half: bool, epoch: int, buffers: set[str]
) -> dict[str, Any]:
    """A checkpoint's loading metadata and its slimmed state dict (`_slim_state`)."""
    slim = {
        k: checkpoint[k]
        for k in ("epoch", "global_step", "pytorch-lightning_version", "hyper_parameters", "hparams_name")
        if k in checkpoint
    }
    slim["state_dict"] = _slim_state(checkpoint["state_dict"], keep, half, epoch, buffers)
    return slim


def _export(
    archive: EpochArchive, destination: Path, epochs: list[int], keep: tuple[str, ...], half: bool
) -> EpochArchive:
    index = archive._index()
    paths = {epoch: archive.checkpoint_path(epoch) for epoch in epochs}  # all intact before anything is written
    buffers = _buffer_names(archive, epochs[0]) if half else set()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.parent / f".{destination.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    staging.mkdir()
    try:
        entries = {}
        for epoch in epochs:
            slim = _slim_checkpoint(archive._read(epoch, paths[epoch]), keep, half, epoch, buffers)
            file = staging / archive.checkpoint_file(epoch).name
            with atomic_write(file, "wb") as handle:
                torch.save(slim, handle)
            entries[str(epoch)] = {
                "file": file.name,
                "bytes": file.stat().st_size,
                "sha256": _sha256(file),
                "compact": True,
            }
        write_json(staging / "history.json", archive.records)
        provenance = {k: index[k] for k in ("seed", "hparams") if k in index}
        write_json(
            staging / "index.json",
            {"format": FORMAT, "model_class": index["model_class"], "checkpoints": entries, **provenance},
        )
        try:
            os.rename(staging, destination)
        except OSError as err:
            raise InputError(f"cannot create {destination} ({err}): export into a new folder") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_directory(destination.parent)
    return EpochArchive(destination)


def _slim_state(
    state: Mapping[str, torch.Tensor], keep: tuple[str, ...], half: bool, epoch: int, buffers: set[str]
) -> dict:
    """The entries of ``state`` matching ``keep``, the weights (entries not in ``buffers``) as float16 if ``half``."""
    unmatched = [prefix for prefix in keep if not any(name.startswith(prefix) for name in state)]
    if unmatched:
        available = sorted({name.split(".")[0] + "." for name in state})
        raise InputError(
            f"keep prefixes {unmatched} match no state-dict entry of epoch {epoch}; available prefixes: {available}"
        )
    kept = {name: value for name, value in state.items() if not keep or name.startswith(keep)}
    if not half:
        return kept
    slim = {}
    for name, value in kept.items():
        if value.is_floating_point() and name not in buffers:
            value, original = value.half(), value
            if bool((torch.isinf(value) & torch.isfinite(original)).any()):
                largest = float(original[torch.isfinite(original)].abs().max())
                raise InputError(
                    f"weight {name} of epoch {epoch} reaches {largest:.3g}, beyond float16's range "
                    "(65504): export with half=False (hepnb archive export --full-precision)"
                )
        slim[name] = value
    return slim
