"""Calibration of ratio estimators on an independent sample, training points off the evaluation grid, SALLY named
once and over-confidence flagged (hepnb.lfi.scans, methods, tables; issue 17, points 3, 6 and 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepnb import lfi
from hepnb import offshell as osh
from hepnb.errors import InputError
from hepnb.lfi import study
from hepnb.lfi.inference import LikelihoodScan

pytestmark = pytest.mark.usefixtures("torch_single_thread")
GRID = lfi.THESIS_KAPPA_GRID
KAPPA = GRID[::10]


@pytest.fixture(scope="module")
def samples() -> tuple[osh.Events, osh.Events]:
    return study.make_samples(20_000, 20_000, seed=7)


@pytest.fixture(scope="module")
def calibration() -> osh.Events:
    return study.make_calibration_sample(20_000, seed=7)


@pytest.fixture(scope="module")
def other_test() -> osh.Events:
    """A second evaluation sample (another seed's), to change the evaluation events."""
    return study.make_calibration_sample(20_000, seed=11)


class ExactRatio:
    """The oracle as an estimator of the events it was built on, plus an injected offset ``offset (kappa - 1)``."""

    observables = "thesis-ch7"

    def __init__(self, events: osh.Events, offset: float = 0.0) -> None:
        self.events, self.offset = events, offset

    def log_ratio(self, x: np.ndarray, theta: float, theta_ref: float = 1.0) -> np.ndarray:
        assert len(x) == len(self.events), "evaluated on other events than it was built for"
        return osh.oracle_log_ratio(self.events, theta**4, theta_ref**4) + self.offset * (theta - theta_ref)


class ObservableRatio:
    """An (unnormalised) ratio of the observables alone: its calibration offsets are not zero and depend on x."""

    observables = "thesis-ch7"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def log_ratio(self, x: np.ndarray, theta: float, theta_ref: float = 1.0) -> np.ndarray:
        self.calls.append(len(x))
        z = (x[:, -1] - 400.0) / 200.0  # the last ch7 observable is m4l in GeV
        return 0.3 * (theta - theta_ref) * np.tanh(z) + 0.02 * (theta - theta_ref) ** 2


def _rows(events: osh.Events) -> set[tuple[float, ...]]:
    """Each event's (m4l, pT_j1, Delta eta_jj): float32 values coincide by chance, three at once do not."""
    return set(zip(*(np.asarray(events.x[o], dtype=float).tolist() for o in ("m4l", "pt_j1", "delta_eta_jj"))))


def test_calibration_sample_is_independent_and_deterministic(samples, calibration) -> None:
    train, test = samples
    again = study.make_calibration_sample(20_000, seed=7)
    np.testing.assert_array_equal(again.weight(1.0), calibration.weight(1.0))
    np.testing.assert_array_equal(np.asarray(again.x["m4l"]), np.asarray(calibration.x["m4l"]))
    assert calibration.meta.get("weights") == "helicity-summed"
    assert calibration.meta["config"]["detector"] == "none" and calibration.meta["config"]["preset"] == study.PRESET
    # no event in common with the training or evaluation sample of the same seed
    m4l = np.asarray(calibration.x["m4l"], dtype=float)
    for other in (train, test):
        assert not _rows(calibration) & _rows(other)
    # the same generator as make_samples, seeded with the calibration role's own seed (not seed + an offset)
    direct = osh.generate(
        20_000, study.sample_seed(7, "calibration"), detector="none", preset=study.PRESET, progress=False
    )
    np.testing.assert_array_equal(np.asarray(direct.x["m4l"]), m4l)
    assert calibration.meta["seed"] == study.sample_seed(7, "calibration")
    assert calibration.meta["seed"] not in {other.meta["seed"] for other in samples}
    with pytest.raises(InputError, match="n must be"):
        study.make_calibration_sample(10, seed=7)
    with pytest.raises(InputError, match="seed"):
        study.make_calibration_sample(2000, seed=1.5)  # type: ignore[arg-type]


def test_calibration_leaves_an_exact_ratio_unchanged_and_removes_an_injected_offset(samples, calibration) -> None:
    _, test = samples
    # helicity-summed weights: E_SM[r] = 1 for the exact ratio on any sample, to rounding
    np.testing.assert_allclose(study.calibrate_log_r(ExactRatio(calibration), calibration, KAPPA), 0.0, atol=1e-10)
    offsets = study.calibrate_log_r(ExactRatio(calibration, offset=0.05), calibration, KAPPA)
    np.testing.assert_allclose(offsets, 0.05 * (KAPPA - 1.0), atol=1e-10)  # the injected offset, measured
    exact = study.ratio_log_r_grid(ExactRatio(test), test, KAPPA)
    shifted = study.ratio_log_r_grid(ExactRatio(test, offset=0.05), test, KAPPA)
    np.testing.assert_allclose(study.apply_calibration(shifted, offsets), exact, atol=1e-10)
    # the calibrated scan is the oracle's; the uncalibrated one is tilted by the offset
    oracle = study.oracle_scans(test, [1.0, 4.0], kappa=KAPPA)
    fixed = study.scans_from_log_r(shifted, test, [1.0, 4.0], "shifted", kappa=KAPPA, offsets=offsets)
    plain = study.scans_from_log_r(shifted, test, [1.0, 4.0], "shifted", kappa=KAPPA)
    for key in oracle:
        np.testing.assert_allclose(fixed[key].q, oracle[key].q, rtol=1e-8, atol=1e-8)
    assert np.max(np.abs(plain[1.0, False].q - oracle[1.0, False].q)) > 0.1


class CommonNoise(ExactRatio):
    """The exact ratio plus a spurious function of m4l common to every kappa, the reference included (a network's
    ``log r_hat(x | SM, SM)`` is not 0): it correlates with the exact ratio, so ``log E_SM[r_hat]`` depends on kappa."""

    def log_ratio(self, x: np.ndarray, theta: float, theta_ref: float = 1.0) -> np.ndarray:
        return super().log_ratio(x, theta, theta_ref) + 0.3 * np.tanh((x[:, -1] - 400.0) / 200.0)


def test_anchoring_removes_a_common_spurious_term_before_the_calibration(samples, calibration) -> None:
    _, test = samples
    grid = GRID[::2]
    oracle = study.oracle_scans(test, [1.0, 4.0], kappa=grid)

    def calibrated(anchored: bool) -> dict:
        on_cal = study.ratio_log_r_grid(CommonNoise(calibration), calibration, grid, anchored=anchored)
        on_test = study.ratio_log_r_grid(CommonNoise(test), test, grid, anchored=anchored)
        offsets = study.calibrate_log_r(on_cal, calibration, grid)
        return study.scans_from_log_r(on_test, test, [1.0, 4.0], "noisy", kappa=grid, offsets=offsets)

    anchored, raw = calibrated(True), calibrated(False)
    for key in oracle:  # anchored, the term cancels exactly: the oracle's scans
        np.testing.assert_allclose(anchored[key].q, oracle[key].q, rtol=1e-8, atol=1e-8)
    # without the anchor the calibration turns it into a kappa-dependent tilt: mu_hat moves away from the oracle's
    assert abs(raw[1.0, True].mu_hat - oracle[1.0, True].mu_hat) > 0.02  # 0.048 (0.899 against 0.948)
    # while the uncalibrated scans do not see it (a constant of every scan)
    plain = study.scans_from_log_r(
        study.ratio_log_r_grid(CommonNoise(test), test, grid, anchored=False), test, [1.0], "plain", kappa=grid
    )
    np.testing.assert_allclose(plain[1.0, True].q, oracle[1.0, True].q, rtol=1e-8, atol=1e-8)


def test_offsets_come_from_the_calibration_events_only(samples, calibration, other_test) -> None:
    _, test = samples
    est = ObservableRatio()
    offsets = study.calibrate_log_r(est, calibration, KAPPA)
    # evaluated on the calibration events, nowhere else (once per grid point and once at the anchor, the SM)
    assert est.calls == [len(calibration)] * (len(KAPPA) + 1)
    assert np.max(np.abs(offsets)) > 0.01  # a real correction
    # the same offsets from a precomputed grid, and deterministic
    grid_cal = study.ratio_log_r_grid(est, calibration, KAPPA)
    np.testing.assert_array_equal(study.calibrate_log_r(grid_cal, calibration, KAPPA), offsets)
    np.testing.assert_array_equal(study.calibrate_log_r(ObservableRatio(), calibration, KAPPA), offsets)
    # changing the evaluation events does not change the offsets that method_scans applies
    trained = study.TrainedMethod("alices", est, 0.0, 0, 1)
    for events in (test, other_test):
        got = study.method_scans(trained, events, [1.0], kappa=KAPPA, calibration=calibration)
        want = study.scans_from_log_r(
            study.ratio_log_r_grid(est, events, KAPPA), events, [1.0], "alices", kappa=KAPPA, offsets=offsets
        )
        np.testing.assert_array_equal(got[1.0, True].q, want[1.0, True].q)
    # whereas the same-sample normalisation follows the evaluation events
    same = [
        study.ratio_log_r_grid(est, ev, KAPPA)[:, :1]
        - study.normalise_log_r(study.ratio_log_r_grid(est, ev, KAPPA), ev)
        for ev in (test, other_test)
    ]
    assert not np.allclose(same[0][:, 0], same[1][:, 0], rtol=0, atol=1e-6)


def test_calibration_input_errors(calibration) -> None:
    with pytest.raises(InputError, match="shape"):
        study.calibrate_log_r(np.zeros((len(KAPPA), 10)), calibration, KAPPA)
    with pytest.raises(InputError, match="rows"):
        study.calibrate_log_r(np.zeros((2, len(calibration))), calibration, KAPPA)
    with pytest.raises(InputError, match="calibration must be"):
        study.calibrate_log_r(np.zeros((len(KAPPA), 10)), np.zeros(10), KAPPA)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="offsets"):
        study.apply_calibration(np.zeros((3, 4)), [0.1, 0.2])
    with pytest.raises(InputError, match="not both"):
        study.scans_from_log_r(
            np.zeros((len(KAPPA), len(calibration))),
            calibration,
            [1.0],
            "x",
            kappa=KAPPA,
            offsets=np.zeros(len(KAPPA)),
            normalise=True,
        )


