"""Training infrastructure shared by the studies.

Importing :mod:`hepnb.training` is light: each name loads its module (and torch, Lightning) on first use.

==========================  ========================  =======================================================
name                        module                    what it is
==========================  ========================  =======================================================
``EpochArchive``            :mod:`~.archive`          checkpoints every k epochs, metric history, atomic writes
``safe_loading``            :mod:`~.archive`          torch loading restricted to the archive's own classes
``export_archive``          :mod:`~.export`           a slim (weights-only, fp16) copy for shipping in ``data/``
``compact_checkpoints``     :mod:`~.export`           slim older checkpoints in place (a training kept in parts)
``ArchiveCallback``         :mod:`~.callbacks`        the Lightning callback that fills an archive
``fit``                     :mod:`~.loop`             train into an archive, resuming exactly from its last epoch
``quiet_lightning``         :mod:`~.loop`             silence Lightning's start-up chatter
``progress_bar``            :mod:`~.loop`             Lightning's tqdm bar as a callback list
``trainer``                 :mod:`~.trainers`         the one ``lightning.Trainer`` set-up; hardware left to the caller
``TrainingRecord``          :mod:`~.record`           ``training.json``: command, seed, hardware, wall time
``hardware``                :mod:`~.record`           what the training runs on
``check_accelerator``       :mod:`~.record`           refuse an accelerator this machine lacks
``train_recorded``          :mod:`~.command`          the shared body of ``hepnb train <study>``
``Standardizer``            :mod:`~.standardisation`  ``(v - mean) / scale`` of network inputs, NaN-aware
==========================  ========================  =======================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.training.archive import EpochArchive, safe_loading
    from hepnb.training.callbacks import ArchiveCallback
    from hepnb.training.command import train_recorded
    from hepnb.training.export import compact_checkpoints, export_archive
    from hepnb.training.loop import fit, progress_bar, quiet_lightning
    from hepnb.training.record import TrainingRecord, check_accelerator, hardware
    from hepnb.training.standardisation import Standardizer
    from hepnb.training.trainers import trainer

_EXPORTS = {
    "EpochArchive": "archive",
    "safe_loading": "archive",
    "export_archive": "export",
    "compact_checkpoints": "export",
    "ArchiveCallback": "callbacks",
    "fit": "loop",
    "quiet_lightning": "loop",
    "progress_bar": "loop",
    "trainer": "trainers",
    "TrainingRecord": "record",
    "hardware": "record",
    "check_accelerator": "record",
    "train_recorded": "command",
    "Standardizer": "standardisation",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
