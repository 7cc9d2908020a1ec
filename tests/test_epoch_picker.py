"""EpochPicker: the weighted-rank rule, the manifest round trip, and the widget driven by hand."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import matplotlib
import numpy as np
import pandas as pd
import pytest

from hepnb.errors import InputError
from hepnb.examples.dimuon import DimuonGAN
from hepnb.hists import Comparison
from hepnb.training import EpochArchive
from hepnb.widgets import Choice, EpochPicker, rank_epochs

matplotlib.use("Agg")

HISTORY = pd.DataFrame(
    {"chi2": [5.0, 3.0, 1.0, 2.0, 4.0], "auc": [0.9, 0.6, 0.8, 0.55, 0.7], "w1": [1.0, 1.0, 1.0, 1.0, 1.0]},
    index=pd.Index([1, 2, 3, 4, 5], name="epoch"),
)


def make_archive(
    path: Path, history: pd.DataFrame = HISTORY, checkpoints: tuple[int, ...] = (1, 2, 3, 4, 5), training: str = "first"
) -> EpochArchive:
    archive = EpochArchive(path)
    model = DimuonGAN()
    for epoch, row in history.iterrows():
        archive.append_metrics(int(epoch), row.to_dict())
    for epoch in checkpoints:
        file = archive.checkpoint_file(epoch)
        file.write_bytes(f"placeholder checkpoint of epoch {epoch} of the {training} training, never loaded".encode())
        archive.add_checkpoint(epoch, file, model)
    return archive


def test_weighted_rank_on_hand_computed_history() -> None:
    table = rank_epochs(HISTORY, {"chi2": 1.0})
    assert table.index.tolist() == [3, 4, 2, 5, 1]
    table = rank_epochs(HISTORY, {"chi2": 1.0, "auc": 1.0}, higher_is_better=["auc"])
    # chi2 ranks 5,3,1,2,4; auc (higher better) ranks 1,4,2,5,3 -> mean 3,3.5,1.5,3.5,3.5
    assert table.loc[3, "score"] == pytest.approx(1.5)
    assert table["score"].tolist() == [1.5, 3.0, 3.5, 3.5, 3.5]
    # ties are broken by the later epoch
    assert table.index.tolist() == [3, 1, 5, 4, 2]
    table = rank_epochs(HISTORY, {"chi2": 1.0, "auc": 10.0}, higher_is_better=["auc"])
    assert table.loc[1, "score"] == pytest.approx(15 / 11)  # (5 + 10 * 1) / 11
    assert table.index[0] == 1


def test_equal_metrics_prefer_later_epoch_and_candidates_restrict() -> None:
    assert rank_epochs(HISTORY, {"w1": 1.0}).index[0] == 5
    assert rank_epochs(HISTORY, {"chi2": 1.0}, candidates=[1, 2, 5]).index.tolist() == [2, 5, 1]


@pytest.mark.parametrize(
    ("weights", "message"),
    [({"mse": 1.0}, "not in the history"), ({"chi2": -1.0}, "non-negative"), ({"chi2": 0.0}, "positive weight")],
)
def test_rank_refuses_bad_weights(weights, message) -> None:
    with pytest.raises(InputError, match=message):
        rank_epochs(HISTORY, weights)


def test_nan_metric_is_refused() -> None:
    history = HISTORY.copy()
    history.loc[2, "chi2"] = np.nan
    with pytest.raises(InputError, match="missing \\(NaN\\) .* leave them out of the weights, or compute them"):
        rank_epochs(history, {"chi2": 1.0})


def test_picker_uses_only_checkpointed_epochs(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a", checkpoints=(2, 4, 5))
    picker = EpochPicker(archive, weights={"chi2": 1.0})
    assert picker.candidates == [2, 4, 5]
    assert picker.epoch == 4
    assert picker.choice == Choice(4, "weighted-rank", {"chi2": 1.0}, [], {"chi2": 2.0}, archive.checksum(4))


def test_a_metric_recorded_at_the_checkpoints_only_is_ranked_and_drawn_through_its_values(tmp_path: Path) -> None:
    history = HISTORY.assign(w1p=[np.nan, 0.3, np.nan, 0.1, 0.2])  # added later, at the checkpoints 2, 4, 5
    picker = EpochPicker(make_archive(tmp_path / "a", history, checkpoints=(2, 4, 5)), weights={"w1p": 1.0})
    assert picker.epoch == 4
    curve, points = picker.plot_metrics(4).axes[0].lines[:2]
    assert curve.get_xdata().tolist() == [2, 4, 5] and curve.get_ydata().tolist() == [0.3, 0.1, 0.2]
    assert points.get_xdata().tolist() == [2, 4, 5]


def test_picker_candidates_restrict_the_rule_and_the_choices(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a", checkpoints=(2, 3, 4, 5))
    assert EpochPicker(archive, weights={"chi2": 1.0}).epoch == 3  # chi2 = 1 at epoch 3
    picker = EpochPicker(archive, weights={"chi2": 1.0}, candidates=[2, 4, 5])  # epoch 3 vetoed
    assert picker.candidates == [2, 4, 5]
    assert picker.epoch == 4
    with pytest.raises(InputError, match="epoch 3 is not a candidate"):
        picker.update(3)  # the public way to show an epoch
    with pytest.raises(InputError, match="epoch 3 is not a candidate"):
        EpochPicker(archive, weights={"chi2": 1.0}, candidates=[2, 4, 5], manifest=tmp_path / "m.json").save(3)
    for bad in ([1, 2], [7]):  # epoch 1 has metrics but no checkpoint
        with pytest.raises(InputError, match=r"candidates \[(1|7)\] are not checkpointed"):
            EpochPicker(archive, weights={"chi2": 1.0}, candidates=bad)
    for bad in ([], 3, ["3", 4], "34"):
        with pytest.raises(InputError, match="non-empty collection of epochs"):
            EpochPicker(archive, weights={"chi2": 1.0}, candidates=bad)
    # a manifest saved for a vetoed epoch says so
    manifest = tmp_path / "m3.json"
    EpochPicker(archive, weights={"chi2": 1.0}, manifest=manifest).save(3)
    with pytest.raises(InputError, match="epoch 3, which is not among the candidates"):
        EpochPicker(archive, weights={"chi2": 1.0}, candidates=[2, 4, 5], manifest=manifest).choice


def test_manifest_round_trip_reproduces_manual_choice(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a")
    manifest = tmp_path / "choice.json"
    picker = EpochPicker(archive, weights={"chi2": 2.0, "auc": 1.0}, higher_is_better=["auc"], manifest=manifest)
    assert picker.epoch == 3 and not manifest.exists()
    saved = picker.save(epoch=5)
    assert saved.rule == "manual" and saved.metrics == {"chi2": 4.0, "auc": 0.7}
    again = EpochPicker(archive, weights={"chi2": 1.0}, manifest=manifest)
    assert again.choice == saved
    assert again.automatic().epoch == 3  # the rule alone would choose otherwise
    assert picker.save().rule == "weighted-rank"


def test_bad_manifests_are_clear_errors(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a", checkpoints=(1, 2))
    manifest = tmp_path / "choice.json"
    Choice(7, "manual", {"chi2": 1.0}).save(manifest)
    with pytest.raises(InputError, match="chose epoch 7, which has no checkpoint in"):
        EpochPicker(archive, weights={"chi2": 1.0}, manifest=manifest).choice
    manifest.write_text("{not json")
    with pytest.raises(InputError, match="not an epoch-choice manifest"):
        EpochPicker(archive, weights={"chi2": 1.0}, manifest=manifest).choice
    with pytest.raises(InputError, match="no manifest path"):
        EpochPicker(archive, weights={"chi2": 1.0}).save()
    with pytest.raises(InputError, match="epoch 3 is not a candidate"):
        EpochPicker(archive, weights={"chi2": 1.0}, manifest=tmp_path / "m.json").save(3)
    with pytest.raises(InputError, match="has no checkpointed epoch"):
        EpochPicker(EpochArchive(tmp_path / "empty"), weights={"chi2": 1.0})


def find(widget: widgets.Widget, kind: type) -> list[widgets.Widget]:
    found = [widget] if isinstance(widget, kind) else []
    for child in getattr(widget, "children", ()):
        found += find(child, kind)
    return found


def test_widget_redraws_follows_weights_and_saves(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    calls: list[int] = []

    def comparisons(epoch: int) -> list[Comparison]:
        calls.append(epoch)
        return [Comparison(rng.normal(size=200), rng.normal(epoch, 1, size=200), bins=(10, -3, 8))]

    manifest = tmp_path / "choice.json"
    picker = EpochPicker(
        make_archive(tmp_path / "a"),
        comparisons,
        weights={"chi2": 1.0, "auc": 0.0},
        higher_is_better=["auc"],
        manifest=manifest,
    )
    ui = picker.widget()
    slider = find(ui, widgets.SelectionSlider)[0]
    dropdown = find(ui, widgets.Dropdown)[0]
    weight_chi2, weight_auc = find(ui, widgets.FloatSlider)
    assert len(find(ui, widgets.Output)) == 2  # metric curves and comparisons (filled inside a kernel)
    assert slider.value == 3 and calls == [3]

    dropdown.value = 2  # linked to the slider, and redraws
    assert slider.value == 2 and calls == [3, 2]
    weight_chi2.value, weight_auc.value = 0.0, 1.0  # the rule now follows the AUC alone
    assert slider.value == 1
    find(ui, widgets.Button)[0].click()
    assert Choice.load(manifest).epoch == 1
    assert Choice.load(manifest).weights == {"chi2": 0.0, "auc": 1.0}
    slider.value = 3  # cached: not recomputed
    assert calls.count(3) == 1
