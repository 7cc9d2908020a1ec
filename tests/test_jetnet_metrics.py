"""JetNet metrics: analytic closures (shift, squared shift, zero for one distribution, EMD of rotations), JetNet's
own toy values, masking, the real-vs-real baseline, the small-sample warning and the particle-cloud classifier."""

from __future__ import annotations

import doctest
import importlib
import warnings

import numpy as np
import pytest

from hepnb.errors import InputError
from hepnb.metrics.jetnet import (
    SmallSampleWarning,
    cov_mmd,
    energy_movers_distance,
    fpd,
    fpd_kpd_features,
    kpd,
    particle_classifier_test,
    real_baseline,
    w1efp,
    w1m,
    w1p,
)
from hepnb.metrics.physics_distances import fpd_at_n, frechet_distance, mmd2_polynomial_unbiased

pytestmark = pytest.mark.filterwarnings("ignore::hepnb.metrics.physics_distances.SmallSampleWarning")


def toy_jets(n: int, seed: int, width: float = 0.1, n_max: int = 30) -> np.ndarray:
    """JetNet-like clouds [n, n_max, 4]: 10..n_max particles with Gaussian (eta, phi) of the given width,
    exponential pT normalised to 1 per jet, zero padding and the mask as 4th feature."""
    rng = np.random.default_rng(seed)
    real = np.arange(n_max)[None] < rng.integers(10, n_max + 1, n)[:, None]
    eta, phi = rng.normal(0.0, width, (2, n, n_max))
    pt = rng.exponential(1.0, (n, n_max)) * real
    pt /= pt.sum(axis=1, keepdims=True)
    return np.stack([eta, phi, pt, real.astype(float)], axis=-1) * real[..., None]


@pytest.fixture(scope="module")
def samples() -> dict[str, np.ndarray]:
    """Two independent samples of one distribution and one with 50 % wider jets."""
    return {"real": toy_jets(1500, 1), "other": toy_jets(1500, 2), "wide": toy_jets(1500, 3, width=0.15)}


# ------------------------------------------------------------------------------------------------- W1 metrics
def test_w1m_of_a_sample_of_identical_jets_is_zero() -> None:
    jets = np.tile([[0.1, 0.05, 0.6], [-0.1, 0.0, 0.4], [0.0, 0.0, 0.0]], (200, 1, 1))
    result = w1m(jets, jets, num_eval_samples=200, num_batches=3)
    assert (result.value, result.error) == (0.0, 0.0)
    assert (result.metric, result.n_real, result.n_generated, result.num_batches) == ("W1M", 200, 200, 3)


def test_w1m_of_a_sample_with_itself_is_far_below_a_real_difference(samples: dict[str, np.ndarray]) -> None:
    real = samples["real"]
    itself = w1m(real, real, num_eval_samples=1500, num_batches=5)
    wide = w1m(real, samples["wide"], num_eval_samples=1500, num_batches=5)
    assert itself.value < wide.value / 5
    assert wide.value > 10 * wide.error


def test_w1p_of_a_shifted_sample_is_the_shift(samples: dict[str, np.ndarray]) -> None:
    real, other = samples["real"], samples["other"]
    shift = 0.05
    shifted = other.copy()
    shifted[..., 0] += shift * other[..., 3]  # eta of the real particles only
    base = w1p(real, other, num_eval_samples=1000, num_batches=4, seed=3)
    moved = w1p(real, shifted, num_eval_samples=1000, num_batches=4, seed=3)
    # the same seed draws the same jets: per batch |W1(A, B + d) - d| <= W1(A, B) (triangle inequality)
    assert abs(moved.feature_values[0] - shift) <= base.feature_values[0]
    assert base.feature_values[0] < shift / 5
    assert moved.feature_values[1:] == base.feature_values[1:]  # phi and pT untouched
    assert moved.features == ("eta_rel", "phi_rel", "pt_rel")
    assert moved.value == pytest.approx(np.mean(moved.feature_values))
    assert moved.error == pytest.approx(np.sqrt(np.sum(np.square(moved.feature_errors))))


