"""Mining augmented data from off-shell events: identities of the joint ratio and score, closest benchmark, N_eff,
determinism and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb import lfi
from hepnb import offshell as osh
from hepnb.errors import InputError


def test_thesis_points() -> None:
    assert len(lfi.THESIS_MUS) == 27 and 1.2 in lfi.THESIS_MUS  # "1, 2" read as 1.2
    np.testing.assert_allclose(np.asarray(lfi.THESIS_KAPPAS) ** 4, lfi.THESIS_MUS, atol=1e-12)


def test_ratio_sample_layout_and_joint_identities(truth_events: osh.Events) -> None:
    kappas = (0.0, 0.8, 1.2, 1.5)
    n_each = 1500
    s = lfi.mine_ratio_sample(truth_events, 2 * n_each * len(kappas), seed=3, theta0=kappas)
    assert s.x.shape == (2 * n_each * len(kappas), 35) and len(s.feature_names) == 35
    assert not s.doubly_parameterized and np.all(s.theta1 == 1.0)
    assert set(np.unique(s.theta0)) == set(kappas) and s.y.mean() == 0.5
    for k in kappas:
        den = (s.theta0 == k) & (s.y == 1)
        num = (s.theta0 == k) & (s.y == 0)
        # E_{theta1}[r(x,z|theta0,theta1)] = 1 and E_{theta0}[1/r] = 1 (normalised densities), within 5 MC sigma
        for values in (np.exp(s.log_r_xz[den]), np.exp(-s.log_r_xz[num])):
            assert abs(values.mean() - 1.0) < 5 * values.std() / np.sqrt(len(values)) + 1e-12
        # E_{theta0}[t(x,z|theta0)] = 0
        t0 = s.t_xz[num]
        assert abs(t0.mean()) < 5 * t0.std() / np.sqrt(len(t0)) + 1e-12
    # t vanishes at kappa = 0 (only kappa^4 and kappa^2 terms); the reference score is t at kappa = 1
    np.testing.assert_array_equal(s.t_xz[s.theta0 == 0.0], 0.0)
    # each row's joint quantities are those of hepnb.offshell for the event it copies
    row = int(np.flatnonzero((s.theta0 == 1.5) & (s.y == 1))[0])
    x_all, _ = lfi.observables_matrix(truth_events, "thesis-ch7")
    match = np.flatnonzero(np.all(x_all == s.x[row], axis=1))
    assert len(match) >= 1
    i = int(match[0])
    assert s.log_r_xz[row] == pytest.approx(osh.joint_log_ratio(truth_events, 1.5**4, 1.0)[i], rel=1e-12)
    assert s.t_xz[row] == pytest.approx(osh.joint_score(truth_events, 1.5**4, "kappa")[i], rel=1e-12)
    assert s.t1_xz[row] == pytest.approx(osh.joint_score(truth_events, 1.0, "kappa")[i], rel=1e-12)
    # N_eff is MadMiner's sum w / max w of the source at each point
    assert s.n_effective[1.5] == pytest.approx(osh.effective_sample_size(truth_events, mu=1.5**4).value, rel=1e-12)
    # the scaler standardises the observables
    z = s.scaler.transform(s.x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)


def test_same_seed_same_bytes_and_morphing_agrees(truth_events: osh.Events) -> None:
    a = lfi.mine_ratio_sample(truth_events, 540, seed=5)
    b = lfi.mine_ratio_sample(truth_events, 540, seed=5)
    c = lfi.mine_ratio_sample(truth_events, 540, seed=6)
    for name, values in a.arrays().items():
        assert values.tobytes() == b.arrays()[name].tobytes(), name
    assert a.x.tobytes() != c.x.tobytes()
    m = lfi.mine_ratio_sample(truth_events, 540, seed=5, weights="morphing")
    np.testing.assert_allclose(m.log_r_xz, a.log_r_xz, rtol=1e-12)  # morphing reproduces the exact weights
    assert m.n_effective[2.0] == pytest.approx(a.n_effective[2.0], rel=1e-8)


def test_closest_benchmark_and_local_sample(truth_events: osh.Events) -> None:
    at_sm = osh.unweighted(1.0, 300, seed=7, source=truth_events)
    at_big = osh.unweighted(16.0, 150, seed=8, source=truth_events)
    sources = {1.0: at_sm, 2.0: at_big}
    s = lfi.mine_ratio_sample(sources, 400, seed=9, theta0=(1.1, 1.9), theta1=1.0)
    # kappa 1.1 and the reference come from the SM sample, kappa 1.9 from the kappa = 2 sample
    assert s.n_effective[1.1] == pytest.approx(osh.effective_sample_size(at_sm, mu=1.1**4).value, rel=1e-12)
    assert s.n_effective[1.9] == pytest.approx(osh.effective_sample_size(at_big, mu=1.9**4).value, rel=1e-12)
    x_big, _ = lfi.observables_matrix(at_big, "thesis-ch7")
    rows = s.x[(s.theta0 == 1.9) & (s.y == 0)]
    assert all(np.any(np.all(x_big == r, axis=1)) for r in rows[:20])

    local = lfi.mine_local_sample(truth_events, 2000, seed=10, observables=["m4l", "delta_eta_jj"])
    assert local.x.shape == (2000, 2) and local.feature_names == ("m4l", "delta_eta_jj") and local.theta == 1.0
    assert abs(local.t_xz.mean()) < 5 * local.t_xz.std() / np.sqrt(2000)  # E_SM[t(x,z|SM)] = 0
    dens = lfi.mine_density_sample(truth_events, 900, seed=11, thetas=(0.5, 1.0, 1.5), observables=["m4l"])
    assert dens.x.shape == (900, 1) and sorted(set(dens.theta)) == [0.5, 1.0, 1.5]


def test_clear_errors(truth_events: osh.Events) -> None:
    with pytest.raises(InputError, match="n_samples"):
        lfi.mine_ratio_sample(truth_events, 0, seed=1)
    with pytest.raises(InputError, match="too small"):
        lfi.mine_ratio_sample(truth_events, 10, seed=1)
    with pytest.raises(InputError, match="seed"):
        lfi.mine_local_sample(truth_events, 10, seed=-1)
    with pytest.raises(InputError, match="unknown observables"):
        lfi.mine_local_sample(truth_events, 10, seed=1, observables=["m4l", "not_a_field"])
    no_jet_cut = osh.generate(2000, seed=2, detector="none", preset="4l")
    assert np.isnan(np.asarray(no_jet_cut.x["mjj"])).any()
    with pytest.raises(InputError, match="missing"):
        lfi.mine_local_sample(no_jet_cut, 10, seed=1, observables=["m4l", "mjj"])
    assert lfi.mine_local_sample(no_jet_cut, 10, seed=1).x.shape == (10, 35)  # the ch7 list has defaults
    with pytest.raises(InputError, match="theta0"):
        lfi.mine_ratio_sample(truth_events, 100, seed=1, theta0=[-1.0])
    with pytest.raises(InputError, match="one per theta0"):
        lfi.mine_ratio_sample(truth_events, 100, seed=1, theta0=[0.5, 1.5], theta1=[1.0, 1.1, 1.2])
    with pytest.raises(InputError, match="weights must be"):
        lfi.mine_ratio_sample(truth_events, 100, seed=1, weights="magic")
    with pytest.raises(InputError, match="mapping"):
        lfi.mine_ratio_sample([truth_events], 100, seed=1)
