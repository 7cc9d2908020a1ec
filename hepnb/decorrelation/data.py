"""Batches for the decorrelation methods, and the per-epoch metrics that pick a flat epoch.

:class:`DecorrelationDataModule` turns numpy arrays into the batch dicts of :mod:`hepnb.decorrelation.models`.
:func:`epoch_metrics` returns the ``metrics=`` function of ``hepnb.training.fit``: after every epoch it scores a
held-out set and records the flatness of the fixed-efficiency thresholds (thesis Fig 8.11), the background distance
correlation, R50, 1/JSD50 and the AUC, so that an ``EpochArchive`` / ``EpochPicker`` can pick the epoch whose score
is flat in the mass (the thesis's epoch picking, A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, section 8.1.3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

from hepnb.errors import InputError, as_finite_array, check_same_length, is_whole_number
from hepnb.metrics.decorrelation import background_jsd, background_rejection, efficiency_thresholds, quantile_edges
from hepnb.metrics.distance_correlation import distance_correlation
from hepnb.metrics.weighted import weighted_auc

__all__ = ["DecorrelationDataModule", "epoch_metrics"]


class _Columns(Dataset):
    """Tensors indexed by a list of rows: one whole batch per index list, without per-event collation."""

    def __init__(self, tensors: dict[str, Tensor]) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors["y"])

    def __getitem__(self, rows: Any) -> dict[str, Tensor]:
        return {name: tensor[rows] for name, tensor in self.tensors.items()}


class DecorrelationDataModule(L.LightningDataModule):
    """Training batches ``{"x", "y", "w", "m", "c"}`` drawn without replacement, incomplete last batch dropped.

    The batch order follows the global torch random state, which ``hepnb.training.fit`` seeds and its checkpoints
    restore, so a resumed training sees the same batches as an uninterrupted one.

    Parameters
    ----------
    features
        [N, F] classifier inputs (standardised; they may include the protected variable itself).
    labels
        [N] 1 signal, 0 background.
    protected
        [N] or [N, k] protected variables (the thesis: log-norm m4l, optionally MELA).
    weights
        [N] event weights, negative allowed; 1 if omitted.
    components
        [N] integer component labels 0..K-1 (for the conditional aspiration network; e.g. 0 signal, 1 qqZZ,
        2 ggZZ); 0 if omitted.
    batch_size
        Events per batch (thesis: 128).

    Attributes
    ----------
    n_features, n_protected, n_components
        What the model needs: ``AspirationNetwork(data.n_features, n_protected=data.n_protected,
        n_components=data.n_components, conditional=True)``.

    Examples
    --------
    >>> import numpy as np
    >>> data = DecorrelationDataModule(np.zeros((300, 2)), np.arange(300) % 2, np.linspace(0, 1, 300))
    >>> batch = next(iter(data.train_dataloader()))
    >>> {name: tuple(t.shape) for name, t in batch.items()}
    {'x': (128, 2), 'y': (128,), 'w': (128,), 'm': (128, 1), 'c': (128,)}
    """

    def __init__(
        self,
        features: ArrayLike,
        labels: ArrayLike,
        protected: ArrayLike,
        weights: ArrayLike | None = None,
        components: ArrayLike | None = None,
        *,
        batch_size: int = 128,
    ) -> None:
        super().__init__()
        x = as_finite_array(features, "features", ndim=2)
        y = as_finite_array(labels, "labels", ndim=1)
        m = as_finite_array(protected, "protected")
        m = m[:, None] if m.ndim == 1 else m
        if m.ndim != 2:
            raise InputError(f"protected must be [N] or [N, k], got shape {m.shape}")
        w = np.ones(len(y)) if weights is None else as_finite_array(weights, "weights", ndim=1)
        c = np.zeros(len(y)) if components is None else as_finite_array(components, "components", ndim=1)
        n = check_same_length(features=x, labels=y, protected=m, weights=w, components=c)
        if not np.all((y == 0) | (y == 1)):
            raise InputError(f"labels must be 0 (background) or 1 (signal), got values {np.unique(y)[:5]}")
        if np.any(c < 0) or np.any(c != np.round(c)):
            raise InputError("components must be integer labels 0, 1, 2, ... (one per event)")
        if not is_whole_number(batch_size) or batch_size < 1 or batch_size > n:
            raise InputError(f"batch_size must be an integer from 1 to the {n} events, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.n_features, self.n_protected = x.shape[1], m.shape[1]
        self.n_components = int(c.max()) + 1 if n else 1
        self.dataset = _Columns(
            {
                "x": torch.as_tensor(x, dtype=torch.float32),
                "y": torch.as_tensor(y, dtype=torch.float32),
                "w": torch.as_tensor(w, dtype=torch.float32),
                "m": torch.as_tensor(m, dtype=torch.float32),
                "c": torch.as_tensor(c, dtype=torch.long),
            }
        )

    def train_dataloader(self) -> DataLoader:
        sampler = BatchSampler(RandomSampler(self.dataset), self.batch_size, drop_last=True)
        return DataLoader(self.dataset, sampler=sampler, batch_size=None)


def _or_nan(compute: Callable[[], float]) -> float:
    """A metric, or NaN (stored as None in the history) where this epoch's scores leave it undefined."""
    try:
        return float(compute())
    except InputError:  # e.g. no background passes the R50 cut, or too few bins hold a threshold
        return float("nan")


