"""Study 4: decorrelating a classifier from a protected variable (the mass), the aspiration network against
Pivot, DisCo and MoDe (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250, chapter 8).

Importing :mod:`hepnb.decorrelation` is light: each name below loads its module (and torch, Lightning) on first use.

=============================================  ===================  ================================================
name                                           module               what it is
=============================================  ===================  ================================================
``losses``                                     :mod:`~.losses`      weighted BCE, DisCo's dCorr^2, the aspiration
                                                                    shuffle and adversary loss, MoDe[n], the
                                                                    Gaussian-mixture likelihood
``models``                                     :mod:`~.models`      the LightningModules, sharing one classifier
``Classifier``, ``AspirationNetwork``          :mod:`~.models`      the plain classifier; the aspiration network
``DiscoClassifier``, ``ModeClassifier``        :mod:`~.models`      DisCo and MoDe[n]
``PivotClassifier``                            :mod:`~.models`      Pivot (an adversary predicting the mass)
``data``                                       :mod:`~.data`        batches and per-epoch metrics
``DecorrelationDataModule``                    :mod:`~.data`        weighted batches with the protected variable
``epoch_metrics``                              :mod:`~.data`        for ``hepnb.training.fit(..., metrics=...)``
``datasets``                                   :mod:`~.datasets`    off-shell VBF against qqZZ + ggZZ (m4l and MELA
                                                                    protected); top against QCD jets (the jet mass
                                                                    protected); split into training, validation
                                                                    and test events
``scan``                                       :mod:`~.scan`        resumable lambda x seed scans of every method,
                                                                    epoch picking by flatness, test metrics,
                                                                    summaries over seeds and Pareto fronts
``picking``                                    :mod:`~.picking`     epoch picking by flatness, trained on until flat
``flatness_picker``                            :mod:`~.picking`     an EpochPicker on the scans' rule: the
                                                                    smallest mean threshold flatness
``train_until_flat``                           :mod:`~.picking`     resume one epoch at a time until the picked epoch
                                                                    is flat (thesis section 8.1.3)
``plots``                                      :mod:`~.plots`       the notebook's figures and its lambda slider
=============================================  ===================  ================================================

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

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.decorrelation import data, datasets, losses, models, picking, plots, scan
    from hepnb.decorrelation.data import DecorrelationDataModule, epoch_metrics
    from hepnb.decorrelation.models import (
        AspirationNetwork,
        Classifier,
        DiscoClassifier,
        ModeClassifier,
        PivotClassifier,
    )
    from hepnb.decorrelation.picking import flatness_picker, train_until_flat

_EXPORTS = {
    "losses": "losses",
    "models": "models",
    "data": "data",
    "datasets": "datasets",
    "scan": "scan",
    "picking": "picking",
    "plots": "plots",
    "Classifier": "models",
    "DiscoClassifier": "models",
    "ModeClassifier": "models",
    "PivotClassifier": "models",
    "AspirationNetwork": "models",
    "DecorrelationDataModule": "data",
    "epoch_metrics": "data",
    "flatness_picker": "picking",
    "train_until_flat": "picking",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
