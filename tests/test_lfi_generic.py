"""The generic LFI path (arrays in, a scan in any parameter out) on MadMiner's Gaussian toy, and the alpha convention.

MadMiner's toy tutorial (github.com/madminer-tool/madminer, examples/tutorial_toy_simulator): ``z ~ N(theta, 2)``,
``x ~ N(z, 1)``, ``theta0 ~ U(-4, 4)`` against the reference 0, networks (20, 20), 20 epochs, ALICES with
``alpha = 0.1`` (standardised theta); the MSE of ``log r_hat`` against the exact ``log r`` on events drawn at
``theta = 1`` over a grid of 100 theta in [-5, 5] (outside the training range at both ends, as in the tutorial).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from hepnb import lfi
from hepnb.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_single_thread")  # expectations measured on one thread

TOY = lfi.GaussianToy(sigma_z=2.0, sigma_x=1.0)
GRID = np.linspace(-5.0, 5.0, 100)


@pytest.fixture(scope="module")
def sample() -> lfi.RatioSample:
    return lfi.ratio_sample_from_arrays(**TOY.training_arrays(50_000, seed=1))


@pytest.fixture(scope="module")
def test_set() -> tuple[np.ndarray, np.ndarray]:
    """Independent events at theta = 1 and the exact ``log r(x | theta_j, 0)`` on the grid."""
    x = np.random.default_rng(12345).normal(1.0, TOY.sigma, 10_000)[:, None]
    return x, np.stack([TOY.log_ratio(x[:, 0], t, 0.0) for t in GRID])


def log_r_mse(
    method: str, sample: lfi.RatioSample, test_set: tuple[np.ndarray, np.ndarray], activation: str = "tanh"
) -> float:
    alpha = {"alpha": 0.1} if method == "alices" else {}
    est = lfi.ParameterizedRatioEstimator(1, method, n_hidden=(20, 20), activation=activation, **alpha)
    est = lfi.train_estimator(est, sample, seed=1, max_epochs=20, patience=None)
    x, truth = test_set
    return float(np.mean((lfi.log_ratio_grid(est, x, GRID) - truth) ** 2))


def test_carl_on_madminers_toy_is_close_to_madminer(sample, test_set) -> None:
    # measured on one thread, this data and test set, training seeds 1 / 2 / 3: hepnb 0.449 / 0.435 / 0.560, MadMiner
    # 0.9.6 on the same arrays 0.394 / 0.463 / 0.442. Over seeds 1-20 both give 0.455 (sd 0.047 hepnb, 0.034
    # MadMiner; Welch p = 0.89): the seed spread, most of it from |theta| > 4, is the whole gap, and MadMiner's 0.41
    # (issue 17) is one lucky seed, not its mean. The bound is seed 1's value plus a margin, so a regression fails.
    assert log_r_mse("carl", sample, test_set) <= 0.47


def test_alices_on_madminers_toy_is_close_to_madminer(sample, test_set) -> None:
    # alpha = 0.1 in MadMiner's (standardised) convention, = 0.53 in raw theta units here (sigma_theta = 2.31).
    # Measured on one thread: hepnb seeds 1 / 2 / 3: 0.112 / 0.129 / 0.128 (most of it from |theta| > 4, outside
    # the training range: 0.026 / 0.035 / 0.032 inside); MadMiner 0.9.6 trained on the same arrays: 0.115 / 0.124 /
    # 0.125 (issue 17 quotes 0.099 over three seeds). The bound is seed 1's value plus the seed spread.
    assert log_r_mse("alices", sample, test_set) <= 0.13


def test_carl_and_alices_with_silu_meet_madminers_toy_numbers(sample, test_set) -> None:
    # The same networks with SiLU instead of tanh (MadMiner's default): log r is quadratic in x and theta here, which a
    # smooth, non-saturating activation follows more closely, inside the training range (CARL 0.025 against tanh's
    # 0.133 at seed 1) and beyond it. Measured on one thread, this data and test set: training seed 1 (this test) CARL
    # 0.101, ALICES 0.042; seeds 1-10 CARL 0.032-0.118 (mean 0.066; tanh 0.435-0.560 at seeds 1-3), ALICES
    # 0.017-0.042 (mean 0.028; tanh 0.112-0.129). The bounds are the largest seed plus a margin, below issue 17's
    # targets (MadMiner's 0.41 and 0.10), so a loss of the advantage fails.
    assert log_r_mse("carl", sample, test_set, activation="silu") <= 0.15
    assert log_r_mse("alices", sample, test_set, activation="silu") <= 0.06


# ------------------------------------------------------------------------------------------------ the generic scan
def asimov(theta_true: float, n_expected: float, n_points: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic Asimov events of ``p(x | theta_true)``: its quantiles, weighted to ``n_expected`` events."""
    u = (np.arange(n_points) + 0.5) / n_points
    return theta_true + TOY.sigma * stats.norm.ppf(u), np.full(n_points, n_expected / n_points)


