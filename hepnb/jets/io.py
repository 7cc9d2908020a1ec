"""Jet datasets on disk (a folder of parquet chunks) and their fixed-size array views.

A dataset folder holds ``dataset.json`` (what was asked for: preset, class, seed, sizes, package versions) and
``chunk-00000.parquet``, ``chunk-00001.parquet``, ... Each chunk is written atomically by awkward/pyarrow and
records the same settings plus its own index and Pythia seed under the parquet metadata key ``hepnb.jets``; the
same seed gives the same bytes. One jet is a record

``pt, eta, phi, mass`` (the anti-kT jet, GeV), ``n_constituents``, ``parton_id`` (PDG id of the matched top or
hard-process parton, 0 if none within R), ``event`` (its event in the chunk) and ``constituents``: all stable
visible particles of the jet, hardest first, as float32 ``pt, eta, phi, e``.

:func:`particle_features` and :func:`jet_features` give the preset's arrays: JetNet's ``[N, 30, 4]``
(eta_rel, phi_rel, pT_rel, mask) and ``[N, 4]`` (pT, eta, mass, n) with n capped at 30 as ``jetnet.JetNet.getData``
does, or the thesis's ``[N, 100, 5]`` (log E, log pT, eta_rel / R, phi_rel / R, mask) with section 7.4's
cap of 100 taken as the 100 hardest constituents (``n_constituents`` keeps the full count, so dropping the longer
jets instead is ``sample.jets[sample.jets.n_constituents <= 100]``).

>>> from pathlib import Path
>>> import hepnb
>>> from hepnb.jets import read_jets
>>> sample = read_jets(Path(hepnb.__file__).parents[1] / "data" / "jets" / "jetnet_top")  # the shipped top jets
>>> particles = sample.particle_features()   # (eta_rel, phi_rel, pT_rel, mask) per constituent
>>> particles.shape
(20000, 30, 4)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hepnb.errors import InputError
from hepnb.io import atomic_write, write_json
from hepnb.jets.presets import JetPreset

__all__ = [
    "JetSample",
    "read_jets",
    "particle_features",
    "jet_features",
    "write_chunk",
    "chunk_metadata",
    "chunk_path",
    "read_manifest",
    "write_manifest",
    "MANIFEST",
    "METADATA_KEY",
]

MANIFEST = "dataset.json"
METADATA_KEY = b"hepnb.jets"


def chunk_path(folder: str | os.PathLike[str], index: int) -> Path:
    """Where chunk ``index`` of the dataset in ``folder`` lives."""
    return Path(folder) / f"chunk-{index:05d}.parquet"


def write_chunk(jets: ak.Array, path: str | os.PathLike[str], meta: dict[str, Any]) -> Path:
    """Write ``jets`` to ``path`` atomically (zstd parquet) with ``meta`` as JSON under :data:`METADATA_KEY`."""
    table = ak.to_arrow_table(jets, extensionarray=True)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta, sort_keys=True).encode()}
    )
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        pq.write_table(table, pa.PythonFile(handle, mode="w"), compression="zstd")
    return path


def chunk_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``hepnb.jets`` metadata of a chunk file, or None if it is missing, unreadable or not a chunk."""
    try:
        raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
        return None if raw is None else json.loads(raw)
    except (OSError, ValueError, pa.ArrowException):
        return None


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``dataset.json`` of a dataset folder."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(
            f"{folder} holds no jet dataset (no {MANIFEST}); make one with "
            f"`hepnb data jets --output {folder}` or hepnb.jets.generate_jets"
        )
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON ({err}); generate the dataset again into a new folder") from None


