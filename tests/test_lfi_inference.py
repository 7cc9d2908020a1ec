"""Asimov inference closure: exact log r peaks at mu_true and matches the analytic expectation; the binned limit of
the machinery equals the Poisson Asimov scan of hepnb.stats.asymptotic; SALLY on the offshell simulator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hepnb import lfi
from hepnb import offshell as osh
from hepnb.errors import InputError
from hepnb.stats.asymptotic import asimov_scan, refine_maximum

pytestmark = pytest.mark.usefixtures("torch_single_thread")  # expectations measured on one thread

GRID = lfi.THESIS_KAPPA_GRID
SCALE = lfi.THESIS_LUMI / 36.1  # the samples are generated at 36.1 fb^-1


@pytest.fixture(scope="module")
def summed_events(truth_events: osh.Events) -> osh.Events:
    return lfi.helicity_summed(truth_events)


def test_helicity_summed_weights_keep_the_yields(truth_events, summed_events) -> None:
    for c in ("S", "I", "B"):
        diff = summed_events.yields[c] - truth_events.yields[c]
        assert abs(diff) < 4 * truth_events.yields[f"{c}_err"]
    # with these weights the joint score is the exact (oracle) score
    np.testing.assert_allclose(
        osh.joint_score(summed_events, 1.0, "kappa"), lfi.oracle_score(summed_events, 1.0), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("mu_true", [1.0, 1.2**4])
@pytest.mark.parametrize("include_rate", [True, False])
def test_exact_log_ratio_peaks_at_mu_true(summed_events, mu_true: float, include_rate: bool) -> None:
    scan = lfi.oracle_scan(summed_events, mu_true, include_rate=include_rate)
    assert scan.mu[np.argmin(scan.q)] == pytest.approx(mu_true, rel=1e-12)  # Gibbs' inequality: exact on the sample
    # the refined mu_hat: the parabola through the best point and its neighbours, unevenly spaced in mu (measured
    # 0.968 / 0.969 at mu_true = 1, 2.0732 / 2.0765 at 2.0736)
    assert scan.mu_hat == pytest.approx(mu_true, rel=0.04)
    assert np.all(scan.q[np.abs(scan.mu - mu_true) > 1e-9] > 0)
    np.testing.assert_allclose(scan.p_value, stats.chi2.sf(scan.q, 1))
    assert scan.n_expected == pytest.approx(summed_events.expected(mu_true) * SCALE, rel=1e-12)
    # the one-pass oracle equals hepnb.offshell.oracle_log_ratio summed with the Asimov weights
    w = summed_events.weight(mu_true) * SCALE
    j = 40
    expected = w @ osh.oracle_log_ratio(summed_events, GRID[j] ** 4, 1.0)
    assert scan.log_likelihood_kinematic[j] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("include_rate", [True, False])
def test_mu_hat_is_refined_between_grid_points(summed_events, include_rate: bool) -> None:
    # mu_true = 2 lies between the grid points mu = 1.16^4 = 1.81 and 1.2^4 = 2.07; the exact likelihood peaks at 2
    scan = lfi.oracle_scan(summed_events, 2.0, include_rate=include_rate)
    best = scan.mu[np.argmin(scan.q)]
    assert best == pytest.approx(1.2**4)
    assert abs(scan.mu_hat - 2.0) < 0.1 * abs(best - 2.0)  # measured 1.9998 (rate) and 2.0022 (shape)
    assert scan.mu_hat == pytest.approx(refine_maximum(scan.mu, scan.log_likelihood)[1], rel=1e-12)


def test_mu_hat_is_the_vertex_of_a_quadratic_log_likelihood() -> None:
    kappa = np.linspace(0.5, 1.5, 11)
    mu = kappa**4
    yields = {"S": 3.0, "I": -2.0, "B": 9.0}
    # ln L exactly quadratic in mu with its maximum at 1.37, between the grid points 1 and 1.1^4 = 1.46
    log_r = -2.0 * (mu[:, None] - 1.37) ** 2
    scan = lfi.scan_from_log_ratios(log_r, [1.0], kappa=kappa, mu_true=1.0, yields=yields, include_rate=False)
    assert scan.mu_hat == pytest.approx(1.37, abs=1e-12) and scan.mu[np.argmin(scan.q)] == pytest.approx(1.1**4)
    # at a grid end nothing is refined; a two-point grid keeps its better point
    edge = lfi.scan_from_log_ratios(mu[:, None], [1.0], kappa=kappa, mu_true=1.0, yields=yields, include_rate=False)
    assert edge.mu_hat == mu[-1]
    two = lfi.scan_from_log_ratios([[0.0], [1.0]], [1.0], kappa=[0.5, 1.0], mu_true=1.0, yields=yields)
    assert two.with_rate(False).mu_hat == 1.0


def test_oracle_curvature_is_the_fisher_information(summed_events) -> None:
    # q(kappa_t +- d) = N I d^2 + O(d^3) with I = E[t^2] (+ the rate term (dnu/dkappa)^2 / nu)
    kappa = np.array([0.97, 0.99, 1.0, 1.01, 1.03])
    t = lfi.oracle_score(summed_events, 1.0)
    w = summed_events.weight(1.0) * SCALE
    fisher_shape = float(np.sum(w * t**2))
    y = {c: summed_events.yields[c] * SCALE for c in ("S", "I", "B")}
    nu = y["S"] + y["I"] + y["B"]
    fisher_rate = (4 * y["S"] + 2 * y["I"]) ** 2 / nu
    for include_rate, fisher in ((False, fisher_shape), (True, fisher_shape + fisher_rate)):
        q = lfi.oracle_scan(summed_events, 1.0, kappa=kappa, include_rate=include_rate).q
        assert (q[1] + q[3]) / 2 == pytest.approx(fisher * 0.01**2, rel=0.02)


class BinnedRatio:
    """Exact log ratio of a binned model in m4l: ``log[(N_k(mu)/N(mu)) / (N_k(1)/N(1))]`` per event."""

    def __init__(self, events: osh.Events, edges: np.ndarray) -> None:
        self.edges = edges
        index = self.bin(np.asarray(events.x["m4l"], dtype=float)[:, None])
        self.s, self.i, self.b = (
            np.bincount(index, weights=w, minlength=len(edges) - 1) * SCALE for w in events.components()
        )
        self.observables = ("m4l",)

    def bin(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.edges, x[:, 0]) - 1, 0, len(self.edges) - 2)

    def log_p(self, kappa: float) -> np.ndarray:
        n = kappa**4 * self.s + kappa**2 * self.i + self.b
        return np.log(n / n.sum())

    def log_ratio(self, x: np.ndarray, theta: float, theta_ref: float = 1.0) -> np.ndarray:
        return (self.log_p(theta) - self.log_p(theta_ref))[self.bin(x)]


@pytest.mark.parametrize("include_rate", [True, False])
def test_binned_limit_equals_the_poisson_asimov_scan(summed_events, include_rate: bool) -> None:
    m4l = np.asarray(summed_events.x["m4l"], dtype=float)
    edges = np.r_[m4l.min() - 1, np.quantile(m4l, [0.2, 0.4, 0.6, 0.8]), m4l.max() + 1]
    model = BinnedRatio(summed_events, edges)
    mu_true = 1.2**4
    scan = lfi.ratio_scan(model, summed_events, mu_true, include_rate=include_rate, method="binned")
    reference = asimov_scan(GRID**4, model.s, model.i, model.b, mu_true=mu_true, shape_only=not include_rate)
    np.testing.assert_allclose(scan.q, reference.q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scan.interval(0.95).intervals, reference.interval(0.95).intervals, rtol=1e-9)


def test_sally_local_model_with_the_exact_score(summed_events) -> None:
    class ExactScore:
        observables = "thesis-ch7"
        hparams = {"method": "sally-exact", "theta_ref": 1.0}

        def score(self, x: np.ndarray) -> np.ndarray:
            return lfi.oracle_score(summed_events, 1.0)

    kappa = np.array([0.9, 0.99, 1.0, 1.01, 1.1])
    sally = lfi.sally_scan(ExactScore(), summed_events, 1.0, kappa=kappa, include_rate=False)
    oracle = lfi.oracle_scan(summed_events, 1.0, kappa=kappa, include_rate=False)
    # E_SM[t] = 0: the local model peaks at the reference (the refined mu_hat: measured 1.00054)
    assert sally.mu[np.argmin(sally.q)] == 1.0 and sally.mu_hat == pytest.approx(1.0, abs=2e-3)
    # the local model is exact to second order in d kappa: the symmetric average cancels the cubic terms
    assert sally.q[[1, 3]].mean() == pytest.approx(oracle.q[[1, 3]].mean(), rel=0.02)
    assert len(lfi.estimated_scores(ExactScore(), summed_events)) == len(summed_events)
    linear = lfi.sally_scan(ExactScore(), summed_events, 1.0, kappa=kappa, include_rate=False, local_model="linear")
    np.testing.assert_allclose(np.diff(linear.log_likelihood_kinematic, 2), 0.0, atol=1e-12)  # linear in kappa


def test_interval_table_against_the_oracle(summed_events) -> None:
    coarse = GRID[::5]
    oracle = lfi.oracle_scan(summed_events, 1.0, kappa=coarse, include_rate=False)

    class HalfOracle:  # half the exact log ratio: half the information, wider intervals
        observables = "thesis-ch7"
        hparams = {"method": "half"}

        def log_ratio(self, x: np.ndarray, theta: float, theta_ref: float) -> np.ndarray:
            return 0.5 * osh.oracle_log_ratio(summed_events, theta**4, theta_ref**4)

    half = lfi.ratio_scan(HalfOracle(), summed_events, 1.0, kappa=coarse, include_rate=False)
    table = lfi.interval_table([oracle, half])
    assert table.row("oracle").relative_68 == 1.0 and table.row("oracle").relative_95 == 1.0
    assert table.row("half").relative_68 > 1.2 and table.row("half").relative_95 > 1.2
    np.testing.assert_allclose(half.q, 0.5 * oracle.q, rtol=1e-9, atol=1e-12)
    frame = table.to_frame()
    assert list(frame.index) == ["oracle", "half"] and "relative_95" in frame
    with pytest.raises(InputError, match="like with like"):
        lfi.interval_table(
            {"oracle": oracle, "other": lfi.oracle_scan(summed_events, 2.0, kappa=coarse, include_rate=False)}
        )
    with pytest.raises(InputError, match="reference scan"):
        lfi.interval_table({"half": half})


def test_sally_trained_on_the_simulator_learns_the_oracle_score(truth_events, summed_events) -> None:
    # training weights helicity-summed: the regression target is the exact score (measured weighted correlation
    # 0.84, squared error 0.30 of the score's variance); with the raw weights the target carries the helicity noise
    train = lfi.helicity_summed(osh.generate(60_000, seed=1, detector="none"))
    sample = lfi.mine_local_sample(train, 15_000, seed=3)
    sally = lfi.train_estimator(lfi.ScoreEstimator(35, lr=1e-2, final_lr=1e-3), sample, seed=4, max_epochs=6)
    t_hat, t = lfi.estimated_scores(sally, summed_events), lfi.oracle_score(summed_events, 1.0)
    w = summed_events.weight(1.0)
    cov = np.cov(t_hat, t, aweights=w)
    assert cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]) > 0.65
    assert abs(np.average(t_hat, weights=w)) < 0.03  # E_SM[t] = 0; the score spread is 0.23
    assert np.average((t_hat - t) ** 2, weights=w) < 0.6 * np.average(t**2, weights=w)


def test_clear_errors(summed_events) -> None:
    atlas = osh.generate(3000, seed=1)
    with pytest.raises(InputError, match="detector='none'"):
        lfi.oracle_scan(atlas, 1.0)
    with pytest.raises(InputError, match="kappa grid"):
        lfi.oracle_scan(summed_events, 1.0, kappa=[1.0, 0.5])
    with pytest.raises(InputError, match="mu_true"):
        lfi.oracle_scan(summed_events, -1.0)
    with pytest.raises(InputError, match="shape"):
        lfi.scan_from_log_ratios(
            np.zeros((3, 2)), np.ones(2), kappa=[0.0, 1.0], mu_true=1.0, yields={"S": 1.0, "I": -1.0, "B": 5.0}
        )
    with pytest.raises(InputError, match="observables"):
        lfi.ratio_scan(object(), summed_events, 1.0)
    with pytest.raises(InputError, match="local_model"):
        lfi.sally_scan(object(), summed_events, 1.0, local_model="quadratic")


def test_scan_from_log_ratios_and_ratio_scan_refuse_bad_input(summed_events) -> None:
    from types import SimpleNamespace

    yields = {"S": 1.0, "I": -1.0, "B": 5.0}
    with pytest.raises(InputError, match=r"rectangular \(len\(kappa\), n_events\) = \(2, n\)"):
        lfi.scan_from_log_ratios([[0.0, 1.0], [0.0]], [1.0, 1.0], kappa=[0.0, 1.0], mu_true=1.0, yields=yields)
    with pytest.raises(InputError, match=r"\(len\(kappa\), n_events\) = \(2, n\).*got \(3, 2\)"):
        lfi.scan_from_log_ratios(np.zeros((3, 2)), [1.0, 1.0], kappa=[0.0, 1.0], mu_true=1.0, yields=yields)
    with pytest.raises(InputError, match=r"weights must have one value per event \(2\)"):
        lfi.scan_from_log_ratios(np.zeros((2, 2)), [1.0, 1.0, 1.0], kappa=[0.0, 1.0], mu_true=1.0, yields=yields)
    with pytest.raises(InputError, match="weights must be >= 0"):
        lfi.scan_from_log_ratios(np.zeros((2, 2)), [1.0, -1.0], kappa=[0.0, 1.0], mu_true=1.0, yields=yields)
    with pytest.raises(InputError, match=r"log_ratio\(x, theta\[, theta_ref\]\) method.*SimpleNamespace"):
        lfi.ratio_scan(SimpleNamespace(observables="thesis-ch7"), summed_events, 1.0)


def test_oracle_log_density_is_public_and_gives_the_oracle_ratio(summed_events) -> None:
    log_p = lfi.oracle_log_density(summed_events, [0.0, 1.0, 1.5])
    assert log_p.shape == (3, len(summed_events))
    assert np.allclose(log_p[2] - log_p[1], osh.oracle_log_ratio(summed_events, 1.5**4, 1.0))
    # one number is a one-point grid
    assert np.array_equal(lfi.oracle_log_density(summed_events, 1.5), log_p[2:])
    with pytest.raises(InputError, match="kappa >= 0"):
        lfi.oracle_log_density(summed_events, [-1.0])
