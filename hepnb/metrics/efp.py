"""Energy-flow polynomials (EFPs) of particle clouds, for every multigraph with at most 4 edges.

An EFP (Komiske, Metodiev and Thaler, arXiv:1712.07124, eq. 2.9) is indexed by a multigraph G with vertices
1..n and edges (k, l)::

    EFP_G = sum_{i_1..i_n} z_{i_1} ... z_{i_n} prod_{(k, l) in G} theta_{i_k i_l}

with ``z_i = pT_i^kappa`` and ``theta_ij = DeltaR_ij^beta`` (the hadronic measure, ``theta`` in (eta, phi); see
:mod:`hepnb.metrics.particle_clouds`). The graph without edges is the single vertex, ``EFP = sum_i z_i``. The EFP of
a disconnected graph is the product of those of its connected components.

Conventions, those of JetNet's ``jetnet.utils.efps`` (``EFPSet(..., measure='hadr', beta=1, normed=None,
coords='ptyphim')``): kappa = 1, beta = 1 and **unnormalised** energies (``normed=None`` is false in energyflow's
``Measure``), so with JetNet's ``pT_rel`` the d = 0 EFP is the pT fraction the stored particles carry (1 when all
constituents are kept). ``normed=True`` divides by ``(sum_i pT_i)^kappa`` (energyflow's
``kappa_normed_behavior='new'``).

The multigraphs are enumerated here rather than read from energyflow's tables (energyflow cannot be installed with
numpy 2). Their numbers with d = 0, 1, 2, 3, 4 edges are 1, 1, 3, 8, 23 (36 in all, JetNet's FPD/KPD features), of
which 1, 1, 2, 5, 12 are connected (arXiv:1712.07124, table 1; OEIS A050535 and A076864). Each connected EFP is one
``numpy.einsum`` over the jets, with the vertex energies folded into the edge matrices so at most 4 operands remain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations, combinations_with_replacement, permutations
from typing import Any

import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.metrics.particle_clouds import angular_distances, particle_cloud

__all__ = ["MAX_EDGES", "Multigraph", "efp_graphs", "energy_flow_polynomials", "w1efp_graphs"]

MAX_EDGES = 4
"""Largest number of edges (the degree d) enumerated: JetNet's FPD/KPD features are the d <= 4 EFPs."""

_CHUNK = 256  # jets per einsum block: 2 MB per [jets, 30, 30] matrix, cache-friendly (faster than larger blocks)
_Edges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Multigraph:
    """A multigraph up to isomorphism: its edges in canonical form and, for a disconnected one, its components.

    Attributes
    ----------
    components
        Canonical edge lists of the connected components, sorted; a repeated pair is a multi-edge. The graph with
        no edges is the single vertex ``((),)``.
    """

    components: tuple[_Edges, ...]

    @property
    def n_edges(self) -> int:
        """Number of edges d (the EFP is of degree d in the angles)."""
        return sum(len(c) for c in self.components)

    @property
    def n_vertices(self) -> int:
        """Number of vertices n (the EFP is of degree n in the energies)."""
        return sum(_n_vertices(c) for c in self.components)

    @property
    def connected(self) -> bool:
        """Whether the graph is connected (a "prime" EFP in energyflow's words)."""
        return len(self.components) == 1

    @property
    def edges(self) -> _Edges:
        """All edges, the components' vertices renumbered one after the other."""
        out, offset = [], 0
        for component in self.components:
            out.extend((a + offset, b + offset) for a, b in component)
            offset += _n_vertices(component)
        return tuple(out)

    def __str__(self) -> str:
        return f"EFP(n={self.n_vertices}, d={self.n_edges}, edges={list(self.edges)})"


def _n_vertices(edges: _Edges) -> int:
    return 1 + max((b for _, b in edges), default=0)


def _is_connected(edges: Sequence[tuple[int, int]], n: int) -> bool:
    reached, frontier = {0}, [0]
    while frontier:
        v = frontier.pop()
        for a, b in edges:
            for u, w in ((a, b), (b, a)):
                if u == v and w not in reached:
                    reached.add(w)
                    frontier.append(w)
    return len(reached) == n


def _canonical(edges: Sequence[tuple[int, int]], n: int) -> _Edges:
    """The lexicographically smallest sorted edge list over all relabellings of the n vertices."""
    return min(tuple(sorted((min(p[a], p[b]), max(p[a], p[b])) for a, b in edges)) for p in permutations(range(n)))


@cache
def _connected(d: int) -> tuple[_Edges, ...]:
    """Canonical edge lists of the connected loopless multigraphs with d edges (n <= d + 1 vertices)."""
    if d == 0:
        return ((),)
    found = set()
    for n in range(2, d + 2):
        for edges in combinations_with_replacement(list(combinations(range(n), 2)), d):
            if len({v for e in edges for v in e}) == n and _is_connected(edges, n):
                found.add(_canonical(edges, n))
    return tuple(sorted(found, key=lambda e: (_n_vertices(e), e)))


def _sort_key(graph: Multigraph) -> tuple[Any, ...]:
    return graph.n_edges, not graph.connected, graph.n_vertices, graph.components


