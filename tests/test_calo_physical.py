"""The physical check of calorimeter-GAN checkpoints (`hepnb.calo.validation.physical`, issue 15 item 3): the tail
test on constructed responses, and the bound on the generated total energy of the shipped double-critic archive at
the epoch the picker chooses among the checkpoints that pass."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hepnb.calo import validation as v
from hepnb.calo.data import ShowerArrays
from hepnb.calo.epoch_metrics import DEFAULT_WEIGHTS
from hepnb.calo.simulate import simulate
from hepnb.errors import InputError
from hepnb.training import EpochArchive
from hepnb.widgets import EpochPicker

ROOT = Path(__file__).resolve().parents[1]


def test_tail_excess_is_the_conditional_binomial_test_of_two_rates() -> None:
    reference = np.full(4000, 0.95)
    reference[:2] = 1.6  # 2 of 4,000 above 1.5
    generated = np.full(12000, 0.95)
    generated[:11] = 1.7  # 11 of 12,000
    result = v.tail_excess(reference, generated)
    # 13 showers above the threshold; under equal rates each is generated with probability 12,000 / 16,000
    assert result["p_value"] == pytest.approx(stats.binom.sf(10, 13, 0.75), rel=1e-12)
    assert (result["n"], result["above"], result["above_reference"]) == (12000, 11, 2)
    assert result["passes"] == (result["p_value"] >= 0.01)
    generated[:30] = 1.7  # 30 of 12,000 against 2 of 4,000: an excess
    assert v.tail_excess(reference, generated)["p_value"] < 0.01
    assert not v.tail_excess(reference, generated)["passes"]
    # no tail at all: p = 1; one shower at 2 x E_true fails the ceiling whatever the counts
    clean = np.full(12000, 0.95)
    assert v.tail_excess(reference, clean) == {
        "n": 12000,
        "above": 0,
        "above_reference": 2,
        "p_value": 1.0,
        "above_ceiling": 0,
        "max": 0.95,
        "passes": True,
    }
    clean[:2] = 2.5  # 2 of 12,000 above 2 x E_true: more than 1e-4
    assert not v.tail_excess(reference, clean)["passes"]
    assert v.tail_excess(reference, clean, ceiling=3.0)["passes"]
    assert v.tail_excess(reference, clean, ceiling_rate=2e-4)["passes"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 2.0, "ceiling": 1.5}, "threshold"),
        ({"alpha": 0.0}, "alpha"),
        ({"ceiling_rate": 1.0}, "ceiling_rate"),
        ({"generated_response": np.array([])}, "need showers"),
        ({"reference_response": np.array([1.0, np.nan])}, "reference_response"),
    ],
)
def test_tail_excess_refuses_bad_input(kwargs: dict, message: str) -> None:
    arguments = {"reference_response": np.ones(10), "generated_response": np.ones(10)} | kwargs
    with pytest.raises(InputError, match=message):
        v.tail_excess(**arguments)


@pytest.fixture(scope="module")
def shipped_double() -> EpochArchive:
    return EpochArchive(ROOT / "data" / "calo" / "double")


def one_gev(n: int, seed: int) -> ShowerArrays:
    return v.as_shower_arrays(simulate(n, [1024.0], seed=seed, progress=False))


@pytest.fixture(scope="module")
def checked(shipped_double: EpochArchive) -> pd.DataFrame:
    """The check as notebook 01 runs it (50,000 showers at 1 GeV), from another seed."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found keys that are in the model state dict")
        return v.physical_checkpoints(shipped_double, seed=31)


def test_physical_checkpoints_veto_the_shipped_archives_overshooting_epochs(
    shipped_double: EpochArchive, checked: pd.DataFrame
) -> None:
    assert checked.index.tolist() == shipped_double.epochs
    assert (checked["n"] == 50_000).all()
    passing = checked.index[checked["passes"]].tolist()
    # the checkpoint the unrestricted rule picks (650) and the one that swings widest (850: up to 33 x E_true)
    assert 650 not in passing and 850 not in passing
    assert 0 < len(passing) < len(checked), checked
    assert (checked.loc[passing, "above_ceiling"] <= 5).all()


def test_the_picked_physical_checkpoint_bounds_the_generated_total_energy(
    shipped_double: EpochArchive, checked: pd.DataFrame
) -> None:
    """The epoch chosen among the checkpoints that pass keeps its showers within a bound on independent showers;
    the unrestricted rule's epoch (650) does not: the test fails if the veto is removed."""
    passing = checked.index[checked["passes"]].tolist()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found keys that are in the model state dict")
        picked = EpochPicker(shipped_double, weights=DEFAULT_WEIGHTS, candidates=passing).epoch
        unrestricted = EpochPicker(shipped_double, weights=DEFAULT_WEIGHTS).epoch
        fresh = one_gev(5000, seed=32)
        many = fresh.subset(np.tile(np.arange(len(fresh)), 10))
        responses = {
            epoch: v.generate_like(shipped_double.load(epoch), many, seed=6).sum(axis=1) / many.energy
            for epoch in (picked, unrestricted)
        }
    assert unrestricted == 650 and picked != 650
    # epoch 650 on 49,560 epoch-picking showers: 1.5e-3 above 1.5 x E_true and 5.4e-4 above 2
    for epoch, bounded in ((picked, True), (unrestricted, False)):
        above, above_ceiling = float(np.mean(responses[epoch] > 1.5)), float(np.mean(responses[epoch] > 2.0))
        assert (above < 6e-4 and above_ceiling < 2e-4) == bounded, (epoch, above, above_ceiling)


def test_physical_checkpoints_refuse_bad_input(shipped_double: EpochArchive, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="n_showers"):
        v.physical_checkpoints(shipped_double, seed=1, n_showers=10)
    with pytest.raises(InputError, match="EpochArchive"):
        v.physical_checkpoints(str(ROOT), seed=1)
    with pytest.raises(InputError, match="no checkpoint"):
        v.physical_checkpoints(EpochArchive(tmp_path / "empty"), seed=1)
    with pytest.raises(InputError, match=r"archives\['b'\] must be an EpochArchive"):
        v.physical_checkpoints({"a": shipped_double, "b": str(ROOT)}, seed=1)
    with pytest.raises(InputError, match="empty mapping"):
        v.physical_checkpoints({}, seed=1)


def test_several_archives_are_checked_on_the_same_simulated_showers(
    shipped_double: EpochArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hepnb.calo.simulate

    calls = []

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return simulate(*args, **kwargs)

    monkeypatch.setattr(hepnb.calo.simulate, "simulate", counted)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found keys that are in the model state dict")
        one = v.physical_checkpoints(shipped_double, seed=33, n_showers=2000)
        both = v.physical_checkpoints({"a": shipped_double, "b": shipped_double}, seed=33, n_showers=2000)
    assert len(calls) == 2  # once per call, not once per archive
    assert both.index.names == ["model", "epoch"]
    pd.testing.assert_frame_equal(both.loc["a"], one)
    pd.testing.assert_frame_equal(both.loc["b"], one)
