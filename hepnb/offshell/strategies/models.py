"""The gradient-boosted trees of the chapter-6 strategies, the shared training checks, and :func:`train`.

:func:`train_gbdt` fits sklearn's ``HistGradientBoostingClassifier`` with the training weights as they are (thesis
section 6.6.5: negative weights make it "work in reverse"); :func:`train` picks the trees or the network
(:func:`hepnb.offshell.strategies.network.train_mlp`, which imports torch only when asked for).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError
from hepnb.offshell.strategies.samples import TrainingSet

if TYPE_CHECKING:
    from hepnb.offshell.strategies.network import MLPClassifier

__all__ = ["GBDTClassifier", "train_gbdt", "train", "thread_limit"]


@contextlib.contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """Limit OpenMP/BLAS (and torch) threads inside the block; ``None`` leaves them alone."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # only when torch is in use: importing it costs seconds
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(int(n))
    try:
        with threadpool_limits(limits=int(n)):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


@dataclass(frozen=True, eq=False)
class GBDTClassifier:
    """A trained sklearn ``HistGradientBoostingClassifier`` with what it was trained on."""

    model: Any
    approach: str
    weighting: str
    seed: int
    feature_names: tuple[str, ...]
    name: str = "GBDT"
    threads: int | None = 1

    def score(self, X: ArrayLike) -> np.ndarray:
        """Probability of the signal class per event (missing values may be NaN).

        Predicts with ``threads`` OpenMP threads: on a busy machine one thread is many times faster than several.
        """
        with thread_limit(self.threads):
            return self.model.predict_proba(np.asarray(X, dtype=np.float64))[:, 1]

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """``(n, 2)`` class probabilities (sklearn convention; used by permutation importance)."""
        p = self.score(X)
        return np.stack([1.0 - p, p], axis=1)


def _check_training(training: TrainingSet) -> None:
    if not isinstance(training, TrainingSet):
        raise InputError(
            f"training must be a TrainingSet (from StrategySamples.training_set), got {type(training).__name__}"
        )
    for label in (0, 1):
        total = training.weight[training.y == label].sum()
        if not total > 0:
            raise InputError(f"class {label} has total training weight {total:g}: nothing to learn from")


def train_gbdt(
    training: TrainingSet,
    *,
    seed: int = 0,
    max_iter: int = 100,
    learning_rate: float = 0.1,
    max_leaf_nodes: int = 15,
    min_samples_leaf: int = 100,
    l2_regularization: float = 1.0,
    threads: int | None = 1,
) -> GBDTClassifier:
    """Gradient-boosted trees (sklearn ``HistGradientBoostingClassifier``, LightGBM-like) on a training set.

    The training weights are passed as ``sample_weight`` as they are: zero weights add nothing, negative ones flip
    the gradients and hessians of their events (the thesis's "works in reverse"); choose a policy in
    :meth:`~hepnb.offshell.strategies.samples.StrategySamples.training_set` to avoid that. NaN features go to the
    learnt missing-value branch. No early stopping, so the result depends only on the data and ``seed``.

    Parameters
    ----------
    training
        From :meth:`~hepnb.offshell.strategies.samples.StrategySamples.training_set`.
    seed
        ``random_state`` of the model.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Boosting hyper-parameters (``l2_regularization`` keeps leaves with a small net hessian finite).
    threads
        OpenMP threads used to train and to predict (``None``: all).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    _check_training(training)
    if max_iter < 1 or not learning_rate > 0:
        raise InputError(f"need max_iter >= 1 and learning_rate > 0, got {max_iter}, {learning_rate}")
    model = HistGradientBoostingClassifier(
        max_iter=int(max_iter),
        learning_rate=float(learning_rate),
        max_leaf_nodes=int(max_leaf_nodes),
        min_samples_leaf=int(min_samples_leaf),
        l2_regularization=float(l2_regularization),
        early_stopping=False,
        random_state=int(seed),
    )
    with thread_limit(threads), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # overflow in leaves of negative net hessian
        model.fit(training.X, training.y, sample_weight=training.weight)
    return GBDTClassifier(
        model, training.approach, training.weighting, int(seed), training.feature_names, threads=threads
    )


def train(
    model: Literal["gbdt", "nn"], training: TrainingSet, *, seed: int = 0, **options: Any
) -> GBDTClassifier | MLPClassifier:
    """:func:`train_gbdt` (``"gbdt"``) or :func:`~hepnb.offshell.strategies.network.train_mlp` (``"nn"``).

    ``options`` go to the chosen function: the model's hyper-parameters and, for the network, the options of its
    Lightning Trainer (``accelerator``, ``devices``, ``strategy``; CPU by default).
    """
    if model == "gbdt":
        return train_gbdt(training, seed=seed, **options)
    if model == "nn":
        from hepnb.offshell.strategies.network import train_mlp  # torch and Lightning only for the network

        return train_mlp(training, seed=seed, **options)
    raise InputError(f"model must be 'gbdt' or 'nn', got {model!r}")
