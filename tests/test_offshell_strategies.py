"""hepnb.offshell.strategies and hepnb.offshell.plots: the chapter-6 classifier strategies, iZ scans, the weights
conundrum, and the figures/widgets of the interference notebook."""

from __future__ import annotations

import dataclasses

import ipywidgets as widgets
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hepnb import offshell as osh  # noqa: E402
from hepnb.errors import InputError  # noqa: E402
from hepnb.hists import OutsideBinningWarning  # noqa: E402
from hepnb.metrics.counting import iz_from_samples  # noqa: E402
from hepnb.metrics.thresholds import best_threshold_significance  # noqa: E402
from hepnb.offshell import plots  # noqa: E402
from hepnb.offshell import strategies as st  # noqa: E402

# the simulator's track-width proxies carry one random factor per generated chunk (a process label in disguise)
LEAKY = ("leading_jet_TrackWidthPt1000", "subleading_jet_TrackWidthPt1000")
POCKET = (100.0, 3.0)


@pytest.fixture(scope="module")
def events() -> dict[str, osh.Events]:
    return {
        "vbf": osh.generate(80_000, seed=5, progress=False),
        "qqzz": osh.generate(100_000, seed=5, process="qqzz", progress=False),
        "ggzz": osh.generate(100_000, seed=5, process="ggzz", progress=False),
    }


@pytest.fixture(scope="module")
def pathological() -> osh.Events:
    return osh.generate(
        100_000, seed=5, process="qqzz", zero_weight_fraction=0.33, negative_pocket=POCKET, progress=False
    )


@pytest.fixture(scope="module")
def samples(events: dict[str, osh.Events]) -> st.StrategySamples:
    return st.make_samples(events["vbf"], events["qqzz"], events["ggzz"], seed=3, exclude=LEAKY)


@pytest.fixture(scope="module")
def gbdts(samples: st.StrategySamples) -> dict[str, st.GBDTClassifier]:
    return {a: st.train_gbdt(samples.training_set(a), seed=0, max_iter=60) for a in st.APPROACHES}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------------------------
# samples, training sets, evaluation sets
# ---------------------------------------------------------------------------------------------------------------
def test_split_is_by_event_seeded_and_keeps_every_yield(
    events: dict[str, osh.Events], samples: st.StrategySamples
) -> None:
    assert len(samples) == sum(len(e) for e in events.values())
    assert samples.feature_names == tuple(n for n, _, _ in osh.CH6_FEATURES if n not in LEAKY)
    again = st.make_samples(events["vbf"], events["qqzz"], events["ggzz"], seed=3, exclude=LEAKY)
    assert np.array_equal(again.train, samples.train)
    other = st.make_samples(events["vbf"], events["qqzz"], events["ggzz"], seed=4, exclude=LEAKY)
    assert not np.array_equal(other.train, samples.train)
    counts = samples.counts()
    assert list(counts.columns) == ["train", "validation", "test"]
    assert counts.loc["vbf"].sum() == len(events["vbf"])
    for part, fraction in (("train", 0.5), ("validation", 0.25), ("test", 0.25)):  # the defaults
        assert samples.fraction(part) == fraction
        assert abs(counts.loc["vbf", part] / len(events["vbf"]) - fraction) < 0.02
    # each part's yields are scaled by 1/f: the f-weighted sum over the parts is exactly the sample's yield
    parts = {part: samples.evaluation_set(part) for part in st.PARTS}
    assert {part: e.part for part, e in parts.items()} == {part: part for part in st.PARTS}
    vbf = events["vbf"].yields
    b2 = events["qqzz"].yields["B"] + events["ggzz"].yields["B"]
    for name, total in (("S", vbf["S"]), ("V", vbf["B"]), ("SVI", vbf["S"] + vbf["I"] + vbf["B"]), ("B2", b2)):
        combined = sum(samples.fraction(part) * e.yields()[name].value for part, e in parts.items())
        assert combined == pytest.approx(total, rel=1e-10)
        assert parts["test"].yields()[name].value == pytest.approx(total, rel=0.2)


