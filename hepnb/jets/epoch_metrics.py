"""Per-epoch metrics of the jet GANs for the epoch archive and the epoch picker: W1M and FPD.

After each epoch the generator makes ``n_eval`` jets with a fixed seed, which are compared with held-out real jets
by JetNet's metrics (:mod:`hepnb.metrics.jetnet`; Kansal et al., arXiv:2106.11535 and arXiv:2211.10295):

- ``w1m``: 1-Wasserstein distance of the relative jet mass, mean over ``num_batches`` batches (``w1m_error``: their
  spread); MPGAN picked its epoch by the smallest W1M;
- ``fpd``: Fréchet physics distance on the 36 EFPs with d <= 4, extrapolated in 1/N from batches of ``n_eval / 2``
  to ``n_eval`` jets (``fpd_error``: the fit's uncertainty).

Both are smaller-is-better. They are computed on far fewer jets than JetNet's recommended 50 000 (to stay cheap
during training), so they rank epochs of one training, and the final numbers should be computed again on large
samples with a real-vs-real baseline. A generator that produces non-finite particles gets NaN (stored as null).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.jets.datamodule import check_particles
from hepnb.metrics.jetnet import SmallSampleWarning, fpd, fpd_kpd_features, w1m

__all__ = ["METRICS", "DEFAULT_WEIGHTS", "epoch_metrics"]

METRICS = ("w1m", "fpd")
"""Names of the per-epoch metrics (smaller is better); each has a ``<name>_error`` companion."""

DEFAULT_WEIGHTS = {"w1m": 1.0, "fpd": 1.0}
"""Weights of the epoch picker's automatic rule: the jet mass and the EFPs count alike."""


def epoch_metrics(
    reference: Any, *, n_eval: int | None = None, seed: int = 0, num_batches: int = 3
) -> Callable[[Any, int], dict[str, float]]:
    """A ``(model, epoch) -> {name: value}`` function for :func:`hepnb.training.fit` (``metrics=``).

    Parameters
    ----------
    reference
        Held-out real jets ``[N, P, 4]`` in JetNet's format, not used for training.
    n_eval
        Jets generated per epoch and drawn per W1M batch (default: as many as ``reference``); at least 10.
    seed
        Seed of the generated jets and of the metric batches (the same every epoch).
    num_batches
        W1M batches and FPD batches per point: the cost knob with ``n_eval``.

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
    ['fpd', 'fpd_error', 'w1m', 'w1m_error']
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
            return dict.fromkeys(("w1m", "w1m_error", "fpd", "fpd_error"), float("nan"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            mass = w1m(real, generated, num_eval_samples=n_eval, num_batches=num_batches, seed=seed)
            frechet = fpd(
                real_features,
                fpd_kpd_features(generated),
                min_samples=max(n_eval // 2, 2),
                max_samples=n_eval,
                num_batches=num_batches,
                num_points=3,
                seed=seed,
            )
        return {"w1m": mass.value, "w1m_error": mass.error, "fpd": frechet.value, "fpd_error": frechet.error}

    return metrics
