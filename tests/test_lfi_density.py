"""NDE / SCANDAL's masked autoregressive flow against the exact densities of Gaussian toys.

1-D: the Gaussian toy ``x ~ N(theta, s)`` (``hepnb.lfi.GaussianToy``); 2-D: the same ``x`` plus ``y ~ N(B x, W)``,
so that ``p(x, y | theta) = N(x; theta, s) N(y; B x, W)`` needs the autoregressive conditioning of ``y`` on ``x``.
The thresholds are the measured values (one torch thread) with a margin.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hepnb import lfi
from hepnb.errors import InputError
from hepnb.lfi.augmented import Standardizer
from hepnb.lfi.estimators.density import MAX_LEVELS
from hepnb.training import EpochArchive

pytestmark = pytest.mark.usefixtures("torch_single_thread")  # expectations measured on one thread

TOY = lfi.GaussianToy(sigma_z=2.0, sigma_x=1.0)
THETA0 = np.linspace(-2.0, 2.0, 9)
FAST = {"lr": 1e-2, "final_lr": 1e-3}
B, W = 0.8, 0.6  # y | x ~ N(B x, W) in the 2-D toy
P_COUNT = np.array([0.2, 0.7, 0.1])  # a discrete observable independent of theta, in the mixed toy,
COUNT_VALUES = np.array([0.0, 1.0, 5.0])  # taking these values with these probabilities


def sample_2d(n: int, seed: int) -> lfi.DensitySample:
    """The toy's density sample with ``y`` appended (its joint score stays unbiased: y depends on x only)."""
    one = TOY.density_sample(n, seed=seed, thetas=THETA0)
    y = B * one.x[:, 0] + W * np.random.default_rng(seed + 100).normal(size=len(one))
    x = np.c_[one.x[:, 0], y]
    return dataclasses.replace(one, x=x, feature_names=("x", "y"), observables=("x", "y"), scaler=Standardizer.fit(x))


def sample_mixed(n: int, seed: int) -> lfi.DensitySample:
    """The toy's ``x`` with a discrete observable (``COUNT_VALUES`` with probabilities ``P_COUNT``) and a constant
    column 4 appended, neither depending on theta."""
    one = TOY.density_sample(n, seed=seed, thetas=THETA0)
    count = COUNT_VALUES[np.random.default_rng(seed + 200).choice(3, size=len(one), p=P_COUNT)]
    x = np.c_[one.x[:, 0], count, np.full(len(one), 4.0)]
    names = ("x", "n", "c")
    return dataclasses.replace(one, x=x, feature_names=names, observables=names, scaler=Standardizer.fit(x))


def exact_2d(x: np.ndarray, theta: float) -> np.ndarray:
    """``log p(x, y | theta)`` of the 2-D toy."""
    conditional = -0.5 * ((x[:, 1] - B * x[:, 0]) / W) ** 2 - np.log(W * np.sqrt(2 * np.pi))
    return TOY.log_likelihood(x[:, 0], theta) + conditional


@pytest.fixture(scope="module")
def x_1d() -> np.ndarray:
    """Evaluation points drawn from p(x | 0)."""
    return np.random.default_rng(9).normal(0.0, TOY.sigma, 1000)[:, None]


@pytest.fixture(scope="module")
def x_2d() -> np.ndarray:
    x = np.random.default_rng(9).normal(0.0, TOY.sigma, 2000)
    return np.c_[x, B * x + W * np.random.default_rng(10).normal(size=x.size)]


@pytest.fixture(scope="module")
def flows_1d() -> dict[str, lfi.DensityEstimator]:
    sample = TOY.density_sample(6000, seed=9, thetas=THETA0)
    return {
        method: lfi.train_estimator(
            lfi.DensityEstimator(1, method, transforms=2, n_hidden=(20,), **FAST), sample, seed=10, max_epochs=8
        )
        for method in ("nde", "scandal")
    }


@pytest.fixture(scope="module")
def flows_2d() -> dict[str, lfi.DensityEstimator]:
    sample = sample_2d(6000, seed=9)
    return {
        method: lfi.train_estimator(
            lfi.DensityEstimator(2, method, transforms=2, n_hidden=(20,), **FAST), sample, seed=10, max_epochs=8
        )
        for method in ("nde", "scandal")
    }


