"""The samples of a jet-GAN evaluation: an archive's training, its held-out jets, new test jets, generated jets.

Three disjoint sets of real jets:

- the **training** jets;
- the **held-out** jets, which ``hepnb train jets`` set aside (:func:`~hepnb.jets.datamodule.split_held_out` with
  the ``seed`` and ``n_eval`` of the archive's ``training.json``) and scored every epoch on: the epoch-picking
  validation set;
- the **test** jets, new Pythia 8 + FastJet jets of the same preset and class with another seed
  (:func:`fresh_jets`): neither the training nor the epoch choice saw them, so the numbers quoted come from them.

:func:`split_reference` cuts a sample into the **reference** every row of the metrics table is measured against
and the real-vs-real floor's second half.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepnb.errors import InputError, is_whole_number

_SIMULATION = ("pythia8mc", "fastjet")  # the packages whose versions change the physics of the jets

__all__ = [
    "TrainingSetup",
    "training_setup",
    "held_out_jets",
    "training_jets",
    "fresh_jets",
    "split_reference",
    "load_generator",
    "sample_jets",
    "match_pt_sums",
]


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


def _dataset_for(data: Any, setups: Sequence[TrainingSetup]) -> Any:
    """The :class:`~hepnb.jets.io.JetSample` ``data`` (a folder or a sample), checked to be the ``setups``' jets."""
    from hepnb.jets.io import JetSample, read_jets

    sample = data if isinstance(data, JetSample) else read_jets(data)
    found = {key: sample.meta[key] for key in ("jet_class", "seed", "n_jets")} | {"preset": sample.preset.name}
    for setup in setups:
        if found != dict(setup.dataset):
            raise InputError(
                f"{sample!r} holds {found}, but {setup.archive} was trained on {dict(setup.dataset)}: "
                "give the training's dataset folder"
            )
    return sample


def held_out_jets(data: Any, setups: TrainingSetup | Sequence[TrainingSetup]) -> np.ndarray:
    """The jets of dataset ``data`` (a folder or a :class:`~hepnb.jets.io.JetSample`) that every training of
    ``setups`` held out, JetNet clouds ``[N, P, 4]`` in dataset order: jets none of those models trained on.

    ``data`` must hold the trainings' jets (same class, seed, size and preset; a slimmed copy is fine).
    """
    from hepnb.jets.datamodule import split_held_out
    from hepnb.jets.io import particle_features

    setups = [setups] if isinstance(setups, TrainingSetup) else list(setups)
    if not setups:
        raise InputError("held_out_jets needs the TrainingSetup of at least one archive (training_setup(folder))")
    sample = _dataset_for(data, setups)
    held = np.arange(len(sample))
    for setup in setups:
        held = np.intersect1d(held, split_held_out(len(sample), setup.n_eval, setup.seed)[1])
    if len(held) < 4:
        raise InputError(
            f"the archives {[str(s.archive) for s in setups]} share only {len(held)} held-out jets: "
            "train them with the same --seed and --eval-jets"
        )
    return particle_features(sample.jets[held], sample.preset.replace(representation="jetnet"))


def training_jets(data: Any, setup: TrainingSetup) -> np.ndarray:
    """The jets of a dataset that a training trained on: the complement of its held-out jets.

    Parameters
    ----------
    data
        The training's dataset, a folder or a :class:`~hepnb.jets.io.JetSample` (same class, seed, size and preset
        as ``setup.dataset``).
    setup
        The archive's :class:`TrainingSetup` (:func:`training_setup`).

    Returns
    -------
    numpy.ndarray
        JetNet clouds ``[N, P, 4]`` in dataset order, N = the dataset's jets minus ``setup.n_eval``.

    Raises
    ------
    hepnb.errors.InputError
        If ``setup`` is not a :class:`TrainingSetup` or ``data`` holds other jets than the training's.
    """
    from hepnb.jets.datamodule import split_held_out
    from hepnb.jets.io import particle_features

    if not isinstance(setup, TrainingSetup):
        raise InputError(f"setup must be a TrainingSetup (training_setup(folder)), got {type(setup).__name__}")
    sample = _dataset_for(data, [setup])
    train = split_held_out(len(sample), setup.n_eval, setup.seed)[0]
    return particle_features(sample.jets[train], sample.preset.replace(representation="jetnet"))


