"""Sensitivity metrics: identities, limits, the thesis's chapter-6 numbers and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepnb.errors import InputError
from hepnb.metrics.counting import (
    Yield,
    asimov_z,
    iz,
    iz_asymptotic,
    iz_error,
    iz_from_samples,
    s_over_sqrt_b,
    s_over_sqrt_s_plus_b,
    significance_with_error,
)
from hepnb.metrics.thresholds import best_significance_metric, best_threshold_significance
from hepnb.metrics.weighted import effective_sample_size, weighted_auc
from hepnb.stats.asymptotic import asimov_scan, confidence_interval
from hepnb.stats.fisher import fisher_information, sigma_mu, sigma_sqrt_mu
from hepnb.stats.yields import degenerate_mu, expected_yield, interference_yield

# Thesis chapter 6 yields (36.1 fb^-1, m4l > 220 GeV; thesis section 6.6): before / after the VBF preselection
BEFORE = {"S": 2.1, "SVI": 8.5, "V": 9.8, "B2": 520.0 + 76.0}
AFTER = {"S": 1.1, "SVI": 6.1, "V": 6.9, "B2": 60.0 + 8.8}


def interference_parts(y: dict[str, float]) -> tuple[float, float, float]:
    """(S, I, B) from the sample yields."""
    i = interference_yield(y["S"], y["SVI"], y["V"])
    return y["S"], i, y["V"] + y["B2"]


# ------------------------------------------------------------------------------------------- thesis numbers


def test_chapter6_interference_yields_and_iz_reproduce_the_thesis() -> None:
    s_b, i_b, b_b = interference_parts(BEFORE)
    s_a, i_a, b_a = interference_parts(AFTER)
    assert i_b == pytest.approx(-3.4) and i_a == pytest.approx(-1.9)  # thesis section 6.6 table
    iz_before = iz_from_samples(**{k.lower(): v for k, v in BEFORE.items()})
    iz_after = iz_from_samples(**{k.lower(): v for k, v in AFTER.items()})
    # thesis section 6.6.6: "the iZ before and after pre-selection remained 0.02"
    assert round(iz_before, 2) == 0.02 and round(iz_after, 2) == 0.02
    # thesis section 6.6 checks to the quoted precision: 0.0163 before, 0.0173 after
    assert round(iz_before, 4) == 0.0163 and round(iz_after, 4) == 0.0173
    assert iz_before == pytest.approx(0.8 / (2 * np.sqrt(604.5)))  # (S+SVI-V)/(2 sqrt(SVI+B2)) by hand
    # eq 4.43 and eq 4.44 are the same number
    assert iz(s_b, i_b, b_b) == pytest.approx(iz_before, rel=1e-12)
    assert iz(s_a, i_a, b_a) == pytest.approx(iz_after, rel=1e-12)


def test_chapter6_asymptotic_iz_is_a_deficit_of_the_quoted_size() -> None:
    before = iz_asymptotic(BEFORE["SVI"], BEFORE["V"], BEFORE["B2"])
    after = iz_asymptotic(AFTER["SVI"], AFTER["V"], AFTER["B2"])
    assert before < 0 and after < 0  # SVI < V: destructive interference, kept signed
    assert round(abs(before), 3) == 0.053 and round(abs(after), 3) == 0.092  # thesis section 6.6
    # by hand: n = SVI+B2 = 74.9, b = V+B2 = 75.7
    assert abs(after) == pytest.approx(np.sqrt(2 * (74.9 * np.log(74.9 / 75.7) + 0.8)), rel=1e-9)


def test_chapter6_degenerate_mu_is_about_three() -> None:
    s, i, b = interference_parts(AFTER)
    mu_star = degenerate_mu(s, i)
    assert mu_star == pytest.approx((1.9 / 1.1) ** 2)
    assert round(mu_star) == 3  # thesis section 7.1: mu = 0 <-> mu* ~ 3 for the ch6 yields
    # the rate really is the same at 0 and mu*
    assert expected_yield(s, i, b, mu_star) == pytest.approx(expected_yield(s, i, b, 0.0))
    # and the partner of mu = 1 is sqrt(mu') = -I/S - 1
    assert degenerate_mu(s, i, 1.0) == pytest.approx((1.9 / 1.1 - 1) ** 2)
    assert np.isnan(degenerate_mu(1.0, 0.5))  # constructive interference: no partner of mu = 0


# ------------------------------------------------------------------------------------------- identities


@pytest.mark.parametrize(("s", "i", "b"), [(1.1, -1.9, 75.7), (5.0, 2.0, 30.0), (3.0, -8.0, 50.0), (0.5, 0.0, 4.0)])
def test_iz_is_one_over_sigma_mu_at_the_sm(s: float, i: float, b: float) -> None:
    assert abs(iz(s, i, b)) == pytest.approx(1 / sigma_mu(s, i, b, 1.0), rel=1e-12)
    assert iz(s, i, b) == pytest.approx(np.sign(s + i / 2) * np.sqrt(fisher_information(s, i, b)))


def test_iz_is_s_over_sqrt_s_plus_b_without_interference() -> None:
    assert iz(3.0, 0.0, 40.0) == pytest.approx(s_over_sqrt_s_plus_b(3.0, 40.0))
    assert s_over_sqrt_s_plus_b(3.0, 40.0) == pytest.approx(3 / np.sqrt(43))
    assert s_over_sqrt_b(3.0, 40.0) == pytest.approx(3 / np.sqrt(40))


def test_asymptotic_iz_is_asimov_z_without_interference() -> None:
    s, v, b2 = 2.0, 7.0, 60.0
    svi = s + v  # I = 0
    assert iz_asymptotic(svi, v, b2) == pytest.approx(asimov_z(s, v + b2), rel=1e-12)
    # and it equals the Asimov q(0; 1) of the one-bin scan
    q = asimov_scan([0.0], s, svi - s - v, v + b2).q[0]
    assert iz_asymptotic(svi, v, b2) == pytest.approx(np.sqrt(q), rel=1e-10)
    q_ch6 = asimov_scan([0.0], *interference_parts(AFTER)).q[0]
    assert abs(iz_asymptotic(AFTER["SVI"], AFTER["V"], AFTER["B2"])) == pytest.approx(np.sqrt(q_ch6))


def test_asimov_z_tends_to_s_over_sqrt_b_and_is_signed() -> None:
    b = 1000.0
    for s in (1e-6, 1e-3, 0.1):
        assert asimov_z(s, b) == pytest.approx(s / np.sqrt(b), rel=s / b)  # next order is -s/(6b) relative
    assert asimov_z(1e-9, 1.0) == pytest.approx(1e-9, rel=1e-8)  # no cancellation at tiny s/b
    assert asimov_z(10.0, 10.0) == pytest.approx(np.sqrt(2 * (20 * np.log(2) - 10)))
    assert asimov_z(-3.0, 10.0) == pytest.approx(-np.sqrt(2 * (7 * np.log(0.7) + 3)))
    assert asimov_z(0.0, 10.0) == 0.0
    per_bin = asimov_z([1.0, -1.0], [5.0, 5.0])
    assert per_bin.shape == (2,) and per_bin[0] > 0 > per_bin[1]


def test_fisher_information_adds_over_independent_bins() -> None:
    s = np.array([0.2, 0.5, 0.3, 0.1])
    i = np.array([-0.1, -0.9, -0.6, 0.2])
    b = np.array([30.0, 20.0, 15.0, 10.0])
    for mu in (0.0, 0.5, 1.0, 4.0):
        for parameter in ("sqrt_mu",) + (("mu",) if mu > 0 else ()):
            total = fisher_information(s, i, b, mu, parameter=parameter)
            per_bin = [fisher_information(s[k], i[k], b[k], mu, parameter=parameter) for k in range(4)]
            assert total == pytest.approx(sum(per_bin), rel=1e-12)
    per_bin_iz = iz(s, i, b)
    assert np.sqrt(np.sum(per_bin_iz**2)) == pytest.approx(1 / sigma_mu(s, i, b, 1.0))


def test_shape_only_fisher_is_zero_for_identical_shapes_and_the_rest_otherwise() -> None:
    shape = np.array([0.1, 0.4, 0.3, 0.2])
    s, i, b = 2.0 * shape, -1.5 * shape, 50.0 * shape
    assert fisher_information(s, i, b, 1.0, shape_only=True) == pytest.approx(0.0, abs=1e-15)
    assert sigma_mu(s, i, b, shape_only=True) == np.inf
    # different shapes: shape-only = full - (information of the total count)
    s2 = np.array([0.1, 0.2, 0.6, 1.1])
    full = fisher_information(s2, i, b, 2.0)
    rate = fisher_information(s2.sum(), i.sum(), b.sum(), 2.0)
    shape_info = fisher_information(s2, i, b, 2.0, shape_only=True)
    assert shape_info == pytest.approx(full - rate, rel=1e-12)
    assert 0 < shape_info < full


def test_sigma_mu_anywhere_through_sqrt_mu() -> None:
    s, i, b = 1.1, -1.9, 75.7
    for mu in (0.25, 1.0, 3.0, 9.0):
        expected = np.sqrt(mu * s + np.sqrt(mu) * i + b) / abs(s + i / (2 * np.sqrt(mu)))
        assert sigma_mu(s, i, b, mu) == pytest.approx(expected, rel=1e-12)
        assert sigma_mu(s, i, b, mu) == pytest.approx(2 * np.sqrt(mu) * sigma_sqrt_mu(s, i, b, mu))
    # at mu = 0 the sensitivity in sqrt(mu) is driven by I alone; in mu it is singular
    assert fisher_information(s, i, b, 0.0, parameter="sqrt_mu") == pytest.approx(i**2 / b)
    assert fisher_information(s, i, b, 0.0) == np.inf and sigma_mu(s, i, b, 0.0) == 0.0
    assert sigma_mu(2.0, 0.0, 50.0, 0.0) == pytest.approx(np.sqrt(50.0) / 2.0)  # no I: S^2/B
    # at the turning point S + I/(2 sqrt(mu)) = 0 the rate carries no information on mu
    mu_flat = (i / (2 * s)) ** 2
    assert sigma_mu(s, i, b, mu_flat) > 1e6


def test_asimov_scan_curvature_is_the_fisher_information() -> None:
    s = np.array([0.2, 0.5, 0.3, 0.1])
    i = np.array([-0.1, -0.9, -0.6, 0.2])
    b = np.array([30.0, 20.0, 15.0, 10.0])
    for shape_only in (False, True):
        for mu_true in (0.5, 1.0, 2.0):
            d = 1e-3
            scan = asimov_scan([mu_true - d, mu_true, mu_true + d], s, i, b, mu_true=mu_true, shape_only=shape_only)
            assert scan.q[1] == 0.0
            curvature = (scan.q[0] + scan.q[2]) / (2 * d**2)
            fisher = fisher_information(s, i, b, mu_true, shape_only=shape_only)
            assert curvature == pytest.approx(fisher, rel=1e-3)


def test_asimov_scan_shows_the_degeneracy_in_one_bin_and_shape_breaks_it() -> None:
    s, i, b = interference_parts(AFTER)
    mu_star = degenerate_mu(s, i)
    one_bin = asimov_scan([0.0, mu_star, 1.0], s, i, b, mu_true=0.0)
    assert one_bin.q[0] == 0.0 and one_bin.q[1] == pytest.approx(0.0, abs=1e-12) and one_bin.q[2] > 0
    # two bins where S and I have different shapes: mu* is no longer degenerate with 0
    two = asimov_scan([mu_star], [0.8 * s, 0.2 * s], [0.3 * i, 0.7 * i], [0.5 * b, 0.5 * b], mu_true=0.0)
    assert two.q[0] > 1e-3


def test_confidence_interval_of_a_parabola_and_of_the_degenerate_scan() -> None:
    mu = np.linspace(-2, 4, 601)
    q = ((mu - 1) / 0.5) ** 2
    one_sigma = confidence_interval(mu, q, cl=0.6827)
    assert one_sigma.q_threshold == pytest.approx(1.0, abs=1e-3)
    ((lo, hi),) = one_sigma.intervals
    assert lo == pytest.approx(0.5, abs=1e-3) and hi == pytest.approx(1.5, abs=1e-3)
    ((lo95, hi95),) = confidence_interval(mu, q, cl=0.95).intervals
    assert hi95 - 1 == pytest.approx(1.96 * 0.5, abs=2e-3) and not one_sigma.open_at_edge
    # one bin with mu* = 4: the 68% region around mu_true = 0 splits into two intervals
    scan = asimov_scan(np.linspace(0, 9, 901), 10.0, -20.0, 100.0, mu_true=0.0)
    region = scan.interval(0.6827)
    assert len(region.intervals) == 2 and region.open_at_edge
    assert region.intervals[0][0] == 0.0 and region.intervals[0][1] < 1 < region.intervals[1][0]
    assert region.intervals[1][0] < 4.0 < region.intervals[1][1]
    assert len(region.crossings) == 3


# ------------------------------------------------------------------------------------------- errors on iZ


def test_iz_error_linear_is_the_thesis_formula_and_quadrature_is_smaller() -> None:
    y = {"s": 1.1, "svi": 6.1, "v": 6.9, "b2": 68.8}
    e = {"s_err": 0.05, "svi_err": 0.2, "v_err": 0.15, "b2_err": 3.0}
    iz_value = iz_from_samples(**y)
    a, d = y["s"] + y["svi"] - y["v"], y["svi"] + y["b2"]
    thesis = iz_value * (
        abs((e["s_err"] + e["v_err"]) / a) + abs(e["b2_err"] / (2 * d)) + e["svi_err"] * abs(1 / a - 1 / (2 * d))
    )
    linear = iz_error(**y, **e)
    quadrature = iz_error(**y, **e, propagation="quadrature")
    assert linear == pytest.approx(thesis, rel=1e-12)
    assert quadrature < linear
    # quadrature against a numerical gradient
    grads = []
    for key in ("s", "svi", "v", "b2"):
        h = 1e-6
        up, down = dict(y), dict(y)
        up[key] += h
        down[key] -= h
        grads.append((iz_from_samples(**up) - iz_from_samples(**down)) / (2 * h) * e[f"{key}_err"])
    assert quadrature == pytest.approx(np.sqrt(np.sum(np.square(grads))), rel=1e-6)
    # finite at iZ = 0, where the relative form of the thesis is 0 * inf
    at_zero = iz_error(1.0, 5.0, 6.0, 50.0, s_err=0.1, svi_err=0.1, v_err=0.1, b2_err=1.0)
    assert at_zero == pytest.approx((0.1 + 0.1 + 0.1) / (2 * np.sqrt(55.0)))


def test_asimov_z_error_is_the_pi_package_formula() -> None:
    s, ds, b, db = 6.1, 0.3, 68.8, 4.0
    result = significance_with_error("asimov_z", {"signal": s, "background": b}, {"signal": ds, "background": db})
    z = asimov_z(s, b)
    expected = np.sqrt((ds * np.log(1 + s / b)) ** 2 + (db * (np.log(1 + s / b) - s / b)) ** 2) / z
    assert result.value == pytest.approx(z) and result.error == pytest.approx(expected, rel=1e-12)
    # iZ' error: quadrature of its derivatives, from Yield objects
    yields = {k: Yield(v, 0.1 * abs(v), 100) for k, v in AFTER.items()}
    iz_p = significance_with_error("iz_asymptotic", yields)
    assert iz_p.value == pytest.approx(iz_asymptotic(AFTER["SVI"], AFTER["V"], AFTER["B2"]))
    assert iz_p.error > 0 and iz_p.yield_errors["B2"] == pytest.approx(6.88)


# ------------------------------------------------------------------------------------------- weighted events


def test_effective_sample_size_both_definitions() -> None:
    assert effective_sample_size(np.full(50, 0.3)) == pytest.approx(50)
    assert effective_sample_size(np.full(50, 0.3), "max_weight") == pytest.approx(50)
    w = np.array([1.0, 1.0, 2.0, -1.0])
    assert effective_sample_size(w) == pytest.approx(9 / 7)
    assert effective_sample_size(w, "max_weight") == pytest.approx(1.5)
    with pytest.raises(InputError, match="all weights are zero"):
        effective_sample_size(np.zeros(3))
    with pytest.raises(InputError, match="kish"):
        effective_sample_size(w, "other")  # type: ignore[arg-type]


def test_weighted_auc_matches_sklearn_for_positive_weights_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    score = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounding makes many ties
    w = rng.uniform(0.1, 3.0, 400)
    assert weighted_auc(y, score, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w), rel=1e-12)
    assert weighted_auc(y, score) == pytest.approx(roc_auc_score(y, score), rel=1e-12)


def test_weighted_auc_with_a_negative_weight_by_hand() -> None:
    # signal: (0.9, w=1), (0.4, w=1); background: (0.5, w=2), (0.1, w=-1), (0.4, w=1)
    y = [1, 1, 0, 0, 0]
    score = [0.9, 0.4, 0.5, 0.1, 0.4]
    w = [1.0, 1.0, 2.0, -1.0, 1.0]
    # pairs: 0.9 beats all: 1*(2-1+1)=2; 0.4 beats 0.1: -1, ties 0.4: 0.5*1, loses to 0.5: 0
    expected = (2.0 + (-1.0 + 0.5)) / (2.0 * 2.0)
    assert weighted_auc(y, score, w) == pytest.approx(expected)
    # against the O(N^2) definition on random data with negative weights
    rng = np.random.default_rng(7)
    yy = rng.integers(0, 2, 150)
    ss = np.round(rng.normal(yy, 1.0), 1)
    ww = rng.normal(1.0, 1.5, 150)
    sig, bkg = yy == 1, yy == 0
    pair = (ss[sig][:, None] > ss[bkg][None, :]) + 0.5 * (ss[sig][:, None] == ss[bkg][None, :])
    brute = ww[sig] @ pair @ ww[bkg] / (ww[sig].sum() * ww[bkg].sum())
    assert weighted_auc(yy, ss, ww) == pytest.approx(brute, rel=1e-10)


def _events() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small hand-made two-class sample."""
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    score = np.array([0.95, 0.9, 0.7, 0.3, 0.92, 0.6, 0.5, 0.4, 0.3, 0.1])
    w = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 2.0, 2.0, 2.0, 2.0, 2.0])
    return y, score, w