@pytest.mark.parametrize("method", ["nde", "scandal"])
def test_flow_closes_on_the_gaussian_toy(method: str, flows_1d, x_1d) -> None:
    est = flows_1d[method]
    # measured: MSE of log p <= 0.0003 (nde) / 0.0012 (scandal), of log r 0.0002 / 0.0005, of t 0.0003 / 0.0006;
    # Var log p = 0.49 over these points
    for theta in (-1.0, 0.0, 1.0):
        assert np.mean((est.log_likelihood(x_1d, theta) - TOY.log_likelihood(x_1d[:, 0], theta)) ** 2) < 0.01
    assert np.mean((est.log_ratio(x_1d, 1.0, 0.0) - TOY.log_ratio(x_1d[:, 0], 1.0, 0.0)) ** 2) < 0.01
    assert np.mean((est.score(x_1d, 0.0) - TOY.score(x_1d[:, 0], 0.0)) ** 2) < 0.01  # Var t = 0.2
    assert est.observables == ("x",) and est.hparams["transforms"] == 2


def test_flow_learns_the_autoregressive_2d_density(flows_2d, x_2d) -> None:
    nde, scandal = flows_2d["nde"], flows_2d["scandal"]
    for est in (nde, scandal):
        # measured: MSE of log p 0.018-0.027 (nde), 0.017-0.019 (scandal); Var log p = 1.0 over these points
        for theta in (-1.0, 0.0, 1.0):
            assert np.mean((est.log_likelihood(x_2d, theta) - exact_2d(x_2d, theta)) ** 2) < 0.06
    # SCANDAL's score term pays off: score MSE measured 0.0015 against NDE's 0.0092 (Var t = 0.2; other training
    # seeds: 0.002 vs 0.004, 0.003 vs 0.015)
    t_exact = TOY.score(x_2d[:, 0], 0.0)
    mse_nde = np.mean((nde.score(x_2d, 0.0) - t_exact) ** 2)
    mse_scandal = np.mean((scandal.score(x_2d, 0.0) - t_exact) ** 2)
    assert mse_scandal < 0.005 and mse_scandal < mse_nde / 2


def test_flow_density_integrates_to_one(flows_1d, flows_2d) -> None:
    grid = np.linspace(-25.0, 25.0, 5001)  # the toy's s = 2.24: +-11 s around every theta below
    for est in flows_1d.values():
        for theta in (-1.5, 0.0, 1.5):
            assert np.trapezoid(np.exp(est.log_likelihood(grid[:, None], theta)), grid) == pytest.approx(1, abs=1e-4)
    g = np.linspace(-20.0, 20.0, 401)
    points = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    for theta in (-1.5, 0.0, 1.5):
        density = np.exp(flows_2d["nde"].log_likelihood(points, theta)).reshape(g.size, g.size)
        assert np.trapezoid(np.trapezoid(density, g, axis=1), g) == pytest.approx(1, abs=1e-4)  # measured 1 +- 1e-7


def test_scandal_score_is_the_derivative_of_the_log_density(flows_1d, flows_2d, x_1d, x_2d) -> None:
    eps = 1e-2
    for est, x in ((flows_1d["scandal"], x_1d[:300]), (flows_2d["scandal"], x_2d[:300])):
        for theta in (-0.7, 0.4):
            finite = (est.log_likelihood(x, theta + eps) - est.log_likelihood(x, theta - eps)) / (2 * eps)
            np.testing.assert_allclose(est.score(x, theta), finite, atol=2e-3)  # measured <= 2.5e-4 (float32)
        per_event = np.linspace(-1.0, 1.0, len(x))
        np.testing.assert_allclose(
            est.score(x, per_event),
            [est.score(x[i : i + 1], per_event[i])[0] for i in range(len(x))],
            rtol=1e-5,
            atol=1e-6,
        )