def write_manifest(folder: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    """Write ``dataset.json`` into ``folder`` atomically."""
    write_json(Path(folder) / MANIFEST, manifest)


@dataclass(frozen=True)
class JetSample:
    """Jets read from a dataset folder: ``jets`` (one record per jet, see the module doc) and ``meta``
    (the dataset's ``dataset.json``)."""

    jets: ak.Array
    meta: dict[str, Any] = field(repr=False)

    def __len__(self) -> int:
        return len(self.jets)

    def __repr__(self) -> str:
        return (
            f"JetSample({len(self)} {self.meta['jet_class']} jets, preset {self.preset.name!r}, "
            f"seed {self.meta['seed']})"
        )

    @property
    def preset(self) -> JetPreset:
        """The preset the jets were generated with."""
        return JetPreset(**self.meta["preset"])

    def particle_features(self) -> np.ndarray:
        """The preset's per-particle array (see :func:`particle_features`)."""
        return particle_features(self.jets, self.preset)

    def jet_features(self) -> np.ndarray:
        """The preset's per-jet array (see :func:`jet_features`)."""
        return jet_features(self.jets, self.preset)


def read_jets(folder: str | os.PathLike[str]) -> JetSample:
    """Read the dataset that ``hepnb data jets`` / :func:`hepnb.jets.generate_jets` wrote into ``folder``."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    try:
        paths = [chunk_path(folder, i) for i in range(manifest["n_chunks"])]
    except (KeyError, TypeError):
        raise InputError(
            f"{folder / MANIFEST} is not a jet-dataset record (no n_chunks); generate the dataset "
            "again into a new folder"
        ) from None
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise InputError(
            f"{folder} is incomplete: {len(missing)} of {len(paths)} chunks are missing (first: "
            f"{missing[0]}); run the same `hepnb data jets` command again to finish it"
        )
    try:
        jets = ak.concatenate([ak.from_parquet(p) for p in paths]) if paths else ak.Array([])
    except (OSError, pa.ArrowException) as err:
        raise InputError(
            f"a chunk in {folder} is not readable parquet ({err}); delete it and run the same "
            "`hepnb data jets` command again"
        ) from None
    if len(jets) != manifest["n_jets"]:
        raise InputError(
            f"{folder} holds {len(jets)} jets, its {MANIFEST} promises {manifest['n_jets']}; run the "
            "same `hepnb data jets` command again to repair it"
        )
    return JetSample(jets, manifest)


def _wrap(phi: Any) -> Any:
    """An angle difference mapped into [-pi, pi)."""
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _padded(values: ak.Array, n: int) -> np.ndarray:
    return ak.to_numpy(ak.fill_none(ak.pad_none(values, n, axis=1, clip=True), 0.0)).astype(np.float32)


def particle_features(jets: ak.Array, preset: JetPreset) -> np.ndarray:
    """The ``preset.n_particles`` hardest constituents of each jet as a zero-padded float32 array.

    ``jetnet``: ``[N, n, 4]`` = (eta - eta_J, phi - phi_J wrapped into [-pi, pi), pT / pT_J, mask), as in JetNet
    (arXiv:2106.11535, section 2). ``thesis``: ``[N, n, 5]`` = (log E, log pT with E, pT in GeV,
    (eta - eta_J) / R, (phi - phi_J) / R, mask), the thesis's section 7.4 features with its "normalised with
    respect to the jet" read as division by R. Padding rows are all zero. phi_rel stays within about R; eta_rel
    does too except for a few soft massive hadrons, because FastJet clusters in rapidity, not pseudorapidity.
    """
    if not isinstance(jets, ak.Array) or not {"constituents", "pt", "eta", "phi"} <= set(jets.fields):
        got = jets.fields if isinstance(jets, ak.Array) else type(jets).__name__
        raise InputError(
            f"expected an awkward array of jets with constituents, pt, eta, phi (read_jets(...).jets), got {got}"
        )
    c = jets.constituents
    n = preset.n_particles
    eta_rel = c.eta - jets.eta
    phi_rel = _wrap(c.phi - jets.phi)
    mask = _padded(ak.ones_like(c.pt), n)
    if preset.representation == "jetnet":
        columns = [eta_rel, phi_rel, c.pt / jets.pt]
    else:
        columns = [np.log(c.e), np.log(c.pt), eta_rel / preset.radius, phi_rel / preset.radius]
    return np.stack([_padded(column, n) for column in columns] + [mask], axis=-1)


def jet_features(jets: ak.Array, preset: JetPreset) -> np.ndarray:
    """``[N, 4]`` float32 (pT, eta, mass, n) with n = min(n_constituents, preset.n_particles), as JetNet stores it."""
    n = np.minimum(ak.to_numpy(jets.n_constituents), preset.n_particles)
    return np.stack([ak.to_numpy(jets.pt), ak.to_numpy(jets.eta), ak.to_numpy(jets.mass), n], axis=-1).astype(
        np.float32
    )
