"""The network of the chapter-6 strategies: a small MLP trained with Lightning on the event-weighted BCE.

The thesis's network (section 6.6: 3 x 32 ReLU hidden layers, a sigmoid output, Adam) is :class:`WeightedBCE`; its
Trainer comes from :func:`hepnb.training.trainer`, so ``accelerator``, ``devices`` and ``strategy`` pass through
:func:`train_mlp` (CPU by default). Importing this module imports torch and Lightning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from hepnb.errors import InputError
from hepnb.offshell.strategies.models import _check_training, thread_limit
from hepnb.offshell.strategies.samples import TrainingSet
from hepnb.training.standardisation import Standardizer

__all__ = ["MLPClassifier", "WeightedBCE", "train_mlp"]


@dataclass(frozen=True, eq=False)
class MLPClassifier:
    """A trained network with its input standardisation; ``score`` is the sigmoid output."""

    network: Any
    mean: np.ndarray
    std: np.ndarray
    approach: str
    weighting: str
    seed: int
    feature_names: tuple[str, ...]
    history: tuple[float, ...]
    name: str = "NN"

    def standardise(self, X: ArrayLike) -> np.ndarray:
        """``(X - mean)/std`` with the training statistics; missing values (NaN) become 0, the training mean."""
        z = (np.asarray(X, dtype=np.float64) - self.mean) / self.std
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    def score(self, X: ArrayLike) -> np.ndarray:
        """Signal probability per event."""
        with torch.no_grad():
            logits = self.network(torch.from_numpy(self.standardise(X)))
        return torch.sigmoid(logits[:, 0]).double().numpy()

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """``(n, 2)`` class probabilities."""
        p = self.score(X)
        return np.stack([1.0 - p, p], axis=1)


class WeightedBCE(L.LightningModule):
    """MLP (ReLU hidden layers, one logit) trained with the event-weighted binary cross-entropy.

    The loss of a batch is ``mean_i w_i BCE_i`` with the training weights as they are (a negative weight rewards the
    wrong answer). ``losses`` collects the mean loss of every training epoch.

    Parameters
    ----------
    n_inputs
        Number of input features.
    hidden
        Widths of the hidden layers.
    learning_rate
        Adam's learning rate.

    Examples
    --------
    >>> module = WeightedBCE(3, (4, 4), 1e-3)
    >>> module.hparams["hidden"], module(torch.zeros(2, 3)).shape
    ((4, 4), torch.Size([2, 1]))
    """

    def __init__(self, n_inputs: int, hidden: Sequence[int] = (32, 32, 32), learning_rate: float = 1e-3) -> None:
        super().__init__()
        self.save_hyperparameters()
        layers: list[nn.Module] = []
        width = int(n_inputs)
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        self.losses: list[float] = []
        self._epoch: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, ...], _: int) -> torch.Tensor:
        x, y, w = batch
        bce = nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y, reduction="none")
        loss = (w * bce).mean()
        self._epoch.append(float(loss.detach()))
        return loss

    def on_train_epoch_end(self) -> None:
        self.losses.append(float(np.mean(self._epoch)))
        self._epoch = []

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams["learning_rate"])


def train_mlp(
    training: TrainingSet,
    *,
    seed: int = 0,
    hidden: Sequence[int] = (32, 32, 32),
    epochs: int = 20,
    batch_size: int = 512,
    learning_rate: float = 1e-3,
    threads: int | None = 1,
    **trainer_options: Any,
) -> MLPClassifier:
    """A small network (thesis: 3 x 32 ReLU, sigmoid output, Adam) trained with Lightning on the weighted BCE.

    Inputs are standardised with the training mean and std (missing values set to the mean, the thesis's best
    treatment). The loss is ``mean_i w_i BCE_i`` with the training weights as they are (a negative weight rewards
    the wrong answer; pick a weight policy to avoid it). ``seed`` fixes the initialisation and the batch order:
    the same seed gives the same network.

    Parameters
    ----------
    training
        From :meth:`~hepnb.offshell.strategies.samples.StrategySamples.training_set`.
    seed
        Seeds Python, numpy and torch (``lightning.seed_everything``) and the data order.
    hidden
        Widths of the hidden layers.
    epochs, batch_size, learning_rate
        Optimisation (Adam).
    threads
        torch threads during the training (``None``: leave as is).
    trainer_options
        Passed on to :func:`hepnb.training.trainer` (``accelerator="gpu"``, ``devices``, ``strategy``); the
        default trains on the CPU.
    """
    from torch.utils.data import DataLoader, TensorDataset

    from hepnb.training import quiet_lightning, trainer

    _check_training(training)
    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise InputError(
            f"need epochs >= 1, batch_size >= 1, learning_rate > 0; got {epochs}, {batch_size}, {learning_rate}"
        )
    if not hidden or any(int(h) < 1 for h in hidden):
        raise InputError(f"hidden must list positive layer widths, e.g. (32, 32, 32), got {hidden!r}")
    scaler = Standardizer.fit(training.X, missing="ignore")  # missing values -> the training mean
    mean, std = scaler.mean, scaler.scale
    with thread_limit(threads), quiet_lightning():
        L.seed_everything(int(seed), workers=True, verbose=False)
        module = WeightedBCE(training.X.shape[1], tuple(int(h) for h in hidden), float(learning_rate))
        x = torch.from_numpy(scaler.transform(training.X, fill_missing=True).astype(np.float32))
        data = TensorDataset(
            x, torch.from_numpy(training.y.astype(np.float32)), torch.from_numpy(training.weight.astype(np.float32))
        )
        loader = DataLoader(
            data, batch_size=int(batch_size), shuffle=True, generator=torch.Generator().manual_seed(int(seed))
        )
        trainer(max_epochs=int(epochs), **trainer_options).fit(module, train_dataloaders=loader)
    network = module.net.cpu().eval()
    return MLPClassifier(
        network,
        mean,
        std,
        training.approach,
        training.weighting,
        int(seed),
        training.feature_names,
        tuple(module.losses),
    )
