"""The jets of one ``Pythia.nextBatch`` result: FastJet clustering, cuts and truth labels, on whole batches.

Events come from ``Pythia.nextBatch`` as awkward arrays (pythia8mc 8.317); the stable visible particles are
clustered by FastJet's multi-event interface (anti-kT, R = 0.8), and jets, constituents and truth labels are
computed on whole batches, without a Python loop over particles or events.

Truth labels (jets_losses_vlq spec, section 7.2):

- top jets: as in the Top Quark Tagging Reference Dataset (arXiv:1902.09914), the jet is within dR < R of the
  top (its last copy, the mother of its b) *and* of the three decay quarks b, q, q' (the status-23 daughters of
  the top and of its W) -- :func:`top_matched`;
- gluon and light-quark jets: the nearest of the two hard-process partons (status 23) within dR < R is a gluon,
  or a u, d or s quark -- :func:`nearest_parton`. QCD jets record the same label but need none.

:mod:`hepnb.jets.generate` runs Pythia and writes the selected jets into a dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from hepnb.jets.presets import JetPreset, check_jet_class

__all__ = ["select_jets", "cluster_jets", "top_partons", "hard_partons", "top_matched", "nearest_parton", "delta_r"]

_LIGHT_QUARKS = (1, 2, 3)


def delta_r(eta1: Any, phi1: Any, eta2: Any, phi2: Any) -> Any:
    """sqrt(d_eta^2 + d_phi^2) with d_phi wrapped into [-pi, pi); NaN in, NaN out."""
    dphi = (np.asarray(phi1) - np.asarray(phi2) + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), dphi)


def top_matched(
    jet_eta: np.ndarray, jet_phi: np.ndarray, parton_eta: np.ndarray, parton_phi: np.ndarray, radius: float
) -> np.ndarray:
    """Which top each jet contains: the index of the first top whose partons are all within ``radius``, else -1.

    Parameters
    ----------
    jet_eta, jet_phi
        Jet axes, shape ``(n,)``.
    parton_eta, parton_phi
        Shape ``(n, n_tops, n_partons)``: for each jet, the partons of each top of its event (top, b, q, q'),
        NaN where a parton is unknown (such a top never matches).
    radius
        Matching radius (R of the jets).

    Examples
    --------
    >>> import numpy as np
    >>> eta = np.array([[[0.0, 0.3, -0.2, 0.5], [3.0, 3.1, 2.9, 3.2]]])
    >>> phi = np.array([[[0.0, 0.2, -0.3, 0.1], [3.1, 3.0, 2.8, -3.1]]])
    >>> top_matched(np.array([0.1]), np.array([0.0]), eta, phi, 0.8)
    array([0])
    """
    inside = delta_r(jet_eta[:, None, None], jet_phi[:, None, None], parton_eta, parton_phi) < radius
    contains = inside.all(axis=-1)
    return np.where(contains.any(axis=-1), contains.argmax(axis=-1), -1)


def nearest_parton(
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    parton_eta: np.ndarray,
    parton_phi: np.ndarray,
    parton_id: np.ndarray,
    radius: float,
) -> np.ndarray:
    """PDG id of the parton nearest to each jet if it is within ``radius``, else 0.

    ``jet_*`` have shape ``(n,)``; ``parton_*`` shape ``(n, k)`` (NaN for a missing parton).

    >>> import numpy as np
    >>> nearest_parton(np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([[0.1, 0.5], [2.0, 3.0]]),
    ...                np.zeros((2, 2)), np.array([[21, 2], [21, 2]]), 0.8)
    array([21,  0])
    """
    distance = np.nan_to_num(delta_r(jet_eta[:, None], jet_phi[:, None], parton_eta, parton_phi), nan=np.inf)
    nearest = distance.argmin(axis=-1)
    rows = np.arange(len(nearest))
    return np.where(distance[rows, nearest] < radius, parton_id[rows, nearest], 0)


def _column(values: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(values))


@dataclass(frozen=True)
class _Flat:
    """The particles of a batch as flat numpy columns; ``mother`` indexes these columns too."""

    n_events: int
    event: np.ndarray
    id: np.ndarray
    status: np.ndarray
    mother: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray

    @classmethod
    def of(cls, particles: ak.Array) -> _Flat:
        counts = ak.to_numpy(ak.num(particles, axis=1))
        event = np.repeat(np.arange(len(counts)), counts)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        p = particles.p
        return cls(
            len(counts),
            event,
            _column(particles.id),
            _column(particles.status),
            _column(particles.mother1) + first[event],
            _column(p.px),
            _column(p.py),
            _column(p.pz),
            _column(p.e),
        )

    def rows(self, selected: np.ndarray, k: int) -> np.ndarray:
        """``(n_events, k)`` indices of the ``selected`` particles of each event; -1 in events without exactly k."""
        event = self.event[selected]
        rank = np.arange(len(event)) - np.searchsorted(event, event)
        ok = np.bincount(event, minlength=self.n_events)[event] == k
        out = np.full((self.n_events, k), -1, dtype=np.int64)
        out[event[ok], rank[ok]] = selected[ok]
        return out

    def eta_phi(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pseudorapidity and azimuth of the particles at ``index`` (NaN where it is -1)."""
        safe = np.maximum(index, 0)
        px, py = self.px[safe], self.py[safe]
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = np.arcsinh(self.pz[safe] / np.hypot(px, py))
        missing = index < 0
        return np.where(missing, np.nan, eta), np.where(missing, np.nan, np.arctan2(py, px))


def top_partons(particles: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """(eta, phi) of the top, its b and its W's two quarks for the top and the antitop of each event.

    ``particles`` is the ``prt`` field of ``Pythia.nextBatch``. The b and the quarks are the outgoing partons
    (status 23) whose mother is the top or its W (so the top is its last copy, the b's mother). Returns two
    arrays of shape ``(n_events, 2, 4)`` (axis 1: top, antitop; axis 2: top, b, q, q'); NaN where an event
    lacks that decay chain.
    """
    flat = _Flat.of(particles)
    outgoing = np.abs(flat.status) == 23
    mother_id = flat.id[flat.mother]
    tops = []
    for sign in (1, -1):
        b = flat.rows(np.flatnonzero(outgoing & (mother_id == 6 * sign)), 1)
        quarks = flat.rows(np.flatnonzero(outgoing & (mother_id == 24 * sign)), 2)
        tops.append(np.concatenate([np.where(b >= 0, flat.mother[b], -1), b, quarks], axis=1))
    return flat.eta_phi(np.stack(tops, axis=1))


def hard_partons(particles: ak.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(eta, phi, PDG id) of the two outgoing partons (status 23) of each event's hard process, ``(n_events, 2)``;
    NaN and id 0 in an event that has not exactly two."""
    flat = _Flat.of(particles)
    index = flat.rows(np.flatnonzero(np.abs(flat.status) == 23), 2)
    eta, phi = flat.eta_phi(index)
    return eta, phi, np.where(index >= 0, flat.id[np.maximum(index, 0)], 0)


def cluster_jets(particles: ak.Array, preset: JetPreset) -> ak.Array:
    """Anti-kT jets of the stable visible particles that pass the preset's cuts, one record per jet.

    Only the ``preset.leading_jets`` hardest jets of an event are candidates; kept are those with
    ``jet_pt_min <= pT < jet_pt_max`` and ``|eta| < jet_abs_eta_max``. Records as in :mod:`hepnb.jets.io`
    (``event`` counts from 0 in ``particles``; ``parton_id`` is added by :func:`select_jets`).
    """
    import fastjet

    flat = _Flat.of(particles)
    pid = np.abs(flat.id)
    final = np.flatnonzero((flat.status > 0) & (pid != 12) & (pid != 14) & (pid != 16))  # isVisible: no neutrino
    per_event = np.bincount(flat.event[final], minlength=flat.n_events)
    inputs = ak.unflatten(
        ak.zip({"px": flat.px[final], "py": flat.py[final], "pz": flat.pz[final], "E": flat.e[final]}), per_event
    )
    sequence = fastjet.ClusterSequence(inputs, fastjet.JetDefinition(fastjet.antikt_algorithm, preset.radius))
    jets = sequence.inclusive_jets(preset.jet_pt_min)
    members = sequence.constituent_index(preset.jet_pt_min)
    order = ak.argsort(np.hypot(jets.px, jets.py), axis=1, ascending=False)[:, : preset.leading_jets]
    jets, members = jets[order], members[order]

    event = np.repeat(np.arange(flat.n_events), ak.to_numpy(ak.num(jets, axis=1)))
    px, py, pz, e = (ak.to_numpy(ak.flatten(getattr(jets, f))) for f in ("px", "py", "pz", "E"))
    pt = np.hypot(px, py)
    eta, phi = np.arcsinh(pz / pt), np.arctan2(py, px)
    mass = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    keep = (pt < preset.jet_pt_max) & (np.abs(eta) < preset.jet_abs_eta_max)

    # constituents: index in the event's visible particles -> index in the flat columns, hardest first per jet
    members = ak.flatten(members, axis=1)[keep]
    sizes = ak.to_numpy(ak.num(members, axis=1))
    first = np.concatenate([[0], np.cumsum(per_event)[:-1]])
    where = final[ak.to_numpy(ak.flatten(members + first[event[keep]]))]
    cpt = np.hypot(flat.px[where], flat.py[where])
    where = where[np.lexsort((-cpt, np.repeat(np.arange(len(sizes)), sizes)))]
    cpx, cpy, cpz = flat.px[where], flat.py[where], flat.pz[where]
    cpt = np.hypot(cpx, cpy)
    columns = {"pt": cpt, "eta": np.arcsinh(cpz / cpt), "phi": np.arctan2(cpy, cpx), "e": flat.e[where]}
    constituents = ak.unflatten(ak.zip({k: v.astype(np.float32) for k, v in columns.items()}), sizes)
    return ak.zip(
        {
            "pt": pt[keep],
            "eta": eta[keep],
            "phi": phi[keep],
            "mass": mass[keep],
            "n_constituents": sizes.astype(np.int32),
            "parton_id": np.zeros(len(sizes), np.int32),
            "event": event[keep].astype(np.int64),
            "constituents": constituents,
        },
        depth_limit=1,
    )


def select_jets(events: ak.Array, preset: JetPreset, jet_class: str) -> ak.Array:
    """The jets of a ``Pythia.nextBatch`` result that belong to ``jet_class``, with their ``parton_id`` label.

    ``top``: jets containing a top and its three quarks (``parton_id`` +-6); ``qcd``: all jets, labelled with
    the nearest hard parton (0 if none within R); ``gluon`` / ``quark``: the jets so labelled 21 / u, d, s.
    """
    check_jet_class(jet_class)
    jets = cluster_jets(events.prt, preset)
    event = ak.to_numpy(jets.event)
    eta, phi = ak.to_numpy(jets.eta), ak.to_numpy(jets.phi)
    if jet_class == "top":
        top_eta, top_phi = top_partons(events.prt)
        which = top_matched(eta, phi, top_eta[event], top_phi[event], preset.radius)
        label, keep = np.where(which == 0, 6, -6), which >= 0
    else:
        hard_eta, hard_phi, hard_id = hard_partons(events.prt)
        label = nearest_parton(eta, phi, hard_eta[event], hard_phi[event], hard_id[event], preset.radius)
        keep = {"qcd": np.ones(len(label), bool), "gluon": label == 21, "quark": np.isin(np.abs(label), _LIGHT_QUARKS)}[
            jet_class
        ]
    jets = ak.with_field(jets, label.astype(np.int32), "parton_id")
    return jets[keep]
