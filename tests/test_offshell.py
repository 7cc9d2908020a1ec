"""hepnb.offshell: closure of the EVA-interference simulator against its analytic truth."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb import offshell as osh
from hepnb.errors import InputError
from hepnb.hists import chi2
from hepnb.offshell.histograms import mu_label
from hepnb.offshell.models import M_W, M_Z, VEV

MUS = np.array([0.0, 1e-4, 0.01, 0.1, 0.5, 0.75, 1.0, 2.0, 3.0, 4.0, 9.0, 16.0, 100.0, 1e4])


@pytest.fixture(scope="module")
def vbf() -> osh.Events:
    return osh.generate(120_000, seed=11, progress=False)


@pytest.fixture(scope="module")
def vbf_truth() -> osh.Events:
    return osh.generate(60_000, seed=12, detector="none", preset=None, progress=False)


@pytest.fixture(scope="module")
def vbf_ch7() -> osh.Events:
    return osh.generate(150_000, seed=21, detector="delphes", preset="thesis-ch7", progress=False)


# ---------------------------------------------------------------------------------------------------------------
# weights: exact polynomial structure, positivity, destructive interference
# ---------------------------------------------------------------------------------------------------------------
def test_event_weight_is_non_negative_for_every_mu(vbf: osh.Events) -> None:
    w_s, w_i, w_b = vbf.components()
    weights = vbf.weight(MUS)
    assert weights.shape == (len(MUS), len(vbf))
    scale = np.abs(w_s) + np.abs(w_i) + np.abs(w_b)
    assert np.all(weights >= -1e-12 * scale)
    # positivity for all mu >= 0 <=> w_I^2 <= 4 w_S w_B where w_I < 0 (a sum of squared amplitudes)
    assert np.all(w_i**2 <= 4 * w_s * w_b * (1 + 1e-12) + 1e-300)
    assert np.all(w_s >= 0) and np.all(w_b > 0)
    # destructive in total, but not event by event: where the longitudinal decay amplitude vanishes (a lepton along
    # its Z's flight direction) the cross term with the Higgs's transverse decays can flip the sign
    assert w_i.sum() < 0 and 0 < np.mean(w_i > 0) < 0.2
    # the weight at mu is exactly mu w_S + sqrt(mu) w_I + w_B, also for one mu at a time
    assert np.array_equal(vbf.weight(4.0), 4.0 * w_s + 2.0 * w_i + w_b)


def _angle_grid(m4l: float, channel: int, n_nodes: int = 8) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One production point (m4l, jets) on a quadrature grid of the decay angles: Gauss-Legendre nodes in
    cos(theta1), cos(theta2) (integrated) and n_nodes equally spaced plane angles (averaged); exact for the
    polynomial and Fourier terms of the amplitudes."""
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    c1, c2, phi = np.meshgrid(nodes, nodes, np.linspace(-np.pi, np.pi, n_nodes, endpoint=False), indexing="ij")
    quad = (weights[:, None, None] * weights[None, :, None] * np.ones_like(phi)).ravel() / n_nodes
    n = c1.size
    z = {
        "m4l": np.full(n, m4l),
        "y_zz": np.zeros(n),
        "x_v1": np.full(n, 0.3),
        "x_v2": np.full(n, 0.3),
        "pt_q1": np.full(n, 60.0),
        "pt_q2": np.full(n, 40.0),
        "phi_q1": np.full(n, 0.5),
        "phi_q2": np.full(n, 2.0),
        "cos_theta_zz": np.full(n, 0.2),
        "cos_theta_z1": c1.ravel(),
        "cos_theta_z2": c2.ravel(),
        "phi_z1": phi.ravel(),
        "phi_z2": np.zeros(n),
    }
    return z, quad