def test_train_validation_and_test_parts_are_disjoint_and_cover_every_event(
    events: dict[str, osh.Events], samples: st.StrategySamples
) -> None:
    masks = [samples.mask(part) for part in st.PARTS]
    assert np.array_equal(masks[0], samples.train) and np.array_equal(masks[1], samples.validation)
    assert np.array_equal(masks[2], samples.test)
    assert np.all(np.sum(masks, axis=0) == 1)  # every event in exactly one part
    for code in osh.PROCESSES.values():
        of_process = samples.process == code
        parts = [set(samples.event[of_process & m].tolist()) for m in masks]
        assert all(parts)  # every process in every part
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        assert set().union(*parts) == set(samples.event[of_process].tolist())
        assert sum(map(len, parts)) == int(of_process.sum())
    # the evaluation sets are the rows of their part, in order
    for part, mask in zip(st.PARTS, masks):
        assert np.array_equal(samples.evaluation_set(part).X, samples.X[mask], equal_nan=True)
    # a seed and a test fraction fix the test events, whatever the validation fraction
    wider = st.make_samples(
        events["vbf"], events["qqzz"], events["ggzz"], validation_fraction=0.4, seed=3, exclude=LEAKY
    )
    assert np.array_equal(wider.test, samples.test) and wider.validation.sum() > samples.validation.sum()
    assert wider.fraction("train") == pytest.approx(0.35)
    with pytest.raises(InputError, match="part must be one of"):
        samples.evaluation_set("val")


def test_training_sets_of_the_two_approaches(samples: st.StrategySamples) -> None:
    one = samples.training_set(1)
    assert one.approach == "svi_vs_b2" and set(one.component) == {"SVI", "qqzz", "ggzz"}
    assert np.all(one.y[one.component == "SVI"] == 1) and np.all(one.y[one.component != "SVI"] == 0)
    two = samples.training_set("s_vs_vb2")
    assert set(two.component) == {"S", "V", "qqzz", "ggzz"}
    # S and V are the same training events with different weights
    assert np.array_equal(two.X[two.component == "S"], two.X[two.component == "V"])
    n_vbf_train = int(samples.counts().loc["vbf", "train"])
    assert (two.component == "S").sum() == n_vbf_train
    # balance="process": every component of a class the same total, the classes equal, mean |w| = 1
    totals = {c: two.weight[two.component == c].sum() for c in ("S", "V", "qqzz", "ggzz")}
    assert totals["V"] == pytest.approx(totals["qqzz"]) == pytest.approx(totals["ggzz"])
    assert totals["S"] == pytest.approx(3 * totals["V"])
    assert np.abs(two.weight).mean() == pytest.approx(1.0)
    # balance="class": the background components keep their physical proportions
    cls = samples.training_set(2, balance="class")
    raw = {c: cls.raw_weight[cls.component == c].sum() for c in ("V", "qqzz")}
    got = {c: cls.weight[cls.component == c].sum() for c in ("V", "qqzz")}
    assert got["qqzz"] / got["V"] == pytest.approx(raw["qqzz"] / raw["V"])
    summary = two.summary()
    assert summary.loc["S", "class"] == 1 and summary.loc["qqzz", "negative weights"] == 0