def test_training_points_are_not_evaluation_points() -> None:
    uniform = np.asarray(study.UNIFORM_KAPPAS)
    assert uniform.min() > 0 and uniform.max() < 2  # inside the scan range [0, 2]
    # every default numerator point lies halfway between two grid points, none on the grid
    assert np.min(np.abs(uniform[:, None] - GRID[None, :])) == pytest.approx(0.02, abs=1e-12)
    assert not np.isin(uniform, GRID).any()
    assert study.numerator_kappas("uniform") == study.UNIFORM_KAPPAS
    assert set(study.numerator_kappas("grid")) == {float(k) for k in GRID}


def test_sally_appears_once_and_its_local_model_apart(samples) -> None:
    assert "sallino" not in study.METHODS and {"sally", "sally local model"} <= set(study.METHODS)
    assert study.METHODS["sally"]["limits"].startswith("histogram of t_hat")
    train, test = samples
    sally = study.train_method("sally", train, n_samples=2000, seed=1, max_epochs=1, batch_size=256, n_hidden=(8,))
    kappa = GRID[::5]
    hist = study.method_scans(sally, test, [1.0], kappa=kappa, bins=10)
    t_hat = lfi.estimated_scores(sally.estimator, test)
    want = study.histogram_scans(t_hat, test, [1.0], method="sally", bins=10, kappa=kappa)
    np.testing.assert_allclose(hist[1.0, True].q, want[1.0, True].q, rtol=1e-12, atol=1e-12)
    local = study.TrainedMethod("sally local model", sally.estimator, sally.seconds, sally.n_rows, sally.best_epoch)
    scans = study.method_scans(local, test, [1.0], kappa=kappa)
    direct = lfi.sally_scan(sally.estimator, test, 1.0, kappa=kappa)
    np.testing.assert_allclose(scans[1.0, True].q, direct.q, rtol=1e-12, atol=1e-12)
    assert scans[1.0, True].method == "sally local model"


