"""The real-jet generator: truth matching on constructed and on Pythia events, determinism, resuming, and the
presets' arrays. Every Pythia run is a few dozen events (about 0.5 s of initialisation each)."""

from __future__ import annotations

import threading
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepnb.errors import InputError
from hepnb.io import folder_lock
from hepnb.jets import generate
from hepnb.jets.generate import (
    cluster_jets,
    delta_r,
    generate_chunk,
    generate_jets,
    nearest_parton,
    select_jets,
    top_matched,
    top_partons,
)
from hepnb.jets.io import chunk_path, jet_features, particle_features, read_jets
from hepnb.jets.presets import PRESETS, JetPreset, chunk_seed, get_preset

# JetNet-like without the underlying event and with the hard process inside the jet window: ~4x faster events
FAST = PRESETS["jetnet"].replace(mpi=False, pthat_min=1000.0, pthat_max=1100.0)


# ------------------------------------------------------------------------------------- matching on plain arrays


def test_top_matched_needs_every_parton_of_one_top_inside_r() -> None:
    top = [[0.0, 0.3, -0.2, 0.5], [0.0, 0.2, -0.3, 0.1]]  # (eta, phi) of top, b, q, q'
    far = [[2.5, 2.6, 2.4, 2.7], [1.0, 1.1, 0.9, 1.2]]
    eta = np.array(
        [
            [top[0], far[0]],  # jet 0 holds top 0
            [far[0], top[0]],  # jet 1 holds top 1
            [[0.0, 0.3, -0.2, 0.81], far[0]],  # q' just outside R
            [[0.0, 0.3, -0.2, np.nan], far[0]],  # a parton that is unknown never matches
            [[0.0, 0.0, 0.0, 0.0], far[0]],
        ]
    )  # phi wrap: partons at -3.1, jet at 3.1
    phi = np.array(
        [[top[1], far[1]], [far[1], top[1]], [top[1], far[1]], [top[1], far[1]], [[-3.1, -3.0, 3.0, -3.1], far[1]]]
    )
    jet_eta = np.array([0.1, 0.1, 0.0, 0.0, 0.0])
    jet_phi = np.array([0.0, 0.0, 0.0, 0.0, 3.1])
    np.testing.assert_array_equal(top_matched(jet_eta, jet_phi, eta, phi, 0.8), [0, 1, -1, -1, 0])
    assert delta_r(0.0, 3.1, 0.0, -3.1) == pytest.approx(2 * np.pi - 6.2)


def test_nearest_parton_labels_the_closest_inside_r_only() -> None:
    parton_eta = np.array([[0.1, 0.5], [0.6, 0.2], [2.0, 3.0], [np.nan, 0.7]])
    parton_id = np.array([[21, 2], [21, 2], [21, 2], [21, -3]])
    labels = nearest_parton(np.zeros(4), np.zeros(4), parton_eta, np.zeros((4, 2)), parton_id, 0.8)
    np.testing.assert_array_equal(labels, [21, 2, 0, -3])


# ------------------------------------------------------------------------------------ hand-made event records


def particle(
    pid: int, status: int, mother: int, pt: float = 0.0, eta: float = 0.0, phi: float = 0.0, mass: float = 0.0
) -> dict:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return {
        "id": pid,
        "status": status,
        "mother1": mother,
        "p": {"px": px, "py": py, "pz": pz, "e": float(np.sqrt(px**2 + py**2 + pz**2 + mass**2))},
    }


