"""Decorrelation metrics: distance correlation against its closed form, JSD, R50 on known ROCs, thresholds at fixed
efficiency against the protected variable and their flatness, profiles, and the core's significance and importance."""

from __future__ import annotations

import doctest

import hist
import numpy as np
import pytest
import torch
from scipy import stats

from hepnb.decorrelation.losses import distance_correlation as torch_distance_correlation
from hepnb.errors import InputError
from hepnb.metrics import decorrelation as dm
from hepnb.metrics import distance_correlation as dcm
from hepnb.metrics import sculpting
from hepnb.metrics.counting import significance_with_error


def naive_dcorr2(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """The textbook double-centred N x N formula with weights p = w / sum w."""
    p = w / w.sum()

    def centred(distances: np.ndarray) -> np.ndarray:
        row = distances @ p
        return distances - row[:, None] - row[None, :] + p @ row

    a, b = centred(np.abs(x[:, None] - x[None])), centred(np.abs(y[:, None] - y[None]))
    return float((p @ (a * b) @ p) / np.sqrt((p @ (a * a) @ p) * (p @ (b * b) @ p)))


def gaussian_pair(rho: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)


@pytest.mark.parametrize("module", [dm, dcm, sculpting])
def test_docstring_examples_run(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------------------------------------------------
# distance correlation
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 17, 256, 1001])
def test_fast_distance_correlation_equals_the_matrix_formula_with_ties_and_negative_weights(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.round(rng.normal(size=n), 1)  # ties in x
    y = x**2 + rng.normal(size=n)
    y[: n // 3] = np.round(y[: n // 3])  # ties in y
    w = rng.uniform(0.2, 2.0, n)
    if n > 10:
        w[::7] = -0.1  # a few small negative weights keep the distance variances positive
    fast = dcm.distance_correlation(x, y, w, jackknife_groups=0).value
    assert fast == pytest.approx(naive_dcorr2(x, y, w), rel=1e-9, abs=1e-12)
    torch_value = torch_distance_correlation(torch.tensor(x), torch.tensor(y), torch.tensor(w))
    assert float(torch_value) == pytest.approx(fast, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9, -0.6])
def test_distance_correlation_of_dependent_gaussians_matches_the_closed_form(rho: float) -> None:
    x, y = gaussian_pair(rho, 20_000, seed=int(10 * abs(rho)) + (rho < 0))
    result = dcm.distance_correlation(x, y)
    truth = dcm.gaussian_distance_correlation(rho)
    assert 0 < result.error < 0.01
    assert abs(result.value - truth) < 4 * result.error + 3.5 / len(x)  # the V-statistic's O(1/N) bias
    assert result.n_events == 20_000 and result.n_effective == pytest.approx(20_000)


def test_distance_correlation_of_independent_samples_is_only_the_finite_sample_bias() -> None:
    x, y = gaussian_pair(0.0, 20_000, seed=3)
    result = dcm.distance_correlation(x, y)
    # E[dCorr^2] ~ 3.2/N for independent Gaussians (E|X-X'|E|Y-Y'| / (N dVar)): far below any real dependence
    assert 0 < result.value < 10 / len(x)
    assert dcm.distance_correlation(x, x**2).value > 100 * result.value  # dependent without Pearson correlation


def test_closed_form_limits_and_bad_rho() -> None:
    assert dcm.gaussian_distance_correlation(0.0) == 0.0
    assert dcm.gaussian_distance_correlation(1.0) == pytest.approx(1.0)
    assert dcm.gaussian_distance_correlation(-0.4) == dcm.gaussian_distance_correlation(0.4)
    values = [dcm.gaussian_distance_correlation(r) for r in np.linspace(0, 1, 11)]
    assert np.all(np.diff(values) > 0) and all(v <= r**2 + 1e-12 for v, r in zip(values, np.linspace(0, 1, 11)))
    with pytest.raises(InputError, match=r"\[-1, 1\]"):
        dcm.gaussian_distance_correlation(1.2)


def test_integer_weights_equal_repeated_events_and_affine_invariance() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=300), rng.normal(size=300)
    y = y + 0.5 * x
    k = rng.integers(1, 4, 300)
    weighted = dcm.distance_correlation(x, y, k.astype(float), jackknife_groups=0).value
    repeated = dcm.distance_correlation(np.repeat(x, k), np.repeat(y, k), jackknife_groups=0).value
    assert weighted == pytest.approx(repeated, rel=1e-10)
    moved = dcm.distance_correlation(-3 * x + 7, 0.01 * y - 2, k.astype(float), jackknife_groups=0).value
    assert moved == pytest.approx(weighted, rel=1e-10)
    assert dcm.distance_correlation(x, 2 * x + 1, jackknife_groups=0).value == pytest.approx(1.0)
    assert dcm.distance_correlation(x, np.ones(300)).value == 0.0