@pytest.mark.parametrize("m4l", [220.0, 400.0, 1000.0])
def test_helicity_amplitudes_close_on_the_analytic_decay_averages(m4l: float) -> None:
    from hepnb.offshell import amplitudes as amp

    model = osh.VBFModel()
    s = m4l**2
    x_z = (s - 2 * M_Z**2) / (2 * M_Z**2)
    re_r, abs_r2 = amp.higgs_propagator(np.array([s]))
    # decay amplitudes: unit norm for each ZZ helicity, no cross terms once the plane angle is integrated
    z, quad = _angle_grid(m4l, 0)
    d = amp.decay_amplitudes(z["cos_theta_z1"], z["cos_theta_z2"], z["phi_z1"] + z["phi_z2"])
    gram = np.einsum("n,nkl,nkm->lm", quad, np.conj(d), d)
    np.testing.assert_allclose(gram, np.eye(3), atol=1e-12)
    # V_L V_L: <S>/<B> = |r|^2 (1 + 2/x_Z^2) (the Higgs's Z_T Z_T decays), <I>/<B> = -2 rho Re r
    ll = amp.vbf_terms(z, np.zeros(len(quad), int), model)
    rho = amp.coherence(z["x_v1"], z["pt_q1"] ** 2, z["x_v2"], z["pt_q2"] ** 2, model)[0]
    s_avg, i_avg, b_avg = (quad @ ll[k] for k in ("s_ll", "i_ll", "b_ll"))
    assert s_avg / b_avg == pytest.approx(abs_r2[0] * (1 + 2 / x_z**2), rel=1e-10)
    assert i_avg / b_avg == pytest.approx(-2 * rho * re_r[0], rel=1e-10)
    # the Z_T Z_T share of H* -> ZZ: a third at threshold, negligible at high mass
    assert 2 / (x_z**2 + 2) == pytest.approx({220.0: 0.354, 400.0: 0.0262, 1000.0: 0.000572}[m4l], rel=2e-3)
    # V_T V_T: Higgs produced with 1/x_W of the longitudinal amplitude, against the J = 0 part of transverse VBS
    tt = amp.vbf_terms(z, np.full(len(quad), 3), model)
    a_t = s / VEV**2 * 2 * M_W**2 / (s - 2 * M_W**2)
    s_avg, i_avg, b_avg = (quad @ tt[k] for k in ("s_tt", "i_tt", "b_tt_coherent"))
    assert s_avg / b_avg == pytest.approx(a_t**2 * abs_r2[0] * (1 + 2 / x_z**2), rel=1e-10)
    assert i_avg / b_avg == pytest.approx(-2 * a_t * re_r[0] * (1 + 2 / x_z) / np.sqrt(3), rel=1e-10)
    # S and I are different functions of the decay angles: I/S is not constant over the grid (it would be if the
    # toy collapsed to one sufficient statistic at fixed production kinematics)
    ratio = ll["i_ll"] / ll["s_ll"]
    assert np.ptp(ratio) > (0.5 if m4l < 500 else 1e-3) * abs(np.mean(ratio))


def test_interference_is_destructive_and_grows_with_m4l(vbf: osh.Events) -> None:
    m = np.asarray(vbf.z.m4l)
    w_s, w_i, _ = vbf.components()
    edges = [220, 300, 400, 600, 3000]
    ratios = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (m > lo) & (m < hi)
        ratios.append(w_i[sel].sum() / w_s[sel].sum())
    assert all(r < 0 for r in ratios)
    assert np.all(np.diff(ratios) < 0), ratios  # more destructive at higher m4l
    assert -2.0 < ratios[-1] < -1.6, ratios


