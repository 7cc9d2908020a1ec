"""Fitting helpers of :mod:`hepnb.lfi.baselines`: the validation loss, the best epoch and the chapter-6 network.

Private: :mod:`hepnb.lfi.baselines` is the interface (:func:`~hepnb.lfi.baselines.train_baseline`). Split from it to
keep modules small; torch and Lightning are imported only when the network is trained.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from hepnb.errors import InputError
from hepnb.offshell.strategies.models import thread_limit
from hepnb.offshell.strategies.samples import TrainingSet

__all__ = ["bce", "best_iteration", "fit_nn"]


def bce(p: np.ndarray, training: TrainingSet) -> float:
    """The weighted binary cross-entropy of class-1 probabilities ``p`` on ``training``'s rows (its weights)."""
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    loss = -(training.y * np.log(p) + (1 - training.y) * np.log1p(-p))
    return float(np.sum(training.weight * loss) / np.sum(training.weight))


def best_iteration(losses: Sequence[float], what: str) -> int:
    """The 1-based index of the smallest finite validation loss; :class:`InputError` when there is none."""
    if not len(losses):
        raise InputError(
            f"no validation loss was computed, so there is no best {what} to keep: leave the validation loop on "
            "(no limit_val_batches=0 or check_val_every_n_epoch beyond the epochs in trainer_options)"
        )
    finite = np.where(np.isfinite(losses), losses, np.inf)
    if not np.isfinite(finite).any():
        raise InputError(
            f"every validation loss is NaN or infinite ({list(losses)}), so there is no best {what} to keep: the "
            "training diverged; lower learning_rate or check the features for NaN/inf"
        )
    return int(np.argmin(finite)) + 1


def fit_nn(
    training: TrainingSet, validation: TrainingSet, seed: int, threads: int | None, options: dict
) -> tuple[Any, int, tuple[float, ...]]:
    """The thesis network (:func:`hepnb.offshell.strategies.train_mlp`'s set-up) with the weights of its best
    validation epoch; training stops ``patience`` epochs after the best one."""
    import lightning as L
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    from hepnb.offshell.strategies.network import MLPClassifier, WeightedBCE
    from hepnb.training import quiet_lightning, trainer
    from hepnb.training.standardisation import Standardizer

    opts = {"hidden": (32, 32, 32), "epochs": 20, "batch_size": 1024, "learning_rate": 1e-3, "patience": 4, **options}
    unknown = sorted(set(opts) - {"hidden", "epochs", "batch_size", "learning_rate", "patience", "trainer_options"})
    if unknown:
        raise InputError(f"unknown network options {unknown}: use hidden, epochs, batch_size, learning_rate, patience")
    patience = int(opts.pop("patience"))
    if int(opts["epochs"]) < 1 or int(opts["batch_size"]) < 1 or patience < 1:
        raise InputError(f"need epochs, batch_size and patience >= 1, got {opts} and patience {patience}")

    class Validated(WeightedBCE):
        """The strategies' network, scored on the validation events after every epoch; keeps its best state."""

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.validation_losses: list[float] = []
            self.best_state: dict | None = None
            self._sums: list[tuple[float, float]] = []

        def validation_step(self, batch: tuple, _: int) -> None:
            x, y, w = batch
            per_row = torch.nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y, reduction="none")
            self._sums.append((float((w * per_row).sum()), float(w.sum())))

        def on_validation_epoch_end(self) -> None:
            if self.trainer.sanity_checking:  # Lightning's check before training: not an epoch
                self._sums = []
                return
            loss = sum(s for s, _ in self._sums) / sum(n for _, n in self._sums)
            self._sums = []
            self.validation_losses.append(loss)
            finite = np.where(np.isfinite(self.validation_losses), self.validation_losses, np.inf)
            if np.isfinite(loss) and loss <= finite.min():
                self.best_state = copy.deepcopy(self.net.state_dict())
            elif len(finite) - 1 - int(np.argmin(finite)) >= patience:
                self.trainer.should_stop = True

    scaler = Standardizer.fit(training.X, missing="ignore")

    def tensors(rows: TrainingSet) -> TensorDataset:
        x = torch.from_numpy(scaler.transform(rows.X, fill_missing=True).astype(np.float32))
        y, w = (torch.from_numpy(a.astype(np.float32)) for a in (rows.y, rows.weight))
        return TensorDataset(x, y, w)

    with thread_limit(threads), quiet_lightning():
        L.seed_everything(int(seed), workers=True, verbose=False)
        module = Validated(training.X.shape[1], tuple(int(h) for h in opts["hidden"]), float(opts["learning_rate"]))
        batch = int(opts["batch_size"])
        generator = torch.Generator().manual_seed(int(seed))
        data = tensors(training)  # whole batches indexed at once (item by item is ten times slower)
        order = BatchSampler(RandomSampler(data, generator=generator), batch, drop_last=False)
        loaders = (
            DataLoader(data, sampler=order, batch_size=None),
            DataLoader(tensors(validation), sampler=BatchSampler(range(len(validation)), 8192, False), batch_size=None),
        )
        trainer(max_epochs=int(opts["epochs"]), **options.get("trainer_options", {})).fit(module, *loaders)
    losses = tuple(module.validation_losses)
    best = best_iteration(losses, "epoch")  # raises when no epoch was validated or every loss diverged
    module.net.load_state_dict(module.best_state)
    network = module.net.cpu().eval()
    nn = MLPClassifier(
        network, scaler.mean, scaler.scale, training.approach, "weighted", int(seed), training.feature_names,
        tuple(module.losses),
    )  # fmt: skip
    return nn, best, losses
