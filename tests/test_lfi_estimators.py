"""Closure of the LFI estimators on the Gaussian toy (exact answer known), determinism and clear errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from hepnb import lfi
from hepnb.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_single_thread")  # expectations measured on one thread

TOY = lfi.GaussianToy(sigma_z=2.0, sigma_x=1.0)
THETA0 = np.linspace(-2.0, 2.0, 9)
FAST = {"lr": 1e-2, "final_lr": 1e-3}


@pytest.fixture(scope="module")
def ratio_sample() -> lfi.RatioSample:
    return TOY.ratio_sample(8000, seed=1, theta0=THETA0, theta1=0.0)


@pytest.fixture(scope="module")
def x_eval() -> np.ndarray:
    """Evaluation points drawn from the reference p(x | 0)."""
    return np.random.default_rng(9).normal(0.0, TOY.sigma, 3000)[:, None]


def log_r_mse(estimator: object, x: np.ndarray, thetas: tuple[float, ...] = (-1.5, -0.5, 0.5, 1.5)) -> float:
    return float(
        np.mean([np.mean((estimator.log_ratio(x, th) - TOY.log_ratio(x[:, 0], th, 0.0)) ** 2) for th in thetas])
    )


@pytest.fixture(scope="module")
def alices(ratio_sample: lfi.RatioSample) -> lfi.ParameterizedRatioEstimator:
    est = lfi.ParameterizedRatioEstimator(1, "alices", n_hidden=(50,), alpha=1.0, **FAST)
    return lfi.train_estimator(est, ratio_sample, seed=2, max_epochs=10)


def test_alices_learns_the_exact_log_ratio_and_score_and_beats_carl(alices, ratio_sample, x_eval) -> None:
    # ALICES: MSE(log r) ~ 0.003 and MSE(t) ~ 0.003 (Var t = 0.2); CARL on the same data ~ 0.02 (MadMiner's toy
    # tutorial ordering: CARL 0.337 > ALICES 0.090 at their settings)
    mse_alices = log_r_mse(alices, x_eval)
    assert mse_alices < 0.01
    score_mse = np.mean((alices.score(x_eval, 0.5) - TOY.score(x_eval[:, 0], 0.5)) ** 2)
    assert score_mse < 0.01
    carl = lfi.train_estimator(
        lfi.ParameterizedRatioEstimator(1, "carl", n_hidden=(50,), **FAST), ratio_sample, seed=2, max_epochs=10
    )
    assert log_r_mse(carl, x_eval) > 2 * mse_alices
    assert alices.history["best_epoch"] >= 1 and len(alices.history["val_loss"]) >= alices.history["best_epoch"]


@pytest.mark.parametrize("method", ["rolr", "rascal", "alice", "cascal"])
def test_every_ratio_method_closes(method: str, ratio_sample, x_eval) -> None:
    est = lfi.train_estimator(
        lfi.ParameterizedRatioEstimator(1, method, n_hidden=(30,), **FAST), ratio_sample, seed=3, max_epochs=6
    )
    # the log ratio varies by ~ +-1.5 over the evaluation points; each method gets within 0.25 in RMS
    assert log_r_mse(est, x_eval) < 0.06


def test_doubly_parameterised_estimator_is_antisymmetric_and_closes(x_eval) -> None:
    rng = np.random.default_rng(4)
    a, b = rng.uniform(-2, 2, 24), rng.uniform(-2, 2, 24)
    sample = TOY.ratio_sample(9600, seed=5, theta0=a, theta1=b)
    assert sample.doubly_parameterized
    est = lfi.train_estimator(
        lfi.DoublyParameterizedRatioEstimator(1, "alices", n_hidden=(50,), **FAST), sample, seed=6, max_epochs=8
    )
    x = x_eval[:500]
    np.testing.assert_allclose(est.log_ratio(x, 1.0, -0.5), -est.log_ratio(x, -0.5, 1.0), atol=1e-6)
    np.testing.assert_allclose(est.log_ratio(x, 0.7, 0.7), 0.0, atol=1e-6)
    err = np.mean((est.log_ratio(x, 1.0, -1.0) - TOY.log_ratio(x[:, 0], 1.0, -1.0)) ** 2)
    assert err < 0.05  # the exact log ratio has a spread of ~1.8 here


def test_sally_learns_the_true_score() -> None:
    sample = TOY.local_sample(4000, seed=7, theta=0.0)
    sally = lfi.train_estimator(lfi.ScoreEstimator(1, n_hidden=(20,), **FAST), sample, seed=8, max_epochs=8)
    x = np.linspace(-2 * TOY.sigma, 2 * TOY.sigma, 61)[:, None]
    t_true = TOY.score(x[:, 0], 0.0)  # spans +-0.89 within 2 sigma (the tanh net saturates further out)
    assert np.max(np.abs(sally.score(x) - t_true)) < 0.1  # measured 0.05
    x_ref = np.random.default_rng(9).normal(0.0, TOY.sigma, 3000)[:, None]
    assert np.mean((sally.score(x_ref) - TOY.score(x_ref[:, 0], 0.0)) ** 2) < 0.005  # measured 0.0008; Var t = 0.2
    assert sally.hparams["theta_ref"] == 0.0 and sally.observables == ("x",)


def test_same_seed_same_weights_and_ensemble_spread(ratio_sample) -> None:
    from hepnb.lfi.estimators import member_seeds

    small = TOY.ratio_sample(1200, seed=11, theta0=THETA0)

    def make() -> lfi.ParameterizedRatioEstimator:
        return lfi.ParameterizedRatioEstimator(1, "alices", n_hidden=(10,))

    one = lfi.train_estimator(make, small, seed=12, max_epochs=2)
    two = lfi.train_estimator(make(), small, seed=12, max_epochs=2, accelerator="cpu", devices=1)  # Trainer options
    other = lfi.train_estimator(make, small, seed=13, max_epochs=2)
    p1, p2, p3 = ([p.detach().numpy().tobytes() for p in m.parameters()] for m in (one, two, other))
    assert p1 == p2 and p1 != p3

    ensemble = lfi.train_ensemble(make, small, 3, seed=12, max_epochs=2)
    again = lfi.train_ensemble(make, small, 3, seed=12, max_epochs=2)
    x = np.linspace(-3, 3, 7)[:, None]
    pred = ensemble.evaluate("log_ratio", x, 1.0)
    assert pred.members.shape == (3, 7) and np.all(pred.std > 0)
    np.testing.assert_array_equal(again.evaluate("log_ratio", x, 1.0).members, pred.members)  # deterministic
    member_1 = lfi.train_estimator(make, small, seed=member_seeds(12, 3)[1], max_epochs=2)
    np.testing.assert_allclose(pred.members[1], member_1.log_ratio(x, 1.0))  # member i trains with its own seed
    np.testing.assert_allclose(ensemble.log_ratio(x, 1.0), pred.members.mean(axis=0))


def test_member_seeds_are_independent_streams_of_the_ensemble_seed() -> None:
    from hepnb.lfi.estimators import member_seeds
    from hepnb.lfi.estimators.training import MEMBER_SPAWN_TAG

    # seed arithmetic (seed + i) made member i of seed s member i - 1 of seed s + 1
    for seed in (0, 12, 2**31):
        assert not set(member_seeds(seed, 5)) & set(member_seeds(seed + 1, 5))
    every = [s for seed in range(201) for s in member_seeds(seed, 10)]
    assert len(set(every)) == len(every) and all(0 <= s < 2**32 for s in every)  # what seed_everything accepts
    assert member_seeds(12, 3) == member_seeds(12, 3) == member_seeds(12, 5)[:3]
    # pinned: the first 32-bit words of the children 0, 1, 2 of SeedSequence(12)'s child MEMBER_SPAWN_TAG (a change
    # of scheme changes every result)
    assert member_seeds(12, 3) == [4208398780, 3152773558, 2014264831]
    tagged = np.random.SeedSequence(12, spawn_key=(MEMBER_SPAWN_TAG,)).spawn(3)
    assert member_seeds(12, 3) == [int(c.generate_state(1, dtype=np.uint32)[0]) for c in tagged]
    for bad_seed, bad_k in ((-1, 3), (1.5, 3), (True, 3), (12, 0), (12, True)):
        with pytest.raises(InputError, match="seed must be|k must be"):
            member_seeds(bad_seed, bad_k)


def test_member_seeds_are_not_drawn_from_the_sample_seeds_streams() -> None:
    from hepnb.lfi import methods
    from hepnb.lfi.estimators import member_seeds

    for seed in range(50):
        members = member_seeds(seed, 10)
        # the children (i,) of SeedSequence(seed) are the sample roles' streams (and their first words would be
        # member i's seed if the members spawned the same children)
        children = np.random.SeedSequence(seed).spawn(10)
        assert not set(members) & {int(c.generate_state(1, dtype=np.uint32)[0]) for c in children}
        # nor does a member seed equal the low 32 bits of a sample seed (its first 64-bit word, halved)
        low = {(methods.sample_seed(seed, role) << 1) & 0xFFFFFFFF for role in methods.SAMPLE_ROLES}
        assert not {m & 0xFFFFFFFE for m in members} & low


def test_validation_sample_replaces_the_row_split() -> None:
    import torch

    train, other = TOY.ratio_sample(1800, seed=21, theta0=THETA0), TOY.ratio_sample(900, seed=22, theta0=THETA0)
    est = lfi.train_estimator(
        lfi.ParameterizedRatioEstimator(1, "alices", n_hidden=(10,)),
        train,
        seed=3,
        max_epochs=1,
        patience=None,
        validation=other,
    )
    # the validation loss is the loss of the trained network on the given sample (one batch of 900 rows) ...
    batch = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in other.arrays().items()}
    with torch.enable_grad():
        expected = float(est.loss(batch).detach())
    assert est.history["val_loss"][0] == pytest.approx(expected, rel=1e-5)
    # ... and not the loss on the held-out rows of the training sample
    split = lfi.train_estimator(
        lfi.ParameterizedRatioEstimator(1, "alices", n_hidden=(10,)), train, seed=3, max_epochs=1, patience=None
    )
    assert split.history["val_loss"][0] != pytest.approx(est.history["val_loss"][0], rel=1e-3)
    make = lfi.ParameterizedRatioEstimator(1, "alices", n_hidden=(10,))
    with pytest.raises(InputError, match="validation must be a RatioSample"):
        lfi.train_estimator(make, train, seed=0, max_epochs=1, validation=TOY.local_sample(300, seed=1))
    empty = dataclasses.replace(other, **{k: v[:0] for k, v in other.arrays().items()})
    with pytest.raises(InputError, match="validation sample is empty"):
        lfi.train_estimator(make, train, seed=0, max_epochs=1, validation=empty)
    rng = np.random.default_rng(0)
    two_features = lfi.ratio_sample_from_arrays(
        rng.normal(size=(200, 2)), np.zeros(200), np.arange(200) % 2, feature_names=("a", "b")
    )
    with pytest.raises(InputError, match="validation sample has observables"):
        lfi.train_estimator(make, train, seed=0, max_epochs=1, validation=two_features)
    doubly = TOY.ratio_sample(400, seed=1, theta0=[0.0, 1.0], theta1=[1.0, 0.0])
    with pytest.raises(InputError, match="varying reference theta1"):
        lfi.train_estimator(make, train, seed=0, max_epochs=1, validation=doubly)


def test_clear_errors(alices, ratio_sample) -> None:
    with pytest.raises(InputError, match="method must be one of"):
        lfi.ParameterizedRatioEstimator(1, "sally")
    with pytest.raises(InputError, match="activation"):
        lfi.ScoreEstimator(1, activation="swishy")
    with pytest.raises(InputError, match="trains on a LocalScoreSample"):
        lfi.train_estimator(lfi.ScoreEstimator(1), ratio_sample, seed=0, max_epochs=1)
    with pytest.raises(InputError, match="observables"):
        lfi.train_estimator(lfi.ParameterizedRatioEstimator(3), ratio_sample, seed=0, max_epochs=1)
    with pytest.raises(InputError, match="validation_split"):
        lfi.train_estimator(lfi.ParameterizedRatioEstimator(1), ratio_sample, seed=0, validation_split=1.5)
    with pytest.raises(InputError, match="reference kappa=0.0 only"):
        alices.log_ratio(np.zeros((2, 1)), 1.0, theta_ref=1.0)
    with pytest.raises(InputError, match=r"shape \(n, 1\)"):
        alices.log_ratio(np.zeros((2, 3)), 1.0)
    with pytest.raises(InputError, match="non-finite"):
        alices.log_ratio(np.array([[np.nan]]), 1.0)
    doubly = TOY.ratio_sample(400, seed=1, theta0=[0.0, 1.0], theta1=[1.0, 0.0])
    with pytest.raises(InputError, match="DoublyParameterizedRatioEstimator"):
        lfi.train_estimator(lfi.ParameterizedRatioEstimator(1), doubly, seed=0, max_epochs=1)
    with pytest.raises(InputError, match="one class"):
        lfi.Ensemble([alices, lfi.ScoreEstimator(1)])


def test_training_into_an_epoch_archive(tmp_path) -> None:
    from hepnb.training import EpochArchive

    small = TOY.local_sample(600, seed=14, theta=0.0)
    sally = lfi.train_estimator(
        lambda: lfi.ScoreEstimator(1, n_hidden=(8,)),
        small,
        seed=15,
        max_epochs=3,
        patience=None,
        archive=tmp_path / "sally",
    )
    archive = EpochArchive(tmp_path / "sally")
    assert archive.epochs == [1, 2, 3] and "val_loss" in archive.history
    loaded = archive.load(3)
    assert isinstance(loaded, lfi.ScoreEstimator) and loaded.observables == ("x",)
    np.testing.assert_allclose(loaded.x_scale.numpy(), sally.x_scale.numpy())
    # the returned module holds the best validation epoch, the archive every epoch
    best = sally.history["best_epoch"]
    x = np.linspace(-2, 2, 5)[:, None]
    np.testing.assert_allclose(archive.load(best).score(x), sally.score(x), rtol=1e-6)


def test_importing_lfi_loads_neither_torch_nor_lightning() -> None:
    code = (
        "import sys\n"
        "from hepnb import lfi\n"
        "from hepnb.lfi import estimators, study\n"
        "assert {'Ensemble', 'train_estimator', 'GaussianToy', 'study'} <= set(dir(lfi)), dir(lfi)\n"
        "assert estimators.Ensemble.__module__ == 'hepnb.lfi.estimators.ensemble'\n"
        "loaded = {name.split('.')[0] for name in sys.modules} & {'torch', 'lightning'}\n"
        "assert not loaded, f'{loaded} imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