def fresh_jets(
    data: Any,
    n_jets: int,
    folder: str | os.PathLike[str],
    *,
    seed: int,
    workers: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """``n_jets`` new jets like those of the dataset ``data``, JetNet clouds ``[n_jets, P, 4]``: the test jets.

    They are generated by :func:`hepnb.jets.generate_jets` with the preset and jet class of ``data`` (a folder or a
    :class:`~hepnb.jets.io.JetSample`) and with ``seed``, which must differ from the dataset's (the same seed gives
    the same jets). ``folder`` caches them: a sub-folder per class, seed, size, preset settings and package
    versions, which a later call reads back (and a killed one finishes). Test jets made with other Pythia or FastJet
    versions than the dataset's are compared all the same, with a warning.

    Parameters
    ----------
    data
        The training dataset.
    n_jets
        Test jets to make.
    folder
        Cache folder.
    seed
        Pythia's seed for the test jets.
    workers
        Processes (default: all cores; 1 generates in this process).
    progress
        Show generation's tqdm bar.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from hepnb.jets import generate_jets
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     train = generate_jets(pathlib.Path(tmp) / "qcd", 20, jet_class="qcd", seed=1, progress=False).read()
    ...     test = fresh_jets(train, 10, pathlib.Path(tmp) / "test", seed=2, workers=1)
    >>> test.shape
    (10, 30, 4)
    """
    from hepnb.jets.generate import generate_jets, package_versions
    from hepnb.jets.io import JetSample, particle_features, read_jets

    sample = data if isinstance(data, JetSample) else read_jets(data)
    if is_whole_number(seed) and seed == sample.meta["seed"]:
        raise InputError(
            f"test seed {seed} is the seed of {sample!r}: it would give the training jets again; choose another seed"
        )
    jet_class, preset, versions = sample.meta["jet_class"], sample.preset, package_versions()
    made = sample.meta.get("versions", {})  # the dataset's
    changed = {k: (made[k], versions.get(k)) for k in _SIMULATION if k in made and made[k] != versions.get(k)}
    if changed:
        described = ", ".join(f"{k} {old} (dataset) / {new} (now)" for k, (old, new) in changed.items())
        warnings.warn(f"the test jets are simulated with other versions than {sample!r}: {described}", stacklevel=2)
    settings = json.dumps({"preset": preset.to_dict(), "versions": versions}, sort_keys=True)
    name = f"{preset.name}-{jet_class}-seed{seed}-{n_jets}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"
    run = generate_jets(
        Path(folder) / name, n_jets, preset=preset, jet_class=jet_class, seed=seed, workers=workers, progress=progress
    )
    return particle_features(run.read().jets, preset.replace(representation="jetnet"))


def split_reference(jets: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves ``(reference, floor)`` of the real clouds ``jets`` ``[N, P, 4]`` (``N // 2`` each)."""
    from hepnb.jets.datamodule import check_particles

    jets = check_particles(jets, "jets")
    if len(jets) < 4:
        raise InputError(f"need at least 4 real jets to split into two halves, got {len(jets)}")
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


def match_pt_sums(jets: Any, target: Any, *, source: Any = None) -> np.ndarray:
    """The clouds ``jets`` with each jet's pT_rel multiplied by one factor, so that the jets' summed pT_rel follow
    the distribution of the clouds ``target``; angles, multiplicities and each jet's pT shares are kept.

    Without ``source`` the jets are matched rank for rank among themselves: a diagnostic of how much of a metric's
    distance is the total pT that the particles carry. With ``source``, other jets of the same generator, the map is
    the one from ``source``'s sums to ``target``'s (quantile to quantile): fitted on a generated sample and the
    training jets, it is a calibration stage that any number of new jets can pass through, in the spirit of the
    calorimeter generators that model the deposited energies apart from the shower shapes (CaloFlow,
    arXiv:2106.05285).

    Parameters
    ----------
    jets, target
        JetNet clouds ``[N, P, 4]`` and ``[M, P', 4]`` (:func:`~hepnb.jets.datamodule.check_particles`). Without
        ``source``, the jet of rank k in ``jets`` (k = 0 for the smallest sum) gets the (k + 1/2)/N quantile of
        ``target``'s sums, which is ``target``'s sum of the same rank when M = N.
    source
        JetNet clouds ``[K, P'', 4]``. A jet whose sum s has ``F(s)`` under the distribution function F of
        ``source``'s sums gets the ``F(s)`` quantile of ``target``'s sums; F is the empirical one, (k + 1/2)/K at
        the sum of rank k, linear in between and constant beyond the smallest and largest sums. ``source=jets``
        gives the rank-for-rank matching when no two sums are equal.

    Returns
    -------
    numpy.ndarray
        A rescaled float32 copy of ``jets``.

    Raises
    ------
    hepnb.errors.InputError
        If a sample is not a valid cloud (a jet without particles, a real particle with pT_rel <= 0, ...), or if
        ``source``'s sums take fewer than two values (no map can be fitted).

    Examples
    --------
    >>> jets = [[[0.1, 0.0, 0.5, 1.0], [0.0, 0.1, 0.3, 1.0]], [[0.0, 0.0, 0.9, 1.0], [0.0, 0.0, 0.0, 0.0]]]
    >>> target = [[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.7, 1.0], [0.0, 0.0, 0.0, 0.0]]]
    >>> match_pt_sums(jets, target)[..., 2].astype(float).round(3).tolist()  # sums 0.8, 0.9 become 0.7, 1.0
    [[0.438, 0.263], [1.0, 0.0]]

    A generator whose sums run 0.15 high against four target jets of sums 0.7, 0.8, 0.9 and 1.0: the jet of sum
    0.9 lies at F = 1/3 of the source's sums 0.85, 0.95, 1.05 and gets the target's 1/3 quantile, 0.8; the jet of
    sum 0.8, below the source's smallest, gets F = 1/6 and the target's 0.7.

    >>> target = [[[0.0, 0.0, s, 1.0], [0.0, 0.0, 0.0, 0.0]] for s in (0.7, 0.8, 0.9, 1.0)]
    >>> source = [[[0.0, 0.0, s, 1.0], [0.0, 0.0, 0.0, 0.0]] for s in (0.85, 0.95, 1.05)]
    >>> match_pt_sums(jets, target, source=source)[..., 2].sum(axis=1).astype(float).round(3).tolist()
    [0.7, 0.8]
    """
    from hepnb.jets.datamodule import check_particles
    from hepnb.jets.evaluation.figures import pt_sum

    clouds, reference = check_particles(jets, "jets"), check_particles(target, "target")  # new float32 arrays
    sums = pt_sum(clouds)  # > 0: every jet has a particle, of pT_rel > 0
    if source is None:
        quantiles = (np.argsort(np.argsort(sums, kind="stable"), kind="stable") + 0.5) / len(sums)
    else:
        fitted = np.sort(pt_sum(check_particles(source, "source")))
        if fitted[0] == fitted[-1]:
            raise InputError(
                f"the summed pT_rel of source's {len(fitted)} jets take one value ({fitted[0]:.6g}): no map can be "
                "fitted; give a generated sample of many jets"
            )
        quantiles = np.interp(sums, fitted, (np.arange(len(fitted)) + 0.5) / len(fitted))
    scale = np.quantile(pt_sum(reference), quantiles, method="inverted_cdf") / sums
    clouds[..., 2] *= scale[:, None].astype(clouds.dtype)
    return clouds