def test_w1p_ignores_masked_and_padded_particles(samples: dict[str, np.ndarray]) -> None:
    real, other = samples["real"][:300], samples["other"][:300]
    reference = w1p(real, other, num_eval_samples=300, num_batches=2, seed=5)
    junk = np.concatenate([other, np.tile([0.9, -0.9, 5.0, 0.0], (300, 4, 1))], axis=1)  # mask feature 0
    assert w1p(real, junk, num_eval_samples=300, num_batches=2, seed=5) == reference
    mask = junk[..., 3]
    with_mask = w1p(
        real,
        junk[..., :3] + np.where(mask[..., None] == 0, 1.0, 0.0),
        generated_mask=mask,
        num_eval_samples=300,
        num_batches=2,
        seed=5,
    )
    assert with_mask == reference


def test_w1efp_sees_wider_jets(samples: dict[str, np.ndarray]) -> None:
    real = samples["real"][:600]
    same = w1efp(real, samples["other"][:600], num_eval_samples=600, num_batches=3)
    wide = w1efp(real, samples["wide"][:600], num_eval_samples=600, num_batches=3)
    assert len(wide.features) == 5 and all("d=4" in name for name in wide.features)
    assert wide.value > 5 * same.value
    assert wide.value > 5 * wide.error


# -------------------------------------------------------------------------------------------------- FPD / KPD
def test_frechet_distance_closed_forms() -> None:
    # 1-D: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2
    assert frechet_distance([1.0], [[4.0]], [-1.0], [[1.0]]) == pytest.approx(4.0 + 1.0)
    cov_a, cov_b = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([[1.0, -0.3], [-0.3, 3.0]])
    mu_a, mu_b = np.array([0.1, 0.2]), np.array([-0.4, 0.6])
    assert frechet_distance(mu_a, cov_a, mu_b, cov_b) == pytest.approx(frechet_distance(mu_b, cov_b, mu_a, cov_a))
    assert frechet_distance(mu_a, cov_a, mu_a, cov_a) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InputError, match="do not match"):
        frechet_distance(mu_a, cov_a, [0.0], [[1.0]])


def test_fpd_of_shifted_gaussians_is_the_squared_shift() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(20_000, 3))
    shifted = rng.normal(size=(20_000, 3)) + [0.3, 0.4, 0.0]
    result = fpd(real, shifted, min_samples=2000, max_samples=10_000, num_batches=5, num_points=5, normalise=False)
    assert result.value == pytest.approx(0.25, abs=3 * result.error + 0.005)
    assert 0 < result.error < 0.01
    assert (result.n_real, result.n_features, len(result.batch_sizes)) == (20_000, 3, 5)
    assert result.batch_sizes[0] == 2000 and result.batch_sizes[-1] == 10_000


def test_fpd_extrapolation_removes_the_finite_sample_bias() -> None:
    rng = np.random.default_rng(1)
    real, other = rng.normal(size=(20_000, 10)), rng.normal(size=(20_000, 10))
    result = fpd(real, other, min_samples=500, max_samples=5000, num_batches=10, num_points=6, normalise=False)
    # at finite N the Fréchet distance of one distribution is positive, ~ 1/N; the intercept is 0 within errors
    assert result.mean_values[0] > result.mean_values[-1] > 0
    assert result.mean_values[0] > 10 * result.error
    assert result.value < 3 * result.error + 1e-4


