"""Safe file writes: atomic replacement (temporary file, ``os.replace``, directory fsync) and folder locks."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "write_json", "fsync_directory", "folder_lock", "FolderBusy"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_directory(folder: str | os.PathLike[str]) -> None:
    """Flush ``folder``'s entries to disk, so that a rename inside it survives a power failure."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:  # some file systems cannot fsync a directory; nothing more can be done there
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` in one step.

    If the block raises, the temporary file is removed and ``path`` is left as it was, so a killed process never
    leaves a half-written file behind. An existing file keeps its permission bits (a new one gets those ``open``
    would give it), and a symbolic link is written through: its target gets the new content, the link stays.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        permissions = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        permissions = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, permissions)  # mkstemp makes it private
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def write_json(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    with atomic_write(path, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")


class FolderBusy(Exception):
    """Raised by :func:`folder_lock` when another process or thread holds the lock; ``owner`` is its pid."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


_held: dict[str, list[Any]] = {}  # lock file -> [file descriptor, depth, owning thread]
_held_guard = threading.Lock()


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[bool]:
    """Hold the exclusive lock ``<folder>/.lock`` (``fcntl.flock``, never waiting) for the block.

    The lock is re-entrant within a thread, and a forked child shares its parent's. The block receives True when
    this call took the lock afresh (the moment to clean up what a killed holder left), False when nested.

    Raises
    ------
    FolderBusy
        Another process (or another thread of this one) holds the lock.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(folder / ".lock")
    with _held_guard:
        entry = _held.get(key)
        if entry is not None and entry[2] != threading.get_ident():
            raise FolderBusy(f"{os.getpid()} (another thread of this process)")
        if entry is None:
            fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise FolderBusy(owner) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            entry = _held[key] = [fd, 0, threading.get_ident()]
        entry[1] += 1
        fresh = entry[1] == 1
    try:
        yield fresh
    finally:
        with _held_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                os.close(entry[0])  # closing releases the lock (unless a forked child still holds it too)
