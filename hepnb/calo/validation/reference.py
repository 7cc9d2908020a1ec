"""The reference showers of a validation and generated showers like them.

`training_reference` regenerates the held-out half of a ``hepnb train calo`` training exactly (same seed, fraction,
shower model and 50/50 split), `check_archive` checks that an archive was trained on that data, and `generate_like`
makes one generated shower per reference shower with the same conditions (E, p, e, d_eta, d_phi). Energies are in
**MeV**.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hepnb.calo.data import ShowerArrays, split_train_reference
from hepnb.calo.gflash import ShowerModel
from hepnb.calo.showers import Showers
from hepnb.calo.simulate import standard_dataset
from hepnb.errors import InputError, is_whole_number
from hepnb.units import energy_unit

__all__ = ["as_shower_arrays", "check_archive", "training_reference", "generate_like"]

_SIMULATOR_MODULES = ("hepnb.calo.simulate", "hepnb.calo.gflash", "hepnb.calo.geometry")
"""The modules whose source decides the simulated cells (a cached reference is stale when one of them changed)."""


def as_shower_arrays(showers: Showers) -> ShowerArrays:
    """The simulator's `Showers` as checked `ShowerArrays` (MeV), negative cells clipped as for training."""
    return ShowerArrays.from_arrays(
        np.clip(showers.cells, 0.0, None), showers.energy, showers.p, showers.e, showers.delta_eta, showers.delta_phi
    )


def check_archive(
    path: str | os.PathLike[str],
    *,
    fraction: float | None,
    seed: int,
    shower_model: str | None = None,
    kind: str = "gan",
    parameter: str = "SEED_ARCHIVES",
) -> str:
    """Check that ``path`` holds a calorimeter archive of ``kind`` trained on that fraction, seed and shower model.

    Raises `InputError` with the command that makes the archive when the folder or its index is missing, and when
    the ``training.json`` recorded next to the checkpoints names another fraction or seed (the regenerated reference
    would then not be the training's held-out half) or another shower model than ``shower_model`` (a name of
    `hepnb.calo.gflash.SHOWER_MODELS`, None for the default; a record without one was trained on the default), or
    recorded parameters of that model that differ from today's (the tuning changed since the training).
    ``fraction=None`` accepts any fraction: for an archive that is validated on other samples only, whose seed alone
    must be known. ``kind`` is ``"gan"`` (made by ``hepnb train calo``) or ``"response flow"`` (``hepnb train
    calo-response``): an archive of the other kind is refused. ``parameter`` names the notebook parameter that lists
    such an archive in the message for a missing one (with ``fraction=None``). Returns a one-line description.
    """
    if kind not in _ARCHIVE_KINDS:
        raise InputError(f"kind={kind!r} must be one of {list(_ARCHIVE_KINDS)}")
    model = ShowerModel.named(shower_model)  # an unknown name is refused before any file is read
    asked = shower_model or "default"
    folder = Path(path)
    if not (folder / "index.json").is_file():
        raise InputError(
            f"no epoch archive at {folder}: train one with `{_ARCHIVE_KINDS[kind]} "
            f"--output {folder} --seed {seed} --fraction {1.0 if fraction is None else fraction:g}"
            + (f" --shower-model {asked}" if asked != "default" else "")
            + ("` (add --single-critic for the ablation), " if kind == "gan" else "`, ")
            + (
                f"or leave it out of {parameter}"
                if fraction is None or kind != "gan"
                else "or set RETRAIN = True, or point the ARCHIVE parameters at an existing archive"
            )
        )
    model_class = json.loads((folder / "index.json").read_text()).get("model_class") or ""
    found = _ARCHIVE_CLASSES.get(model_class, "gan" if not model_class else None)  # none recorded: an early GAN's
    if found is None:
        raise InputError(f"{folder} holds a {model_class}, not a calorimeter GAN or response flow: use another folder")
    if found != kind:
        raise InputError(
            f"{folder} holds a {found.replace('gan', 'GAN')} archive ({model_class}), not a "
            f"{kind.replace('gan', 'GAN')} one (`{_ARCHIVE_KINDS[found]}` made it): list it where that kind goes"
        )
    record_path = folder / "training.json"
    if not record_path.is_file():
        assumed = "any fraction" if fraction is None else f"fraction {fraction:g}"
        return f"{folder}: no training.json, assuming {assumed} and seed {seed} ({asked} model)"
    record = json.loads(record_path.read_text())
    config = record.get("config", {})
    other_fraction = fraction is not None and float(config.get("fraction", fraction)) != float(fraction)
    if other_fraction or int(config.get("seed", seed)) != int(seed):
        wanted = (
            f"seed {seed}: give the seed it was trained with"
            if fraction is None
            else f"{fraction:g} and {seed}: set the data parameters to the training's so that the reference is its "
            "held-out half"
        )
        raise InputError(
            f"{folder} was trained with fraction {config.get('fraction')} and seed {config.get('seed')}, not {wanted}"
        )
    trained_on = config.get("shower_model") or "default"
    if trained_on != asked:
        raise InputError(
            f"{folder} was trained on the {trained_on!r} shower model, not {asked!r}: validate it "
            f"on showers of the model it learnt (shower_model={config.get('shower_model')!r} in check_archive, "
            f"training_reference and physical_checkpoints), or use an archive trained on {asked!r}"
        )
    recorded = record.get("shower_model_parameters")  # recorded since 2026-12-08; earlier archives name the model
    if recorded is not None and (differences := model.changes_since(recorded, record_path)):
        raise InputError(
            f"{folder} was trained on the {asked!r} shower model as it was then, and that tuning has changed since "
            f"({differences}): validate it with the tuning's earlier parameters (git log -p hepnb/calo/gflash.py), "
            "or train it again"
        )
    since = record.get("shower_model_parameters_since_epoch", 0)
    parameters = (
        "by name only" if recorded is None else "its parameters recorded" + (f" from epoch {since}" if since else "")
    )
    what = kind if kind != "gan" else ("double" if config.get("double_critic", True) else "single") + " critic"
    hardware = record.get("hardware", {})
    return (
        f"{folder}: {what}, {record.get('epochs_done')} epochs on {record.get('training_showers')} "
        f"showers of the {trained_on!r} shower model ({parameters}) in {_duration(record.get('wall_seconds', 0))} "
        f"({hardware.get('cpu')}, {hardware.get('torch_threads')} torch threads); command: {record.get('command')}"
    )