def test_fpd_at_n_is_the_frechet_distance_of_the_whole_samples() -> None:
    rng = np.random.default_rng(2)
    real, shifted = rng.normal(size=(20_000, 3)), rng.normal(size=(20_000, 3)) + [0.3, 0.4, 0.0]
    value = fpd_at_n(real, shifted, normalise=False)
    moments = [(s.mean(axis=0), np.cov(s, rowvar=False)) for s in (real, shifted)]
    assert value == pytest.approx(frechet_distance(*moments[0], *moments[1]), rel=1e-12)  # no resampling
    assert value == pytest.approx(0.25, abs=0.01)  # the squared shift, plus a bias ~ 1 / N
    assert fpd_at_n(real, real) == pytest.approx(0.0, abs=1e-12)
    assert fpd_at_n(5 * real, 5 * shifted) == pytest.approx(fpd_at_n(real, shifted), rel=1e-9)  # normalised
    # one distribution: positive at finite N, and about ten times smaller for ten times more entries
    small, large = (fpd_at_n(rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), normalise=False) for n in (1000, 10_000))
    assert 0 < large < small / 3 and small < 0.05
    with pytest.raises(InputError, match="different features"):
        fpd_at_n(real, shifted[:, :2])


def test_fpd_and_kpd_reproduce_jetnets_toy_values() -> None:
    # JetNet's tests: fpd(twos, zeros) = 2 normalised (2 features), 8 unnormalised; kpd 15 and 624
    twos, zeros = np.full((200, 2), 2.0), np.zeros((200, 2))
    options = dict(min_samples=50, max_samples=150, num_batches=2, num_points=3)
    assert fpd(zeros, zeros, **options).value == pytest.approx(0.0, abs=1e-12)
    assert fpd(twos, zeros, **options).value == pytest.approx(2.0)
    assert fpd(twos, zeros, normalise=False, **options).value == pytest.approx(8.0)
    assert kpd(twos, zeros, num_batches=2, batch_size=100).value == pytest.approx(15.0)
    assert kpd(twos, zeros, num_batches=2, batch_size=100, normalise=False).value == pytest.approx(624.0)


def test_kpd_of_identical_samples_is_zero_within_its_error() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5000, 5))
    same = kpd(x, x, num_batches=10, batch_size=1000)
    independent = kpd(x, rng.normal(size=(5000, 5)), num_batches=10, batch_size=1000)
    shifted = kpd(x, rng.normal(size=(5000, 5)) + [1.0, 0, 0, 0, 0], num_batches=10, batch_size=1000)
    assert abs(same.value) < 3 * same.error
    assert abs(independent.value) < 3 * independent.error
    assert shifted.value > 5 * shifted.error
    assert len(same.batch_values) == 10 and same.batch_size == 1000


def test_the_mmd2_estimator_is_unbiased() -> None:
    rng = np.random.default_rng(3)
    values = [mmd2_polynomial_unbiased(rng.normal(size=(15, 2)), rng.normal(size=(15, 2))) for _ in range(400)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))


def test_fpd_and_kpd_on_jets_see_wider_jets(samples: dict[str, np.ndarray]) -> None:
    real, other, wide = (fpd_kpd_features(samples[k][:1000]) for k in ("real", "other", "wide"))
    assert real.shape == (1000, 36)
    options = dict(min_samples=200, max_samples=1000, num_batches=5, num_points=4)
    assert fpd(real, wide, **options).value > 10 * fpd(real, other, **options).value
    kpd_wide = kpd(real, wide, num_batches=5, batch_size=500)
    assert kpd_wide.value > 5 * kpd_wide.error


# ------------------------------------------------------------------------------------------------ EMD, COV/MMD
def rotate(jet: np.ndarray, angle: float) -> np.ndarray:
    out = jet.copy()
    c, s = np.cos(angle), np.sin(angle)
    out[:, 0], out[:, 1] = c * jet[:, 0] - s * jet[:, 1], s * jet[:, 0] + c * jet[:, 1]
    return out


