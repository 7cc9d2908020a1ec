"""Epoch picking by flatness: the EpochPicker on a decorrelation training, and training on until the threshold
curve is flat.

The thesis picks the epoch of a decorrelated classifier by eye: when the curve of the score thresholds at fixed
signal efficiency against the mass is not flat, it trains a few more batches (51 of 128 events) and looks again
(A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, section 8.1.3). Here that is automated
twice over, one epoch (the archive's checkpoint step) or one step of a given number of batches at a time:

- :func:`flatness_picker` puts a training's per-epoch validation metrics
  (:func:`hepnb.decorrelation.data.epoch_metrics`) into an :class:`~hepnb.widgets.EpochPicker` whose automatic
  rule takes the smallest mean flatness at 80 % and 90 % signal efficiency (the scans' own rule; the AUC shown
  beside it, with weight 0), so that the choice can be looked at, changed by hand and saved to a manifest;
- :func:`train_until_flat` resumes a training of :func:`hepnb.decorrelation.scan.train` one epoch (or one step of
  ``step_batches`` batches, the thesis's 51) at a time until the flatness of its picked epoch reaches a target.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepnb.decorrelation import scan
from hepnb.decorrelation.datasets import DecorrelationDataset
from hepnb.decorrelation.scan import mean_flatness
from hepnb.errors import InputError, is_real_number, is_whole_number
from hepnb.hists import Comparison
from hepnb.training import EpochArchive
from hepnb.widgets.epoch_picker import EpochPicker

__all__ = ["WEIGHTS", "HIGHER_IS_BETTER", "FlatnessPicker", "flatness_picker", "UntilFlat", "train_until_flat"]

#: The automatic rule's weights: the flatness (the mean of ``flatness_80`` and ``flatness_90``, both in score units)
#: counts, as in :func:`hepnb.decorrelation.scan.pick_epoch`; its two parts and the AUC are shown (weight 0, raise
#: them in the widget).
WEIGHTS: dict[str, float] = {"flatness": 1.0, "flatness_80": 0.0, "flatness_90": 0.0, "auc": 0.0}
#: The metric shown by the picker for which larger is better (the flatness metrics: smaller).
HIGHER_IS_BETTER = ("auc",)


class FlatnessPicker(EpochPicker):
    """An :class:`~hepnb.widgets.EpochPicker` with the flatness rule among the epochs within ``auc_tolerance`` of
    the best AUC, optionally blind to epochs after ``max_epoch`` (made by :func:`flatness_picker`)."""

    def __init__(
        self,
        archive: EpochArchive,
        comparisons: Callable[[int], Sequence[Comparison]] | None = None,
        *,
        manifest: str | os.PathLike[str] | None = None,
        max_epoch: int | None = None,
        auc_tolerance: float | None = 0.01,
    ) -> None:
        if auc_tolerance is not None and not (is_real_number(auc_tolerance) and 0 <= auc_tolerance < 1):
            raise InputError(f"auc_tolerance must be a number in [0, 1) (or None: every epoch), got {auc_tolerance!r}")
        if max_epoch is not None and not (is_whole_number(max_epoch) and max_epoch >= 1):
            raise InputError(f"max_epoch must be a whole number >= 1 (or None for every epoch), got {max_epoch!r}")
        history = archive.history
        missing = [m for m in ("flatness_80", "flatness_90") if m not in history.columns]
        if missing:
            raise InputError(
                f"{archive.path} records no {missing}: a flatness picker needs the metrics of "
                "hepnb.decorrelation.data.epoch_metrics (as scan.train records them)"
            )
        shown = [m for m in HIGHER_IS_BETTER if m in history.columns]
        candidates = [e for e in archive.epochs if e in history.index and (max_epoch is None or e <= max_epoch)]
        if max_epoch is not None and not candidates:
            raise InputError(
                f"{archive.path} has no checkpointed epoch up to max_epoch={max_epoch} "
                f"(epochs: {archive.epochs}): raise max_epoch or train first"
            )
        if "auc" in history.columns and candidates:
            # the best AUC of every recorded epoch up to max_epoch, checkpointed or not, as scan.pick_epoch reads it
            auc = history.loc[: max_epoch or history.index.max(), "auc"].astype(float)
            if auc.isna().all():
                raise InputError(f"{archive.path} records no AUC (all NaN): there is nothing to hold the flatness to")
            candidates = [e for e in candidates if np.isfinite(auc[e])]  # an undefined AUC cannot be ranked
            if auc_tolerance is not None:  # a collapsed score is flat but no longer separates: not a candidate
                candidates = [e for e in candidates if auc[e] >= auc.max() - auc_tolerance]
        flat = mean_flatness(history)
        if candidates and not any(np.isfinite(flat[e]) for e in candidates):
            advice = "; pass auc_tolerance=None to rank every epoch, or" if auc_tolerance is not None else ":"
            within = "" if auc_tolerance is None else f" within auc_tolerance={auc_tolerance} of the best AUC"
            raise InputError(
                f"no candidate epoch of {archive.path}{within} has a defined flatness (too few events per mass bin "
                f"for a threshold curve){advice} record the metrics on more validation events"
            )
        candidates = [e for e in candidates if np.isfinite(flat[e])]  # no threshold curve: nothing to rank
        super().__init__(
            archive,
            comparisons,
            weights=WEIGHTS,
            higher_is_better=shown,
            manifest=manifest,
            candidates=candidates or None,
            derived={"flatness": mean_flatness},
        )
        if max_epoch is not None:
            self._history = self._history[self._history.index <= max_epoch]  # the curves stop at max_epoch too


def flatness_picker(
    archive: EpochArchive,
    *,
    comparisons: Callable[[int], Sequence[Comparison]] | None = None,
    manifest: str | os.PathLike[str] | None = None,
    max_epoch: int | None = None,
    auc_tolerance: float | None = 0.01,
) -> FlatnessPicker:
    """An EpochPicker on a decorrelation training's archive that picks the flattest epoch.

    The candidates are the checkpointed epochs whose AUC is within ``auc_tolerance`` of the best (a collapsed score
    is flat because it no longer separates the classes, and is not a candidate; ``None`` keeps every epoch) and
    whose flatness is defined. The automatic rule takes the smallest ``flatness``
    (:func:`hepnb.decorrelation.scan.mean_flatness`, the mean of ``flatness_80`` and ``flatness_90``), ties to the
    later epoch: on an archive with every epoch checkpointed (as :func:`hepnb.decorrelation.scan.train` writes
    them), the epoch :func:`hepnb.decorrelation.scan.pick_epoch`, and so every scan, evaluates. ``flatness_80``,
    ``flatness_90`` and ``auc`` are shown with weight 0; raise their weights in the widget to rank by a weighted
    mean rank instead, or choose by hand.

    Parameters
    ----------
    archive
        The training's archive (e.g. ``scan.train(...).archive``), its history from ``epoch_metrics``.
    comparisons
        Function ``epoch -> sequence of Comparison`` drawn for the selected epoch.
    manifest
        JSON file of the saved choice; if it exists, it is the choice.
    max_epoch
        Consider only epochs up to this one (as ``scan.train(..., max_epochs=max_epoch)`` does); all by default.
    auc_tolerance
        Largest AUC loss from the best epoch's for a candidate (0.01, as ``pick_epoch``); None: no cut.

    Examples
    --------
    >>> import tempfile
    >>> from hepnb.decorrelation.models import Classifier
    >>> folder = tempfile.TemporaryDirectory()
    >>> archive = EpochArchive(folder.name)
    >>> rows = [(4.0, 5.0, 0.80), (2.0, 2.5, 0.905), (1.0, 1.5, 0.907), (3.0, 3.0, 0.91), (0.2, 0.3, 0.60)]
    >>> for epoch, (f80, f90, auc) in enumerate(rows, start=1):  # epoch 5: a collapsed, flat score
    ...     archive.append_metrics(epoch, {"flatness_80": f80, "flatness_90": f90, "auc": auc})
    ...     file = archive.checkpoint_file(epoch)
    ...     _ = file.write_bytes(b"a placeholder, never loaded")
    ...     archive.add_checkpoint(epoch, file, Classifier(2))
    >>> picked = flatness_picker(archive).epoch, flatness_picker(archive, auc_tolerance=None).epoch
    >>> picked, scan.pick_epoch(archive.history)
    ((3, 5), 3)
    >>> folder.cleanup()
    """
    return FlatnessPicker(archive, comparisons, manifest=manifest, max_epoch=max_epoch, auc_tolerance=auc_tolerance)


@dataclass(frozen=True)
class UntilFlat:
    """What :func:`train_until_flat` did: the final training (its picked epoch), the epochs it holds, whether the
    target was reached, the target, the flatness of the picked epoch after each step (epochs -> mean of
    ``flatness_80`` and ``flatness_90``, the weighted RMS of the thresholds in score units), its validation AUC
    after each step, and the AUC floor (None: none)."""

    training: scan.Training
    epochs: int
    reached: bool
    target: float
    flatness: dict[int, float]
    auc: dict[int, float]
    min_auc: float | None


def train_until_flat(
    dataset: DecorrelationDataset,
    method: str,
    lam: float,
    seed: int,
    folder: str | os.PathLike[str],
    *,
    flatness_target: float,
    start_epochs: int,
    max_epochs: int,
    step_batches: int | None = None,
    min_auc: float | None = None,
    **train_options: Any,
) -> UntilFlat:
    """Train ``start_epochs`` epochs, then one more at a time until the picked epoch is flat enough.

    The thesis's "train a few more batches until the threshold curve is flat" (A. Ghosh, PhD thesis, Universite
    Paris-Saclay 2020, HAL tel-03324250, section 8.1.3), automated: after each step the epoch is picked as
    :func:`hepnb.decorrelation.scan.train` does (``pick``, ``auc_tolerance``), and training stops as soon as the
    mean of its ``flatness_80`` and ``flatness_90`` is at most ``flatness_target`` (and its AUC at least
    ``min_auc``, if given), or at ``max_epochs``.

    Every step is a :func:`~hepnb.decorrelation.scan.train` into the same archive, which resumes from the last
    checkpoint and trains only the epochs it lacks. A second call with the same arguments therefore reads every
    step back without training; a call with another target reuses the epochs already there (the picks only look
    at the epochs up to each step, so the archive may hold more epochs than the result's ``epochs``).

    Parameters
    ----------
    dataset, method, lam, seed, folder
        As for :func:`~hepnb.decorrelation.scan.train`.
    flatness_target
        The flatness at which to stop (mean of ``flatness_80`` and ``flatness_90``, the weighted RMS over mass
        bins of the score thresholds, in score units); finite and > 0.
    start_epochs
        Epochs trained before the first check (at least 1).
    max_epochs
        The most epochs the training gets (at least ``start_epochs``).
    step_batches
        Check every ``step_batches`` batches instead of every epoch, as the thesis did (51 batches): each "epoch"
        of the training (an archive of its own, ``-s<step_batches>`` in its folder name, apart from the full-epoch
        ones) is then ``step_batches`` batches of a fresh shuffle of the training events, so ``start_epochs``,
        ``max_epochs`` and the result count these steps. ``None``: whole epochs.
    min_auc
        The validation AUC the picked epoch must also reach: a classifier that has not learned yet (after one short
        step, say) is flat because it hardly separates the classes. ``None``: flatness alone.
    train_options
        Passed on to :func:`~hepnb.decorrelation.scan.train` (``batch_size``, ``pick``, ``auc_tolerance``,
        ``model_options``, the trainer's hardware options, ...).

    Examples
    --------
    A real training takes seconds to minutes (notebook 04, section 4), too long for an example; the settings are
    checked before anything is trained:

    >>> result = train_until_flat(dataset, "aspiration", 3.0, 1, "runs/decorrelation", flatness_target=0.01,
    ...                           start_epochs=5, max_epochs=30)                          # doctest: +SKIP
    >>> result.reached, result.epochs, result.training.epoch, result.flatness             # doctest: +SKIP
    >>> train_until_flat(None, "aspiration", 3.0, 1, "runs", flatness_target=0.01, start_epochs=5, max_epochs=3)
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: start_epochs=5 exceeds max_epochs=3: give start_epochs <= max_epochs
    """
    if not (is_real_number(flatness_target) and math.isfinite(flatness_target) and flatness_target > 0):
        raise InputError(
            f"flatness_target must be a finite number > 0 (a score RMS such as 0.01), got {flatness_target!r}"
        )
    for name, value in (("start_epochs", start_epochs), ("max_epochs", max_epochs)):
        if not (is_whole_number(value) and value >= 1):
            raise InputError(f"{name} must be a whole number >= 1, got {value!r}")
    if start_epochs > max_epochs:
        raise InputError(
            f"start_epochs={start_epochs} exceeds max_epochs={max_epochs}: give start_epochs <= max_epochs"
        )
    if min_auc is not None and not (is_real_number(min_auc) and 0.5 <= min_auc <= 1):
        raise InputError(f"min_auc must be a number in [0.5, 1] (or None), got {min_auc!r}")
    if step_batches is not None:
        if not (is_whole_number(step_batches) and step_batches >= 1):
            raise InputError(f"step_batches must be a whole number >= 1 (the thesis: 51) or None, got {step_batches!r}")
        if "limit_train_batches" in train_options:
            raise InputError("give step_batches or limit_train_batches, not both: step_batches sets the batches")
        train_options = {**train_options, "limit_train_batches": int(step_batches)}
    flatness: dict[int, float] = {}
    auc: dict[int, float] = {}
    epochs = int(start_epochs)
    while True:
        training = scan.train(dataset, method, lam, seed, folder, max_epochs=epochs, **train_options)
        history = training.archive.history  # read once per step
        flatness[epochs] = float(mean_flatness(history).loc[training.epoch])
        auc[epochs] = float(history.loc[training.epoch, "auc"])
        reached = flatness[epochs] <= flatness_target and (min_auc is None or auc[epochs] >= min_auc)
        if reached or epochs >= max_epochs:
            floor = None if min_auc is None else float(min_auc)
            return UntilFlat(training, epochs, bool(reached), float(flatness_target), flatness, auc, floor)
        epochs += 1
