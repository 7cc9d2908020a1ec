"""The samples of a jet-GAN evaluation: an archive's training, the jets it held out, and generated jets.

The held-out jets are those ``hepnb train jets`` set aside (:func:`~hepnb.jets.datamodule.split_held_out` with
the ``seed`` and ``n_eval`` of the archive's ``training.json``); :func:`split_reference` cuts them into the
**reference** every row of the metrics table is measured against and the real-vs-real floor's second half.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepnb.errors import InputError

__all__ = ["TrainingSetup", "training_setup", "held_out_jets", "split_reference", "load_generator", "sample_jets"]


@dataclass(frozen=True)
class TrainingSetup:
    """What ``training.json`` says about an archive's training: the model, its seed and held-out jets.

    Attributes
    ----------
    archive
        The archive folder.
    model
        ``"setgan"`` or ``"epic"``.
    seed, n_eval
        The training's seed and number of held-out jets (:func:`~hepnb.jets.datamodule.split_held_out`).
    dataset
        ``jet_class``, ``n_jets``, ``preset`` and ``seed`` of the training jets.
    data
        The dataset folder the training read.
    """

    archive: Path
    model: str
    seed: int
    n_eval: int
    dataset: Mapping[str, Any]
    data: str


def training_setup(archive: str | os.PathLike[str]) -> TrainingSetup:
    """Read the :class:`TrainingSetup` of the archive folder ``archive`` from its ``training.json``."""
    path = Path(archive) / "training.json"
    if not path.is_file():
        raise InputError(
            f"{archive} has no training.json, so its held-out jets are unknown: give the folder of an "
            "archive made by `hepnb train jets` (a slim export needs the training.json copied next to it)"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return TrainingSetup(
            Path(archive),
            str(record["config"]["model"]),
            int(record["config"]["seed"]),
            int(record["config"]["n_eval"]),
            dict(record["dataset"]),
            str(record["data"]),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path} is not a `hepnb train jets` record ({err!r}); train again") from None


def held_out_jets(data: Any, setups: TrainingSetup | Sequence[TrainingSetup]) -> np.ndarray:
    """The jets of dataset ``data`` (a folder or a :class:`~hepnb.jets.io.JetSample`) that every training of
    ``setups`` held out, JetNet clouds ``[N, P, 4]`` in dataset order: jets none of those models trained on.

    ``data`` must hold the trainings' jets (same class, seed, size and preset; a slimmed copy is fine).
    """
    from hepnb.jets.datamodule import split_held_out
    from hepnb.jets.io import JetSample, particle_features, read_jets

    setups = [setups] if isinstance(setups, TrainingSetup) else list(setups)
    if not setups:
        raise InputError("held_out_jets needs the TrainingSetup of at least one archive (training_setup(folder))")
    sample = data if isinstance(data, JetSample) else read_jets(data)
    found = {key: sample.meta[key] for key in ("jet_class", "seed", "n_jets")} | {"preset": sample.preset.name}
    held = np.arange(len(sample))
    for setup in setups:
        if found != dict(setup.dataset):
            raise InputError(
                f"{sample!r} holds {found}, but {setup.archive} was trained on {dict(setup.dataset)}: "
                "give the training's dataset folder"
            )
        held = np.intersect1d(held, split_held_out(len(sample), setup.n_eval, setup.seed)[1])
    if len(held) < 4:
        raise InputError(
            f"the archives {[str(s.archive) for s in setups]} share only {len(held)} held-out jets: "
            "train them with the same --seed and --eval-jets"
        )
    return particle_features(sample.jets[held], sample.preset.replace(representation="jetnet"))


def split_reference(held_out: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves ``(reference, floor)`` of the held-out clouds ``[N, P, 4]`` (``N // 2`` each)."""
    from hepnb.jets.datamodule import check_particles

    jets = check_particles(held_out, "held_out")
    if len(jets) < 4:
        raise InputError(f"need at least 4 held-out jets to split into two halves, got {len(jets)}")
    order, half = np.random.default_rng(seed).permutation(len(jets)), len(jets) // 2
    return jets[np.sort(order[:half])], jets[np.sort(order[half : 2 * half])]


def load_generator(archive: str | os.PathLike[str], epoch: int | None = None) -> Any:
    """The jet GAN of ``epoch`` (default: the last) of an archive, in eval mode; slim exports load too."""
    from hepnb.training import EpochArchive

    store = EpochArchive(archive)
    if not store.exists:
        raise InputError(f"{archive} is not an epoch archive (no index.json): train one with `hepnb train jets`")
    if epoch is not None and epoch not in store.epochs:
        raise InputError(f"epoch {epoch!r} has no checkpoint in {archive}; checkpointed epochs: {store.epochs}")
    with warnings.catch_warnings():  # a slim export holds no discriminator: Lightning's note about it is expected
        warnings.filterwarnings("ignore", message="Found keys that are in the model state dict but not")
        model = store.load(epoch)
    if not callable(getattr(model, "generate", None)):
        raise InputError(f"{archive} holds a {type(model).__name__}, not a jet GAN")
    return model


def sample_jets(model: Any, n: int, *, seed: int = 0, batch_size: int | None = None) -> np.ndarray:
    """``n`` generated jets ``[n, P, 4]`` = (eta_rel, phi_rel, pT_rel, mask) in physical units (JetNet's format).

    ``model`` is a jet GAN or an archive folder (its last epoch); the same seed gives the same jets. Refuses a
    generator whose output is not finite (a diverged epoch). ``batch_size`` is the jets per forward pass (default:
    the generator's, :meth:`hepnb.jets.lsgan.PointCloudGAN.generate`).
    """
    if isinstance(model, (str, os.PathLike)):
        model = load_generator(model)
    if not callable(getattr(model, "generate", None)):
        raise InputError(f"model must be a jet GAN (SetGAN, EPiCGAN) or an archive folder, got {type(model).__name__}")
    jets = model.generate(n, seed=seed, batch_size=batch_size)
    if not np.isfinite(jets).all():
        raise InputError("the generator gives non-finite particles (a diverged epoch): choose another epoch")
    return jets
