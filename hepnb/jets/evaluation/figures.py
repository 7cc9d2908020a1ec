"""The thesis's figures of generated against real jets: the mean jet image, particle and jet distributions.

Distributions are :class:`~hepnb.hists.Comparison` objects (a reference and the other samples, chi2 and ratio
panels); :func:`plot_comparisons` draws a grid of them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import hist
import numpy as np

from hepnb import style
from hepnb.errors import InputError

__all__ = [
    "FEATURES",
    "jet_image",
    "multiplicity",
    "pt_sum",
    "feature_comparisons",
    "per_n_comparisons",
    "plot_comparisons",
]


def jet_image(jets: Any, bins: int = 40, extent: float = 0.8) -> np.ndarray:
    """The mean jet image ``[bins, bins]``: pT_rel summed in (eta_rel, phi_rel) pixels within +-extent, / jets."""
    from hepnb.jets.datamodule import check_particles

    clouds = check_particles(jets, "jets")
    real = clouds[..., 3] == 1
    edges = np.linspace(-extent, extent, bins + 1)
    edges[-1] = np.nextafter(edges[-1], np.inf)  # the last pixel holds its upper edge, as numpy's histograms do
    image = hist.Hist(hist.axis.Variable(edges), hist.axis.Variable(edges), storage=hist.storage.Weight())
    image.fill(clouds[..., 0][real], clouds[..., 1][real], weight=clouds[..., 2][real])
    return image.values() / len(clouds)


def multiplicity(jets: Any) -> np.ndarray:
    """Real particles per jet, ``[N]`` int."""
    return np.asarray(jets)[..., 3].sum(axis=1).round().astype(int)


def pt_sum(jets: Any) -> np.ndarray:
    """Summed pT_rel of each jet's real particles, ``[N]`` float64: the fraction of the jet's pT they carry."""
    clouds = np.asarray(jets)
    return (clouds[..., 2] * (clouds[..., 3] == 1)).sum(axis=1, dtype=np.float64)


FEATURES = {
    "eta_rel": (0, r"$\eta^{rel}$", (-0.8, 0.8)),
    "phi_rel": (1, r"$\phi^{rel}$", (-0.8, 0.8)),
    "pt_rel": (2, r"$p_T^{rel}$", (0.0, 0.5)),
}


def feature_comparisons(
    reference: Any, others: Mapping[str, Any], *, n_bins: int = 40, reference_label: str = "Real"
) -> dict[str, Any]:
    """:class:`~hepnb.hists.Comparison` of the thesis's distributions: n, eta_rel, phi_rel, pT_rel of all
    particles, and the relative jet mass m/pT; then the jet's summed pT_rel (values beyond the range are counted in
    the edge bins). A comparison with fewer than two filled bins (n of top jets that all keep 30 particles, the
    pT_rel sum of jets that keep all their particles) is left out.

    The P hardest particles of a real jet carry at most about all of its pT: their scalar pT sum exceeds the jet's
    vector pT only by the jet's angular spread (by less than 0.5% in 99.5% of the Pythia jets here), and falls
    below 1 when softer particles were dropped."""
    from hepnb.hists import Comparison
    from hepnb.metrics.particle_clouds import jet_mass

    samples = {reference_label: np.asarray(reference), **{k: np.asarray(v) for k, v in others.items()}}
    p = samples[reference_label].shape[1]
    out = {
        "n": Comparison(
            multiplicity(reference),
            {k: multiplicity(v) for k, v in others.items()},
            bins=np.arange(0.5, p + 1.5),
            reference_label=reference_label,
            xlabel="Particles per jet $n$",
        )
    }
    for name, (column, xlabel, (low, high)) in FEATURES.items():
        values = {
            k: np.clip(v[..., column][v[..., 3] == 1].astype(np.float64), low, high - 1e-9) for k, v in samples.items()
        }
        out[name] = Comparison(
            values.pop(reference_label),
            values,
            bins=(n_bins, low, high),
            reference_label=reference_label,
            xlabel=xlabel + " (all particles)",
        )
    masses = {k: np.clip(jet_mass(v).astype(np.float64), 0.0, 0.3 - 1e-9) for k, v in samples.items()}
    out["mass"] = Comparison(
        masses.pop(reference_label),
        masses,
        bins=(n_bins, 0.0, 0.3),
        reference_label=reference_label,
        xlabel="Relative jet mass $m/p_T$",
    )
    sums = {k: np.clip(pt_sum(v), 0.5, 1.1 - 1e-9) for k, v in samples.items()}
    out["pt_sum"] = Comparison(
        sums.pop(reference_label),
        sums,
        bins=(n_bins, 0.5, 1.1),
        reference_label=reference_label,
        xlabel=r"$\sum p_T^{rel}$ of the jet's particles",
    )
    return _drawable(out)


def _drawable(comparisons: dict[str, Any]) -> dict[str, Any]:
    """The comparisons with two filled bins or more (top jets nearly all keep 30 particles: one bin of n)."""
    out = {}
    for name, comparison in comparisons.items():
        with contextlib.suppress(InputError):
            out[name] = [comparison.chi2(label) for label in comparison.others] and comparison
    return out


def per_n_comparisons(
    reference: Any,
    others: Mapping[str, Any],
    feature: str,
    n_ranges: Sequence[tuple[int, int]],
    *,
    n_bins: int = 30,
    reference_label: str = "Real",
) -> dict[str, Any]:
    """``feature`` (``"eta_rel"``, ``"phi_rel"`` or ``"pt_rel"``) of all particles of the jets with
    ``low <= n <= high``, per range (the thesis's per-size figures); empty ranges are left out."""
    from hepnb.hists import Comparison

    if feature not in FEATURES:
        raise InputError(f"feature={feature!r}: use one of {list(FEATURES)}")
    column, xlabel, (low, high) = FEATURES[feature]
    samples = {reference_label: np.asarray(reference), **{k: np.asarray(v) for k, v in others.items()}}
    out = {}
    for n_low, n_high in n_ranges:
        values = {}
        for k, v in samples.items():
            n = multiplicity(v)
            jets = v[(n >= n_low) & (n <= n_high)]
            values[k] = np.clip(jets[..., column][jets[..., 3] == 1].astype(np.float64), low, high - 1e-9)
        if all(len(x) > 0 for x in values.values()):
            out[f"{n_low} <= n <= {n_high}"] = Comparison(
                values.pop(reference_label),
                values,
                bins=(n_bins, low, high),
                reference_label=reference_label,
                xlabel=f"{xlabel}, ${n_low} \\leq n \\leq {n_high}$",
            )
    return _drawable(out)


def plot_comparisons(comparisons: Mapping[str, Any], *, ncols: int = 3, title: str = "") -> Any:
    """A grid of compact overlays with ratio panels, one per comparison."""
    import matplotlib.pyplot as plt

    if not comparisons:
        raise InputError("nothing to plot: no comparison was given")
    nrows = math.ceil(len(comparisons) / ncols)
    fig = plt.figure(figsize=(4.2 * ncols, 3.6 * nrows), layout="constrained")
    grid = fig.add_gridspec(nrows, ncols)
    for k, comparison in enumerate(comparisons.values()):
        cell = grid[k // ncols, k % ncols].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
        ax = fig.add_subplot(cell[0])
        comparison.draw(ax, fig.add_subplot(cell[1], sharex=ax), compact=True)
    if title:
        fig.suptitle(title)
    return style.legend_headroom(fig)  # the compact legends sit above the data