def test_weight_policies_on_a_pathological_background(samples: st.StrategySamples, pathological: osh.Events) -> None:
    bad = samples.with_training_background(pathological)
    w_bad = pathological.components()[2]
    train_qq = bad.train[bad.process == osh.PROCESSES["qqzz"]]
    n_neg, n_zero = int((w_bad[train_qq] < 0).sum()), int((w_bad[train_qq] == 0).sum())
    assert n_neg > 50 and n_zero > 500
    weighted = bad.training_set(1, "weighted")
    qq = weighted.component == "qqzz"
    assert (weighted.weight[qq] < 0).sum() == n_neg and (weighted.weight[qq] == 0).sum() == n_zero
    assert bad.training_set(1, "drop_negative").n_dropped == n_neg
    dropped = bad.training_set(1, "drop_nonpositive")
    assert dropped.n_dropped == n_neg + n_zero and np.all(dropped.weight > 0)
    assert np.all(bad.training_set(1, "abs").weight >= 0)
    unit = bad.training_set(1, "unweighted")
    w_qq = unit.weight[unit.component == "qqzz"]
    assert np.allclose(w_qq, w_qq[0])
    # the VBF weights are never touched by the policies; the evaluation keeps the clean weights
    ratio = unit.weight[unit.component == "SVI"] / weighted.weight[weighted.component == "SVI"]
    assert np.allclose(ratio, ratio[0], rtol=1e-12)
    assert np.array_equal(bad.evaluation_set().w_B, samples.evaluation_set().w_B)
    with pytest.raises(InputError, match="weighting"):
        samples.training_set(1, "clip")
    with pytest.raises(InputError, match="approach"):
        samples.training_set(3)
    with pytest.raises(InputError, match="balance"):
        samples.training_set(1, balance="equal")


def test_bad_inputs_raise_clear_errors(
    events: dict[str, osh.Events], pathological: osh.Events, samples: st.StrategySamples
) -> None:
    vbf, qq, gg = events["vbf"], events["qqzz"], events["ggzz"]
    with pytest.raises(InputError, match="'qqzz' sample"):
        st.make_samples(vbf, gg, qq)
    with pytest.raises(InputError, match="pathologies"):
        st.make_samples(vbf, pathological, gg)
    with pytest.raises(InputError, match="test_fraction"):
        st.make_samples(vbf, qq, gg, test_fraction=1.0)
    with pytest.raises(InputError, match="validation_fraction must be in"):
        st.make_samples(vbf, qq, gg, validation_fraction=0.0)
    with pytest.raises(InputError, match="leaves no events to train on"):
        st.make_samples(vbf, qq, gg, test_fraction=0.5, validation_fraction=0.5)
    with pytest.raises(InputError, match="unknown features"):
        st.make_samples(vbf, qq, gg, exclude=("jet_pt_7",))
    with pytest.raises(InputError, match="same events"):
        samples.with_training_background(osh.generate(20_000, seed=5, process="qqzz", progress=False))
    with pytest.raises(InputError, match="'qqzz' or 'ggzz'"):
        samples.with_training_background(vbf)
    with pytest.raises(InputError, match="one entry per|entries for"):
        st.iz_scan(np.zeros(3), samples.evaluation_set())
    with pytest.raises(InputError, match="gbdt"):
        st.train("bdt", samples.training_set(1))


# ---------------------------------------------------------------------------------------------------------------
# iZ scans and their errors
# ---------------------------------------------------------------------------------------------------------------
def test_iz_scan_without_cut_is_the_inclusive_iz_and_its_correlated_error_is_the_delta_method(
    samples: st.StrategySamples,
) -> None:
    test = samples.evaluation_set()
    score = np.random.default_rng(0).random(len(test))
    scan = st.iz_scan(score, test, thresholds=[-1.0, 0.5], min_events=0)
    y = test.yields()
    assert scan.values[0] == pytest.approx(
        iz_from_samples(y["S"].value, y["SVI"].value, y["V"].value, y["B2"].value), rel=1e-12
    )
    # the inclusive error by hand: iZ = A/(2 sqrt(D)), A = sum(2 w_S + w_I), D = sum of SM weights
    a = np.where(test.is_vbf, 2 * test.w_S + test.w_I, 0.0)
    d = np.where(test.is_vbf, test.w_SVI, test.w_B)
    big_a, big_d = a.sum(), d.sum()
    by_hand = np.sqrt(np.sum((a / (2 * np.sqrt(big_d)) - big_a * d / (4 * big_d**1.5)) ** 2))
    assert scan.errors[0] == pytest.approx(by_hand, rel=1e-10)
    independent = st.iz_scan(score, test, thresholds=[-1.0, 0.5], min_events=0, errors="independent")
    labels, weights, scores = test.components(score)
    reference = best_threshold_significance(labels, scores, weights, metric="iz", thresholds=[-1.0, 0.5])
    assert np.allclose(independent.errors, reference.errors) and np.allclose(independent.values, scan.values)
    # S, V and SVI share their events: the numerator does not cancel between samples, the error is far smaller
    assert scan.errors[0] < 0.5 * independent.errors[0]


