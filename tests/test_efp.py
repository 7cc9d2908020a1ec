"""Energy-flow polynomials: hand-computed jets, brute-force sums, the multigraph count, invariances and masking."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from hepnb.errors import InputError
from hepnb.metrics.efp import Multigraph, efp_graphs, energy_flow_polynomials, w1efp_graphs
from hepnb.metrics.particle_clouds import angular_distances, jet_mass, particle_cloud


def graph(*edges: tuple[int, int]) -> Multigraph:
    """The enumerated graph isomorphic to the one with these edges (any vertex labels)."""
    n = 1 + max((v for e in edges for v in e), default=0)
    wanted = Counter(tuple(sorted(e)) for e in edges)
    for candidate in efp_graphs(4):
        if candidate.n_vertices != n or candidate.n_edges != len(edges):
            continue
        for p in itertools.permutations(range(n)):
            if Counter(tuple(sorted((p[a], p[b]))) for a, b in candidate.edges) == wanted:
                return candidate
    raise AssertionError(f"no graph isomorphic to {edges} among efp_graphs(4)")


def random_jets(n_jets: int, n_particles: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eta_phi = rng.normal(0.0, 0.2, (n_jets, n_particles, 2))
    pt = rng.exponential(1.0, (n_jets, n_particles, 1))
    return np.concatenate([eta_phi, pt / pt.sum(axis=1, keepdims=True)], axis=-1)


def brute_force(jet: np.ndarray, g: Multigraph, beta: float = 1.0) -> float:
    """sum over every assignment of particles to the vertices of prod z * prod theta^beta, by explicit indexing."""
    z = jet[:, 2]
    theta = angular_distances(jet[:, 0], jet[:, 1]) ** beta
    assignments = np.array(list(itertools.product(range(len(z)), repeat=g.n_vertices)))
    terms = np.prod(z[assignments], axis=1)
    for a, b in g.edges:
        terms = terms * theta[assignments[:, a], assignments[:, b]]
    return float(terms.sum())


# --------------------------------------------------------------------------------------------- the multigraphs
def test_multigraph_counts_match_the_published_efp_counting() -> None:
    # arXiv:1712.07124 table 1 (OEIS A050535, A076864): multigraphs with d = 1..4 edges 1, 3, 8, 23, of which
    # connected 1, 2, 5, 12: 35 (+ the d = 0 single vertex = 36, JetNet's FPD features), 20 connected with d >= 1
    graphs = efp_graphs(4)
    by_d = Counter(g.n_edges for g in graphs)
    connected_by_d = Counter(g.n_edges for g in graphs if g.connected)
    assert [by_d[d] for d in range(5)] == [1, 1, 3, 8, 23]
    assert [connected_by_d[d] for d in range(5)] == [1, 1, 2, 5, 12]
    assert len(graphs) == 36 and sum(connected_by_d[d] for d in range(1, 5)) == 20
    assert [len(efp_graphs(d)) for d in range(4)] == [1, 2, 5, 13]


def test_no_two_enumerated_graphs_are_isomorphic() -> None:
    # isomorphic multigraphs give equal EFPs on every jet; non-isomorphic ones differ on a generic jet
    values = np.sort(energy_flow_polynomials(random_jets(1, 5, seed=3))[0])
    assert np.all(np.diff(values) > 1e-9 * values[1:])


def test_w1efp_set_is_the_five_connected_graphs_with_four_vertices_and_four_edges() -> None:
    graphs = w1efp_graphs()
    assert len(graphs) == 5
    assert all(g.connected and g.n_vertices == 4 and g.n_edges == 4 for g in graphs)
    square = graph((0, 1), (0, 2), (1, 3), (2, 3))
    assert square in graphs


# ---------------------------------------------------------------------------------------- hand-computed jets
def test_two_particle_jet_by_hand() -> None:
    z1, z2, theta = 0.7, 0.3, 0.5
    jet = np.array([[[0.3, 0.1, z1], [-0.1, -0.2, z2]]])  # DeltaR = sqrt(0.4^2 + 0.3^2) = 0.5
    dot, line = graph(), graph((0, 1))
    double, path = graph((0, 1), (0, 1)), graph((0, 1), (1, 2))
    values = energy_flow_polynomials(jet, graphs=[dot, line, double, path])[0]
    assert values == pytest.approx(
        [z1 + z2, 2 * z1 * z2 * theta, 2 * z1 * z2 * theta**2, z1 * z2 * (z1 + z2) * theta**2], rel=1e-12
    )
    # beta = 2: the d = 1 EFP is sum_ij z_i z_j theta_ij^2
    beta2 = energy_flow_polynomials(jet, graphs=[line], beta=2.0)[0, 0]
    assert beta2 == pytest.approx(2 * z1 * z2 * theta**2, rel=1e-12)


def test_three_particle_jet_by_hand() -> None:
    z = np.array([0.5, 0.3, 0.2])
    jet = np.array([[[0.0, 0.0, z[0]], [0.3, 0.0, z[1]], [0.0, 0.4, z[2]]]])  # a 3-4-5 triangle
    t12, t13, t23 = 0.3, 0.4, 0.5
    line = 2 * (z[0] * z[1] * t12 + z[0] * z[2] * t13 + z[1] * z[2] * t23)  # = 0.23
    triangle = 6 * z.prod() * t12 * t13 * t23  # only distinct particles: theta_ii = 0
    two_lines = graph((0, 1), (2, 3))
    values = energy_flow_polynomials(jet, graphs=[graph((0, 1)), graph((0, 1), (0, 2), (1, 2)), two_lines])[0]
    assert (line, triangle) == pytest.approx((0.23, 0.0108), rel=1e-12)  # the numbers by hand
    assert values == pytest.approx([line, triangle, line**2], rel=1e-12)  # a disconnected EFP is a product


def test_d0_efp_is_the_pt_sum_and_one_when_normalised() -> None:
    jets = random_jets(20, 6, seed=1)
    jets[..., 2] *= 0.8  # the stored particles carry 80 % of the jet pT
    dot = [efp_graphs(0)[0]]
    assert energy_flow_polynomials(jets, graphs=dot)[:, 0] == pytest.approx(np.full(20, 0.8), rel=1e-12)
    assert energy_flow_polynomials(jets, graphs=dot, normed=True)[:, 0] == pytest.approx(np.ones(20), rel=1e-12)


def test_every_graph_matches_the_brute_force_sum() -> None:
    jets = random_jets(2, 4, seed=2)
    graphs = efp_graphs(4)
    for beta in (1.0, 0.5):
        values = energy_flow_polynomials(jets, graphs=graphs, beta=beta)
        expected = [[brute_force(jet, g, beta) for g in graphs] for jet in jets]
        np.testing.assert_allclose(values, expected, rtol=1e-10)


# ------------------------------------------------------------------------------------------------ invariances
def test_permutation_invariance() -> None:
    jets = random_jets(10, 8, seed=4)
    shuffled = jets[:, np.random.default_rng(5).permutation(8)]
    np.testing.assert_allclose(energy_flow_polynomials(shuffled), energy_flow_polynomials(jets), rtol=1e-10)


def test_energy_degree_and_collinear_safety() -> None:
    jets = random_jets(5, 6, seed=6)
    graphs = efp_graphs(4)
    values = energy_flow_polynomials(jets)
    scaled = jets.copy()
    scaled[..., 2] *= 3.0
    n = np.array([g.n_vertices for g in graphs])
    np.testing.assert_allclose(energy_flow_polynomials(scaled), values * 3.0**n, rtol=1e-10)
    np.testing.assert_allclose(
        energy_flow_polynomials(scaled, normed=True), energy_flow_polynomials(jets, normed=True), rtol=1e-10
    )
    # a collinear split of the first particle into 1/4 + 3/4 changes no EFP (and no mass)
    split = np.concatenate([jets, jets[:, :1]], axis=1)
    split[:, 0, 2] *= 0.25
    split[:, -1, 2] *= 0.75
    np.testing.assert_allclose(energy_flow_polynomials(split), values, rtol=1e-10)
    np.testing.assert_allclose(jet_mass(split), jet_mass(jets), rtol=1e-10)


def test_masked_and_padded_particles_contribute_nothing() -> None:
    jets = random_jets(6, 5, seed=7)
    values = energy_flow_polynomials(jets)
    padded = np.concatenate([jets, np.zeros((6, 3, 3))], axis=1)
    np.testing.assert_allclose(energy_flow_polynomials(padded), values, rtol=1e-12)
    # junk particles switched off by the 4th feature, or by an explicit mask, are ignored
    junk = np.concatenate([jets, np.full((6, 2, 3), 0.7)], axis=1)
    mask = np.r_[np.ones(5), np.zeros(2)][None].repeat(6, axis=0)
    np.testing.assert_allclose(
        energy_flow_polynomials(np.concatenate([junk, mask[..., None]], axis=-1)), values, rtol=1e-12
    )
    np.testing.assert_allclose(energy_flow_polynomials(junk, mask), values, rtol=1e-12)
    np.testing.assert_allclose(energy_flow_polynomials(junk, mask[..., None]), values, rtol=1e-12)
    assert particle_cloud(padded).mask.sum() == 30


def test_jet_mass_by_hand() -> None:
    # two massless particles of pT 1/2 at eta = +-a, phi = 0: E = cosh a, p = (1, 0, 0), m = sinh a
    a = 0.4
    assert jet_mass([[[a, 0.0, 0.5], [-a, 0.0, 0.5], [0.0, 0.0, 0.0]]])[0] == pytest.approx(np.sinh(a), rel=1e-12)
    # back to back in phi at eta = 0: m^2 = 2 pT1 pT2 (1 - cos pi) = 4 pT1 pT2
    assert jet_mass([[[0.0, 0.0, 0.3], [0.0, np.pi, 0.2]]])[0] == pytest.approx(np.sqrt(4 * 0.06), rel=1e-12)


# ---------------------------------------------------------------------------------------------------- errors
def test_bad_inputs_raise_clear_errors() -> None:
    jets = random_jets(3, 4, seed=8)
    with pytest.raises(InputError, match=r"\[N_jets, N_particles, 3 or 4\]"):
        energy_flow_polynomials(jets[0])
    negative = jets.copy()
    negative[0, 0, 2] = -0.1
    with pytest.raises(InputError, match="negative pT"):
        energy_flow_polynomials(negative)
    with pytest.raises(InputError, match="mask of jets"):
        energy_flow_polynomials(jets, np.ones((3, 5)))
    with pytest.raises(InputError, match="Multigraph"):
        energy_flow_polynomials(jets, graphs=[((0, 1),)])
    with pytest.raises(InputError, match="beta and kappa"):
        energy_flow_polynomials(jets, beta=0.0)
    with pytest.raises(InputError, match="no pT to normalise"):
        energy_flow_polynomials(np.zeros((2, 3, 3)), normed=True)
    with pytest.raises(InputError, match="max_edges"):
        efp_graphs(5)
    with pytest.raises(InputError, match="non-finite"):
        energy_flow_polynomials(np.full((2, 3, 3), np.nan))