def test_asimov_scan_with_the_exact_ratio_recovers_theta_and_the_fisher_width() -> None:
    x, w = asimov(theta_true=1.0, n_expected=100.0)
    grid = np.linspace(-0.5, 2.5, 301)
    scan = lfi.likelihood_scan(np.stack([TOY.log_ratio(x, t, 0.0) for t in grid]), w, theta=grid, theta_true=1.0)
    assert scan.theta_hat == pytest.approx(1.0, abs=1e-9)
    expected = 1.0 / np.sqrt(100.0 / TOY.sigma**2)  # 1 / sqrt(n I), I = 1 / sigma^2 per event
    ((lo, hi),) = scan.interval(0.6827).intervals
    assert (hi - lo) / 2 == pytest.approx(expected, rel=0.02)
    ((lo95, hi95),) = scan.interval(0.95).intervals
    assert (hi95 - lo95) / 2 == pytest.approx(1.959964 * expected, rel=0.02)
    assert not scan.interval(0.95).open_at_edge and scan.q.min() == 0.0
    assert scan.mu is scan.theta and scan.n_events == pytest.approx(100.0)


def test_rate_term_adds_the_poisson_information() -> None:
    # nu(theta) = 50 exp(0.4 theta), shape-free events (log r = 0): Fisher information n b^2 at the truth
    grid = np.linspace(-1.0, 3.0, 401)
    nu = 50.0 * np.exp(0.4 * grid)
    n = 50.0 * np.exp(0.4)
    scan = lfi.likelihood_scan(np.zeros((len(grid), 4)), np.full(4, n / 4), theta=grid, nu=nu)
    assert scan.include_rate and scan.theta_hat == pytest.approx(1.0, abs=1e-3)
    ((lo, hi),) = scan.interval(0.6827).intervals
    assert (hi - lo) / 2 == pytest.approx(1.0 / (0.4 * np.sqrt(n)), rel=0.03)
    assert np.all(scan.with_rate(False).q == 0.0)  # shape only: these events carry no information
    flat = lfi.likelihood_scan(np.zeros((len(grid), 4)), np.full(4, n / 4), theta=grid, nu=nu, include_rate=False)
    assert not flat.include_rate and np.array_equal(flat.log_likelihood_rate, scan.log_likelihood_rate)


# ------------------------------------------------------------------------------------------------ alpha convention
def _batch(sample: lfi.RatioSample, rows: int = 256) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(v[:rows], dtype=torch.float32) for k, v in sample.arrays().items()}


@pytest.mark.parametrize("doubly", [False, True])
def test_standardised_alpha_equals_raw_alpha_times_sigma_squared(doubly: bool) -> None:
    arrays = TOY.training_arrays(2_000, seed=3)
    if doubly:
        arrays["theta1"] = np.random.default_rng(4).uniform(-1, 1, len(arrays["y"]))
    sample = lfi.ratio_sample_from_arrays(**arrays)
    cls = lfi.DoublyParameterizedRatioEstimator if doubly else lfi.ParameterizedRatioEstimator
    options = {"reference_score": True} if doubly else {}
    sigma = float(sample.theta_scaler.scale[0])
    assert sigma == pytest.approx(np.std(np.r_[arrays["theta0"], arrays["theta1"]] if doubly else arrays["theta0"]))
    torch.manual_seed(0)
    std = cls(1, "alices", n_hidden=(20, 20), alpha=0.1, **options)
    raw = cls(1, "alices", n_hidden=(20, 20), alpha=0.1 * sigma**2, alpha_convention="raw", **options)
    old = cls(1, "alices", n_hidden=(20, 20), alpha=0.1, alpha_convention="raw", **options)
    for est in (std, raw, old):
        est.load_state_dict(std.state_dict())
        est.set_standardisation(sample.scaler, sample.theta_scaler)
    batch = _batch(sample)
    loss_std, loss_raw, loss_old = (float(est.loss(batch).detach()) for est in (std, raw, old))
    assert loss_std == pytest.approx(loss_raw, abs=1e-6)
    assert abs(loss_std - loss_old) > 1e-3  # sigma_theta = 2.3: the two conventions differ
    assert float(std.score_alpha()) == pytest.approx(0.1 * sigma**2, rel=1e-6) and old.score_alpha() == 0.1


