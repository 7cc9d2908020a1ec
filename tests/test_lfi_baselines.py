"""The chapter-6 classifier baselines of notebook 03 (hepnb.lfi.baselines; issue 17, point 1)."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb.errors import InputError
from hepnb.lfi import baselines as bl
from hepnb.lfi import study
from hepnb.lfi._baseline_fits import bce
from hepnb.offshell.features import feature_matrix
from hepnb.offshell.strategies import train_gbdt


@pytest.fixture(scope="module")
def samples():
    return study.make_samples(12_000, 8_000, 1)


@pytest.fixture(scope="module")
def gbdt(samples):
    return bl.train_baseline(samples[0], 2, "gbdt", seed=0, max_iter=30)


def test_training_set_adapter_weights(samples):
    train = samples[0]
    w_s, w_i, w_b = train.components()
    for approach, signal in ((1, w_s + w_i + w_b), (2, w_s)):
        rows = bl.baseline_training_set(train, approach)
        assert len(rows) == 2 * len(train) and rows.X.shape[1] == 15  # the 15 chapter-6 features
        sig, bkg = rows.weight[rows.y == 1], rows.weight[rows.y == 0]
        assert sig.sum() == pytest.approx(bkg.sum())  # balanced classes
        assert np.mean(np.abs(rows.weight)) == pytest.approx(1.0)
        np.testing.assert_allclose(sig / sig.sum(), signal / signal.sum(), rtol=1e-12)
        np.testing.assert_allclose(bkg / bkg.sum(), w_b / w_b.sum(), rtol=1e-12)


def test_gbdt_is_deterministic_and_seeded(samples, gbdt):
    train, test = samples
    again = bl.train_baseline(train, 2, "gbdt", seed=0, max_iter=30)
    assert np.array_equal(gbdt.score(test), again.score(test))
    other = bl.train_baseline(train, 2, "gbdt", seed=1, max_iter=30)  # another validation split
    assert other.n_validation != gbdt.n_validation
    assert not np.array_equal(gbdt.score(test), other.score(test))


def test_nn_is_deterministic(samples):
    train, test = samples
    runs = [
        bl.train_baseline(train, 1, "nn", seed=2, hidden=(8, 8), epochs=2, batch_size=2048, patience=1)
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].score(test), runs[1].score(test))
    assert 1 <= runs[0].best_iteration <= 2 and len(runs[0].validation_loss) == 2
    assert runs[0].best_iteration == int(np.argmin(runs[0].validation_loss)) + 1


def test_training_uses_only_the_training_part_of_the_training_events(samples):
    train, test = samples
    # a learning rate at which the validation loss turns within 30 trees (0.1, the fixture's, still falls at 30)
    gbdt = bl.train_baseline(train, 2, "gbdt", seed=0, max_iter=30, learning_rate=0.2)
    held_out = bl.validation_split(len(train), 0.25, seed=0)
    assert gbdt.n_train == int((~held_out).sum()) and gbdt.n_validation == int(held_out.sum())
    # the kept model is exactly a fit on the non-held-out training events with the kept number of trees: the
    # staged predictions of the 30-tree fit, cut at the best tree with sklearn's public API (no refit)
    rows = bl.baseline_training_set(train[np.flatnonzero(~held_out)], 2)
    refit = train_gbdt(rows, seed=0, max_iter=gbdt.best_iteration, learning_rate=0.2)
    assert isinstance(gbdt.classifier, bl.StagedGBDT) and gbdt.best_iteration < 30  # a real cut (measured 18)
    assert gbdt.classifier.gbdt.model.n_iter_ == 30 and gbdt.classifier.n_trees == gbdt.best_iteration
    assert np.array_equal(refit.score(rows.X[: len(rows) // 2]), gbdt.classifier.score(rows.X[: len(rows) // 2]))
    assert np.array_equal(refit.score(test_x := feature_matrix(test.x, bl.FEATURES)[0]), gbdt.classifier.score(test_x))
    assert not np.array_equal(gbdt.classifier.gbdt.score(test_x), gbdt.classifier.score(test_x))  # 30 trees differ
    np.testing.assert_array_equal(gbdt.classifier.predict_proba(test_x)[:, 1], gbdt.score(test))
    # its validation loss is the one recorded at the kept tree
    val_rows = bl.baseline_training_set(train[np.flatnonzero(held_out)], 2)
    assert bce(refit.score(val_rows.X), val_rows) == pytest.approx(min(gbdt.validation_loss), rel=1e-12)
    # the validation loss is read on the held-out events: it has one entry per tree and its minimum is kept
    assert len(gbdt.validation_loss) == 30
    assert gbdt.best_iteration == int(np.argmin(gbdt.validation_loss)) + 1
    with pytest.raises(InputError, match="evaluation events are the training events"):
        bl.baseline_scans(gbdt, train, [1.0], train=train)


def test_approach_2_follows_the_ideal_classifier(samples, gbdt):
    train, test = samples
    # measured 0.785-0.813 (samples of seeds 1, 2 and 5, 30 trees); approach 1 learns another function of x
    assert bl.ideal_correlation(gbdt.score(test), test) > 0.75
    assert bl.ideal_correlation(study.ideal_classifier(test), test) == pytest.approx(1.0)


def test_approach_2_interval_close_to_the_ideal_classifier(samples, gbdt):
    train, test = samples
    scans = bl.baseline_scans({gbdt.name: gbdt}, test, [1.0], train=train)
    scans["ideal"] = study.histogram_scans(study.ideal_classifier(test), test, [1.0], method="ideal", bins=25)
    scans["oracle"] = study.oracle_scans(test, [1.0])
    widths = study.width_table(scans, [1.0])[(1.0, "rate", "95%")]
    # measured 1.065-1.085 of the oracle (ideal: 1.004-1.006) on samples of seeds 1, 2, 5
    assert widths["approach 2 GBDT"] / widths["ideal"] < 1.15
    assert widths["approach 2 GBDT"] > 0.99  # a binned summary cannot beat the oracle
    assert set(scans[gbdt.name]) == {(1.0, True), (1.0, False)}


def test_table(samples, gbdt):
    table = bl.baseline_table({gbdt.name: gbdt}, samples[1])
    assert table.loc[gbdt.name, "trees / epoch kept"] == gbdt.best_iteration
    assert table.loc[gbdt.name, "training s"] > 0 and table.loc[gbdt.name, "training CPU s"] > 0


def test_bad_input(samples, gbdt):
    train, test = samples
    with pytest.raises(InputError, match="approach must be"):
        bl.train_baseline(train, 3, "gbdt")
    with pytest.raises(InputError, match="model must be"):
        bl.train_baseline(train, 1, "bdt")
    with pytest.raises(InputError, match="must be hepnb.offshell Events"):
        bl.train_baseline(np.zeros((10, 3)), 1, "gbdt")
    with pytest.raises(InputError, match="validation_fraction"):
        bl.train_baseline(train, 1, "gbdt", validation_fraction=1.5)
    with pytest.raises(InputError, match="features must be"):
        bl.baseline_training_set(train, 1, features="ch9")
    with pytest.raises(InputError, match="unknown network options"):
        bl.train_baseline(train, 1, "nn", epoch=3)
    with pytest.raises(InputError, match="probabilities"):
        bl.ideal_correlation(np.full(len(test), 2.0), test)
    with pytest.raises(InputError, match="non-empty"):
        bl.baseline_scans({}, test, [1.0])
    with pytest.raises(InputError, match="at least 20"):
        bl.train_baseline(train[:5], 1, "gbdt")


def test_score_takes_events_only(samples, gbdt) -> None:
    _, test = samples
    x = feature_matrix(test.x, bl.FEATURES)[0]
    for bad in (x, test.x, None):
        with pytest.raises(InputError, match="score takes hepnb.offshell Events.*classifier.score"):
            gbdt.score(bad)
    np.testing.assert_array_equal(gbdt.score(test), gbdt.classifier.score(x))  # what the message points to
    with pytest.raises(InputError, match="n_trees must be between 1 and the 30 trees"):
        bl.StagedGBDT(gbdt.classifier.gbdt, 31)
    with pytest.raises(InputError, match="n_trees must be between 1"):
        bl.StagedGBDT(gbdt.classifier.gbdt, 0)


def test_no_validation_loss_raises_instead_of_loading_no_state(samples, monkeypatch) -> None:
    train, _ = samples
    # Lightning's validation loop switched off: no epoch validated, no best state to load
    with pytest.raises(InputError, match="no validation loss was computed.*limit_val_batches"):
        bl.train_baseline(
            train, 1, "nn", hidden=(8,), epochs=1, batch_size=2048, trainer_options={"limit_val_batches": 0}
        )
    # Lightning's sanity validation before training, if asked for, is not counted as an epoch
    sane = bl.train_baseline(
        train, 1, "nn", hidden=(8,), epochs=2, batch_size=2048, trainer_options={"num_sanity_val_steps": 1}
    )
    assert len(sane.validation_loss) == 2 and np.isfinite(sane.validation_loss).all()
    # every validation loss NaN (a diverged training): no tree count to choose
    monkeypatch.setattr(bl, "bce", lambda p, rows: float("nan"))  # the loss train_baseline reads
    with pytest.raises(InputError, match="every validation loss is NaN or infinite.*lower learning_rate"):
        bl.train_baseline(train, 2, "gbdt", max_iter=3)