def test_correlated_iz_error_matches_a_poisson_bootstrap(
    samples: st.StrategySamples, gbdts: dict[str, st.GBDTClassifier]
) -> None:
    test = samples.evaluation_set()
    score = gbdts["s_vs_vb2"].score(test.X)
    scan = st.iz_scan(score, test, thresholds=[0.5], min_events=0)
    rng = np.random.default_rng(1)
    above = score > 0.5
    a = np.where(test.is_vbf, 2 * test.w_S + test.w_I, 0.0)[above]
    d = np.where(test.is_vbf, test.w_SVI, test.w_B)[above]
    k = rng.poisson(1.0, size=(400, int(above.sum())))
    replicas = (k @ a) / (2 * np.sqrt(k @ d))
    assert replicas.mean() == pytest.approx(scan.values[0], rel=0.05)
    assert replicas.std() == pytest.approx(scan.errors[0], rel=0.2)


def test_quoted_iz_is_the_test_iz_at_the_threshold_chosen_on_the_validation_events(
    samples: st.StrategySamples,
) -> None:
    validation, test = samples.evaluation_set("validation"), samples.evaluation_set("test")
    # validation scores: only the VBF events whose 2 w_S + w_I has the sign of the total pass 0.5. Their |S + I/2|
    # is at least the total's over a smaller SM yield, so the validation iZ is best at 0.5.
    a_val = 2 * validation.w_S + validation.w_I
    total_sign = np.sign(a_val[validation.is_vbf].sum())
    score_val = np.where(validation.is_vbf & (np.sign(a_val) == total_sign), 0.9, 0.1)
    # test scores: only the B2 events pass 0.5, where iZ = 0; the test iZ is best without a cut (at 0.0)
    score_test = np.where(test.is_vbf, 0.1, 0.9)
    thresholds = [0.0, 0.5]
    own_val = st.iz_scan(score_val, validation, thresholds=thresholds, min_events=0)
    own_test = st.iz_scan(score_test, test, thresholds=thresholds, min_events=0)
    assert own_val.threshold == 0.5 and own_test.threshold == 0.0  # the two parts disagree on the best threshold
    on_val, on_test = st.validated_iz_scan(score_val, validation, score_test, test, thresholds=thresholds, min_events=0)
    assert on_val.threshold == on_test.threshold == 0.5
    assert on_test.value == 0.0 and on_test.error == 0.0  # the test iZ there, not the test's own best
    assert abs(own_test.value) > 0
    assert on_val.value == own_val.value
    np.testing.assert_array_equal(on_test.values, own_test.values)  # the curves are kept whole
    # only thresholds defined in both parts compete: five B2 events make the validation cut at 0.5 defined with
    # min_events=5 (and still the best there), but no VBF event passes it in the test part
    score_val[np.flatnonzero(~validation.is_vbf)[:5]] = 0.9
    assert st.iz_scan(score_val, validation, thresholds=thresholds, min_events=5).threshold == 0.5
    on_val, on_test = st.validated_iz_scan(score_val, validation, score_test, test, thresholds=thresholds, min_events=5)
    assert on_val.threshold == on_test.threshold == 0.0 and not on_test.valid[1]
    with pytest.raises(InputError, match="evaluation_set\\('validation'\\)"):
        st.validated_iz_scan(score_test, test, score_val, validation, thresholds=thresholds)
    with pytest.raises(InputError, match="as validation and the 'test' events as test"):
        st.validated_iz_scan(score_test, test, score_test, test, thresholds=thresholds)