def test_scandal_alpha_weights_the_score_on_standardised_theta(flows_1d) -> None:
    est = flows_1d["scandal"]
    sigma = float(est.theta_scale[0])
    assert sigma == pytest.approx(np.std(THETA0), rel=1e-6)  # 1.29: the training sample's spread of theta
    sample = TOY.density_sample(900, seed=3, thetas=THETA0)
    batch = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in sample.arrays().items()}
    with torch.enable_grad():
        log_p, t_hat = est.log_likelihood_and_score(batch["x"], batch["theta"])
        nll = -log_p.mean().item()
        mse_raw = torch.mean((t_hat - batch["t_xz"]) ** 2).item()
        est.hparams["alpha"] = 0.5
        try:
            loss = est.loss(batch).item()  # default: MadMiner's alpha on t' = sigma_theta t
            est.hparams["alpha_convention"] = "raw"
            loss_raw = est.loss(batch).item()
        finally:
            est.hparams["alpha"], est.hparams["alpha_convention"] = 1.0, "standardised"
    assert loss == pytest.approx(nll + 0.5 * sigma**2 * mse_raw, rel=1e-5)
    assert loss_raw == pytest.approx(nll + 0.5 * mse_raw, rel=1e-5)


def test_discrete_observables_are_dequantised() -> None:
    # the density of (x, n, c) w.r.t. Lebesgue x counting measure is N(x; theta, s) P(n), whatever values n takes
    # (here 0, 1 and 5): a flow trained on the values themselves puts spikes there instead (measured without the
    # dequantisation: log p 7.0 / 6.5 too high on average, MSE 49 / 43 for NDE / SCANDAL; with it 0.31 and 0.10)
    rng = np.random.default_rng(9)
    n = rng.choice(3, 1000, p=P_COUNT)
    x = np.c_[rng.normal(0.0, TOY.sigma, 1000), COUNT_VALUES[n], np.full(1000, 4.0)]
    for method in ("nde", "scandal"):
        est = lfi.DensityEstimator(3, method, transforms=2, n_hidden=(20,), **FAST)
        est = lfi.train_estimator(est, sample_mixed(6000, seed=9), seed=10, max_epochs=8)
        assert est.x_n_levels.tolist() == [0, 3, 1]
        assert est.x_scale[2] == pytest.approx(np.sqrt(1 / 12))  # a constant column: the slab's own spread
        exact = TOY.log_likelihood(x[:, 0], 0.0) + np.log(P_COUNT[n])
        error = est.log_likelihood(x, 0.0) - exact
        assert np.mean(error**2) < 0.3 and abs(np.mean(error)) < 0.6
        # the ratio does not depend on n or c
        assert np.mean((est.log_ratio(x, 1.0, 0.0) - TOY.log_ratio(x[:, 0], 1.0, 0.0)) ** 2) < 0.01


def test_lattice_rules_and_errors() -> None:
    est = lfi.DensityEstimator(2, transforms=1, n_hidden=(4,))
    continuous = np.random.default_rng(1).normal(size=(200, 1))
    est.set_lattice(np.c_[continuous, np.repeat([-1.0, 1.0], 100)])  # a charge: two levels, indices 0 and 1
    assert est.x_n_levels.tolist() == [0, 2] and est.x_levels[1, :2].tolist() == [-1.0, 1.0]
    assert est.x_scale[1] == pytest.approx(np.sqrt(0.25 + 1 / 12)) and est.x_mean[1] == pytest.approx(0.5)
    # the level index: exact at the levels, linear between and beyond them
    index = est._level_index(torch.tensor([[0.0, -1.0], [0.0, 1.0], [0.0, 0.0], [0.0, 3.0]]))
    assert index[:, 1].tolist() == [0.0, 1.0, 0.5, 2.0] and index[:, 0].tolist() == [0.0] * 4
    # a second call forgets the first one's levels; one value more than MAX_LEVELS is continuous, and so is a
    # column whose values are not taken by two rows on average
    est.set_lattice(np.c_[continuous, np.arange(200) % (MAX_LEVELS + 1)])
    assert est.x_n_levels.tolist() == [0, 0]
    est.set_lattice(np.c_[continuous[:10], np.arange(10) % 6])
    assert est.x_n_levels.tolist() == [0, 0]
    est.set_lattice(np.c_[continuous[:10], np.arange(10) % 5])  # each of 5 values on two rows: discrete
    assert est.x_n_levels.tolist() == [0, 5]
    est.set_lattice(np.c_[continuous, np.arange(200) % MAX_LEVELS])  # exactly MAX_LEVELS values: discrete
    assert est.x_n_levels.tolist() == [0, MAX_LEVELS]
    # values that float32 (what the flow sees) cannot tell apart are one level, not a division by zero
    est.set_lattice(np.c_[continuous, np.repeat([1e8, 1e8 + 1], 100)])
    assert est.x_n_levels.tolist() == [0, 1]
    assert np.isfinite(est.log_likelihood(np.array([[0.0, 1e8], [0.0, 1e8 + 1]]), 0.0)).all()
    with pytest.raises(InputError, match=r"training rows as an \(n, 2\) array, got \(5, 3\)"):
        est.set_lattice(np.zeros((5, 3)))
    with pytest.raises(InputError, match="training rows as an"):
        est.set_lattice(np.zeros((0, 2)))
    with pytest.raises(InputError, match="1 non-finite values"):
        est.set_lattice(np.array([[0.0, np.nan]]))