def _sharpened(scan: LikelihoodScan, factor: float, name: str) -> LikelihoodScan:
    return LikelihoodScan(
        name,
        scan.kappa,
        scan.mu,
        factor * scan.log_likelihood_kinematic,
        factor * scan.log_likelihood_rate,
        scan.include_rate,
        scan.mu_true,
        scan.lumi,
        scan.n_expected,
    )


def test_beyond_the_oracle_flags_over_confidence(samples) -> None:
    _, test = samples
    oracle = study.oracle_scans(test, [1.0])
    scans = {
        "oracle": oracle,
        "sharp": {k: _sharpened(s, 1.5, "sharp") for k, s in oracle.items()},  # a scan too sharp: narrower
        "broad": {k: _sharpened(s, 0.7, "broad") for k, s in oracle.items()},  # lost information: wider
    }
    widths = study.width_table(scans, [1.0])
    assert widths.loc["sharp"].max() < 0.9 and widths.loc["broad"].min() > 1.1
    flags = study.beyond_oracle(widths)
    assert flags.to_dict() == {"oracle": False, "sharp": True, "broad": False}
    # q(mu*): above the oracle's is flagged, below is not
    y = test.yields
    mu_star = osh.degenerate_partner(y["S"], y["I"])
    star = np.array([0.0, mu_star**0.25])
    at_zero = study.oracle_scans(test, [0.0], kappa=star)
    deg = study.degeneracy_table(
        {
            "oracle": at_zero,
            "sharp": {k: _sharpened(s, 1.1, "sharp") for k, s in at_zero.items()},
            "broad": {k: _sharpened(s, 0.5, "broad") for k, s in at_zero.items()},
            "edge": {k: _sharpened(s, 1.01, "edge") for k, s in at_zero.items()},  # within the margin
        },
        mu_star,
    )
    assert study.beyond_oracle(deg).to_dict() == {"oracle": False, "sharp": True, "broad": False, "edge": False}
    assert study.beyond_oracle(deg, margin=0.0)["edge"]
    with pytest.raises(InputError, match="oracle"):
        study.beyond_oracle(deg.drop(index="oracle"))
    with pytest.raises(InputError, match="no ratio"):
        study.beyond_oracle(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InputError, match="margin"):
        study.beyond_oracle(widths, margin=1.5)
