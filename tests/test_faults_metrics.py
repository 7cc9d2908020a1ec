"""Bad input and extreme numbers in the histogram comparison and the metrics: clear errors, never wrong numbers.

Each test reproduces a probe of the reliability review (table rows 1e-1q, 7l, 7o and section S8/S11).
"""

from __future__ import annotations

import warnings

import hist
import numpy as np
import pandas as pd
import pytest

from hepnb.calo.simulate import simulate
from hepnb.errors import InputError, as_finite_array
from hepnb.hists import MAX_BINS, Comparison, OutsideBinningWarning, chi2, ks, make_hist
from hepnb.metrics.generative import classifier_two_sample_test
from hepnb.metrics.importance import permutation_importance
from hepnb.metrics.weighted import weighted_auc


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    """1000 standard normal draws each, the second to be shifted by 2 sigma."""
    rng = np.random.default_rng(0)
    return rng.normal(size=1000), rng.normal(size=1000)


def labelled_events(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(int)
    return y, rng.normal(y, 1.0)


# ------------------------------------------------------------------------------------ permutation importance (7o)
def test_permutation_importance_refuses_duplicate_feature_names() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    y = (rng.random(n) < 0.5).astype(int)
    X = np.c_[rng.normal(y, 1), rng.normal(size=n), rng.normal(size=n)]
    with pytest.raises(InputError, match=r"unique.*\['a'\]"):
        permutation_importance(lambda X: X[:, 0], X, y, feature_names=["a", "a", "b"])
    frame = pd.DataFrame(X, columns=["a", "b", "a"])
    with pytest.raises(InputError, match=r"\['a'\].*columns of X"):
        permutation_importance(lambda X: X.iloc[:, 0].to_numpy(), frame, y)
    # with unique names the decisive column is found, so the refusal is what prevented a 0 importance
    result = permutation_importance(lambda X: X[:, 0], X, y, feature_names=["a", "c", "b"])
    assert result["a"][0] > 0.1
    assert result["c"] == (0.0, 0.0)


def test_permutation_importance_refuses_groups_whose_names_collide_as_text() -> None:
    y, _ = labelled_events(200)
    X = np.c_[y + 0.1, np.zeros(200)]
    with pytest.raises(InputError, match="group names"):
        permutation_importance(lambda X: X[:, 0], X, y, groups={1: [0], "1": [1]})


# ------------------------------------------------------------------------------------------- weighted AUC (7l)
@pytest.mark.parametrize("cancelling", ["signal", "background"])
def test_weighted_auc_refuses_a_class_whose_weights_cancel(cancelling: str) -> None:
    y, score = labelled_events()
    w = np.ones(len(y))
    members = np.flatnonzero(y == (1 if cancelling == "signal" else 0))
    w[members[0]] = -(len(members) - 1) + 1e-6  # the class's weights sum to 1e-6
    with pytest.raises(InputError, match=f"the {cancelling} weights cancel"):
        weighted_auc(y, score, w)


def test_weighted_auc_with_negative_weights_stays_a_probability_and_ignores_the_weight_scale() -> None:
    y, score = labelled_events(400, seed=3)
    rng = np.random.default_rng(4)
    w = np.where(rng.random(400) < 0.2, -0.5, 1.0)  # 20 % negative weights that do not cancel
    sig, bkg = y == 1, y == 0
    pair = (score[sig][:, None] > score[bkg][None, :]) + 0.5 * (score[sig][:, None] == score[bkg][None, :])
    brute = w[sig] @ pair @ w[bkg] / (w[sig].sum() * w[bkg].sum())
    auc = weighted_auc(y, score, w)
    assert auc == pytest.approx(brute, rel=1e-12)
    assert 0.5 < auc < 1.0
    # the AUC only depends on weight ratios: W_sig * W_bkg overflowed for 1e200 weights (AUC 0)
    assert weighted_auc(y, score, 1e200 * w) == pytest.approx(auc, rel=1e-12)
    assert weighted_auc(y, score, 1e-200 * w) == pytest.approx(auc, rel=1e-12)


# --------------------------------------------------------------------------------- chi2 and KS, extreme weights
@pytest.mark.filterwarnings("ignore::hepnb.hists.OutsideBinningWarning")  # the probe's binning: 16 % outside
@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_chi2_and_ks_do_not_depend_on_the_scale_of_the_weights(samples, scale: float) -> None:
    a, b = samples
    unit = Comparison(a, {"o": b + 2}, bins=(20, -3, 3), weights={"o": np.ones(1000)})
    scaled = Comparison(a, {"o": b + 2}, bins=(20, -3, 3), weights={"o": np.full(1000, scale)})
    expected = unit.chi2()
    assert expected.ndf == 19 and expected.chi2 > 100  # samples 2 sigma apart
    result = scaled.chi2()
    assert result.ndf == expected.ndf
    assert result.chi2 == pytest.approx(expected.chi2, rel=1e-12)
    assert scaled.ks().statistic == pytest.approx(unit.ks().statistic, abs=1e-12)
    assert scaled.ks().p_value == pytest.approx(unit.ks().p_value, rel=1e-9)
    assert scaled.wasserstein() == pytest.approx(unit.wasserstein(), rel=1e-12)
    assert scaled.mse() == pytest.approx(unit.mse(), rel=1e-12)


def test_make_hist_keeps_the_given_weights_and_overflowing_variances_are_refused(samples) -> None:
    a, b = samples
    h = make_hist(b, (20, -3, 3), np.full(1000, 1e200))
    assert h.values().sum() == pytest.approx(1e200 * np.sum(np.abs(b) < 3), rel=1e-12)
    with pytest.raises(InputError, match="variances of other are not all finite.*overflow"):
        chi2(make_hist(a, (20, -3, 3)), h)
    tiny = make_hist(b, (20, -3, 3), np.full(1000, 1e-200))  # its squared weights underflow to 0
    with pytest.raises(InputError, match="positive where there are entries.*underflow"):
        chi2(make_hist(a, (20, -3, 3)), tiny)


def test_chi2_without_degrees_of_freedom_is_an_error() -> None:
    one = np.array([0.5])
    with pytest.raises(InputError, match=r"at least two bins with entries \(ndf >= 1\), got 1"):
        Comparison(one, one, bins=(3, 0, 1)).chi2()
    empty_variance = hist.Hist.new.Reg(2, 0, 2).Weight()
    empty_variance.view().value = [1.0, 1.0]  # contents without variances
    with pytest.raises(InputError, match="positive where there are entries"):
        chi2(empty_variance, empty_variance)


# ------------------------------------------------------------------------------ histogram inputs (1e, 1p, 1q)
def test_double_storage_with_negative_contents_is_refused(samples) -> None:
    a, b = samples
    h = hist.Hist(hist.axis.Regular(20, -3, 3), storage=hist.storage.Double())
    h.fill(b, weight=np.where(b < 0, -3.0, 3.0))
    with pytest.raises(InputError, match="Poisson errors .* cannot be used for negative contents.*Weight"):
        chi2(make_hist(a, (20, -3, 3)), h)
    # the same events in Weight storage keep every bin: ndf 19, not 9
    weighted = hist.Hist(hist.axis.Regular(20, -3, 3), storage=hist.storage.Weight())
    weighted.fill(b, weight=np.where(b < 0, -1.0, 3.0))
    assert chi2(make_hist(a, (20, -3, 3)), weighted).ndf == 19


def test_category_axes_are_refused() -> None:
    numeric = hist.Hist(hist.axis.Regular(3, 0, 3)).fill([0.5, 1.5, 2.5, 1.5])
    integers = hist.Hist(hist.axis.IntCategory([0, 1, 2])).fill([0, 1, 2, 1])
    strings = hist.Hist(hist.axis.StrCategory(["a", "b"])).fill(["a", "b", "b"])
    with pytest.raises(InputError, match="category axis \\(IntCategory\\)"):
        Comparison(integers, numeric)
    with pytest.raises(InputError, match="category axis \\(StrCategory\\)"):
        chi2(strings, strings)
    with pytest.raises(InputError, match="category axis"):
        Comparison(np.zeros(3), np.zeros(3), bins=hist.axis.IntCategory([0, 1]))
    integer_axis = hist.Hist(hist.axis.Integer(0, 3)).fill([0, 1, 2, 1])
    assert chi2(integer_axis, integer_axis).chi2 == 0.0  # ordered integer bins are numeric


@pytest.mark.parametrize("storage", [hist.storage.Mean(), hist.storage.WeightedMean()])
def test_mean_storages_are_refused_with_the_supported_ones(storage) -> None:
    h = hist.Hist(hist.axis.Regular(3, 0, 3), storage=storage).fill([0.5, 1.5], sample=[1.0, 2.0])
    with pytest.raises(InputError, match="Mean storage.*only Double, Int64.*Weight"):
        Comparison(h, hist.Hist(hist.axis.Regular(3, 0, 3)).fill([0.5, 1.5]))


# --------------------------------------------------------------------------------------------- overflow (1f)
def test_half_of_a_sample_outside_the_binning_is_reported_and_warned(samples) -> None:
    a, b = samples
    half_out = np.concatenate([b[:500], np.full(500, 1e6)])
    with pytest.warns(OutsideBinningWarning, match=r"50\.\d% of 'gen'"):
        c = Comparison(a, {"gen": half_out}, bins=(20, -3, 3))
    assert c.outside == {"Reference": np.mean(np.abs(a) >= 3), "gen": (500 + np.sum(np.abs(b[:500]) >= 3)) / 1000}
    assert c.outside["gen"] > 0.5
    assert c.table().loc["gen", "outside"] == pytest.approx(c.outside["gen"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideBinningWarning)
        clean = Comparison(a, {"gen": b}, bins=(20, -6, 6))  # nothing outside: no warning
    assert clean.table().loc["gen", "outside"] == 0.0


def test_outside_fraction_of_weighted_2d_and_histogram_inputs() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 1, size=(1000, 2))
    xy[:100, 1] = 5.0  # 10 % above the y range
    weights = np.where(np.arange(1000) < 100, 2.0, 1.0)  # in sum of weights: 200 of 1100
    with pytest.warns(OutsideBinningWarning):
        c = Comparison(
            rng.uniform(0, 1, size=(1000, 2)), {"gen": xy}, bins=((4, 0, 1), (4, 0, 1)), weights={"gen": weights}
        )
    assert c.table().loc["gen", "outside"] == pytest.approx(200 / 1100)
    h = hist.Hist(hist.axis.Regular(4, 0, 1)).fill(np.r_[np.full(30, 0.5), np.full(10, -1.0)])
    with pytest.warns(OutsideBinningWarning) as warned:
        assert Comparison(h, h).outside["Other"] == pytest.approx(0.25)
    assert sorted(str(w.message)[:22] for w in warned) == ["25.0% of 'Other' (in s", "25.0% of 'Reference' ("]


# ------------------------------------------------------------------------------------- binning (1n, 1o, S11)
@pytest.mark.parametrize(
    ("bins", "message"),
    [
        ((10**9, -3, 3), f"1000000000 bins, more than the {MAX_BINS}"),
        (((5000, -3, 3), (5000, -3, 3)), f"25000000 bins, more than the {MAX_BINS}"),
        ((10, -np.inf, 3), "infinite"),
        ((10, -3, np.nan), "NaN"),
        ((20, -1e308, 1e308), "finite high - low"),
        ([-np.inf, 0.0, 1.0], "bin edges of x .*infinite"),
        ([0.0, np.nan, 1.0], "bin edges of x .*NaN"),
        (20, r"bins=20 .* give \(n, low, high\), e\.g\. \(20, -3, 3\), a sequence of bin edges"),
        ((20.0, -3, 3), r"for n equal bins give \(n, low, high\) with an integer n"),
    ],
)
def test_bad_binning_is_refused_before_allocating(bins, message: str) -> None:
    two_d = isinstance(bins, tuple) and isinstance(bins[0], tuple)
    values = np.zeros((3, 2)) if two_d else np.zeros(3)
    with pytest.raises(InputError, match=message):
        Comparison(values, values, bins=bins)


# ------------------------------------------------------------------------------------ input dtypes (1j, 1k)
@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.array([0.1, 0.2]) + 1j, "complex"),
        ([0.1 + 0.5j, 0.2], "complex"),
        (np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"), r"dtype datetime64\[D\], not numbers"),
        (pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02"])), "dtype datetime64"),
        ([np.datetime64("2020-01-01"), np.datetime64("2020-01-02")], "dtype datetime64"),
        (np.array([1, 2], dtype="timedelta64[s]"), "dtype timedelta64"),
    ],
)
def test_complex_and_datetime_inputs_are_refused(values, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Comparison(values, np.zeros(2), bins=(3, 0, 1))
    with pytest.raises(InputError, match=message):
        as_finite_array(values, "x")


# ------------------------------------------------------- Python objects numpy cannot turn into floats (issue 15)
class _DeviceTensor:
    """Stands for a CUDA tensor: numpy refuses it even as an object array and says what to do."""

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() first.")


UNCONVERTIBLE = {  # id: (values, message)
    "int 1e400": (10**400, r"^energy has a number too large for float64 \(int of magnitude ~1e400; .*\): rescale it"),
    "int -1e400": (-(10**400), r"^energy has a number too large for float64 \(int of magnitude ~1e400"),
    "list with an int 1e400": ([1.0, 10**400], r"too large for float64 at index \(1,\) \(int of magnitude ~1e400"),
    "tuple with an int 1e400": ((3, 10**400), r"too large for float64 at index \(1,\)"),
    "nested list with an int 1e400": ([[1, 2], [3, 10**400]], r"too large for float64 at index \(1, 1\)"),
    "object array with an int 1e400": (
        np.array([1, 2, 10**400], dtype=object),
        r"too large for float64 at index \(2,\)",
    ),
    "int 2**1024": ([1.0, 2**1024], r"too large for float64 at index \(1,\) \(int of magnitude ~1e308"),
    "ragged list": ([[1.0, 2.0], [3.0]], r"ragged or nested list \(entry \(0,\) holds 2 values \(list\).*pad the rows"),
    "ragged deeper": ([[1.0, 2.0], [3.0, [4.0, 5.0]]], r"ragged or nested list \(entry \(1, 1\) holds 2 values"),
    "list of arrays of two lengths": (
        [np.zeros(2), np.zeros(3)],
        r"ragged or nested list \(entry \(0,\) holds 2 values \(ndarray\)",
    ),
    "text": (["1.5", "GeV"], r"^energy must be numeric, got the text 'GeV' at index \(1,\): convert it to numbers"),
    "long text": ("x" * 100, r"got the text '(x){40}'\.\.\.: convert"),
    "None": (None, r"^energy is None: pass a number or an array of numbers$"),
    "None in a list": ([1.0, None], r"1 non-finite entries \(first: None at index \(1,\)\)"),
    "complex number": (1 + 2j, r"^energy is complex \(complex128\): pass the real part"),
    "complex in an object array": (
        np.array([1, 1j], dtype=object),
        r"^energy is complex \(1j at index \(1,\)\): pass the real part",
    ),
    "set": ({1.0, 2.0}, r"^energy must be numeric, got set: pass .*list\(\.\.\.\)"),
    "generator": ((x for x in [1.0]), r"^energy must be numeric, got generator: pass"),
    "CUDA tensor": (_DeviceTensor(), r"^energy must be numeric, got _DeviceTensor: .*Tensor\.cpu\(\)"),
}


@pytest.mark.parametrize("case", UNCONVERTIBLE)
def test_python_objects_numpy_cannot_convert_give_an_input_error_naming_the_entry(case: str) -> None:
    values, message = UNCONVERTIBLE[case]
    with pytest.raises(InputError, match=message):
        as_finite_array(values, "energy")


def test_integers_up_to_the_float64_limit_are_converted_exactly_and_public_callers_refuse_larger_ones() -> None:
    assert as_finite_array([2**1023, -(2**1023)], "energy").tolist() == [2.0**1023, -(2.0**1023)]
    assert as_finite_array(10**300, "energy") == 1e300
    assert as_finite_array(["1.5", 2], "energy").tolist() == [1.5, 2.0]  # numeric text is read as numpy reads it
    with pytest.raises(InputError, match=r"weights of sample has a number too large for float64 at index \(0,\)"):
        make_hist([0.5, 1.5], (2, 0, 2), [10**400, 1])
    with pytest.raises(InputError, match="too large for float64"):
        Comparison([0.5, 10**400], np.zeros(2), bins=(3, 0, 1))


def test_ks_of_histograms_whose_squared_total_overflows_keeps_a_p_value() -> None:
    values = np.random.default_rng(2).uniform(0, 3, 10_000)
    big = make_hist(values, (3, 0, 3), np.full(10_000, 5e150))  # sum w^2 is finite, (sum w)^2 is not
    assert np.isfinite(big.variances()).all()
    result = ks(big, big)
    assert result.statistic == 0.0 and result.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: permutation_importance(lambda x: x[:, 0], np.zeros((4, 2)), np.zeros(4), n_repeats=True), "n_repeats"),
        (lambda: simulate(10, [1024.0], seed=True), "seed"),
        (lambda: classifier_two_sample_test(np.zeros((20, 2)), np.ones((20, 2)), seed=False), "seed"),
    ],
    ids=["permutation_importance", "simulate", "classifier_two_sample_test"],
)
def test_a_bool_where_a_count_or_seed_belongs_is_refused(call, message: str) -> None:
    # Python counts True as the integer 1: the count and seed checks refuse it (`hepnb.errors.is_whole_number`)
    with pytest.raises(InputError, match=f"^{message} must be"):
        call()
