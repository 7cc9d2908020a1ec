"""Response and resolution of the total energy versus E_true, for the reference and any number of models, with
errors; the generated over reference ratio (the second-critic claim), also checkpoint by checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from hepnb import style
from hepnb.calo.data import N_CELLS, ShowerArrays
from hepnb.calo.geometry import LAYERS
from hepnb.calo.validation._moments import response_moments, shower_responses
from hepnb.calo.validation.points import ENERGY_65_MEV, energy_point_gev
from hepnb.calo.validation.reference import generate_like
from hepnb.errors import InputError
from hepnb.units import GeV

__all__ = [
    "response_resolution",
    "response_layer_correlation",
    "Ratio",
    "resolution_ratio",
    "plot_response_resolution",
    "resolution_by_epoch",
    "plot_resolution_by_epoch",
    "plot_training_history",
]


def response_resolution(energy: Any, samples: Mapping[str, Any]) -> pd.DataFrame:
    """Response (mean of sum/E_true) and resolution (its std / mean) per energy point and sample, with errors.

    Parameters
    ----------
    energy
        ``[N]`` true energies in MeV.
    samples
        Label -> cells ``[N, 266]`` in MeV (the reference and the generated ones, same conditions), or label ->
        ``[N]`` responses.

    Returns
    -------
    pandas.DataFrame
        Index ``(sample, energy_gev)``; columns ``n``, ``response``, ``response_error``, ``width`` (std of the
        response), ``width_error``, ``resolution`` (width / response) and ``resolution_error``. The std's error
        uses the fourth moment; the resolution's error combines both (their correlation is neglected).
    """
    e_true, responses = shower_responses(energy, samples)
    rows = []
    for label, response in responses.items():
        for point in np.unique(e_true):
            moments = response_moments(response[e_true == point])
            rows.append({"sample": label, "energy_gev": energy_point_gev(point), **moments})
    return pd.DataFrame(rows).set_index(["sample", "energy_gev"])


def response_layer_correlation(energy: Any, samples: Mapping[str, Any], layer: str = "back") -> pd.DataFrame:
    """Pearson correlation between the response and one layer's share of the shower, per energy point and sample.

    In the simulator a shower that starts late puts more of its energy in the back layer and leaks more beyond it,
    so the response falls as the back fraction rises (a correlation that grows with energy); a generator whose
    total does not know its shape (`hepnb.calo.response_flow.ResponseCalibrated`) gives none.

    Parameters
    ----------
    energy
        ``[N]`` true energies in MeV.
    samples
        Label -> cells ``[N, 266]`` (same conditions).
    layer
        ``"presampler"``, ``"strips"``, ``"middle"`` or ``"back"``.

    Returns
    -------
    pandas.DataFrame
        Rows ``energy_gev``, one column per sample.

    Examples
    --------
    Showers that start deeper put more into the back layer and leak more (a lower total):

    >>> rng = np.random.default_rng(0)
    >>> depth = rng.uniform(0.0, 1.0, 1000)
    >>> cells = np.full((1000, 266), 240.0) * rng.uniform(0.99, 1.01, (1000, 266))
    >>> cells[:, LAYERS[3].slice] *= 1.0 + depth[:, None]  # more in the back layer
    >>> cells *= (1.0 - 0.1 * depth)[:, None]  # and less in all
    >>> table = response_layer_correlation(np.full(1000, 65536.0), {"deep": cells})
    >>> bool(table.loc[65.536, "deep"] < -0.5)
    True
    """
    names = [candidate.name for candidate in LAYERS]
    if layer not in names:
        raise InputError(f"layer={layer!r} must be one of {names}")
    cut = LAYERS[names.index(layer)].slice
    e_true, responses = shower_responses(energy, samples)
    table = {}
    for label, response in responses.items():
        cells = np.asarray(samples[label], dtype=float)
        if cells.shape != (len(e_true), N_CELLS):
            raise InputError(f"samples[{label!r}] must be cells [{len(e_true)}, {N_CELLS}], got shape {cells.shape}")
        share = cells[:, cut].sum(1) / cells.sum(1)
        table[label] = {
            energy_point_gev(point): float(np.corrcoef(response[e_true == point], share[e_true == point])[0, 1])
            for point in np.unique(e_true)
        }
    return pd.DataFrame(table).rename_axis("energy_gev")


@dataclass(frozen=True)
class Ratio:
    """A ratio with its error, e.g. a generated resolution over the reference one."""

    value: float
    error: float
    what: str

    @property
    def deviation(self) -> float:
        """|value - 1|: the relative disagreement."""
        return abs(self.value - 1.0)


def resolution_ratio(
    table: pd.DataFrame,
    sample: str,
    energy_gev: float = energy_point_gev(ENERGY_65_MEV),
    *,
    reference: str = "Reference",
    quantity: str = "resolution",
) -> Ratio:
    """``quantity`` (``resolution``, ``width`` or ``response``) of ``sample`` over the reference's at one energy
    point of a `response_resolution` table, with the errors of both combined.
    """
    if quantity not in ("resolution", "width", "response"):
        raise InputError(f"quantity={quantity!r} must be 'resolution', 'width' or 'response'")
    samples = table.index.get_level_values("sample").unique().tolist()
    for name in (sample, reference):
        if name not in samples:
            raise InputError(f"no sample {name!r} in the table; samples: {samples}")
    energies = table.loc[reference].index.tolist()
    match = [e for e in energies if abs(e - energy_gev) < 1e-3 * max(1.0, energy_gev)]
    if not match:
        raise InputError(f"no energy point {energy_gev} GeV in the table; points: {energies}")
    a = table.loc[(sample, match[0])]
    b = table.loc[(reference, match[0])]
    value = a[quantity] / b[quantity]
    error = abs(value) * np.hypot(a[f"{quantity}_error"] / a[quantity], b[f"{quantity}_error"] / b[quantity])
    return Ratio(float(value), float(error), f"{quantity} of {sample} / {reference} at {match[0]:g} GeV")


def plot_response_resolution(table: pd.DataFrame, *, reference: str = "Reference", fig: Figure | None = None) -> Figure:
    """Response and resolution versus true energy for every sample of a `response_resolution` table, each with a
    ratio panel to the reference.
    """
    samples = table.index.get_level_values("sample").unique().tolist()
    if reference not in samples:
        raise InputError(f"no reference sample {reference!r} in the table; samples: {samples}")
    if fig is None:
        fig = plt.figure(figsize=(13, 6.5))
    axes = fig.subplots(2, 2, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.06, "wspace": 0.28})
    ref = table.loc[reference]
    energies = ref.index.to_numpy()
    for col, (quantity, ylabel) in enumerate(
        (
            ("response", r"Response $\langle\sum E_{cell}/E_{true}\rangle$"),
            ("resolution", r"Resolution $\sigma/\langle\sum E/E_{true}\rangle$"),
        )
    ):
        ax, rax = axes[0, col], axes[1, col]
        order = [reference] + [s for s in samples if s != reference]
        for i, label in enumerate(order):
            rows = table.loc[label].reindex(energies)
            shift = 1.0 + 0.025 * (i - (len(order) - 1) / 2)  # small offsets so the error bars do not overlap
            colour = "black" if label == reference else f"C{i - 1}"
            ax.errorbar(
                energies * shift,
                rows[quantity],
                yerr=rows[f"{quantity}_error"],
                fmt="o",
                color=colour,
                ms=4,
                label=label,
                capsize=2,
            )
            ratio = rows[quantity] / ref[quantity]
            ratio_error = ratio * np.hypot(
                rows[f"{quantity}_error"] / rows[quantity], ref[f"{quantity}_error"] / ref[quantity]
            )
            if label == reference:
                rax.fill_between(energies, 1 - ratio_error, 1 + ratio_error, color="black", alpha=0.15, lw=0)
            else:
                rax.errorbar(energies * shift, ratio, yerr=ratio_error, fmt="o", color=colour, ms=4, capsize=2)
        rax.axhline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(energies.min() / 1.5, energies.max() * 1.5)
        ax.set_ylabel(ylabel)
        rax.xaxis.set_minor_formatter(NullFormatter())  # 2x10^1, 3x10^1, ... ran into each other
        rax.set_xlabel(style.axis_label("$E_{true}$", "GeV"))
        rax.set_ylabel(f"Ratio to\n{reference}" if len(reference) < 12 else "Ratio")
        ratios = [table.loc[s, quantity].reindex(energies).to_numpy() / ref[quantity].to_numpy() for s in samples]
        finite = np.concatenate(ratios)
        finite = finite[np.isfinite(finite)]
        margin = 0.05 if quantity == "response" else 0.2
        rax.set_ylim(max(0.0, min(1 - margin, finite.min() - margin / 2)), max(1 + margin, finite.max() + margin / 2))
        if quantity == "resolution":
            ax.set_yscale("log")
        ax.legend(loc="best", fontsize="small")
    engine = fig.get_layout_engine()
    if engine is not None:  # mplhep spaces 'hepnb' and 'Simulation' in axes fractions: the final widths first
        engine.execute(fig.figure)  # the top-level figure (fig may be a subfigure)
    for ax in axes[0]:
        style.experiment_label(ax, text="Simulation", com=None)
    return fig


def resolution_by_epoch(
    archives: Mapping[str, Any],
    reference: ShowerArrays,
    *,
    energy_gev: float = energy_point_gev(ENERGY_65_MEV),
    seed: int = 0,
) -> pd.DataFrame:
    """Generated over reference resolution at one energy point, for every loadable checkpoint of each archive, and
    how flat the generated response is in the impact offset Δη there.

    ``archives`` maps a label to a `hepnb.training.EpochArchive` of a `hepnb.calo.gan.CaloGAN`. Only the reference
    showers at ``energy_gev`` are generated (one per shower, same conditions, ``seed``). Returns a frame indexed
    by (label, epoch) with the columns ``ratio`` and ``error`` (as `resolution_ratio`) and ``deta_chi2_ndf``, the
    chi2/ndf of a constant through the generated response profiled in Δη (`response_vs_condition`, 8 bins; about 1
    when flat, as the reference is): whether any checkpoint is free of an offset-dependent drift.
    """
    from hepnb.calo.validation.diagnostics import response_vs_condition

    at = np.isclose(reference.energy, energy_gev * GeV, rtol=1e-6)
    if at.sum() < 2:
        points = sorted({energy_point_gev(e) for e in np.unique(reference.energy)})
        raise InputError(f"no reference showers at {energy_gev} GeV; energy points: {points}")
    showers = reference.subset(at)
    rows = {}
    for label, archive in archives.items():
        for epoch in archive.loadable_epochs():
            generated = generate_like(archive.load(epoch), showers, seed=seed)
            table = response_resolution(showers.energy, {"Reference": showers.cells, label: generated})
            ratio = resolution_ratio(table, label, energy_gev)
            profile = response_vs_condition(showers.energy, {label: generated}, showers.deta, "deta")
            rows[label, epoch] = {
                "ratio": ratio.value,
                "error": ratio.error,
                "deta_chi2_ndf": profile.flatness(label)["chi2_ndf"],
            }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["sample", "epoch"])
    return out


def plot_resolution_by_epoch(
    table: pd.DataFrame,
    *,
    tolerance: float | None = None,
    chosen: Mapping[str, int] | None = None,
    energy_gev: float = energy_point_gev(ENERGY_65_MEV),
    ax: Any | None = None,
) -> Figure:
    """The `resolution_by_epoch` ratios against epoch, one curve per sample, with the ``1 +- tolerance`` band and
    the ``chosen`` epoch of each sample marked.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4.5))
    else:
        fig = ax.figure
    chosen = dict(chosen or {})
    for i, label in enumerate(table.index.get_level_values("sample").unique()):
        rows = table.loc[label]
        ax.errorbar(rows.index, rows["ratio"], yerr=rows["error"], fmt="o-", ms=4, color=f"C{i}", label=label)
        if label in chosen and chosen[label] in rows.index:
            ax.plot(
                chosen[label],
                rows.loc[chosen[label], "ratio"],
                "*",
                ms=16,
                color=f"C{i}",
                mec="black",
                label=f"{label}: chosen epoch {chosen[label]}",
            )
    if tolerance is not None:
        ax.axhspan(1 - tolerance, 1 + tolerance, color="0.85", zorder=0, label=f"within {tolerance:.0%}")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(rf"$\sigma_{{GAN}}/\sigma_{{ref}}$ at {energy_gev:g} GeV")
    ax.legend(fontsize="small", loc="upper right")
    style.experiment_label(ax, text="Simulation", com=None)
    return fig