def test_evaluate_quotes_the_test_iz_at_the_validation_threshold(
    samples: st.StrategySamples, gbdts: dict[str, st.GBDTClassifier]
) -> None:
    model = gbdts["s_vs_vb2"]
    validation, test = samples.evaluation_set("validation"), samples.evaluation_set("test")
    result = st.evaluate(model, samples)
    own_val = st.iz_scan(model.score(validation.X), validation)
    own_test = st.iz_scan(model.score(test.X), test)
    np.testing.assert_array_equal(result.scan.values, own_test.values)
    np.testing.assert_array_equal(result.validation_scan.values, own_val.values)
    both = own_val.valid & own_test.valid
    chosen = int(np.argmax(np.where(both, np.abs(own_val.values), -np.inf)))  # picked by the validation events
    assert result.threshold == own_val.thresholds[chosen] == result.validation_scan.threshold
    assert result.scan.value == own_test.values[chosen] and result.scan.error == own_test.errors[chosen]
    assert result.validation_scan.value == own_val.values[chosen]
    np.testing.assert_array_equal(result.score, model.score(test.X))
    row = result.summary()
    assert row["iZ (test)"] == result.scan.value and row["iZ (validation)"] == result.validation_scan.value
    assert row["threshold (validation)"] == result.threshold and row["iZ error (test)"] == result.scan.error


# ---------------------------------------------------------------------------------------------------------------
# models: determinism, ordering of the strategies, the weights conundrum
# ---------------------------------------------------------------------------------------------------------------
def test_gbdt_is_deterministic_and_approach_2_beats_approach_1(
    samples: st.StrategySamples, gbdts: dict[str, st.GBDTClassifier]
) -> None:
    test = samples.evaluation_set()
    again = st.train_gbdt(samples.training_set(2), seed=0, max_iter=60)
    assert np.array_equal(again.score(test.X), gbdts["s_vs_vb2"].score(test.X))
    one, two = (st.evaluate(gbdts[a], samples) for a in ("svi_vs_b2", "s_vs_vb2"))
    assert one.auc_physical > 0.85 and two.auc_task > 0.85
    assert one.auc_physical == pytest.approx(one.auc_task)  # approach 1's own classes are SVI vs B2
    assert two.auc_physical < two.auc_task  # approach 2 was not trained to find SVI
    for result in (one, two):
        assert result.scan.value > 1.5 * result.iz_no_cut  # a cut on either score helps
        assert result.scan.error > 0
    # the thesis ordering (Fig 6.10), beyond the MC errors of both
    assert two.scan.value - one.scan.value > 2 * np.hypot(one.scan.error, two.scan.error)
    assert one.label == "GBDT, approach 1" and set(one.summary()) >= {"iZ (test)", "iZ error (test)", "AUC SVI vs B2"}


def test_network_is_seeded_learns_and_imputes_missing_values(samples: st.StrategySamples) -> None:
    training = samples.training_set(1)
    small = dataclasses.replace(
        training,
        X=training.X[::3],
        y=training.y[::3],
        weight=training.weight[::3],
        raw_weight=training.raw_weight[::3],
        component=training.component[::3],
    )
    first = st.train_mlp(small, seed=2, epochs=3, hidden=(16, 16))
    second = st.train_mlp(small, seed=2, epochs=3, hidden=(16, 16))
    third = st.train_mlp(small, seed=3, epochs=3, hidden=(16, 16))
    test = samples.evaluation_set()
    assert np.array_equal(first.score(test.X), second.score(test.X))
    assert not np.array_equal(first.score(test.X), third.score(test.X))
    assert len(first.history) == 3 and first.history[-1] < first.history[0]
    result = st.evaluate(first, samples)
    assert result.auc_physical > 0.8 and result.model == "NN"
    missing = test.X[:5].copy()
    missing[:, 0] = np.nan
    assert np.all(np.isfinite(first.score(missing)))
    with pytest.raises(InputError, match="hidden"):
        st.train_mlp(small, hidden=())


