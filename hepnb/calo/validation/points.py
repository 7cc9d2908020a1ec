"""The energy points of the validation: the thesis's 65.5 GeV point, and an energy point written in GeV."""

from __future__ import annotations

from hepnb.units import GeV

__all__ = ["ENERGY_65_MEV", "energy_point_gev"]

ENERGY_65_MEV = 65536.0
"""The thesis's "65.5 GeV" point, 2^16 MeV: second-critic figures, layer fractions and timing."""


def energy_point_gev(energy_mev: float) -> float:
    """An energy point (MeV) in GeV, rounded to the MeV: the label of tables and titles.

    >>> energy_point_gev(65536.0)
    65.536
    """
    return round(float(energy_mev) / GeV, 3)
