"""An estimator's log r_hat as a summary, fitted with exact templates (hepnb.lfi.summary_fits).

The fit is the exact binned likelihood of a function of x: it cannot be sharper than the oracle (log-sum
inequality), it does not change under a monotone transform of the summary (equal-population bins), and a summary
without information falls back to the rate-only fit.
"""

from __future__ import annotations

import numpy as np
import pytest

from hepnb import offshell as osh
from hepnb.errors import InputError
from hepnb.lfi import limits, study
from hepnb.lfi.summary_fits import estimator_summary, summary_scans

MU_TRUES = [0.0, 1.0, 4.0]


@pytest.fixture(scope="module")
def events() -> osh.Events:
    return study.make_calibration_sample(60_000, seed=11)


class Transformed:
    """The exact log ratio of ``events``, passed through ``transform``, as an estimator."""

    observables = ["m4l"]

    def __init__(self, events: osh.Events, transform=lambda lr: lr) -> None:
        self.events, self.transform = events, transform

    def log_ratio(self, x, kappa, kappa_ref):
        return self.transform(osh.oracle_log_ratio(self.events, kappa**4, kappa_ref**4))


class Noise:
    """A log ratio that varies with kappa but not with the physics: noise per event times (kappa - 1)."""

    observables = ["m4l"]

    def __init__(self, n: int, seed: int = 5, depends_on_kappa: bool = True) -> None:
        self.noise, self.depends_on_kappa = np.random.default_rng(seed).normal(size=n), depends_on_kappa

    def log_ratio(self, x, kappa, kappa_ref):
        return self.noise * ((kappa - kappa_ref) if self.depends_on_kappa else 1.0)


def limit(scans, mu_true: float, rate: bool) -> float:
    return limits.method_limits(scans[mu_true, rate], scans[0.0, rate])[0].observed


def trained(estimator, method: str = "nde") -> study.TrainedMethod:
    return study.TrainedMethod(method, estimator, seconds=0.0, n_rows=0, best_epoch=0)


def test_the_exact_ratio_as_summary_comes_within_one_percent_of_the_oracle(events) -> None:
    # measured on this sample (60k generated events, seed 11): 1.0034 (rate) and 1.0057 (shape only)
    exact, oracle = summary_scans(trained(Transformed(events)), events, MU_TRUES), study.oracle_scans(events, MU_TRUES)
    for rate in (True, False):
        ratio = limit(exact, 1.0, rate) / limit(oracle, 1.0, rate)
        assert 1.0 - 1e-3 <= ratio < 1.015, (rate, ratio)


def test_an_over_confident_estimator_is_tamed(events) -> None:
    # log r_hat = 4 log r: the unbinned scan is four times too sharp, the summary fit is the exact one's
    sharp = Transformed(events, lambda lr: 4.0 * lr)
    oracle = study.oracle_scans(events, MU_TRUES)
    unbinned = study.scans_from_log_r(study.ratio_log_r_grid(sharp, events), events, MU_TRUES, "sharp")
    assert limit(unbinned, 1.0, True) / limit(oracle, 1.0, True) < 0.8
    fitted = summary_scans(trained(sharp), events, MU_TRUES)
    exact = summary_scans(trained(Transformed(events)), events, MU_TRUES)
    for key in fitted:
        np.testing.assert_allclose(fitted[key].q, exact[key].q, rtol=1e-9, atol=1e-12)


def test_a_sharp_non_monotone_estimator_never_beats_the_oracle(events) -> None:
    # 4 |log r| plus kappa-dependent noise: over-confident and not a monotone map of the exact ratio
    noise = Noise(len(events), seed=8)
    wild = Transformed(events, lambda lr: 4.0 * np.abs(lr))
    wild.log_ratio = lambda x, kappa, ref: (
        Transformed.log_ratio(wild, x, kappa, ref) + 0.5 * noise.log_ratio(x, kappa, ref)
    )
    fitted, oracle = summary_scans(trained(wild), events, MU_TRUES), study.oracle_scans(events, MU_TRUES)
    for key in oracle:
        assert np.all(fitted[key].q <= oracle[key].q + 1e-9), key  # the log-sum inequality, at every grid point
    assert limit(fitted, 1.0, True) / limit(oracle, 1.0, True) > 1.0


def test_a_summary_without_information_falls_back_to_the_rate(events) -> None:
    blind = summary_scans(trained(Noise(len(events))), events, MU_TRUES)
    count = study.histogram_scans(np.linspace(0.0, 1.0, len(events)), events, MU_TRUES, method="count", bins=1)
    oracle = study.oracle_scans(events, MU_TRUES)
    # the noise histogram's templates differ by Monte-Carlo fluctuations only: little shape information
    assert blind[1.0, False].q[-1] < 0.2 * oracle[1.0, False].q[-1]
    with_rate = limit(blind, 1.0, True)
    assert limit(oracle, 1.0, True) < with_rate
    assert with_rate == pytest.approx(limit(count, 1.0, True), rel=0.05)


def test_the_summary_is_the_anchored_ratio_at_kappa_s(events) -> None:
    shifted = Transformed(events, lambda lr: lr + 0.3)  # a constant offset: removed by the anchor
    s = estimator_summary(shifted, events, 0.5)
    np.testing.assert_allclose(s, osh.oracle_log_ratio(events, 0.5**4, 1.0), atol=1e-12)


@pytest.mark.parametrize("kappa_s", [1.0, -0.5, float("nan"), "1.5", True])
def test_a_bad_kappa_s_is_refused(events, kappa_s) -> None:
    with pytest.raises(InputError, match="kappa_summary"):
        estimator_summary(Transformed(events), events, kappa_s)


def test_an_estimator_blind_to_kappa_is_refused(events) -> None:
    # anchored, its summary is 0 for every event: nothing to histogram
    with pytest.raises(InputError, match="does not depend on kappa"):
        summary_scans(trained(Noise(len(events), depends_on_kappa=False)), events, MU_TRUES)


def test_events_without_exact_non_negative_weights_are_refused(events) -> None:
    generated = osh.generate(5_000, seed=7, detector="none", progress=False)  # per-helicity generator weights
    with pytest.raises(InputError, match="helicity-summed"):
        summary_scans(trained(Transformed(events)), generated, MU_TRUES)
    with pytest.raises(InputError, match="Events"):
        summary_scans(trained(Transformed(events)), {"x": []}, MU_TRUES)


def test_a_diverged_or_foreign_estimator_is_refused(events) -> None:
    with pytest.raises(InputError, match="not finite for 1 of"):
        estimator_summary(Transformed(events, lambda lr: np.where(np.arange(len(lr)) == 3, np.nan, lr)), events)
    with pytest.raises(InputError, match="log_ratio and observables"):
        estimator_summary(object(), events)


def test_a_score_method_or_a_bare_estimator_is_refused(events) -> None:
    with pytest.raises(InputError, match="histogram of t_hat"):
        summary_scans(trained(Transformed(events), "sally"), events, MU_TRUES)
    with pytest.raises(InputError, match="TrainedMethod"):
        summary_scans(Transformed(events), events, MU_TRUES)
