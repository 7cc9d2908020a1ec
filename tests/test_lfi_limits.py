"""The limit table of notebook 03 (hepnb.lfi.limits): CLs limits, expected bands, intervals, q(0), grid-end cuts."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb import offshell as osh
from hepnb.errors import InputError
from hepnb.lfi import limits, study
from hepnb.lfi.oracle import helicity_summed
from hepnb.stats import cls as cls_mod
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI
from hepnb.stats.coverage import unbinned_coverage
from hepnb.stats.interference import BinnedInterferenceModel
from hepnb.stats.yields import combine

MODEL = BinnedInterferenceModel.from_arrays([8.0, 1.0, 0.2], [-3.0, -0.5, 0.0], [5.0, 10.0, 20.0])
WEAK = BinnedInterferenceModel.from_arrays([0.05, 0.02], [-0.02, 0.0], [10.0, 5.0])  # nothing excluded below 16


def _scans(model: BinnedInterferenceModel, name: str) -> dict:
    return study.histogram_scans(model, None, [0.0, 1.0, 4.0], method=name)


def test_limit_table_matches_the_binned_upper_limit_and_reports_every_column() -> None:
    scans = {"oracle": _scans(MODEL, "oracle"), "weak": _scans(WEAK, "weak")}
    for rate in (True, False):
        table = limits.limit_table(scans, 1.0, rate)
        assert list(table.index) == ["oracle", "weak"]
        scan = scans["oracle"][1.0, rate]
        row = table.loc["oracle"]
        assert row["limit / oracle"] == 1.0 and row["median / oracle"] == 1.0
        assert row["mu_hat"] == scan.mu_hat and row["q(mu=0)"] == pytest.approx(scan.q[0])
        ((lo, hi),) = scan.interval(0.95).intervals
        assert row["95% interval"] == f"[{lo:.3g}, {hi:.3g}]" and row["cut at grid end"] == ""
        # the weak model: every interval and limit reaches the grid end, and says so
        weak = table.loc["weak"]
        assert np.isnan(weak["limit"]) and np.isnan(weak["limit / oracle"])
        assert "95%" in weak["cut at grid end"] and "limit" in weak["cut at grid end"]
        assert weak["95% interval"].endswith(">16]")
    binned = cls_mod.upper_limit(MODEL, MODEL.asimov_data(1.0))
    table = limits.limit_table(scans, 1.0, True)
    assert table.loc["oracle", "limit"] == pytest.approx(binned.observed, rel=2e-3)
    assert table.loc["oracle", "median expected"] == pytest.approx(binned.expected[2], rel=2e-3)
    # Asimov data at mu_true = 4 loosen the limit
    assert limits.limit_table(scans, 4.0).loc["oracle", "limit"] > table.loc["oracle", "limit"]


def test_limit_table_without_a_background_only_scan_says_so() -> None:
    scans = {"oracle": _scans(MODEL, "oracle"), "one point": {k: v for k, v in _scans(MODEL, "x").items() if k[0] == 1}}
    table = limits.limit_table(scans)
    assert (
        np.isnan(table.loc["one point", "limit"]) and "no mu_true = 0 scan" in table.loc["one point", "cut at grid end"]
    )
    with pytest.raises(InputError, match="no scan at"):
        limits.limit_table(scans, 2.0)
    with pytest.raises(InputError, match="reference"):
        limits.limit_table({"m": scans["oracle"]})


def test_oracle_limit_on_the_simulator() -> None:
    """The exact likelihood's CLs limit at 36.1 fb^-1 (mu_true = 1 Asimov data) next to an m4l histogram's."""
    test = helicity_summed(osh.generate(40_000, 4, detector="none", preset=study.PRESET, progress=False))
    scans = {
        "oracle": study.oracle_scans(test, [0.0, 1.0]),
        "m4l": study.histogram_scans(np.asarray(test.x["m4l"], float), test, [0.0, 1.0], method="m4l", bins=10),
    }
    for rate in (True, False):
        table = limits.limit_table(scans, 1.0, rate)
        oracle = table.loc["oracle"]
        # the likelihood peaks at the grid point mu = 1; mu_hat, refined by the parabola through it and its neighbours
        # (mu = 0.85, 1.17), lies below it (measured 0.9672 with rate, 0.9675 without)
        assert oracle["mu_hat"] == pytest.approx(0.967, abs=2e-3)
        # shape only, the +1 and +2 sigma expected limits lie beyond mu = 16: flagged, not clipped
        assert oracle["cut at grid end"] == ("" if rate else "+1 sigma exp., +2 sigma exp.")
        assert oracle["expected 95%"].endswith(", >16]") != rate
        # Asimov data at mu = 1 have fewer events than at mu = 0 (destructive interference): a limit below the median
        assert 2.0 < oracle["limit"] < oracle["median expected"] < 16.0
        m4l = table.loc["m4l"]  # a 1-D histogram cannot beat the exact likelihood; shape only it excludes nothing
        assert m4l["limit / oracle"] > 1.0 if rate else (np.isnan(m4l["limit"]) and "limit" in m4l["cut at grid end"])


def test_event_coverage_is_unbinned_coverage_of_the_events() -> None:
    test = helicity_summed(osh.generate(40_000, 5, detector="none", preset=study.PRESET, progress=False))
    log_r = limits.oracle_log_r_grid(test)
    kappa = np.asarray(THESIS_KAPPA_GRID)
    assert np.allclose(log_r[10], osh.oracle_log_ratio(test, float(kappa[10]) ** 4, 1.0))
    # at twice the thesis luminosity: the weights and yields must be scaled with it (150 toys stay below the
    # pool's Kish effective size: 40,000 generated events, reuse 0.75)
    ours = limits.event_coverage(log_r, test, 1.0, lumi=2 * THESIS_LUMI, n_toys=150, seed=2, label="oracle")
    y, scale = test.yields, 2 * THESIS_LUMI / test.meta["config"]["lumi"]
    direct = unbinned_coverage(
        log_r,
        scale * test.weight(1.0),
        scale * combine(kappa**4, y["S"], y["I"], y["B"]),
        kappa**4,
        1.0,
        n_toys=150,
        seed=2,
        background_weights=scale * test.weight(0.0),
    )
    assert [r.covered for r in ours] == [r.covered for r in direct] and ours[0].label == "oracle"
    assert [r.cls_covered for r in ours] == [r.cls_covered for r in direct]
    with pytest.raises(InputError, match="Events"):
        limits.event_coverage(log_r, log_r, 1.0)


def test_limit_table_flags_a_limit_below_the_references_as_beyond_it() -> None:
    # a model with twice the signal sets a lower limit than the "oracle": over-confidence if it were a learned
    # likelihood, flagged; the oracle itself and the weak model (no limit below 16) are not
    sharper = BinnedInterferenceModel.from_arrays([16.0, 2.0, 0.4], [-3.0, -0.5, 0.0], [5.0, 10.0, 20.0])
    scans = {"oracle": _scans(MODEL, "oracle"), "sharper": _scans(sharper, "sharper"), "weak": _scans(WEAK, "weak")}
    table = limits.limit_table(scans, 1.0, True)
    assert table.loc["sharper", "limit / oracle"] < 1 - study.BEYOND_ORACLE_MARGIN
    assert table["beyond the oracle"].to_dict() == {"oracle": False, "sharper": True, "weak": False}
