"""The calorimeter epoch metrics and `hepnb train calo`: zero for identical showers, sensitive to the width."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import hepnb.calo.epoch_metrics
import hepnb.calo.train
from hepnb.calo.data import ShowerArrays
from hepnb.calo.epoch_metrics import METRICS, CaloReference, calo_metrics
from hepnb.calo.simulate import simulate
from hepnb.calo.train import CaloTraining, train_calo
from hepnb.errors import InputError
from hepnb.training import EpochArchive


@pytest.fixture(scope="module")
def showers() -> ShowerArrays:
    s = simulate([400, 400], [8192.0, 65536.0], seed=3)
    return ShowerArrays.from_arrays(s.cells, s.energy, s.p, s.e, s.delta_eta, s.delta_phi)


def test_metrics_vanish_for_identical_showers(showers: ShowerArrays) -> None:
    values = calo_metrics(CaloReference.from_showers(showers), showers.cells)
    assert set(values) == set(METRICS)
    assert values["cov_mse"] == 0.0
    assert values["resolution_error"] == 0.0
    assert values["middle_strip_eta_mse"] == 0.0
    for name in ("response_chi2", "back_eta_chi2", "strip_phi_chi2"):
        assert values[name] == pytest.approx(0.0, abs=1e-12)


def test_resolution_error_measures_a_doubled_width(showers: ShowerArrays) -> None:
    reference = CaloReference.from_showers(showers)
    cells = showers.cells.astype(float).copy()
    for energy in np.unique(showers.energy):
        at = showers.energy == energy
        total = cells[at].sum(axis=1)
        scale = (2 * total - total.mean()) / total  # response spread doubled around its mean
        cells[at] *= scale[:, None]
    values = calo_metrics(reference, cells)
    assert values["resolution_error"] == pytest.approx(1.0, rel=1e-6)
    assert values["response_chi2"] > 5  # two energy points, 400 showers each: about 7.7
    assert values["back_eta_chi2"] == pytest.approx(0.0, abs=1e-9)  # a global scale keeps every <eta>


def test_collapsed_generator_gets_the_worst_value_not_a_crash(showers: ShowerArrays) -> None:
    values = calo_metrics(CaloReference.from_showers(showers), np.zeros_like(showers.cells))
    assert values["response_chi2"] >= 1e6


def test_train_calo_records_and_resumes(tmp_path: Path) -> None:
    config = CaloTraining(epochs=1, every=1, fraction=0.02, n_metric_showers=300)
    archive = train_calo(tmp_path / "calo", config, progress=False)
    assert archive.epochs == [1]
    assert set(METRICS) <= set(archive.history.columns)
    record = json.loads((tmp_path / "calo" / "training.json").read_text())
    assert record["config"]["double_critic"] is True and record["epochs_done"] == 1
    archive = train_calo(tmp_path / "calo", replace(config, epochs=2), progress=False)
    assert EpochArchive(tmp_path / "calo").history.index.tolist() == [1, 2]
    assert json.loads((tmp_path / "calo" / "training.json").read_text())["epochs_done"] == 2
    with pytest.raises(InputError, match="only --epochs may change"):
        train_calo(tmp_path / "calo", replace(config, lr=1e-3), progress=False)
    model = archive.load(2)
    generated = model.generate(65536.0, 1, 0, 0.0, 0.0, seed=0)
    assert generated.shape == (1, 266) and np.all(generated >= 0)


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make simulating the training showers an error: a refused training must be refused before that."""

    def simulate(*args: object, **kwargs: object) -> None:
        raise AssertionError("showers were simulated before the archive was checked")

    monkeypatch.setattr(hepnb.calo.train, "standard_dataset", simulate)


def test_train_calo_refuses_a_busy_archive_before_simulating(tmp_path: Path, no_simulation) -> None:
    archive = EpochArchive(tmp_path / "calo")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with archive.writing():
            holding.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=60)
        with pytest.raises(InputError, match=rf"is in use by pid {os.getpid()} \(another thread of this process\)"):
            train_calo(archive.path, CaloTraining(epochs=1, fraction=0.02), progress=False)
    finally:
        release.set()
        holder.join()
    assert not (archive.path / "training.json").exists() and not archive.exists


def test_train_calo_refuses_another_model_class_before_simulating(tmp_path: Path, no_simulation) -> None:
    archive = EpochArchive(tmp_path / "calo")
    archive.reset("hepnb.examples.dimuon:DimuonGAN", 1, {})
    with pytest.raises(InputError, match=r"holds a hepnb.examples.dimuon:DimuonGAN, not a hepnb.calo.gan:CaloGAN"):
        train_calo(archive.path, CaloTraining(epochs=1, fraction=0.02), progress=False)
    assert archive.model_class == "hepnb.examples.dimuon:DimuonGAN" and not (archive.path / "training.json").exists()


def test_epochs_done_never_runs_ahead_of_the_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = hepnb.calo.epoch_metrics.epoch_metrics

    def dying_metrics(*args: object, **kwargs: object):
        physics = real(*args, **kwargs)

        def metrics(model, epoch: int) -> dict[str, float]:
            if epoch == 2:  # the training dies while epoch 2 is being recorded
                raise RuntimeError("killed")
            return physics(model, epoch)

        return metrics

    monkeypatch.setattr(hepnb.calo.epoch_metrics, "epoch_metrics", dying_metrics)
    config = CaloTraining(epochs=2, every=2, fraction=0.02, n_metric_showers=200)
    with pytest.raises(RuntimeError, match="killed"):
        train_calo(tmp_path / "calo", config, progress=False)
    history = EpochArchive(tmp_path / "calo").history.index.tolist()
    record = json.loads((tmp_path / "calo" / "training.json").read_text())
    assert history == [1] and record["epochs_done"] == 1