def test_degenerate_partner_at_high_m4l_and_jets_break_it(vbf_ch7: osh.Events) -> None:
    hi = vbf_ch7[np.asarray(vbf_ch7.x.m4l) > 500]
    y = hi.yields
    mu_star = osh.degenerate_partner(y["S"], y["I"])
    w_s, w_i, _ = hi.components()
    assert 2.5 <= mu_star <= 4.0
    # same total yield at mu = 0 and mu*
    assert hi.expected(mu_star) == pytest.approx(hi.expected(0.0), rel=1e-9)

    def partner_per_bin(observable: str, edges: list[float]) -> np.ndarray:
        v = np.asarray(hi.x[observable], dtype=float)
        idx = np.digitize(v, edges) - 1
        return np.array([(w_i[idx == k].sum() / w_s[idx == k].sum()) ** 2 for k in range(len(edges) - 1)])

    in_m4l = partner_per_bin("m4l", [500, 600, 700, 850, 1000, 1300])
    in_ptj = partner_per_bin("pt_j1", [20, 50, 100, 150, 200, 300, 500])
    # one partner for every m4l bin: m4l cannot tell mu=0 from mu* (measured 1.04); the jets can (measured 1.94,
    # the partner falling from 3.57 to 1.84 with the leading jet's pT)
    assert in_m4l.max() / in_m4l.min() < 1.1
    assert in_ptj.max() / in_ptj.min() > 1.5 and np.all(np.diff(in_ptj) < 0)

    def difference_chi2(observable: str, bins: tuple[int, float, float]) -> tuple[float, float]:
        h = osh.histogram_yields(hi, observable, bins, mus=[0.0, mu_star])
        shape = chi2(h[{"mu": "0"}], h[{"mu": mu_label(mu_star)}])
        delta = hi.weight(mu_star) - hi.weight(0.0)  # same events: the exact MC error of the difference
        v = np.asarray(hi.x[observable], dtype=float)
        idx = np.digitize(v, np.linspace(*bins[1:], bins[0] + 1)) - 1
        ok = (idx >= 0) & (idx < bins[0])
        d = np.bincount(idx[ok], weights=delta[ok], minlength=bins[0])
        var = np.bincount(idx[ok], weights=delta[ok] ** 2, minlength=bins[0])
        return shape.p_value, float(np.sum(d**2 / var) / bins[0])

    p_m4l, corr_m4l = difference_chi2("m4l", (8, 500, 1300))
    _, corr_ptj = difference_chi2("pt_j1", (8, 20, 420))
    _, corr_deta = difference_chi2("delta_eta_jj", (8, 0, 9))
    assert p_m4l > 0.05  # m4l shapes at mu=0 and mu* agree within the MC errors
    assert corr_ptj > 5 * corr_m4l and corr_ptj > 20
    assert corr_deta > 3 * corr_m4l


# ---------------------------------------------------------------------------------------------------------------
# morphing, joint ratio and score
# ---------------------------------------------------------------------------------------------------------------
def test_quartic_kappa_morphing_recovers_components_and_validation_point(vbf: osh.Events) -> None:
    bench = osh.benchmark_weights(vbf, osh.BENCHMARK_KAPPAS)
    assert bench.shape == (len(vbf), 6)
    basis_cols = [osh.BENCHMARK_KAPPAS.index(k) for k in osh.BASIS_KAPPAS]
    coef = osh.morphing_coefficients(bench[:, basis_cols], osh.BASIS_KAPPAS)
    w_s, w_i, w_b = vbf.components()
    scale = np.abs(bench).max(axis=1)
    assert np.all(np.abs(coef[:, 1]) < 1e-9 * scale)  # kappa^1 and kappa^3 vanish
    assert np.all(np.abs(coef[:, 3]) < 1e-9 * scale)
    assert np.allclose(coef[:, 0], w_b, rtol=1e-9, atol=1e-12 * scale.max())
    assert np.allclose(coef[:, 2], w_i, rtol=1e-7, atol=1e-11 * scale.max())
    assert np.allclose(coef[:, 4], w_s, rtol=1e-7, atol=1e-11 * scale.max())
    held_out = bench[:, osh.BENCHMARK_KAPPAS.index(osh.VALIDATION_KAPPA)]
    morphed = osh.morph(bench[:, basis_cols], osh.VALIDATION_KAPPA)
    assert np.allclose(morphed, held_out, rtol=1e-9, atol=1e-12 * scale.max())
    assert morphed.sum() == pytest.approx(vbf.expected(osh.VALIDATION_KAPPA**4), rel=1e-9)


