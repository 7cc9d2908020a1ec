"""Bad inputs to a trained estimator's evaluation give an InputError that names the argument, not numpy's own."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb import lfi
from hepnb.errors import InputError


@pytest.fixture(scope="module")
def estimator() -> lfi.ParameterizedRatioEstimator:
    return lfi.ParameterizedRatioEstimator(1, "carl", n_hidden=(4,))


@pytest.mark.parametrize(
    ("x", "theta", "match"),
    [
        ([[1.0], [10**400]], 0.5, r"^x has a number too large for float64 at index \(1, 0\)"),
        ([[1.0], [2.0]], [0.5, 10**400], r"^theta has a number too large for float64 at index \(1,\)"),
        ([[1.0], ["GeV"]], 0.5, r"^x must be numeric, got the text 'GeV'"),
        ([[1.0], [np.nan]], 0.5, r"^x has 1 non-finite entries"),
        ([[1.0], [2.0]], [0.5, np.inf], r"^theta has 1 non-finite entries"),
        ([[1.0], [2.0]], [0.5, 0.5, 0.5], r"^theta must be one number or one per event \(2\)"),
        ([1.0, 2.0], 0.5, r"^x must have shape \(n, 1\)"),
    ],
)
def test_log_ratio_refuses_bad_input_by_name(estimator, x, theta, match) -> None:
    with pytest.raises(InputError, match=match):
        estimator.log_ratio(x, theta)


def test_log_ratio_accepts_one_theta_or_one_per_event(estimator) -> None:
    x = np.array([[0.3], [-1.2]])
    one = estimator.log_ratio(x, 0.5)
    per_event = estimator.log_ratio(x, [0.5, 0.5])
    assert one.shape == (2,) and np.array_equal(one, per_event)
    assert not np.array_equal(one, estimator.log_ratio(x, [0.5, 1.5]))


@pytest.mark.parametrize("lumi", ["36.1 fb", None, -1.0, float("nan")])
def test_an_asimov_scan_refuses_a_luminosity_that_is_not_a_positive_number(lumi) -> None:
    from hepnb import offshell

    events = offshell.generate(2_000, seed=1, detector="none", progress=False)
    with pytest.raises(InputError, match=r"^lumi must be a positive luminosity in fb\^-1"):
        lfi.oracle_scan(events, 1.0, lumi=lumi)
