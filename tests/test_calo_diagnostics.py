"""Diagnostics of generated showers: response tails, response versus a condition, per-variable AUCs (issue 15)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from hepnb.calo import validation as v  # noqa: E402
from hepnb.errors import InputError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def cells_with_responses(responses: np.ndarray, energy: np.ndarray, seed: int = 0) -> np.ndarray:
    """Positive cells [N, 266], randomly shared out, whose sums are ``responses * energy``."""
    raw = np.random.default_rng(seed).exponential(size=(len(responses), 266))
    return raw / raw.sum(axis=1, keepdims=True) * (responses * energy)[:, None]


def test_response_tails_count_the_showers_of_a_scaled_sample() -> None:
    n = 200
    grid = 0.9 + 0.1 * (np.arange(n) + 0.5) / n  # responses evenly in (0.9, 1.0)
    energy = np.r_[np.full(n, 1024.0), np.full(n, 65536.0)]
    reference = cells_with_responses(np.r_[grid, grid], energy)
    generated = reference * np.where(energy == 1024.0, 1.2, 1.0)[:, None]  # overshoot at 1 GeV only
    table = v.response_tails(energy, {"Reference": reference, "GAN": generated})
    assert list(table.index) == [("Reference", 1.024), ("Reference", 65.536), ("GAN", 1.024), ("GAN", 65.536)]
    # 1.2 * r > t for r in the grid: all of them above 1.05, k >= 33 above 1.10 (167 of 200), none above 1.20
    assert table.loc[("GAN", 1.024), ["above_1.05", "above_1.1", "above_1.2", "above_1.5"]].tolist() == [200, 167, 0, 0]
    assert table.loc[("GAN", 1.024), "fraction_1.1"] == pytest.approx(167 / 200)
    assert table.loc[("GAN", 1.024), "max"] == pytest.approx(1.2 * grid[-1])
    for row in [("Reference", 1.024), ("Reference", 65.536), ("GAN", 65.536)]:
        assert table.loc[row, ["above_1.05", "above_1.1", "above_1.2"]].tolist() == [0, 0, 0]
    # responses can be given directly
    direct = v.response_tails(energy, {"GAN": generated.sum(axis=1) / energy}, thresholds=(1.1,))
    assert direct["above_1.1"].tolist() == [167, 0]
    with pytest.raises(InputError, match="thresholds"):
        v.response_tails(energy, {"GAN": generated}, thresholds=())
    with pytest.raises(InputError, match="one row per shower"):
        v.response_tails(energy, {"GAN": generated[:10]})
    fig = v.plot_response_tails(energy, {"Reference": reference, "GAN": generated}, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2 and all(ax.get_yscale() == "log" for ax in visible)
    assert visible[0].get_legend() is not None
    plt.close(fig)
    # the reference is drawn first, in black, wherever it is in the mapping
    fig = v.plot_response_tails(energy, {"GAN": generated, "Reference": reference}, energies=[1024.0])
    lines = fig.axes[0].get_legend().get_texts()
    assert [t.get_text() for t in lines] == ["Reference", "GAN"]
    plt.close(fig)
    with pytest.raises(InputError, match="no showers at"):
        v.plot_response_tails(energy, {"Reference": reference, "GAN": generated}, energies=[2048.0])
    with pytest.raises(InputError, match="no reference sample 'Reference'"):
        v.plot_response_tails(energy, {"GAN": generated})
    with pytest.raises(InputError, match="low < high"):
        v.plot_response_tails(energy, {"Reference": reference}, bins=(10, 1.5, 0.5))
    with pytest.raises(InputError, match="inside the histogram range"):
        v.plot_response_tails(energy, {"Reference": reference}, thresholds=(2.5,))


def offsets(seed: int, n: int = 4000) -> np.ndarray:
    """Impact offsets in eta, uniform over the middle cell."""
    return np.random.default_rng(seed).uniform(-0.0125, 0.0125, n)


def drifting(deta: np.ndarray, seed: int, slope: float = 0.0, width_slope: float = 0.0) -> np.ndarray:
    """Responses ``0.97 + slope * deta`` of width ``0.01 + width_slope * deta``."""
    noise = np.random.default_rng(seed).normal(size=len(deta))
    return 0.97 + slope * deta + noise * (0.01 + width_slope * deta)


def test_a_response_drift_with_the_offset_is_not_flat_and_an_independent_one_is() -> None:
    energy = np.full(4000, 65536.0)
    deta = offsets(0)
    flat = drifting(deta, 1)
    drift = drifting(deta, 2, slope=1.0)  # 0.9575 to 0.9825 across the cell, as the double critic
    wider = drifting(deta, 3, width_slope=0.4)  # the width grows from 0.005 to 0.015 across the cell
    profile = v.response_vs_condition(energy, {"Reference": flat, "GAN": drift, "wide": wider}, deta, "deta", 8)
    assert profile.flatness("GAN")["chi2_ndf"] > 50
    assert profile.flatness("Reference")["chi2_ndf"] < 3
    assert profile.flatness("wide", "resolution")["chi2_ndf"] > 20
    assert profile.flatness("GAN", "resolution")["chi2_ndf"] < 3  # a drift of the mean leaves each bin's width
    rows = profile.table.loc["GAN"]
    assert np.allclose(rows["response"], 0.97 + rows.index.to_numpy(), atol=5 * rows["response_error"].max())
    assert np.allclose(profile.table.loc["Reference", "resolution"], 0.01 / 0.97, rtol=0.15)
    assert profile.hists["GAN"].values() == pytest.approx(rows["response"].to_numpy())  # Mean storage, same numbers
    table = profile.flatness_table()
    assert list(table.index) == ["Reference", "GAN", "wide"] and (table["ndf"] == 7).all()


def test_flatness_chi2_is_calibrated_on_independent_replicas() -> None:
    """Over 40 flat replicas chi2/ndf averages 1 and the p-values are uniform: the bin errors are right."""
    energy = np.full(4000, 65536.0)
    chi2, p_values, chi2_resolution = [], [], []
    for seed in range(40):
        deta = offsets(100 + seed)
        response = drifting(deta, 200 + seed)
        profile = v.response_vs_condition(energy, {"Reference": response}, deta, "deta", 8)
        chi2.append(profile.flatness("Reference")["chi2_ndf"])
        p_values.append(profile.flatness("Reference")["p_value"])
        chi2_resolution.append(profile.flatness("Reference", "resolution")["chi2_ndf"])
    assert np.mean(chi2) == pytest.approx(1.0, abs=0.25)  # sd of the mean: sqrt(2 / 7 / 40) = 0.08
    assert np.mean(chi2_resolution) == pytest.approx(1.0, abs=0.3)
    assert stats.kstest(p_values, "uniform").pvalue > 0.01


def test_integer_conditions_get_one_bin_per_value_and_one_energy_point_can_be_chosen() -> None:
    rng = np.random.default_rng(3)
    p = rng.integers(0, 4, 2000)
    energy = np.where(np.arange(2000) < 1000, 8192.0, 65536.0)
    response = 0.97 + 0.01 * rng.normal(size=2000) + 0.02 * (p == 3) * (energy == 65536.0)
    profile = v.response_vs_condition(energy, {"Reference": response}, p, "p", at_mev=65536.0)
    assert profile.table.loc["Reference"].index.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert profile.table.loc["Reference", "n"].sum() == 1000 and profile.energy_gev == 65.536
    assert profile.flatness("Reference")["chi2_ndf"] > 50  # the p = 3 shift at 65 GeV
    other = v.response_vs_condition(energy, {"Reference": response}, p, "p", at_mev=8192.0)
    assert other.flatness("Reference")["chi2_ndf"] < 4
    with pytest.raises(InputError, match="no showers at"):
        v.response_vs_condition(energy, {"Reference": response}, p, "p", at_mev=1024.0)
    with pytest.raises(InputError, match="condition has"):
        v.response_vs_condition(energy, {"Reference": response}, p[:10], "p")
    with pytest.raises(InputError, match="no sample"):
        profile.flatness("GAN")


def test_plot_response_vs_condition_draws_every_sample_with_its_flatness() -> None:
    deta = offsets(0)
    flat, drift = drifting(deta, 1), drifting(deta, 2, slope=1.0)
    profile = v.response_vs_condition(np.full(4000, 65536.0), {"Reference": flat, "GAN": drift}, deta, r"$d\eta$")
    fig = v.plot_response_vs_condition(profile)
    response_axis = fig.axes[0]
    labels = [t.get_text() for t in response_axis.get_legend().get_texts()]
    assert len(labels) == 2 and labels[0].startswith("Reference") and "chi^2" in labels[1]
    assert fig.axes[2].get_xlabel() == r"$d\eta$"
    plt.close(fig)
    with pytest.raises(InputError, match="no reference sample"):
        v.plot_response_vs_condition(profile, reference="Geant4")


def test_single_variable_auc_of_a_shift_is_the_analytic_value() -> None:
    """Unit Gaussians shifted by delta: AUC = Phi(delta / sqrt 2), either direction; same distribution: 0.5."""
    rng = np.random.default_rng(7)
    n = 5000
    reference = pd.DataFrame({"shifted": rng.normal(size=n), "same": rng.normal(size=n), "down": rng.normal(size=n)})
    generated = pd.DataFrame(
        {"shifted": rng.normal(0.5, 1.0, n), "same": rng.normal(size=n), "down": rng.normal(-0.3, 1.0, n)}
    )
    table = v.single_variable_aucs(reference, {"GAN": generated}).loc["GAN"]
    assert table.index.tolist() == ["shifted", "down", "same"]  # sorted by decreasing AUC
    for name, delta in (("shifted", 0.5), ("down", 0.3)):
        expected = stats.norm.cdf(delta / np.sqrt(2))
        assert abs(table.loc[name, "auc"] - expected) < 3 * table.loc[name, "auc_error"]
    assert table.loc["same", "auc"] - 0.5 < 3 * table.loc["same", "auc_error"]
    assert table.loc["shifted", "auc_error"] == pytest.approx(0.0055, rel=0.1)  # Hanley-McNeil at n = 5000 each
    single = v.single_variable_aucs(reference, generated, names=["same"])  # a bare table is called "Generated"
    assert single.index.tolist() == [("Generated", "same")]


def test_hanley_mcneil_error_describes_the_spread_of_replicas() -> None:
    aucs, errors = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        ref = pd.DataFrame({"x": rng.normal(size=800)})
        gen = pd.DataFrame({"x": rng.normal(0.8, 1.0, 800)})
        row = v.single_variable_aucs(ref, gen).iloc[0]
        aucs.append(row["auc"])
        errors.append(row["auc_error"])
    assert np.std(aucs, ddof=1) == pytest.approx(np.mean(errors), rel=0.3)


def test_single_variable_aucs_per_energy_point_and_non_finite_values() -> None:
    rng = np.random.default_rng(11)
    energy = np.repeat([1024.0, 65536.0], 1000)
    reference = pd.DataFrame({"x": rng.normal(size=2000)})
    generated = pd.DataFrame({"x": rng.normal(size=2000) + 1.0 * (energy == 1024.0)})  # off only at 1 GeV
    generated.loc[5, "x"] = np.nan
    table = v.single_variable_aucs(reference, {"GAN": generated}, energy=energy)
    assert table.index.names == ["sample", "energy_gev", "variable"]
    assert table.loc[("GAN", 1.024, "x"), "auc"] == pytest.approx(stats.norm.cdf(1 / np.sqrt(2)), abs=0.04)
    assert table.loc[("GAN", 65.536, "x"), "auc"] < 0.56
    assert table.loc[("GAN", 1.024, "x"), "n_generated"] == 999
    with pytest.raises(InputError, match="missing"):
        v.single_variable_aucs(reference, {"GAN": generated}, names=["y"])
    with pytest.raises(InputError, match="energies"):
        v.single_variable_aucs(reference, {"GAN": generated}, energy=energy[:10])


def test_diagnostics_on_the_shipped_double_critic(torch_single_thread: None) -> None:
    """The three diagnostics on a small fresh reference and the shipped double critic (about 10 s)."""
    from hepnb.calo.simulate import standard_dataset
    from hepnb.training import EpochArchive

    reference = v.as_shower_arrays(standard_dataset(fraction=0.02, seed=5, progress=False))
    generated = v.generate_like(EpochArchive(ROOT / "data/calo/double").load(), reference, seed=0)
    samples = {"Reference": reference.cells, "double": generated}
    tails = v.response_tails(reference.energy, samples)
    assert tails.loc[("Reference", 65.536), "above_1.05"] == 0  # the simulator does not overshoot at 65 GeV
    assert (tails["n"] > 100).all()
    profile = v.response_vs_condition(reference.energy, samples, reference.deta, "deta")
    assert profile.flatness("Reference")["chi2_ndf"] < 4
    aucs = v.single_variable_aucs(
        v.shower_variables(reference.cells, reference), v.shower_variables(generated, reference)
    )
    assert aucs["auc"].between(0.5, 1.0).all() and aucs["auc"].is_monotonic_decreasing
    assert aucs["auc"].iloc[0] > 0.6  # some variable gives the GAN away (the issue: C2ST AUC 1.000)