#: The archive kinds of `check_archive` and the command that makes each.
_ARCHIVE_KINDS = {"gan": "hepnb train calo", "response flow": "hepnb train calo-response"}
_ARCHIVE_CLASSES = {"hepnb.calo.gan:CaloGAN": "gan", "hepnb.calo.response_flow:ResponseFlow": "response flow"}


def _duration(seconds: float) -> str:
    """A training's wall time in hours, or in minutes below a tenth of an hour.

    >>> _duration(24765.0), _duration(171.0)
    ('6.9 h', '3 min')
    """
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{seconds / 60:.0f} min"


def _simulator_digest() -> str:
    """Checksum of the simulator's source: a cached reference is stale when the simulator changed."""
    digest = hashlib.sha256()
    for name in _SIMULATOR_MODULES:
        digest.update(Path(importlib.import_module(name).__file__).read_bytes())
    return digest.hexdigest()[:16]


def training_reference(
    fraction: float = 1.0,
    seed: int = 1,
    *,
    per_energy: int | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    shower_model: str | None = None,
) -> ShowerArrays:
    """The held-out reference half of a ``hepnb train calo`` training, regenerated exactly.

    The training simulated ``standard_dataset(fraction, seed, model=ShowerModel.named(shower_model))`` and split it
    50/50 with ``seed`` (`hepnb.calo.data.CaloDataModule`, which calls `split_train_reference`); this returns the
    other half, in MeV.

    Parameters
    ----------
    fraction, seed
        The training's ``--fraction`` and ``--seed`` (``training.json`` of the archive records them).
    per_energy
        Keep at most this many reference showers per energy point (a seeded random subset, in order); all by default.
    cache
        Optional ``.npz`` file: read if it was written for the same fraction, seed, shower model and simulator
        source, otherwise simulated and written there (the full reference half, before ``per_energy``).
    progress
        Progress bar of the simulation.
    shower_model
        The training's ``--shower-model`` (a name of `hepnb.calo.gflash.SHOWER_MODELS`; None is the default).
    """
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if per_energy is not None and per_energy < 1:
        raise InputError(f"per_energy={per_energy} must be a positive number of showers (or None for all)")
    model = ShowerModel.named(shower_model)
    key = f"fraction={float(fraction)!r};seed={int(seed)};simulator={_simulator_digest()}"
    if model != ShowerModel():  # the default model's caches keep the key they had before the option
        key += f";model={shower_model}"
    reference: ShowerArrays | None = None
    if cache is not None and Path(cache).is_file():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                if "key" in stored.files and str(stored["key"]) == key:
                    reference = ShowerArrays.from_arrays(
                        *(stored[n] for n in ("cells", "energy", "p", "e", "deta", "dphi"))
                    )
        except (OSError, ValueError, EOFError, KeyError):  # a damaged cache is simulated again and replaced
            reference = None
    if reference is None:
        showers = standard_dataset(fraction, seed=int(seed), model=model, progress=progress)
        _, reference_index = split_train_reference(len(showers), int(seed))
        reference = as_shower_arrays(showers.subset(reference_index))
        del showers
        if cache is not None:
            from hepnb.io import atomic_write

            with atomic_write(cache, "wb") as handle:
                # the simulator's cells are float32: storing them as float32 loses nothing
                np.savez(
                    handle,
                    key=np.array(key),
                    cells=reference.cells.astype(np.float32),
                    energy=reference.energy,
                    p=reference.p,
                    e=reference.e,
                    deta=reference.deta,
                    dphi=reference.dphi,
                )
    if per_energy is not None:
        rng = np.random.default_rng(int(seed))
        keep = []
        for energy in np.unique(reference.energy):
            rows = np.flatnonzero(reference.energy == energy)
            keep.append(rows if len(rows) <= per_energy else np.sort(rng.choice(rows, per_energy, replace=False)))
        reference = reference.subset(np.sort(np.concatenate(keep)))
    return reference


def generate_like(
    model: Any, reference: ShowerArrays, *, seed: int, batch_size: int = 8192, extrapolate: bool = False
) -> np.ndarray:
    """One generated shower per reference shower, same conditions: cells ``[N, 266]`` in MeV (float64).

    ``model`` is a `hepnb.calo.gan.CaloGAN` (e.g. ``EpochArchive.load(epoch)``); its units are converted.
    ``extrapolate=True`` allows energies outside the model's trained range (`CaloGAN.generate`).
    """
    if not hasattr(model, "generate") or not hasattr(model, "preprocessing"):
        raise InputError(f"model must be a CaloGAN (with .generate and .preprocessing), got {type(model).__name__}")
    units = model.preprocessing
    energy = reference.energy / energy_unit(units.energy_unit)
    cells = model.generate(
        energy,
        reference.p,
        reference.e,
        reference.deta,
        reference.dphi,
        seed=seed,
        batch_size=batch_size,
        extrapolate=extrapolate,
    )
    return cells * energy_unit(units.cell_unit)
