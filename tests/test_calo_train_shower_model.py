"""The calorimeter GAN trained on a named tuning of the simulator (``--shower-model``) and validated on the same."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import hepnb.calo.simulate
import hepnb.calo.train
from hepnb.calo import validation
from hepnb.calo.data import split_train_reference
from hepnb.calo.gflash import SHOWER_MODELS, ShowerModel
from hepnb.calo.simulate import standard_dataset
from hepnb.calo.train import CaloTraining, train_calo
from hepnb.errors import InputError
from hepnb.training import EpochArchive

DOUBLE_ARCHIVE = Path(__file__).resolve().parents[1] / "data" / "calo" / "double"


def test_named_models_are_the_default_and_the_atlas_calibrated_tunings() -> None:
    assert {name: ShowerModel.named(name) for name in SHOWER_MODELS} == {
        "default": ShowerModel(),
        "atlas_lateral": ShowerModel.atlas_lateral(),
    }
    assert ShowerModel.named(None) == ShowerModel() != ShowerModel.atlas_lateral()
    with pytest.raises(InputError, match=r"unknown shower model 'atlas': use one of \['default', 'atlas_lateral'\]"):
        ShowerModel.named("atlas")


def test_a_training_config_records_the_default_as_none_and_refuses_unknown_models() -> None:
    assert CaloTraining(shower_model="default") == CaloTraining()  # resumes what was trained before the option
    assert CaloTraining(shower_model="atlas_lateral").shower_model == "atlas_lateral"
    with pytest.raises(InputError, match="unknown shower model 'wide'"):
        CaloTraining(shower_model="wide")


def test_a_training_simulates_its_named_model_records_it_and_resumes_only_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulated = []

    def spy(*args: object, **kwargs: object):
        simulated.append(kwargs["model"])
        return standard_dataset(*args, **kwargs)

    monkeypatch.setattr(hepnb.calo.train, "standard_dataset", spy)
    config = CaloTraining(epochs=1, every=1, fraction=0.02, n_metric_showers=300, shower_model="atlas_lateral")
    train_calo(tmp_path / "calo", config, progress=False)
    assert simulated == [ShowerModel.atlas_lateral()]
    record_path = tmp_path / "calo" / "training.json"
    record = json.loads(record_path.read_text())
    assert record["config"]["shower_model"] == "atlas_lateral"
    assert record["shower_model_parameters"] == ShowerModel.atlas_lateral().parameters()
    assert record["shower_model_parameters"]["moliere_mm"] == ShowerModel.atlas_lateral().moliere_mm != 36.0
    assert record["shower_model_parameters_since_epoch"] == 0  # recorded from the training's start
    with pytest.raises(InputError, match="resume with the same options"):  # the default model's data differ
        train_calo(tmp_path / "calo", CaloTraining(epochs=2, every=1, fraction=0.02, n_metric_showers=300))
    # the tuning changed after the training started (as atlas_lateral's cutoff did once): not resumed, nothing simulated
    record["shower_model_parameters"] |= {"moliere_mm": 40.0}
    record_path.write_text(json.dumps(record))
    longer = CaloTraining(epochs=2, every=1, fraction=0.02, n_metric_showers=300, shower_model="atlas_lateral")
    moliere = ShowerModel.atlas_lateral().moliere_mm
    with pytest.raises(InputError, match=rf"has changed since \(moliere_mm 40.0 -> {moliere!r}\): restore its earlier"):
        train_calo(tmp_path / "calo", longer, progress=False)
    assert len(simulated) == 1 and EpochArchive(tmp_path / "calo").last_epoch == 1
    with pytest.raises(InputError, match=r"as it was then, and that tuning has changed since \(moliere_mm 40.0"):
        validation.check_archive(tmp_path / "calo", fraction=0.02, seed=1, shower_model="atlas_lateral")
    record["shower_model_parameters"]["moliere_mm"] = moliere
    record_path.write_text(json.dumps(record))
    train_calo(tmp_path / "calo", longer, progress=False)
    assert len(simulated) == 2 and EpochArchive(tmp_path / "calo").last_epoch == 2
    assert "'atlas_lateral' shower model (its parameters recorded) in" in validation.check_archive(
        tmp_path / "calo", fraction=0.02, seed=1, shower_model="atlas_lateral"
    )
    # a training started before the field was recorded gets it on resuming, from the epoch its record had reached
    record = json.loads(record_path.read_text())
    del record["shower_model_parameters"], record["shower_model_parameters_since_epoch"]
    record_path.write_text(json.dumps(record))
    assert "(by name only)" in validation.check_archive(
        tmp_path / "calo", fraction=0.02, seed=1, shower_model="atlas_lateral"
    )
    train_calo(tmp_path / "calo", CaloTraining(**{**asdict(longer), "epochs": 3}), progress=False)
    record = json.loads(record_path.read_text())
    assert record["shower_model_parameters_since_epoch"] == 2 and record["epochs_done"] == 3
    assert "(its parameters recorded from epoch 2) in" in validation.check_archive(
        tmp_path / "calo", fraction=0.02, seed=1, shower_model="atlas_lateral"
    )
    record["shower_model_parameters"] = [48.0]  # damaged: refused with the file named, nothing simulated
    record_path.write_text(json.dumps(record))
    with pytest.raises(
        InputError, match=r"training.json: recorded shower-model parameters must be an object .* not list"
    ):
        validation.check_archive(tmp_path / "calo", fraction=0.02, seed=1, shower_model="atlas_lateral")
    with pytest.raises(InputError, match=r"training.json: recorded shower-model parameters must be an object"):
        train_calo(tmp_path / "calo", CaloTraining(**{**asdict(longer), "epochs": 4}), progress=False)
    assert len(simulated) == 3


def test_a_parameter_added_to_the_model_since_a_record_counts_as_changed_only_when_set() -> None:
    before_the_cutoff = {k: v for k, v in ShowerModel().parameters().items() if k != "max_radius_mm"}
    assert ShowerModel().changed_since(before_the_cutoff) == {}  # None now: the earlier behaviour
    atlas = ShowerModel.atlas_lateral()
    earlier_atlas = {k: v for k, v in atlas.parameters().items() if k != "max_radius_mm"}
    assert atlas.changed_since(earlier_atlas) == {"max_radius_mm": (None, atlas.max_radius_mm)}
    assert atlas.changed_since(earlier_atlas | {"retired": 1.0}) == {
        "max_radius_mm": (None, atlas.max_radius_mm),
        "retired": (1.0, None),
    }


def test_check_archive_refuses_a_training_on_another_shower_model(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--seed 1 --fraction 1 --shower-model atlas_lateral` "):
        validation.check_archive(tmp_path / "missing", fraction=1.0, seed=1, shower_model="atlas_lateral")
    (tmp_path / "index.json").write_text("{}")
    record = {"config": {"fraction": 1.0, "seed": 1}, "epochs_done": 3, "hardware": {}, "command": "hepnb ..."}
    (tmp_path / "training.json").write_text(json.dumps(record))  # a record from before the option: the default
    assert "showers of the 'default' shower model (by name only)" in validation.check_archive(
        tmp_path, fraction=1.0, seed=1
    )
    with pytest.raises(InputError, match="not 'atlas_lateral'.*or use an archive trained on 'atlas_lateral'"):
        validation.check_archive(tmp_path, fraction=1.0, seed=1, shower_model="atlas_lateral")
    record["config"]["shower_model"] = "atlas_lateral"
    (tmp_path / "training.json").write_text(json.dumps(record))
    assert "'atlas_lateral' shower model" in validation.check_archive(
        tmp_path, fraction=1.0, seed=1, shower_model="atlas_lateral"
    )
    with pytest.raises(InputError, match="trained on the 'atlas_lateral' shower model, not 'default': validate it"):
        validation.check_archive(tmp_path, fraction=1.0, seed=1)
    with pytest.raises(InputError, match="unknown shower model"):
        validation.check_archive(tmp_path, fraction=1.0, seed=1, shower_model="ATLAS")


def test_the_reference_half_comes_from_the_trainings_model_and_its_cache_is_kept_apart(tmp_path: Path) -> None:
    cache = tmp_path / "reference.npz"
    default = validation.training_reference(0.02, 4, cache=cache)
    atlas = validation.training_reference(0.02, 4, cache=cache, shower_model="atlas_lateral")
    showers = standard_dataset(0.02, seed=4, model=ShowerModel.atlas_lateral())
    _, held_out = split_train_reference(len(showers), 4)
    expected = np.clip(showers.cells[held_out], 0.0, None)
    np.testing.assert_array_equal(atlas.cells, expected)
    np.testing.assert_array_equal(atlas.energy, default.energy)  # the same conditions, wider showers
    assert not np.array_equal(atlas.cells, default.cells)
    with np.load(cache) as stored:
        assert str(stored["key"]).endswith(";model=atlas_lateral")
    # the cache now holds the atlas half: the default is simulated again, not read from it, under its old key
    np.testing.assert_array_equal(validation.training_reference(0.02, 4, cache=cache).cells, default.cells)
    with np.load(cache) as stored:
        assert str(stored["key"]).startswith("fraction=0.02;seed=4;simulator=") and "model" not in str(stored["key"])


def test_the_tail_check_simulates_the_trainings_model(monkeypatch: pytest.MonkeyPatch) -> None:
    class Simulated(Exception):
        """Raised by the spy once the simulator has been called."""

    def spy(*args: object, **kwargs: object) -> None:
        raise Simulated(kwargs["model"])

    monkeypatch.setattr(hepnb.calo.simulate, "simulate", spy)
    archive = EpochArchive(DOUBLE_ARCHIVE)
    for name, expected in ((None, ShowerModel()), ("atlas_lateral", ShowerModel.atlas_lateral())):
        with pytest.raises(Simulated) as simulated:
            validation.physical_checkpoints(archive, seed=1, n_showers=100, shower_model=name)
        assert simulated.value.args == (expected,)


@pytest.mark.parametrize("critics", ["double", "single"])
def test_the_calibrated_model_trainings_ship_every_50th_epoch_with_their_model_recorded(critics: str) -> None:
    """``data/calo/atlas_double``, ``atlas_single``: 1,000 epochs on ``ShowerModel.atlas_lateral()`` (trained in
    resumed parts), the generator every 50 epochs and every epoch's metrics, with today's parameters of that model
    recorded from the epoch the training was first resumed with the record (data/README.md)."""
    from hepnb.calo.gan import CaloGAN

    archive = EpochArchive(DOUBLE_ARCHIVE.parent / f"atlas_{critics}")
    record = json.loads((archive.path / "training.json").read_text())
    assert record["config"]["shower_model"] == "atlas_lateral"
    assert record["config"]["double_critic"] is (critics == "double")
    assert record["epochs_done"] == 1000 and archive.history.index.tolist() == list(range(1, 1001))
    assert archive.epochs == list(range(50, 1001, 50))
    assert all(archive._entry(epoch).get("compact") for epoch in archive.epochs)  # the generator only, fp16
    assert ShowerModel.atlas_lateral().changed_since(record["shower_model_parameters"]) == {}
    assert record["shower_model_parameters_since_epoch"] == {"double": 400, "single": 425}[critics]
    assert "(its parameters recorded from epoch" in validation.check_archive(
        archive.path, fraction=1.0, seed=1, shower_model="atlas_lateral"
    )
    model = archive.load(1000)
    assert isinstance(model, CaloGAN) and model.hparams["double_critic"] is (critics == "double")
