"""Shower-shape variables on hand-built showers: known energies in known cells, exact values."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb.calo import shower_shapes as ss
from hepnb.calo.geometry import GEOMETRY, LAYERS, MIDDLE, STRIPS
from hepnb.errors import InputError

DM = MIDDLE.dphi


def shower(deposits: dict[tuple[str, int, int], float], n: int = 1) -> np.ndarray:
    """Flat [n, 266] cells with energy at (layer, eta index, phi index) of the crop."""
    cells = np.zeros((n, 266))
    for (layer, i, j), value in deposits.items():
        lay = GEOMETRY.layer(layer)
        cells[:, lay.offset + i * lay.n_phi + j] = value
    return cells


def strips_row(profile: dict[int, float], row: int = 1) -> dict[tuple[str, int, int], float]:
    return {("strips", k, row): v for k, v in profile.items()}


def test_layer_energies_fractions_and_response() -> None:
    cells = shower({("presampler", 3, 1): 1.0, ("strips", 27, 1): 2.0, ("middle", 3, 3): 6.0, ("back", 2, 3): 1.0})
    np.testing.assert_array_equal(ss.layer_energies(cells), [[1.0, 2.0, 6.0, 1.0]])
    np.testing.assert_allclose(ss.layer_fractions(cells), [[0.1, 0.2, 0.6, 0.1]])
    np.testing.assert_allclose(ss.layer_fractions(cells, energy=[20.0]), [[0.05, 0.1, 0.3, 0.05]])
    assert ss.total_energy(cells)[0] == 10.0
    assert ss.response(cells, [12.5])[0] == pytest.approx(0.8)
    assert ss.f1(cells)[0] == pytest.approx(0.2) and ss.f3(cells)[0] == pytest.approx(0.1)


def test_middle_eta_phi_moments() -> None:
    cells = shower({("middle", 3, 3): 1.0, ("middle", 4, 3): 3.0, ("middle", 3, 5): 0.0})
    assert ss.eta_mean(cells, "middle")[0] == pytest.approx(0.75 * 0.025)
    assert ss.eta_width(cells, "middle")[0] == pytest.approx(np.sqrt(0.25 * 0.75) * 0.025)
    assert ss.phi_mean(cells, "middle")[0] == 0.0 and ss.phi_width(cells, "middle")[0] == 0.0
    cells = shower({("middle", 3, 1): 1.0, ("middle", 3, 5): 1.0})
    assert ss.phi_mean(cells, "middle")[0] == pytest.approx(0.0, abs=1e-15)
    assert ss.phi_width(cells, "middle")[0] == pytest.approx(2 * DM)


def test_strip_phi_uses_p_and_back_eta_uses_e() -> None:
    cells = shower({("strips", 27, 1): 1.0}, n=4)
    p = np.arange(4)
    np.testing.assert_allclose(ss.phi_mean(cells, "strips", p), (1.5 - p) * DM)
    cells = shower({("strips", 27, 0): 1.0, ("strips", 28, 1): 1.0})
    assert ss.phi_mean(cells, "strips", [0])[0] == pytest.approx(((1.5 - 4) + 1.5) / 2 * DM)
    assert ss.eta_mean(cells, "strips")[0] == pytest.approx(0.0, abs=1e-15)
    assert ss.eta_width(cells, "strips")[0] == pytest.approx(0.5 * STRIPS.deta)
    back = shower({("back", 2, 3): 1.0}, n=2)
    np.testing.assert_allclose(ss.eta_mean(back, "back", np.array([1, 0])), [0.0125, 0.0375])
    with pytest.raises(InputError, match="e"):
        ss.eta_mean(back, "back")
    with pytest.raises(InputError, match="p"):
        ss.phi_mean(cells, "presampler")


def test_impact_relative_and_inter_layer_differences() -> None:
    cells = shower({("middle", 4, 3): 2.0, ("strips", 35, 1): 1.0, ("presampler", 2, 1): 1.0})
    assert ss.delta_eta(cells, "middle", [0.01])[0] == pytest.approx(0.015)
    assert ss.delta_phi(cells, "middle", [0.002])[0] == pytest.approx(-0.002)
    strip_eta = (35 - 27.5) * STRIPS.deta
    assert ss.eta_mean_difference(cells, "strips")[0] == pytest.approx(0.025 - strip_eta)
    assert ss.eta_mean_difference(cells, "presampler")[0] == pytest.approx(0.05)
    assert ss.phi_mean_difference(cells, "strips", p=[1])[0] == pytest.approx(-0.5 * DM)


def test_empty_layers_are_nan_free_and_use_fill() -> None:
    cells = shower({("middle", 3, 3): 5.0})
    assert ss.empty_layers(cells).tolist() == [[True, True, False, True]]
    assert ss.eta_mean(cells, "back", [1])[0] == 0.0
    assert ss.eta_mean(cells, "back", [1], fill=-1.0)[0] == -1.0
    assert ss.phi_width(cells, "strips", [2])[0] == 0.0
    assert ss.delta_eta(cells, "presampler", [0.004], fill=-9.0)[0] == -9.0
    assert ss.eta_mean_difference(cells, "back", [0], fill=7.0)[0] == 7.0
    assert ss.eratio(cells)[0] == 1.0 and ss.weta1(cells)[0] == 0.0 and ss.fracs1(cells)[0] == 0.0
    empty = np.zeros((2, 266))
    values = ss.compute_all(empty, np.array([0, 1]), np.array([0, 1]), [0.0, 0.0], [0.0, 0.0], [1.0, 1.0])
    assert all(np.all(np.isfinite(v)) for v in values.values())
    assert ss.reta(empty).tolist() == [0.0, 0.0] and ss.layer_fractions(empty).sum() == 0.0


def test_reta_rphi_and_weta2() -> None:
    cells = shower({("middle", 3, 3): 10.0, ("middle", 2, 3): 2.0, ("middle", 3, 0): 3.0, ("middle", 0, 3): 5.0})
    assert ss.reta(cells)[0] == pytest.approx(15.0 / 20.0)  # 3x7 over 7x7
    assert ss.reta_thesis(cells)[0] == pytest.approx(12.0 / 20.0)  # 3x3 over 7x7
    assert ss.rphi(cells)[0] == pytest.approx(12.0 / 15.0)  # 3x3 over 3x7
    # weta2 on the 3x5 window: (3,3)=10 and (2,3)=2 -> eta offsets 0 and -0.025
    m1 = -0.025 * 2 / 12
    m2 = 0.025**2 * 2 / 12
    assert ss.weta2(cells)[0] == pytest.approx(np.sqrt(m2 - m1**2))


def test_strip_profile_rows_choose_the_energetic_neighbour() -> None:
    cells = shower({("strips", 10, 1): 4.0, ("strips", 10, 0): 1.0, ("strips", 10, 2): 2.0, ("strips", 11, 0): 0.5})
    assert ss.strip_profile(cells, rows=1)[0, 10] == 4.0
    assert ss.strip_profile(cells, rows=2)[0, 10] == 6.0  # row 2 (2.0) beats row 0 (1.5 in total)
    assert ss.strip_profile(cells, rows=2)[0, 11] == 0.0
    assert ss.strip_profile(cells, rows=3)[0].sum() == 7.5
    with pytest.raises(InputError, match="rows"):
        ss.strip_profile(cells, rows=4)


def test_strip_variables_on_a_known_profile() -> None:
    profile = {19: 3.0, 20: 10.0, 21: 4.0, 22: 1.0, 23: 2.0, 24: 0.5}
    cells = shower(strips_row(profile))
    assert ss.emaxs1(cells)[0] == 10.0
    assert ss.e2tsts1(cells)[0] == 2.0  # strip 23: 2 > 1 and 2 >= 0.5
    assert ss.e2tsts1_thesis(cells)[0] == 3.5  # strips 22 + 23 + 24
    assert ss.emins1(cells)[0] == 1.0  # strip 22
    assert ss.delta_e(cells)[0] == 1.0
    assert ss.eratio(cells)[0] == pytest.approx(8.0 / 12.0)
    # weta1 over i_max +- 3 (strips 17..23): sum E = 20, sum E d^2 = 3 + 4 + 4 + 18 = 29
    assert ss.weta1(cells)[0] == pytest.approx(np.sqrt(29.0 / 20.0))
    assert ss.weta1(cells, half_window=1)[0] == pytest.approx(np.sqrt(7.0 / 17.0))
    assert ss.wstot1(cells)[0] == pytest.approx(np.sqrt(37.0 / 20.5))
    assert ss.fracs1(cells)[0] == pytest.approx(3.0 / 17.0)
    assert ss.fracs1_thesis(cells)[0] == pytest.approx(20.0 / 17.0)


def test_no_second_maximum_and_edge_cases() -> None:
    cells = shower(strips_row({30: 5.0, 31: 2.0, 32: 1.0}))
    assert ss.e2tsts1(cells)[0] == 0.0 and ss.emins1(cells)[0] == 0.0 and ss.delta_e(cells)[0] == 0.0
    assert ss.eratio(cells)[0] == 1.0
    # a plateau right of the maximum is not a second maximum; a crop-edge strip can be one
    cells = shower(strips_row({30: 5.0, 31: 2.0, 32: 2.0, 0: 1.0}))
    assert ss.e2tsts1(cells)[0] == 1.0 and ss.emins1(cells)[0] == 0.0
    # ties for the maximum: the first strip is the maximum, the equal later one is the second maximum
    cells = shower(strips_row({10: 4.0, 12: 4.0}))
    assert ss.e2tsts1(cells)[0] == 4.0 and ss.eratio(cells)[0] == 0.0


def test_ecore_windows() -> None:
    deposits = {
        ("presampler", 3, 0): 1.0,
        ("presampler", 0, 1): 100.0,  # second one is outside 3x3
        ("strips", 28, 1): 2.0,
        ("strips", 35, 1): 3.0,
        ("strips", 36, 1): 100.0,  # window 21..35 around 28
        ("middle", 1, 5): 4.0,
        ("middle", 0, 3): 100.0,  # 5x5 is rows/cols 1..5
        ("back", 3, 1): 5.0,
        ("back", 0, 3): 100.0,
        ("back", 2, 0): 100.0,  # e1: eta 1..3, phi 1..5
    }
    cells = shower(deposits)
    assert ss.ecore(cells, np.array([1]), impact_delta_eta=[0.001])[0] == pytest.approx(15.0)
    # e0 moves the Back window to eta 0..2: (3, 1) drops out, (0, 3) enters
    assert ss.ecore(cells, np.array([0]), impact_delta_eta=[0.001])[0] == pytest.approx(110.0)


def test_covariance_maps_and_cell_histogram() -> None:
    rng = np.random.default_rng(0)
    cells = rng.exponential(1.0, (50, 266))
    cov = ss.cell_covariance(cells)
    assert cov.shape == (266, 266)
    np.testing.assert_allclose(cov[5, 7], np.cov(cells[:, 5], cells[:, 7])[0, 1])
    cov_n = ss.cell_covariance(cells, energy=np.full(50, 2.0))
    np.testing.assert_allclose(cov_n, cov / 4.0)
    assert ss.covariance_mse(cov, cov) == 0.0
    assert ss.covariance_mse(np.zeros((2, 2)), np.ones((2, 2))) == 1.0
    maps = ss.cell_moment_maps(cells)
    assert maps["strips"][0].shape == (56, 3)
    np.testing.assert_allclose(maps["back"][1][0, 0], cells[:, 238].std())
    one = shower({("middle", 4, 1): 2.0, ("middle", 0, 0): 1.0, ("back", 2, 3): 3.0})
    h = ss.delta_eta_cell_hist(one, "middle")
    assert h.values().tolist() == [1.0, 0, 0, 0, 2.0, 0, 0]
    hb = ss.delta_eta_cell_hist(one, "back", e=[1])
    assert hb.values().sum() == 3.0 and hb.values()[2] == 3.0  # +0.0125 falls in the bin (-0.025, 0.025)


def test_s_shape_profile_of_known_means() -> None:
    # showers with <eta>_Middle = 0.025 * f where f is the fraction in cell (4, 3)
    fractions = np.array([0.0, 0.5, 0.2, 0.4])
    cells = np.zeros((4, 266))
    lay = LAYERS[2]
    cells[:, lay.offset + 3 * 7 + 3] = 1 - fractions
    cells[:, lay.offset + 4 * 7 + 3] = fractions
    impact = np.array([-0.01, -0.01, 0.01, 0.01])
    prof = ss.s_shape(cells, "middle", impact, bins=2)
    np.testing.assert_allclose(prof.mean, [0.025 * 0.25, 0.025 * 0.3])
    np.testing.assert_allclose(prof.std, [0.025 * 0.25, 0.025 * 0.1])
    np.testing.assert_allclose(prof.error, prof.std / np.sqrt(2))
    np.testing.assert_array_equal(prof.count, [2, 2])
    np.testing.assert_allclose(prof.centres, [-0.00625, 0.00625])


def test_layer_calibration_closure() -> None:
    rng = np.random.default_rng(3)
    cells = np.zeros((40, 266))
    for lay in LAYERS:
        cells[:, lay.offset] = rng.uniform(1, 10, 40)
    true_w = np.array([2.0, 1.0, 1.1, 3.0])
    e_true = ss.layer_energies(cells) @ true_w
    w = ss.fit_layer_weights(cells, e_true)
    np.testing.assert_allclose(w, true_w, rtol=1e-10)
    np.testing.assert_allclose(ss.calibrated_energy(cells, w), e_true)


def test_compute_all_on_a_batch_matches_single_functions() -> None:
    rng = np.random.default_rng(2)
    cells = rng.exponential(1.0, (30, 266)) * (rng.random((30, 266)) < 0.3)
    p = rng.integers(0, 4, 30)
    e = rng.integers(0, 2, 30)
    d_eta = rng.uniform(-0.0125, 0.0125, 30)
    out = ss.compute_all(cells, p, e, d_eta, None, energy=np.full(30, 100.0))
    np.testing.assert_array_equal(out["weta1"], ss.weta1(cells))
    np.testing.assert_array_equal(out["eta_mean_back"], ss.eta_mean(cells, "back", e))
    np.testing.assert_array_equal(out["ecore"], ss.ecore(cells, e, d_eta))
    assert "delta_phi_middle" not in out and "delta_eta_strips" in out
    np.testing.assert_allclose(out["response"], cells.sum(axis=1) / 100.0, rtol=1e-12)
    np.testing.assert_allclose(out["reta"], ss.reta(cells), rtol=0)


def test_bad_cells_raise_input_error() -> None:
    with pytest.raises(InputError, match="266"):
        ss.reta(np.zeros((3, 265)))
    with pytest.raises(InputError, match="non-finite"):
        ss.layer_energies(np.full((1, 266), np.nan))
    with pytest.raises(InputError, match="one value per shower"):
        ss.eta_mean(np.zeros((3, 266)), "back", e=np.array([0, 1]))
    with pytest.raises(InputError, match="half_window"):
        ss.weta1(np.zeros((1, 266)), half_window=-1)
