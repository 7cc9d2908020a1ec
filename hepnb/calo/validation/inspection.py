"""The data inspection of the study notebook: how the cell geometry shows in the showers (<phi>_Strips per p,
<eta>_Back per e; thesis Figs. 5.27-5.28), reference against generated, and the mean shower images per layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hist
import matplotlib.pyplot as plt
import mplhep as mh
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from hepnb import style
from hepnb.calo import shower_shapes
from hepnb.calo.data import ShowerArrays
from hepnb.calo.geometry import GEOMETRY, LAYERS
from hepnb.calo.validation.comparisons import fold_into
from hepnb.calo.validation.points import energy_point_gev
from hepnb.calo.validation.variables import LAYER_TEXT
from hepnb.errors import InputError, as_finite_array
from hepnb.hists import Comparison

__all__ = ["alignment_comparisons", "plot_alignment_effects", "plot_mean_images"]


def _alignment_values(cells: np.ndarray, showers: ShowerArrays) -> tuple[np.ndarray, np.ndarray]:
    strip_phi = shower_shapes.phi_mean(cells, "strips", showers.p)
    back_eta = shower_shapes.eta_mean(cells, "back", showers.e)
    return strip_phi, back_eta


_STRIP_PHI_BINS = (72, -0.045, 0.045)
_BACK_ETA_BINS = (72, -0.045, 0.045)


def alignment_comparisons(
    reference: ShowerArrays, generated: Mapping[str, Any], *, reference_label: str = "Reference"
) -> list[Comparison]:
    """<phi>_Strips for each p (0..3) and <eta>_Back for each e (0/1): reference vs generated (thesis Figs. 5.27,
    5.28, the geometry conditioning the thesis used to filter epochs). Showers with an empty layer are left out.
    """
    ref_phi, ref_eta = _alignment_values(reference.cells, reference)
    gen = {
        label: _alignment_values(as_finite_array(c, f"sample {label!r}", ndim=2), reference)
        for label, c in generated.items()
    }
    empty = shower_shapes.empty_layers(reference.cells)
    panels = [(0, reference.p == p, 1, _STRIP_PHI_BINS, r"$\langle\phi\rangle_{Strips}$", f"p{p}") for p in range(4)]
    panels += [(1, reference.e == e, 3, _BACK_ETA_BINS, r"$\langle\eta\rangle_{Back}$", f"e{e}") for e in range(2)]
    out = []
    for variable, config, layer, bins, name, title in panels:
        keep = config & ~empty[:, layer]
        if keep.sum() < 2:
            continue
        ref = (ref_phi, ref_eta)[variable]
        others = {k: fold_into(v[variable][keep], bins) for k, v in gen.items()}
        out.append(
            Comparison(
                fold_into(ref[keep], bins),
                others,
                bins=bins,
                reference_label=reference_label,
                xlabel=f"{name} (impact cell at 0)",
                title=title,
            )
        )
    return out


def plot_alignment_effects(showers: ShowerArrays, cells: Any | None = None) -> Figure:
    """How the cell geometry shows in the data: <phi>_Strips per p0..p3 and <eta>_Back per e0/e1 (normalised
    histograms; ``cells`` default to the showers' own).
    """
    arr = showers.cells if cells is None else as_finite_array(cells, "cells", ndim=2)
    strip_phi, back_eta = _alignment_values(arr, showers)
    empty = shower_shapes.empty_layers(arr)
    fig, (ax_p, ax_e) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    for ax, values, config, n_config, layer, binning, label in (
        (ax_p, strip_phi, showers.p, 4, 1, _STRIP_PHI_BINS, r"$\langle\phi\rangle_{Strips}$ (impact cell at 0)"),
        (ax_e, back_eta, showers.e, 2, 3, _BACK_ETA_BINS, r"$\langle\eta\rangle_{Back}$ (impact cell at 0)"),
    ):
        name = "p" if n_config == 4 else "e"
        for k in range(n_config):
            keep = (config == k) & ~empty[:, layer]
            h = hist.Hist(hist.axis.Regular(*binning, name="x"), storage=hist.storage.Weight())
            h.fill(fold_into(values[keep], binning))
            if h.sum().value > 0:
                mh.histplot(h, ax=ax, density=True, label=f"{name}{k} ({int(keep.sum())} showers)")
        ax.set_xlabel(label)
        ax.set_ylabel("Normalised entries / bin width")
        ax.legend(fontsize="small", loc="upper right")  # legend_headroom keeps the data below it
        style.experiment_label(ax, text="Simulation", com=None)
    return style.legend_headroom(fig)


def plot_mean_images(showers: ShowerArrays, *, energy_mev: float | None = None, cells: Any | None = None) -> Figure:
    """The mean shower per layer (cells / E_true, averaged), on a log colour scale; optionally at one energy."""
    arr = showers.cells if cells is None else as_finite_array(cells, "cells", ndim=2)
    keep = np.ones(len(showers), dtype=bool) if energy_mev is None else np.isclose(showers.energy, energy_mev)
    if not keep.any():
        raise InputError(f"no shower at {energy_mev} MeV; energy points: {np.unique(showers.energy).tolist()}")
    mean = (arr[keep] / showers.energy[keep, None]).mean(axis=0)
    fig, axes = plt.subplots(
        1, 4, figsize=(17, 4.6), gridspec_kw={"width_ratios": [1.2, 3.0, 1.2, 1.0]}, layout="constrained"
    )  # the suptitle above the panel titles, not on them
    positive = mean[mean > 0]
    norm = LogNorm(vmin=max(float(positive.min()), 1e-6), vmax=float(positive.max())) if positive.size else None
    for ax, lay in zip(axes, LAYERS):
        image = GEOMETRY.image(mean, lay.name)  # [eta, phi]
        n_eta, n_phi = image.shape
        mh.hist2dplot(
            np.where(image > 0, image, np.nan),
            np.arange(n_eta + 1) - n_eta / 2,
            np.arange(n_phi + 1) - n_phi / 2,
            ax=ax,
            norm=norm,
            cbar=lay is LAYERS[-1],
        )
        ax.set_title(f"{LAYER_TEXT[lay.name]} ({n_eta}x{n_phi})", fontsize="medium")
        ax.set_xlabel(r"$\eta$ cell")
    axes[0].set_ylabel(r"$\phi$ cell")
    where = "all energies" if energy_mev is None else f"{energy_point_gev(energy_mev):g} GeV"
    fig.suptitle(f"Mean $E_{{cell}}/E_{{true}}$, {where} ({int(keep.sum())} showers)")
    return fig