def test_jackknife_error_matches_the_spread_over_independent_samples() -> None:
    values, errors = [], []
    for seed in range(12):
        x, y = gaussian_pair(0.5, 2_000, seed=100 + seed)
        result = dcm.distance_correlation(x, y)
        values.append(result.value)
        errors.append(result.error)
    assert np.mean(errors) == pytest.approx(np.std(values, ddof=1), rel=0.5)


def test_distance_correlation_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="at least 2 events"):
        dcm.distance_correlation([1.0], [2.0])
    with pytest.raises(InputError, match="same length"):
        dcm.distance_correlation([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="positive total weight"):
        dcm.distance_correlation([1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [1.0, -1.0, -1.0])
    with pytest.raises(InputError, match="jackknife_groups"):
        dcm.distance_correlation([1.0, 2.0, 3.0], [1.0, 3.0, 2.0], jackknife_groups=1)
    with pytest.raises(InputError, match="non-finite"):
        dcm.distance_correlation([1.0, np.nan], [1.0, 2.0])


# ----------------------------------------------------------------------------------------------------------------
# JSD, R50 and JSD50
# ----------------------------------------------------------------------------------------------------------------


def test_jensen_shannon_of_identical_histograms_is_zero_and_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    h = hist.Hist(hist.axis.Regular(30, 0, 1), storage=hist.storage.Weight())
    h.fill(rng.uniform(size=1000), weight=rng.uniform(0.5, 1.5, 1000))
    assert dm.jensen_shannon(h, h) == 0.0
    assert dm.jensen_shannon(h.values(), 3 * h.values()) == pytest.approx(0.0, abs=1e-15)  # normalised first
    p, q = rng.uniform(size=30), rng.uniform(size=30)
    mid = 0.5 * (p / p.sum() + q / q.sum())
    expected = 0.5 * (stats.entropy(p, mid) + stats.entropy(q, mid))
    assert dm.jensen_shannon(p, q) == pytest.approx(expected, rel=1e-12)
    assert dm.jensen_shannon([1, 0, 0], [0, 0, 2]) == pytest.approx(np.log(2))
    with pytest.raises(InputError, match="wider bins"):
        dm.jensen_shannon([1.0, -0.5], [1.0, 1.0])
    with pytest.raises(InputError, match="different binnings"):
        dm.jensen_shannon([1.0, 2.0], [1.0, 2.0, 3.0])


def normal_grid(mean: float, n: int) -> np.ndarray:
    """n quantile-spaced points of N(mean, 1): an exact stand-in for a large sample."""
    return stats.norm.ppf((np.arange(n) + 0.5) / n, loc=mean)


def test_r50_on_a_known_gaussian_roc() -> None:
    n = 200_000
    signal, background = normal_grid(2.0, n), normal_grid(0.0, n)
    y = np.concatenate([np.ones(n), np.zeros(n)])
    result = dm.background_rejection(y, np.concatenate([signal, background]))
    # the cut at 50 % signal efficiency is the signal median 2; eps_B = Phi(-2)
    assert result.threshold == pytest.approx(2.0, abs=1e-4)
    assert result.value == pytest.approx(1 / stats.norm.sf(2.0), rel=2e-3)
    eps = stats.norm.sf(2.0)
    assert result.error == pytest.approx(np.sqrt(eps * (1 - eps) / n) / eps**2, rel=0.01)  # binomial
    at_80 = dm.background_rejection(y, np.concatenate([signal, background]), signal_efficiency=0.8)
    assert at_80.value == pytest.approx(1 / stats.norm.sf(2.0 + stats.norm.ppf(0.2)), rel=2e-3)


def test_r50_interpolates_between_roc_points_and_honours_weights() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    score = np.array([0.9, 0.7, 0.2, 0.8, 0.5, 0.3, 0.1])
    # ROC points (eps_S, eps_B): (1/3, 0) at 0.9, (1/3, 1/4) at 0.8, (2/3, 1/4) at 0.7: 1/2 lies between the last two
    result = dm.background_rejection(y, score)
    assert result.background_efficiency == pytest.approx(0.25) and result.value == pytest.approx(4.0)
    assert result.threshold == pytest.approx(0.75)
    weights = np.array([1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 4.0])  # the background above the cut holds 2 of 8
    assert dm.background_rejection(y, score, weights).value == pytest.approx(4.0)
    weights[3] = 1.0
    assert dm.background_rejection(y, score, weights).value == pytest.approx(7.0)
    with pytest.raises(InputError, match="rejection is infinite"):
        dm.background_rejection([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])
    with pytest.raises(InputError, match="0 \\(background\\) or 1"):
        dm.background_rejection([1, 2, 0, 0], [0.9, 0.8, 0.2, 0.1])
    with pytest.raises(InputError, match="between 0 and 1"):
        dm.background_rejection(y, score, signal_efficiency=1.0)


def test_background_jsd_is_near_zero_without_sculpting_and_large_with_it() -> None:
    rng = np.random.default_rng(6)
    n = 60_000
    y = rng.integers(0, 2, n)
    mass = rng.uniform(size=n)
    flat = dm.background_jsd(y, rng.normal(size=n) + y, mass, bins=(20, 0, 1))
    sculpted = dm.background_jsd(y, rng.normal(size=n) + y + 3 * mass, mass, bins=(20, 0, 1))
    assert flat.value < 3e-3 and flat.inverse > 300
    assert sculpted.value > 0.1 and sculpted.inverse < 10
    assert sculpted.error > 0 and sculpted.value > 20 * sculpted.error
    assert flat.n_pass + flat.n_fail == int((y == 0).sum()) and len(flat.edges) == 21
    same = dm.background_jsd(y, rng.normal(size=n) + 2 * y, np.zeros(n), bins=(1, -1, 1))
    assert same.value == 0.0 and same.inverse == np.inf


# ----------------------------------------------------------------------------------------------------------------
# thresholds at fixed efficiency against the mass, their flatness, and profiles
# ----------------------------------------------------------------------------------------------------------------


def test_thresholds_at_fixed_signal_efficiency_follow_a_known_sculpting() -> None:
    # in mass bin k (centre c_k) the signal score is uniform on [0, 1 + c_k]: the 80 % cut is 0.2 (1 + c_k)
    per_bin, centres = 10_000, np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    grid = (np.arange(per_bin) + 0.5) / per_bin
    score = np.concatenate([grid * (1 + c) for c in centres])
    mass = np.repeat(centres, per_bin)
    curves = dm.efficiency_thresholds(score, mass, np.ones(len(score)), bins=(5, 0, 1))
    expected = {0.8: 0.2 * (1 + centres), 0.9: 0.1 * (1 + centres)}
    for row, eff in enumerate(curves.efficiencies):
        np.testing.assert_allclose(curves.thresholds[row], expected[eff], atol=2e-4)
        flatness = curves.flatness(eff)
        t = expected[eff]
        assert flatness.value == pytest.approx(np.sqrt(np.mean((t - t.mean()) ** 2)), rel=1e-3)
        assert flatness.spread == pytest.approx(t.max() - t.min(), rel=1e-3)
        assert flatness.value > 5 * flatness.noise and flatness.chi2_ndf > 50
        assert flatness.n_bins == 5 and flatness.on == "signal"
    np.testing.assert_allclose(curves.centers, centres)
    assert curves.bin_weights.tolist() == [per_bin] * 5


def test_flat_score_gives_flatness_compatible_with_its_error() -> None:
    rng = np.random.default_rng(7)
    chi2 = []
    for _ in range(10):
        n = 40_000
        mass, score, w = rng.uniform(size=n), rng.normal(size=n), rng.uniform(0.5, 1.5, n)
        curves = dm.efficiency_thresholds(score, mass, np.ones(n), w, bins=(20, 0, 1))
        flatness = curves.flatness(0.8)
        chi2.append(flatness.chi2_ndf)
        assert 0.5 * flatness.noise < flatness.value < 1.5 * flatness.noise  # the statistical floor alone
    # the Woodruff errors are the scatter of the per-bin thresholds: chi2/ndf ~ 1 (19 dof, 10 samples)
    assert 0.8 < np.mean(chi2) < 1.4


def test_thresholds_select_signal_background_or_all_and_skip_sparse_bins() -> None:
    y = np.array([1] * 50 + [0] * 50)
    score = np.concatenate([np.linspace(0.5, 1.0, 50), np.linspace(0.0, 0.5, 50)])
    mass = np.tile(np.linspace(0.01, 0.99, 50), 2)
    signal = dm.efficiency_thresholds(score, mass, y, efficiencies=(0.5,), bins=(1, 0, 1), min_events=10)
    background = dm.efficiency_thresholds(
        score, mass, y, efficiencies=(0.5,), bins=(1, 0, 1), on="background", min_events=10
    )
    assert signal.thresholds[0, 0] == pytest.approx(np.linspace(0.5, 1.0, 50)[25])
    assert background.thresholds[0, 0] == pytest.approx(np.linspace(0.0, 0.5, 50)[25])
    sparse = dm.efficiency_thresholds(score, mass, y, bins=[0, 0.1, 1], min_events=10)
    assert np.isnan(sparse.thresholds[:, 0]).all() and np.isfinite(sparse.thresholds[:, 1]).all()
    with pytest.raises(InputError, match="needs two"):
        sparse.flatness(0.8)
    with pytest.raises(InputError, match="no threshold curve"):
        sparse.flatness(0.5)
    with pytest.raises(InputError, match="needs the labels"):
        dm.efficiency_thresholds(score, mass)
    with pytest.raises(InputError, match="between 0 and 1"):
        dm.efficiency_thresholds(score, mass, y, efficiencies=(0.8, 1.2))
    with pytest.raises(InputError, match="'all', 'signal' or 'background'"):
        dm.efficiency_thresholds(score, mass, y, on="sig")


def test_thresholds_honour_negative_weights() -> None:
    # two events at score 0.9 with weights +2 and -1 count as one: 0.9 keeps 1/4 of the weight, 0.5 keeps 3/4
    score = np.array([0.9, 0.9, 0.5, 0.5, 0.1])
    weights = np.array([2.0, -1.0, 1.0, 1.0, 1.0])
    curves = dm.efficiency_thresholds(
        score, np.full(5, 0.5), np.ones(5), weights, efficiencies=(0.25, 0.75), bins=(1, 0, 1), min_events=1
    )
    assert curves.thresholds[:, 0].tolist() == [0.9, 0.5]


def test_score_profile_means_errors_and_selection() -> None:
    rng = np.random.default_rng(8)
    n = 5000
    y, mass = rng.integers(0, 2, n), rng.uniform(size=n)
    score, w = rng.normal(mass + y, 0.3), rng.uniform(0.5, 2.0, n)
    profile = dm.score_profile(score, mass, y, w, bins=(4, 0, 1), on="signal")
    assert isinstance(profile.hist, hist.Hist) and profile.on == "signal"
    inside = (y == 1) & (mass < 0.25)
    mean = np.average(score[inside], weights=w[inside])
    n_eff = w[inside].sum() ** 2 / np.sum(w[inside] ** 2)
    variance = np.sum(w[inside] * (score[inside] - mean) ** 2) / (
        w[inside].sum() - np.sum(w[inside] ** 2) / w[inside].sum()
    )
    assert profile.mean[0] == pytest.approx(mean)
    assert profile.error[0] == pytest.approx(np.sqrt(variance / n_eff), rel=1e-6)
    everything = dm.score_profile(score, mass, bins=[0, 0.5, 1])
    assert everything.hist.view().sum_of_weights.tolist() == [np.sum(mass < 0.5), np.sum(mass >= 0.5)]
    assert np.isnan(dm.score_profile(score, mass, bins=(2, 2, 3)).mean).all()  # empty bins
    with pytest.raises(InputError, match="no signal events"):
        dm.score_profile(score, mass, np.zeros(n), on="signal")


def test_quantile_edges_hold_equal_shares() -> None:
    values = np.random.default_rng(9).exponential(size=10_000)
    edges = dm.quantile_edges(values, 5)
    counts = np.histogram(values, edges)[0]
    assert counts.sum() == 10_000 and counts.max() - counts.min() <= 2
    weighted = dm.quantile_edges([0, 1, 2, 3], 2, [3.0, 1.0, 1.0, 1.0])
    assert weighted[1] < 1.0  # the heavy first value holds half the weight alone
    with pytest.raises(InputError, match="not distinct"):
        dm.quantile_edges(np.zeros(10), 3)


# ----------------------------------------------------------------------------------------------------------------
# the core's significance and permutation importance
# ----------------------------------------------------------------------------------------------------------------


def test_significance_at_threshold_is_the_core_metric_on_the_passing_events() -> None:
    rng = np.random.default_rng(10)
    n = 2000
    y = rng.integers(0, 2, n)
    score, w = rng.uniform(size=n), rng.uniform(0.1, 1.0, n)
    result = dm.significance_at_threshold(y, score, w, threshold=0.9)
    passing = score > 0.9
    s, b = w[passing & (y == 1)], w[passing & (y == 0)]
    expected = significance_with_error(
        "asimov_z",
        {"signal": s.sum(), "background": b.sum()},
        {"signal": np.sqrt(np.sum(s**2)), "background": np.sqrt(np.sum(b**2))},
    )
    assert result.value == pytest.approx(expected.value) and result.error == pytest.approx(expected.error)
    assert result.metric == "asimov_z" and result.yields["signal"] == pytest.approx(s.sum())


def test_compare_importance_shows_the_drop_of_the_protected_variable() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    y = rng.integers(0, 2, n)
    mass = rng.uniform(size=n) + 0.5 * y
    x = np.column_stack([rng.normal(y, 1.0), mass, mass + rng.normal(0, 0.05, n)])

    def sculpting(X: np.ndarray) -> np.ndarray:
        return X[:, 0] + 2 * X[:, 1]

    def decorrelated(X: np.ndarray) -> np.ndarray:
        return X[:, 0]

    table = dm.compare_importance(
        {"classical": sculpting, "aspiration": decorrelated},
        x,
        y,
        n_repeats=4,
        seed=1,
        groups={"x": [0], "mass": [1, 2]},
    )
    assert table.loc["mass", ("classical", "importance")] > 10 * table.loc["mass", ("classical", "error")]
    assert table.loc["mass", ("aspiration", "importance")] == 0.0
    assert table[("classical", "importance")].is_monotonic_decreasing
    with pytest.raises(InputError, match="models is empty"):
        dm.compare_importance({}, x, y)