def test_emd_of_a_jet_with_itself_is_zero_and_of_rotated_copies_is_known() -> None:
    jet = np.array([[0.2, 0.1, 0.5], [-0.1, 0.25, 0.3], [0.05, -0.3, 0.2]])
    assert energy_movers_distance(jet, jet) == pytest.approx(0.0, abs=1e-12)
    assert energy_movers_distance(jet, jet[::-1]) == pytest.approx(0.0, abs=1e-12)
    # two halves at (+-a, 0) turned by 90 degrees: every pairing moves pT 1 by a sqrt(2)
    a = 0.3
    pair = np.array([[a, 0.0, 0.5], [-a, 0.0, 0.5]])
    assert energy_movers_distance(pair, rotate(pair, np.pi / 2)) == pytest.approx(a * np.sqrt(2), rel=1e-9)
    assert energy_movers_distance(pair, rotate(pair, np.pi / 2), R=0.5) == pytest.approx(2 * a * np.sqrt(2))
    # one particle at radius r turned by alpha moves by the chord 2 r sin(alpha / 2)
    single = np.array([[0.4, 0.0, 0.7]])
    assert energy_movers_distance(single, rotate(single, 0.5)) == pytest.approx(0.7 * 0.8 * np.sin(0.25))
    # a small turn of well-separated particles moves each along its own chord
    radii = np.hypot(jet[:, 0], jet[:, 1])
    expected = np.sum(jet[:, 2] * 2 * radii * np.sin(0.05 / 2))
    assert energy_movers_distance(jet, rotate(jet, 0.05)) == pytest.approx(expected, rel=1e-9)
    assert energy_movers_distance(rotate(jet, 0.05), jet) == pytest.approx(expected, rel=1e-9)


def test_emd_counts_the_pt_difference_and_ignores_masked_particles() -> None:
    jet = np.array([[0.2, 0.1, 0.5], [-0.1, 0.25, 0.3]])
    half = jet * [1.0, 1.0, 0.5]
    assert energy_movers_distance(jet, half) == pytest.approx(0.4)  # |0.8 - 0.4|, nothing moves
    with_junk = np.vstack([np.c_[jet, np.ones(2)], [0.9, 0.9, 3.0, 0.0]])
    assert energy_movers_distance(with_junk, jet) == pytest.approx(0.0, abs=1e-12)
    assert energy_movers_distance(jet, np.zeros((2, 3))) == pytest.approx(0.8)
    with pytest.raises(InputError, match="one jet"):
        energy_movers_distance(jet[None], jet)
    with pytest.raises(InputError, match="R must be positive"):
        energy_movers_distance(jet, jet, R=0.0)


def test_coverage_and_mmd(samples: dict[str, np.ndarray]) -> None:
    real = samples["real"]
    options = dict(num_eval_samples=25, num_batches=2, seed=1)
    cov_same, mmd_same = cov_mmd(real, samples["other"], **options)
    cov_collapsed, _ = cov_mmd(real, np.repeat(real[:2], 100, axis=0), **options)  # a generator of 2 jets
    _, mmd_wide = cov_mmd(real, toy_jets(1500, 4, width=0.25), **options)
    assert cov_collapsed.value <= 2 / 25 < 0.3 < cov_same.value <= 1.0
    assert mmd_wide.value > mmd_same.value + 3 * (mmd_wide.error + mmd_same.error)
    assert (cov_same.metric, mmd_same.metric, mmd_same.num_eval_samples) == ("COV", "MMD", 25)
    copies = np.repeat(real[:1], 30, axis=0)
    assert cov_mmd(copies, copies, **options)[1].value == pytest.approx(0.0, abs=1e-12)


# ----------------------------------------------------------------------------------- classifier, baseline, API
def test_particle_classifier_auc(samples: dict[str, np.ndarray]) -> None:
    import torch

    state = torch.random.get_rng_state()
    real = samples["real"][:1000]
    same = particle_classifier_test(real, samples["other"][:1000], seed=0, epochs=10)
    wide = particle_classifier_test(real, samples["wide"][:1000], seed=0, epochs=10)
    assert abs(same.auc - 0.5) < 3 * same.error
    assert wide.value > 0.75 and wide.significance > 10
    assert (wide.classifier, wide.n_features, wide.n_test) == ("deepsets", 3, 1000)
    assert particle_classifier_test(real, samples["wide"][:1000], seed=0, epochs=10) == wide
    assert torch.equal(torch.random.get_rng_state(), state)  # the global random state is untouched
    with pytest.raises(InputError, match="particle slots"):
        particle_classifier_test(real, samples["other"][:1000, :20], seed=0)


