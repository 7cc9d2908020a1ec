"""The lambda scan: model building, epoch picking, test metrics, resumable trainings, summaries and Pareto fronts."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest
from decorrelation_toys import mass_toy

from hepnb.decorrelation import datasets as ds
from hepnb.decorrelation import models, scan
from hepnb.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_single_thread")


@pytest.fixture(scope="module")
def toy() -> ds.DecorrelationDataset:
    return mass_toy()


def test_docstring_examples_run() -> None:
    result = doctest.testmod(scan, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_build_model_gives_each_method_its_module(toy: ds.DecorrelationDataset) -> None:
    kinds = {
        "plain": models.Classifier,
        "pivot": models.PivotClassifier,
        "pivot_binned": models.PivotClassifier,
        "pivot_regression": models.PivotClassifier,
        "aspiration": models.AspirationNetwork,
        "aspiration_conditional": models.AspirationNetwork,
        "disco": models.DiscoClassifier,
        "mode0": models.ModeClassifier,
        "mode1": models.ModeClassifier,
    }
    assert set(kinds) == set(scan.METHODS)
    for method, kind in kinds.items():
        model = scan.build_model(method, toy, 2.0)
        assert type(model) is kind
    assert scan.build_model("mode1", toy, 5.0).hparams.order == 1
    assert scan.build_model("pivot_binned", toy, 1.0).hparams.adversary == "binned"
    conditional = scan.build_model("aspiration_conditional", toy, 3.0)
    assert conditional.hparams.conditional and conditional.hparams.n_components == 2
    with pytest.raises(InputError, match="unknown method"):
        scan.build_model("planing", toy, 1.0)
    with pytest.raises(InputError, match="lambda"):
        scan.build_model("disco", toy, -1.0)
    with pytest.raises(InputError, match="n_protected"):
        scan.build_model("aspiration", toy, 1.0, n_protected=2)


def test_pick_epoch_rules() -> None:
    history = pd.DataFrame(
        {
            "auc": [0.70, 0.90, 0.885, 0.95, 0.80],
            "flatness_80": [0.0, 0.2, 0.05, 0.3, 0.01],
            "flatness_90": [0.0, 0.2, 0.03, 0.3, 0.01],
        },
        index=pd.Index([1, 2, 3, 4, 5], name="epoch"),
    )
    # the collapsed epochs 1 and 5 are flat but far below the best AUC: not picked
    assert scan.pick_epoch(history, auc_tolerance=0.1) == 3
    assert scan.pick_epoch(history, auc_tolerance=0.01) == 4
    assert scan.pick_epoch(history, rule="auc") == 4 and scan.pick_epoch(history, rule="last") == 5
    with pytest.raises(InputError, match="rule"):
        scan.pick_epoch(history, rule="best")


def test_evaluate_on_known_scores() -> None:
    test = mass_toy(40_000, seed=2).test
    rng = np.random.default_rng(1)
    blind = 1 / (1 + np.exp(-(test.labels * 2 - 1 + rng.normal(0, 1, len(test)))))  # independent of m per class
    sculpting = 0.5 * blind + 0.5 * test.m
    fair, unfair = scan.evaluate(blind, test, jsd_bins=10), scan.evaluate(sculpting, test, jsd_bins=10)
    assert set(fair) == set(scan.METRICS) - {"train_seconds"}
    assert fair["inv_jsd50"] > 5 * unfair["inv_jsd50"]
    assert fair["dcorr"] < 0.02 < unfair["dcorr"]
    assert fair["flatness_80"] < unfair["flatness_80"]
    assert 0.5 < fair["auc"] < 1 and fair["r50"] > 1 and fair["significance"] > 0


def test_scan_trains_resumes_and_summarises(toy: ds.DecorrelationDataset, tmp_path) -> None:
    lambdas = {"plain": [0.0], "disco": [0.5]}
    table = scan.lambda_scan(toy, lambdas, [1, 2], tmp_path, max_epochs=2, progress=False)
    assert len(table) == 4 and list(table.columns[:4]) == ["method", "lam", "seed", "epoch"]
    assert table["epoch"].between(1, 2).all() and (table["train_seconds"] > 0).all()
    timings = sorted(tmp_path.rglob("timing.json"))
    assert len(timings) == 4 and all(json.loads(p.read_text())["epochs"] == 2 for p in timings)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = scan.lambda_scan(toy, lambdas, [1, 2], tmp_path, max_epochs=2, progress=False)
    pd.testing.assert_frame_equal(table, again)  # read back, nothing trained again
    assert {p: p.read_bytes() for p in before} == before
    summary = scan.summarise(table)
    assert summary.loc[("disco", 0.5), "n_seeds"] == 2
    r50 = table[table.method == "disco"]["r50"]
    assert summary.loc[("disco", 0.5), "r50"] == pytest.approx(r50.mean())
    assert summary.loc[("disco", 0.5), "r50_std"] == pytest.approx(r50.std())
    # DisCo decorrelates the background from m relative to the plain classifier, which reads m directly
    assert summary.loc[("disco", 0.5), "dcorr"] < summary.loc[("plain", 0.0), "dcorr"]
    with pytest.raises(InputError, match="seeds"):
        scan.lambda_scan(toy, lambdas, [1, 1], tmp_path)


def test_pareto_front_and_ratios() -> None:
    summary = pd.DataFrame(
        {
            "method": ["a", "a", "a", "b", "b"],
            "lam": [1.0, 2.0, 3.0, 1.0, 2.0],
            "r50": [20.0, 10.0, 4.0, 15.0, 5.0],
            "inv_jsd50": [5.0, 50.0, 200.0, 8.0, 60.0],
        }
    )
    summary = summary.set_index(["method", "lam"])
    front = scan.pareto_front(summary)
    assert front["r50"].tolist() == [20.0, 15.0, 10.0, 5.0, 4.0]
    assert list(front.index) == [("a", 1.0), ("b", 1.0), ("a", 2.0), ("b", 2.0), ("a", 3.0)]
    extra = pd.MultiIndex.from_tuples([("c", 1.0)], names=["method", "lam"])
    dominated = pd.concat([summary, pd.DataFrame({"r50": [3.0], "inv_jsd50": [40.0]}, index=extra)])
    assert ("c", 1.0) not in scan.pareto_front(dominated).index
    assert scan.pareto_front(summary.xs("a", level="method"))["r50"].tolist() == [20.0, 10.0, 4.0]
    assert scan.r50_at(summary, "a", 100.0) == 4.0 and np.isnan(scan.r50_at(summary, "b", 100.0))
    ratio = scan.front_ratio(summary, "a", "b")
    assert ratio["ratio"].tolist() == pytest.approx([10.0 / 15.0, 4.0 / 5.0])
    with pytest.raises(InputError, match="column"):
        scan.pareto_front(summary, x="nope")


def test_plots_draw_the_front_and_the_aspired_pairs(toy: ds.DecorrelationDataset) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hepnb.decorrelation import plots

    summary = pd.DataFrame(
        {
            "method": ["plain", "disco", "disco"],
            "lam": [0.0, 1.0, 3.0],
            "r50": [20.0, 8.0, 4.0],
            "inv_jsd50": [3.0, 30.0, 90.0],
            "r50_std": [1.0, 0.5, 0.4],
            "inv_jsd50_std": [0.2, 3.0, 9.0],
        }
    ).set_index(["method", "lam"])
    ax = plots.plot_front(summary)
    assert len(ax.get_legend().get_texts()) == 2 and ax.get_xscale() == "log"
    score = np.random.default_rng(0).uniform(size=len(toy.test))
    axes = plots.plot_aspired_pairs(score, toy.test.m, seed=1)
    assert len(axes) == 3
    plt.close("all")


def test_other_model_options_train_into_another_archive(toy: ds.DecorrelationDataset, tmp_path) -> None:
    default = scan.train(toy, "plain", 0.0, 1, tmp_path, max_epochs=1)
    narrow = scan.train(toy, "plain", 0.0, 1, tmp_path, max_epochs=1, model_options={"hidden": (8,)})
    assert default.archive.path != narrow.archive.path and "-o" in narrow.archive.path.parent.name
    assert narrow.model().hparams.hidden == (8,)
    with pytest.raises(InputError, match="method_options"):
        scan.lambda_scan(toy, {"plain": [0.0]}, [1], tmp_path, method_options={"disco": {}}, progress=False)
