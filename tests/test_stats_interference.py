"""Binned interference likelihood and its pyhf bridge: closure on Asimov data, Fisher information, the sqrt(mu)
degeneracy, equality with stock pyhf, clear errors."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import hist
import numpy as np
import pyhf
import pytest
from scipy import stats

from hepnb.errors import InputError
from hepnb.metrics.counting import iz_asymptotic
from hepnb.stats import pyhf_bridge as bridge
from hepnb.stats.constants import thesis_mu_grid
from hepnb.stats.fisher import fisher_information, sigma_mu
from hepnb.stats.interference import BinnedInterferenceModel
from hepnb.stats.yields import degenerate_mu

# 4 bins, destructive interference (negative I) in three of them, totals > 0 for mu in [0, 16]
S = np.array([2.0, 1.5, 1.0, 0.5])
I = np.array([-3.0, -1.0, 0.5, -0.2])  # noqa: E741 (the interference template)
B = np.array([10.0, 8.0, 6.0, 4.0])
VARIANCES = {"s_var": [0.1, 0.1, 0.05, 0.05], "i_var": [0.3, 0.2, 0.1, 0.1], "b_var": [0.5, 0.3, 0.2, 0.1]}
OBSERVED = np.array([9.0, 9.0, 8.0, 3.0])


@pytest.fixture(scope="module")
def model() -> BinnedInterferenceModel:
    return BinnedInterferenceModel.from_arrays(S, I, B, **VARIANCES)


def grid_with(*points: float) -> np.ndarray:
    return np.unique(np.concatenate([thesis_mu_grid(), points]))


# ------------------------------------------------------------------------------------------- grid, construction


def test_thesis_mu_grid_is_kappa_to_the_fourth() -> None:
    mu = thesis_mu_grid()
    assert mu.shape == (51,) and mu[0] == 0.0 and mu[-1] == pytest.approx(16.0)
    assert np.allclose(mu**0.25, np.linspace(0, 2, 51))
    assert 1.0 in mu  # kappa = 1, the SM, is a grid point


def test_from_hists_and_from_weighted_events_fill_sums_and_variances() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 500)
    w_s, w_i, w_b = rng.uniform(0, 1, 500), rng.normal(-0.2, 0.3, 500), rng.uniform(1, 2, 500)
    edges = np.array([0.0, 2.0, 5.0, 10.0])
    model = BinnedInterferenceModel.from_weighted_events(x, w_s, w_i, w_b, edges, axis_names=["m4l"])
    k = np.digitize(x, edges) - 1
    filled = ((model.s, model.s_var, w_s), (model.i, model.i_var, w_i), (model.b, model.b_var, w_b))
    for template, variance, w in filled:
        assert np.allclose(template, np.bincount(k, weights=w, minlength=3))
        assert np.allclose(variance, np.bincount(k, weights=w**2, minlength=3))
    hists = []
    for w in (w_s, w_i, w_b):
        h = hist.Hist(hist.axis.Variable(edges, name="m4l"), storage=hist.storage.Weight())
        h.fill(m4l=x, weight=w)
        hists.append(h)
    from_hists = BinnedInterferenceModel.from_hists(*hists)
    assert np.allclose(from_hists.i, model.i) and np.allclose(from_hists.b_var, model.b_var)
    assert from_hists.axis_names == ("m4l",) and np.array_equal(from_hists.edges[0], edges)

    # 2-d: values [N, 2], the templates are histogram2d sums and the likelihood runs on the flattened bins
    xy = np.column_stack([x, rng.uniform(-1, 1, 500)])
    model2 = BinnedInterferenceModel.from_weighted_events(xy, w_s, w_i, w_b, [edges, [-1.0, 0.0, 1.0]])
    expected, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=[edges, [-1.0, 0.0, 1.0]], weights=w_i)
    assert model2.shape == (3, 2) and np.allclose(model2.i, expected)
    assert np.allclose(model2.s.sum(axis=1), model.s)
    scan2 = model2.scan([0.0, 0.5, 1.0, 2.0, 4.0])
    assert scan2.q[2] == 0.0 and np.all(scan2.q[[0, 1, 3, 4]] > 0)


# ------------------------------------------------------------------------------------------- closure


@pytest.mark.parametrize("include_rate", [True, False])
@pytest.mark.parametrize("mu_true", [1.0, 2.0, 4.0])
def test_asimov_data_give_q_zero_and_the_minimum_at_mu_true(
    model: BinnedInterferenceModel, mu_true: float, include_rate: bool
) -> None:
    grid = grid_with(mu_true)
    scan = model.scan(grid, mu_true=mu_true, include_rate=include_rate)
    at = int(np.flatnonzero(grid == mu_true)[0])
    assert scan.q[at] == 0.0 and int(np.argmin(scan.q)) == at and scan.mu_hat == mu_true
    assert np.all(np.delete(scan.q, at) > 0)
    assert np.array_equal(scan.p_value, stats.chi2.sf(scan.q, 1))
    # the Asimov path (asimov_scan) and the general data path agree, with the minimum found by the fit
    general = model.scan(grid, data=model.asimov_data(mu_true), include_rate=include_rate)
    assert np.allclose(general.q, scan.q, rtol=1e-9, atol=1e-12)
    assert general.mu_hat == pytest.approx(mu_true, rel=1e-6)
    # and the full NLL (with all constants) differs from the deviance by a constant
    nll = np.array([model.nll(m, general.data, include_rate=include_rate) for m in grid])
    assert np.allclose(2 * (nll - nll[at]), general.twice_nll - general.twice_nll[at], atol=1e-10)


@pytest.mark.parametrize("include_rate", [True, False])
@pytest.mark.parametrize("mu_true", [1.0, 2.5])
def test_curvature_of_q_at_mu_true_is_the_fisher_information(
    model: BinnedInterferenceModel, mu_true: float, include_rate: bool
) -> None:
    h = 1e-3
    q = model.scan([mu_true - h, mu_true, mu_true + h], mu_true=mu_true, include_rate=include_rate).q
    curvature = (q[0] + q[2] - 2 * q[1]) / h**2  # q = F (mu - mu_true)^2 near mu_true, so q'' = 2 F
    info = fisher_information(S, I, B, mu_true, shape_only=not include_rate)
    assert curvature / 2 == pytest.approx(info, rel=1e-4)
    assert 1 / np.sqrt(curvature / 2) == pytest.approx(
        sigma_mu(S, I, B, mu_true, shape_only=not include_rate), rel=1e-4
    )


def test_one_bin_q_of_zero_is_iz_asymptotic_squared() -> None:
    s, v, svi, b2 = 2.0, 10.0, 8.0, 50.0  # I = SVI - S - V = -4 (destructive), B = V + B2
    model = BinnedInterferenceModel.from_arrays([s], [svi - s - v], [v + b2])
    scan = model.scan([0.0, 0.5, 1.0, 2.0], mu_true=1.0)
    assert scan.mu_hat == 1.0
    assert scan.q[0] == pytest.approx(iz_asymptotic(svi, v, b2) ** 2, rel=1e-12)
    assert iz_asymptotic(svi, v, b2) < 0  # a deficit: signed iZ' < 0, q is its square


def test_one_bin_has_two_zeros_of_q_and_a_second_bin_lifts_the_degeneracy() -> None:
    s, i, b = 1.0, -3.0, 10.0
    mu_star = degenerate_mu(s, i, 1.0)  # sqrt(mu*) = -I/S - 1 = 2
    assert mu_star == pytest.approx(4.0)
    grid = grid_with(mu_star)
    at_star = int(np.flatnonzero(grid == mu_star)[0])
    one_bin = BinnedInterferenceModel.from_arrays([s], [i], [b]).scan(grid, mu_true=1.0)
    assert one_bin.q[at_star] == pytest.approx(0.0, abs=1e-12)
    assert one_bin.q[grid == 1.0][0] == 0.0
    assert one_bin.q[np.argmin(np.abs(grid - 2.25))] > 0  # between the zeros q rises: two separate minima
    # the same total yield split into two bins with different I/S ratios: mu* no longer fits the shape
    two_bins = BinnedInterferenceModel.from_arrays([0.5, 0.5], [-2.5, -0.5], [5.0, 5.0])
    assert np.sum(two_bins.s) == s and np.sum(two_bins.i) == i and np.sum(two_bins.b) == b
    lifted = two_bins.scan(grid, mu_true=1.0)
    assert lifted.q[at_star] > 0.5
    assert lifted.q[at_star] == pytest.approx(
        two_bins.scan(grid, mu_true=1.0, include_rate=False).q[at_star], rel=1e-12
    )  # at mu* the totals agree: all of it is shape
    assert int(np.argmin(lifted.q)) == int(np.flatnonzero(grid == 1.0)[0])


def test_interval_of_an_asimov_scan_brackets_mu_true(model: BinnedInterferenceModel) -> None:
    scan = model.scan(grid_with(2.0), mu_true=2.0)
    for cl in (0.6827, 0.95):
        interval = scan.interval(cl)
        assert interval.q_threshold == pytest.approx(stats.chi2.ppf(cl, 1))
        assert any(lo < 2.0 < hi for lo, hi in interval.intervals)
    assert scan.interval(0.95).intervals[0][1] > scan.interval(0.6827).intervals[0][1]


# ------------------------------------------------------------------------------------------- errors


def test_clear_errors_on_bad_input() -> None:
    with pytest.raises(InputError, match="same binning"):
        BinnedInterferenceModel.from_arrays([1.0, 2.0], [0.1, 0.2, 0.3], [1.0, 1.0])
    with pytest.raises(InputError, match="template I.*NaN"):
        BinnedInterferenceModel.from_arrays([1.0, 2.0], [0.1, np.nan], [1.0, 1.0])
    h = hist.Hist(hist.axis.Regular(3, 0, 3, name="x"))
    other = hist.Hist(hist.axis.Variable([0, 1, 2.5, 3], name="x"))
    with pytest.raises(InputError, match=r"template B axis x edges differ from S at edge 2"):
        BinnedInterferenceModel.from_hists(h, h, other)
    with pytest.raises(InputError, match="template I axis x has 4 bins, S has 3"):
        BinnedInterferenceModel.from_hists(h, hist.Hist(hist.axis.Regular(4, 0, 3, name="x")), h)
    with pytest.raises(InputError, match="named 'y'"):
        BinnedInterferenceModel.from_hists(h, h, hist.Hist(hist.axis.Regular(3, 0, 3, name="y")))
    model = BinnedInterferenceModel.from_arrays(S, I, B)
    with pytest.raises(InputError, match="data has 1 non-finite"):
        model.scan([0.0, 1.0], data=[1.0, np.nan, 2.0, 3.0])
    with pytest.raises(InputError, match="one count per bin"):
        model.scan([0.0, 1.0], data=[1.0, 2.0])
    with pytest.raises(InputError, match="values must have shape"):
        BinnedInterferenceModel.from_weighted_events(np.ones((5, 3)), np.ones(5), np.ones(5), np.ones(5), 2)
    with pytest.raises(InputError, match="same length"):
        BinnedInterferenceModel.from_weighted_events(np.ones(5), np.ones(5), np.ones(4), np.ones(5), 2)
    with pytest.raises(InputError, match="needs MC variances"):
        model.scan([0.0, 1.0], profile_mc_stat=True)


def test_negative_total_yield_names_the_bin_and_mu() -> None:
    # bin 1: N(mu) = mu - 2.4 sqrt(mu) + 1.44 + 0.01 -> vertex at sqrt(mu) = 1.2, N = 0.01 > 0: fine
    fine = BinnedInterferenceModel.from_arrays([1.0, 1.0], [0.0, -2.4], [5.0, 1.45])
    fine.scan([0.0, 1.0, 4.0])
    # with B = 1.42 the minimum (between grid points 1 and 4, at mu = 1.44) is negative: caught although no
    # grid point is negative
    bad = BinnedInterferenceModel.from_arrays(
        [1.0, 1.0], [0.0, -2.4], [5.0, 1.42], edges=[[100.0, 200.0, 300.0]], axis_names=["m4l"]
    )
    assert all(np.all(m * bad.s + np.sqrt(m) * bad.i + bad.b > 0) for m in (0.0, 1.0, 4.0))
    with pytest.raises(InputError, match=r"-0\.02 <= 0 in bin 1 \(m4l\[200, 300\)\) at mu = 1\.44"):
        bad.scan([0.0, 1.0, 4.0])
    with pytest.raises(InputError, match=r"in bin 1 .* at mu = 1\.44"):
        bridge.pyhf_scan(bad, [0.0, 1.0, 4.0], data=[5.0, 1.0])
    two_d = BinnedInterferenceModel.from_arrays([[1.0, 1.0]], [[0.0, -3.0]], [[5.0, 1.0]])
    with pytest.raises(InputError, match=r"-1 <= 0 in bin \(0, 1\) at mu = 1 "):
        two_d.expected(1.0)


# ------------------------------------------------------------------------------------------- pyhf


def test_pyhf_takes_a_negative_sample_but_not_a_negative_total() -> None:
    """What stock pyhf does with the interference sample: fine while the total is > 0, NaN silently otherwise."""
    model = BinnedInterferenceModel.from_arrays([1.0, 1.0], [-1.0, -3.0], [5.0, 1.0])  # bin 1: N(1) = -1
    workspace = bridge.to_workspace(model, data=[5.0, 1.0])
    pdf = workspace.model()
    data = workspace.data(pdf)
    assert np.isfinite(pdf.logpdf(bridge.pyhf_parameters(pdf, 0.0), data)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(pdf.logpdf(bridge.pyhf_parameters(pdf, 1.0), data)[0])
    with pytest.raises(InputError, match=r"in bin 1 at mu = 1"):
        bridge.pyhf_scan(model, [0.0, 1.0], data=[5.0, 1.0])


def test_pyhf_logpdf_is_minus_the_own_nll(model: BinnedInterferenceModel) -> None:
    pdf = bridge.to_workspace(model, OBSERVED).model()
    data = OBSERVED.tolist()
    for mu in (0.0, 0.3, 1.0, 7.0, 16.0):
        assert -pdf.logpdf(bridge.pyhf_parameters(pdf, mu), data)[0] == pytest.approx(
            model.nll(mu, OBSERVED), rel=1e-12
        )


@pytest.mark.parametrize(
    ("data", "include_rate", "profile_mc_stat"),
    [(None, True, False), (OBSERVED, True, False), (OBSERVED, False, False), (OBSERVED, True, True)],
    ids=["asimov", "observed", "observed-shape-only", "observed-mc-stat"],
)
def test_pyhf_scan_equals_the_own_scan(
    model: BinnedInterferenceModel, data: np.ndarray | None, include_rate: bool, profile_mc_stat: bool
) -> None:
    grid = thesis_mu_grid(26)
    own = model.scan(grid, data, include_rate=include_rate, profile_mc_stat=profile_mc_stat)
    via_pyhf = bridge.pyhf_scan(model, grid, data, include_rate=include_rate, profile_mc_stat=profile_mc_stat)
    assert via_pyhf.method == "pyhf" and own.method == "numpy"
    assert np.all(own.q[own.q > 0] > 1e-4)  # so that the relative comparison means something
    np.testing.assert_allclose(via_pyhf.q, own.q, rtol=1e-6, atol=1e-9)
    assert via_pyhf.mu_hat == pytest.approx(own.mu_hat, rel=1e-5)
    assert np.array_equal(via_pyhf.data, own.data)


@pytest.fixture
def tight_pyhf_optimizer() -> Iterator[None]:
    """pyhf's default SLSQP tolerance limits tmu's unconditional fit to ~1e-6 relative; tighten it, then restore."""
    tensorlib, optimizer = pyhf.get_backend()
    pyhf.set_backend(tensorlib, pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    yield
    pyhf.set_backend(tensorlib, optimizer)


def test_at_zero_interference_the_bridge_is_the_standard_pyhf_profile_likelihood(tight_pyhf_optimizer: None) -> None:
    s, b = np.array([3.0, 2.0, 1.0]), np.array([10.0, 6.0, 3.0])
    b_err = np.array([1.0, 0.8, 0.5])
    data = np.array([14.0, 7.0, 5.0])
    model = BinnedInterferenceModel.from_arrays(s, np.zeros(3), b, b_var=b_err**2)
    standard = pyhf.Model(
        {
            "channels": [
                {
                    "name": "c",
                    "samples": [
                        # the bridge's mc_stat is shared by all samples (one gamma per bin on the total):
                        # S carries it, error 0
                        {
                            "name": "S",
                            "data": s.tolist(),
                            "modifiers": [
                                {"name": "mu", "type": "normfactor", "data": None},
                                {"name": "mc_stat", "type": "staterror", "data": [0.0] * 3},
                            ],
                        },
                        {
                            "name": "B",
                            "data": b.tolist(),
                            "modifiers": [{"name": "mc_stat", "type": "staterror", "data": b_err.tolist()}],
                        },
                    ],
                }
            ]
        },
        poi_name="mu",
    )
    full_data = data.tolist() + standard.config.auxdata
    init, fixed = standard.config.suggested_init(), standard.config.suggested_fixed()
    bounds = standard.config.suggested_bounds()
    bounds[standard.config.poi_index] = (-1.0, 16.0)  # tmu is two-sided: do not bound mu at 0 (mu_hat = 1.16 here)
    grid = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 9.0])
    tmu = np.array([float(pyhf.infer.test_statistics.tmu(m, full_data, standard, init, bounds, fixed)) for m in grid])
    for profile in (False, True):
        via_bridge = bridge.pyhf_scan(model, grid, data, profile_mc_stat=profile)
        if profile:
            np.testing.assert_allclose(via_bridge.q, tmu, rtol=1e-6)
        # without the nuisance: the single-normfactor model with the staterror fixed at its nominal value
        else:
            fixed_stat = [True] * standard.config.npars
            fixed_stat[standard.config.poi_index] = False
            q_fixed = np.array(
                [float(pyhf.infer.test_statistics.tmu(m, full_data, standard, init, bounds, fixed_stat)) for m in grid]
            )
            np.testing.assert_allclose(via_bridge.q, q_fixed, rtol=1e-6)
    assert tmu.min() < 0.1 and tmu.max() > 5  # a real scan through the minimum, not a flat one


def test_workspace_json_round_trip(model: BinnedInterferenceModel, tmp_path) -> None:
    path = bridge.export_workspace_json(model, OBSERVED, tmp_path / "ws.json", mc_stat=True, mu_max=9.0)
    with open(path) as handle:
        workspace = pyhf.Workspace(json.load(handle))  # validates against the pyhf schema
    original = bridge.to_workspace(model, OBSERVED, mc_stat=True, mu_max=9.0)
    assert workspace == original and workspace.get_measurement()["config"]["poi"] == bridge.MU_S
    pdf, pdf0 = workspace.model(), original.model()
    assert pdf.config.suggested_bounds()[pdf.config.par_slice(bridge.SQRT_MU_I).start] == pytest.approx((0.0, 3.0))
    assert [s["name"] for s in workspace["channels"][0]["samples"]] == ["S", "I", "B"]
    assert workspace["channels"][0]["samples"][1]["data"] == I.tolist()  # negative I survives unclipped
    for mu in (0.0, 1.0, 4.0):
        pars = bridge.pyhf_parameters(pdf, mu)
        pars[pdf.config.par_slice(bridge.MC_STAT)] = [1.02, 0.97, 1.0, 1.01]
        assert pdf.logpdf(pars, workspace.data(pdf))[0] == pdf0.logpdf(pars, original.data(pdf0))[0]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file


@pytest.mark.parametrize("options", [{"mc_stat": True}, {"include_rate": False}, {}], ids=["mc_stat", "shape", "plain"])
def test_the_workspace_readme_recipe_scans_mu_with_stock_pyhf(
    model: BinnedInterferenceModel, tmp_path, monkeypatch, options: dict
) -> None:
    """The code block of the README written next to an exported workspace runs with stock pyhf.infer and gives
    hepnb's scan; pyhf's own upper limit, which floats sqrt_mu_I, does not (the README says so)."""
    path = bridge.export_workspace_json(model, OBSERVED, tmp_path / "ws.json", mu_max=9.0, **options)
    readme = path.with_suffix(".README.md").read_text()
    assert "Do not use them on this workspace" in readme and "mu_max" not in readme  # the template is filled in
    recipe = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)  # the recipe opens the workspace by its file name, as a user next to it would
    namespace: dict = {}
    exec(compile(recipe, "README.md", "exec"), namespace)
    own = bridge.pyhf_scan(
        model,
        namespace["mu_grid"],
        OBSERVED,
        include_rate=options.get("include_rate", True),
        profile_mc_stat=options.get("mc_stat", False),
    )
    # hepnb refines the minimum between grid points, the recipe takes the grid's smallest value: same up to that
    # (profiled fits: pyhf's default tolerance in the recipe, 1e-12 in pyhf_scan)
    np.testing.assert_allclose(namespace["q"] - namespace["q"].min(), own.twice_nll - own.twice_nll.min(), atol=1e-5)
    assert namespace["q"].max() > (5 if options.get("include_rate", True) else 0.5)  # a real scan, not a flat one
    if options == {}:
        workspace = pyhf.Workspace(json.loads(path.read_text()))
        pdf = workspace.model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyhf's optimiser may warn at the bounds
            floating = pyhf.infer.mle.fixed_poi_fit(4.0, workspace.data(pdf), pdf)
        # stock tools float sqrt_mu_I away from sqrt(mu) = 2 (here to its upper bound, sqrt(mu_max) = 3)
        assert float(floating[pdf.config.par_slice(bridge.SQRT_MU_I)][0]) == pytest.approx(3.0)
    negative_at_large_mu = BinnedInterferenceModel.from_arrays([0.01, 1.0], [-1.0, 0.0], [5.0, 5.0])  # N < 0 at 2500
    with pytest.raises(InputError, match="<= 0"):
        bridge.export_workspace_json(negative_at_large_mu, [5.0, 5.0], tmp_path / "far.json", mu_max=1e4)
    assert not (tmp_path / "far.json").exists() and not list(tmp_path.glob(".*.tmp"))