def epoch_metrics(
    features: ArrayLike,
    labels: ArrayLike,
    protected: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    efficiencies: Sequence[float] = (0.8, 0.9),
    bins: int | Sequence[float] = 10,
    on: str = "signal",
    min_events: int = 20,
    max_dcorr_events: int = 20_000,
) -> Callable[[Any, int], Mapping[str, float]]:
    """A ``metrics(model, epoch)`` function for ``hepnb.training.fit`` that scores a held-out set each epoch.

    The returned values (all "smaller is flatter" except ``r50``, ``inv_jsd50`` and ``auc``):

    - ``flatness_80``, ``flatness_90`` (one per efficiency, in percent): the weighted RMS across bins of the
      protected variable of the score cut keeping that fraction of the ``on`` events
      (:meth:`hepnb.metrics.decorrelation.EfficiencyThresholds.flatness`);
    - ``dcorr_background``: dCorr^2 of the score and the protected variable on the background (on the first
      ``max_dcorr_events`` background events, without the jackknife);
    - ``r50``, ``inv_jsd50``: background rejection at 50 % signal efficiency and 1/JSD of the background's protected
      variable passing vs failing that cut;
    - ``auc``: the weighted ROC AUC.

    A value this epoch's scores leave undefined (no background passing the R50 cut, ...) is NaN, which the archive
    stores as None.

    Parameters
    ----------
    features, labels, protected, weights
        The held-out events: [N, F] model inputs, 1/0 labels, [N] protected variable, weights (1 if omitted).
    efficiencies, on, min_events
        As for :func:`hepnb.metrics.decorrelation.efficiency_thresholds`.
    bins
        Edges of the protected variable, or a number of equal-population bins of the ``on`` events (computed once,
        so every epoch is measured in the same bins).
    max_dcorr_events
        Cap on the background events entering the distance correlation (it costs O(N log^2 N) per epoch).
    """
    x = as_finite_array(features, "features", ndim=2)
    y = as_finite_array(labels, "labels", ndim=1)
    m = as_finite_array(protected, "protected", ndim=1)
    w = np.ones(len(y)) if weights is None else as_finite_array(weights, "weights", ndim=1)
    check_same_length(features=x, labels=y, protected=m, weights=w)
    if on not in ("signal", "background", "all"):
        raise InputError(f"on must be 'signal', 'background' or 'all', got {on!r}")
    selected = np.ones(len(y), dtype=bool) if on == "all" else y == (1 if on == "signal" else 0)
    edges = quantile_edges(m[selected], bins, w[selected]) if isinstance(bins, (int, np.integer)) else bins
    background = np.flatnonzero(y == 0)[:max_dcorr_events]
    names = [f"flatness_{round(100 * e):d}" for e in efficiencies]
    if len(set(names)) != len(names):
        raise InputError(f"efficiencies {tuple(efficiencies)} round to the same percent: give distinct ones")

    def metrics(model: Any, epoch: int) -> dict[str, float]:
        score = model.predict(x)
        curves = efficiency_thresholds(
            score, m, y, w, efficiencies=efficiencies, bins=edges, on=on, min_events=min_events
        )
        out = {name: _or_nan(lambda e=e: curves.flatness(e).value) for name, e in zip(names, curves.efficiencies)}
        out["dcorr_background"] = _or_nan(
            lambda: distance_correlation(score[background], m[background], w[background], jackknife_groups=0).value
        )
        out["r50"] = _or_nan(lambda: background_rejection(y, score, w).value)
        out["inv_jsd50"] = _or_nan(lambda: background_jsd(y, score, m, w).inverse)
        out["auc"] = weighted_auc(y, score, w)
        return out

    return metrics
