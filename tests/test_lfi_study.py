"""Study 3 orchestration (hepnb.lfi.study) and its plots (hepnb.lfi.plots): closure against exact answers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hepnb import lfi  # noqa: E402
from hepnb import offshell as osh  # noqa: E402
from hepnb.errors import InputError  # noqa: E402
from hepnb.lfi import methods, study  # noqa: E402
from hepnb.lfi import plots as lplots  # noqa: E402
from hepnb.stats.asymptotic import asimov_scan  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_single_thread")  # expectations measured on one thread
GRID = lfi.THESIS_KAPPA_GRID


@pytest.fixture(scope="module")
def samples() -> tuple[osh.Events, osh.Events]:
    return study.make_samples(24_000, 24_000, seed=5)


@pytest.fixture(scope="module")
def held_out(samples) -> osh.Events:
    return samples[1]


class ExactRatio:
    """The oracle as an estimator: ``log_ratio`` from the exact density of the evaluation events."""

    observables = "thesis-ch7"
    hparams = {"method": "exact"}

    def __init__(self, events: osh.Events, offset: float = 0.0) -> None:
        self.events, self.offset = events, offset

    def log_ratio(self, x: np.ndarray, theta: float, theta_ref: float = 1.0) -> np.ndarray:
        return osh.oracle_log_ratio(self.events, theta**4, theta_ref**4) + self.offset * (theta - theta_ref)


def test_samples_are_detector_free_and_helicity_summed(samples) -> None:
    train, test = samples
    assert train.meta["config"]["detector"] == "none" and test.meta["config"]["detector"] == "none"
    assert train.meta["config"]["preset"] == study.PRESET
    assert test.meta.get("weights") == "helicity-summed" and "weights" not in train.meta
    assert 0.4 < len(train) / 24_000 < 0.65
    with pytest.raises(InputError, match="n_train"):
        study.make_samples(10, 24_000, seed=1)


def test_toy_joint_quantities_average_to_the_exact_ones() -> None:
    ill = study.toy_illustration(40_000, seed=3)
    central = np.abs(ill.bin_centres) < 3
    assert np.max(np.abs(np.log(ill.r_binned[central] / ill.exact_r(ill.bin_centres[central])))) < 0.12
    assert np.max(np.abs(ill.t_binned[central] - ill.exact_t(ill.bin_centres[central]))) < 0.03
    # law of total variance: the joint score scatters more than its conditional mean (analytically by 25% here)
    assert np.var(ill.joint_t) / np.var(ill.exact_t(ill.x_score)) == pytest.approx(1.25, rel=0.05)
    fig = lplots.plot_toy(ill)
    assert len(fig.axes) == 4
    plt.close(fig)


def test_neff_is_n_at_the_benchmark_and_collapses_away(samples) -> None:
    train, _ = samples
    n = 150  # 300 failed on the exact kinematics: 201 accepted at mu = 1 (the largest weight sets the acceptance)
    table = study.neff_table(train, [1.0, 1.5], [0.0, 1.0, 1.5, 2.0], n, seed=2)
    assert table.loc[1.0, "kappa_b = 1"] == pytest.approx(n, rel=1e-9)  # unweighted: all weights equal
    assert table.loc[1.5, "kappa_b = 1.5"] == pytest.approx(n, rel=1e-9)
    assert table.loc[2.0, "kappa_b = 1"] < 0.5 * n
    assert table.loc[2.0, "kappa_b = 1.5"] > table.loc[2.0, "kappa_b = 1"]  # a closer benchmark helps
    fig = lplots.plot_neff(table, n=n)
    plt.close(fig)


def test_adaptive_edges_have_equal_grid_averaged_population(held_out) -> None:
    m4l = np.asarray(held_out.x["m4l"], dtype=float)
    edges = study.adaptive_edges(m4l, held_out, 10)
    assert len(edges) == 11 and edges[0] < m4l.min() and edges[-1] > m4l.max()
    w_s, w_i, w_b = held_out.components()
    w = np.mean(GRID**4) * w_s + np.mean(GRID**2) * w_i + w_b
    content = np.histogram(m4l, edges, weights=w)[0]
    assert content.sum() == pytest.approx(w.sum(), rel=1e-12)
    assert np.max(np.abs(content / content.mean() - 1)) < 0.05
    with pytest.raises(InputError, match="entries"):
        study.adaptive_edges(m4l[:10], held_out, 10)


@pytest.mark.parametrize("mu_true", [1.0, 4.0])
def test_histogram_scan_is_the_binned_poisson_fit(held_out, mu_true: float) -> None:
    values = np.asarray(held_out.x["pt_j1"], dtype=float)
    model = study.histogram_model(values, held_out, 10)
    scale = lfi.THESIS_LUMI / 36.1
    assert model.s.sum() == pytest.approx(held_out.yields["S"] * scale, rel=1e-12)
    scan = study.histogram_scan(model, mu_true, method="pt_j1")
    for rate in (True, False):
        ref = asimov_scan(GRID**4, model.s, model.i, model.b, mu_true=mu_true, shape_only=not rate)
        np.testing.assert_allclose(scan.with_rate(rate).q, ref.q - ref.q.min(), rtol=1e-9, atol=1e-9)
    scans = study.histogram_scans(model, held_out, [mu_true], method="pt_j1")
    np.testing.assert_allclose(scans[mu_true, False].q, scan.with_rate(False).q)
    two_d = study.histogram_model(np.stack([values, np.asarray(held_out.x["m4l"], float)], 1), held_out, 4)
    assert two_d.shape == (4, 4)


def test_normalisation_keeps_an_exact_ratio_and_removes_an_offset(held_out) -> None:
    kappa = GRID[::10]
    exact = study.ratio_log_r_grid(ExactRatio(held_out), held_out, kappa)
    # helicity-summed weights: sum_i w_i(SM) r_i / sum_i w_i(SM) = 1 exactly
    np.testing.assert_allclose(study.normalise_log_r(exact, held_out), exact, atol=1e-10)
    shifted = study.ratio_log_r_grid(ExactRatio(held_out, offset=0.05), held_out, kappa)
    np.testing.assert_allclose(study.normalise_log_r(shifted, held_out), exact, atol=1e-10)
    # the unnormalised offset tilts the scan, the normalised one is the oracle
    oracle = study.oracle_scans(held_out, [1.0], kappa=kappa)
    plain = study.scans_from_log_r(shifted, held_out, [1.0], "shifted", kappa=kappa)  # uncalibrated by default
    fixed = study.scans_from_log_r(shifted, held_out, [1.0], "shifted", kappa=kappa, normalise=True)
    np.testing.assert_allclose(fixed[1.0, True].q, oracle[1.0, True].q, rtol=1e-8, atol=1e-9)
    assert np.max(np.abs(plain[1.0, False].q - oracle[1.0, False].q)) > 0.1
    # the precomputed grid gives lfi.ratio_scan's scan
    direct = lfi.ratio_scan(ExactRatio(held_out), held_out, 2.0, kappa=kappa, include_rate=False)
    grid = study.scans_from_log_r(exact, held_out, [2.0], "exact", kappa=kappa, normalise=False)
    np.testing.assert_allclose(grid[2.0, False].q, direct.q, rtol=1e-10, atol=1e-12)


def test_width_and_degeneracy_tables(held_out) -> None:
    mus = [1.0, 4.0]
    scans = {
        "oracle": study.oracle_scans(held_out, mus),
        "m4l": study.histogram_scans(np.asarray(held_out.x["m4l"], float), held_out, mus, method="m4l"),
    }
    table = study.width_table(scans, mus)
    assert (table.loc["oracle"] == 1.0).all()
    assert (table.loc["m4l"] > 1.0).all()  # a histogram never beats the exact likelihood
    assert table.columns.nlevels == 3 and len(table.columns) == 8
    assert study.best_histogram(scans, ["m4l", "oracle"]) == "oracle"
    y = held_out.yields
    mu_star = osh.degenerate_partner(y["S"], y["I"])
    grid = np.array([0.0, mu_star**0.25])
    at_zero = {
        "oracle": study.oracle_scans(held_out, [0.0], kappa=grid),
        "m4l": study.histogram_scans(np.asarray(held_out.x["m4l"], float), held_out, [0.0], method="m4l", kappa=grid),
    }
    deg = study.degeneracy_table(at_zero, mu_star)
    assert deg.loc["oracle", "q(mu*) (rate)"] > 1.5 * deg.loc["m4l", "q(mu*) (rate)"] > 0
    assert deg.loc["oracle", "Z (shape)"] == pytest.approx(np.sqrt(deg.loc["oracle", "q(mu*) (shape)"]))
    # the rate adds nothing at the partner: N(mu*) = N(0)
    assert deg.loc["oracle", "q(mu*) (rate)"] == pytest.approx(deg.loc["oracle", "q(mu*) (shape)"], rel=1e-9)
    with pytest.raises(InputError, match="mu\\*"):
        study.degeneracy_table(scans, mu_star)
    ideal = study.ideal_classifier(held_out)
    assert ideal.min() >= 0 and ideal.max() <= 1


def test_trained_methods_scans_and_table(samples) -> None:
    train, test = samples
    sally = study.train_method(
        "sally", train, n_samples=3000, seed=1, max_epochs=2, batch_size=256, lr=3e-3, n_hidden=(16,)
    )
    assert sally.seconds > 0 and sally.n_rows == 3000 and 1 <= sally.best_epoch <= 2
    alice = study.train_method(
        "alice", train, n_samples=2700, seed=1, max_epochs=1, batch_size=256, n_hidden=(8,), thetas=[0.0, 1.2, 1.5]
    )
    nde = study.train_method(
        "nde", train, n_samples=1500, seed=1, max_epochs=1, batch_size=256, n_hidden=(8,), thetas=[0.0, 1.0, 1.5]
    )
    assert nde.estimator.n_features == sally.estimator.n_features == 35  # the ch7 observables, as MadMiner
    nde_summary = study.train_method(
        "nde", train, n_samples=600, seed=1, max_epochs=1, n_hidden=(8,), thetas=[0.0, 1.5], observables=study.SUMMARY
    )
    assert nde_summary.estimator.n_features == len(study.SUMMARY)
    local = study.TrainedMethod("sally local model", sally.estimator, sally.seconds, sally.n_rows, sally.best_epoch)
    kappa = GRID[::5]
    trained = {"sally": sally, "sally local model": local, "alice": alice, "nde": nde}
    scans = {name: study.method_scans(tm, test, [1.0], kappa=kappa, bins=10) for name, tm in trained.items()}
    oracle = study.oracle_scans(test, [1.0], kappa=kappa)
    for name, s in scans.items():
        assert set(s) == {(1.0, True), (1.0, False)} and s[1.0, True].method == name
        assert np.all(s[1.0, True].q >= 0) and s[1.0, True].q.min() == 0
    table = study.method_table(trained, test, oracle, scans)
    assert list(table.index) == list(trained)
    assert table.loc["sally", "uses t(x,z)"] and not table.loc["nde", "uses r(x,z)"]
    assert table.loc["sally", "limits"] == "histogram of t_hat (= SALLINO)"
    assert table.loc["sally local model", "limits"] == "local exponential model"
    assert table.loc["nde", "observables"] == table.loc["alice", "observables"] == "35 ch7"
    assert (table["95% / oracle (rate)"].drop("nde") > 1.0).all()  # no better than the exact likelihood
    # a histogram of t_hat with exact templates cannot beat the oracle; a row is flagged iff one of its ratios is low
    assert not table.loc["sally", "beyond the oracle"]
    lowest = table.filter(like="/ oracle").min(axis=1)
    assert (table["beyond the oracle"] == (lowest < 1 - study.BEYOND_ORACLE_MARGIN)).all()
    assert -1 <= table.loc["sally", "closure corr."] <= 1 and table.loc["sally", "closure MSE"] > 0
    with pytest.raises(InputError, match="method"):
        study.train_method("madminer", train, n_samples=100, seed=1, max_epochs=1)
    with pytest.raises(InputError, match="'sally' for one parameter"):
        study.train_method("sallino", train, n_samples=100, seed=1, max_epochs=1)


def test_numerator_points_and_ratio_defaults(samples) -> None:
    uniform = study.numerator_kappas("uniform")
    assert len(uniform) == 50 and uniform[0] == pytest.approx(0.02) and uniform[-1] == pytest.approx(1.98)
    np.testing.assert_allclose(np.diff(uniform), 0.04)
    grid = study.numerator_kappas("grid")
    assert len(grid) == 51 and grid[0] == 0.0 and grid[-1] == 2.0
    assert study.numerator_kappas("thesis") == lfi.THESIS_KAPPAS and len(lfi.THESIS_KAPPAS) == 27
    with pytest.raises(InputError, match="uniform"):
        study.numerator_kappas("prior")
    train, _ = samples
    # rows are rounded down to a multiple of 2 x (numerator points): 50 uniform points by default, 27 in the thesis
    default = study.train_method("alice", train, n_samples=2040, seed=1, max_epochs=1, batch_size=256)
    assert default.n_rows == 2000 and tuple(default.estimator.hparams["n_hidden"]) == study.RATIO_HIDDEN == (100, 100)
    thesis = study.train_method(
        "alice",
        train,
        n_samples=2040,
        seed=1,
        max_epochs=1,
        batch_size=256,
        thetas=study.numerator_kappas("thesis"),
        n_hidden=(8,),
    )
    # 1530 training rows and 510 validation rows (25%), each rounded down to a multiple of 2 x 27
    assert thesis.n_rows == 1530 // 54 * 54 + 510 // 54 * 54


def test_train_method_validates_on_other_events(samples, monkeypatch) -> None:
    train, _ = samples
    seen: dict[str, lfi.LocalScoreSample] = {}
    real = methods.estimators.train_estimator

    def spy(estimator, sample, *, validation, **options):
        seen["train"], seen["validation"] = sample, validation
        return real(estimator, sample, validation=validation, **options)

    monkeypatch.setattr(methods.estimators, "train_estimator", spy)
    tm = study.train_method("sally", train, n_samples=4000, seed=2, max_epochs=1, batch_size=256, n_hidden=(8,))
    fit, val = seen["train"], seen["validation"]
    assert (len(fit), len(val), tm.n_rows) == (3000, 1000, 4000)
    # an event is identified by its row of observables: every event's row is distinct in the training events ...
    x_all, _ = lfi.observables_matrix(train, "thesis-ch7")
    rows = {r.tobytes() for r in x_all}
    assert len(rows) == len(train)
    fit_rows, val_rows = {r.tobytes() for r in fit.x}, {r.tobytes() for r in val.x}
    assert fit_rows <= rows and val_rows <= rows
    # ... and no event gives both a training and a validation row; the events split 75% / 25%
    assert not fit_rows & val_rows
    fit_events, val_events = methods.split_events(train, seed=2)
    assert len(val_events) == round(0.25 * len(train)) and len(fit_events) + len(val_events) == len(train)
    assert fit_rows <= {r.tobytes() for r in lfi.observables_matrix(fit_events, "thesis-ch7")[0]}
    # mined from all the events with replacement, a random 25% of the rows shares events with the other 75%
    pooled = lfi.mine_local_sample(train, 4000, 2, observables="thesis-ch7")
    order = np.random.default_rng(0).permutation(4000)
    shared = {r.tobytes() for r in pooled.x[order[:1000]]} & {r.tobytes() for r in pooled.x[order[1000:]]}
    assert len(shared) > 50


def test_scan_explorer_redraws_precomputed_scans(held_out) -> None:
    mus = [0.0, 1.0, 4.0]
    scans = {
        "oracle": study.oracle_scans(held_out, mus),
        "m4l": study.histogram_scans(np.asarray(held_out.x["m4l"], float), held_out, mus, method="m4l"),
    }
    explorer = lplots.ScanExplorer(scans)
    assert explorer.mu_trues == mus and explorer.nearest(3.2) == 4.0
    fig = explorer.update(3.2, include_rate=False)
    assert explorer.mu_true == 4.0 and not explorer.include_rate
    assert explorer.current()["m4l"] is scans["m4l"][4.0, False]
    assert "oracle: 95%" in explorer.summary()
    assert len(fig.axes[0].lines) >= 2
    box = explorer.widget()
    assert len(box.children) == 2
    grid_fig = lplots.plot_scan_grid(scans, [1.0, 4.0])
    assert len(grid_fig.axes) == 4
    closure = lplots.plot_closure({0.0: np.arange(5.0)}, {0.0: np.arange(5.0)}, np.arange(5.0), np.arange(5.0))
    assert len(closure.axes) == 2
    plt.close("all")
    with pytest.raises(InputError, match="empty"):
        lplots.ScanExplorer({})
    with pytest.raises(InputError, match="empty"):
        lplots.plot_pvalues({})