def test_alpha_settings_are_checked() -> None:
    with pytest.raises(InputError, match="alpha_convention"):
        lfi.ParameterizedRatioEstimator(1, "alices", alpha_convention="madminer")
    with pytest.raises(InputError, match="alpha must be"):
        lfi.DoublyParameterizedRatioEstimator(1, "alices", alpha=-1.0)


# ------------------------------------------------------------------------------------------------ input errors
def test_ratio_sample_from_arrays_refuses_bad_input() -> None:
    x, y = np.zeros((4, 1)), [0, 0, 1, 1]
    with pytest.raises(InputError, match=r"x must be an \(n, d\)"):
        lfi.ratio_sample_from_arrays(np.zeros((1, 1)), 0.0, [0])
    with pytest.raises(InputError, match="one value per row of x"):
        lfi.ratio_sample_from_arrays(x, [0.0, 1.0], y)
    with pytest.raises(InputError, match="non-finite"):
        lfi.ratio_sample_from_arrays(x, 0.5, y, t_xz=[0.0, np.nan, 0.0, 0.0])
    with pytest.raises(InputError, match="r_xz must be > 0"):
        lfi.ratio_sample_from_arrays(x, 0.5, y, r_xz=[1.0, 0.0, 2.0, -1.0])
    with pytest.raises(InputError, match="not both"):
        lfi.ratio_sample_from_arrays(x, 0.5, y, r_xz=1.0, log_r_xz=0.0)
    with pytest.raises(InputError, match="y must be 0"):
        lfi.ratio_sample_from_arrays(x, 0.5, [0, 1, 2, 1])
    with pytest.raises(InputError, match="feature_names"):
        lfi.ratio_sample_from_arrays(x, 0.5, y, feature_names=("a", "b"))
    carl_only = lfi.ratio_sample_from_arrays(x, 0.5, y, r_xz=[1.0, 2.0, 0.5, 1.0])
    assert np.allclose(carl_only.log_r_xz, np.log([1.0, 2.0, 0.5, 1.0])) and np.isnan(carl_only.t_xz).all()
    with pytest.raises(InputError, match="needs the joint t_xz"):
        lfi.train_estimator(lfi.ParameterizedRatioEstimator(1, "alices"), carl_only, seed=0, max_epochs=1)


def test_likelihood_scan_refuses_bad_input() -> None:
    grid = np.linspace(0.0, 1.0, 3)
    log_r = np.zeros((3, 2))
    with pytest.raises(InputError, match="increasing grid"):
        lfi.likelihood_scan(log_r, theta=[0.0, 0.0, 1.0])
    with pytest.raises(InputError, match="log_r must have shape"):
        lfi.likelihood_scan(np.zeros((2, 2)), theta=grid)
    with pytest.raises(InputError, match="one value per event"):
        lfi.likelihood_scan(log_r, [1.0, 1.0, 1.0], theta=grid)
    with pytest.raises(InputError, match="weights must be >= 0"):
        lfi.likelihood_scan(log_r, [1.0, -1.0], theta=grid)
    with pytest.raises(InputError, match="not finite"):
        lfi.likelihood_scan(np.array([[0.0, -np.inf], [0.0, 0.0], [0.0, 0.0]]), theta=grid)
    with pytest.raises(InputError, match="nu must give"):
        lfi.likelihood_scan(log_r, theta=grid, nu=[1.0, 0.0, 1.0])
    with pytest.raises(InputError, match="include_rate=True needs nu"):
        lfi.likelihood_scan(log_r, theta=grid, include_rate=True)
    # a zero-weight event may have a non-finite log r (it does not enter)
    scan = lfi.likelihood_scan(np.array([[0.0, -np.inf], [1.0, 0.0], [0.0, 0.0]]), [1.0, 0.0], theta=grid)
    assert scan.theta_hat == pytest.approx(0.5)