def test_best_threshold_curve_is_the_counting_metric_of_the_selected_events() -> None:
    y, score, w = _events()
    thresholds = np.array([0.0, 0.35, 0.65, 0.8, 0.91, 0.93])
    scan = best_threshold_significance(y, score, w, metric="asimov_z", thresholds=thresholds)
    for t, value, err in zip(thresholds, scan.values, scan.errors):
        sel = score > t
        s, b = w[sel & (y == 1)].sum(), w[sel & (y == 0)].sum()
        ds, db = np.sqrt((w[sel & (y == 1)] ** 2).sum()), np.sqrt((w[sel & (y == 0)] ** 2).sum())
        if b > 0:
            ref = significance_with_error("asimov_z", {"signal": s, "background": b}, {"signal": ds, "background": db})
            assert value == pytest.approx(ref.value) and err == pytest.approx(ref.error)
        else:
            assert np.isnan(value)  # no background above 0.93: undefined, not infinite
    # above 0.65: three signal events (w = 1) and one background event (w = 0.5)
    assert scan.threshold == 0.65 and scan.value == pytest.approx(asimov_z(3.0, 0.5))
    assert scan.n_events["signal"].tolist() == [4, 3, 3, 2, 1, 1]
    assert scan.n_events["background"].tolist() == [6, 4, 1, 1, 1, 0]
    # requiring 2 events per side removes the tight cuts that hang on the single background event
    tight = best_threshold_significance(y, score, w, thresholds=thresholds, min_events=2)
    assert tight.valid.tolist() == [True, True, False, False, False, False]
    assert tight.value == pytest.approx(max(asimov_z(4.0, 10.5), asimov_z(3.0, 6.5)))
    assert tight.threshold == 0.0  # 4 signal on 10.5 background beats 3 on 6.5
    metric = best_significance_metric("asimov_z", thresholds=thresholds)
    assert metric(y, score, w) == pytest.approx(scan.value)


