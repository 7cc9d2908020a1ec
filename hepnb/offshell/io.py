"""Parquet files of :class:`~hepnb.offshell.events.Events`, written atomically with the seed and config recorded.

The metadata (seed, number generated, generation config, kind) is stored as JSON under the key
``hepnb.offshell`` of the parquet schema metadata. Every data page carries a CRC checksum that reading verifies, so
a damaged file is refused rather than read as other numbers. The same sample gives the same file bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import awkward as ak
import pyarrow as pa
import pyarrow.parquet as pq

from hepnb.errors import InputError
from hepnb.io import atomic_write
from hepnb.offshell.events import Events

__all__ = ["write_parquet", "read_parquet", "METADATA_KEY"]

METADATA_KEY = b"hepnb.offshell"


def write_parquet(events: Events, path: str | os.PathLike[str]) -> Path:
    """Write ``events`` to ``path`` (zstd, page checksums, one file, atomically) and return the path."""
    if not isinstance(events, Events):
        raise InputError(f"write_parquet expects an Events sample, got {type(events).__name__}")
    table = ak.to_arrow_table(events.array, extensionarray=True)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(events.meta, sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        pq.write_table(table, pa.PythonFile(handle, mode="w"), compression="zstd", write_page_checksum=True)
    return path


def read_parquet(path: str | os.PathLike[str]) -> Events:
    """Read a file written by :func:`write_parquet`, verifying its page checksums."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no parquet file at {path}; write one with hepnb.offshell.write_parquet(events, path)")
    try:
        table = pq.read_table(path, page_checksum_verification=True)
    except (OSError, pa.ArrowException) as err:  # truncated, corrupt (a checksum fails) or not parquet at all
        raise InputError(
            f"{path} is not a readable parquet file ({err}); regenerate it with "
            "hepnb.offshell.write_parquet(events, path)"
        ) from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise InputError(
            f"{path} was not written by hepnb.offshell.write_parquet (no {METADATA_KEY.decode()} metadata)"
        )
    try:
        meta = json.loads(raw)
    except ValueError as err:
        raise InputError(f"{path} has corrupt {METADATA_KEY.decode()} metadata ({err}); regenerate the file") from None
    return Events(ak.from_arrow(table), meta)
