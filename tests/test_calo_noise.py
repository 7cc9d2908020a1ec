"""Noise and a cell threshold applied to reference and generated showers (`hepnb.calo.validation.noise`), and the
breakdown of the overshooting showers (`validation.overshoot_breakdown`), issue 15 items 3 and 5."""

from __future__ import annotations

import numpy as np
import pytest

from hepnb.calo import validation as v
from hepnb.calo.data import ShowerArrays
from hepnb.calo.geometry import LAYERS, MIDDLE, PRESAMPLER, STRIPS
from hepnb.calo.simulate import DEFAULT_NOISE_MEV, simulate
from hepnb.errors import InputError


def test_digitise_keeps_only_cells_above_their_layers_threshold_with_the_layers_noise() -> None:
    n = 4000
    cells = np.zeros((n, 266))
    cells[:, PRESAMPLER.slice.start] = 1000.0  # 40 sigma: always kept
    cells[:, STRIPS.slice.start] = 1.0  # a sigmoid-like floor of 1 MeV: 0.1 sigma, almost never kept
    out = v.digitise(cells, seed=3)
    assert out.dtype == np.float64 and out.shape == cells.shape
    assert (out >= 0).all()
    kept = out[:, PRESAMPLER.slice.start] - 1000.0
    sigma = DEFAULT_NOISE_MEV["presampler"]
    assert abs(kept.mean()) < 4 * sigma / np.sqrt(n)
    assert kept.std() == pytest.approx(sigma, rel=0.05)
    # every other cell: noise alone passes 4 sigma with probability 3.2e-5 (one-sided)
    others = np.delete(out, PRESAMPLER.slice.start, axis=1)
    assert np.count_nonzero(others) < 3.2e-5 * others.size * 2 + 10
    thresholds = {layer.name: 4 * DEFAULT_NOISE_MEV[layer.name] for layer in LAYERS}
    for layer in LAYERS:
        values = out[:, layer.slice]
        assert ((values == 0) | (values > thresholds[layer.name])).all()


def test_digitise_is_seeded_and_a_layer_without_noise_keeps_its_positive_cells() -> None:
    cells = np.abs(np.random.default_rng(1).normal(50.0, 30.0, size=(20, 266)))
    assert np.array_equal(v.digitise(cells, seed=5), v.digitise(cells, seed=5))
    assert not np.array_equal(v.digitise(cells, seed=5), v.digitise(cells, seed=6))
    quiet = v.digitise(cells, seed=5, sigma_mev={"middle": 0.0}, threshold_sigma=4.0)
    assert np.array_equal(quiet[:, MIDDLE.slice], cells[:, MIDDLE.slice])  # float64 throughout: no rounding
    # a lower threshold keeps more cells
    low = v.digitise(cells, seed=5, threshold_sigma=1.0)
    assert np.count_nonzero(low) > np.count_nonzero(v.digitise(cells, seed=5))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cells": np.zeros((2, 265))}, "shape"),
        ({"threshold_sigma": -1.0}, "threshold_sigma"),
        ({"sigma_mev": {"strip": 10.0}}, "unknown layers"),
        ({"sigma_mev": {"strips": -1.0}}, ">= 0"),
    ],
)
def test_digitise_refuses_bad_input(kwargs: dict, message: str) -> None:
    arguments = {"cells": np.zeros((2, 266)), "seed": 1} | kwargs
    with pytest.raises(InputError, match=message):
        v.digitise(**arguments)


@pytest.fixture(scope="module")
def showers() -> ShowerArrays:
    return v.as_shower_arrays(simulate(600, [65536.0], seed=4, progress=False))