def test_best_threshold_keeps_deficits_signed_for_iz() -> None:
    # the most signal-like region has a deficit: SVI < V (destructive interference)
    label = np.array(["S", "S", "SVI", "SVI", "V", "V", "B2", "B2", "B2"])
    score = np.array([0.9, 0.3, 0.9, 0.3, 0.9, 0.3, 0.9, 0.3, 0.2])
    w = np.array([1.0, 1.0, 0.5, 6.0, 4.0, 4.0, 1.0, 30.0, 30.0])
    scan = best_threshold_significance(label, score, w, metric="iz_asymptotic", thresholds=[0.0, 0.5])
    assert scan.values[1] == pytest.approx(iz_asymptotic(0.5, 4.0, 1.0)) and scan.values[1] < 0
    assert scan.threshold == 0.5 and scan.value < 0  # |iZ'| is largest in the deficit region
    by_value = best_threshold_significance(
        label, score, w, metric="iz_asymptotic", thresholds=[0.0, 0.5], rank_by="value"
    )
    assert by_value.threshold == 0.0
    iz_scan = best_threshold_significance(label, score, w, metric="iz", thresholds=[0.0, 0.5], propagation="linear")
    assert iz_scan.values[0] == pytest.approx(iz_from_samples(2.0, 6.5, 8.0, 61.0))
    assert iz_scan.errors[1] == pytest.approx(
        iz_error(1.0, 0.5, 4.0, 1.0, s_err=1.0, svi_err=0.5, v_err=4.0, b2_err=1.0)
    )


