"""Diagnostics of generated showers beyond means and widths: the tail of the response distribution (unphysical
overshoots), the response and resolution versus a condition (impact offsets, p / e alignment) with a flatness test,
and the per-variable classifier AUC that says which variable gives a generator away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import hist
import matplotlib.pyplot as plt
import mplhep as mh
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from hepnb import style
from hepnb.calo.data import ShowerArrays
from hepnb.calo.geometry import LAYERS
from hepnb.calo.validation._moments import response_moments, shower_responses
from hepnb.calo.validation.points import energy_point_gev
from hepnb.errors import InputError, as_finite_array
from hepnb.metrics.generative import auc_standard_error

__all__ = [
    "response_tails",
    "plot_response_tails",
    "overshoot_breakdown",
    "ConditionProfile",
    "response_vs_condition",
    "plot_response_vs_condition",
    "single_variable_aucs",
]


def response_tails(
    energy: Any, samples: Mapping[str, Any], thresholds: Sequence[float] = (1.05, 1.10, 1.20, 1.50)
) -> pd.DataFrame:
    """Per energy point and sample, how many showers deposit more than ``threshold x E_true`` (the overshoots that a
    std-based resolution hides).

    Parameters
    ----------
    energy
        ``[N]`` true energies in MeV; every distinct value is an energy point.
    samples
        Label -> cells ``[N, 266]`` in MeV (same conditions as ``energy``), or label -> ``[N]`` responses.
    thresholds
        Response thresholds (sum of the cells over E_true). At the lowest energies the reference showers themselves
        reach above 1, so compare a GAN's counts with the reference's, not with zero.

    Returns
    -------
    pandas.DataFrame
        Index ``(sample, energy_gev)``; columns ``n``, ``max`` (largest response), then per threshold ``t``:
        ``above_t`` (count) and ``fraction_t`` (count / n).

    Examples
    --------
    >>> cells = np.zeros((4, 266)); cells[:, 0] = [900.0, 1000.0, 1080.0, 1300.0]
    >>> table = response_tails([1000.0] * 4, {"Reference": cells}, thresholds=(1.05, 1.2))
    >>> table.loc[("Reference", 1.0), ["n", "above_1.05", "fraction_1.05", "above_1.2"]].tolist()
    [4.0, 2.0, 0.5, 1.0]
    """
    levels = [float(t) for t in thresholds]
    if not levels or any(not np.isfinite(t) or t <= 0 for t in levels):
        raise InputError(f"thresholds={thresholds!r} must be positive responses, e.g. (1.05, 1.10, 1.20)")
    e_true, responses = shower_responses(energy, samples)
    rows = []
    for label, response in responses.items():
        for point in np.unique(e_true):
            r = response[e_true == point]
            row: dict[str, Any] = {"sample": label, "energy_gev": energy_point_gev(point), "n": len(r)}
            row["max"] = float(r.max())
            for t in levels:
                count = int(np.count_nonzero(r > t))
                row[f"above_{t:g}"] = count
                row[f"fraction_{t:g}"] = count / len(r)
            rows.append(row)
    return pd.DataFrame(rows).set_index(["sample", "energy_gev"])


def plot_response_tails(
    energy: Any,
    samples: Mapping[str, Any],
    *,
    energies: Sequence[float] | None = None,
    thresholds: Sequence[float] = (1.05, 1.10, 1.20, 1.50),
    bins: tuple[int, float, float] = (60, 0.6, 1.8),
    ncols: int = 3,
    reference: str = "Reference",
) -> Figure:
    """Response histograms, log y, one panel per energy point (``energies`` in MeV, all by default), every sample
    overlaid (``reference`` first, in black) and the thresholds of `response_tails` marked; responses beyond the
    range land in the edge bins.
    """
    e_true, responses = shower_responses(energy, samples)
    if reference not in responses:
        raise InputError(f"no reference sample {reference!r}; samples: {list(responses)}")
    n, lo, hi = bins
    if int(n) < 1 or not lo < hi:
        raise InputError(f"bins must be (n >= 1, low, high) with low < high, got {bins!r}")
    if not all(lo < t < hi for t in thresholds):
        raise InputError(f"thresholds {list(thresholds)} must lie inside the histogram range ({lo}, {hi})")
    responses = {reference: responses[reference], **{k: v for k, v in responses.items() if k != reference}}
    points = np.unique(e_true) if energies is None else np.asarray(energies, dtype=float)
    missing = [float(p) for p in points if not np.any(np.isclose(e_true, p))]
    if missing:
        raise InputError(f"no showers at {missing} MeV; energy points: {np.unique(e_true).tolist()}")
    half = 0.5 * (hi - lo) / n
    nrows = -(-len(points) // ncols)
    fig = plt.figure(figsize=(4.5 * ncols, 3.6 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, point in zip(axes, points):
        at = np.isclose(e_true, point)
        for i, (label, response) in enumerate(responses.items()):
            h = hist.Hist(hist.axis.Regular(n, lo, hi, label="response"))
            h.fill(np.clip(response[at], lo + half, hi - half))
            colour = "black" if i == 0 else f"C{i - 1}"
            mh.histplot(h, ax=ax, color=colour, label=label, yerr=False, histtype="step")
        for t in thresholds:
            ax.axvline(t, color="0.5", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel(r"$\sum E_{cell} / E_{true}$")
        ax.set_ylabel("Showers")
        ax.set_title(f"$E_{{true}}$ = {energy_point_gev(point):g} GeV", fontsize="medium")
    axes[0].legend(fontsize="small", loc="upper right")  # above the tails, which are rare
    for ax in axes[len(points) :]:
        ax.set_visible(False)
    return fig


def overshoot_breakdown(
    showers: ShowerArrays,
    samples: Mapping[str, Any],
    *,
    energy_mev: float | None = None,
    threshold: float = 1.2,
    small_cell: float = 0.01,
    reference: str = "Reference",
) -> pd.DataFrame:
    """Where the energy of the overshooting showers (response above ``threshold``) sits, and under which alignment
    ``p`` they occur, at one energy point: what `response_tails` counts, taken apart.

    Parameters
    ----------
    showers
        The reference showers with their conditions (``showers.cells`` is not used: give it in ``samples``).
    samples
        Label -> cells ``[N, 266]`` in MeV, one row per shower of ``showers`` (the reference among them).
    energy_mev
        The energy point (default: the lowest, where the overshoots are).
    threshold
        Response (sum of the cells over E_true) above which a shower overshoots.
    small_cell
        Cells below ``small_cell x E_true`` are "small": a generator whose output never reaches exactly zero (the
        GAN's sigmoid) spreads energy over them.
    reference
        Label of the reference sample in ``samples``.

    Returns
    -------
    pandas.DataFrame
        Index ``sample``; columns ``n``, ``above`` (overshooting showers), ``fraction``; per layer the mean
        E_layer / E_true of all showers (``<layer>``) and of the overshooting ones (``<layer>, above``, NaN if none);
        ``small cells`` (the mean sum of the small cells over E_true) and ``cells > 1e-4`` (the mean number of cells
        above 1e-4 x E_true); per alignment ``fraction above, p=k``; ``W1 to reference``, the Wasserstein distance of
        the response distribution to the reference's, and ``tail cost``, the mean of max(response - threshold, 0):
        the most a W1 distance can drop when the tail is pulled back to the threshold (exactly that when the reference
        has nothing above it). A tail cost far below W1 is a
        tail that a Wasserstein critic (thesis section 5.4.2) barely sees.

    Examples
    --------
    >>> from hepnb.calo.data import ShowerArrays
    >>> cells = np.zeros((4, 266)); cells[:, 0] = 1000.0; cells[3, 40] = 600.0  # cell 40: a strip cell
    >>> showers = ShowerArrays.from_arrays(cells, [1000.0] * 4, [0, 1, 2, 3], [0] * 4, [0.0] * 4, [0.0] * 4)
    >>> reference = cells.copy(); reference[3, 40] = 0.0
    >>> row = overshoot_breakdown(showers, {"Reference": reference, "GAN": cells}).loc["GAN"]
    >>> int(row["above"]), float(row["strips, above"]), float(row["fraction above, p=3"])
    (1, 0.6, 1.0)
    >>> round(float(row["W1 to reference"]), 6), round(float(row["tail cost"]), 6)  # one shower of four: +0.6
    (0.15, 0.1)
    """
    if not isinstance(showers, ShowerArrays):
        raise InputError(f"showers must be a ShowerArrays (e.g. training_reference(...)), got {type(showers).__name__}")
    if not np.isfinite(threshold) or threshold <= 0 or not 0 < small_cell < 1:
        raise InputError(f"threshold ({threshold}) must be a positive response and small_cell ({small_cell}) in (0, 1)")
    if reference not in samples:
        raise InputError(f"no reference sample {reference!r} in samples; labels: {list(samples)}")
    point = float(showers.energy.min()) if energy_mev is None else float(energy_mev)
    at = np.isclose(showers.energy, point)
    if not at.any():
        raise InputError(f"no showers at {point} MeV; energy points: {np.unique(showers.energy).tolist()}")
    fractions = {}
    for label, cells in samples.items():
        arr = as_finite_array(cells, f"samples[{label!r}]", ndim=2)
        if arr.shape != showers.cells.shape:
            raise InputError(f"samples[{label!r}] has shape {arr.shape}, the showers {showers.cells.shape}")
        fractions[label] = arr[at] / showers.energy[at, None]
    reference_response = fractions[reference].sum(axis=1)
    rows = {}
    for label, x in fractions.items():
        response = x.sum(axis=1)
        above = response > threshold
        row: dict[str, float] = {"n": int(at.sum()), "above": int(above.sum()), "fraction": float(above.mean())}
        for layer in LAYERS:
            in_layer = x[:, layer.slice].sum(axis=1)
            row[layer.name] = float(in_layer.mean())
            row[f"{layer.name}, above"] = float(in_layer[above].mean()) if above.any() else float("nan")
        row["small cells"] = float(np.where(x < small_cell, x, 0.0).sum(axis=1).mean())
        row["cells > 1e-4"] = float((x > 1e-4).sum(axis=1).mean())
        for p in np.unique(showers.p):
            row[f"fraction above, p={p}"] = float(above[showers.p[at] == p].mean())
        row["W1 to reference"] = float(stats.wasserstein_distance(response, reference_response))
        row["tail cost"] = float(np.maximum(response - threshold, 0.0).mean())
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("sample")


@dataclass(frozen=True)
class ConditionProfile:
    """Response and resolution per bin of a condition, per sample (what `response_vs_condition` returns).

    ``hists`` holds one ``Mean``-storage `hist.Hist` of the response per sample; ``table`` is indexed by
    ``(sample, bin)`` (bin centres) with ``n``, ``response``, ``response_error``, ``resolution`` (std / mean) and
    ``resolution_error`` (fourth-moment error of the std combined with the mean's).
    """

    name: str
    energy_gev: float | None
    hists: dict[str, hist.Hist]
    table: pd.DataFrame

    def flatness(self, sample: str, quantity: str = "response") -> dict[str, float]:
        """chi2 of ``quantity``'s profile against its error-weighted mean: ``chi2``, ``ndf``, ``chi2_ndf``,
        ``p_value`` and ``mean``. Bins with fewer than two showers, or whose error is zero or not finite (the
        resolution below four showers), are left out. ``chi2_ndf`` near 1 is flat within the errors; a drift with the
        condition gives ``chi2_ndf >> 1``.
        """
        if sample not in self.hists:
            raise InputError(f"no sample {sample!r}; samples: {list(self.hists)}")
        if quantity not in ("response", "resolution"):
            raise InputError(f"quantity={quantity!r} must be 'response' or 'resolution'")
        rows = self.table.loc[sample]
        rows = rows[(rows["n"] > 1) & (rows[f"{quantity}_error"] > 0)]
        if len(rows) < 2:
            raise InputError(f"{sample!r} has {len(rows)} filled bins: use fewer bins or more showers")
        values, errors = rows[quantity].to_numpy(), rows[f"{quantity}_error"].to_numpy()
        weights = errors**-2.0
        mean = float(np.sum(weights * values) / weights.sum())
        chi2 = float(np.sum(((values - mean) / errors) ** 2))
        ndf = len(values) - 1
        return {
            "chi2": chi2,
            "ndf": ndf,
            "chi2_ndf": chi2 / ndf,
            "p_value": float(stats.chi2.sf(chi2, ndf)),
            "mean": mean,
        }

    def flatness_table(self, quantity: str = "response") -> pd.DataFrame:
        """`flatness` of every sample, one row each."""
        return pd.DataFrame({s: self.flatness(s, quantity) for s in self.hists}).T.rename_axis("sample")


def response_vs_condition(
    energy: Any,
    samples: Mapping[str, Any],
    condition: Any,
    name: str,
    bins: int | Sequence[float] | None = None,
    *,
    at_mev: float | None = None,
) -> ConditionProfile:
    """Response (sum / E_true) and resolution (its std / mean) per bin of ``condition``, per sample.

    Parameters
    ----------
    energy
        ``[N]`` true energies (MeV).
    samples
        Label -> cells ``[N, 266]`` (MeV) or ``[N]`` responses, same conditions.
    condition
        ``[N]`` conditioning variable: ``test.deta``, ``test.dphi``, ``test.p`` or ``test.e``.
    name
        Axis title of the condition.
    bins
        Number of equal bins over the condition's range, or bin edges; by default one bin per value for an integer
        condition (p, e) and 8 bins otherwise.
    at_mev
        Only the showers at this energy point (MeV); all by default (the resolution then mixes energies).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> deta = rng.uniform(-0.0125, 0.0125, 4000)
    >>> flat, drift = rng.normal(0.98, 0.01, 4000), 0.98 + 2.0 * deta + rng.normal(0, 0.01, 4000)
    >>> profile = response_vs_condition(np.full(4000, 65536.0), {"flat": flat, "drift": drift}, deta, "deta", 8)
    >>> bool(profile.flatness("flat")["chi2_ndf"] < 3), bool(profile.flatness("drift")["chi2_ndf"] > 100)
    (True, True)
    """
    e_true, responses = shower_responses(energy, samples)
    x = as_finite_array(condition, "condition", ndim=1)
    if len(x) != len(e_true):
        raise InputError(f"condition has {len(x)} values for {len(e_true)} showers")
    keep = np.ones(len(x), bool) if at_mev is None else np.isclose(e_true, at_mev)
    if not keep.any():
        raise InputError(f"no showers at {at_mev} MeV; energy points: {np.unique(e_true).tolist()}")
    x = x[keep]
    if bins is None and np.all(x == np.round(x)):
        lo, hi = int(x.min()), int(x.max())
        axis = hist.axis.Regular(hi - lo + 1, lo - 0.5, hi + 0.5, label=name)
    elif bins is None or np.ndim(bins) == 0:
        count = 8 if bins is None else int(bins)
        if count < 1 or x.max() <= x.min():
            raise InputError(f"cannot make {count} bins over a condition from {x.min()} to {x.max()}")
        span = float(x.max() - x.min())
        axis = hist.axis.Regular(count, float(x.min()), float(x.max()) + 1e-9 * span, label=name)
    else:  # showers outside the edges are left out
        axis = hist.axis.Variable(np.asarray(bins, dtype=float), label=name)
    index = axis.index(x)
    columns = ["sample", "bin", "n", "response", "response_error", "resolution", "resolution_error"]
    hists, rows = {}, []
    for label, response in responses.items():
        r = response[keep]
        hists[label] = hist.Hist(axis, storage=hist.storage.Mean()).fill(x, sample=r)
        for k, centre in enumerate(axis.centers):
            moments = response_moments(r[index == k])
            rows.append((label, float(centre), *(moments[c] for c in columns[2:])))
    table = pd.DataFrame(rows, columns=columns).set_index(["sample", "bin"])
    return ConditionProfile(name, None if at_mev is None else energy_point_gev(at_mev), hists, table)


def plot_response_vs_condition(
    profile: ConditionProfile, *, reference: str = "Reference", fig: Figure | None = None
) -> Figure:
    """Response and resolution versus the condition of a `ConditionProfile`, every sample with error bars, and
    ratio panels to the reference (its statistical band in grey); the legend gives each response's chi2/ndf flatness.
    """
    if reference not in profile.hists:
        raise InputError(f"no reference sample {reference!r}; samples: {list(profile.hists)}")
    fig = fig or plt.figure(figsize=(13, 6.5))
    axes = fig.subplots(2, 2, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.06, "wspace": 0.28})
    edges = next(iter(profile.hists.values())).axes[0].edges
    ref = profile.table.loc[reference]
    order = [reference] + [s for s in profile.hists if s != reference]
    for col, (quantity, ylabel) in enumerate(
        (("response", r"Response $\langle\sum E_{cell}/E_{true}\rangle$"), ("resolution", r"Resolution $\sigma/\mu$"))
    ):
        ax, rax = axes[0, col], axes[1, col]
        for i, label in enumerate(order):
            rows = profile.table.loc[label]
            colour = "black" if label == reference else f"C{i - 1}"
            text = label
            if quantity == "response":
                text += f" ($\\chi^2$/ndf flat = {profile.flatness(label)['chi2_ndf']:.1f})"
            values, errors = rows[quantity].to_numpy(), rows[f"{quantity}_error"].to_numpy()
            mh.histplot(values, edges, yerr=errors, histtype="errorbar", ax=ax, color=colour, label=text, markersize=4)
            ratio = values / ref[quantity].to_numpy()
            ratio_error = np.abs(ratio) * errors / np.abs(values)
            if label == reference:
                rax.stairs(1 + ratio_error, edges, baseline=1 - ratio_error, fill=True, color="black", alpha=0.15)
            else:
                mh.histplot(ratio, edges, yerr=ratio_error, histtype="errorbar", ax=rax, color=colour, markersize=4)
        rax.axhline(1.0, color="black", lw=0.8)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("")
        rax.set_xlabel(profile.name)
        rax.set_ylabel(f"Ratio to\n{reference}")
        ax.legend(fontsize="small", loc="best")
        title = "all energies" if profile.energy_gev is None else f"$E_{{true}}$ = {profile.energy_gev:g} GeV"
        style.experiment_label(ax, text="Simulation", com=None, rlabel=title)
    return fig


def single_variable_aucs(
    variables_reference: pd.DataFrame,
    variables_generated: pd.DataFrame | Mapping[str, pd.DataFrame],
    names: Sequence[str] | None = None,
    *,
    energy: Any | None = None,
) -> pd.DataFrame:
    """Per variable, the ROC AUC of telling generated from reference showers by that variable alone.

    The AUC is reported as ``max(AUC, 1 - AUC)``: 0.5 is indistinguishable, 1 fully separated (either direction),
    with the Hanley-McNeil error. Non-finite values are left out (``n_reference``, ``n_generated`` count the rest).

    Parameters
    ----------
    variables_reference
        `shower_variables` of the reference showers.
    variables_generated
        `shower_variables` of generated showers, or label -> such tables (e.g. the notebook's ``variables_generated``).
    names
        Variables to score (default: every column of the reference).
    energy
        ``[N]`` true energies of the reference rows (same for generated rows): then one AUC per energy point.

    Returns
    -------
    pandas.DataFrame
        Index ``(sample, variable)`` or ``(sample, energy_gev, variable)``, sorted by decreasing ``auc`` within
        each sample (and energy point); columns ``auc``, ``auc_error``, ``n_reference``, ``n_generated``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ref = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    >>> gen = pd.DataFrame({"a": rng.normal(1.0, 1.0, 2000), "b": rng.normal(size=2000)})
    >>> table = single_variable_aucs(ref, {"GAN": gen})  # a: Phi(1 / sqrt(2)) = 0.760 expected
    >>> table.index.get_level_values("variable").tolist(), round(float(table["auc"].iloc[0]), 2)
    (['a', 'b'], 0.76)
    """
    from sklearn.metrics import roc_auc_score

    generated = (
        {"Generated": variables_generated} if isinstance(variables_generated, pd.DataFrame) else variables_generated
    )
    if not generated:
        raise InputError("give at least one generated table (shower_variables of generated showers)")
    names = list(variables_reference.columns if names is None else names)
    points = None
    if energy is not None:
        points = as_finite_array(energy, "energy", ndim=1)
        if len(points) != len(variables_reference):
            raise InputError(f"{len(points)} energies for {len(variables_reference)} reference showers")
    rows = []
    for label, table in generated.items():
        unknown = [n for n in names if n not in variables_reference.columns or n not in table.columns]
        if unknown:
            raise InputError(f"variables {unknown} are missing from the reference or {label!r}")
        if points is not None and len(table) != len(points):
            raise InputError(f"{label!r} has {len(table)} rows for {len(points)} energies: generate like the reference")
        groups = [(None, slice(None))] if points is None else [(p, points == p) for p in np.unique(points)]
        for point, at in groups:
            for name in names:
                ref = variables_reference[name].to_numpy(dtype=float)[at]
                gen = table[name].to_numpy(dtype=float)[at]
                ref, gen = ref[np.isfinite(ref)], gen[np.isfinite(gen)]
                if len(ref) == 0 or len(gen) == 0:
                    raise InputError(f"{name!r} of {label!r} has no finite values to compare")
                truth = np.r_[np.zeros(len(ref)), np.ones(len(gen))]
                auc = float(roc_auc_score(truth, np.r_[ref, gen]))
                row = {"sample": label, "variable": name, "auc": max(auc, 1 - auc)}
                row["auc_error"] = auc_standard_error(auc, len(gen), len(ref))
                row.update(n_reference=len(ref), n_generated=len(gen))
                if point is not None:
                    row["energy_gev"] = energy_point_gev(point)
                rows.append(row)
    keys = ["sample", "variable"] if points is None else ["sample", "energy_gev", "variable"]
    out = pd.DataFrame(rows)
    out["order"] = out["sample"].map({label: i for i, label in enumerate(generated)})
    out = out.sort_values(["order", *keys[1:-1], "auc"], ascending=[True] * (len(keys) - 1) + [False])
    return out.drop(columns="order").set_index(keys)
