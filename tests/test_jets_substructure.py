"""Jet substructure: tau_N against exclusive-kT axes from FastJet, C2/D2 against hand-computed configurations
and FastJet's EnergyCorrelator, and the refusals of bad input."""

from __future__ import annotations

import awkward as ak
import fastjet
import numpy as np
import pytest

from hepnb.errors import InputError
from hepnb.jets.substructure import (
    energy_correlation_ratios,
    energy_correlations,
    nsubjettiness,
    substructure_table,
    tau_ratios,
)


def toy_jets(seed: int, n_jets: int = 40) -> tuple[ak.Array, ak.Array, ak.Array]:
    """Jets of 3-60 particles around 1-3 prongs, with a few straddling phi = +-pi."""
    rng = np.random.default_rng(seed)
    pts, etas, phis = [], [], []
    for _ in range(n_jets):
        n = int(rng.integers(3, 61))
        prongs = rng.normal(0.0, 0.25, size=(int(rng.integers(1, 4)), 2))
        which = rng.integers(0, len(prongs), size=n)
        pts.append(rng.exponential(20.0, size=n) + 0.5)
        etas.append(prongs[which, 0] + rng.normal(0.0, 0.05, size=n))
        phis.append(
            (np.pi * (rng.random() < 0.2) + prongs[which, 1] + rng.normal(0.0, 0.05, size=n) + np.pi) % (2 * np.pi)
            - np.pi
        )
    return ak.Array(pts), ak.Array(etas), ak.Array(phis)