def test_network_trainer_comes_from_hepnb_training_and_takes_trainer_options(samples: st.StrategySamples) -> None:
    import lightning as L

    seen: list[tuple[str, bool, object]] = []

    class Spy(L.Callback):
        def on_fit_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            seen.append((type(trainer.accelerator).__name__, trainer.logger is None, module))

    training = samples.training_set(2)
    fitted = st.train(
        "nn", training, seed=1, epochs=1, hidden=(8,), learning_rate=2e-3, callbacks=[Spy()], limit_train_batches=2
    )
    ((accelerator, no_logger, module),) = seen
    assert accelerator == "CPUAccelerator" and no_logger  # hepnb.training.trainer's defaults
    assert isinstance(module, st.WeightedBCE) and type(module).__module__ == "hepnb.offshell.strategies.network"
    assert dict(module.hparams) == {"n_inputs": training.X.shape[1], "hidden": (8,), "learning_rate": 2e-3}
    assert fitted.network is module.net and len(fitted.history) == 1


def test_negative_weight_pocket_is_learnt_as_signal_unless_the_weights_are_fixed(
    events: dict[str, osh.Events], samples: st.StrategySamples, pathological: osh.Events
) -> None:
    study = st.weight_study(samples, pathological, weightings=("weighted", "abs"), seed=0, max_iter=60)
    table = study.table
    assert list(table.index) == ["clean weights", "pathological, weighted", "pathological, abs"]
    pocket_high = table["pocket B2 with score > 0.9"]
    # gradient boosting "works in reverse" on negative weights: the pocket's background looks like signal
    assert pocket_high["pathological, weighted"] > 2 * pocket_high["clean weights"]
    assert pocket_high["pathological, abs"] < 0.5 * pocket_high["pathological, weighted"]
    assert table.loc["pathological, weighted", "AUC SVI vs B2"] < table.loc["clean weights", "AUC SVI vs B2"]
    # zero weights shrink the effective background training sample
    assert table.loc["pathological, abs", "B2 N_eff"] < 0.9 * table.loc["clean weights", "B2 N_eff"]
    assert study.pocket.sum() > 20 and set(study.scores) == set(table.index)
    # every row quotes the test iZ at the threshold chosen on the validation events
    clean = st.evaluate(st.train_gbdt(samples.training_set(1), seed=0, max_iter=60), samples)
    assert table.loc["clean weights", "iZ (test)"] == clean.scan.value
    assert table.loc["clean weights", "threshold (validation)"] == clean.threshold
    assert table.loc["clean weights", "iZ (validation)"] == clean.validation_scan.value
    summary = st.weight_summary({"clean": events["qqzz"], "pathological": pathological})
    assert summary.loc["clean", "zero-weight fraction"] == 0
    assert summary.loc["pathological", "zero-weight fraction"] == pytest.approx(0.33, abs=0.03)
    assert summary.loc["pathological", "negative yield"] < 0


def test_permutation_importance_under_auc_and_iz(
    samples: st.StrategySamples, gbdts: dict[str, st.GBDTClassifier]
) -> None:
    test = samples.evaluation_set()
    model = gbdts["s_vs_vb2"]
    result = st.evaluate(model, samples)
    pi_auc = st.feature_importance(model, test, "auc", n_repeats=2, seed=1)
    pi_iz = st.feature_importance(model, test, "iz", threshold=result.threshold, n_repeats=2, seed=1)
    assert pi_auc.baseline == pytest.approx(result.auc_task)
    # iZ above the threshold chosen on the validation events, on the test events: the quoted iZ
    assert pi_iz.baseline == pytest.approx(abs(result.scan.value), rel=1e-12)
    metric = st.iz_metric(test, result.threshold)
    index = np.arange(len(test))
    assert metric(index, np.zeros(len(test))) == 0.0  # nothing passes: no sensitivity left
    assert metric(index, np.ones(len(test))) == pytest.approx(abs(result.iz_no_cut), rel=1e-12)
    top = pi_auc.ranking()[0]
    assert pi_auc[top][0] > 0.02
    assert max(pi_iz.importance) > 0.1 * pi_iz.baseline
    table = st.importance_table({"AUC": pi_auc, "iZ": pi_iz})
    assert table.shape == (len(samples.feature_names), 6) and table.index[0] == 1
    assert table[("AUC", "feature")].iloc[0] == top
    with pytest.raises(InputError, match="arange"):
        st.iz_metric(test, 0.5)(np.arange(len(test))[::-1], np.zeros(len(test)))
    with pytest.raises(InputError, match="'auc' or 'iz'"):
        st.feature_importance(model, test, "gini")
    with pytest.raises(InputError, match="threshold=evaluate"):
        st.feature_importance(model, test, "iz")
    with pytest.raises(InputError, match="'iz' only"):
        st.feature_importance(model, test, "auc", threshold=0.5)