@pytest.mark.parametrize("mu", [0.3, 1.0, 4.0])
def test_joint_score_is_the_derivative_of_the_log_weight(vbf: osh.Events, mu: float) -> None:
    def log_p(m: float) -> np.ndarray:
        return np.log(vbf.weight(m)) - np.log(vbf.expected(m))

    h = 1e-5 * mu
    numeric = (log_p(mu + h) - log_p(mu - h)) / (2 * h)
    exact = osh.joint_score(vbf, mu)
    assert np.allclose(exact, numeric, rtol=1e-5, atol=1e-6)
    k = mu**0.25
    hk = 1e-5
    numeric_k = (log_p((k + hk) ** 4) - log_p((k - hk) ** 4)) / (2 * hk)
    assert np.allclose(osh.joint_score(vbf, mu, param="kappa"), numeric_k, rtol=1e-5, atol=1e-6)
    # the expected joint score vanishes at the point it is evaluated (the weighted mean of t under p(x,z|mu))
    assert np.sum(vbf.weight(mu) * exact) == pytest.approx(0.0, abs=1e-9 * vbf.expected(mu))


def test_joint_ratio_matches_weights_and_averages_to_one(vbf: osh.Events) -> None:
    log_r = osh.joint_log_ratio(vbf, 4.0, 1.0)
    direct = (vbf.weight(4.0) / vbf.expected(4.0)) / (vbf.weight(1.0) / vbf.expected(1.0))
    assert np.allclose(np.exp(log_r), direct, rtol=1e-12)
    assert np.sum(vbf.weight(1.0) * np.exp(log_r)) / vbf.expected(1.0) == pytest.approx(1.0, rel=1e-12)
    assert np.allclose(osh.joint_log_ratio(vbf, 2.0, 2.0), 0.0, atol=1e-12)
    with pytest.raises(InputError, match="singular at mu = 0"):
        osh.joint_score(vbf, 0.0)
    assert np.allclose(osh.joint_score(vbf, 0.0, param="kappa"), 0.0)


# ---------------------------------------------------------------------------------------------------------------
# oracle, N_eff, unweighting
# ---------------------------------------------------------------------------------------------------------------
def test_oracle_likelihood_normalises(vbf_truth: osh.Events) -> None:
    comp = osh.oracle_components(vbf_truth)
    n_gen = vbf_truth.meta["n_generated"]
    # no selection: every generated event is kept but those outside phase space (a quark beyond its beam's energy or
    # a jet outside its quark's hemisphere, where the density is 0), which count as zeros below
    outside = n_gen - len(vbf_truth)
    assert 0.15 < outside / n_gen < 0.35  # 26% at this seed
    for mu in (0.0, 1.0, 4.0):
        log_p = osh.oracle_log_likelihood(vbf_truth, mu)
        # integral of p(u|mu) du, estimated with the generator's own (helicity-marginal) proposal q(u)
        ratio = np.concatenate([np.exp(log_p) / comp["q"], np.zeros(outside)])
        integral, error = ratio.mean(), ratio.std() / np.sqrt(n_gen)
        assert integral == pytest.approx(1.0, abs=max(4 * error, 1e-3)), (mu, integral, error)
        assert error < 0.02
    # the oracle ratio averages to one under the denominator hypothesis (up to MC error)
    r = np.exp(osh.oracle_log_ratio(vbf_truth, 4.0, 1.0))
    w1 = vbf_truth.weight(1.0)
    mean_r = np.sum(w1 * r) / w1.sum()
    assert mean_r == pytest.approx(1.0, abs=0.03)


def test_oracle_refuses_a_smeared_sample(vbf: osh.Events) -> None:
    with pytest.raises(InputError, match="detector='none'"):
        osh.oracle_log_likelihood(vbf, 1.0)


def test_effective_sample_size_collapses_reweighting_sm_to_mu9(vbf: osh.Events) -> None:
    sm = osh.unweight(vbf, 1.0, seed=3)
    n = len(sm)
    assert n > 500  # 680 of the 120,000 generated events
    assert np.allclose(sm.weight(1.0), vbf.expected(1.0) / n, rtol=1e-12)
    at_sm = osh.effective_sample_size(sm, mu=1.0)
    at_9 = osh.effective_sample_size(sm, mu=9.0)
    kish_9 = osh.effective_sample_size(sm, mu=9.0, definition="kish")
    assert at_sm.value == pytest.approx(n, rel=1e-9)
    assert at_sm.value / at_9.value > 10  # MadMiner N_eff = sum w / max w collapses by more than 10x
    assert n / kish_9.value > 2
    # and the reweighted SM sample still estimates the mu=9 yield (closure with the weighted truth)
    w9 = sm.weight(9.0)
    assert w9.sum() == pytest.approx(vbf.expected(9.0), abs=4 * w9.std() * np.sqrt(n))


