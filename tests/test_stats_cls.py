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
