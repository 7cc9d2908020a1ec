"""Interactive pieces for the notebooks; each also works headless.

Importing :mod:`hepnb.widgets` is light: each name below loads its module on first use.

=================  =====================  ==================================================================
name               module                 what it is
=================  =====================  ==================================================================
``SliderWidget``   :mod:`~.slider`        the base of the slider widgets: slider, output areas, redraw
``EpochPicker``    :mod:`~.epoch_picker`  choose a training epoch by rule or by hand, saved to a manifest
``Choice``         :mod:`~.epoch_picker`  a chosen epoch, its rule, metrics and checkpoint checksum
``rank_epochs``    :mod:`~.epoch_picker`  epochs ranked by the weighted average of their metric ranks
=================  =====================  ==================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.widgets.epoch_picker import Choice, EpochPicker, rank_epochs
    from hepnb.widgets.slider import SliderWidget

_EXPORTS = {
    "SliderWidget": "slider",
    "EpochPicker": "epoch_picker",
    "Choice": "epoch_picker",
    "rank_epochs": "epoch_picker",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