def test_counting_metrics_reproduce_the_spec_numbers() -> None:
    # thesis ch6 yields after the VBF preselection (thesis section 6.6): S 1.1, V 6.9, SVI 6.1, qqZZ 60 + ggZZ 8.8
    m = st.counting_metrics(1.1, 6.9, 6.1, 68.8)
    assert m["I"] == pytest.approx(-1.9)
    assert m["mu*"] == pytest.approx((1.9 / 1.1) ** 2)
    assert m["iZ"] == pytest.approx(0.0173, abs=5e-5)
    assert m["iZ'"] == pytest.approx(-0.092, abs=5e-4)
    assert m["sigma_mu"] == pytest.approx(1 / m["iZ"])
    assert m["s/sqrt(b) with s = S"] == pytest.approx(1.1 / np.sqrt(75.7))
    assert m["(SVI - V)/sqrt(V + B2)"] < 0 < m["iZ"] < m["s/sqrt(b) with s = S"]


# ---------------------------------------------------------------------------------------------------------------
# plots and the mu slider
# ---------------------------------------------------------------------------------------------------------------
def test_component_histograms_add_up_and_the_plot_is_built(events: dict[str, osh.Events]) -> None:
    vbf = events["vbf"]
    h = plots.component_histograms(vbf, "m4l", (20, 220.0, 3000.0))
    x = np.asarray(vbf.x.m4l)
    inside = x < 3000.0
    w_s, w_i, w_b = vbf.components()
    assert h["S"].values().sum() == pytest.approx(w_s[inside].sum())
    assert h["I"].values().sum() == pytest.approx(w_i[inside].sum())
    with_b2 = plots.component_histograms(vbf, "m4l", (20, 220.0, 3000.0), b2=events["qqzz"])
    assert with_b2["B"].values().sum() > h["B"].values().sum()
    fig = plots.plot_components(vbf, mus=(0, 1, 4))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].get_ylabel() == "$I/S$"
    with pytest.raises(InputError, match="unknown observable"):
        plots.component_histograms(vbf, "m_4l")


def test_mu_slider_redraws_and_finds_the_degenerate_partner(events: dict[str, osh.Events]) -> None:
    slider = plots.MuSlider(events["vbf"], mu=1.0, mu_max=8.0)
    t = slider.totals
    assert slider.mu_star == pytest.approx((t["I"] / t["S"]) ** 2)
    assert slider.expected(slider.mu_star) == pytest.approx(slider.expected(0.0))
    assert slider.partner(0.0) == pytest.approx(slider.mu_star)
    partner = slider.partner(1.0)
    assert np.sqrt(partner) + 1.0 == pytest.approx(-t["I"] / t["S"])  # sqrt(mu) + sqrt(mu') = -I/S
    ui = slider.widget()
    assert isinstance(ui, widgets.VBox) and slider.last_figure is not None
    first = slider.last_figure
    fig = slider.update(slider.mu_star)
    assert fig is slider.last_figure and fig is not first and slider.mu == pytest.approx(slider.mu_star)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("N(\\mu'=0" in text for text in legend)  # the partner of mu* is mu = 0
    assert "mu* =" in slider.summary()
    # moving the slider itself redraws through the observer
    slot = [w for w in ui.children[0].children if isinstance(w, widgets.FloatSlider)][0]
    slot.value = 2.0
    assert slider.mu == pytest.approx(2.0) and slider.last_figure is not fig
    with pytest.raises(InputError, match="range"):
        slider.update(9.0)
    with pytest.raises(InputError, match=">= 0"):
        slider.update(-1.0)