def test_theta_hat_is_the_vertex_of_the_parabola_through_the_best_point() -> None:
    grid = np.linspace(-1.0, 1.0, 11)
    # an exactly quadratic ln L: the refinement returns its maximum between grid points
    scan = lfi.likelihood_scan(-3.0 * (grid[:, None] - 0.37) ** 2, theta=grid)
    assert scan.theta_hat == pytest.approx(0.37, abs=1e-12) and scan.mu_hat == scan.theta_hat
    # at a grid end there is nothing to refine; a two-point grid has its better point
    assert lfi.likelihood_scan(grid[:, None], theta=grid).theta_hat == 1.0
    assert lfi.likelihood_scan([[0.0], [1.0]], theta=[0.0, 1.0]).theta_hat == 1.0


def test_generic_and_kappa_scans_share_one_extended_likelihood() -> None:
    """likelihood_scan in mu with nu(mu) equals scan_from_log_ratios in kappa on the same events and yields."""
    kappa = np.linspace(0.0, 2.0, 21)
    rng = np.random.default_rng(3)
    log_r = rng.normal(0.0, 0.2, (21, 50)) * (kappa[:, None] - 1.0)
    w = rng.uniform(0.0, 0.4, 50)
    yields = {"S": 3.0, "I": -2.0, "B": 9.0}
    ours = lfi.scan_from_log_ratios(log_r, w, kappa=kappa, mu_true=1.0, yields=yields)
    nu = 3.0 * kappa**4 - 2.0 * kappa**2 + 9.0
    generic = lfi.likelihood_scan(log_r, w * 10.0 / w.sum(), theta=kappa**4, nu=nu)
    assert np.allclose(generic.log_likelihood_kinematic, ours.log_likelihood_kinematic * 10.0 / w.sum())
    # the rate terms differ by the constant n ln nu_ref - nu_ref only
    assert np.allclose(generic.log_likelihood_rate - ours.log_likelihood_rate, 10.0 * np.log(10.0) - 10.0)
    assert np.allclose(lfi.likelihood_scan(log_r, w, theta=kappa**4).q, ours.with_rate(False).q)


class _NoRatio:
    def score(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x))


class _ColumnRatio:
    def log_ratio(self, x: np.ndarray, theta: float) -> np.ndarray:
        return np.zeros((len(x), 1))


def test_scans_and_grids_refuse_bad_log_r_and_estimators() -> None:
    grid = np.linspace(0.0, 1.0, 3)
    with pytest.raises(InputError, match=r"rectangular \(len\(theta\), n_events\) = \(3, n\).*every row as long"):
        lfi.likelihood_scan([[0.0, 1.0], [0.0], [1.0, 2.0]], theta=grid)
    with pytest.raises(InputError, match=r"must have shape .* got \(2, 3\); transpose it"):
        lfi.likelihood_scan(np.zeros((2, 3)), theta=grid)
    with pytest.raises(InputError, match="array of numbers"):
        lfi.likelihood_scan([["a", "b"]] * 3, theta=grid)
    with pytest.raises(InputError, match=r"detach\(\)"):
        lfi.likelihood_scan(torch.zeros((3, 2), requires_grad=True), theta=grid)
    x = np.zeros((4, 1))
    with pytest.raises(InputError, match=r"must have a log_ratio\(x, theta\[, theta_ref\]\) method.*_NoRatio"):
        lfi.log_ratio_grid(_NoRatio(), x, grid)
    with pytest.raises(InputError, match=r"returned shape \(4, 1\) for 4 events; it must return one log r per event"):
        lfi.log_ratio_grid(_ColumnRatio(), x, grid)
    with pytest.raises(InputError, match="1-d grid"):
        lfi.log_ratio_grid(TOY, x[:, 0], np.zeros((2, 2)))
    # one number is a one-point grid
    assert lfi.log_ratio_grid(TOY, x[:, 0], 1.0, 0.0).shape == (1, 4)
    with pytest.raises(InputError, match=r"got \(3,\); for one event pass log_r\[:, None\]"):
        lfi.likelihood_scan([0.1, 0.2, 0.3], theta=grid)
