"""Per-epoch metrics of the jet GANs for the epoch archive and the epoch picker: W1M, W1P and the FPD at N.

After each epoch the generator makes ``n_eval`` jets with a fixed seed, which are compared with held-out real jets
by JetNet's metrics (:mod:`hepnb.metrics.jetnet`; Kansal et al., arXiv:2106.11535 and arXiv:2211.10295):

- ``w1m``: 1-Wasserstein distance of the relative jet mass, mean over ``num_batches`` batches (``w1m_error``: their
  spread); MPGAN picked its epoch by the smallest W1M;
- ``w1p``: the same for the particle features (eta_rel, phi_rel, pT_rel), averaged over the three (``w1p_error``);
- ``fpd_n``: the Fréchet physics distance of the 36 EFPs with d <= 4 between the ``n_eval`` generated and the
  held-out jets, at those sizes (:func:`hepnb.metrics.fpd_at_n`): JetNet's FPD before its extrapolation in 1/N,
  biased upwards by a term of order 1/n_eval (set by the two samples' covariances) that a fit in 1/N would remove.

All are smaller-is-better. The picker's default weights rank the epochs on W1M and the FPD at N and show W1P (weight
0; a physicist may weigh it in). Why not JetNet's extrapolated FPD: at n_eval = 5000 its intercept comes from a fit
over sizes 2500-5000 on batches drawn with replacement, and can be mostly noise. Over the 30 checkpoints of a
120-epoch QCD EPiC-GAN training (the ``epic_qcd`` command of ``data/README.md`` with ``--epochs 120``; measured on
2026-12-06), its ranks for two seeds (of the generated jets and of the batches) agree with a Spearman correlation of
0.29 (the FPD at N: 0.86) and predict the ranks on new test jets at 0.34 (the FPD at N: 0.99), and the two seeds
made the former rule pick epochs 60 and 100 (the current one: 100 and 100). ``benchmarks/bench_jet_picking.py``
measures this for any archive.

These metrics are computed on far fewer jets than JetNet's recommended 50 000 (to stay cheap during training), so
they rank epochs of one training, and the final numbers should be computed again on large samples with a
real-vs-real baseline. A generator that produces non-finite particles gets NaN (stored as null).

:func:`rescore` adds them at the checkpoints of an archive trained before a metric was added.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.jets.datamodule import check_particles
from hepnb.metrics.jetnet import SmallSampleWarning, fpd_kpd_features, w1m, w1p
from hepnb.metrics.physics_distances import fpd_at_n

if TYPE_CHECKING:
    from hepnb.training import EpochArchive

__all__ = ["METRICS", "DEFAULT_WEIGHTS", "epoch_metrics", "rescore"]

METRICS = ("w1m", "w1p", "fpd_n")
"""Names of the per-epoch metrics (smaller is better); W1M and W1P have a ``<name>_error`` companion."""

DEFAULT_WEIGHTS = {"w1m": 1.0, "w1p": 0.0, "fpd_n": 1.0}
"""Weights of the epoch picker's automatic rule: the jet mass and the EFPs count alike; W1P is shown, not ranked."""

_RECORDED = ("w1m", "w1m_error", "w1p", "w1p_error", "fpd_n")  # the keys of an epoch's record


