"""`compute_all`: every per-shower variable of thesis sections 5.5.2-5.5.4 in one dictionary."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hepnb.calo.geometry import LAYERS
from hepnb.calo.shower_shapes._common import check_cells
from hepnb.calo.shower_shapes.energies import layer_energies, layer_fractions, response
from hepnb.calo.shower_shapes.lateral import (
    delta_eta,
    delta_phi,
    eta_mean,
    eta_mean_difference,
    eta_width,
    phi_mean,
    phi_mean_difference,
    phi_width,
)
from hepnb.calo.shower_shapes.reconstruction import (
    delta_e,
    e2tsts1,
    e2tsts1_thesis,
    ecore,
    emaxs1,
    emins1,
    eratio,
    fracs1,
    fracs1_thesis,
    reta,
    reta_thesis,
    rphi,
    weta1,
    weta2,
    wstot1,
)

__all__ = ["compute_all"]


def compute_all(
    cells: ArrayLike,
    p: ArrayLike,
    e: ArrayLike,
    impact_delta_eta: ArrayLike | None = None,
    impact_delta_phi: ArrayLike | None = None,
    energy: ArrayLike | None = None,
) -> dict[str, np.ndarray]:
    """Every per-shower variable of thesis sections 5.5.2-5.5.4 in one dictionary of ``[N]`` arrays.

    Impact-relative differences are included when the impact offsets are given, the response when
    ``energy`` (same unit as the cells) is given.
    """
    arr = check_cells(cells)
    out: dict[str, np.ndarray] = {}
    el = layer_energies(arr)
    out["e_total"] = el.sum(axis=1)
    frac = layer_fractions(arr)
    for k, lay in enumerate(LAYERS):
        out[f"e_{lay.name}"] = el[:, k]
        out[f"frac_{lay.name}"] = frac[:, k]
        out[f"eta_mean_{lay.name}"] = eta_mean(arr, k, e)
        out[f"phi_mean_{lay.name}"] = phi_mean(arr, k, p)
        out[f"eta_width_{lay.name}"] = eta_width(arr, k, e)
        out[f"phi_width_{lay.name}"] = phi_width(arr, k, p)
        if impact_delta_eta is not None:
            out[f"delta_eta_{lay.name}"] = delta_eta(arr, k, impact_delta_eta, e)
        if impact_delta_phi is not None:
            out[f"delta_phi_{lay.name}"] = delta_phi(arr, k, impact_delta_phi, p)
        if lay.name != "middle":
            out[f"eta_mean_middle_minus_{lay.name}"] = eta_mean_difference(arr, k, e)
            out[f"phi_mean_middle_minus_{lay.name}"] = phi_mean_difference(arr, k, p)
    if energy is not None:
        out["response"] = response(arr, energy)
    out.update(
        reta=reta(arr),
        reta_thesis=reta_thesis(arr),
        rphi=rphi(arr),
        weta2=weta2(arr),
        weta1=weta1(arr),
        wstot1=wstot1(arr),
        emaxs1=emaxs1(arr),
        e2tsts1=e2tsts1(arr),
        e2tsts1_thesis=e2tsts1_thesis(arr),
        emins1=emins1(arr),
        eratio=eratio(arr),
        delta_e=delta_e(arr),
        fracs1=fracs1(arr),
        fracs1_thesis=fracs1_thesis(arr),
        f1=frac[:, 1],
        f3=frac[:, 3],
        ecore=ecore(arr, e, impact_delta_eta),
    )
    return out
