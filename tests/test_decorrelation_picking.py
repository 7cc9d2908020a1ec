"""Epoch picking by flatness: the EpochPicker's flatness rule, and training on until the threshold curve is flat."""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from decorrelation_toys import mass_toy

from hepnb.decorrelation import datasets as ds
from hepnb.decorrelation import picking, scan
from hepnb.decorrelation.models import Classifier
from hepnb.errors import InputError
from hepnb.training import EpochArchive, loop
from hepnb.widgets import EpochPicker

pytestmark = pytest.mark.usefixtures("torch_single_thread")

# epoch 3: the flattest within 0.01 of the best AUC (epoch 4); epoch 5: flatter still, but its score collapsed
HISTORY = pd.DataFrame(
    {
        "flatness_80": [4.0, 2.0, 1.0, 3.0, 0.2],
        "flatness_90": [5.0, 2.5, 1.5, 3.0, 0.3],
        "dcorr_background": [0.1, 0.05, 0.02, 0.04, 0.0],
        "r50": [5.0, 8.0, 9.0, 10.0, np.nan],
        "inv_jsd50": [3.0, 6.0, 9.0, 5.0, np.nan],
        "auc": [0.80, 0.905, 0.907, 0.91, 0.60],
    },
    index=pd.Index([1, 2, 3, 4, 5], name="epoch"),
)


def _archive(path: Path, history: pd.DataFrame = HISTORY) -> EpochArchive:
    """An archive with the metrics of ``history`` and placeholder checkpoints (the picker never loads them)."""
    archive = EpochArchive(path)
    for epoch, row in history.iterrows():
        archive.append_metrics(int(epoch), row.to_dict())
        file = archive.checkpoint_file(int(epoch))
        file.write_bytes(f"placeholder checkpoint of epoch {epoch}".encode())
        archive.add_checkpoint(int(epoch), file, Classifier(2))
    return archive


@pytest.fixture(scope="module")
def toy() -> ds.DecorrelationDataset:
    return mass_toy()


def _until(toy: ds.DecorrelationDataset, folder: Path, target: float, start: int, stop: int) -> picking.UntilFlat:
    return picking.train_until_flat(
        toy, "disco", 5.0, 1, folder, flatness_target=target, start_epochs=start, max_epochs=stop
    )


