"""Comparison and the histogram metrics: values against hand computations and analytic truth."""

from __future__ import annotations

import hist
import matplotlib
import numpy as np
import pytest

from hepnb.errors import InputError
from hepnb.hists import Comparison, OutsideBinningWarning, chi2, ks, make_hist, mse, wasserstein

matplotlib.use("Agg")


def counts_hist(counts: list[float], lo: float = 0.0, hi: float | None = None) -> hist.Hist:
    h = hist.Hist.new.Reg(len(counts), lo, hi if hi is not None else float(len(counts))).Weight()
    h.view().value = counts
    h.view().variance = counts
    return h


def test_chi2_of_known_histograms_matches_hand_computation() -> None:
    n, m = [10.0, 20.0, 30.0, 0.0], [20.0, 20.0, 20.0, 0.0]
    expected = sum((a / 60 - b / 60) ** 2 / (a / 60**2 + b / 60**2) for a, b in zip(n, m) if a + b > 0)
    result = chi2(counts_hist(n), counts_hist(m))
    assert result.chi2 == pytest.approx(expected)
    assert expected == pytest.approx(10 / 3 + 0 + 10 / 5 * 1)  # (1/6)^2/(30/3600) + (1/6)^2/(50/3600)
    assert result.ndf == 2  # three non-empty bins, one constraint from the normalisation
    assert result.reduced == pytest.approx(expected / 2)


def test_chi2_uses_sum_of_squared_weights_for_weighted_histograms() -> None:
    values = np.array([0.5, 0.5, 1.5])
    weights = np.array([2.0, 2.0, 1.0])
    h = make_hist(values, (2, 0, 2), weights)
    assert h.values().tolist() == [4.0, 1.0]
    assert h.variances().tolist() == [8.0, 1.0]
    ref = counts_hist([1.0, 1.0], 0, 2)
    expected = (4 / 5 - 0.5) ** 2 / (8 / 25 + 1 / 4) + (1 / 5 - 0.5) ** 2 / (1 / 25 + 1 / 4)
    assert chi2(ref, h).chi2 == pytest.approx(expected)


def test_chi2_is_distributed_with_its_ndf_for_same_distribution() -> None:
    rng = np.random.default_rng(7)
    with pytest.warns(OutsideBinningWarning):  # exp(-4) = 1.8% of each sample lies above the range
        reduced = [
            Comparison(rng.exponential(size=20_000), rng.exponential(size=5_000), bins=(20, 0, 4)).chi2().reduced
            for _ in range(40)
        ]
    assert np.mean(reduced) == pytest.approx(1.0, abs=0.12)


def test_wasserstein_of_shifted_distributions_equals_shift() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=50_000)
    comparison = Comparison(x, {"shifted": x + 0.7}, bins=(60, -6, 6))
    assert comparison.wasserstein("shifted") == pytest.approx(0.7, abs=1e-9)
    binned = wasserstein(make_hist(x, (600, -6, 6)), make_hist(x + 0.7, (600, -6, 6)))
    assert binned == pytest.approx(0.7, abs=0.02)


def test_wasserstein_and_ks_with_weights_match_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=3000), rng.normal(0.3, 1.2, size=2000)
    wx, wy = rng.uniform(0.5, 2, 3000), rng.uniform(0.5, 2, 2000)
    c = Comparison(x, {"y": y}, bins=(10, -5, 5), weights={"Reference": wx, "y": wy})
    assert c.wasserstein() == pytest.approx(stats.wasserstein_distance(x, y, wx, wy), rel=1e-9)
    unweighted = Comparison(x, y, bins=(10, -5, 5)).ks()
    reference = stats.ks_2samp(x, y)
    assert unweighted.statistic == pytest.approx(reference.statistic, abs=1e-12)
    assert not unweighted.binned


def test_negative_weights_cancel_in_every_metric() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=10_000)
    extra = rng.uniform(-1, 1, size=2_000)
    # the same events once with +1 and once with -1: they cancel exactly
    values = np.concatenate([x, extra, extra])
    weights = np.concatenate([np.ones(10_000), np.ones(2_000), -np.ones(2_000)])
    c = Comparison(x, values, bins=(40, -4, 4), weights={"Other": weights})
    assert c.wasserstein() == pytest.approx(0.0, abs=1e-12)
    assert c.ks().statistic == pytest.approx(0.0, abs=1e-12)
    result = c.chi2()
    assert result.chi2 == pytest.approx(0.0, abs=1e-20)


def test_mse_of_2d_histograms_in_counts() -> None:
    ref = hist.Hist.new.Reg(2, 0, 2).Reg(2, 0, 2).Weight()
    ref.view().value = [[4, 0], [0, 4]]
    ref.view().variance = [[4, 0], [0, 4]]
    other = ref.copy()
    other.view().value = [[2, 2], [2, 2]]
    other.view().variance = [[2, 2], [2, 2]]
    assert mse(ref, other) == pytest.approx((4 + 4 + 4 + 4) / 4)
    result = chi2(ref, other)
    assert result.ndf == 3
    assert result.chi2 == pytest.approx(2 * 0.25**2 / (4 / 64 + 2 / 64) + 2 * 0.25**2 / (2 / 64))


