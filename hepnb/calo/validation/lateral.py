"""How ATLAS-like the lateral shower shapes are: the mean R_eta, R_phi, w_eta2 and f_side of samples of showers at
one energy point, next to where ATLAS unconverted photons peak, and the fraction passing ATLAS's tight cuts.

The definitions are ATLAS's (`hepnb.calo.shower_shapes`): R_eta = E(3x7)/E(7x7) and R_phi = E(3x3)/E(3x7) in the
Middle layer, w_eta2 the energy-weighted eta width in its 3x5 window (raw, and corrected for the impact position as
ATLAS identifies photons), f_side = [E(+-3 strips) - E(+-1 strip)] / E(+-1 strip) in the Strips.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from hepnb.calo import shower_shapes
from hepnb.calo.data import ShowerArrays
from hepnb.errors import InputError

__all__ = [
    "ATLAS_TIGHT_CUTS",
    "ATLAS_UNCONVERTED_RANGES",
    "LATERAL_SHAPES",
    "lateral_shape_table",
    "generated_lateral_shapes",
    "tight_cut_table",
]

LATERAL_SHAPES: dict[str, Callable[[ShowerArrays], np.ndarray]] = {
    "reta": lambda s: shower_shapes.reta(s.cells, fill=np.nan),
    "rphi": lambda s: shower_shapes.rphi(s.cells, fill=np.nan),
    "weta2": lambda s: shower_shapes.weta2(s.cells),
    "weta2_corrected": lambda s: shower_shapes.weta2_corrected(s.cells, s.deta),
    "fracs1": lambda s: shower_shapes.fracs1(s.cells, fill=np.nan),
}
"""The lateral shapes of the tables, by name, and how each is computed per shower (NaN where the shape's window is
empty, except the raw w_eta2, which `hepnb.calo.shower_shapes.weta2` defines as 0 there)."""

ATLAS_UNCONVERTED_RANGES = {"reta": (0.96, 0.97), "rphi": (0.95, 0.98)}
"""Where the published R_eta and R_phi distributions of ATLAS unconverted photons peak (the shower-shape figures of
EPJC 76 (2016) 666, arXiv:1606.01813, and EPJC 79 (2019) 205, arXiv:1810.05087): ranges read off plots, which give
no table. The widths and f_side have no such range here: `ATLAS_TIGHT_CUTS` bounds them instead."""

ATLAS_TIGHT_CUTS = {"reta": (">", 0.92), "rphi": (">", 0.93), "weta2_corrected": ("<", 0.011), "fracs1": ("<", 0.28)}
"""ATLAS's tight identification of unconverted photons, 2012 menu, |eta| < 0.6 and E_T < 80 GeV (athena,
PhysicsAnalysis/ElectronPhotonID/ElectronPhotonSelectorTools/python/PhotonIsEMSelectorCutDefs.py,
``PhotonIsEMSelectorConfig2012``: ``Reta37``, ``Rphi33``, ``weta2`` after the impact correction, ``fracm``): a
photon passes a cut when its shape lies on the stated side. The menu keeps most true photons, so a simulator whose
photons fail a cut often is wider than ATLAS's there; a cut cannot tell a too narrow shape."""


def _check_samples(samples: Mapping[str, ShowerArrays], extra: tuple[str, ...]) -> None:
    """Refuse no sample, names that collide with the table's columns (``extra``), and anything but ShowerArrays."""
    if not isinstance(samples, Mapping) or not samples:
        raise InputError("pass at least one sample: {name: ShowerArrays} (validation.as_shower_arrays(showers))")
    names = [str(name) for name in samples]
    taken = set(extra) | {f"{name} error" for name in names}
    if len(set(names)) < len(names) or taken & set(names):
        raise InputError(
            f"sample names {names} collide with each other or with a column of the table "
            f"('<name> error', {', '.join(map(repr, extra))}): rename the samples"
        )
    for name, sample in samples.items():
        if not isinstance(sample, ShowerArrays):
            raise InputError(
                f"sample {name!r} must be ShowerArrays (cells and impact offsets), got {type(sample).__name__}: "
                "convert simulated Showers with hepnb.calo.validation.as_shower_arrays"
            )
        if len(sample.cells) < 2:
            raise InputError(f"sample {name!r} has {len(sample.cells)} shower(s); the error of a mean needs at least 2")


def lateral_shape_table(samples: Mapping[str, ShowerArrays]) -> pd.DataFrame:
    """Mean and error of the mean of each lateral shape for each sample, and the ATLAS range where one is known.

    Parameters
    ----------
    samples
        Name -> showers at one energy point (at least two each).

    Returns
    -------
    pandas.DataFrame
        One row per shape of `LATERAL_SHAPES`; columns ``<name>`` and ``<name> error`` per sample, then
        ``ATLAS low`` and ``ATLAS high`` (`ATLAS_UNCONVERTED_RANGES`; NaN where none is known). Showers where a ratio
        is undefined (an empty window) are left out of its mean.

    Examples
    --------
    >>> from hepnb.calo.simulate import simulate
    >>> from hepnb.calo.validation import as_shower_arrays
    >>> table = lateral_shape_table({"simulator": as_shower_arrays(simulate(200, [65536.0], seed=1))})
    >>> bool(0.97 < table.loc["reta", "simulator"] < 0.985)
    True
    """
    _check_samples(samples, ("ATLAS low", "ATLAS high"))
    columns: dict[str, list[float]] = {}
    for name, sample in samples.items():
        values = [shape(sample) for shape in LATERAL_SHAPES.values()]
        values = [v[np.isfinite(v)] for v in values]
        columns[str(name)] = [float(np.mean(v)) if v.size else np.nan for v in values]
        columns[f"{name} error"] = [
            float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else np.nan for v in values
        ]
    ranges = [ATLAS_UNCONVERTED_RANGES.get(shape, (np.nan, np.nan)) for shape in LATERAL_SHAPES]
    columns["ATLAS low"] = [low for low, _ in ranges]
    columns["ATLAS high"] = [high for _, high in ranges]
    return pd.DataFrame(columns, index=pd.Index(list(LATERAL_SHAPES), name="shape"))


