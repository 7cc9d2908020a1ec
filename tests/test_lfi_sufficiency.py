"""The ideal S-vs-B classifier against the oracle (hepnb.lfi.sufficiency): a sufficient 1-D statistic closes on the
oracle as the binning gets finer, the real one never beats it, both agree with the package's scans, bad input is
refused."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pandas as pd
import pytest

from hepnb import lfi
from hepnb import offshell as osh
from hepnb.errors import InputError
from hepnb.stats.asymptotic import asimov_scan
from hepnb.stats.interference import BinnedInterferenceModel

MU_TRUES = (1.0, 4.0)
TOLERANCE = 1e-9  # the ratios are >= 1 on every sample (data-processing inequality): rounding only


@pytest.fixture(scope="module")
def ch7_events() -> osh.Events:
    """100,000 generated VBF events, no detector, ch7 selection (about half pass)."""
    return osh.generate(100_000, seed=11, detector="none", preset="thesis-ch7", progress=False)


@pytest.fixture(scope="module")
def summed(ch7_events: osh.Events) -> osh.Events:
    return lfi.helicity_summed(ch7_events)


def _with_interference(events: osh.Events, w_i: np.ndarray) -> osh.Events:
    arr = events.array
    return osh.Events(ak.zip({f: (w_i if f == "w_I" else arr[f]) for f in arr.fields}, depth_limit=1), events.meta)


def _classifier(events: osh.Events) -> np.ndarray:
    w_s, _, w_b = events.components()
    return w_s / (w_s + w_b)


@pytest.mark.parametrize("model", ["sqrt", "linear"])
def test_sufficient_statistic_closes_on_the_oracle(summed: osh.Events, model: str) -> None:
    # f_I = -2 rho sqrt(f_S f_B) or f_I = -c f_S: f_I/f_B is a function of f_S/f_B, so c(x) is sufficient
    w_s, _, w_b = summed.components()
    w_i = -1.6 * np.sqrt(w_s * w_b) if model == "sqrt" else -0.5 * w_s
    events = _with_interference(summed, w_i)
    c = _classifier(events)
    losses = {b: lfi.statistic_limits(c, events, MU_TRUES, bins=b)["upper_ratio"].to_numpy() - 1 for b in (5, 20, 100)}
    for loss in losses.values():
        assert np.all(loss >= -TOLERANCE)
    assert np.all(losses[100] < 1e-3)  # measured: <= 3.5e-4 (only the binning is lost)
    assert np.all(losses[100] <= losses[20] + TOLERANCE)
    assert np.all(losses[20] <= losses[5] + TOLERANCE)
    assert losses[5].max() > 10 * losses[100].max()  # the loss is the binning's and falls with it


def test_real_interference_is_not_one_dimensional(summed: osh.Events) -> None:
    w_s, _, w_b = summed.components()
    c = _classifier(summed)
    real = lfi.statistic_limits(c, summed, MU_TRUES, bins=100)
    closure = lfi.statistic_limits(c, _with_interference(summed, -1.6 * np.sqrt(w_s * w_b)), MU_TRUES, bins=100)
    shape = real.xs(False, level="include_rate")["upper_ratio"] - 1
    assert np.all(shape > 2 * (closure["upper_ratio"].max() - 1))  # measured: 0.5-1.1% against < 0.04%


def test_ideal_classifier_limits_are_bounded_by_the_oracle(ch7_events: osh.Events) -> None:
    table = lfi.ideal_classifier_limits(ch7_events, MU_TRUES, bins=20)
    assert table.index.tolist() == [(1.0, True), (1.0, False), (4.0, True), (4.0, False)]
    numbers = table.drop(columns="upper_open").to_numpy(dtype=float)
    assert np.all(np.isfinite(numbers))
    assert not table["upper_open"].any()
    assert np.all(table["upper_ratio"] >= 1 - TOLERANCE)
    assert np.all(table["width_ratio"] >= 1 - TOLERANCE)
    assert np.all(table["upper_oracle"] > table.index.get_level_values("mu_true"))
    # the rate term adds information: a lower limit with it, for both statistics
    for column in ("upper_classifier", "upper_oracle"):
        assert np.all(table[column].xs(True, level=1) < table[column].xs(False, level=1))
    assert len(table.attrs["edges"]) == 21 and table.attrs["n_events"] == len(ch7_events)


@pytest.mark.parametrize("mu_true", MU_TRUES)
def test_limits_match_the_package_scans(ch7_events: osh.Events, summed: osh.Events, mu_true: float) -> None:
    table = lfi.ideal_classifier_limits(ch7_events, mu_true, bins=20)
    fine = np.linspace(0.0, 2.1, 601)  # the scans read the region by linear interpolation: a fine grid (mu <= 19)
    oracle = lfi.oracle_scan(summed, mu_true, kappa=fine)
    scale = lfi.THESIS_LUMI / summed.meta["config"]["lumi"]
    c = osh.oracle_components(ch7_events)
    np.testing.assert_allclose(_classifier(summed), c["f_S"] / (c["f_S"] + c["f_B"]), rtol=1e-12)
    model = BinnedInterferenceModel.from_weighted_events(
        _classifier(summed), *(w * scale for w in summed.components()), table.attrs["edges"]
    )
    for rate in (True, False):
        row = table.loc[(mu_true, rate)]
        expected_oracle = max(hi for _, hi in oracle.with_rate(rate).interval(0.95).intervals)
        binned = asimov_scan(fine**4, model.s, model.i, model.b, mu_true=mu_true, shape_only=not rate)
        expected_binned = max(hi for _, hi in binned.interval(0.95).intervals)
        assert row["upper_oracle"] == pytest.approx(expected_oracle, rel=1e-4)
        assert row["upper_classifier"] == pytest.approx(expected_binned, rel=1e-4)


def test_luminosity_scales_the_limits(ch7_events: osh.Events) -> None:
    low = lfi.ideal_classifier_limits(ch7_events, 1.0, rate=True, bins=20)
    high = lfi.ideal_classifier_limits(ch7_events, 1.0, rate=True, bins=20, lumi=10 * lfi.THESIS_LUMI)
    assert high["upper_oracle"].iloc[0] < low["upper_oracle"].iloc[0]
    assert high["upper_ratio"].iloc[0] >= 1 - TOLERANCE
    both = pd.concat({"low": low, "high": high}, names=["lumi"])  # attrs of different binnings do not clash
    assert both.shape == (2, low.shape[1])


def test_bad_input_is_refused(ch7_events: osh.Events, summed: osh.Events) -> None:
    qqzz = osh.generate(2_000, seed=1, process="qqzz", detector="none", preset=None, progress=False)
    with pytest.raises(InputError, match="process='qqzz'"):
        lfi.ideal_classifier_limits(qqzz)
    smeared = osh.generate(2_000, seed=1, detector="atlas", preset=None, progress=False)
    with pytest.raises(InputError, match="detector='atlas'"):
        lfi.ideal_classifier_limits(smeared)
    with pytest.raises(InputError, match="mu_true must be one or more finite numbers >= 0"):
        lfi.ideal_classifier_limits(ch7_events, mu_true=-1.0)
    with pytest.raises(InputError, match="above the grid"):
        lfi.ideal_classifier_limits(ch7_events, mu_true=100.0)
    with pytest.raises(InputError, match="rate must be"):
        lfi.ideal_classifier_limits(ch7_events, rate="yes")
    with pytest.raises(InputError, match="bins must be"):
        lfi.ideal_classifier_limits(ch7_events, bins=0)
    with pytest.raises(InputError, match="one value per event"):
        lfi.statistic_limits(np.zeros(3), summed)
    with pytest.raises(InputError, match="must enclose every value"):
        lfi.statistic_limits(_classifier(summed), summed, bins=[0.1, 0.5, 0.9])
    w_s, _, w_b = summed.components()
    negative = _with_interference(summed, -3.0 * np.sqrt(w_s * w_b))  # w(mu=1) < 0 where w_S ~ w_B
    with pytest.raises(InputError, match="negative weight at mu_true"):
        lfi.statistic_limits(_classifier(summed), negative, 1.0)