def test_2d_comparison_from_arrays_and_plot() -> None:
    rng = np.random.default_rng(4)
    c = Comparison(rng.normal(size=(4000, 2)), {"gen": rng.normal(size=(4000, 2))}, bins=((8, -3, 3), (8, -3, 3)))
    assert c.ndim == 2
    assert set(c.table().columns) == {"chi2", "ndf", "chi2/ndf", "MSE", "outside"}
    assert c.table().loc["gen", "chi2/ndf"] == pytest.approx(1.0, abs=0.5)
    fig = c.plot()
    assert len(fig.axes) >= 2
    with pytest.raises(InputError, match="1-D distributions only"):
        c.ks()


def test_plot_has_main_and_ratio_panel_per_comparison() -> None:
    rng = np.random.default_rng(5)
    c = Comparison(rng.normal(size=1000), {"a": rng.normal(size=1000), "b": rng.normal(size=500)}, bins=(20, -3, 3))
    fig = c.plot()
    main, ratio = fig.axes
    assert len(main.get_legend().get_texts()) == 3
    assert ratio.get_ylim() == (0.5, 1.5)
    assert list(ratio.get_yticks()) == [0.75, 1.0, 1.25]  # no tick label on the panel's edges


def test_plot_into_subfigures_and_compact_draw_on_given_axes() -> None:
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(6)
    c = Comparison(rng.normal(size=1000), {"a": rng.normal(size=1000)}, bins=(20, -3, 3), title="Closure")
    fig = plt.figure(figsize=(14, 6))
    for sub in fig.subfigures(1, 2):
        c.plot(sub)
    assert len(fig.axes) == 4
    assert [t.get_text() for t in fig.axes[0].texts][0].endswith("Closure")  # the label of a subfigure panel
    fig.canvas.draw()
    ax, rax = plt.figure().subplots(2, 1)
    c.draw(ax, rax, compact=True)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Reference",
        f"a: $\\chi^2$/ndf = {c.chi2('a').reduced:.1f}",
    ]
    assert rax.get_ylim() == (0.5, 1.5)
    plt.close("all")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Comparison(np.array([0.1, np.nan]), np.zeros(3), bins=(3, 0, 1)), "NaN at index"),
        (lambda: Comparison(np.array([0.1, np.inf]), np.zeros(3), bins=(3, 0, 1)), "infinite"),
        (lambda: Comparison(np.zeros(3), np.zeros(3)), "pass bins="),
        (lambda: Comparison(np.full(3, 5.0), np.zeros(3), bins=(3, 0, 1)), "empty inside the binning"),
        (lambda: Comparison(np.zeros(3), np.zeros(3), bins=(3, 0, 1), weights={"Other": -np.ones(3)}), "negative"),
        (lambda: Comparison(np.zeros(3), np.zeros(3), bins=(3, 0, 1), weights={"Other": np.ones(2)}), "3 values"),
        (lambda: Comparison(np.zeros(3), np.zeros(3), bins=[0, 1, 1]), "strictly increasing"),
        (lambda: Comparison(np.zeros(3), {}, bins=(3, 0, 1)), "at least one"),
        (lambda: Comparison(np.zeros(3), np.zeros(3), bins=(3, 0, 1), weights={"oops": np.ones(3)}), "unknown"),
    ],
)
def test_bad_input_gives_clear_error(make, message) -> None:
    with pytest.raises(InputError, match=message):
        make()


def test_mismatched_binning_names_both_axes() -> None:
    a = hist.Hist.new.Reg(10, 0, 1).Double().fill([0.5])
    b = hist.Hist.new.Reg(20, 0, 1).Double().fill([0.5])
    with pytest.raises(InputError, match="20 bins in \\[0, 1\\] vs 10 bins in \\[0, 1\\]"):
        Comparison(a, b)
    with pytest.raises(InputError, match="2-D but the reference is 1-D"):
        Comparison(a, hist.Hist.new.Reg(10, 0, 1).Reg(2, 0, 1).Double().fill([0.5], [0.5]))


def test_double_storage_histogram_counts_as_poisson() -> None:
    a = hist.Hist.new.Reg(3, 0, 3).Double()
    a.view()[:] = [10, 20, 30]
    b = counts_hist([10.0, 20.0, 30.0])
    assert chi2(a, b).chi2 == pytest.approx(0.0)
    assert Comparison(a, b).table().loc["Other", "ndf"] == 2


def test_label_lookup_errors_name_the_labels() -> None:
    c = Comparison(np.zeros(3), {"a": np.zeros(3), "b": np.zeros(3)}, bins=(3, -1, 1))
    with pytest.raises(InputError, match="name one of"):
        c.chi2()
    with pytest.raises(InputError, match="no histogram labelled 'c'"):
        c.chi2("c")
    assert ks(c.reference, c.others["a"]).statistic == 0.0
