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
from hepnb.calo import shower_shapes as ss
from hepnb.calo.data import ShowerArrays
from hepnb.calo.epoch_metrics import METRICS, CaloReference, calo_metrics
from hepnb.calo.geometry import GEOMETRY, LAYERS
from hepnb.calo.simulate import simulate
from hepnb.calo.train import CaloTraining, train_calo
from hepnb.errors import InputError
from hepnb.training import EpochArchive


@pytest.fixture(scope="module")
def showers() -> ShowerArrays:
    s = simulate([400, 400], [8192.0, 65536.0], seed=3)
    return ShowerArrays.from_arrays(s.cells, s.energy, s.p, s.e, s.delta_eta, s.delta_phi)


def mirrored(cells: np.ndarray, layer: str, axis: int) -> np.ndarray:
    """``cells`` with one layer's image flipped along eta (axis 1) or phi (axis 2): other layers untouched."""
    images = {lay.name: GEOMETRY.image(cells, lay.name) for lay in LAYERS}
    images[layer] = np.flip(images[layer], axis=axis)
    return GEOMETRY.flatten(images)


def test_metrics_vanish_for_identical_showers(showers: ShowerArrays) -> None:
    reference = CaloReference.from_showers(showers)
    values = calo_metrics(reference, showers.cells)
    assert set(values) == set(METRICS)
    assert all(values[name] == pytest.approx(0.0, abs=1e-12) for name in METRICS)
    # positive control, cov_mse: cells x 1.1 scale the covariance of cells / E_true by 1.21, so the MSE is
    # 0.21^2 x mean(C^2), with C from numpy directly; the response width grows by exactly 10 %
    scaled = calo_metrics(reference, 1.1 * showers.cells.astype(float))
    c = np.cov(showers.cells / showers.energy[:, None], rowvar=False)
    assert scaled["cov_mse"] == pytest.approx(0.21**2 * np.mean(c**2), rel=1e-6)
    assert scaled["resolution_error"] == pytest.approx(0.1, rel=1e-9)
    assert 10 < scaled["response_chi2"] < 100  # a 10 % shift: 3 (8 GeV) and 7 (65 GeV) resolutions; 34 measured


@pytest.mark.parametrize(
    ("layer", "axis", "metric", "low"),
    [
        ("strips", 2, "strip_phi_chi2", 10.0),
        ("back", 1, "back_eta_chi2", 10.0),
        ("middle", 1, "middle_strip_eta_mse", 1.0),
    ],
)
def test_each_geometry_metric_sees_only_its_own_layer(
    showers: ShowerArrays, layer: str, axis: int, metric: str, low: float
) -> None:
    """Mirroring one layer moves its <phi> or <eta> and nothing else: one metric grows, the others stay 0."""
    values = calo_metrics(CaloReference.from_showers(showers), mirrored(showers.cells, layer, axis))
    assert values[metric] > low  # measured: 22 (Strips phi), 34 (Back eta), 76 (Middle eta)
    others = {"strip_phi_chi2", "back_eta_chi2", "middle_strip_eta_mse", "response_chi2", "resolution_error"}
    assert all(values[name] == pytest.approx(0.0, abs=1e-12) for name in others - {metric})
    assert values["cov_mse"] > 0


def test_middle_strip_eta_mse_is_the_mse_of_the_2d_histograms(showers: ShowerArrays) -> None:
    """Closure with numpy: 20 x 20 bins over the reference's 0.5-99.5 % range widened by 10 % on each side."""
    middle = ss.eta_mean(showers.cells, "middle")
    strips = ss.eta_mean(showers.cells, "strips")

    def widened(x: np.ndarray) -> tuple[float, float]:
        lo, hi = np.quantile(x, [0.005, 0.995])
        return lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)

    ranges = [widened(middle), widened(strips)]
    ref, _, _ = np.histogram2d(middle, strips, bins=20, range=ranges)
    gen, _, _ = np.histogram2d(-middle, strips, bins=20, range=ranges)  # the Middle eta centres are symmetric
    expected = np.mean((ref - ref.sum() / gen.sum() * gen) ** 2)
    values = calo_metrics(CaloReference.from_showers(showers), mirrored(showers.cells, "middle", 1))
    assert values["middle_strip_eta_mse"] == pytest.approx(expected, rel=1e-12)


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