def test_picker_ranks_flatness_among_epochs_that_still_separate(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a")
    picker = picking.flatness_picker(archive, manifest=tmp_path / "choice.json")
    assert isinstance(picker, EpochPicker)
    assert picker.weights == {"flatness": 1.0, "flatness_80": 0.0, "flatness_90": 0.0, "auc": 0.0}
    assert picker.higher_is_better == ["auc"]
    # within 0.01 of the best AUC (0.91): epochs 2, 3, 4; mean flatness 2.25, 1.25, 3 -> epoch 3, as pick_epoch
    assert picker.candidates == [2, 3, 4]
    assert picker.ranking()["score"].tolist() == [1.0, 2.0, 3.0]
    assert picker.ranking().index.tolist() == [3, 2, 4]
    assert picker.epoch == 3 == scan.pick_epoch(HISTORY)
    # without the AUC cut the collapsed epoch 5 (flat because it no longer separates) wins the flatness ranks
    loose = picking.flatness_picker(archive, auc_tolerance=None)
    assert loose.ranking().index.tolist() == [5, 3, 2, 4, 1] and loose.epoch == 5
    # a positive AUC weight (set in the widget) moves that choice back to the flat epoch that still separates:
    # with the AUC ranks 4, 3, 2, 1, 5 the mean ranks are 14/3, 3, 2, 3, 7/3
    assert loose.automatic({"flatness_80": 1.0, "flatness_90": 1.0, "auc": 1.0}).epoch == 3
    # up to epoch 2 (as scan.train(..., max_epochs=2) sees the archive) the best AUC is 0.905: epoch 2 alone
    early = picking.flatness_picker(archive, max_epoch=2)
    assert early.candidates == [2] and early.epoch == 2 == scan.pick_epoch(HISTORY.loc[:2])
    assert len(early.plot_metrics(2).axes) == 4  # flatness, flatness_80, flatness_90 and auc
    plt.close("all")
    saved = picker.save(4)
    assert saved.rule == "manual" and picking.flatness_picker(archive, manifest=tmp_path / "choice.json").epoch == 4


def test_picker_takes_the_scans_epoch_where_a_mean_rank_would_not(tmp_path: Path) -> None:
    # flatness_80 ranks epochs 1, 3, 2 and flatness_90 ranks 2, 3, 1: their mean ranks tie (2 each, the later epoch 3
    # would win), while the mean flatness 0.11, 0.075, 0.09 is smallest at epoch 2
    history = pd.DataFrame(
        {"flatness_80": [0.02, 0.05, 0.03], "flatness_90": [0.20, 0.10, 0.15], "auc": [0.90, 0.90, 0.90]},
        index=pd.Index([1, 2, 3], name="epoch"),
    )
    picker = picking.flatness_picker(_archive(tmp_path / "a", history))
    assert picker.epoch == 2 == scan.pick_epoch(history)
    assert picker.automatic({"flatness_80": 1.0, "flatness_90": 1.0}).epoch == 3  # the mean rank, for contrast
    assert picker.ranking()["flatness"].round(3).tolist() == [0.075, 0.09, 0.11]


def test_picker_and_scan_rule_agree_on_random_histories(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        n = int(rng.integers(2, 9))
        history = pd.DataFrame(
            {
                "flatness_80": rng.uniform(0.01, 0.1, n),
                "flatness_90": rng.uniform(0.01, 0.1, n),
                "auc": rng.uniform(0.88, 0.91, n),  # the 0.01 tolerance keeps some epochs and drops others
            },
            index=pd.Index(range(1, n + 1), name="epoch"),
        )
        history.loc[int(rng.integers(1, n + 1)), "flatness_90"] = np.nan  # an epoch without a threshold curve
        archive = _archive(tmp_path / f"t{trial}", history)
        close = history["auc"] >= history["auc"].max() - 0.01
        if history.loc[close, "flatness_90"].notna().any():
            assert picking.flatness_picker(archive).epoch == scan.pick_epoch(history), (trial, history)
        else:  # no candidate has a threshold curve: the scan falls back to the best AUC, the picker says why
            with pytest.raises(InputError, match="defined flatness"):
                picking.flatness_picker(archive)


def test_bad_derived_metrics_and_a_history_without_flatness_are_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a")
    with pytest.raises(InputError, match="already recorded"):
        EpochPicker(archive, weights={"auc": 1.0}, derived={"auc": scan.mean_flatness})
    with pytest.raises(InputError, match="one value per epoch"):
        EpochPicker(archive, weights={"auc": 1.0}, derived={"x": lambda h: [1.0, 2.0]})
    with pytest.raises(InputError, match="is not numbers"):
        EpochPicker(archive, weights={"auc": 1.0}, derived={"x": lambda h: ["a"] * len(h)})
    with pytest.raises(InputError, match="could not be computed.*'nope'"):
        EpochPicker(archive, weights={"auc": 1.0}, derived={"x": lambda h: h["nope"]})
    with pytest.raises(InputError, match=r"is indexed by \[1, 2\], the history by the epochs \[1, 2, 3, 4, 5\]"):
        EpochPicker(archive, weights={"auc": 1.0}, derived={"x": lambda h: h["auc"].iloc[:2]})
    # a Series in another order is aligned on the epochs, not on the positions
    reverse = EpochPicker(archive, weights={"x": 1.0}, derived={"x": lambda h: h["auc"].iloc[::-1]})
    assert reverse.ranking()["x"].to_dict() == HISTORY["auc"].to_dict()  # every epoch keeps its own AUC
    with pytest.raises(InputError, match="functions of the history"):
        EpochPicker(archive, weights={"auc": 1.0}, derived={"x": 3.0})
    with pytest.raises(InputError, match=r"records no \['flatness_90'\]"):
        picking.flatness_picker(_archive(tmp_path / "b", HISTORY.drop(columns="flatness_90")))


def test_ties_go_to_the_later_epoch_and_an_undefined_flatness_is_never_picked(tmp_path: Path) -> None:
    history = pd.DataFrame(
        {"flatness_80": [0.01, 0.03, 0.02, 0.03], "flatness_90": [np.nan, 0.01, 0.02, 0.01], "auc": [0.9] * 4},
        index=pd.Index([1, 2, 3, 4], name="epoch"),
    )
    # epoch 1's flatness_80 is the smallest, but its flatness_90 is undefined; epochs 2, 3 and 4 tie at 0.02
    assert scan.pick_epoch(history) == 4 == picking.flatness_picker(_archive(tmp_path / "a", history)).epoch
    assert scan.pick_epoch(history.iloc[::-1].reset_index()) == 4  # rows in any order


def test_the_best_auc_counts_every_recorded_epoch_not_only_the_checkpointed_ones(tmp_path: Path) -> None:
    history = pd.DataFrame(
        {"flatness_80": [0.01, 0.05, 0.03], "flatness_90": [0.01, 0.05, 0.03], "auc": [0.895, 0.91, 0.905]},
        index=pd.Index([1, 2, 3], name="epoch"),
    )
    archive = _archive(tmp_path / "a", history)
    archive.prune([1, 3])  # epoch 2, the best AUC, keeps its metrics but loses its checkpoint
    # epoch 1 is 0.015 below the best AUC: a candidate of neither rule, though the checkpoints alone peak at 0.905
    assert picking.flatness_picker(archive).epoch == 3 == scan.pick_epoch(history)


def test_a_history_without_auc_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no AUC"):
        scan.pick_epoch(HISTORY.assign(auc=np.nan))
    with pytest.raises(InputError, match="no AUC"):
        picking.flatness_picker(_archive(tmp_path / "a", HISTORY.assign(auc=np.nan)))


def test_undefined_aucs_and_flatness_are_left_out_or_explained(tmp_path: Path) -> None:
    history = HISTORY.assign(auc=[0.80, np.nan, 0.907, 0.91, 0.60])  # epoch 2 without AUC
    loose = picking.flatness_picker(_archive(tmp_path / "a", history), auc_tolerance=None)
    assert 2 not in loose.candidates and loose.epoch == 5
    no_curve = HISTORY.assign(flatness_90=np.nan)
    with pytest.raises(InputError, match=r"threshold curve\): record the metrics on more validation events"):
        picking.flatness_picker(_archive(tmp_path / "b", no_curve), auc_tolerance=None)
    with pytest.raises(InputError, match="within auc_tolerance=0.01 of the best AUC.*pass auc_tolerance=None"):
        picking.flatness_picker(_archive(tmp_path / "c", no_curve))


@pytest.mark.parametrize("tolerance", [-0.1, 1.0, True, "0.01"])
def test_picker_refuses_a_bad_auc_tolerance(tmp_path: Path, tolerance) -> None:
    with pytest.raises(InputError, match="auc_tolerance"):
        picking.flatness_picker(_archive(tmp_path / "a"), auc_tolerance=tolerance)


@pytest.mark.parametrize(("max_epoch", "message"), [(0, "whole number"), (2.0, "whole number"), (True, "whole")])
def test_picker_refuses_bad_max_epoch(tmp_path: Path, max_epoch, message) -> None:
    with pytest.raises(InputError, match=message):
        picking.flatness_picker(_archive(tmp_path / "a"), max_epoch=max_epoch)


def test_picker_refuses_a_max_epoch_before_every_checkpoint(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a", HISTORY.loc[3:])
    with pytest.raises(InputError, match="no checkpointed epoch up to max_epoch=2"):
        picking.flatness_picker(archive, max_epoch=2)


def test_train_until_flat_stops_as_soon_as_the_target_is_reached(toy: ds.DecorrelationDataset, tmp_path: Path) -> None:
    generous = _until(toy, tmp_path / "a", 1.0, 2, 5)
    assert generous.reached and generous.epochs == 2 and list(generous.flatness) == [2]
    assert generous.training.archive.epochs == [1, 2] and generous.target == 1.0
    impossible = _until(toy, tmp_path / "a", 1e-9, 2, 5)  # resumes the same archive to max_epochs
    assert not impossible.reached and impossible.epochs == 5 and list(impossible.flatness) == [2, 3, 4, 5]
    assert impossible.training.archive.epochs == [1, 2, 3, 4, 5]
    assert impossible.flatness[2] == generous.flatness[2]
    history = impossible.training.archive.history
    for epoch, flatness in impossible.flatness.items():  # the flatness of scan.pick_epoch's epoch at each step
        picked = scan.pick_epoch(history.loc[:epoch])
        assert flatness == pytest.approx(history.loc[picked, ["flatness_80", "flatness_90"]].mean())
    assert impossible.training.epoch == scan.pick_epoch(history)
    # a target first met after some steps: a fresh training stops right there
    steps = list(impossible.flatness.items())
    later = [(e, f) for i, (e, f) in enumerate(steps) if i > 0 and f < min(g for _, g in steps[:i])]
    assert later, f"the toy's flatness never improves after the first step: {impossible.flatness}"
    epoch, target = later[0]
    middle = _until(toy, tmp_path / "b", target, 2, 5)
    assert middle.reached and middle.epochs == epoch and middle.training.archive.last_epoch == epoch
    assert middle.flatness == {e: f for e, f in impossible.flatness.items() if e <= epoch}


def test_steps_of_a_few_batches_train_their_own_archive(toy: ds.DecorrelationDataset, tmp_path: Path) -> None:
    # the toy trains 1,000 events in batches of 128: 7 whole batches per epoch (the last is dropped), 3 per step here
    stepped = picking.train_until_flat(
        toy, "disco", 5.0, 1, tmp_path, flatness_target=1e-9, start_epochs=1, max_epochs=3, step_batches=3
    )
    assert not stepped.reached and stepped.epochs == 3 and list(stepped.flatness) == [1, 2, 3]
    assert stepped.training.archive.path.name == "lam5-seed1-b128-s3"
    # resumed step by step, it is the training of three 3-batch steps in one go
    straight = scan.train(toy, "disco", 5.0, 1, tmp_path / "straight", max_epochs=3, limit_train_batches=3)
    pd.testing.assert_frame_equal(stepped.training.archive.history, straight.archive.history)
    # a step is not an epoch: the whole-epoch training in the same folder is another archive, and differs
    whole = scan.train(toy, "disco", 5.0, 1, tmp_path, max_epochs=1)
    assert whole.archive.path.name == "lam5-seed1-b128" and whole.archive.last_epoch == 1
    assert whole.archive.history.loc[1, "auc"] != stepped.training.archive.history.loc[1, "auc"]
    assert stepped.training.archive.last_epoch == 3  # untouched by it


def test_min_auc_keeps_training_a_flat_classifier_that_does_not_separate_yet(
    toy: ds.DecorrelationDataset, tmp_path: Path
) -> None:
    flat_enough = _until(toy, tmp_path, 1.0, 1, 4)  # any flatness passes: it stops after the first epoch
    history = flat_enough.training.archive.history
    assert flat_enough.reached and flat_enough.epochs == 1
    # asking for more separation than its first epoch has: it trains on until an epoch separates that well
    needed = float(history.loc[1, "auc"]) + 1e-6
    stricter = picking.train_until_flat(
        toy, "disco", 5.0, 1, tmp_path, flatness_target=1.0, start_epochs=1, max_epochs=4, min_auc=needed
    )
    assert stricter.epochs > 1 and stricter.min_auc == needed and flat_enough.min_auc is None
    history = stricter.training.archive.history
    picked_auc = {step: history.loc[scan.pick_epoch(history.loc[:step]), "auc"] for step in stricter.flatness}
    assert stricter.auc == picked_auc  # the picked epoch's AUC, not the best one
    assert all(picked_auc[step] < needed for step in list(stricter.flatness)[:-1])  # no earlier stop
    assert stricter.reached == (picked_auc[stricter.epochs] >= needed)


def test_a_second_call_reads_the_archive_back(
    toy: ds.DecorrelationDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _until(toy, tmp_path, 1e-9, 1, 3)
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def no_training(*args, **kwargs):
        raise AssertionError("train_until_flat trained again")

    monkeypatch.setattr(loop, "_train", no_training)
    start = time.perf_counter()
    again = _until(toy, tmp_path, 1e-9, 1, 3)
    seconds = time.perf_counter() - start
    assert (again.epochs, again.reached, again.flatness) == (first.epochs, first.reached, first.flatness)
    assert again.training.epoch == first.training.epoch and again.training.seconds == first.training.seconds
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == files
    assert seconds < 5
    # another target on the same archive reads the first steps back and stops at start_epochs
    generous = _until(toy, tmp_path, 1.0, 1, 3)
    assert generous.epochs == 1 and generous.reached and generous.training.epoch == 1
    assert generous.flatness == {1: first.flatness[1]} and generous.training.archive.epochs == [1, 2, 3]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"flatness_target": 0.0}, "flatness_target"),
        ({"flatness_target": -0.01}, "flatness_target"),
        ({"flatness_target": float("nan")}, "flatness_target"),
        ({"flatness_target": float("inf")}, "flatness_target"),
        ({"flatness_target": True}, "flatness_target"),
        ({"flatness_target": "0.01"}, "flatness_target"),
        ({"start_epochs": 0}, "start_epochs must be a whole number >= 1"),
        ({"start_epochs": 1.5}, "start_epochs must be a whole number"),
        ({"max_epochs": 2.0}, "max_epochs must be a whole number"),
        ({"start_epochs": 4, "max_epochs": 3}, "exceeds max_epochs"),
        ({"step_batches": 0}, "step_batches must be a whole number >= 1"),
        ({"step_batches": 51.0}, "step_batches must be a whole number"),
        ({"step_batches": 51, "limit_train_batches": 10}, "not both"),
        ({"min_auc": 0.3}, "min_auc must be a number in"),
        ({"min_auc": "0.9"}, "min_auc must be a number in"),
    ],
)
def test_train_until_flat_refuses_bad_inputs(toy: ds.DecorrelationDataset, tmp_path: Path, options, message) -> None:
    arguments = {"flatness_target": 0.01, "start_epochs": 1, "max_epochs": 3, **options}
    with pytest.raises(InputError, match=message):
        picking.train_until_flat(toy, "disco", 5.0, 1, tmp_path, **arguments)
    assert not any(tmp_path.iterdir())  # refused before any training