def test_validation_noise_is_the_same_every_epoch() -> None:
    est = lfi.DensityEstimator(3, transforms=1, n_hidden=(4,))
    sample = sample_mixed(200, seed=3)
    est.fit_preprocessing(sample)
    batch = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in sample.arrays().items()}
    est.eval()
    losses = []
    for _ in range(2):
        est.on_validation_epoch_start()
        losses.append(est.loss(batch).item())
    assert losses[0] == losses[1]
    est.train()  # training rows get fresh noise at every step
    assert est.loss(batch).item() != est.loss(batch).item()


def test_estimator_saved_before_the_dequantisation_loads() -> None:
    est = lfi.DensityEstimator(2, transforms=1, n_hidden=(4,))
    old = {k: v for k, v in est.state_dict().items() if k not in ("x_levels", "x_n_levels")}
    other = lfi.DensityEstimator(2, transforms=1, n_hidden=(4,))
    other.x_n_levels.fill_(3)
    other.load_state_dict(old)  # strict: the missing buffers are filled, every column continuous
    assert other.x_n_levels.tolist() == [0, 0]
    x = np.random.default_rng(2).normal(size=(5, 2))
    np.testing.assert_array_equal(other.log_likelihood(x, 0.5), est.log_likelihood(x, 0.5))


def test_a_half_precision_export_keeps_the_lattice_exact(tmp_path) -> None:
    """fp16 rounds pi to 3.140625: an exported flow must keep its levels (buffers) as trained, or the angle's
    values would no longer be its levels."""
    one = TOY.density_sample(400, seed=5, thetas=THETA0)
    angle = np.array([-np.pi, 0.0, np.pi])[np.random.default_rng(6).choice(3, size=len(one))]
    x = np.c_[one.x[:, 0], angle]
    sample = dataclasses.replace(
        one, x=x, feature_names=("x", "phi"), observables=("x", "phi"), scaler=Standardizer.fit(x)
    )
    est = lfi.DensityEstimator(2, transforms=1, n_hidden=(4,), **FAST)
    est = lfi.train_estimator(est, sample, seed=7, max_epochs=1, archive=tmp_path / "flow")
    slim = EpochArchive(tmp_path / "flow").export(tmp_path / "slim")  # half=True by default
    exported = slim.load(slim.epochs[-1])
    assert exported.x_levels.dtype == torch.float32 and torch.equal(exported.x_levels, est.x_levels)
    assert exported.x_levels[1, 2].item() == np.float32(np.pi)
    stored = torch.load(slim.checkpoint_path(slim.epochs[-1]), weights_only=True)["state_dict"]
    assert {stored[name].dtype for name, _ in est.named_parameters()} == {torch.float16}  # the weights: halved
    assert all(stored[name].dtype == value.dtype for name, value in est.named_buffers())  # the buffers: kept
    np.testing.assert_allclose(exported.log_likelihood(x[:20], 0.0), est.log_likelihood(x[:20], 0.0), atol=0.05)


