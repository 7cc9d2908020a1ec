"""Physical units: hepunits' system (MeV = 1, mm = 1, ns = 1), the one place hepnb converts energies and rates.

Write a value with its unit and divide by the unit you want it in: ``energy_mev / GeV`` is the energy in GeV,
``65 * GeV`` is 65 GeV in hepunits' MeV. ``energy_unit(name)`` reads the unit name stored in a file's metadata.

Examples
--------
>>> from hepnb.units import GeV, MeV, energy_unit, fb, invfb
>>> 65 * GeV / MeV
65000.0
>>> 2500.0 * MeV / GeV
2.5
>>> energy_unit("GeV") / MeV
1000.0
>>> round(36.1 * invfb * 1.9 * fb, 9)   # events = luminosity x cross-section
68.59
"""

from __future__ import annotations

from hepunits import GeV, MeV, TeV, fb, invfb, keV, pb

from hepnb.errors import InputError

__all__ = ["ENERGY_UNITS", "GeV", "MeV", "TeV", "energy_unit", "fb", "invfb", "keV", "pb"]

#: Energy units by the names hepnb writes into file metadata.
ENERGY_UNITS: dict[str, float] = {"keV": keV, "MeV": MeV, "GeV": GeV, "TeV": TeV}


def energy_unit(name: str) -> float:
    """The value of the energy unit called ``name`` ("keV", "MeV", "GeV", "TeV") in hepunits' MeV."""
    try:
        return ENERGY_UNITS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown energy unit {name!r}: expected one of {', '.join(ENERGY_UNITS)}") from None