def ttbar_event(u_parton: tuple[float, float] = (-0.2, 0.25)) -> list[dict]:
    """t -> b u dbar, all within 0.8 of the jet of their three pions; tbar -> bbar ubar d with d 1.3 away."""
    return [
        particle(90, -11, 0),
        particle(6, -62, 0, 1000.0, 0.0, 0.0, 173.0),  # 1: last top copy
        particle(24, -22, 1, 600.0, -0.05, 0.3, 80.4),  # 2: its W
        particle(5, -23, 1, 400.0, 0.25, -0.2),  # 3: b
        particle(2, -23, 2, 330.0, *u_parton),  # 4: u
        particle(-1, -23, 2, 270.0, 0.1, 0.35),  # 5: dbar
        particle(211, 1, 3, 400.0, 0.25, -0.2),  # the pions that make the top jet
        particle(-211, 1, 4, 330.0, -0.2, 0.25),
        particle(111, 1, 5, 270.0, 0.1, 0.35),
        particle(12, 1, 0, 150.0, 0.0, 0.05),  # a neutrino inside the jet: invisible
        particle(-6, -62, 0, 1000.0, 0.3, np.pi, 173.0),  # 10: last antitop copy
        particle(-24, -22, 10, 500.0, 0.9, 3.0, 80.4),  # 11: its W
        particle(-5, -23, 10, 480.0, 0.3, 3.0),  # 12
        particle(-2, -23, 11, 420.0, 0.5, -3.0),  # 13
        particle(1, -23, 11, 90.0, 1.6, 2.9),  # 14: d, far from the bbar-ubar jet
        particle(211, 1, 12, 480.0, 0.3, 3.0),
        particle(-211, 1, 13, 420.0, 0.5, -3.0),
        particle(211, 1, 14, 90.0, 1.6, 2.9),
    ]


def as_batch(*events: list[dict]) -> ak.Array:
    """Event records shaped like ``Pythia.nextBatch``'s (the fields the generator reads)."""
    return ak.Array([{"prt": event} for event in events])


def test_constructed_ttbar_event_gives_the_one_top_jet_whose_partons_it_holds() -> None:
    batch = as_batch(ttbar_event())
    candidates = cluster_jets(batch.prt, FAST)
    assert len(candidates) == 2  # the top jet and the bbar-ubar jet, both in the pT window
    jets = select_jets(batch, FAST, "top")
    assert len(jets) == 1
    jet = jets[0]
    assert jet.parton_id == 6 and jet.n_constituents == 3 and jet.event == 0
    pions = [p for p in ttbar_event()[6:9]]
    px, py = (sum(p["p"][f] for p in pions) for f in ("px", "py"))
    assert jet.pt == pytest.approx(np.hypot(px, py), rel=1e-12)  # the neutrino is not in the jet
    np.testing.assert_allclose(ak.to_numpy(jet.constituents.pt), [400, 330, 270], rtol=1e-6)  # hardest first
    # the same pions with the u parton moved out of the jet: the jet is no longer a matched top jet
    assert len(select_jets(as_batch(ttbar_event(u_parton=(1.0, 0.9))), FAST, "top")) == 0


def qcd_event() -> list[dict]:
    return [
        particle(90, -11, 0),
        particle(21, -23, 0, 950.0, 0.2, 1.0),
        particle(2, -23, 0, 1000.0, -0.4, 1.0 - np.pi),
        particle(211, 1, 1, 600.0, 0.3, 1.1),
        particle(211, 1, 1, 350.0, 0.1, 0.9),
        particle(211, 1, 2, 900.0, -0.4, 1.0 - np.pi),
        particle(211, 1, 2, 100.0, -0.2, 1.2 - np.pi),
    ]


@pytest.mark.parametrize(("jet_class", "labels"), [("gluon", [21]), ("quark", [2]), ("qcd", [2, 21])])
def test_constructed_dijet_event_is_labelled_by_the_nearest_hard_parton(jet_class: str, labels: list[int]) -> None:
    jets = select_jets(as_batch(qcd_event()), FAST, jet_class)
    assert ak.to_list(jets.parton_id) == labels  # qcd: both jets, hardest first


# ----------------------------------------------------------------------------------------- real Pythia events


def daughters(event: list[dict], i: int) -> list[int]:
    """Pythia's daughter list: a range d1..d2, or d1 alone (d2 = 0), or the two of d2 < d1."""
    d1, d2 = event[i]["daughter1"], event[i]["daughter2"]
    return [] if d1 == 0 else [d1] if d2 == 0 else [d1, d2] if d2 < d1 else list(range(d1, d2 + 1))


def follow_copies(event: list[dict], i: int) -> int:
    """The last copy of particle ``i`` (Pythia's iBotCopyId: through recoils and branchings like t -> t g)."""
    while len(same := [d for d in daughters(event, i) if event[d]["id"] == event[i]["id"]]) == 1:
        i = same[0]
    return i