def massless(pt: ak.Array, eta: ak.Array, phi: ak.Array) -> ak.Array:
    return ak.zip({"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pt * np.sinh(eta), "E": pt * np.cosh(eta)})


def rapidity_phi(p: ak.Array) -> tuple[ak.Array, ak.Array]:
    return 0.5 * np.log((p.E + p.pz) / (p.E - p.pz)), np.arctan2(p.py, p.px)


# ---------------------------------------------------------------------------------------------------- N-subjettiness


def test_two_equal_particles_have_hand_computed_taus() -> None:
    # the kT axis of two equal pT particles is their midpoint: tau1 = 2 * 500 * (d / 2) / (1000 * R0), tau2 = 0
    d = 0.3
    taus = nsubjettiness(np.array([[500.0, 500.0]]), np.array([[0.0, d]]), np.zeros((1, 2)), n=(1, 2), r0=0.8)
    np.testing.assert_allclose(taus, [[d / 1.6, 0.0]], atol=1e-12)


def test_three_particles_tau2_from_exclusive_kt_by_hand() -> None:
    # pT (500, 400, 100) at eta (0, 0.5, 0.6): kT merges the two closest soft-weighted ones, (2, 3), first
    pt, eta = np.array([[500.0, 400.0, 100.0]]), np.array([[0.0, 0.5, 0.6]])
    rap = 0.5 * np.log((400 * np.exp(0.5) + 100 * np.exp(0.6)) / (400 * np.exp(-0.5) + 100 * np.exp(-0.6)))
    expected_tau2 = (400 * abs(0.5 - rap) + 100 * abs(0.6 - rap)) / (1000 * 0.8)
    taus = nsubjettiness(pt, eta, np.zeros((1, 3)), n=(2, 3), axes="kt")
    np.testing.assert_allclose(taus, [[expected_tau2, 0.0]], rtol=1e-12, atol=1e-15)


def test_tau21_separates_two_prong_from_one_prong_toys() -> None:
    # two hard, well-separated prongs with a little soft radiation each
    two = (
        np.array([[480.0, 470.0, 10, 10, 10, 10]]),
        np.array([[0.0, 0.5, 0.05, -0.04, 0.52, 0.46]]),
        np.array([[0.0, 0.1, 0.03, -0.02, 0.12, 0.06]]),
    )
    # one hard core and the same amount of soft radiation spread around it
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    one = (
        np.array([[900.0, *[12.5] * 8]]),
        np.array([[0.0, *(0.3 * np.cos(angles))]]),
        np.array([[0.0, *(0.3 * np.sin(angles))]]),
    )
    tau21_two = tau_ratios(*two)[0, 0]
    tau21_one = tau_ratios(*one)[0, 0]
    assert tau21_two < 0.1 < 0.5 < tau21_one


# FastJet 3.5.2's Python layer warns about exclusive jets for every algorithm (it compares a JetDefinition with
# the algorithm names), kt included
@pytest.mark.filterwarnings("ignore:dcut and exclusive jets:UserWarning")
def test_taus_equal_sums_over_fastjet_exclusive_kt_axes() -> None:
    pt, eta, phi = toy_jets(seed=3)
    r0 = 0.8
    taus = nsubjettiness(pt, eta, phi, n=(1, 2, 3), r0=r0, axes="kt")
    sequence = fastjet.ClusterSequence(massless(pt, eta, phi), fastjet.JetDefinition(fastjet.kt_algorithm, 1000.0))
    for column, n in enumerate((1, 2, 3)):
        axis_rap, axis_phi = rapidity_phi(sequence.exclusive_jets(n_jets=n, dcut=-1))
        d_eta = eta[:, :, None] - axis_rap[:, None, :]
        d_phi = (phi[:, :, None] - axis_phi[:, None, :] + np.pi) % (2 * np.pi) - np.pi
        nearest = ak.min(np.sqrt(d_eta**2 + d_phi**2), axis=-1)
        expected = ak.to_numpy(ak.sum(pt * nearest, axis=1) / (ak.sum(pt, axis=1) * r0))
        np.testing.assert_allclose(taus[:, column], expected, rtol=1e-9, atol=1e-12)
    assert taus[:, 1].max() > 0.01  # the comparison is not between zeros


def test_onepass_axes_never_do_worse_than_exclusive_kt() -> None:
    pt, eta, phi = toy_jets(seed=4)
    kt = nsubjettiness(pt, eta, phi, axes="kt")
    onepass = nsubjettiness(pt, eta, phi, axes="onepass_kt")
    assert np.all(onepass <= kt + 1e-12)
    assert np.any(onepass < kt - 1e-6)


def test_one_particle_jet_has_undefined_ratios_and_padding_is_ignored() -> None:
    pt = np.array([[100.0, 0.0, 0.0], [60.0, 40.0, 0.0]])
    eta = np.array([[0.1, 5.0, -3.0], [0.0, 0.2, 7.0]])  # padding coordinates are arbitrary
    phi = np.zeros((2, 3))
    ratios = tau_ratios(pt, eta, phi)
    assert np.isnan(ratios[0]).all()
    assert ratios[1, 0] == 0.0 and np.isnan(ratios[1, 1])  # tau2 = 0 for two particles; tau32 = 0 / 0
    np.testing.assert_allclose(
        nsubjettiness(pt[1:], eta[1:], phi[1:]),
        nsubjettiness(ak.Array([[60.0, 40.0]]), ak.Array([[0.0, 0.2]]), ak.Array([[0.0, 0.0]])),
    )


# ------------------------------------------------------------------------------------------ energy correlations

SIDE = 0.3
TRIANGLE = (
    np.array([[1.0, 1.0, 1.0]]),
    np.array([[0.0, SIDE, SIDE / 2]]),
    np.array([[0.0, 0.0, SIDE * np.sqrt(3) / 2]]),
)


def test_two_particles_have_no_three_point_correlation() -> None:
    e2, e3 = energy_correlations(np.array([[3.0, 1.0]]), np.array([[0.0, 0.4]]), np.zeros((1, 2)))[0]
    assert e2 == pytest.approx(3 * 1 * 0.4 / 16, rel=1e-14) and e3 == 0.0
    np.testing.assert_array_equal(
        energy_correlation_ratios(np.array([[3.0, 1.0]]), np.array([[0.0, 0.4]]), np.zeros((1, 2))), [[0.0, 0.0]]
    )


def test_equilateral_triangle_by_hand() -> None:
    # e2 = 3 d / 9, e3 = d^3 / 27: C2 = e3 / e2^2 = d / 3 and D2 = e3 / e2^3 = 1 for any side d
    np.testing.assert_allclose(energy_correlations(*TRIANGLE), [[SIDE / 3, SIDE**3 / 27]], rtol=1e-13)
    np.testing.assert_allclose(energy_correlation_ratios(*TRIANGLE), [[SIDE / 3, 1.0]], rtol=1e-13)


def test_triangle_across_phi_pi_and_rescaled_gives_the_same() -> None:
    pt, eta, phi = TRIANGLE
    moved = (pt * 250.0, eta + 1.3, (phi + np.pi - 0.1 + np.pi) % (2 * np.pi) - np.pi)  # straddles +-pi
    assert np.ptp(moved[2]) > np.pi
    np.testing.assert_allclose(energy_correlation_ratios(*moved), [[SIDE / 3, 1.0]], rtol=1e-12)


@pytest.mark.parametrize(
    ("beta", "e2", "e3"),
    [
        # pT (2, 1, 1) at eta (0, 0.1, 0.3): dR12 = 0.1, dR13 = 0.3, dR23 = 0.2, sum pT = 4
        (1.0, (2 * 0.1 + 2 * 0.3 + 0.2) / 16, 2 * (0.1 * 0.3 * 0.2) / 64),
        (2.0, (2 * 0.01 + 2 * 0.09 + 0.04) / 16, 2 * (0.01 * 0.09 * 0.04) / 64),
    ],
)
def test_collinear_three_particles_by_hand(beta: float, e2: float, e3: float) -> None:
    args = (np.array([[2.0, 1.0, 1.0]]), np.array([[0.0, 0.1, 0.3]]), np.zeros((1, 3)))
    np.testing.assert_allclose(energy_correlations(*args, beta=beta), [[e2, e3]], rtol=1e-13)
    np.testing.assert_allclose(energy_correlation_ratios(*args, beta=beta), [[e3 / e2**2, e3 / e2**3]], rtol=1e-13)
    if beta == 1.0:
        np.testing.assert_allclose(energy_correlation_ratios(*args), [[0.048, 0.768]], rtol=1e-13)


def test_c2_d2_match_fastjet_energy_correlator() -> None:
    pt, eta, phi = toy_jets(seed=5, n_jets=60)  # 3 to 60 particles: several width groups
    ours = energy_correlation_ratios(pt, eta, phi)
    sequence = fastjet.ClusterSequence(massless(pt, eta, phi), fastjet.JetDefinition(fastjet.kt_algorithm, 1000.0))
    for column, func in enumerate(("c2", "d2")):
        theirs = ak.to_numpy(sequence.exclusive_jets_energy_correlator(njets=1, func=func, beta=1.0))
        np.testing.assert_allclose(ours[:, column], theirs, rtol=1e-10)


def test_ragged_and_padded_inputs_agree() -> None:
    pt, eta, phi = toy_jets(seed=6, n_jets=10)
    padded = [ak.to_numpy(ak.fill_none(ak.pad_none(a, 60, axis=1), 0.0)) for a in (pt, eta, phi)]
    np.testing.assert_allclose(energy_correlations(*padded), energy_correlations(pt, eta, phi), rtol=1e-13)
    table = substructure_table(pt, eta, phi)
    assert set(table) == {"tau1", "tau2", "tau3", "tau21", "tau32", "e2", "e3", "c2", "d2"}
    np.testing.assert_allclose(table["tau21"], tau_ratios(*padded)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(table["d2"], energy_correlation_ratios(*padded)[:, 1], rtol=1e-12)


def test_table_in_blocks_equals_the_single_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    import hepnb.jets.substructure as module

    pt, eta, phi = toy_jets(seed=7, n_jets=40)
    monkeypatch.setattr(module, "_TABLE_BLOCK", 7)  # 6 blocks, the last one short
    table = substructure_table(pt, eta, phi, progress=False)
    np.testing.assert_array_equal(
        np.stack([table["tau1"], table["tau2"], table["tau3"]], axis=-1), nsubjettiness(pt, eta, phi)
    )
    np.testing.assert_allclose(
        np.stack([table["c2"], table["d2"]], axis=-1), energy_correlation_ratios(pt, eta, phi), rtol=1e-14
    )
    np.testing.assert_array_equal(np.stack([table["tau21"], table["tau32"]], axis=-1), tau_ratios(pt, eta, phi))


# ------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("pt", "eta", "message"),
    [
        (np.ones((2, 3)), np.ones((2, 4)), "same shape"),
        (ak.Array([[1.0, 2.0], [1.0]]), ak.Array([[0.0, 0.1], [0.0, 0.2]]), "same shape"),
        (np.array([[1.0, np.nan]]), np.zeros((1, 2)), "non-finite"),
        (np.array([[1.0, -2.0]]), np.zeros((1, 2)), "negative"),
        (np.ones(3), np.zeros(3), "2-dimensional"),
    ],
)
def test_bad_constituents_are_refused(pt, eta, message) -> None:
    phi = ak.zeros_like(eta) if isinstance(eta, ak.Array) else np.zeros_like(eta)
    for function in (energy_correlations, nsubjettiness):
        with pytest.raises(InputError, match=message):
            function(pt, eta, phi)


def test_bad_options_are_refused() -> None:
    args = TRIANGLE
    with pytest.raises(InputError, match="axes must be one of"):
        nsubjettiness(*args, axes="wta")
    with pytest.raises(InputError, match="beta must be a positive number"):
        energy_correlations(*args, beta=0.0)
    with pytest.raises(InputError, match="n must be a non-empty list"):
        nsubjettiness(*args, n=(0, 1))
    with pytest.raises(InputError, match="r0 must be a positive radius"):
        nsubjettiness(*args, r0=-1.0)