def test_unweighted_events_follow_the_weighted_distribution(vbf: osh.Events) -> None:
    mu = 4.0
    sample = osh.unweighted(mu, 800, seed=5, source=vbf)
    assert len(sample) == 800 and sample.meta["kind"] == "unweighted" and sample.meta["mu"] == mu
    w = vbf.weight(mu)
    m_w = np.asarray(vbf.x.m4l, dtype=float)
    mean = np.sum(w * m_w) / w.sum()
    m_u = np.asarray(sample.x.m4l, dtype=float)
    assert m_u.mean() == pytest.approx(mean, abs=4 * m_u.std() / np.sqrt(len(m_u)))
    with pytest.raises(InputError, match="fewer than the n"):
        osh.unweighted(mu, 10 * len(vbf), seed=5, source=vbf)


# ---------------------------------------------------------------------------------------------------------------
# calibration, backgrounds, features
# ---------------------------------------------------------------------------------------------------------------
def test_calibrated_yields_match_spec_7_5() -> None:
    table = osh.measure_yields(n=600_000, seed=5)
    # measured with seeds 5 and 6 (600k events each, exact kinematics): after the cut every yield within 2.5% of
    # its target, before it within 1.5% except I (+3.5% and +3.0%, -3.52 against -3.4: I before the cut is a
    # prediction, the calibration fixes I/S after the cut, where iZ is read)
    for key, (before, after) in osh.TARGETS.items():
        assert table.after[key] == pytest.approx(after, rel=0.05), key
        assert table.before[key] == pytest.approx(before, rel=0.08 if key == "I" else 0.05), key
    # iZ = (S + I/2)/sqrt(SVI + B2) and the rate partner of mu = 0 after the cut (ATLAS: 0.0173, 2.98); iZ measured
    # -1.0% and +0.4%, mu* +0.3% and +0.2% (I/S is what the calibration solves)
    assert table.iz() == pytest.approx(0.0173, rel=0.10)
    assert table.mu_star() == pytest.approx(2.98, rel=0.10)
    # the efficiencies that motivate an off-shell VBF region: S is cut harder than V (52% vs 71%; measured 53.1% and
    # 70.4%, qqZZ 11.7%)
    eff_s = table.after["S"] / table.before["S"]
    eff_v = table.after["V"] / table.before["V"]
    assert 0.45 < eff_s < 0.58 and 0.65 < eff_v < 0.77
    assert table.after["qqzz"] / table.before["qqzz"] == pytest.approx(0.12, abs=0.02)


def test_solve_normalisations_closes_on_its_sample_and_finds_the_shipped_models() -> None:
    from hepnb.offshell import calibration as cal
    from hepnb.offshell.models import DEFAULT_MODELS
    from hepnb.stats.constants import THESIS_LUMI

    n, seed = 100_000, 11
    solved = cal.solve_normalisations(n=n, seed=seed)
    # closure: the normalisations do not enter the proposal, so the same seed gives the same events, and on them
    # the solved models hit exactly what is solved: S before x after, I/S after, V before and after, B2 before
    table = cal.measure_yields(n=n, seed=seed, lumi=THESIS_LUMI, models=solved)
    before, after = table.before, table.after
    (s_before, s_after), (i_after, v_before, v_after) = osh.TARGETS["S"], (osh.TARGETS["I"][1], *osh.TARGETS["V"])
    assert before["S"] * after["S"] == pytest.approx(s_before * s_after, rel=1e-9)
    assert after["I"] / after["S"] == pytest.approx(i_after / s_after, rel=1e-9)
    assert (before["V"], after["V"]) == pytest.approx((v_before, v_after), rel=1e-9)
    for process in ("qqzz", "ggzz"):
        assert before[process] == pytest.approx(osh.TARGETS[process][0], rel=1e-9)
    with pytest.raises(InputError, match="unknown processes"):
        cal.measure_yields(n=n, seed=seed, models={"zz": solved["vbf"]})
    # the shipped models are this solution at 1M events (seed 2024): at 100k events, seeds 11-14 measured N_LL
    # -1.3/+3.0/-1.3/+3.1%, N_LT +8.6/-3.1/-5.0/-4.5%, N_TT -26.9/+16.7/+12.0/+12.2% (the LT/TT split of V is loosely
    # constrained), the transverse J=0 amplitude sqrt(N_TT) rho_t -1.0/+4.5/+2.0/+3.7%, qqZZ and ggZZ within 1.4%;
    # the tolerances are about twice the largest
    shipped, found = DEFAULT_MODELS["vbf"], solved["vbf"]
    assert found.norm_ll == pytest.approx(shipped.norm_ll, rel=0.06)
    assert found.norm_lt == pytest.approx(shipped.norm_lt, rel=0.18)
    assert found.norm_tt == pytest.approx(shipped.norm_tt, rel=0.55)
    amplitude = found.rho_t * np.sqrt(found.norm_tt)
    assert amplitude == pytest.approx(shipped.rho_t * np.sqrt(shipped.norm_tt), rel=0.09)
    for process in ("qqzz", "ggzz"):
        assert solved[process].norm == pytest.approx(DEFAULT_MODELS[process].norm, rel=0.03), process


