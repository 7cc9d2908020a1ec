"""The calorimeter GAN with a bounded total response (``max_response``): the bound holds whatever the weights, and
the shipped bounded trainings pass the 1 GeV tail test that the thesis generator's picked epoch fails."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import hepnb.calo.train
from hepnb.calo.data import N_CELLS, N_CONDITION
from hepnb.calo.gan import CaloGAN
from hepnb.calo.networks import Generator, count_parameters, keras_init
from hepnb.calo.simulate import simulate
from hepnb.calo.train import CaloTraining, train_calo
from hepnb.calo.validation import as_shower_arrays, generate_like
from hepnb.calo.validation.physical import tail_excess
from hepnb.errors import InputError
from hepnb.training import EpochArchive
from hepnb.training.record import TrainingRecord

pytestmark = pytest.mark.usefixtures("torch_single_thread")

SMALL = {"latent_dim": 8, "generator_first_width": 16, "generator_width": 16, "generator_depth": 2, "critic_width": 16}


def provoked(model: CaloGAN, scale: float) -> CaloGAN:
    """``model`` with its output layer's weights and biases multiplied by ``scale``: extreme, saturated outputs."""
    with torch.no_grad():
        model.generator.output_layer.weight.mul_(scale)
        model.generator.output_layer.bias.fill_(3.0)
    return model


def test_one_more_output_unit_than_the_thesis_generator() -> None:
    # the response unit: 128 weights and a bias on top of the thesis's 337,499 parameters
    assert count_parameters(Generator(max_response=2.0)) == 337_499 + 129
    assert count_parameters(Generator()) == 337_499


def test_the_total_response_stays_below_the_bound_where_the_sigmoid_cells_do_not() -> None:
    z, c = 5 * torch.randn(2000, 8), torch.randn(2000, N_CONDITION)
    bounded = provoked(CaloGAN(max_response=2.0, seed=1, **SMALL), 50.0)
    thesis = provoked(CaloGAN(seed=1, **SMALL), 50.0)  # the positive control: the same weights, one sigmoid per cell
    with torch.no_grad():
        response, free = bounded(z, c).sum(1), thesis(z, c).sum(1)
    assert free.max() > 100  # hundreds of cells each near 1: a response of order N_CELLS
    assert response.max() <= 2.0 * (1 + 1e-6)  # float32 saturates the sigmoid at exactly 1
    assert response.min() > 0
    # and in physical units: no generated shower above 2 x E_true at 1.024 GeV
    energy = np.full(3000, 1.024)
    cells = bounded.generate(energy, 3, 1, 0.0, 0.0, seed=4)
    assert cells.shape == (3000, N_CELLS) and (cells >= 0).all()
    assert (cells.sum(1) / energy).max() <= 2.0 * (1 + 1e-6)
    assert (thesis.generate(energy, 3, 1, 0.0, 0.0, seed=4).sum(1) / energy).max() > 100


def test_a_fresh_bounded_generator_starts_near_half_the_bound() -> None:
    # the thesis's shape with the Keras initialisation (zero biases): the response unit starts near sigmoid(0) = 1/2
    generator = Generator(max_response=3.0)
    keras_init(generator, torch.Generator().manual_seed(2))
    with torch.no_grad():
        response = generator(torch.randn(500, 300), torch.randn(500, N_CONDITION)).sum(1)
    assert abs(float(response.mean()) - 1.5) < 0.02 and float(response.std()) < 0.02


def test_output_bias_starts_the_response_at_that_fraction_of_the_bound() -> None:
    model = CaloGAN(max_response=2.0, output_bias=float(np.log(0.45 / 0.55)), seed=2, **SMALL)
    with torch.no_grad():
        model.generator.output_layer.weight.zero_()
        cells = model(torch.randn(10, 8), torch.randn(10, N_CONDITION))
    torch.testing.assert_close(cells.sum(1), torch.full((10,), 0.9))  # 2 x 0.45, shared equally among the cells
    torch.testing.assert_close(cells, torch.full((10, N_CELLS), 0.9 / N_CELLS))


