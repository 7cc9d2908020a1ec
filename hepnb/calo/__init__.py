"""Study 1: calorimeter-shower GAN (ATLAS-like barrel EM calorimeter, thesis chapter 5).

Importing :mod:`hepnb.calo` is light: each name below loads its module (and torch, Lightning, matplotlib) on first
use; the modules themselves are attributes too (``hepnb.calo.simulate``, ``hepnb.calo.shower_shapes``, ...).

==============================================  =======================  ===============================================
name                                            module                   what it is
==============================================  =======================  ===============================================
``geometry``, ``GEOMETRY``, ``LAYERS``          :mod:`~.geometry`        the barrel grids and the 266-cell crop
``simulate`` (the module)                       :mod:`~.simulate`        the parametric stand-in for the Geant4 showers
``standard_dataset``                            :mod:`~.simulate`        the thesis's training set (nine energies)
``interpolation_dataset``                       :mod:`~.simulate`        showers at the untrained 25 GeV point
``extrapolation_dataset``                       :mod:`~.simulate`        showers at 524 GeV
``add_noise``                                   :mod:`~.simulate`        Gaussian electronic noise per layer
``ShowerModel``, ``gflash``                     :mod:`~.gflash`          the GFlash shower model and its parameters
``Showers``, ``showers``                        :mod:`~.showers`         simulated cells and conditions, ``.npz`` files
``shower_shapes``                               :mod:`~.shower_shapes`   the validation variables of thesis 5.5.2-5.5.4
``ShowerArrays``, ``Preprocessing``, ``data``   :mod:`~.data`            checked arrays, normalisation, conditions
``CaloDataModule``                              :mod:`~.data`            the training/reference halves in batches
``networks``                                    :mod:`~.networks`        generator, critics, gradient penalty
``CaloGAN``, ``CPU_FAST``, ``gan``              :mod:`~.gan`             the double-critic WGAN-GP (thesis 5.4)
``train_calo``, ``CaloTraining``, ``train``     :mod:`~.train`           ``hepnb train calo``: resumable training
``ResponseFlow``, ``ResponseCalibrated``        :mod:`~.response_flow`   GAN showers with their total from a flow
``train_response``                              :mod:`~.train_response`  ``hepnb train calo-response``
``calo_metrics``, ``epoch_metrics``             :mod:`~.epoch_metrics`   the per-epoch metrics that pick an epoch
``validation``                                  :mod:`~.validation`      the validation at a chosen epoch (thesis 5.5)
``gan_speed``, ``simulator_speed``, ``speed``   :mod:`~.speed`           showers/s and memory, the thesis's figures
``speed_child``                                 :mod:`~.speed_child`     the measuring process of ``speed``
==============================================  =======================  ===============================================

Energies are in **MeV** throughout (`hepnb.units`), except where a `Preprocessing` says otherwise.

>>> from hepnb import calo
>>> showers = calo.simulate.simulate(2, [65536.0], seed=1, progress=False)
>>> showers.cells.shape
(2, 266)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.calo import (
        data,
        epoch_metrics,
        gan,
        geometry,
        gflash,
        networks,
        response_flow,
        shower_shapes,
        showers,
        simulate,
        speed,
        speed_child,
        train,
        train_response,
        validation,
    )
    from hepnb.calo.data import CaloDataModule, Preprocessing, ShowerArrays
    from hepnb.calo.epoch_metrics import calo_metrics
    from hepnb.calo.gan import CPU_FAST, CaloGAN
    from hepnb.calo.geometry import GEOMETRY, LAYERS
    from hepnb.calo.gflash import ShowerModel
    from hepnb.calo.showers import Showers
    from hepnb.calo.simulate import add_noise, extrapolation_dataset, interpolation_dataset, standard_dataset
    from hepnb.calo.speed import gan_speed, simulator_speed
    from hepnb.calo.train import CaloTraining, train_calo

_EXPORTS = {
    "data": "data",
    "epoch_metrics": "epoch_metrics",
    "gan": "gan",
    "geometry": "geometry",
    "gflash": "gflash",
    "networks": "networks",
    "shower_shapes": "shower_shapes",
    "showers": "showers",
    "simulate": "simulate",
    "speed": "speed",
    "speed_child": "speed_child",
    "train": "train",
    "train_response": "train_response",
    "response_flow": "response_flow",
    "validation": "validation",
    "GEOMETRY": "geometry",
    "LAYERS": "geometry",
    "standard_dataset": "simulate",
    "interpolation_dataset": "simulate",
    "extrapolation_dataset": "simulate",
    "add_noise": "simulate",
    "ShowerModel": "gflash",
    "Showers": "showers",
    "ShowerArrays": "data",
    "Preprocessing": "data",
    "CaloDataModule": "data",
    "CaloGAN": "gan",
    "CPU_FAST": "gan",
    "train_calo": "train",
    "CaloTraining": "train",
    "ResponseFlow": "response_flow",
    "ResponseCalibrated": "response_flow",
    "calo_metrics": "epoch_metrics",
    "gan_speed": "speed",
    "simulator_speed": "speed",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
