"""The barrel grids, the 266-cell crop, the p/e alignments and the cell centres relative to the impact cell."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb.calo.geometry import (
    BACK,
    GEOMETRY,
    LAYERS,
    MIDDLE,
    N_CELLS,
    PRESAMPLER,
    STRIPS,
    alignment,
    crop_start,
    impact_cell,
    impact_offsets,
    layer_index,
    wrap_phi,
)
from hepnb.errors import InputError


def test_flat_ordering_and_cell_sizes_follow_spec() -> None:
    assert [(lay.offset, lay.offset + lay.size - 1) for lay in LAYERS] == [(0, 20), (21, 188), (189, 237), (238, 265)]
    assert [(lay.n_eta, lay.n_phi) for lay in LAYERS] == [(7, 3), (56, 3), (7, 7), (4, 7)]
    assert sum(lay.size for lay in LAYERS) == N_CELLS == 266
    assert STRIPS.deta == pytest.approx(0.003125)
    assert BACK.deta == pytest.approx(0.05)
    assert MIDDLE.dphi == pytest.approx(2 * np.pi / 256)
    assert PRESAMPLER.dphi == pytest.approx(2 * np.pi / 64)
    assert [lay.n_phi_global for lay in LAYERS] == [64, 64, 256, 256]


def test_relative_centres_match_the_global_grid_for_random_impacts() -> None:
    """Closure: centres from the tables equal (global crop-cell centre - impact-cell centre) for every cell."""
    rng = np.random.default_rng(5)
    eta = rng.uniform(0.2, 0.25, 300)
    phi = rng.uniform(-np.pi, np.pi, 300)
    m_eta, m_phi = impact_cell(eta, phi)
    p, e = alignment(m_eta, m_phi)
    eta_c, phi_c = GEOMETRY.centres(p, e)
    imp_eta = (m_eta + 0.5) * MIDDLE.deta
    imp_phi = -np.pi + (m_phi + 0.5) * MIDDLE.dphi
    for lay in LAYERS:
        i0, j0 = crop_start(lay, m_eta, m_phi)
        ie, jp = np.meshgrid(np.arange(lay.n_eta), np.arange(lay.n_phi), indexing="ij")
        g_eta = i0[:, None] + ie.ravel()[None, :]
        g_phi = j0[:, None] + jp.ravel()[None, :]
        abs_eta = (g_eta + 0.5) * lay.deta
        abs_phi = -np.pi + (g_phi + 0.5) * lay.dphi
        np.testing.assert_allclose(eta_c[:, lay.slice], abs_eta - imp_eta[:, None], atol=1e-12)
        np.testing.assert_allclose(phi_c[:, lay.slice], wrap_phi(abs_phi - imp_phi[:, None]), atol=1e-12)


def test_back_alignment_follows_the_fig_5_2_caption() -> None:
    """e1: the impact lies in the third of the four Back cells; e0: in the second."""
    eta = np.linspace(0.2001, 0.2499, 97)
    m_eta, m_phi = impact_cell(eta, np.zeros_like(eta))
    _, e = alignment(m_eta, m_phi)
    b0, _ = crop_start("back", m_eta, m_phi)
    position = np.floor(eta / BACK.deta).astype(int) - b0
    assert set(np.unique(e)) == {0, 1}
    np.testing.assert_array_equal(position[e == 1], 2)
    np.testing.assert_array_equal(position[e == 0], 1)
    # a known case: eta = 0.21 is Middle cell 8 (even) -> e1, Back centre of the impact's cell at +0.0125
    assert alignment(*impact_cell([0.21], [0.0]))[1][0] == 1
    eta_c, _ = GEOMETRY.layer_centres("back", 0, 1)
    assert eta_c.reshape(4, 7)[2, 3] == pytest.approx(0.0125)
    eta_c0, _ = GEOMETRY.layer_centres("back", 0, 0)
    assert eta_c0.reshape(4, 7)[1, 3] == pytest.approx(-0.0125)


def test_strip_phi_rows_follow_the_p_configuration() -> None:
    dm = 2 * np.pi / 256
    for p in range(4):
        _, phi_c = GEOMETRY.layer_centres("strips", p, 0)
        rows = phi_c.reshape(56, 3)[0]
        np.testing.assert_allclose(rows, [(1.5 - p - 4) * dm, (1.5 - p) * dm, (5.5 - p) * dm])
    # p is the impact cell's position inside its strip phi cell
    m_eta, m_phi = impact_cell([0.22] * 4, -np.pi + (np.arange(4) + 0.5) * dm)
    np.testing.assert_array_equal(alignment(m_eta, m_phi)[0], [0, 1, 2, 3])


def test_middle_and_strip_eta_centres() -> None:
    eta_c, phi_c = GEOMETRY.centres(2, 1)
    mid = eta_c[MIDDLE.slice].reshape(7, 7)
    assert mid[3, 3] == 0.0 and phi_c[MIDDLE.slice].reshape(7, 7)[3, 3] == 0.0
    assert mid[0, 0] == pytest.approx(-0.075)
    strips = eta_c[STRIPS.slice].reshape(56, 3)[:, 0]
    assert strips[0] == pytest.approx(-27.5 * 0.003125) and strips[55] == pytest.approx(27.5 * 0.003125)


def test_impact_offsets_stay_inside_the_impact_cell_and_wrap_phi() -> None:
    rng = np.random.default_rng(1)
    eta = rng.uniform(0.2, 0.25, 1000)
    phi = rng.uniform(-np.pi, np.pi, 1000)
    d_eta, d_phi = impact_offsets(eta, phi)
    assert np.all(np.abs(d_eta) <= 0.0125 + 1e-12)
    assert np.all(np.abs(d_phi) <= MIDDLE.dphi / 2 + 1e-12)
    # near phi = pi the crop wraps around the circle
    m_eta, m_phi = impact_cell([0.22], [np.pi - 1e-4])
    assert m_phi[0] == 255
    _, j0 = crop_start("middle", m_eta, m_phi)
    assert j0[0] == 252
    _, j0s = crop_start("strips", m_eta, m_phi)
    assert j0s[0] == 62  # strip-phi cells 62, 63, 0


def test_image_and_flatten_round_trip() -> None:
    flat = np.arange(2 * 266, dtype=float).reshape(2, 266)
    images = {lay.name: GEOMETRY.image(flat, lay.name) for lay in LAYERS}
    assert images["strips"].shape == (2, 56, 3)
    assert images["back"][0, 1, 0] == 238 + 7
    np.testing.assert_array_equal(GEOMETRY.flatten(images), flat)


def test_bad_input_raises_input_error() -> None:
    assert layer_index("PS") == 0 and layer_index("front") == 1 and layer_index(BACK) == 3
    with pytest.raises(InputError, match="unknown layer"):
        layer_index("hcal")
    with pytest.raises(InputError, match="p must be in 0..3"):
        GEOMETRY.centres(4, 0)
    with pytest.raises(InputError, match="integers"):
        GEOMETRY.centres(1.5, 0)
    with pytest.raises(InputError, match="mirror"):
        impact_cell([-0.22], [0.0])
    with pytest.raises(InputError, match="266"):
        GEOMETRY.image(np.zeros((3, 10)), "middle")