def test_infer_gives_the_bytes_of_forward() -> None:
    generator = Generator(max_response=2.0)
    keras_init(generator, torch.Generator().manual_seed(1))
    z, c = torch.randn(64, 300), torch.rand(64, N_CONDITION)
    with torch.no_grad():
        expected = generator(z, c)
    assert torch.equal(generator.infer(torch.cat([z, c], dim=1)), expected)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_bad_bounds_are_refused(bad: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="must be a finite positive bound"):
        Generator(max_response=bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be a finite positive bound"):
        CaloGAN(max_response=bad, **SMALL)  # type: ignore[arg-type]

    def simulate(*args: object, **kwargs: object) -> None:
        raise AssertionError("showers were simulated before the options were checked")

    monkeypatch.setattr(hepnb.calo.train, "standard_dataset", simulate)
    with pytest.raises(InputError, match="must be a finite positive bound"):
        train_calo(tmp_path / "calo", CaloTraining(epochs=1, fraction=0.02, max_response=bad), progress=False)  # type: ignore[arg-type]
    assert not (tmp_path / "calo").exists()


def test_numpy_numbers_are_bounds() -> None:
    assert Generator(max_response=np.float32(2.0)).max_response == 2.0
    assert Generator(max_response=np.int64(3)).max_response == 3.0


def test_the_bound_travels_with_the_hyper_parameters() -> None:
    model = provoked(CaloGAN(max_response=2.0, seed=3, **SMALL), 10.0)
    rebuilt = CaloGAN(**model.hparams)
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.generator.max_response == 2.0
    args = (np.full(50, 8.192), 1, 0, 0.001, 0.002)
    assert rebuilt.generate(*args, seed=5).tobytes() == model.generate(*args, seed=5).tobytes()


def test_a_bounded_training_records_the_bound_and_its_archive_loads_bounded(tmp_path: Path) -> None:
    config = CaloTraining(epochs=1, every=1, fraction=0.02, n_metric_showers=300, max_response=2.0)
    archive = train_calo(tmp_path / "calo", config, progress=False)
    assert json.loads((tmp_path / "calo" / "training.json").read_text())["config"]["max_response"] == 2.0
    model = archive.load(1)  # rebuilt from the checkpoint's hyper-parameters
    assert model.generator.max_response == 2.0 and model.generator.output_layer.out_features == N_CELLS + 1
    energy = np.full(200, 1024.0)  # MeV, the training's unit
    assert (model.generate(energy, 3, 1, 0.0, 0.0, seed=1).sum(1) / energy).max() <= 2.0 * (1 + 1e-6)
    with pytest.raises(InputError, match="resume with the same options"):  # the unbounded GAN is another training
        train_calo(tmp_path / "calo", CaloTraining(epochs=2, every=1, fraction=0.02, n_metric_showers=300))


def test_a_record_from_before_the_option_resumes_only_without_it(tmp_path: Path) -> None:
    path = tmp_path / "archive"
    path.mkdir()
    earlier = {"epochs": 400, "seed": 1}  # written before max_response existed
    (path / "training.json").write_text(json.dumps({"command": "x", "config": earlier, "epochs_done": 3}))
    record = TrainingRecord(path, "hepnb train calo")
    record.check_same("config", {"epochs": 800, "seed": 1, "max_response": None}, ignore=("epochs",))  # resumes
    with pytest.raises(InputError, match="resume with the same options"):
        record.check_same("config", {"epochs": 800, "seed": 1, "max_response": 2.0}, ignore=("epochs",))
    with pytest.raises(InputError, match="resume with the same options"):
        record.check_same("config", {"epochs": 800, "seed": 2, "max_response": None}, ignore=("epochs",))


# ---------------------------------------------------------------------------------------- the shipped trainings
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "calo"
BOUNDED_TRAININGS = {1: "bounded", 2: "bounded_seed2"}
"""Data seed -> the shipped bounded-response trainings of the double critic (``data/README.md``, notebook 01)."""
TAIL_SEED = 37
"""Seed of this test's 1 GeV photons and latents: no notebook or other test uses it (notebook 01: 104)."""


@pytest.mark.parametrize(("seed", "name"), BOUNDED_TRAININGS.items())
def test_the_shipped_bounded_trainings_record_the_bound(seed: int, name: str) -> None:
    # that each ships the rule's epoch with its whole history: tests/test_calo_seeds.py
    config = json.loads((SHIPPED / name / "training.json").read_text())["config"]
    assert (config["max_response"], config["seed"], config["double_critic"], config["epochs"]) == (
        2.0,
        seed,
        True,
        1000,
    )


def test_the_shipped_bounded_trainings_pass_the_tail_test_that_the_thesis_generators_epoch_fails() -> None:
    """On 50,000 fresh 1 GeV photons (a seed no notebook uses), each bounded training at its shipped epoch has no
    shower above 2 x E_true and no excess above 1.5 x E_true over the simulator; the thesis generator's shipped
    double critic at the epoch its rule picks (650), on the same showers, fails: the test fails if the bound is lost.
    """
    showers = as_shower_arrays(simulate(50_000, [1024.0], seed=TAIL_SEED, progress=False))
    reference = showers.cells.sum(axis=1) / showers.energy
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found keys that are in the model state dict")
        models = {name: EpochArchive(SHIPPED / name).load() for name in BOUNDED_TRAININGS.values()}
        models["double"] = EpochArchive(SHIPPED / "double").load(650)
    checked = {
        name: tail_excess(reference, generate_like(model, showers, seed=TAIL_SEED).sum(axis=1) / showers.energy)
        for name, model in models.items()
    }
    # measured on one thread: 0 and 2 showers above 1.5 x E_true (largest 1.38 and 1.51), the simulator 0, so up to 6
    # would pass; epoch 650: 69 above 1.5 and 28 above 2 (largest 9.2). Over notebook 01's PHYSICAL_SEED 104 / 105 /
    # 106: 0 / 0 / 0 and 1 / 2 / 1 above 1.5 (benchmarks/bench_calo_bounded.py)
    for name in BOUNDED_TRAININGS.values():
        assert checked[name]["passes"] and checked[name]["max"] <= 2.0 * (1 + 1e-6), (name, checked[name])
    assert not checked["double"]["passes"] and checked["double"]["max"] > 2.0, checked["double"]
