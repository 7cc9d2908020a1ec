"""Study 4: decorrelating a classifier from a protected variable (the mass), the aspiration network against
Pivot, DisCo and MoDe (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, chapter 8).

- :mod:`hepnb.decorrelation.losses`: the differentiable losses (weighted BCE, DisCo's dCorr^2, the aspiration
  shuffle and adversary loss, MoDe[n], the Gaussian-mixture likelihood).
- :mod:`hepnb.decorrelation.models`: LightningModules sharing one classifier definition: :class:`Classifier`,
  :class:`DiscoClassifier`, :class:`ModeClassifier`, :class:`PivotClassifier`, :class:`AspirationNetwork`.
- :mod:`hepnb.decorrelation.data`: :class:`DecorrelationDataModule` and :func:`epoch_metrics` for
  ``hepnb.training.fit(..., metrics=...)``.
- :mod:`hepnb.decorrelation.datasets`: the study's two datasets (off-shell VBF against qqZZ + ggZZ, m4l and MELA
  protected; top against QCD jets, the jet mass protected), split into training, validation and test events.
- :mod:`hepnb.decorrelation.scan`: resumable lambda x seed scans of every method, epoch picking by flatness, the test
  metrics, summaries over seeds and Pareto fronts; :mod:`hepnb.decorrelation.plots`: the notebook's figures.

The metrics (profiles, thresholds at fixed signal efficiency and their flatness, R50, 1/JSD50, distance
correlation) are in :mod:`hepnb.metrics.decorrelation` and :mod:`hepnb.metrics.distance_correlation`.

>>> import numpy as np
>>> from hepnb import decorrelation as dc
>>> from hepnb.training import fit
>>> data = dc.DecorrelationDataModule(X_train, y_train, m_train, w_train)                    # doctest: +SKIP
>>> archive = fit(lambda: dc.AspirationNetwork(X_train.shape[1]), data, "runs/aspiration", max_epochs=20,
...               seed=1, metrics=dc.epoch_metrics(X_val, y_val, m_val, w_val))              # doctest: +SKIP
>>> archive.history[["flatness_80", "flatness_90", "auc"]]                                   # doctest: +SKIP
"""

from __future__ import annotations

from hepnb.decorrelation.data import DecorrelationDataModule, epoch_metrics
from hepnb.decorrelation.models import (
    AspirationNetwork,
    Classifier,
    DiscoClassifier,
    ModeClassifier,
    PivotClassifier,
)

__all__ = [
    "Classifier",
    "DiscoClassifier",
    "ModeClassifier",
    "PivotClassifier",
    "AspirationNetwork",
    "DecorrelationDataModule",
    "epoch_metrics",
]