def test_noisy_comparison_cannot_tell_a_sample_from_itself_and_sees_a_wider_one(showers: ShowerArrays) -> None:
    response = showers.cells.sum(axis=1) / showers.energy
    mean = response.mean()
    # the same showers with every response pushed twice as far from the mean: twice the width
    wider = showers.cells * ((2 * response - mean) / response)[:, None]
    table = v.noisy_comparison(showers, {"same": showers.cells, "wider": wider}, seed=2, max_iter=50, n_threads=1)
    assert list(table.index) == ["Reference, half vs half", "same", "wider"]
    same = table.loc["same"]
    # independent noise on identical showers: an AUC of 0.5 within its error, a resolution ratio of 1
    assert abs(same["AUC (all variables)"] - 0.5) < 4 * same["AUC error (all variables)"] + 0.02
    assert same["resolution ratio"] == pytest.approx(1.0, abs=4 * same["resolution ratio error"])
    # the noise (about 0.1 GeV over a 65 GeV shower) barely adds to a 1.4% width: the ratio stays near 2
    assert table.loc["wider", "resolution ratio"] == pytest.approx(2.0, rel=0.05)
    assert table.loc["wider", "AUC (epoch-picking observables)"] > 0.6
    assert np.isnan(table.loc["Reference, half vs half", "resolution ratio"])


def test_noisy_comparison_refuses_mismatched_samples(showers: ShowerArrays) -> None:
    with pytest.raises(InputError, match="shape"):
        v.noisy_comparison(showers, {"GAN": showers.cells[:10]}, seed=1)
    with pytest.raises(InputError, match="at least one"):
        v.noisy_comparison(showers, {}, seed=1)
    with pytest.raises(InputError, match="ShowerArrays"):
        v.noisy_comparison(showers.cells, {"GAN": showers.cells}, seed=1)


def test_overshoot_breakdown_finds_the_layer_and_the_alignment_of_the_excess() -> None:
    n = 400
    cells = np.zeros((n, 266))
    cells[:, MIDDLE.slice.start + 24] = 900.0  # the middle cell: response 0.9
    p = np.arange(n) % 4
    generated = cells.copy()
    overshooting = (p == 3) & (np.arange(n) % 8 == 3)  # half of the p = 3 showers
    generated[overshooting, STRIPS.slice.start : STRIPS.slice.start + 10] = 50.0  # +0.5 x E_true in the strips
    generated[:, STRIPS.slice][generated[:, STRIPS.slice] == 0] = 0.001  # a floor of small cells
    showers = ShowerArrays.from_arrays(cells, np.full(n, 1000.0), p, np.zeros(n), np.zeros(n), np.zeros(n))
    table = v.overshoot_breakdown(showers, {"Reference": cells, "GAN": generated})
    gan, reference = table.loc["GAN"], table.loc["Reference"]
    assert reference["above"] == 0 and np.isnan(reference["strips, above"])
    assert gan["above"] == overshooting.sum() == 50
    assert gan["strips, above"] == pytest.approx(0.5 + 158 * 1e-6)
    assert gan["middle, above"] == pytest.approx(0.9)
    assert gan[["fraction above, p=0", "fraction above, p=1", "fraction above, p=2"]].tolist() == [0.0, 0.0, 0.0]
    assert gan["fraction above, p=3"] == pytest.approx(0.5)
    assert gan["small cells"] == pytest.approx(168e-6 - 10e-6 * overshooting.mean(), rel=1e-9)
    assert reference["cells > 1e-4"] == 1.0
    # the tail: 50 of 400 showers moved from 0.9 to 1.4 (+ their floor), 0.2 above the threshold; the other 350
    # showers are moved by their floor of 168 strip cells
    assert gan["tail cost"] == pytest.approx(50 / 400 * (0.2 + 158e-6), rel=1e-9)
    assert gan["W1 to reference"] == pytest.approx((350 * 168e-6 + 50 * (0.5 + 158e-6)) / 400, rel=1e-9)
    assert reference["W1 to reference"] == 0.0 and reference["tail cost"] == 0.0


def test_overshoot_breakdown_refuses_bad_input() -> None:
    cells = np.ones((4, 266))
    showers = ShowerArrays.from_arrays(cells, [1000.0] * 4, [0] * 4, [0] * 4, [0.0] * 4, [0.0] * 4)
    with pytest.raises(InputError, match="no showers at"):
        v.overshoot_breakdown(showers, {"Reference": cells}, energy_mev=2048.0)
    with pytest.raises(InputError, match="shape"):
        v.overshoot_breakdown(showers, {"Reference": cells, "GAN": cells[:2]})
    with pytest.raises(InputError, match="threshold"):
        v.overshoot_breakdown(showers, {"Reference": cells}, threshold=-1.0)
    with pytest.raises(InputError, match="no reference sample"):
        v.overshoot_breakdown(showers, {"GAN": cells}, reference="Geant4")