# ------------------------------------------------------------------------------------------- clear errors


def test_negative_total_yield_and_nan_are_clear_errors() -> None:
    with pytest.raises(InputError, match="total SM yield S \\+ I \\+ B"):
        iz(1.0, -5.0, 2.0)
    with pytest.raises(InputError, match="bin"):
        iz_from_samples([1.0, 1.0], [2.0, -5.0], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(InputError, match="NaN"):
        asimov_z(float("nan"), 3.0)
    with pytest.raises(InputError, match="NaN"):
        weighted_auc([1, 0], [0.3, np.nan])
    with pytest.raises(InputError, match="background yield b"):
        s_over_sqrt_b(1.0, 0.0)
    with pytest.raises(InputError, match="same shape"):
        iz([1.0, 2.0], [0.1, 0.2, 0.3], 5.0)
    # N(mu) = mu S + sqrt(mu) I + B goes negative between mu = 0.5 and 6 for these yields
    with pytest.raises(InputError, match=r"N\(mu=4\)"):
        asimov_scan([0.0, 4.0], 1.0, -5.0, 6.0)
    with pytest.raises(InputError, match="mu must be finite and >= 0"):
        sigma_mu(1.0, -0.5, 10.0, -1.0)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        best_threshold_significance([1, 0], [3.0, -2.0], [1.0, 1.0])
    with pytest.raises(InputError, match="needs labels y in"):
        best_threshold_significance(["S", "X"], [0.5, 0.5], metric="iz")
    with pytest.raises(InputError, match="non-zero total signal and background"):
        weighted_auc([1, 0, 0], [0.2, 0.3, 0.4], [1.0, 1.0, -1.0])
