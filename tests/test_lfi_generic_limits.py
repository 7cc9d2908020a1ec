"""CLs limits in a generic parameter (hepnb.lfi.generic_limits) against the asymptotic formulae of a Gaussian model.

Asimov data of ``n`` events of ``x ~ N(theta_true, sigma)`` by Gauss-Hermite quadrature (the weighted mean is
``theta_true`` and the weighted variance ``sigma^2``, to rounding), the exact ``log r`` of :class:`lfi.GaussianToy`:
the shape-only scan is ``q(theta) = (theta - theta_hat)^2 / sigma_theta^2`` with ``sigma_theta = sigma / sqrt(n)``.
Then (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727, eq 89 and 65-66 with ``q~``), with ``alpha = 1 - cl``:

* expected limit for background fluctuations ``N`` (-2 ... +2): ``theta_0 + sigma_theta (Phi^-1(1 - alpha Phi(N)) +
  N)``, the median ``theta_0 + 1.96 sigma_theta``;
* observed limit for data at ``theta_hat = theta_0 + a`` (``a >= 0``): ``theta_0 + a + sigma_theta Phi^-1(1 - alpha
  Phi(a / sigma_theta))``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from hepnb import lfi
from hepnb.errors import InputError
from hepnb.lfi.tables import BEYOND_ORACLE_MARGIN
from hepnb.stats.cls import scan_upper_limit

TOY = lfi.GaussianToy(sigma_z=2.0, sigma_x=1.0)  # sigma = sqrt(5)
N_EVENTS = 20.0
SIGMA_THETA = TOY.sigma / np.sqrt(N_EVENTS)  # 0.5
NODES, H = np.polynomial.hermite_e.hermegauss(30)
ALPHA = 0.05


def asimov_scan(
    theta_true: float, grid: np.ndarray, *, narrow: float = 1.0, nu=None, method: str = ""
) -> lfi.GenericScan:
    """The exact scan of Asimov data at ``theta_true`` (``nu(theta_true)`` events, or 20); ``narrow`` scales ``q``."""
    x = theta_true + TOY.sigma * NODES
    log_r = [narrow * TOY.log_ratio(x, t, grid[0]) for t in grid]
    n = N_EVENTS if nu is None else float(np.interp(theta_true, grid, nu))
    return lfi.likelihood_scan(log_r, n * H / H.sum(), theta=grid, nu=nu, theta_true=theta_true, method=method)


def expected_limits(null: float) -> list[float]:
    return [null + SIGMA_THETA * (stats.norm.ppf(1 - ALPHA * stats.norm.cdf(n)) + n) for n in (-2, -1, 0, 1, 2)]


def observed_limit(null: float, a: float) -> float:
    return null + a + SIGMA_THETA * stats.norm.ppf(1 - ALPHA * stats.norm.cdf(a / SIGMA_THETA))


GRIDS = {0.0: np.linspace(0.0, 6.0, 121), 2.0: np.linspace(2.0, 8.0, 121)}


@pytest.mark.parametrize("null", sorted(GRIDS))
def test_the_asimov_scan_is_gaussian_with_sigma_over_sqrt_n(null: float) -> None:
    grid = GRIDS[null]
    scan = asimov_scan(null + 1.3, grid)
    np.testing.assert_allclose(scan.q, (grid - null - 1.3) ** 2 / SIGMA_THETA**2, rtol=0, atol=1e-9)
    assert scan.theta_hat == pytest.approx(null + 1.3, abs=1e-9)
    ((lo, hi),) = scan.interval(0.6827).intervals
    assert (lo, hi) == pytest.approx((null + 1.3 - SIGMA_THETA, null + 1.3 + SIGMA_THETA), abs=1e-3)


@pytest.mark.parametrize("null", sorted(GRIDS))
def test_expected_band_at_the_null_is_the_asymptotic_formula(null: float) -> None:
    grid = GRIDS[null]
    limit = lfi.generic_upper_limit(asimov_scan(null, grid), asimov_scan(null, grid), null=null)
    assert limit.expected == pytest.approx(expected_limits(null), abs=1e-6)
    assert limit.expected[2] == pytest.approx(null + 1.959964 * SIGMA_THETA, abs=1e-6)
    assert limit.observed == pytest.approx(limit.expected[2], abs=1e-6)  # Asimov data at the null: the median
    assert limit.grid_end == grid[-1] and not limit.truncated and limit.islands == ()


@pytest.mark.parametrize("null", sorted(GRIDS))
@pytest.mark.parametrize(("a", "tol"), [(0.35, 1e-6), (1.0, 1e-6), (2.0, 1e-6), (0.37, 1e-3)])
def test_observed_limit_of_data_above_the_null_is_the_asymptotic_formula(null: float, a: float, tol: float) -> None:
    # theta_hat off the grid (0.37): q is measured from the best grid point (as every hepnb scan), 0.0016 below the
    # parabola's vertex here, which moves the limit by 2e-4
    grid = GRIDS[null]
    limit = lfi.generic_upper_limit(asimov_scan(null + a, grid), asimov_scan(null, grid), null=null)
    assert limit.observed == pytest.approx(observed_limit(null, a), abs=tol)
    assert limit.expected == pytest.approx(expected_limits(null), abs=1e-6)  # the band is the null's, whatever a


def test_a_zero_null_is_scan_upper_limit_itself() -> None:
    grid = GRIDS[0.0]
    nu = 20.0 + 20.0 * grid  # with the rate term: not Gaussian, the same arithmetic as the signal-strength limits
    data, null_scan = asimov_scan(1.0, grid, nu=nu), asimov_scan(0.0, grid, nu=nu)
    generic = lfi.generic_upper_limit(data, null_scan, null=0.0)
    assert generic == scan_upper_limit(data, null_scan, at_grid_end="nan")
    shape = lfi.generic_upper_limit(data.with_rate(False), null_scan.with_rate(False), null=0.0)
    assert generic.observed < shape.observed - 0.05 and generic.expected[2] < shape.expected[2] - 0.05  # the rate helps


def test_a_limit_beyond_the_grid_end_is_nan_or_raises_in_theta() -> None:
    grid = np.linspace(2.0, 2.8, 17)  # the median expected limit 2.98 lies beyond
    data, null_scan = asimov_scan(2.0, grid), asimov_scan(2.0, grid)
    limit = lfi.generic_upper_limit(data, null_scan, null=2.0)
    assert np.isnan(limit.observed) and np.isnan(limit.expected[2]) and limit.cut_at_grid_end[0]
    assert limit.expected[0] == pytest.approx(expected_limits(2.0)[0], abs=1e-6) and limit.grid_end == 2.8
    with pytest.raises(InputError, match=r"grid end theta = 2.8 .* observed"):
        lfi.generic_upper_limit(data, null_scan, null=2.0, at_grid_end="raise")


@pytest.mark.parametrize("null", sorted(GRIDS))
def test_limit_table_reports_the_formulae_and_flags_an_over_confident_method(null: float) -> None:
    grid = GRIDS[null]
    # q scaled by 4: sigma_theta / 2; by 1/4: sigma_theta * 2; by 1.02: 1% narrower, inside the margin
    methods = {"exact": 1.0, "narrow": 4.0, "wide": 0.25, "close": 1.02}
    scans = {m: {t: asimov_scan(t, grid, narrow=k) for t in (null, null + 1.0)} for m, k in methods.items()}
    table = lfi.generic_limit_table(scans, null + 1.0, null=null, reference="exact")
    assert list(table.index) == list(methods) and table.index.name == "method"
    exact = table.loc["exact"]
    assert exact["limit"] == pytest.approx(observed_limit(null, 1.0), abs=1e-6)
    assert exact["median expected"] == pytest.approx(expected_limits(null)[2], abs=1e-6)
    lo, hi = expected_limits(null)[1], expected_limits(null)[3]
    assert exact["expected 68%"] == f"[{lo:.3g}, {hi:.3g}]"
    assert exact["68% interval"] == f"[{null + 0.5:.3g}, {null + 1.5:.3g}]"
    assert exact["theta_hat"] == pytest.approx(null + 1.0) and exact["q(null)"] == pytest.approx(4.0)
    assert exact["cut at grid end"] == "" and exact["islands"] == ""
    # the ratios are distances from the null: the median expected limit scales with sigma_theta exactly
    assert table["median / exact"].tolist() == pytest.approx([1.0, 0.5, 2.0, 1.02**-0.5], abs=1e-6)
    assert table["beyond the exact"].tolist() == [False, True, False, False]
    assert table.loc["narrow", "limit / exact"] < 1 - BEYOND_ORACLE_MARGIN < table.loc["wide", "limit / exact"]


def test_limit_table_chooses_the_rate_term_and_reads_expected_limits_alone() -> None:
    grid = GRIDS[0.0]
    nu = 20.0 + 20.0 * grid
    scans = {"exact": {t: asimov_scan(t, grid, nu=nu) for t in (0.0, 1.0)}}
    shape = lfi.generic_limit_table(scans, 0.0, null=0.0, include_rate=False)
    assert shape.loc["exact", "limit"] == pytest.approx(expected_limits(0.0)[2], abs=1e-6)
    assert not any(c.startswith("limit /") or c.startswith("beyond") for c in shape.columns)
    both = lfi.generic_limit_table(scans, 0.0, null=0.0)  # as built: with the rate term
    assert both.loc["exact", "limit"] < shape.loc["exact", "limit"] - 0.05


def test_bad_input_says_what_to_fix() -> None:
    grid = GRIDS[0.0]
    data, null_scan = asimov_scan(1.0, grid), asimov_scan(0.0, grid)
    with pytest.raises(InputError, match=r"null 0.5 is not the start of the grid \[0, 6\].*np.linspace\(0.5"):
        lfi.generic_upper_limit(data, null_scan, null=0.5)
    wide = np.linspace(-1.0, 5.0, 121)
    with pytest.raises(InputError, match="not the start of the grid"):
        lfi.generic_upper_limit(asimov_scan(1.0, wide), asimov_scan(0.0, wide), null=0.0)
    with pytest.raises(InputError, match="same theta grid"):
        lfi.generic_upper_limit(data, asimov_scan(0.0, np.linspace(0.0, 6.0, 61)), null=0.0)
    with pytest.raises(InputError, match="same theta grid"):
        lfi.generic_upper_limit(data, asimov_scan(0.0, grid + 0.01), null=0.0)
    rated = asimov_scan(0.0, grid, nu=20.0 + grid)
    with pytest.raises(InputError, match="include_rate=False, the null scan True"):
        lfi.generic_upper_limit(data, rated, null=0.0)
    with pytest.raises(InputError, match="theta_true = 1, not at the null 0"):
        lfi.generic_upper_limit(data, data, null=0.0)
    with pytest.raises(InputError, match=r"theta_true is NaN.*theta_true=0"):  # a scan that does not say its data
        lfi.generic_upper_limit(data, dataclasses.replace(null_scan, theta_true=float("nan")), null=0.0)
    with pytest.raises(InputError, match="must be a GenericScan"):
        lfi.generic_upper_limit(data, null_scan.q, null=0.0)
    with pytest.raises(InputError, match="at_grid_end"):
        lfi.generic_upper_limit(data, null_scan, null=0.0, at_grid_end="clip")
    scans = {"exact": {1.0: data, 0.0: null_scan}, "alices": {1.0: dataclasses.replace(data, method="alices")}}
    with pytest.raises(InputError, match=r"'alices' has no scan at theta_true = 0 \(the null\)"):
        lfi.generic_limit_table(scans, 1.0, null=0.0)
    with pytest.raises(InputError, match=r"'exact' has no scan at theta_true = 2 \(the data\)"):
        lfi.generic_limit_table(scans, 2.0, null=0.0)
    with pytest.raises(InputError, match="include_rate=True needs scans with a rate term"):
        lfi.generic_limit_table({"exact": scans["exact"]}, 1.0, null=0.0, include_rate=True)
    with pytest.raises(InputError, match="reference 'oracle' is not among"):
        lfi.generic_limit_table({"exact": scans["exact"]}, 1.0, null=0.0, reference="oracle")
    with pytest.raises(InputError, match="scans is empty"):
        lfi.generic_limit_table({}, 1.0, null=0.0)