def test_real_baseline_is_below_a_distorted_sample(samples: dict[str, np.ndarray]) -> None:
    real = np.concatenate([samples["real"], samples["other"]])
    baseline = real_baseline(w1m, real, 1000, num_eval_samples=1000, num_batches=3)
    distorted = w1m(real, samples["wide"][:1000], num_eval_samples=1000, num_batches=3)
    assert (baseline.n_real, baseline.n_generated) == (1000, 1000)
    assert baseline.value < distorted.value / 5
    features = fpd_kpd_features(real[:1200])
    fpd_options = dict(min_samples=100, max_samples=600, num_batches=4, num_points=3)
    truth = real_baseline(fpd, features, 600, **fpd_options)
    assert truth.value < fpd(features, fpd_kpd_features(samples["wide"][:600]), **fpd_options).value / 10


def test_real_baseline_draws_two_disjoint_subsets() -> None:
    ids = np.arange(100.0)[:, None]
    first, second = real_baseline(lambda a, b: (a, b), ids, 40, split_seed=3)
    assert len(first) == len(second) == 40 and not set(first[:, 0]) & set(second[:, 0])
    with pytest.raises(InputError, match="n_jets <= 50"):
        real_baseline(lambda a, b: None, ids, 51)


def test_small_samples_warn_and_recommended_ones_do_not() -> None:
    jets = toy_jets(100, 0)
    with pytest.warns(SmallSampleWarning, match="100 real, 100 generated, fewer than the recommended 50000"):
        w1m(jets, jets, num_eval_samples=50, num_batches=1)
    with pytest.warns(SmallSampleWarning, match="W1P"):
        w1p(jets, jets, num_eval_samples=50, num_batches=1)
    with pytest.warns(SmallSampleWarning, match="KPD"):
        kpd(np.ones((10, 2)), np.ones((10, 2)), num_batches=1, batch_size=5)
    with pytest.warns(SmallSampleWarning, match="COV/MMD: 20 generated"):
        cov_mmd(jets, jets[:20], num_eval_samples=30, num_batches=1)
    big = np.random.default_rng(0).normal(size=(50_000, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)
        fpd(big, big, min_samples=100, max_samples=300, num_batches=1, num_points=3)


def test_bad_inputs_raise_clear_errors() -> None:
    jets = toy_jets(20, 0)
    negative = jets.copy()
    negative[0, 0, 2] = -0.5
    with pytest.raises(InputError, match="negative pT"):
        w1m(negative, jets)
    w1p(negative, jets, num_eval_samples=20, num_batches=1)  # a feature like the others for W1P
    with pytest.raises(InputError, match="num_eval_samples >= 1"):
        w1m(jets, jets, num_eval_samples=0)
    with pytest.raises(InputError, match="real_jets must be"):
        w1m(jets[..., :2], jets)
    with pytest.raises(InputError, match="different features"):
        fpd(np.ones((10, 3)), np.ones((10, 2)))
    with pytest.raises(InputError, match="min_samples < max_samples"):
        fpd(np.ones((10, 2)), np.ones((10, 2)), min_samples=100, max_samples=50)
    with pytest.raises(InputError, match="num_points >= 3"):
        fpd(np.ones((10, 2)), np.ones((10, 2)), num_points=2)
    with pytest.raises(InputError, match="batch_size >= 2"):
        kpd(np.ones((10, 2)), np.ones((10, 2)), batch_size=1)


@pytest.mark.parametrize("module", ["particle_clouds", "efp", "physics_distances", "jetnet"])
def test_docstring_examples_run(module: str) -> None:
    with warnings.catch_warnings():
        result = doctest.testmod(importlib.import_module(f"hepnb.metrics.{module}"), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