def generated_lateral_shapes(
    models: Mapping[str, Any], test: ShowerArrays, *, energy_mev: float, seed: int, reference: str = "Reference"
) -> pd.DataFrame:
    """`lateral_shape_table` of the test showers at one energy point and of one shower per test shower from each model.

    Did a GAN learn the lateral spread of its training showers? Each model generates with the test showers'
    conditions (`hepnb.calo.validation.generate_like`), so the shapes are compared at the same impact points.

    Parameters
    ----------
    models
        Name -> a `hepnb.calo.gan.CaloGAN` (or `hepnb.calo.response_flow.ResponseCalibrated`) at its chosen epoch.
    test
        Showers of the model the GANs were trained on, never trained on.
    energy_mev
        One of the test sample's energy points.
    seed
        Seed of the generated latent vectors.
    reference
        The test showers' column name.

    Returns
    -------
    pandas.DataFrame
        `lateral_shape_table` of ``reference`` and every model.

    Examples
    --------
    >>> from pathlib import Path
    >>> import hepnb
    >>> from hepnb.calo.simulate import simulate
    >>> from hepnb.calo.validation import as_shower_arrays
    >>> from hepnb.training import EpochArchive
    >>> test = as_shower_arrays(simulate(200, [65536.0], seed=1))
    >>> gan = EpochArchive(Path(hepnb.__file__).parents[1] / "data" / "calo" / "double").load(650)
    >>> table = generated_lateral_shapes({"GAN": gan}, test, energy_mev=65536.0, seed=7)
    >>> bool(abs(table.loc["reta", "GAN"] - table.loc["reta", "Reference"]) < 0.003)  # the GAN learnt R_eta
    True
    >>> generated_lateral_shapes({}, test, energy_mev=1024.0, seed=7)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: the test sample has 0 showers at 1024 MeV, ...: use one of its energy points, [65536.0] MeV
    """
    from hepnb.calo.validation.reference import generate_like

    if reference in models:
        raise InputError(f"a model is named {reference!r}, the test showers' column: rename it or pass reference=")
    at = test.subset(test.energy == energy_mev)
    if len(at) < 2:
        raise InputError(
            f"the test sample has {len(at)} showers at {energy_mev:g} MeV, and a mean shape needs at least 2: use "
            f"one of its energy points, {sorted(map(float, np.unique(test.energy)))} MeV"
        )
    generated = {
        name: dataclasses.replace(at, cells=generate_like(model, at, seed=seed)) for name, model in models.items()
    }
    return lateral_shape_table({reference: at, **generated})


def tight_cut_table(samples: Mapping[str, ShowerArrays]) -> pd.DataFrame:
    """Fraction of each sample's showers passing each of `ATLAS_TIGHT_CUTS`, with its error.

    A shape that is undefined (an empty window) fails its cut. The error is the half-width of the Wilson score
    interval at one sigma, which stays above zero when every shower passes (about 1 / (2 N) there).

    Parameters
    ----------
    samples
        Name -> showers at one energy point (at least two each).

    Returns
    -------
    pandas.DataFrame
        One row per cut (the shape's name); column ``ATLAS tight cut`` (e.g. ``"> 0.92"``), then ``<name>`` and
        ``<name> error`` per sample.

    Examples
    --------
    >>> from hepnb.calo.simulate import simulate
    >>> from hepnb.calo.validation import as_shower_arrays
    >>> table = tight_cut_table({"simulator": as_shower_arrays(simulate(200, [65536.0], seed=1))})
    >>> table.loc["reta", "ATLAS tight cut"], bool(table.loc["reta", "simulator"] > 0.99)
    ('> 0.92', True)
    """
    _check_samples(samples, ("ATLAS tight cut",))
    columns: dict[str, list] = {"ATLAS tight cut": [f"{side} {cut:g}" for side, cut in ATLAS_TIGHT_CUTS.values()]}
    for name, sample in samples.items():
        passing = []
        for shape, (side, cut) in ATLAS_TIGHT_CUTS.items():
            value = LATERAL_SHAPES[shape](sample)
            passing.append(np.mean(value > cut if side == ">" else value < cut))  # NaN compares False: fails
        fraction, n = np.array(passing), len(sample.cells)
        columns[str(name)] = list(fraction)
        columns[f"{name} error"] = list(np.sqrt(fraction * (1 - fraction) / n + 1 / (4 * n**2)) / (1 + 1 / n))
    return pd.DataFrame(columns, index=pd.Index(list(ATLAS_TIGHT_CUTS), name="shape"))