def reference_top_partons(event: list[dict]) -> np.ndarray:
    """(2 tops, 4 partons, eta/phi) found by following each top's copies and decays particle by particle."""
    out = np.empty((2, 4, 2))
    for row, sign in enumerate((1, -1)):
        top = follow_copies(event, next(i for i, p in enumerate(event) if p["id"] == 6 * sign))
        decay = daughters(event, top)
        w = follow_copies(event, next(i for i in decay if event[i]["id"] == 24 * sign))
        b = next(i for i in decay if event[i]["id"] != 24 * sign)
        quarks = daughters(event, w)
        for column, i in enumerate([top, b, *quarks]):
            p = event[i]["p"]
            out[row, column] = np.arcsinh(p["pz"] / np.hypot(p["px"], p["py"])), np.arctan2(p["py"], p["px"])
    return out


def test_truth_matching_on_pythia_ttbar_events() -> None:
    pythia = generate._pythia(FAST.pythia_settings("top", pythia_seed=2024))
    batch = pythia.nextBatch(8)
    eta, phi = top_partons(batch.prt)
    for e in range(len(batch)):
        expected = reference_top_partons(ak.to_list(batch.prt[e]))
        np.testing.assert_allclose(np.stack([eta[e], phi[e]], axis=-1), expected, rtol=1e-12)
    # every candidate jet is a top jet exactly when all four partons of one top lie within R of its axis
    candidates = cluster_jets(batch.prt, FAST)
    inside = [
        [all(delta_r(j.eta, j.phi, eta[j.event, t, k], phi[j.event, t, k]) < 0.8 for k in range(4)) for t in range(2)]
        for j in candidates
    ]
    expected_ids = [6 if a else -6 for a, b in inside if a or b]
    selected = select_jets(batch, FAST, "top")
    assert ak.to_list(selected.parton_id) == expected_ids
    assert 0 < len(selected) < len(candidates)  # both outcomes occur in these events


# --------------------------------------------------------------------------------- determinism and resuming


def chunk_bytes(folder: Path, n: int) -> list[bytes]:
    return [chunk_path(folder, i).read_bytes() for i in range(n)]


def test_same_seed_same_bytes_in_any_number_of_processes(tmp_path: Path) -> None:
    options = {"preset": FAST, "jet_class": "qcd", "chunk_jets": 3, "events_per_batch": 4, "progress": False}
    generate_jets(tmp_path / "one", 6, seed=11, workers=1, **options)
    run = generate_jets(tmp_path / "two", 6, seed=11, workers=2, **options)
    assert run.chunks_made == 2 and run.workers == 2 and run.jets_made == 6
    assert chunk_bytes(tmp_path / "one", 2) == chunk_bytes(tmp_path / "two", 2)
    assert (tmp_path / "one" / "dataset.json").read_bytes() == (tmp_path / "two" / "dataset.json").read_bytes()
    generate_jets(tmp_path / "other", 3, seed=12, workers=1, **options)
    assert chunk_bytes(tmp_path / "other", 1) != chunk_bytes(tmp_path / "one", 1)
    sample = read_jets(tmp_path / "one")
    assert len(sample) == 6 and sample.meta["seed"] == 11
    assert not np.array_equal(ak.to_numpy(sample.jets.pt[:3]), ak.to_numpy(sample.jets.pt[3:]))  # chunk seeds


def test_a_killed_run_resumes_with_the_missing_chunks_only(tmp_path: Path, monkeypatch) -> None:
    options = {
        "preset": FAST,
        "jet_class": "top",
        "seed": 5,
        "chunk_jets": 3,
        "events_per_batch": 4,
        "workers": 1,
        "progress": False,
    }
    generate_jets(tmp_path / "straight", 9, **options)

    asked: list[int] = []
    original = generate.generate_chunk

    def spy(preset, jet_class, seed, index, n_jets, **kwargs):
        asked.append(index)
        if kill_after is not None and len(asked) > kill_after:
            raise KeyboardInterrupt  # the run is killed while it works on its second chunk
        return original(preset, jet_class, seed, index, n_jets, **kwargs)

    monkeypatch.setattr(generate, "generate_chunk", spy)
    kill_after: int | None = 1
    with pytest.raises(KeyboardInterrupt):
        generate_jets(tmp_path / "killed", 9, **options)
    folder = tmp_path / "killed"
    assert sorted(p.name for p in folder.glob("chunk-*")) == ["chunk-00000.parquet"]
    (folder / ".chunk-00001.parquet.x1y2.tmp").write_bytes(b"half a chunk")  # what a hard kill leaves
    with pytest.raises(InputError, match="2 of 3 chunks are missing"):
        read_jets(folder)

    asked.clear()
    kill_after = None
    run = generate_jets(folder, 9, **options)
    assert asked == [1, 2] and run.chunks_made == 2 and run.jets_made == 6
    assert not list(folder.glob("*.tmp"))
    assert chunk_bytes(folder, 3) == chunk_bytes(tmp_path / "straight", 3)

    asked.clear()
    assert generate_jets(folder, 9, **options).jets_made == 0 and asked == []
    generate_jets(folder, 11, **options)  # extend: chunk 3 holds 2 jets
    short = read_jets(folder).jets[9:]
    generate_jets(folder, 12, **options)  # chunk 3 grows to 3 jets; its first 2 jets stay the same
    assert asked == [3, 3]
    longer = read_jets(folder).jets
    assert len(longer) == 12 and ak.to_list(longer[9:11]) == ak.to_list(short)


