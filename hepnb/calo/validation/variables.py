"""Per-shower variables of a validation: every shower shape of thesis sections 5.5.2-5.5.4 as a table, their axis
titles, and the features of the classifier two-sample test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from hepnb import style
from hepnb.calo import shower_shapes
from hepnb.calo.data import ShowerArrays
from hepnb.calo.geometry import LAYERS
from hepnb.errors import InputError, as_finite_array

__all__ = [
    "LAYER_TEXT",
    "VARIABLE_GROUPS",
    "EPOCH_PICKING_VARIABLES",
    "shower_variables",
    "variable_label",
    "classifier_features",
]

LAYER_TEXT = {"presampler": "PS", "strips": "Strips", "middle": "Middle", "back": "Back"}
"""The layers' names in axis titles."""
_ALIASES = ("f1", "f3")  # identical to frac_strips and frac_back (the Athena names of the cell-level fractions)
_ENERGY_VARIABLES = (
    "e_total",
    "e_presampler",
    "e_strips",
    "e_middle",
    "e_back",
    "emaxs1",
    "e2tsts1",
    "e2tsts1_thesis",
    "emins1",
    "delta_e",
    "ecore",
)

VARIABLE_GROUPS: dict[str, tuple[str, ...]] = {
    "energies": (
        "response",
        "e_total",
        "e_presampler",
        "e_strips",
        "e_middle",
        "e_back",
        "frac_presampler",
        "frac_strips",
        "frac_middle",
        "frac_back",
        "ecore",
    ),
    "eta moments": tuple(f"{kind}_{lay.name}" for kind in ("eta_mean", "eta_width", "delta_eta") for lay in LAYERS),
    "phi moments": tuple(f"{kind}_{lay.name}" for kind in ("phi_mean", "phi_width", "delta_phi") for lay in LAYERS),
    "inter-layer": tuple(
        f"{axis}_mean_middle_minus_{name}" for axis in ("eta", "phi") for name in ("presampler", "strips", "back")
    ),
    "middle and strips (reconstruction)": (
        "reta",
        "reta_thesis",
        "rphi",
        "weta2",
        "weta1",
        "wstot1",
        "emaxs1",
        "e2tsts1",
        "e2tsts1_thesis",
        "emins1",
        "eratio",
        "delta_e",
        "fracs1",
        "fracs1_thesis",
    ),
}
"""Every per-shower variable of thesis sections 5.5.2-5.5.4, in groups of one plot grid each."""


def shower_variables(cells: Any, showers: ShowerArrays) -> pd.DataFrame:
    """Every per-shower variable of thesis 5.5.2-5.5.4 (`shower_shapes.compute_all`) for ``cells`` with the conditions
    of ``showers``: a ``[N, n_variables]`` table (energies in MeV; ``f1``/``f3`` are left out, being
    ``frac_strips``/``frac_back``).
    """
    arr = as_finite_array(cells, "cells", ndim=2)
    if arr.shape != showers.cells.shape:
        raise InputError(f"cells have shape {arr.shape}, the showers {showers.cells.shape}: one row per shower")
    values = shower_shapes.compute_all(arr, showers.p, showers.e, showers.deta, showers.dphi, showers.energy)
    order = [name for group in VARIABLE_GROUPS.values() for name in group]
    missing = set(values) - set(order) - set(_ALIASES)
    return pd.DataFrame({name: values[name] for name in order + sorted(missing)})


def variable_label(name: str) -> str:
    """Axis title with unit for a variable of `shower_variables`."""
    fixed = {
        "response": r"$\sum E_{cell} / E_{true}$",
        "e_total": style.axis_label(r"$\sum E_{cell}$", "MeV"),
        "ecore": style.axis_label(r"$E_{core}$", "MeV"),
        "reta": r"$R_\eta$ = E(3$\times$7)/E(7$\times$7)",
        "reta_thesis": r"$R_\eta^{thesis}$ = E(3$\times$3)/E(7$\times$7)",
        "rphi": r"$R_\phi$ = E(3$\times$3)/E(3$\times$7)",
        "weta2": r"$w_{\eta 2}$",
        "weta1": style.axis_label(r"$w_{\eta 1}$ ($\pm$3 strips)", "strips"),
        "wstot1": style.axis_label(r"$w_{s,tot}$", "strips"),
        "emaxs1": style.axis_label(r"$E_{max,s1}$", "MeV"),
        "e2tsts1": style.axis_label(r"$E_{2nd\,max,s1}$", "MeV"),
        "e2tsts1_thesis": style.axis_label(r"$E_{2nd\,max,s1}$ (3 strips)", "MeV"),
        "emins1": style.axis_label(r"$E_{min,s1}$", "MeV"),
        "eratio": r"$E_{ratio}$",
        "delta_e": style.axis_label(r"$\Delta E$", "MeV"),
        "fracs1": r"$f_{side}$",
        "fracs1_thesis": r"$f_{side}^{thesis}$ = E(7)/E(3)",
    }
    if name in fixed:
        return fixed[name]
    for layer, text in LAYER_TEXT.items():
        if name.endswith(f"_minus_{layer}"):
            axis = "\\eta" if name.startswith("eta") else "\\phi"
            return f"$\\langle{axis}\\rangle_{{Middle}} - \\langle{axis}\\rangle_{{{text}}}$"
        if name.endswith(f"_{layer}"):
            kind = name[: -len(layer) - 1]
            return {
                "e": style.axis_label(f"$E_{{{text}}}$", "MeV"),
                "frac": f"$E_{{{text}}} / \\sum E$",
                "eta_mean": f"$\\langle\\eta\\rangle_{{{text}}}$",
                "phi_mean": f"$\\langle\\phi\\rangle_{{{text}}}$",
                "eta_width": f"$\\sigma_{{\\eta,{text}}}$",
                "phi_width": f"$\\sigma_{{\\phi,{text}}}$",
                "delta_eta": f"$\\langle\\eta\\rangle_{{{text}}} - \\eta_{{impact}}$",
                "delta_phi": f"$\\langle\\phi\\rangle_{{{text}}} - \\phi_{{impact}}$",
            }.get(kind, name)
    return name


EPOCH_PICKING_VARIABLES = ("response", "eta_mean_back", "phi_mean_strips", "eta_mean_middle", "eta_mean_strips")
"""The per-shower observables behind the thesis's epoch-picking criteria (energy resolution, geometry conditioning,
Middle-Strips correlation)."""


def classifier_features(
    variables: pd.DataFrame, showers: ShowerArrays, names: Sequence[str] | None = None
) -> np.ndarray:
    """Features of the classifier two-sample test: the conditions (ln E, p, e, d_eta, d_phi) and the variables
    ``names`` of `shower_variables` (all by default), energies divided by E_true so that every energy point has the
    same scale.

    Generated and reference showers share the conditions, so only the shower given its conditions can tell them
    apart; the conditions let the classifier compare the *conditional* distributions.
    """
    if len(variables) != len(showers):
        raise InputError(f"{len(variables)} rows of variables for {len(showers)} showers")
    names = list(variables.columns if names is None else names)
    unknown = [n for n in names if n not in variables.columns]
    if unknown:
        raise InputError(f"unknown variables {unknown}; known: {list(variables.columns)}")
    columns = {}
    for name in names:
        values = variables[name].to_numpy(dtype=float)
        columns[name] = values / showers.energy if name in _ENERGY_VARIABLES else values
    conditions = np.column_stack([np.log(showers.energy), showers.p, showers.e, showers.deta, showers.dphi])
    return np.column_stack([conditions, pd.DataFrame(columns).to_numpy()])
