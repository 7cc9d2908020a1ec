"""Interactive pieces for the notebooks; each also works headless."""

from __future__ import annotations

from hepnb.widgets.epoch_picker import Choice, EpochPicker, rank_epochs

__all__ = ["Choice", "EpochPicker", "rank_epochs"]
