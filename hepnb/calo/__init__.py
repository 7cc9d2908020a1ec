"""Study 1: calorimeter-shower GAN (ATLAS-like barrel EM calorimeter, thesis chapter 5).

`geometry` holds the barrel grids and the 266-cell crop, `simulate` the parametric stand-in for the
Geant4 showers, `shower_shapes` the validation variables of thesis section 5.5.
"""

from __future__ import annotations

from . import geometry, shower_shapes, simulate

__all__ = ["geometry", "shower_shapes", "simulate"]