@cache
def efp_graphs(max_edges: int = MAX_EDGES) -> tuple[Multigraph, ...]:
    """All multigraphs with at most ``max_edges`` edges and no isolated vertex, plus the single vertex (d = 0).

    Ordered by d, connected before disconnected, then by n and the edge lists.

    Examples
    --------
    >>> graphs = efp_graphs(4)
    >>> len(graphs), sum(g.connected for g in graphs)
    (36, 21)
    >>> [g.n_edges for g in graphs].count(4)
    23
    """
    if not is_whole_number(max_edges) or not 0 <= max_edges <= MAX_EDGES:
        raise InputError(f"max_edges must be an integer in [0, {MAX_EDGES}], got {max_edges!r}")
    connected = [c for d in range(1, max_edges + 1) for c in _connected(d)]
    graphs = {Multigraph(((),))}
    for size in range(1, max_edges + 1):
        for parts in combinations_with_replacement(connected, size):
            if sum(len(p) for p in parts) <= max_edges:
                graphs.add(Multigraph(tuple(sorted(parts, key=lambda e: (len(e), _n_vertices(e), e)))))
    return tuple(sorted(graphs, key=_sort_key))


def w1efp_graphs() -> tuple[Multigraph, ...]:
    """JetNet's default W1EFP set: the 5 connected graphs with n = 4 vertices and d = 4 edges.

    JetNet's ``w1efp`` uses ``efpset_args=[("n==", 4), ("d==", 4), ("p==", 1)]``: the square, the triangle with a
    tail, and the 4-vertex path and star with one doubled edge (the path has two inequivalent doublings).
    """
    return tuple(g for g in efp_graphs(4) if g.connected and g.n_vertices == 4 and g.n_edges == 4)


@cache
def _einsum_plan(edges: _Edges, n_particles: int) -> tuple[str, tuple[int, ...], list[Any]]:
    """Subscripts, the multiplicity of each distinct edge (its operand is theta^w with vertex energies folded in)
    and the einsum path for a connected graph; the vertex energies each go to the first edge that touches them.
    Every operand carries the jet index, so the best path does not depend on the number of jets."""
    letters = "bcdefghij"
    weights = Counter(edges)
    subscripts = ",".join(f"a{letters[u]}{letters[v]}" for u, v in weights) + "->a"
    shapes = [np.empty((1, n_particles, n_particles))] * len(weights)
    path = np.einsum_path(subscripts, *shapes, optimize="optimal")[0]
    return subscripts, tuple(weights.values()), path


def _connected_efp(edges: _Edges, z: np.ndarray, theta_powers: dict[int, np.ndarray]) -> np.ndarray:
    if not edges:
        return z.sum(axis=1)
    subscripts, multiplicities, path = _einsum_plan(edges, z.shape[1])
    absorbed: set[int] = set()
    operands = []
    for (u, v), w in zip(Counter(edges), multiplicities):
        matrix = theta_powers[w]
        if u not in absorbed:
            matrix = z[:, :, None] * matrix
        if v not in absorbed:
            matrix = matrix * z[:, None, :]
        absorbed.update((u, v))
        operands.append(matrix)
    return np.einsum(subscripts, *operands, optimize=path)


def energy_flow_polynomials(
    jets: Any,
    mask: Any = None,
    *,
    graphs: Iterable[Multigraph] | None = None,
    beta: float = 1.0,
    kappa: float = 1.0,
    normed: bool = False,
) -> np.ndarray:
    """EFPs of each jet, ``[N_jets, n_graphs]``, in the order of ``graphs``.

    Parameters
    ----------
    jets, mask
        Particle cloud ``[N_jets, N_particles, 3 or 4]`` with ``(eta_rel, phi_rel, pT_rel[, mask])`` and an optional
        mask (:func:`hepnb.metrics.particle_clouds.particle_cloud`); masked particles contribute nothing.
    graphs
        Multigraphs from :func:`efp_graphs` (default: all 36 with d <= 4) or :func:`w1efp_graphs`.
    beta, kappa
        Angular exponent (``theta = DeltaR^beta``) and energy exponent (``z = pT^kappa``); JetNet uses 1 and 1.
    normed
        Divide the energies by ``(sum pT)^kappa`` per jet (JetNet: ``False``).

    Examples
    --------
    >>> # two particles of pT 1/2 at DeltaR = 0.4: EFP of one edge = sum_ij z_i z_j theta_ij = 2 * 0.25 * 0.4
    >>> jet = [[[0.2, 0.0, 0.5], [-0.2, 0.0, 0.5]]]
    >>> dot, line = efp_graphs(1)
    >>> energy_flow_polynomials(jet, graphs=[dot, line]).round(6).tolist()
    [[1.0, 0.2]]
    """
    graphs = efp_graphs() if graphs is None else tuple(graphs)
    if not graphs or not all(isinstance(g, Multigraph) for g in graphs):
        raise InputError("graphs must be a non-empty sequence of Multigraph, e.g. efp_graphs(4) or w1efp_graphs()")
    if not (np.isfinite(beta) and beta > 0 and np.isfinite(kappa) and kappa > 0):
        raise InputError(f"beta and kappa must be positive and finite, got beta={beta}, kappa={kappa}")
    cloud = particle_cloud(jets, mask)
    z = cloud.pt**kappa
    if normed:
        total = cloud.pt.sum(axis=1)
        if np.any(total <= 0):
            raise InputError(
                f"{int(np.sum(total <= 0))} jets have no pT to normalise (no real particle or all pT = 0): "
                "drop them or use normed=False"
            )
        z = z / total[:, None] ** kappa
    components = sorted({c for g in graphs for c in g.components}, key=lambda e: (len(e), e))
    weights = sorted({w for c in components for w in Counter(c).values()})
    result = np.empty((cloud.n_jets, len(graphs)))
    for start in range(0, cloud.n_jets, _CHUNK):
        part = slice(start, start + _CHUNK)
        theta = angular_distances(cloud.eta[part], cloud.phi[part])
        theta_powers = {w: theta ** (beta * w) for w in weights}
        values = {c: _connected_efp(c, z[part], theta_powers) for c in components}
        for j, graph in enumerate(graphs):
            result[part, j] = np.prod([values[c] for c in graph.components], axis=0)
    return result