def test_log_density_is_that_of_the_raw_observables(flows_1d, x_1d) -> None:
    est = flows_1d["nde"]
    # the standardisation's Jacobian: rescaling x by c divides the density by c
    scaled = lfi.DensityEstimator(1, transforms=2, n_hidden=(20,))
    scaled.load_state_dict(est.state_dict())
    scaled.x_mean.mul_(3.0)
    scaled.x_scale.mul_(3.0)
    np.testing.assert_allclose(
        scaled.log_likelihood(3.0 * x_1d, 0.5), est.log_likelihood(x_1d, 0.5) - np.log(3.0), rtol=1e-5, atol=1e-5
    )


def test_same_seed_same_bytes() -> None:
    sample = sample_2d(900, seed=5)

    def make() -> lfi.DensityEstimator:
        return lfi.DensityEstimator(2, "scandal", transforms=2, n_hidden=(8,))

    one = lfi.train_estimator(make, sample, seed=12, max_epochs=2)
    two = lfi.train_estimator(make(), sample, seed=12, max_epochs=2)  # built before seeding: weights redrawn
    other = lfi.train_estimator(make, sample, seed=13, max_epochs=2)
    p1, p2, p3 = ([p.detach().numpy().tobytes() for p in m.parameters()] for m in (one, two, other))
    assert p1 == p2 and p1 != p3
    x = sample.x[:50]
    assert one.log_likelihood(x, 0.3).tobytes() == two.log_likelihood(x, 0.3).tobytes()
    # the one-feature flow too (zuko builds it from its own Linear layers, replaced by torch's to be reseeded)
    small = TOY.density_sample(600, seed=5, thetas=THETA0)
    a, b = (lfi.train_estimator(lfi.DensityEstimator(1, transforms=2), small, seed=4, max_epochs=1) for _ in range(2))
    assert [p.detach().numpy().tobytes() for p in a.parameters()] == [
        p.detach().numpy().tobytes() for p in b.parameters()
    ]
    assert all(isinstance(m, torch.nn.Linear) for m in a.modules() if "Linear" in type(m).__name__)


def test_density_estimator_errors(flows_1d) -> None:
    with pytest.raises(InputError, match="method must be one of"):
        lfi.DensityEstimator(1, "alices")
    with pytest.raises(InputError, match="transforms must be a positive integer"):
        lfi.DensityEstimator(1, transforms=0)
    with pytest.raises(InputError, match="n_hidden must list positive layer widths"):
        lfi.DensityEstimator(1, n_hidden=(0,))
    with pytest.raises(InputError, match="n_hidden must list positive layer widths"):
        lfi.DensityEstimator(1, n_hidden=())
    with pytest.raises(InputError, match="activation must be one of"):
        lfi.DensityEstimator(1, activation="swishy")
    with pytest.raises(InputError, match="alpha must be a finite number"):
        lfi.DensityEstimator(1, "scandal", alpha=-1.0)
    with pytest.raises(InputError, match="alpha_convention must be one of"):
        lfi.DensityEstimator(1, "scandal", alpha_convention="natural")
    with pytest.raises(InputError, match="n_features must be a positive integer"):
        lfi.DensityEstimator(0)
    with pytest.raises(InputError, match="trains on a DensitySample"):
        lfi.train_estimator(lfi.DensityEstimator(1), TOY.local_sample(100, seed=1), seed=0, max_epochs=1)
    with pytest.raises(InputError, match="the sample has 2 observables, the estimator takes 1"):
        lfi.train_estimator(lfi.DensityEstimator(1), sample_2d(100, seed=1), seed=0, max_epochs=1)
    est = flows_1d["nde"]
    with pytest.raises(InputError, match=r"shape \(n, 1\)"):
        est.log_likelihood(np.zeros((2, 3)), 0.0)
    with pytest.raises(InputError, match="one number or one per event"):
        est.score(np.zeros((4, 1)), [0.0, 1.0])
    with pytest.raises(InputError, match="non-finite"):
        est.log_ratio(np.array([[np.nan]]), 1.0, 0.0)
