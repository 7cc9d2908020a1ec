"""The slimmed jet dataset shipped in data/: same jets and arrays, hardest constituents only, substructure computed
on all constituents before the cut; refuses to overwrite; deterministic."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepnb.cli import main
from hepnb.errors import InputError
from hepnb.jets.generate import generate_jets
from hepnb.jets.io import chunk_path, read_jets
from hepnb.jets.presets import PRESETS
from hepnb.jets.subset import SUBSTRUCTURE_FIELDS, write_subset
from hepnb.jets.substructure import substructure_table

FAST = PRESETS["jetnet"].replace(mpi=False, pthat_min=1000.0, pthat_max=1100.0)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("jets") / "qcd"
    generate_jets(
        folder, 8, preset=FAST, jet_class="qcd", seed=3, workers=1, chunk_jets=4, events_per_batch=4, progress=False
    )
    return folder


def test_subset_keeps_the_jets_the_arrays_and_adds_full_substructure(source: Path, tmp_path: Path) -> None:
    full = read_jets(source)
    write_subset(source, tmp_path / "slim", max_constituents=5, chunk_jets=3, progress=False)
    slim = read_jets(tmp_path / "slim")
    assert len(slim) == 8 and slim.meta["n_chunks"] == 3 and slim.meta["subset"]["max_constituents"] == 5
    assert ak.all(ak.num(slim.jets.constituents) == np.minimum(ak.num(full.jets.constituents), 5))
    assert ak.to_list(slim.jets.constituents) == ak.to_list(full.jets.constituents[:, :5])
    assert np.array_equal(ak.to_numpy(slim.jets.n_constituents), ak.to_numpy(full.jets.n_constituents))
    # the jet features are unchanged; the particle arrays are the full ones with particles 6-30 dropped
    assert np.array_equal(slim.jet_features(), full.jet_features())
    assert np.array_equal(slim.particle_features()[:, :5], full.particle_features()[:, :5])
    assert not slim.particle_features()[:, 5:].any()
    # substructure on all constituents: differs from the same on the five kept
    c = full.jets.constituents
    table = substructure_table(c.pt, c.eta, c.phi, progress=False)
    for name in SUBSTRUCTURE_FIELDS:
        np.testing.assert_array_equal(ak.to_numpy(slim.jets[name]), table[name])
    cut = substructure_table(c.pt[:, :5], c.eta[:, :5], c.phi[:, :5], progress=False)
    assert not np.allclose(cut["tau21"], table["tau21"])


def test_subset_is_deterministic_and_cuts_to_the_preset_by_default(source: Path, tmp_path: Path) -> None:
    write_subset(source, tmp_path / "a", n_jets=6, progress=False)
    write_subset(source, tmp_path / "b", n_jets=6, progress=False)
    assert chunk_path(tmp_path / "a", 0).read_bytes() == chunk_path(tmp_path / "b", 0).read_bytes()
    sample = read_jets(tmp_path / "a")
    assert len(sample) == 6 and sample.meta["subset"]["max_constituents"] == FAST.n_particles == 30


def test_subset_refuses_what_would_lose_or_fake_data(source: Path, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists"):
        write_subset(source, tmp_path / "busy", progress=False)
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
    with pytest.raises(InputError, match="fewer than"):
        write_subset(source, tmp_path / "many", n_jets=9, progress=False)
    for bad in ({"max_constituents": 0}, {"n_jets": 2.5}, {"chunk_jets": True}):
        with pytest.raises(InputError, match="whole number"):
            write_subset(source, tmp_path / "bad", progress=False, **bad)
    write_subset(source, tmp_path / "slim", progress=False)
    with pytest.raises(InputError, match="already a subset"):
        write_subset(tmp_path / "slim", tmp_path / "slimmer", progress=False)
    with pytest.raises(InputError, match="no jet dataset"):
        write_subset(tmp_path / "nothing", tmp_path / "out", progress=False)


def test_command_line_writes_and_describes_the_subset(source: Path, tmp_path: Path, capsys) -> None:
    assert main(["data", "subset", str(source), str(tmp_path / "cli"), "--constituents", "4", "--jets", "5"]) == 0
    assert "5 qcd jets (jetnet preset, 4 hardest constituents, substructure added" in capsys.readouterr().out
    assert len(read_jets(tmp_path / "cli")) == 5