def test_background_pathologies() -> None:
    clean = osh.generate(40_000, seed=8, process="qqzz", preset="4l", progress=False)
    zeroed = osh.generate(40_000, seed=8, process="qqzz", preset="4l", zero_weight_fraction=0.33, progress=False)
    pocket = osh.generate(40_000, seed=8, process="qqzz", preset="4l", negative_pocket=(80.0, 2.5), progress=False)
    w_s, w_i, w_b = clean.components()
    assert np.all(w_s == 0) and np.all(w_i == 0) and np.all(w_b > 0)
    assert np.array_equal(np.asarray(clean.x.m4l), np.asarray(zeroed.x.m4l))  # same kinematics
    zero = zeroed.weight(1.0) == 0
    assert zero.mean() == pytest.approx(0.33, abs=0.015)
    assert zeroed.expected(1.0) == pytest.approx(clean.expected(1.0), rel=0.03)
    assert osh.effective_sample_size(zeroed, mu=1.0, definition="kish").value < 0.7 * len(zeroed)
    neg = pocket.weight(1.0) < 0
    assert 0 < neg.sum() < len(pocket)
    jets = pocket.z.jets[neg]
    assert np.all(np.asarray(jets.pt[:, 0]) > 80.0)
    assert np.all(np.abs(np.asarray(jets.eta[:, 0] - jets.eta[:, 1])) > 2.5)
    assert np.allclose(pocket.weight(1.0)[neg], -clean.weight(1.0)[neg])
    with pytest.raises(InputError, match="backgrounds"):
        osh.generate(1000, seed=1, zero_weight_fraction=0.3)


def test_feature_lists_have_the_thesis_sizes(vbf: osh.Events, vbf_ch7: osh.Events) -> None:
    x6, names6 = osh.feature_matrix(vbf.x, "thesis-ch6")
    x7, names7 = osh.feature_matrix(vbf_ch7.x, "thesis-ch7")
    assert x6.shape == (len(vbf), 15) and x7.shape == (len(vbf_ch7), 35)
    assert names6[3] == "jet_pt_0" and np.array_equal(x6[:, 3], np.asarray(vbf.x.pt_j1, dtype=float))
    assert np.all(x6[:, names6.index("pt4ljj_unconstrained")] >= 50.0)
    assert "delta_phi_jj" in names7 and "invmass_jj" in names7 and np.isfinite(x7).all()
    assert np.all(np.asarray(vbf.x.mjj) > 120) and np.all(np.asarray(vbf.x.pt_j2) > 30)
    assert np.all(np.asarray(vbf_ch7.x.n_jets) >= 2) and np.all(np.asarray(vbf_ch7.x.m4l) > 220)


