"""Small worked examples that exercise the core (used by the tour notebook and the core's tests).

=========================  ==================  ==========================================================
name                       module              what it is
=========================  ==================  ==========================================================
``sample_dimuon_mass``     :mod:`~.dimuon`     Z -> mu mu masses: a Breit-Wigner smeared by a resolution
``DimuonGAN``              :mod:`~.dimuon`     a small GAN of the lineshape (the tour's epoch archive)
``DimuonDataModule``       :mod:`~.dimuon`     its training batches, in network units
``lineshape_metrics``      :mod:`~.dimuon`     per-epoch metrics for the epoch picker
``M_Z``, ``GAMMA_Z``       :mod:`~.dimuon`     the Z mass and width (GeV)
``MASS_RANGE``             :mod:`~.dimuon`     the generated mass window (GeV)
=========================  ==================  ==========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.examples import dimuon
    from hepnb.examples.dimuon import (
        GAMMA_Z,
        M_Z,
        MASS_RANGE,
        DimuonDataModule,
        DimuonGAN,
        lineshape_metrics,
        sample_dimuon_mass,
    )

_EXPORTS = {
    "dimuon": "dimuon",
    "sample_dimuon_mass": "dimuon",
    "DimuonGAN": "dimuon",
    "DimuonDataModule": "dimuon",
    "lineshape_metrics": "dimuon",
    "M_Z": "dimuon",
    "GAMMA_Z": "dimuon",
    "MASS_RANGE": "dimuon",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