def test_degeneracy_m4l_is_blind_to_mu_star_but_the_jets_are_not(events: dict[str, osh.Events]) -> None:
    vbf = events["vbf"]
    high = vbf[np.asarray(vbf.x.m4l) > 500.0]  # where I/S no longer depends on m4l
    y = high.yields
    mu_star = osh.degenerate_partner(y["S"], y["I"])
    assert 2.5 < mu_star < 4.0
    # one bin holding every event: its partner is the global mu*
    _, mu_k, err = plots.bin_partners(high, "m4l", (1, 500.0, 1e6))
    assert mu_k[0] == pytest.approx(mu_star, rel=1e-12) and 0 < err[0] < 0.1 * mu_star
    with pytest.warns(OutsideBinningWarning):  # the tails beyond the shown ranges are reported, not binned
        table = plots.degeneracy_table(high, mu_star)
    assert list(table.index) == ["m4l", "pt_j1", "delta_eta_jj"]
    assert table.loc["m4l", "chi2/ndf (Comparison)"] < 0.5  # shapes compatible
    assert table.loc["m4l", "mu*_k max"] / table.loc["m4l", "mu*_k min"] < 1.2
    assert table.loc["pt_j1", "mu*_k max"] / table.loc["pt_j1", "mu*_k min"] > 1.5  # measured 1.85
    exact = table["chi2/ndf (exact)"]
    assert exact["pt_j1"] > 4 * exact["m4l"] and exact["delta_eta_jj"] > 2 * exact["m4l"] and exact["pt_j1"] > 10
    with pytest.warns(OutsideBinningWarning):
        comps = plots.degeneracy_comparisons(high, mu_star)
    assert comps["m4l"].chi2().reduced == pytest.approx(table.loc["m4l", "chi2/ndf (Comparison)"])
    with pytest.warns(OutsideBinningWarning):
        split = plots.degeneracy_comparisons(high, mu_star, split=True, seed=1)
    n_ref = split["m4l"].reference.hist.values().sum() / 2  # halves weighted x2
    assert 0.3 * y["B"] < n_ref < 0.7 * y["B"]
    fig = plots.plot_degeneracy(comps)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    fig = plots.plot_bin_partners(high, mu_star=mu_star)
    assert len(fig.axes) == 3
    with pytest.raises(InputError, match=">= 0"):
        plots.degeneracy_comparisons(high, -1.0)


def test_iz_curves_scores_and_importance_figures(
    samples: st.StrategySamples, gbdts: dict[str, st.GBDTClassifier]
) -> None:
    results = [st.evaluate(m, samples) for m in gbdts.values()]
    fig = plots.plot_iz_curves(results, no_cut=results[0].iz_no_cut)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(f"{results[1].scan.value:.3f}" in text for text in labels)
    fig = plots.plot_iz_curves({"a": results[0].scan})
    assert isinstance(fig, Figure)
    test = samples.evaluation_set()
    fig = plots.plot_scores(results[1].score, test)
    assert len(fig.axes[0].get_legend().get_texts()) == 4
    pocket = np.zeros(len(test), bool)
    pocket[np.flatnonzero(~test.is_vbf)[:10]] = True
    fig = plots.plot_scores(results[1].score, test, pocket=pocket)
    assert len(fig.axes[0].get_legend().get_texts()) == 5
    pi = st.feature_importance(gbdts["svi_vs_b2"], test, "auc", n_repeats=2, seed=0)
    fig = plots.plot_importance({"AUC": pi}, top=5)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_yticklabels()) == 5
    with pytest.raises(InputError):
        plots.plot_iz_curves({})
    with pytest.raises(InputError, match="one entry per"):
        plots.plot_scores(np.zeros(3), test)
    assert isinstance(pd.DataFrame([r.summary() for r in results]), pd.DataFrame)
