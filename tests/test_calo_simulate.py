"""The parametric shower simulator: determinism, file round trip, and the validation gates of the stand-in simulator."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb.calo import shower_shapes as ss
from hepnb.calo.geometry import GEOMETRY, MIDDLE
from hepnb.calo.simulate import (
    DEFAULT_NOISE_MEV,
    ENERGIES_MEV,
    EXTRAPOLATION_ENERGY_MEV,
    INTERPOLATION_ENERGY_MEV,
    ShowerModel,
    Showers,
    add_noise,
    extrapolation_dataset,
    interpolation_dataset,
    per_cell_noise,
    simulate,
    standard_dataset,
)
from hepnb.errors import InputError

E65 = 65536.0


@pytest.fixture(scope="module")
def showers1() -> Showers:
    return simulate(3000, [1024.0], seed=12)


def test_energies_and_thesis_counts() -> None:
    np.testing.assert_array_equal(ENERGIES_MEV, 2.0 ** np.arange(10, 19))
    small = standard_dataset(fraction=0.001, seed=3)
    counts = [int(np.sum(small.energy == e)) for e in ENERGIES_MEV]
    assert counts == [10] * 7 + [9] * 2
    assert np.all((np.abs(small.eta) >= 0.2) & (np.abs(small.eta) <= 0.25))
    assert np.all((small.phi >= -np.pi) & (small.phi < np.pi))
    assert INTERPOLATION_ENERGY_MEV == 25000.0 and EXTRAPOLATION_ENERGY_MEV == 524288.0
    assert np.all(interpolation_dataset(5).energy == INTERPOLATION_ENERGY_MEV)
    assert np.all(extrapolation_dataset(5).energy == EXTRAPOLATION_ENERGY_MEV)


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    a = simulate(40, [2048.0, E65], seed=7)
    b = simulate(40, [2048.0, E65], seed=7)
    c = simulate(40, [2048.0, E65], seed=8)
    assert a.cells.dtype == np.float32 and a.cells.shape == (80, 266)
    assert a.cells.tobytes() == b.cells.tobytes()
    assert a.layer_energy.tobytes() == b.layer_energy.tobytes() and a.phi.tobytes() == b.phi.tobytes()
    assert not np.array_equal(a.cells, c.cells)


def test_identical_conditions_give_different_showers() -> None:
    s = simulate(200, [E65], seed=1, eta=np.full(200, 0.2213), phi=np.full(200, 0.4321))
    assert len(np.unique(s.p)) == 1 and len(np.unique(s.e)) == 1 and np.ptp(s.delta_eta) == 0
    mid = GEOMETRY.image(s.cells, "middle")[:, 3, 3]
    assert len(np.unique(s.cells, axis=0)) == 200
    assert np.std(mid) / np.mean(mid) > 0.01
    strip_fraction = ss.f1(s.cells, s.energy)
    assert np.std(strip_fraction) > 0.04  # longitudinal fluctuations (conversion depth, T, alpha)


def test_conditions_are_consistent_with_the_geometry(showers65: Showers) -> None:
    s = showers65
    assert np.all(np.abs(s.delta_eta) <= 0.0125 + 1e-12) and np.all(np.abs(s.delta_phi) <= MIDDLE.dphi / 2 + 1e-12)
    np.testing.assert_array_equal(s.p, s.impact_phi_index % 4)
    np.testing.assert_array_equal(s.e, (s.impact_eta_index + 1) % 2)
    centre = (s.impact_eta_index + 0.5) * MIDDLE.deta
    np.testing.assert_allclose(np.abs(s.eta) - centre, s.delta_eta, atol=1e-12)
    assert set(np.unique(s.p)) == {0, 1, 2, 3} and set(np.unique(s.e)) == {0, 1}


def test_gate_resolution_and_anticorrelated_layers_at_65_gev(showers65: Showers) -> None:
    """Spec 9.5.1: total resolution of ATLAS size while Strips and Middle each fluctuate by several % of E."""
    el = ss.layer_energies(showers65.cells) / E65
    resolution = np.std(el.sum(axis=1)) / np.mean(el.sum(axis=1))
    assert 0.011 < resolution < 0.019
    assert np.std(el[:, 1]) > 0.05 and np.std(el[:, 2]) > 0.05
    assert np.corrcoef(el[:, 1], el[:, 2])[0, 1] < -0.9


def test_gate_layer_fractions_at_65_gev(showers65: Showers) -> None:
    """Spec 8.2 / 9.5.5: Geant4 fractions 0.7 / 17.2 / 79.3 / 0.4 % of E_true, sum about 97-98 %."""
    frac = 100 * ss.layer_fractions(showers65.cells, showers65.energy).mean(axis=0)
    assert frac[0] == pytest.approx(0.7, abs=0.2)
    assert frac[1] == pytest.approx(17.2, abs=1.0)
    assert frac[2] == pytest.approx(79.3, abs=1.0)
    assert frac[3] == pytest.approx(0.4, abs=0.15)
    assert 96.5 < frac.sum() < 98.5


def test_gate_containment_in_the_crop(showers65: Showers) -> None:
    """99 % of the deposit (before cropping) lies in the 266 cells."""
    containment = showers65.cells.astype(float).sum() / showers65.layer_energy.astype(float).sum()
    assert 0.99 <= containment <= 1.0
    centre = GEOMETRY.image(showers65.cells, "middle")[:, 3, 3].mean() / E65
    assert 0.3 < centre < 0.7  # dynamic range: the central Middle cell holds about half of E


def test_gate_resolution_over_energy(showers1: Showers) -> None:
    def resolution(s: Showers) -> float:
        total = s.cells.astype(float).sum(axis=1)
        return float(np.std(total) / np.mean(total))

    assert 0.08 < resolution(showers1) < 0.14
    assert 0.006 < resolution(simulate(1500, [262144.0], seed=13)) < 0.014


def test_gate_energy_dependence_of_depth() -> None:
    fracs = [ss.layer_fractions(simulate(600, [e], seed=2).cells).mean(axis=0) for e in (4096.0, E65, 262144.0)]
    strips = [f[1] for f in fracs]
    back = [f[3] for f in fracs]
    assert strips[0] > strips[1] > strips[2]
    assert back[0] < back[1] < back[2]


def test_gate_alignment_effects_are_visible(showers65: Showers) -> None:
    s = showers65
    dm = MIDDLE.dphi
    phi_strip = ss.phi_mean(s.cells, "strips", s.p)
    width_strip = ss.phi_width(s.cells, "strips", s.p)
    means = [phi_strip[s.p == p].mean() for p in range(4)]
    widths = [width_strip[s.p == p].mean() for p in range(4)]
    assert means[0] > means[1] > means[2] > means[3]
    assert means[1] == pytest.approx(0.5 * dm, rel=0.2) and means[2] == pytest.approx(-0.5 * dm, rel=0.2)
    assert min(widths[0], widths[3]) > 2 * max(widths[1], widths[2])
    back_rows = GEOMETRY.image(s.cells, "back").sum(axis=2)
    assert np.argmax(back_rows[s.e == 1].mean(axis=0)) == 2
    assert np.argmax(back_rows[s.e == 0].mean(axis=0)) == 1
    eta_back = ss.eta_mean(s.cells, "back", s.e)
    assert np.median(eta_back[s.e == 1]) - np.median(eta_back[s.e == 0]) > 0.004


def test_gate_s_shape_emerges_in_the_middle_layer(showers65: Showers) -> None:
    prof = ss.s_shape(showers65.cells, "middle", showers65.delta_eta, bins=10)
    assert np.all(np.diff(prof.mean) > 0)
    central_slope = (prof.mean[6] - prof.mean[3]) / (prof.centres[6] - prof.centres[3])
    edge_slope = (prof.mean[1] - prof.mean[0]) / (prof.centres[1] - prof.centres[0])
    assert central_slope < 0.8 < 1.0 < edge_slope


def test_gate_sparsity_and_exact_zeros(showers1: Showers, showers65: Showers) -> None:
    for s in (showers1, showers65):
        assert np.all(s.cells >= 0)
        assert np.mean(s.cells == 0) > 0.4
    empty = ss.empty_layers(showers1.cells).mean(axis=0)
    assert empty[0] > 0.05 and empty[3] > 0.2  # empty PS (late conversion) and Back at 1 GeV
    er = ss.eratio(showers65.cells)
    assert 0.02 < np.mean(er < 0.9) < 0.5  # a significant second strip maximum in a minority of showers


def test_noise_is_gaussian_with_the_layer_sigmas() -> None:
    clean = simulate(300, [E65], seed=4)
    noisy = simulate(300, [E65], seed=4, noise=True)
    residual = noisy.cells.astype(float) - clean.cells
    for lay, name in zip(range(4), DEFAULT_NOISE_MEV):
        sl = GEOMETRY.layers[lay].slice
        assert np.std(residual[:, sl]) == pytest.approx(DEFAULT_NOISE_MEV[name], rel=0.06)
    assert np.any(noisy.cells < 0)
    same = add_noise(clean.cells, [0, 0, 0, 0], seed=1)
    np.testing.assert_array_equal(same, clean.cells)
    # float64 draws the same noise without the float32 rounding; the sigma of each cell is its layer's
    wide = add_noise(clean.cells, seed=1, dtype=np.float64)
    assert wide.dtype == np.float64 and np.array_equal(wide.astype(np.float32), add_noise(clean.cells, seed=1))
    sigma = per_cell_noise()
    for lay, name in zip(range(4), DEFAULT_NOISE_MEV):
        assert np.all(sigma[GEOMETRY.layers[lay].slice] == DEFAULT_NOISE_MEV[name])


def test_dead_and_negative_cells() -> None:
    base = simulate(200, [E65], seed=5)
    dead = simulate(200, [E65], seed=5, dead_cell_rate=1.0)
    core = GEOMETRY.image(dead.cells, "middle")[:, 2:5, 2:5].reshape(200, 9)
    assert np.all((core == 0).sum(axis=1) == 1)
    assert np.all(GEOMETRY.image(base.cells, "middle")[:, 2:5, 2:5] > 0)
    neg = simulate(200, [E65], seed=5, negative_cell_rate=0.05, clip_negative=False)
    assert 0.01 < np.mean(neg.cells < 0) < 0.05
    clipped = simulate(200, [E65], seed=5, negative_cell_rate=0.05)
    assert np.all(clipped.cells >= 0)


def test_raw_real_mismatch_shifts_phi_per_half() -> None:
    shift = 0.01
    s = simulate(1500, [E65], seed=6, both_halves=True, phi_mismatch=(shift, -shift))
    assert set(np.unique(s.half)) == {-1, 1}
    assert np.all(np.sign(s.eta) == s.half)
    d_phi = ss.delta_phi(s.cells, "middle", s.delta_phi)
    assert d_phi[s.half > 0].mean() == pytest.approx(-shift, abs=0.002)
    assert d_phi[s.half < 0].mean() == pytest.approx(shift, abs=0.002)
    plain = simulate(1500, [E65], seed=6)
    assert abs(ss.delta_phi(plain.cells, "middle", plain.delta_phi).mean()) < 0.001


def test_npz_round_trip_and_clear_errors(tmp_path, showers1: Showers) -> None:
    small = showers1.subset(np.arange(50))
    path = small.to_npz(tmp_path / "showers.npz")
    back = Showers.from_npz(path)
    for name in ("cells", "energy", "eta", "phi", "p", "e", "delta_eta", "layer_energy", "half"):
        np.testing.assert_array_equal(getattr(back, name), getattr(small, name))
    assert back.cells.dtype == np.float32
    assert not list(tmp_path.glob(".*tmp"))
    with pytest.raises(InputError, match="no shower file"):
        Showers.from_npz(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(InputError, match="corrupt"):
        Showers.from_npz(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(InputError, match="missing arrays"):
        Showers.from_npz(other)


def test_showers_helpers(showers1: Showers) -> None:
    part = showers1.subset(showers1.p == 0)
    joined = Showers.concatenate([part, part])
    assert len(joined) == 2 * len(part)
    np.testing.assert_allclose(part.normalised * part.energy[:, None], part.cells, rtol=1e-6)
    with pytest.raises(InputError, match="266"):
        Showers(
            **{
                **{
                    k: getattr(part, k)
                    for k in (
                        "energy",
                        "eta",
                        "phi",
                        "p",
                        "e",
                        "delta_eta",
                        "delta_phi",
                        "impact_eta_index",
                        "impact_phi_index",
                        "half",
                        "layer_energy",
                    )
                },
                "cells": np.zeros((len(part), 10)),
            }
        )


def test_bad_arguments_raise_input_error() -> None:
    with pytest.raises(InputError, match="MeV"):
        simulate(10, [65.5])
    with pytest.raises(InputError, match="n_per_energy"):
        simulate(-1, [E65])
    with pytest.raises(InputError, match="n_per_energy"):
        simulate([1, 2], [E65])
    with pytest.raises(InputError, match="seed"):
        simulate(1, [E65], seed=-3)
    with pytest.raises(InputError, match="dead_cell_rate"):
        simulate(1, [E65], dead_cell_rate=2.0)
    with pytest.raises(InputError, match="one entry per shower"):
        simulate(3, [E65], eta=[0.21])
    with pytest.raises(InputError, match="presampler_x0"):
        ShowerModel(presampler_x0=(2.0, 4.0))
    with pytest.raises(InputError, match="sigma_mev"):
        add_noise(np.zeros((2, 266)), {"hcal": 3.0})
    with pytest.raises(InputError, match="four values"):
        add_noise(np.zeros((2, 266)), [1.0, 2.0])
    with pytest.raises(InputError, match="finite and >= 0"):
        per_cell_noise({"strips": -1.0})
    with pytest.raises(InputError, match="a mapping layer -> MeV or four numbers"):
        per_cell_noise(50.0)
    with pytest.raises(InputError, match="must be numbers in MeV"):
        per_cell_noise({"middle": "x"})