def test_track_width_fluctuates_per_jet(vbf: osh.Events) -> None:
    # one random track/calorimeter width factor per jet (Gamma(12) around 0.9), not one per generated chunk
    ratio = np.asarray(vbf.x.track_width_j1) / np.asarray(vbf.x.width_j1)
    assert np.unique(ratio).size > 0.99 * len(vbf)
    assert np.mean(ratio) == pytest.approx(0.9, rel=0.01)
    assert np.std(ratio) == pytest.approx(0.9 / np.sqrt(12.0), rel=0.05)


def test_truth_detector_reconstructs_the_generated_angles(vbf_truth: osh.Events) -> None:
    x, z = vbf_truth.x, vbf_truth.z
    assert np.allclose(np.asarray(x.m4l), np.asarray(z.m4l), rtol=1e-5)
    # 2e2mu events: the pairing is unambiguous; Z1 (nearest m_Z) is the generated Z1 or Z2
    flav = np.asarray(z.leptons.pdg)
    mixed = np.abs(flav[:, 0]) != np.abs(flav[:, 2])
    c1, c2 = np.asarray(x.cos_theta1)[mixed], np.asarray(x.cos_theta2)[mixed]
    t1, t2 = np.asarray(z.cos_theta_z1)[mixed], np.asarray(z.cos_theta_z2)[mixed]
    same = np.isclose(c1, t1, atol=1e-4) & np.isclose(c2, t2, atol=1e-4)
    swapped = np.isclose(c1, t2, atol=1e-4) & np.isclose(c2, t1, atol=1e-4)
    assert np.mean(same | swapped) > 0.999
    # the angle between the decay planes (which the coherent Z-helicity sum makes S, I and B depend on) is
    # reconstructed as generated, whichever Z is called Z1
    plane = np.asarray(x.phi_planes, dtype=float)[mixed]
    generated = np.asarray(z.phi_z1)[mixed] + np.asarray(z.phi_z2)[mixed]
    assert np.mean(np.abs(np.angle(np.exp(1j * (plane - generated)))) < 1e-4) > 0.999


def test_bad_input_is_explained() -> None:
    with pytest.raises(InputError, match="process must be one of"):
        osh.generate(100, seed=1, process="ttbar")
    with pytest.raises(InputError, match="preset must be one of"):
        osh.generate(100, seed=1, preset="ch8")
    with pytest.raises(InputError, match="detector must be one of"):
        osh.generate(100, seed=1, detector="cms")
    with pytest.raises(InputError, match="seed must be"):
        osh.generate(100, seed=-1)
    with pytest.raises(InputError, match="mu must be finite and >= 0"):
        osh.Events(osh.generate(2000, seed=1, preset=None, progress=False).array).weight(-1.0)
    with pytest.raises(InputError, match="unknown model parameters"):
        osh.generate(100, seed=1, model={"rho": 0.5})


@pytest.mark.parametrize("process", ["vbf", "qqzz", "ggzz"])
@pytest.mark.parametrize("detector", ["atlas", "none"])
def test_cuts_first_selects_the_same_events_with_the_same_observables(process: str, detector: str) -> None:
    """The generator evaluates the cuts on the observables they read and computes the rest for the selected events
    only: the same events and the same numbers, bit for bit, as computing everything for every event first."""
    from hepnb.offshell import detector as det
    from hepnb.offshell import events, features, phasespace
    from hepnb.offshell.models import DEFAULT_MODELS

    rng = np.random.default_rng(11)
    reco = det.simulate(phasespace.generate_truth(process, 3000, rng, DEFAULT_MODELS[process]), rng, detector)
    every = features.observables(reco)
    for preset in det.PRESETS:
        want = np.flatnonzero(det.select(every, preset))
        for names in (None, ["m4l", "pt_j1"], ["mela", "m4l", "eta_visible"]):
            keep, x = events._select(reco, preset, names)
            np.testing.assert_array_equal(keep, want)
            assert list(x) == list(osh.OBSERVABLES if names is None else names)
            for k, v in x.items():
                assert v.dtype == every[k].dtype and np.array_equal(v, every[k][want], equal_nan=True), (preset, k)
        assert preset is None or 0 < len(want) < 3000  # the cuts select something and reject something
    with pytest.raises(InputError, match="unknown observables \\['nope'\\]"):
        features.observables(reco, ["m4l", "nope"])