def plot_training_history(archives: Mapping[str, Any], fig: Figure | None = None) -> Figure:
    """Per epoch, the critic's Wasserstein estimate (left axis) and the resolution error ``|sigma_GAN/sigma_ref - 1|``
    at the validation energy (right axis, log), one panel per training: the loss keeps drifting while the physics
    metric jumps from checkpoint to checkpoint, so the loss does not say which generator is best.

    Parameters
    ----------
    archives
        ``{name: EpochArchive}`` of the calorimeter trainings (their history has ``wasserstein`` and
        ``resolution_error`` columns).
    fig
        Figure (or subfigure) to draw into; a new one by default.
    """
    if not archives:
        raise InputError("archives is empty: give {name: EpochArchive} of at least one calorimeter training")
    for name, archive in archives.items():
        missing = {"wasserstein", "resolution_error"} - set(archive.history.columns)
        if missing:
            raise InputError(
                f"the history of {name!r} lacks {sorted(missing)}: pass the archive of a calorimeter GAN training"
            )
    fig = fig or plt.figure(figsize=(6.5 * len(archives), 4), layout="constrained")
    for ax, (name, archive) in zip(np.atleast_1d(fig.subplots(1, len(archives))), archives.items()):
        history = archive.history
        ax.plot(history.index, history["wasserstein"], label="critic's Wasserstein estimate")
        twin = ax.twinx()
        twin.semilogy(
            history.index,
            history["resolution_error"],
            color="C1",
            lw=0.8,
            label=r"resolution error $|\sigma_{gen}/\sigma_{ref}-1|$",
        )
        # no epoch label in the corners, where the tick labels of both y axes end
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, prune="both"))
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Wasserstein estimate")
        twin.set_ylabel("resolution error")
        ax.set_title(name, fontsize="medium")
        (lines, labels), (twin_lines, twin_labels) = ax.get_legend_handles_labels(), twin.get_legend_handles_labels()
        twin.legend(lines + twin_lines, labels + twin_labels, loc="upper right", fontsize="small")  # one legend box
    return fig