def epoch_metrics(
    reference: Any, *, n_eval: int | None = None, seed: int = 0, num_batches: int = 3
) -> Callable[[Any, int], dict[str, float]]:
    """A ``(model, epoch) -> {name: value}`` function for :func:`hepnb.training.fit` (``metrics=``).

    Parameters
    ----------
    reference
        Held-out real jets ``[N, P, 4]`` in JetNet's format, not used for training.
    n_eval
        Jets generated per epoch and drawn per W1 batch (default: as many as ``reference``); at least 10.
    seed
        Seed of the generated jets and of the W1 batches (the same every epoch).
    num_batches
        W1M and W1P batches: the cost knob with ``n_eval``.

    Examples
    --------
    >>> from pathlib import Path
    >>> import hepnb
    >>> from hepnb.jets import read_jets
    >>> from hepnb.training import EpochArchive
    >>> data = Path(hepnb.__file__).parents[1] / "data" / "jets"
    >>> real = read_jets(data / "jetnet_top").particle_features()[:1000]
    >>> metrics = epoch_metrics(real, n_eval=200, num_batches=2)
    >>> model = EpochArchive(data / "archives" / "epic_top").load(40)
    >>> sorted(metrics(model, 40))   # what hepnb.training.fit(..., metrics=metrics) records every epoch
    ['fpd_n', 'w1m', 'w1m_error', 'w1p', 'w1p_error']
    """
    real = check_particles(reference, "reference")
    n_eval = len(real) if n_eval is None else n_eval
    for name, value, lowest in (("n_eval", n_eval, 10), ("num_batches", num_batches, 1)):
        if not is_whole_number(value) or value < lowest:
            raise InputError(f"{name}={value!r} must be a whole number of at least {lowest}")
    real_features = fpd_kpd_features(real)

    def metrics(model: Any, epoch: int) -> dict[str, float]:
        generated = model.generate(n_eval, seed=seed)
        if not np.isfinite(generated).all():
            return dict.fromkeys(_RECORDED, float("nan"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            mass, particles = (
                distance(real, generated, num_eval_samples=n_eval, num_batches=num_batches, seed=seed)
                for distance in (w1m, w1p)
            )
        return {
            "w1m": mass.value,
            "w1m_error": mass.error,
            "w1p": particles.value,
            "w1p_error": particles.error,
            "fpd_n": fpd_at_n(real_features, fpd_kpd_features(generated)),
        }

    return metrics


def rescore(
    archive: str | os.PathLike[str], data: Any, *, num_batches: int = 3, progress: bool = False
) -> EpochArchive:
    """Add the metrics of :func:`epoch_metrics` that the records of an archive's checkpointed epochs lack: for an
    archive trained before a metric was added.

    They are computed as ``hepnb train jets`` computes them: on the jets the training held out of the dataset ``data``
    with the training's seed, from the checkpoint as stored (a slim export's half-precision weights, for a shipped
    archive). Recorded values are never replaced (a saved epoch choice records them), epochs without a checkpoint
    keep their records as they are, and an epoch that has every metric is not loaded. The archive's writer lock is
    held throughout (a training into it is refused meanwhile), and each record is written atomically. The command
    line: ``hepnb train jets --output ARCHIVE --data DATA --rescore``.

    Parameters
    ----------
    archive
        An archive folder written by ``hepnb train jets`` (with its ``training.json``).
    data
        The training's dataset: its folder or :class:`~hepnb.jets.io.JetSample` (:func:`hepnb.jets.held_out_jets`).
    num_batches
        As in :func:`epoch_metrics` (the training's: 3).
    progress
        Show a tqdm bar over the checkpoints.

    Returns
    -------
    EpochArchive
        The archive, its history completed.

    Raises
    ------
    InputError
        ``archive`` has no ``training.json`` or no checkpoint, ``data`` holds other jets than the training's, or
        another process is writing the archive.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> import hepnb
    >>> from hepnb.training import EpochArchive
    >>> data = Path(hepnb.__file__).parents[1] / "data" / "jets"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     copy = EpochArchive(shutil.copytree(data / "archives" / "epic_qcd", Path(tmp) / "epic_qcd"))
    ...     shipped = copy.metrics(40)
    ...     copy.append_metrics(40, {k: v for k, v in shipped.items() if k != "w1p"})  # as if W1P were new
    ...     rescore(copy.path, data / "jetnet_qcd").metrics(40) == shipped
    True
    """
    from tqdm.auto import tqdm

    from hepnb.jets.evaluation.samples import held_out_jets, load_generator, training_setup
    from hepnb.training import EpochArchive

    setup = training_setup(archive)
    store = EpochArchive(archive)
    if not store.epochs:
        raise InputError(f"{archive} has no checkpoint to compute metrics for: train first (`hepnb train jets`)")
    metrics = epoch_metrics(held_out_jets(data, setup), seed=setup.seed, num_batches=num_batches)
    with store.writing():
        recorded = {record["epoch"]: record for record in store.records}
        for epoch in tqdm(store.epochs, desc=f"scoring {store.path.name}", disable=not progress):
            kept = {k: v for k, v in recorded.get(epoch, {}).items() if k != "epoch"}
            if not set(_RECORDED) <= set(kept):
                store.append_metrics(epoch, metrics(load_generator(archive, epoch), epoch) | kept)
    return store
