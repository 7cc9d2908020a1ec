"""Training infrastructure shared by the studies: the epoch archive (``archive``), its slim export for shipping
(``export``), its Lightning callback (``callbacks``) and a resuming fit (``loop``)."""

from __future__ import annotations

from hepnb.training.archive import EpochArchive
from hepnb.training.callbacks import ArchiveCallback
from hepnb.training.loop import fit, progress_bar, quiet_lightning

__all__ = ["EpochArchive", "ArchiveCallback", "fit", "progress_bar", "quiet_lightning"]
