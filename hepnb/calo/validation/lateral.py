"""How ATLAS-like the lateral shower shapes are: the mean R_eta, R_phi, w_eta2 and f_side of samples of showers at
one energy point, with their errors, next to the ranges quoted for ATLAS unconverted photons.

The definitions are ATLAS's (`hepnb.calo.shower_shapes`): R_eta = E(3x7)/E(7x7) and R_phi = E(3x3)/E(3x7) in the
Middle layer, w_eta2 the energy-weighted eta width in its 3x5 window, f_side = [E(+-3 strips) - E(+-1 strip)] /
E(+-1 strip) in the Strips.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hepnb.calo import shower_shapes
from hepnb.calo.geometry import N_CELLS
from hepnb.errors import InputError, as_finite_array

__all__ = ["ATLAS_UNCONVERTED_RANGES", "LATERAL_SHAPES", "lateral_shape_table"]

LATERAL_SHAPES = {
    "reta": partial(shower_shapes.reta, fill=np.nan),
    "rphi": partial(shower_shapes.rphi, fill=np.nan),
    "weta2": shower_shapes.weta2,
    "fracs1": partial(shower_shapes.fracs1, fill=np.nan),
}
"""The lateral shapes of the table, by name, and the function computing each per shower (NaN where a ratio's
window is empty; w_eta2 is 0 there, as `hepnb.calo.shower_shapes.weta2` defines it)."""

ATLAS_UNCONVERTED_RANGES = {"reta": (0.96, 0.97), "rphi": (0.95, 0.98)}
"""Where the published R_eta and R_phi distributions of ATLAS unconverted photons peak (the shower-shape figures of
EPJC 76 (2016) 666, arXiv:1606.01813, and EPJC 79 (2019) 205, arXiv:1810.05087): ranges read off plots, which give
no table. w_eta2 and f_side have no range here; the table reports them without one."""


def lateral_shape_table(samples: Mapping[str, ArrayLike]) -> pd.DataFrame:
    """Mean and error of the mean of each lateral shape for each sample, and the ATLAS range where one is quoted.

    Parameters
    ----------
    samples
        Name -> cells ``[N, 266]`` (MeV) of showers at one energy point; each sample needs at least two showers.

    Returns
    -------
    pandas.DataFrame
        One row per shape of `LATERAL_SHAPES`; columns ``<name>`` and ``<name> error`` per sample, then
        ``ATLAS low`` and ``ATLAS high`` (NaN where no range is quoted). Showers where a ratio is undefined (an
        empty window) are left out of its mean.

    Examples
    --------
    >>> from hepnb.calo.simulate import simulate
    >>> table = lateral_shape_table({"simulator": simulate(200, [65536.0], seed=1).cells})
    >>> bool(0.97 < table.loc["reta", "simulator"] < 0.985)
    True
    """
    if not samples:
        raise InputError("lateral_shape_table needs at least one sample: pass {name: cells [N, 266]}")
    names = [str(name) for name in samples]
    taken = {"ATLAS low", "ATLAS high", *(f"{name} error" for name in names)}
    if len(set(names)) < len(names) or taken & set(names):
        raise InputError(
            f"sample names {names} collide with each other or with a column of the table ('<name> error', "
            "'ATLAS low', 'ATLAS high'): rename the samples"
        )
    columns: dict[str, list[float]] = {}
    for name, cells in samples.items():
        cells = as_finite_array(cells, f"sample {name!r}", ndim=2)
        if cells.shape[1] != N_CELLS:
            raise InputError(f"sample {name!r} must be cells [N, {N_CELLS}] in MeV, got shape {cells.shape}")
        if cells.shape[0] < 2:
            raise InputError(f"sample {name!r} has {cells.shape[0]} shower(s); the error of a mean needs at least 2")
        means, errors = [], []
        for shape in LATERAL_SHAPES.values():
            values = shape(cells)
            values = values[np.isfinite(values)]
            means.append(float(np.mean(values)) if values.size else np.nan)
            errors.append(float(np.std(values, ddof=1) / np.sqrt(values.size)) if values.size > 1 else np.nan)
        columns[str(name)] = means
        columns[f"{name} error"] = errors
    ranges = [ATLAS_UNCONVERTED_RANGES.get(shape, (np.nan, np.nan)) for shape in LATERAL_SHAPES]
    columns["ATLAS low"] = [low for low, _ in ranges]
    columns["ATLAS high"] = [high for _, high in ranges]
    return pd.DataFrame(columns, index=pd.Index(list(LATERAL_SHAPES), name="shape"))
