"""Bad input to the simulators and to CaloGAN.generate: clear InputErrors, bounded memory, the w >= 0 invariant."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hepnb import offshell as osh
from hepnb.calo import simulate as calo_sim
from hepnb.calo import validation
from hepnb.calo.data import Preprocessing, ShowerArrays
from hepnb.errors import InputError
from hepnb.offshell import events as offshell_events

NAN, INF = float("nan"), float("inf")
MUS = np.array([0.0, 1e-4, 0.01, 0.5, 1.0, 4.0, 9.0, 100.0, 1e4])


# ---------------------------------------------------------------------------------------------------------------
# offshell model knobs
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("process", "knobs", "message"),
    [
        ("vbf", {"rho0": NAN}, "rho0"),
        ("vbf", {"rho0": 3.0}, "rho0"),
        ("vbf", {"rho0": -0.1}, "rho0"),
        ("vbf", {"norm_ll": -1.0}, "norm_ll"),
        ("vbf", {"norm_tt": INF}, "norm_tt"),
        ("vbf", {"m4l_min": 3000.0, "m4l_max": 2000.0}, "m4l_min < m4l_max"),
        ("vbf", {"m4l_min": 150.0}, "m4l_min"),
        ("vbf", {"m4l_max": 7000.0}, "m4l_max"),
        ("vbf", {"lambda_rho": 0.0}, "lambda_rho"),
        ("vbf", {"jet_form_factor": NAN}, "jet_form_factor"),
        ("vbf", {"w_fraction": 1.5}, "w_fraction"),
        ("vbf", {"pdf_power": -1.0}, "pdf_power"),
        ("vbf", {"lumi_slope": -0.01}, "lumi_slope"),
        ("vbf", {"y_sigma": 0.0}, "y_sigma"),
        ("vbf", {"radiation_pt_index": 1.0}, "radiation_pt_index"),
        ("vbf", {"channel_probs": (0.0, 0.0, 0.0, 0.0)}, "positive sum"),
        ("vbf", {"channel_probs": (-0.5, 0.5, 0.5, 0.5)}, "channel_probs"),
        ("vbf", {"channel_probs": (0.5, 0.5)}, "four numbers"),
        ("vbf", {"proposal_power": (1.0, 3.5, 3.5, 3.5)}, "must not be 1"),
        ("vbf", {"y_sigma": "wide"}, "numeric"),
        ("qqzz", {"norm": -0.3}, "norm"),
        ("qqzz", {"angular": "s-channel"}, "angular"),
        ("ggzz", {"gluon_fraction": NAN}, "gluon_fraction"),
        ("ggzz", {"proposal_power": 1.0}, "must not be 1"),
        ("ggzz", {"radiation_mean": -1.0}, "radiation_mean"),
    ],
)
def test_model_knobs_are_validated(process: str, knobs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        osh.generate(1000, seed=1, process=process, model=knobs, progress=False)


def test_model_dataclasses_validate_on_construction() -> None:
    with pytest.raises(InputError, match="rho0"):
        osh.VBFModel(rho0=NAN)
    with pytest.raises(InputError, match="norm"):
        osh.BackgroundModel(
            norm=-1.0,
            lumi_power=6.0,
            lumi_slope=0.004,
            angular="t-channel",
            y_sigma=1.0,
            radiation_mean=1.7,
            radiation_pt_min=20.0,
            radiation_pt_index=2.8,
            radiation_eta_sigma=1.8,
            gluon_fraction=0.5,
        )


# accepted corners of the knob ranges: the documented invariant mu w_S + sqrt(mu) w_I + w_B >= 0 must hold for each
ACCEPTED_MODELS = [
    {"rho0": 1.0, "lambda_rho": 5000.0},
    {"rho0": 0.0},
    {"rho0": 0.5, "w_fraction": 0.0, "pdf_power": 0.0},
    {"norm_ll": 0.0, "norm_lt": 0.0},
    {"norm_tt": 0.0, "w_fraction": 1.0, "lumi_power": 0.0, "lumi_slope": 0.0},
    {"channel_probs": (0.7, 0.0, 0.0, 0.3), "m4l_min": 200.0, "m4l_max": 5000.0},
]


@pytest.mark.parametrize("knobs", ACCEPTED_MODELS)
def test_every_accepted_vbf_model_keeps_non_negative_weights(knobs: dict) -> None:
    events = osh.generate(20_000, seed=3, detector="none", preset=None, model=knobs, progress=False)
    w_s, w_i, w_b = events.components()
    weights = events.weight(MUS)
    assert np.all(np.isfinite(weights))
    assert np.all(weights >= -1e-12 * (np.abs(w_s) + np.abs(w_i) + np.abs(w_b)))
    assert np.all(w_s >= 0) and np.all(w_b >= 0)


def test_channel_probabilities_are_normalised_and_zero_switches_a_channel_off() -> None:
    default = osh.generate(20_000, seed=4, progress=False)
    scaled = osh.generate(20_000, seed=4, model={"channel_probs": (1.0, 1.0, 1.0, 1.0)}, progress=False)
    assert scaled.yields == default.yields  # (1, 1, 1, 1) is (0.25, 0.25, 0.25, 0.25): same events and weights
    no_higgs = osh.generate(
        20_000, seed=4, detector="none", preset=None, model={"channel_probs": (0.0, 1.0, 1.0, 0.0)}, progress=False
    )  # the Higgs is produced by V_L V_L and V_T V_T only
    assert np.all(np.isin(np.asarray(no_higgs.z.channel), (1, 2)))
    assert no_higgs.yields["S"] == 0.0 and no_higgs.yields["I"] == 0.0 and no_higgs.yields["B"] > 0


@pytest.mark.parametrize("pocket", [(NAN, NAN), (80.0, INF), (80.0,), (-1.0, 2.0), ("a", "b"), 5.0])
def test_negative_pocket_is_validated(pocket: object) -> None:
    with pytest.raises(InputError, match="negative_pocket"):
        osh.generate(1000, seed=1, process="qqzz", negative_pocket=pocket, progress=False)


# ---------------------------------------------------------------------------------------------------------------
# unweighted: accept-reject chunk by chunk
# ---------------------------------------------------------------------------------------------------------------
def test_unweighted_is_accept_reject_over_the_generated_chunks() -> None:
    mu, n, seed = 4.0, 2000, 6
    sample = osh.unweighted(mu, n, seed, progress=False)
    n_generated = sample.meta["n_generated"]
    assert len(sample) == n and sample.meta["kind"] == "unweighted" and sample.meta["mu"] == mu
    assert n_generated % 50_000 == 0 and n_generated >= 100_000  # several chunks: the envelope grows on the way
    # the same events, accept-rejected in one go with the largest weight of the whole generated pool
    pool = osh.generate(n_generated, seed, progress=False)
    w = pool.weight(mu)
    event = np.asarray(pool.array["event"])
    chunk = event // 50_000
    u = np.concatenate(
        [
            np.random.default_rng(np.random.SeedSequence([seed, 7919, c])).random(np.sum(chunk == c))
            for c in range(n_generated // 50_000)
        ]
    )
    accepted = np.flatnonzero(u * w.max() < w)
    np.testing.assert_array_equal(np.asarray(sample.array["event"]), event[accepted[:n]])
    assert np.sum(chunk[accepted] < chunk[accepted[n - 1]]) < n  # it stopped at the first chunk that gave n
    # each event weighs sigma(mu)/n at mu, sigma from every generated event, and still reweights to other mu
    np.testing.assert_allclose(sample.weight(mu), pool.expected(mu) / n, rtol=1e-12)
    kept = pool[accepted[:n]]
    np.testing.assert_allclose(sample.weight(0.0) / sample.weight(mu), kept.weight(0.0) / kept.weight(mu), rtol=1e-12)


def test_unweighted_never_holds_more_events_than_it_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    built, chunks = [], []
    to_awkward, generate_chunk = offshell_events._to_awkward, offshell_events.generate_chunk

    def recording_to_awkward(cols: dict) -> object:
        built.append(len(cols["event"]))
        return to_awkward(cols)

    def recording_chunk(config, seed, chunk, n_chunk, n_total):  # noqa: ANN001, ANN202
        chunks.append(n_chunk)
        return generate_chunk(config, seed, chunk, n_chunk, n_total)

    monkeypatch.setattr(offshell_events, "_to_awkward", recording_to_awkward)
    monkeypatch.setattr(offshell_events, "generate_chunk", recording_chunk)
    sample = osh.unweighted(9.0, 300, seed=2, progress=False)
    assert built == [300]  # no event array of the whole generated pool (1.8 GiB at n = 20,000 before)
    assert max(chunks) <= 50_000 and sum(chunks) == sample.meta["n_generated"]


def test_unweighted_cap_counts_generated_events() -> None:
    with pytest.raises(InputError, match=r"after generating 100,000 events \(max_generated\)") as info:
        osh.unweighted(9.0, 2000, seed=2, max_generated=100_000, progress=False)
    message = str(info.value)
    accepted = int(re.search(r"only (\d+) of the n=2000", message).group(1))
    needed = int(re.search(r"about ([\d,]+) generated events", message).group(1).replace(",", ""))
    assert 0 < accepted < 2000
    assert needed == pytest.approx(1.1 * 2000 / accepted * 100_000, rel=0.3)  # the acceptance per generated event


def test_unweighted_cap_message_counts_generated_events_not_selected_ones() -> None:
    mu, n, seed, cap = 9.0, 2000, 2, 3_000  # a cap below one chunk: one chunk of exactly `cap` generated events
    pool = osh.generate(cap, seed, progress=False)  # the same events, weighted (generate(n) counts before the cut)
    assert pool.meta["n_generated"] == cap and 0 < len(pool) < cap  # the preselection keeps a fraction
    with pytest.raises(InputError, match="max_generated") as info:
        osh.unweighted(mu, n, seed, max_generated=cap, progress=False)
    message = str(info.value)
    assert re.search(r"after generating ([\d,]+) events", message).group(1) == f"{cap:,}"  # not len(pool)
    accepted = int(re.search(r"only (\d+) of the n=2000", message).group(1))
    assert accepted <= len(pool)
    # the acceptance and the estimate are per generated event: sum(w)/max(w) expected accepted events of `cap`
    w = pool.weight(mu)
    rate = w.sum() / w.max() / cap
    quoted = float(re.search(r"at this acceptance \(([^ ]+) per generated event", message).group(1))
    assert quoted == pytest.approx(rate, rel=5e-3)
    needed = int(re.search(r"about ([\d,]+) generated events", message).group(1).replace(",", ""))
    assert needed == pytest.approx(np.ceil(1.1 * n / rate), abs=1)
    assert needed > 1.1 * n * cap / len(pool)  # more than it takes to generate n *selected* events (x 1.1)


def test_unweight_of_a_source_counts_generated_events() -> None:
    pool = osh.generate(50_000, seed=5, progress=False)
    with pytest.raises(InputError, match=r"fewer than the n=.*holds 50,000 generated events"):
        osh.unweighted(1.0, 10 * len(pool), seed=5, source=pool)


@pytest.mark.parametrize(
    "arguments",
    [
        {"max_generated": 0},
        {"max_generated": 2.5},
        {"max_generated": True},
        {"seed": -1},
        {"seed": 1.5},
        {"mu": NAN},
        {"n": 0},
        {"n": True},
    ],
)
def test_unweighted_arguments(arguments: dict) -> None:
    call = {"mu": 1.0, "n": 10, "seed": 1, **arguments}
    with pytest.raises(InputError):
        osh.unweighted(call.pop("mu"), call.pop("n"), call.pop("seed"), progress=False, **call)


# ---------------------------------------------------------------------------------------------------------------
# offshell parquet files
# ---------------------------------------------------------------------------------------------------------------
def test_read_parquet_refuses_damaged_files(tmp_path) -> None:
    good = osh.write_parquet(osh.generate(5000, seed=1, progress=False), tmp_path / "good.parquet")
    data = good.read_bytes()
    zeroed = bytearray(data)
    zeroed[len(data) // 2 : len(data) // 2 + 256] = bytes(256)
    damaged = {
        "truncated": data[: len(data) // 2],
        "zeroed": bytes(zeroed),
        "text": b"event,w_S\n1,0.5\n",
        "empty": b"",
    }
    for name, content in damaged.items():
        path = tmp_path / f"{name}.parquet"
        path.write_bytes(content)
        with pytest.raises(InputError, match=re.escape(str(path))):
            osh.read_parquet(path)
    assert len(osh.read_parquet(good)) > 0
    # wherever 256 bytes are zeroed, the page checksums (or the format itself) refuse the file: without checksums a
    # fifth of these positions read back as other numbers without an error
    for offset in range(0, len(data) - 256, len(data) // 40):
        zeroed = bytearray(data)
        zeroed[offset : offset + 256] = bytes(256)
        path = tmp_path / "zeroed.parquet"
        path.write_bytes(bytes(zeroed))
        with pytest.raises(InputError, match="not a readable parquet file|metadata"):
            osh.read_parquet(path)


# ---------------------------------------------------------------------------------------------------------------
# calorimeter simulator
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"stochastic": NAN}, "stochastic"),
        ({"stochastic": -0.1}, "stochastic"),
        ({"max_spots": NAN}, "max_spots"),
        ({"max_spots": 2.5}, "max_spots"),
        ({"max_spots": 10**6}, "max_spots"),
        ({"moliere_mm": INF}, "moliere_mm"),
        ({"max_radius_mm": NAN}, "max_radius_mm"),
        ({"max_radius_mm": 0.0}, r"max_radius_mm must be finite and > 0 \(or None: no cutoff\)"),
        ({"max_radius_mm": INF}, "max_radius_mm"),
        ({"zero_below_mev": NAN}, "zero_below_mev"),
        ({"presampler_x0": (NAN, 2.5)}, "presampler_x0"),
        ({"presampler_x0": (2.0,)}, "presampler_x0"),
        ({"min_alpha": 0.5}, "min_alpha"),
    ],
)
def test_shower_model_fields_are_finite_and_in_range(knobs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        calo_sim.ShowerModel(**knobs)


def test_simulate_refuses_bad_negative_cells_and_absurd_energies() -> None:
    with pytest.raises(InputError, match="negative_cell_mev"):
        calo_sim.simulate(2, [65536.0], negative_cell_rate=0.1, negative_cell_mev=-5.0)
    with pytest.raises(InputError, match="negative_cell_mev"):
        calo_sim.simulate(2, [65536.0], negative_cell_mev=NAN)
    for energy in (1e30, 2e7):
        with pytest.raises(InputError, match="10 TeV"):
            calo_sim.simulate(2, [energy])
    top = calo_sim.simulate(1, [calo_sim.MAX_ENERGY_MEV], progress=False)
    assert 0.9 < top.cells.sum() / calo_sim.MAX_ENERGY_MEV < 1.0


# ---------------------------------------------------------------------------------------------------------------
# CaloGAN.generate: energies outside the trained range, seeds
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    from hepnb.training import EpochArchive

    return EpochArchive(Path(__file__).resolve().parents[1] / "data" / "calo" / "double").load(650)  # notebook 01's


def test_trained_energy_range_closes_on_a_log_uniform_sample() -> None:
    n = 100_000
    energy = np.exp(np.random.default_rng(0).uniform(np.log(2.0), np.log(200.0), n))  # GeV
    showers = ShowerArrays(np.zeros((n, 266)), energy, np.zeros(n, int), np.zeros(n, int), np.zeros(n), np.zeros(n))
    lo, hi = Preprocessing.fit(showers).trained_energy_range()
    assert lo == pytest.approx(2.0, rel=0.02) and hi == pytest.approx(200.0, rel=0.02)


def test_generate_refuses_energies_outside_the_trained_range(shipped) -> None:
    lo, hi = shipped.preprocessing.trained_energy_range()
    assert shipped.preprocessing.energy_unit == "MeV" and lo < 1024.0 and 262144.0 < hi < 524288.0
    with pytest.raises(InputError, match="energies are in MeV: 65.536 looks like GeV"):
        shipped.generate(65.536, 0, 0, 0.0, 0.0)  # GeV passed to a MeV model: response 58 before
    with pytest.raises(InputError, match="energies are in MeV: 100 looks like GeV"):
        shipped.generate(100.0, 0, 0, 0.0, 0.0)
    with pytest.raises(InputError, match=r"1 of 3 energies.*extrapolate=True"):
        shipped.generate([1024.0, 524288.0, 65536.0], 0, 0, 0.0, 0.0)  # 2x the highest training energy
    with pytest.raises(InputError, match="extrapolate=True"):
        shipped.generate(1e300, 0, 0, 0.0, 0.0)
    inside = shipped.generate([1024.0, 25000.0, 262144.0], 0, 0, 0.0, 0.0, seed=1)  # trained and interpolated
    assert inside.shape == (3, 266) and np.all(np.isfinite(inside))
    outside = shipped.generate(524288.0, 0, 0, 0.0, 0.0, seed=1, extrapolate=True)
    assert 0.8 < outside.sum() / 524288.0 < 1.2


def test_generate_hints_at_mev_for_a_gev_model() -> None:
    from hepnb.calo.gan import CaloGAN

    model = CaloGAN(preprocessing=Preprocessing.thesis_default(energy_unit="GeV", cell_unit="MeV").to_dict())
    with pytest.raises(InputError, match="energies are in GeV: 65536 looks like MeV"):
        model.generate(65536.0, 0, 0, 0.0, 0.0)
    assert model.generate(65.536, 0, 0, 0.0, 0.0).shape == (1, 266)


@pytest.mark.parametrize(
    "arguments", [{"seed": -1}, {"seed": 1.5}, {"seed": True}, {"batch_size": 0}, {"batch_size": 2.5}]
)
def test_generate_seed_and_batch_size(shipped, arguments: dict) -> None:
    with pytest.raises(InputError, match=next(iter(arguments))):
        shipped.generate(65536.0, 0, 0, 0.0, 0.0, **arguments)


@pytest.mark.filterwarnings("ignore:.*outside the binning")  # 40 showers: a few generated ones fall outside
def test_the_extrapolation_point_of_notebook_01_passes_the_opt_in(shipped) -> None:
    showers = validation.as_shower_arrays(calo_sim.extrapolation_dataset(40, progress=False))
    with pytest.raises(InputError, match="extrapolate=True"):
        validation.generate_like(shipped, showers, seed=1)
    result = validation.evaluate_energy_point({"double": shipped}, showers, seed=1, n_bins=10)
    assert result.energy_mev == calo_sim.EXTRAPOLATION_ENERGY_MEV