def test_a_folder_of_another_dataset_or_in_use_is_refused(tmp_path: Path) -> None:
    options = {
        "preset": FAST,
        "jet_class": "top",
        "chunk_jets": 2,
        "events_per_batch": 4,
        "workers": 1,
        "progress": False,
    }
    generate_jets(tmp_path / "d", 2, seed=1, **options)
    with pytest.raises(InputError, match=r"holds another jet dataset \(seed: 1 there, 2 asked\)"):
        generate_jets(tmp_path / "d", 2, seed=2, **options)
    with pytest.raises(InputError, match="holds another jet dataset .*jet_class: 'top' there, 'qcd' asked"):
        generate_jets(tmp_path / "d", 2, seed=1, **{**options, "jet_class": "qcd"})
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        generate_jets(tmp_path / "afile", 2, **options)
    with pytest.raises(InputError, match="holds no jet dataset"):
        read_jets(tmp_path)
    for bad in ({"seed": -1}, {"workers": 0}, {"chunk_jets": 1.5}, {"jet_class": "bottom"}, {"preset": "cms"}):
        with pytest.raises(InputError):
            generate_jets(tmp_path / "never", 2, **{**options, **bad})
    assert not (tmp_path / "never").exists()

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with folder_lock(tmp_path / "d"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    try:
        with pytest.raises(InputError, match="is writing into"):
            generate_jets(tmp_path / "d", 2, seed=1, **options)
    finally:
        release.set()
        holder.join()


def test_cuts_that_select_nothing_are_reported() -> None:
    nothing = FAST.replace(jet_pt_min=5000.0, jet_pt_max=6000.0)
    with pytest.raises(InputError, match="only 0 of 1 top jets passed the cuts"):
        generate_chunk(nothing, "top", 1, 0, 1, events_per_batch=2)


# -------------------------------------------------------------------------------------------- presets' arrays


@pytest.fixture(scope="module")
def jetnet_top() -> ak.Array:
    return generate_chunk(PRESETS["jetnet"], "top", 7, 0, 12, events_per_batch=10)[0]


def test_jetnet_arrays_have_jetnets_shapes_masks_and_ranges(jetnet_top: ak.Array) -> None:
    preset = PRESETS["jetnet"]
    particles, jets = particle_features(jetnet_top, preset), jet_features(jetnet_top, preset)
    assert particles.shape == (12, 30, 4) and jets.shape == (12, 4) and particles.dtype == np.float32
    n = np.minimum(ak.to_numpy(jetnet_top.n_constituents), 30)
    mask = particles[..., 3]
    np.testing.assert_array_equal(mask, np.arange(30)[None, :] < n[:, None])
    assert not particles[mask == 0].any()  # padding is all zero
    pt_rel = particles[..., 2]
    assert np.all(np.diff(pt_rel, axis=1) <= 0)  # hardest first (padding is 0)
    # pT_rel = pT / pT_jet: over all constituents it sums to >= 1 (|sum of vectors| <= sum of lengths), and the
    # 30 hardest of a ~1 TeV top jet carry most of it
    total = ak.to_numpy(ak.sum(jetnet_top.constituents.pt, axis=1)) / ak.to_numpy(jetnet_top.pt)
    assert np.all(total >= 1 - 1e-6) and np.all(total < 1.1)
    assert np.all(pt_rel.sum(axis=1) <= total + 1e-6) and np.median(pt_rel.sum(axis=1)) > 0.8
    assert np.all(np.abs(particles[..., 1]) < 1.5 * preset.radius)  # phi_rel
    assert np.median(np.abs(particles[..., 0][mask == 1])) < 0.3  # eta_rel: the particles sit around the axis
    np.testing.assert_array_equal(jets[:, 3], n)
    assert np.all((jets[:, 0] >= 800) & (jets[:, 0] < 1300) & (np.abs(jets[:, 1]) < 2.0))
    assert 150 < np.median(jets[:, 2]) < 230  # truth-matched top jets peak near the top mass
    assert set(ak.to_numpy(jetnet_top.parton_id)) <= {6, -6}


def test_jet_is_the_sum_of_its_constituents(jetnet_top: ak.Array) -> None:
    c = jetnet_top.constituents
    px, py = ak.sum(c.pt * np.cos(c.phi), axis=1), ak.sum(c.pt * np.sin(c.phi), axis=1)
    pz, e = ak.sum(c.pt * np.sinh(c.eta), axis=1), ak.sum(c.e, axis=1)
    np.testing.assert_allclose(ak.to_numpy(np.hypot(px, py)), ak.to_numpy(jetnet_top.pt), rtol=1e-5)
    mass = np.sqrt(ak.to_numpy(e**2 - px**2 - py**2 - pz**2))
    np.testing.assert_allclose(mass, ak.to_numpy(jetnet_top.mass), rtol=1e-3)


def test_thesis_arrays_have_the_thesis_features() -> None:
    preset = PRESETS["thesis"]
    jets = generate_chunk(preset, "top", 8, 0, 8, events_per_batch=10)[0]
    particles = particle_features(jets, preset)
    assert particles.shape == (8, 100, 5)
    mask = particles[..., 4] == 1
    np.testing.assert_array_equal(mask.sum(axis=1), np.minimum(ak.to_numpy(jets.n_constituents), 100))
    log_e, log_pt = particles[..., 0], particles[..., 1]
    assert np.all(log_e[mask] >= log_pt[mask] - 1e-6)  # E >= pT
    np.testing.assert_allclose(log_pt[:, 0], np.log(ak.to_numpy(jets.constituents.pt[:, 0])), rtol=1e-6)
    assert np.all(np.abs(particles[..., 3]) < 1.5)  # phi_rel / R
    assert np.all((ak.to_numpy(jets.pt) >= 550) & (ak.to_numpy(jets.pt) < 650))


@pytest.mark.parametrize(("jet_class", "allowed"), [("gluon", {21}), ("quark", {1, 2, 3, -1, -2, -3})])
def test_gluon_and_quark_classes_hold_only_their_label(jet_class: str, allowed: set[int]) -> None:
    jets = generate_chunk(PRESETS["thesis"], jet_class, 9, 0, 5, events_per_batch=10)[0]
    assert len(jets) == 5 and set(ak.to_numpy(jets.parton_id)) <= allowed


def test_presets_and_seeds_refuse_bad_values() -> None:
    assert get_preset("thesis") is PRESETS["thesis"] and get_preset(FAST) is FAST
    settings = PRESETS["jetnet"].pythia_settings("top", pythia_seed=42)
    assert "Random:seed = 42" in settings and "Next:numberShowEvent = 0" in settings
    assert "PartonLevel:MPI = on" in settings and "24:onIfAny = 1 2 3 4 5" in settings
    assert len({chunk_seed(1, "top", i) for i in range(50)} | {chunk_seed(1, "qcd", 0)}) == 51
    for bad in (
        {"representation": "cms"},
        {"jet_pt_min": 900.0, "jet_pt_max": 800.0},
        {"pthat_max": 7000.0},
        {"radius": 0.0},
        {"n_particles": 0},
    ):
        with pytest.raises(InputError):
            PRESETS["jetnet"].replace(**bad)
    for seed in (-1, 1.5, True):
        with pytest.raises(InputError, match="seed must be a whole number"):
            chunk_seed(seed, "top", 0)
    with pytest.raises(InputError, match="unknown jet class"):
        PRESETS["jetnet"].pythia_settings("bottom", pythia_seed=1)
    assert isinstance(JetPreset(**PRESETS["thesis"].to_dict()), JetPreset)
    with pytest.raises(InputError, match="expected an awkward array of jets"):
        particle_features(np.zeros((2, 30, 4)), PRESETS["jetnet"])
