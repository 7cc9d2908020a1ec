"""Asymptotic CLs and upper limits (hepnb.stats.cls) against pyhf's on a one-bin model, and with interference."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

from hepnb.errors import InputError
from hepnb.stats import cls as cls_mod
from hepnb.stats.interference import BinnedInterferenceModel

S, B = 5.0, 10.0


def _pyhf_model() -> pyhf.pdf.Model:
    spec = {
        "channels": [
            {
                "name": "c",
                "samples": [
                    {"name": "signal", "data": [S], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
                    {"name": "background", "data": [B], "modifiers": []},
                ],
            }
        ]
    }
    return pyhf.Model(spec, poi_name="mu")


@pytest.mark.parametrize(("observed", "mu"), [(12.0, 1.5), (8.0, 1.0), (17.0, 3.0), (10.0, 0.5)])
def test_cls_matches_pyhf_qtilde_asymptotics_on_one_bin(observed: float, mu: float) -> None:
    pdf = _pyhf_model()
    data = [observed, *pdf.config.auxdata]
    cls_obs, expected = pyhf.infer.hypotest(
        mu, data, pdf, test_stat="qtilde", calctype="asymptotics", return_expected_set=True
    )
    ours = cls_mod.cls(BinnedInterferenceModel.from_arrays([S], [0.0], [B]), mu, [observed], mu_max=10.0)
    assert ours.cls == pytest.approx(float(cls_obs), rel=1e-5, abs=1e-9)
    assert np.allclose(ours.expected, [float(e) for e in expected], rtol=1e-5, atol=1e-9)
    assert ours.cls == pytest.approx(ours.clsb / ours.clb)


def test_upper_limit_matches_pyhf() -> None:
    pdf = _pyhf_model()
    observed, expected = pyhf.infer.intervals.upper_limits.upper_limit(
        [12.0, *pdf.config.auxdata], pdf, scan=None, level=0.05, rtol=1e-10
    )
    ours = cls_mod.upper_limit(BinnedInterferenceModel.from_arrays([S], [0.0], [B]), [12.0], mu_max=10.0)
    assert ours.observed == pytest.approx(float(observed), rel=1e-4)
    assert np.allclose(ours.expected, [float(e) for e in expected], rtol=1e-4)
    assert list(ours.expected) == sorted(ours.expected)  # -2 sigma ... +2 sigma


def test_upper_limit_with_interference_solves_cls_equal_alpha() -> None:
    # two bins, destructive interference: N(mu) = mu S + sqrt(mu) I + B stays positive on [0, 16]
    model = BinnedInterferenceModel.from_arrays([2.0, 0.5], [-1.5, -0.2], [20.0, 5.0])
    data = model.asimov_data(0.0)
    limit = cls_mod.upper_limit(model, data)
    assert cls_mod.cls(model, limit.observed, data).cls == pytest.approx(0.05, abs=1e-6)
    assert limit.observed == pytest.approx(limit.expected[2], rel=1e-6)  # b-only Asimov data: the median
    # more data than background only: the observed limit loosens
    assert cls_mod.upper_limit(model, data * 1.3).observed > limit.observed


def test_cls_refuses_what_it_cannot_compute() -> None:
    model = BinnedInterferenceModel.from_arrays([S], [0.0], [B])
    with pytest.raises(InputError, match="tested mu"):
        cls_mod.cls(model, 0.0, [10.0])
    with pytest.raises(InputError, match="raise mu_max"):
        cls_mod.upper_limit(model, [40.0], mu_max=2.0)
    with pytest.raises(InputError, match="cl must be"):
        cls_mod.upper_limit(model, [10.0], cl=95)


# ---------------------------------------------------------------------------------------------------------------
# limits read off q(mu) scans on a grid (scan_upper_limit): the same formulae, interpolated between grid points
# ---------------------------------------------------------------------------------------------------------------
THREE_BINS = ([1.0, 2.0, 1.5], [10.0, 5.0, 3.0])


def _scan_limit(model: BinnedInterferenceModel, data: np.ndarray, grid: np.ndarray, **kwargs: object):
    return cls_mod.scan_upper_limit(model.scan(grid, data), model.scan(grid, mu_true=0.0), **kwargs)


@pytest.mark.parametrize(("grid", "rtol"), [(np.linspace(0.0, 2.0, 51) ** 4, 2e-3), (np.linspace(0, 16, 321), 2e-4)])
def test_scan_limit_matches_pyhf_and_binned_upper_limit_without_interference(grid: np.ndarray, rtol: float) -> None:
    s, b = THREE_BINS
    spec = {
        "channels": [
            {
                "name": "c",
                "samples": [
                    {"name": "s", "data": s, "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
                    {"name": "b", "data": b, "modifiers": []},
                ],
            }
        ]
    }
    pdf = pyhf.Model(spec, poi_name="mu")
    data = np.array([12.0, 6.0, 2.0])
    obs, exp = pyhf.infer.intervals.upper_limits.upper_limit([*data, *pdf.config.auxdata], pdf, scan=None, level=0.05)
    model = BinnedInterferenceModel.from_arrays(s, [0.0] * 3, b)
    ours = _scan_limit(model, data, grid)
    binned = cls_mod.upper_limit(model, data)
    assert ours.observed == pytest.approx(float(obs), rel=rtol)
    assert np.allclose(ours.expected, [float(e) for e in exp], rtol=rtol)
    assert ours.observed == pytest.approx(binned.observed, rel=rtol)
    assert np.allclose(ours.expected, binned.expected, rtol=rtol)
    assert not ours.truncated and ours.islands == ()


def test_scan_limit_with_interference_matches_binned_upper_limit_on_the_thesis_grid() -> None:
    model = BinnedInterferenceModel.from_arrays([2.0, 0.5], [-1.5, -0.2], [20.0, 5.0])
    grid = np.linspace(0.0, 2.0, 51) ** 4  # the thesis kappa grid in mu
    for mu_true in (0.0, 1.0):
        data = model.asimov_data(mu_true)
        ours, binned = _scan_limit(model, data, grid), cls_mod.upper_limit(model, data)
        assert ours.observed == pytest.approx(binned.observed, rel=1e-3)
        assert np.allclose(ours.expected, binned.expected, rtol=1e-3)


def test_scan_limit_reports_islands_below_the_limit() -> None:
    # one bin, N(mu) = 4 mu - 8 sqrt(mu) + 5: mu = 1 (N = 1) is excluded by mu = 0 data, mu* = 4 (N = 5) is not
    model = BinnedInterferenceModel.from_arrays([4.0], [-8.0], [5.0])
    grid = np.linspace(0.0, 4.0, 201) ** 2
    limit = _scan_limit(model, model.asimov_data(0.0), grid)
    assert limit.observed > 4.0  # above the rate partner mu* = 4
    (lo, hi), *_ = limit.islands
    assert 0.0 < lo < 1.0 < hi < 4.0
    assert cls_mod.cls(model, 1.0, model.asimov_data(0.0)).cls < 0.05


def test_scan_limit_never_truncates_silently_at_the_grid_end() -> None:
    model = BinnedInterferenceModel.from_arrays([5.0], [0.0], [10.0])
    grid = np.linspace(0.0, 1.0, 21)  # the limits (about 1.5 and above) lie beyond the grid
    with pytest.raises(InputError, match="nothing up to the grid end mu = 1 is excluded"):
        _scan_limit(model, np.array([10.0]), grid)
    flagged = _scan_limit(model, np.array([10.0]), grid, at_grid_end="nan")
    assert np.isnan(flagged.observed) and flagged.cut_at_grid_end[0] and flagged.truncated
    # the -2 sigma expected limit (0.81) lies inside the grid and is kept
    assert flagged.expected[0] == pytest.approx(cls_mod.upper_limit(model, [10.0]).expected[0], rel=1e-3)
    assert not flagged.cut_at_grid_end[1]


def test_cls_from_q_is_one_where_the_data_cannot_tell_mu_from_zero() -> None:
    value, clsb, clb, expected = cls_mod.cls_from_q(np.array([0.0, 2.0]), np.array([0.0, 0.0]))
    assert np.allclose(value, 1.0) and np.allclose(expected, 1.0)
