"""Generated against reference distributions, per energy point: every shower variable (`VariableComparisons`,
chi2/ndf tables and grids of ratio plots), the total energy of the ablation, the layer fractions next to the thesis's
Fig. 5.19 numbers, and all of it at an untrained energy point (`evaluate_energy_point`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hepnb import style
from hepnb.calo import shower_shapes
from hepnb.calo.data import ShowerArrays
from hepnb.calo.validation.points import ENERGY_65_MEV, energy_point_gev
from hepnb.calo.validation.reference import generate_like
from hepnb.calo.validation.resolution import response_resolution
from hepnb.calo.validation.variables import shower_variables, variable_label
from hepnb.errors import InputError, as_finite_array
from hepnb.hists import Comparison
from hepnb.units import GeV

__all__ = [
    "THESIS_LAYER_FRACTIONS_65GEV",
    "reference_binning",
    "fold_into",
    "VariableComparisons",
    "total_energy_comparison",
    "PointEvaluation",
    "evaluate_energy_point",
    "layer_fraction_table",
]

THESIS_LAYER_FRACTIONS_65GEV: dict[str, tuple[float, float, float, float]] = {
    "Geant4 (thesis)": (0.7, 17.2, 79.3, 0.4),
    "first GAN (thesis)": (0.8, 19.8, 78.1, 0.5),
    "VAE (thesis)": (0.6, 19.1, 77.6, 0.6),
}
"""Mean E_layer / E_true in % (PS, Strips, Middle, Back) at 65 GeV, thesis Fig. 5.19 caption (section 5.5)."""


def reference_binning(values: Any, n_bins: int = 40, *, widen: float = 0.1) -> tuple[int, float, float]:
    """``(n_bins, low, high)`` covering the 0.5-99.5 % quantiles of the reference ``values``, widened by
    ``widen`` of that span on each side (a single value gets a small window around it).
    """
    x = as_finite_array(values, "values", ndim=1)
    if len(x) == 0:
        raise InputError("no reference values to take a binning from")
    if n_bins < 1:
        raise InputError(f"n_bins={n_bins} must be positive")
    lo, hi = (float(q) for q in np.quantile(x, [0.005, 0.995]))
    if hi <= lo:
        lo, hi = float(x.min()), float(x.max())
    pad = widen * (hi - lo) if hi > lo else max(abs(lo) * 0.05, 1e-6)
    return int(n_bins), lo - pad, hi + pad


def fold_into(values: np.ndarray, binning: tuple[int, float, float]) -> np.ndarray:
    """Values outside the binning moved to the centres of the edge bins (so nothing generated is silently dropped).

    The centres, not the edges: a value one float below the upper edge can land in boost-histogram's overflow bin
    after rounding, where the chi2 would not see it.

    >>> fold_into(np.array([-5.0, 0.3, 5.0]), (10, 0.0, 1.0))
    array([0.05, 0.3 , 0.95])
    """
    n, lo, hi = binning
    half = 0.5 * (hi - lo) / n
    return np.where(values < lo, lo + half, np.where(values >= hi, hi - half, values))


class VariableComparisons:
    """Every variable at every energy point: a `Comparison` of the reference with the generated samples.

    Parameters
    ----------
    reference
        `shower_variables` of the reference showers.
    generated
        Label -> `shower_variables` of generated showers, one per reference shower (same conditions).
    energy
        ``[N]`` true energy of the reference showers (MeV); every distinct value is an energy point.
    n_bins
        Bins per histogram; the range comes from the reference at that energy point (`reference_binning`), and
        values outside it are folded into the edge bins.
    variables
        Variables to compare (default: all columns of ``reference``).
    reference_label
        Name of the reference in tables and legends.
    """

    def __init__(
        self,
        reference: pd.DataFrame,
        generated: Mapping[str, pd.DataFrame],
        energy: Any,
        *,
        n_bins: int = 40,
        variables: Sequence[str] | None = None,
        reference_label: str = "Reference",
    ) -> None:
        energy = as_finite_array(energy, "energy", ndim=1)
        if len(energy) != len(reference):
            raise InputError(f"{len(energy)} energies for {len(reference)} reference showers")
        if not generated:
            raise InputError("give at least one generated sample to compare with the reference")
        variables = list(variables if variables is not None else reference.columns)
        unknown = [v for v in variables if v not in reference.columns]
        if unknown:
            raise InputError(f"unknown variables {unknown}; known: {list(reference.columns)}")
        for label, table in generated.items():
            if len(table) != len(reference):
                raise InputError(
                    f"{label!r} has {len(table)} showers, the reference {len(reference)}: generate one "
                    "shower per reference shower (generate_like)"
                )
            missing = [v for v in variables if v not in table.columns]
            if missing:
                raise InputError(f"{label!r} lacks the variables {missing}")
        self.variables = variables
        self.labels = list(generated)
        self.reference_label = reference_label
        self.energies = [float(e) for e in np.unique(energy)]
        self.n_bins = n_bins
        self.comparisons: dict[tuple[str, float], Comparison] = {}
        for point in self.energies:
            at = energy == point
            for name in variables:
                ref = reference[name].to_numpy()[at]
                binning = reference_binning(ref, n_bins)
                others = {label: fold_into(table[name].to_numpy()[at], binning) for label, table in generated.items()}
                self.comparisons[(name, point)] = Comparison(
                    fold_into(ref, binning),
                    others,
                    bins=binning,
                    reference_label=reference_label,
                    xlabel=variable_label(name),
                    title=f"$E_{{true}}$ = {energy_point_gev(point):g} GeV",
                )

    def comparison(self, variable: str, energy: float) -> Comparison:
        """The `Comparison` of ``variable`` at the energy point ``energy`` (MeV)."""
        key = (variable, float(energy))
        if key not in self.comparisons:
            raise InputError(
                f"no comparison for {variable!r} at {energy} MeV; energies: {self.energies}, "
                f"variables: {self.variables}"
            )
        return self.comparisons[key]

    def chi2_table(self, label: str | None = None) -> pd.DataFrame:
        """chi2/ndf of ``label`` (the only generated sample by default): variables x energy points (GeV)."""
        if label is None:
            if len(self.labels) > 1:
                raise InputError(f"several generated samples: name one of {self.labels}")
            label = self.labels[0]
        if label not in self.labels:
            raise InputError(f"no generated sample {label!r}; samples: {self.labels}")
        data = {
            energy_point_gev(point): [self.comparisons[(name, point)].chi2(label).reduced for name in self.variables]
            for point in self.energies
        }
        table = pd.DataFrame(data, index=pd.Index(self.variables, name="variable"))
        table.columns.name = "E_true [GeV]"
        return table

    def summary(self) -> pd.DataFrame:
        """Median chi2/ndf over the variables, per energy point (columns) and generated sample (rows)."""
        return pd.DataFrame({label: self.chi2_table(label).median() for label in self.labels}).T

    def plot(
        self,
        energy: float,
        variables: Sequence[str] | None = None,
        *,
        ncols: int = 4,
        panel_size: tuple[float, float] = (4.4, 4.0),
    ) -> Figure:
        """Grid of normalised overlays with ratio panels at the energy point ``energy`` (MeV), one per variable.

        Each panel is what `Comparison.plot` draws (statistical band of the reference, chi2/ndf in the legend),
        compacted to fit many on one figure.
        """
        names = list(variables if variables is not None else self.variables)
        if not names:
            raise InputError("no variable to plot")
        comparisons = [self.comparison(name, energy) for name in names]
        nrows = -(-len(names) // ncols)
        fig = plt.figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
        outer = fig.add_gridspec(nrows, ncols)
        for k, comparison in enumerate(comparisons):
            inner = outer[k // ncols, k % ncols].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
            ax = fig.add_subplot(inner[0])
            rax = fig.add_subplot(inner[1], sharex=ax)
            comparison.draw(ax, rax, compact=True)
            rax.ticklabel_format(axis="x", style="sci", scilimits=(-4, 5), useOffset=False)  # MeV, no x10^4
            rax.xaxis.get_offset_text().set(x=0.0, horizontalalignment="left")  # x10^5 not under the axis title
        fig.suptitle(f"$E_{{true}}$ = {energy_point_gev(energy):g} GeV")
        return style.legend_headroom(fig)  # the legends above the curves, not on them


def total_energy_comparison(
    energy: Any,
    samples: Mapping[str, Any],
    *,
    reference: str = "Reference",
    at_mev: float = ENERGY_65_MEV,
    n_bins: int = 50,
) -> Comparison:
    """Histogram of sum(cells) in GeV at one energy point for the reference and the models (the ablation plot).

    The range covers the 0.5-99.5 % quantiles of *every* sample (a too wide model stays visible); values outside
    are folded into the edge bins.
    """
    e_true = as_finite_array(energy, "energy", ndim=1)
    at = np.isclose(e_true, at_mev)
    if not at.any():
        raise InputError(f"no shower at {at_mev} MeV; energy points: {np.unique(e_true).tolist()}")
    if reference not in samples:
        raise InputError(f"no reference sample {reference!r}; samples: {list(samples)}")
    totals = {}
    for label, cells in samples.items():
        arr = as_finite_array(cells, f"sample {label!r}", ndim=2)
        if len(arr) != len(e_true):
            raise InputError(f"sample {label!r} has {len(arr)} showers for {len(e_true)} energies")
        totals[label] = arr[at].sum(axis=1) / GeV
    lo = min(float(np.quantile(t, 0.005)) for t in totals.values())
    hi = max(float(np.quantile(t, 0.995)) for t in totals.values())
    pad = 0.05 * (hi - lo) if hi > lo else 1e-3
    binning = (n_bins, lo - pad, hi + pad)
    return Comparison(
        fold_into(totals[reference], binning),
        {label: fold_into(t, binning) for label, t in totals.items() if label != reference},
        bins=binning,
        reference_label=reference,
        xlabel=style.axis_label(r"$\sum E_{cell}$", "GeV"),
        title=f"$E_{{true}}$ = {energy_point_gev(at_mev):g} GeV",
    )


@dataclass(frozen=True)
class PointEvaluation:
    """Validation at one (untrained) energy point: variables, response/resolution and the total energy."""

    energy_mev: float
    variables: VariableComparisons
    response: pd.DataFrame
    total_energy: Comparison


def evaluate_energy_point(
    models: Mapping[str, Any], showers: ShowerArrays, *, seed: int, n_bins: int = 40, reference_label: str = "Reference"
) -> PointEvaluation:
    """Generate like ``showers`` (one energy point, e.g. 25 or 524 GeV) with every model and compare.

    Parameters
    ----------
    models
        Label -> CaloGAN.
    showers
        Simulated reference showers at a single energy (`as_shower_arrays(interpolation_dataset(...))`).
    seed
        Seed of the generated latent vectors.
    """
    points = np.unique(showers.energy)
    if len(points) != 1:
        raise InputError(f"evaluate_energy_point takes showers of one energy, got {len(points)} energies")
    # the point may lie outside the trained energies on purpose (the 524 GeV extrapolation test)
    generated = {label: generate_like(model, showers, seed=seed, extrapolate=True) for label, model in models.items()}
    reference_vars = shower_variables(showers.cells, showers)
    variables = VariableComparisons(
        reference_vars,
        {k: shower_variables(v, showers) for k, v in generated.items()},
        showers.energy,
        n_bins=n_bins,
        reference_label=reference_label,
    )
    cells = {reference_label: showers.cells, **generated}
    return PointEvaluation(
        float(points[0]),
        variables,
        response_resolution(showers.energy, cells),
        total_energy_comparison(showers.energy, cells, reference=reference_label, at_mev=float(points[0])),
    )


def layer_fraction_table(
    energy: Any, samples: Mapping[str, Any], *, at_mev: float = ENERGY_65_MEV, include_thesis: bool = True
) -> pd.DataFrame:
    """Mean E_layer / E_true in % at one energy point (rows: samples; columns: PS, Strips, Middle, Back, sum),
    followed by the thesis's Fig. 5.19 numbers at 65 GeV (when ``include_thesis`` and ``at_mev`` is 65.5 GeV).
    """
    e_true = as_finite_array(energy, "energy", ndim=1)
    at = np.isclose(e_true, at_mev)
    if not at.any():
        raise InputError(f"no shower at {at_mev} MeV; energy points: {np.unique(e_true).tolist()}")
    rows = {}
    for label, cells in samples.items():
        arr = as_finite_array(cells, f"sample {label!r}", ndim=2)
        if len(arr) != len(e_true):
            raise InputError(f"sample {label!r} has {len(arr)} showers for {len(e_true)} energies")
        rows[label] = 100.0 * shower_shapes.layer_fractions(arr[at], e_true[at]).mean(axis=0)
    if include_thesis and np.isclose(at_mev, ENERGY_65_MEV):
        rows.update({k: np.array(v) for k, v in THESIS_LAYER_FRACTIONS_65GEV.items()})
    table = pd.DataFrame(rows, index=["PS", "Strips", "Middle", "Back"]).T
    table["sum"] = table.sum(axis=1)
    table.index.name = f"% of E_true at {energy_point_gev(at_mev):g} GeV"
    return table
