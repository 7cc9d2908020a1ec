"""Validation of the calorimeter GAN: the regenerated reference, comparisons, response/resolution, speed."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hepnb.calo import shower_shapes  # noqa: E402
from hepnb.calo import validation as v  # noqa: E402
from hepnb.calo.data import CaloDataModule, Preprocessing, ShowerArrays  # noqa: E402
from hepnb.calo.gan import CaloGAN  # noqa: E402
from hepnb.calo.geometry import GEOMETRY, LAYERS  # noqa: E402
from hepnb.calo.simulate import simulate, standard_dataset  # noqa: E402
from hepnb.errors import InputError  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_single_thread")  # expectations measured on one thread


@pytest.fixture(scope="module")
def showers() -> ShowerArrays:
    return v.as_shower_arrays(simulate([300, 300], [8192.0, 65536.0], seed=3))


@pytest.fixture(scope="module")
def variables(showers: ShowerArrays) -> pd.DataFrame:
    return v.shower_variables(showers.cells, showers)


def small_gan(energy_unit: str = "MeV", cell_unit: str = "MeV") -> CaloGAN:
    prep = Preprocessing.thesis_default(energy_unit=energy_unit, cell_unit=cell_unit).to_dict()
    return CaloGAN(preprocessing=prep, seed=0, output_bias=float(np.log(0.004 / 0.996)))


# ------------------------------------------------------------------------------------------------ reference


def test_training_reference_is_the_data_modules_reference_half(tmp_path: Path) -> None:
    s = standard_dataset(0.02, seed=4)
    module = CaloDataModule(
        s.cells, s.energy, s.p, s.e, s.delta_eta, s.delta_phi, seed=4, energy_unit="MeV", cell_unit="MeV"
    )
    cache = tmp_path / "reference.npz"
    reference = v.training_reference(0.02, 4, cache=cache)
    for name in ("cells", "energy", "p", "e", "deta", "dphi"):
        np.testing.assert_array_equal(getattr(reference, name), getattr(module.reference, name))
    assert cache.is_file()
    cached = v.training_reference(0.02, 4, cache=cache)
    np.testing.assert_array_equal(cached.cells, reference.cells)
    other = v.training_reference(0.02, 5, cache=cache)  # another seed: the cache is not reused
    assert not np.array_equal(other.energy, reference.energy) or not np.array_equal(other.cells, reference.cells)
    subset = v.training_reference(0.02, 4, per_energy=30, cache=cache)
    counts = pd.Series(subset.energy).value_counts()
    assert counts.max() == 30 and len(counts) == 9
    rows = {tuple(r) for r in reference.cells[:, :40]}
    assert all(tuple(r) in rows for r in subset.cells[:, :40])
    with pytest.raises(InputError, match="per_energy"):
        v.training_reference(0.02, 4, per_energy=0)
    cache.write_bytes(b"damaged")
    np.testing.assert_array_equal(v.training_reference(0.02, 4, cache=cache).cells, reference.cells)


def test_check_archive(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="hepnb train calo --output"):
        v.check_archive(tmp_path / "missing", fraction=1.0, seed=1)
    (tmp_path / "index.json").write_text("{}")
    assert "assuming fraction 1 and seed 1" in v.check_archive(tmp_path, fraction=1.0, seed=1)
    record = {
        "config": {"fraction": 0.5, "seed": 1, "double_critic": False},
        "epochs_done": 3,
        "training_showers": 100,
        "wall_seconds": 7200,
        "hardware": {"cpu": "x86_64"},
        "command": "hepnb ...",
    }
    (tmp_path / "training.json").write_text(json.dumps(record))
    assert "single critic, 3 epochs" in v.check_archive(tmp_path, fraction=0.5, seed=1)
    with pytest.raises(InputError, match="trained with fraction 0.5 and seed 1, not 1 and 1: set the data"):
        v.check_archive(tmp_path, fraction=1.0, seed=1)
    # an archive validated on other samples only (notebook 01's other trainings): any fraction, its own seed
    assert "single critic, 3 epochs" in v.check_archive(tmp_path, fraction=None, seed=1)
    with pytest.raises(InputError, match="not seed 2: give the seed it was trained with"):
        v.check_archive(tmp_path, fraction=None, seed=2)
    (tmp_path / "training.json").unlink()
    assert "assuming any fraction and seed 2" in v.check_archive(tmp_path, fraction=None, seed=2)
    with pytest.raises(InputError, match="--seed 2 --fraction 1` .*or leave it out of SEED_ARCHIVES"):
        v.check_archive(tmp_path / "missing", fraction=None, seed=2)


def test_generate_like_returns_mev_whatever_the_models_units(showers: ShowerArrays) -> None:
    mev = v.generate_like(small_gan("MeV", "MeV"), showers, seed=2)
    gev = v.generate_like(small_gan("GeV", "GeV"), showers, seed=2)
    assert mev.shape == showers.cells.shape
    np.testing.assert_allclose(gev, mev, rtol=1e-6)
    response = mev.sum(axis=1) / showers.energy
    assert np.median(response) == pytest.approx(266 * 0.004, rel=2e-3)  # 266 cells starting at 0.4 % of E_true each
    np.testing.assert_array_equal(v.generate_like(small_gan(), showers, seed=2), mev)
    with pytest.raises(InputError, match="CaloGAN"):
        v.generate_like(object(), showers, seed=0)


# ------------------------------------------------------------------------------------------------ variables


def test_shower_variables_are_compute_all_without_aliases(showers: ShowerArrays, variables: pd.DataFrame) -> None:
    expected = shower_shapes.compute_all(
        showers.cells, showers.p, showers.e, showers.deta, showers.dphi, showers.energy
    )
    assert set(variables.columns) == set(expected) - {"f1", "f3"}
    for name in variables.columns:
        np.testing.assert_array_equal(variables[name].to_numpy(), expected[name])
    grouped = [name for group in v.VARIABLE_GROUPS.values() for name in group]
    assert sorted(grouped) == sorted(variables.columns)  # every variable is in exactly one plot group
    assert all(v.variable_label(name) != name for name in variables.columns)


def test_reference_binning_and_folding() -> None:
    n, lo, hi = v.reference_binning(np.arange(1001.0), 20)
    assert n == 20 and lo == pytest.approx(5 - 99) and hi == pytest.approx(995 + 99)
    assert v.reference_binning(np.ones(10))[1:] == pytest.approx((0.95, 1.05))


def test_identical_samples_have_zero_chi2_and_a_scale_shows_only_in_energies(
    showers: ShowerArrays, variables: pd.DataFrame
) -> None:
    scaled = v.shower_variables(showers.cells * 1.05, showers)
    comparisons = v.VariableComparisons(variables, {"same": variables, "scaled": scaled}, showers.energy, n_bins=30)
    same = comparisons.chi2_table("same")
    assert same.shape == (len(variables.columns), 2)
    assert list(same.columns) == [8.192, 65.536]
    assert np.nanmax(same.to_numpy()) == pytest.approx(0.0, abs=1e-12)
    moved = comparisons.chi2_table("scaled")
    assert (moved.loc["response"] > 5).all()  # a 5 % shift: 1.4 (8 GeV) and 3.6 (65 GeV) resolutions
    assert (moved.loc[["eta_mean_middle", "frac_strips", "reta", "eratio"]].to_numpy() < 1e-9).all()
    # nothing is dropped: out-of-range generated values sit in the edge bins
    c = comparisons.comparison("response", 65536.0)
    assert c.others["scaled"].hist.sum().value == 300
    assert comparisons.summary().loc["same"].max() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InputError, match="name one of"):
        comparisons.chi2_table()
    with pytest.raises(InputError, match="one shower per reference shower"):
        v.VariableComparisons(variables, {"short": variables.iloc[:10]}, showers.energy)
    with pytest.raises(InputError, match="unknown variables"):
        v.VariableComparisons(variables, {"same": variables}, showers.energy, variables=["nope"])
    fig = comparisons.plot(65536.0, ["response", "reta", "eratio"], ncols=2)
    assert len(fig.axes) == 6  # an overlay and a ratio panel per variable
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ response


def test_response_resolution_closure_on_gaussians() -> None:
    rng = np.random.default_rng(0)
    energy = np.repeat([1000.0, 100000.0], 20000)
    sigma = np.where(energy < 5000, 0.10, 0.01)
    response = rng.normal(0.97, sigma)
    table = v.response_resolution(energy, {"Reference": response})
    for e_gev, s in ((1.0, 0.10), (100.0, 0.01)):
        row = table.loc[("Reference", e_gev)]
        assert row["n"] == 20000
        assert row["response"] == pytest.approx(0.97, abs=4 * row["response_error"])
        assert row["width_error"] == pytest.approx(s / np.sqrt(2 * 20000), rel=0.05)  # Gaussian value
        assert row["resolution"] == pytest.approx(s / 0.97, abs=4 * row["resolution_error"])


def test_resolution_errors_describe_the_spread_of_replicas() -> None:
    rng = np.random.default_rng(1)
    values, errors = [], []
    for _ in range(300):
        r = rng.exponential(1.0, 400) + 5.0  # skewed, heavy-ish tail: the fourth-moment error matters
        row = v.response_resolution(np.full(400, 5000.0), {"x": r}).iloc[0]
        values.append(row["resolution"])
        errors.append(row["resolution_error"])
    assert np.mean(errors) == pytest.approx(np.std(values), rel=0.15)


def test_resolution_ratio_of_a_wider_model(showers: ShowerArrays) -> None:
    cells = showers.cells.copy()
    for energy in np.unique(showers.energy):
        at = showers.energy == energy
        total = cells[at].sum(axis=1)
        cells[at] *= ((1.5 * total - 0.5 * total.mean()) / total)[:, None]  # width x 1.5, same mean
    table = v.response_resolution(showers.energy, {"Reference": showers.cells, "wide": cells})
    ratio = v.resolution_ratio(table, "wide", 65.536)
    assert ratio.value == pytest.approx(1.5, rel=1e-6)
    assert ratio.deviation == pytest.approx(0.5, rel=1e-5)
    assert 0 < ratio.error < 0.2
    assert v.resolution_ratio(table, "wide", 65.536, quantity="response").value == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(InputError, match="no energy point"):
        v.resolution_ratio(table, "wide", 25.0)
    with pytest.raises(InputError, match="no sample"):
        v.resolution_ratio(table, "narrow")
    fig = v.plot_response_resolution(table)
    assert len(fig.axes) == 4
    plt.close(fig)


class _SpreadModel:
    """Stands for a checkpoint whose showers are the reference ones with each total moved to 0.9 (m + k (t - m)),
    where t is the reference total and m its mean: 0.9 times the response and 0.9 k times the width, so that the
    generated over reference resolution (width / response) is k exactly."""

    def __init__(self, reference: ShowerArrays, k: float) -> None:
        totals = reference.cells.sum(axis=1)
        mean = totals.mean()
        self.reference, self.k = reference, k
        self.cells = reference.cells * (0.9 * (mean + k * (totals - mean)) / totals)[:, None]
        self.preprocessing = Preprocessing.thesis_default(energy_unit="MeV", cell_unit="MeV")
        self.seeds: list[int] = []

    def generate(self, energy, p, e, deta, dphi, *, seed, batch_size, extrapolate) -> np.ndarray:
        np.testing.assert_array_equal(energy, self.reference.energy)  # the conditions of the reference showers
        np.testing.assert_array_equal(deta, self.reference.deta)
        self.seeds.append(seed)
        return self.cells


class _Archive:
    """The two methods of an EpochArchive that resolution_by_epoch uses, over a dict epoch -> model."""

    def __init__(self, models: dict) -> None:
        self.models = models

    def loadable_epochs(self) -> list[int]:
        return sorted(self.models)

    def load(self, epoch: int):
        return self.models[epoch]


def _relative_resolution_error(totals: np.ndarray) -> float:
    """Large-n error of std/mean over std/mean: var(s) ~ (m4 - m2^2) / (4 n m2), var(mean) = s^2 / n."""
    n, centred = len(totals), totals - totals.mean()
    m2, m4 = np.mean(centred**2), np.mean(centred**4)
    return float(np.hypot(np.sqrt((m4 - m2**2) / (4 * n * m2)) / np.sqrt(m2), np.sqrt(m2 / n) / totals.mean()))


def test_resolution_by_epoch_gives_each_checkpoint_its_own_known_ratio(showers: ShowerArrays) -> None:
    at = showers.energy == 65536.0
    reference = showers.subset(at)
    spreads = {"narrow": {10: 0.5, 20: 1.0}, "wide": {10: 2.0, 30: 3.0}}  # every (label, epoch) its own ratio
    models = {label: {epoch: _SpreadModel(reference, k) for epoch, k in ks.items()} for label, ks in spreads.items()}
    table = v.resolution_by_epoch({label: _Archive(m) for label, m in models.items()}, showers, seed=4)
    expected = {(label, epoch): k for label, ks in spreads.items() for epoch, k in ks.items()}
    assert table.index.names == ["sample", "epoch"] and table.index.tolist() == list(expected)
    np.testing.assert_allclose(table["ratio"], list(expected.values()), rtol=1e-9)
    # the error combines the reference's and the checkpoint's: independent large-n estimate, within 0.5 % at n = 300
    totals = reference.cells.sum(axis=1)
    ref_error = _relative_resolution_error(totals)
    for (label, epoch), k in expected.items():
        model_error = _relative_resolution_error(models[label][epoch].cells.sum(axis=1))
        assert table.loc[(label, epoch), "error"] == pytest.approx(k * np.hypot(ref_error, model_error), rel=0.005)
    assert all(m.seeds == [4] for ms in models.values() for m in ms.values())  # each checkpoint generated once
    # a spread scaled about the mean scales each Delta-eta bin's offset and error alike: the reference's flatness
    flat = v.response_vs_condition(reference.energy, {"ref": reference.cells}, reference.deta, "deta").flatness("ref")
    np.testing.assert_allclose(table["deta_chi2_ndf"], flat["chi2_ndf"], rtol=1e-9)


def test_resolution_by_epoch_of_real_generators_is_the_ratio_of_their_showers(showers: ShowerArrays) -> None:
    archive = _Archive({25: small_gan(), 50: CaloGAN(preprocessing=small_gan().preprocessing.to_dict(), seed=5)})
    table = v.resolution_by_epoch({"gan": archive}, showers, energy_gev=65.536, seed=4)
    assert table.index.tolist() == [("gan", 25), ("gan", 50)]
    at = showers.energy == 65536.0

    def resolution(cells: np.ndarray) -> float:  # std / mean of the response sum / E_true, with numpy alone
        response = cells.sum(axis=1) / 65536.0
        return float(np.std(response, ddof=1) / np.mean(response))

    for epoch in (25, 50):
        generated = archive.load(epoch).generate(
            showers.energy[at], showers.p[at], showers.e[at], showers.deta[at], showers.dphi[at], seed=4
        )
        expected = resolution(generated.astype(float)) / resolution(showers.cells[at])
        assert table.loc[("gan", epoch), "ratio"] == pytest.approx(expected, rel=1e-9)
        response = generated.astype(float).sum(axis=1) / 65536.0
        bins = np.linspace(showers.deta[at].min(), showers.deta[at].max(), 9)
        which = np.clip(np.digitize(showers.deta[at], bins) - 1, 0, 7)
        means = np.array([response[which == b].mean() for b in range(8)])
        errors = np.array([response[which == b].std(ddof=1) / np.sqrt(np.sum(which == b)) for b in range(8)])
        constant = np.sum(means / errors**2) / np.sum(1 / errors**2)
        chi2_ndf = np.sum(((means - constant) / errors) ** 2) / 7  # a constant through 8 bins, with numpy alone
        assert table.loc[("gan", epoch), "deta_chi2_ndf"] == pytest.approx(chi2_ndf, rel=1e-6)
    assert table.loc[("gan", 25), "ratio"] != pytest.approx(table.loc[("gan", 50), "ratio"], rel=1e-3)
    with pytest.raises(InputError, match="no reference showers at 25"):
        v.resolution_by_epoch({"gan": archive}, showers, energy_gev=25.0)
    fig = v.plot_resolution_by_epoch(table, tolerance=0.2, chosen={"gan": 50})
    assert len(fig.axes) == 1
    plt.close(fig)


def test_total_energy_comparison_covers_every_sample(showers: ShowerArrays) -> None:
    comparison = v.total_energy_comparison(showers.energy, {"Reference": showers.cells, "double": showers.cells * 1.2})
    edges = comparison.reference.hist.axes[0].edges
    at = showers.energy == 65536.0
    total_gev = showers.cells[at].sum(axis=1) / 1000
    assert edges[0] < np.quantile(total_gev, 0.005) and edges[-1] > np.quantile(1.2 * total_gev, 0.995)
    assert comparison.others["double"].hist.sum().value == at.sum()
    assert comparison.chi2("double").chi2 == pytest.approx(600.0)  # disjoint: every shower counts fully (N + M)
    with pytest.raises(InputError, match="no shower at"):
        v.total_energy_comparison(showers.energy, {"Reference": showers.cells}, at_mev=25000.0)


def test_layer_fraction_table(showers: ShowerArrays) -> None:
    table = v.layer_fraction_table(showers.energy, {"Reference": showers.cells})
    at = showers.energy == 65536.0
    cells = showers.cells[at].astype(float)
    layers = [cells[:, 0:21], cells[:, 21:189], cells[:, 189:238], cells[:, 238:266]]  # flat order 7x3, 56x3, 7x7, 4x7
    expected = [100 * np.mean(layer.sum(axis=1) / 65536.0) for layer in layers]
    np.testing.assert_allclose(table.loc["Reference", ["PS", "Strips", "Middle", "Back"]], expected, rtol=1e-12)
    assert table.loc["Reference", "sum"] == pytest.approx(100 * np.mean(cells.sum(axis=1) / 65536.0), rel=1e-12)
    thesis = table.loc["Geant4 (thesis)", ["PS", "Strips", "Middle", "Back"]]  # thesis Fig. 5.19 at 65 GeV
    np.testing.assert_allclose(thesis, [0.7, 17.2, 79.3, 0.4])
    assert 15 < table.loc["Reference", "Strips"] < 20 and 77 < table.loc["Reference", "Middle"] < 82
    low = v.layer_fraction_table(showers.energy, {"Reference": showers.cells}, at_mev=8192.0)
    assert list(low.index) == ["Reference"]


def test_evaluate_energy_point(showers: ShowerArrays) -> None:
    single = showers.subset(showers.energy == 8192.0)
    result = v.evaluate_energy_point({"GAN": small_gan()}, single, seed=1, n_bins=20)
    assert result.energy_mev == 8192.0
    assert result.response.index.get_level_values("sample").unique().tolist() == ["Reference", "GAN"]
    response = single.cells.astype(float).sum(axis=1) / 8192.0
    reference = result.response.loc[("Reference", 8.192)]
    assert reference["n"] == len(single) and reference["response"] == pytest.approx(response.mean(), rel=1e-12)
    assert reference["resolution"] == pytest.approx(response.std(ddof=1) / response.mean(), rel=1e-12)
    # the untrained generator: 266 cells at the output bias's 0.4 % of E_true each
    assert result.response.loc[("GAN", 8.192), "response"] == pytest.approx(266 * 0.004, rel=2e-3)
    chi2 = result.variables.chi2_table("GAN")
    assert list(chi2.columns) == [8.192] and chi2.loc["response", 8.192] > 10  # 1.064 against 0.98 +- 0.035
    assert result.total_energy.others["GAN"].hist.sum().value == len(single)
    assert 500 < result.total_energy.chi2("GAN").chi2 <= 2 * len(single)  # nearly disjoint: close to N + M
    with pytest.raises(InputError, match="one energy"):
        v.evaluate_energy_point({"GAN": small_gan()}, showers, seed=1)


def test_alignment_comparisons_and_features(showers: ShowerArrays, variables: pd.DataFrame) -> None:
    images = {lay.name: GEOMETRY.image(showers.cells, lay.name) for lay in LAYERS}
    strips = GEOMETRY.flatten({**images, "strips": images["strips"][:, :, ::-1]})  # strip phi rows mirrored
    back = GEOMETRY.flatten({**images, "back": images["back"][:, ::-1]})  # back eta rows mirrored
    comparisons = v.alignment_comparisons(showers, {"same": showers.cells, "strips": strips, "back": back})
    assert [c.title for c in comparisons] == ["p0", "p1", "p2", "p3", "e0", "e1"]
    assert all(c.chi2("same").chi2 == pytest.approx(0.0, abs=1e-12) for c in comparisons)
    # each mirror moves only its own panels: chi2/ndf 7 to 9 (Strips, p0..p3) and 3.5 (Back, e0/e1) measured
    assert all(c.chi2("strips").reduced > 4 and c.chi2("back").chi2 == 0.0 for c in comparisons[:4])
    assert all(c.chi2("back").reduced > 2 and c.chi2("strips").chi2 == 0.0 for c in comparisons[4:])
    features = v.classifier_features(variables, showers)
    assert features.shape == (len(showers), 5 + len(variables.columns))
    e_total = 5 + list(variables.columns).index("e_total")
    np.testing.assert_allclose(features[:, e_total], showers.cells.sum(axis=1) / showers.energy)
    few = v.classifier_features(variables, showers, v.EPOCH_PICKING_VARIABLES)
    np.testing.assert_array_equal(few[:, 5:], variables[list(v.EPOCH_PICKING_VARIABLES)].to_numpy())
    with pytest.raises(InputError, match="unknown variables"):
        v.classifier_features(variables, showers, ["nope"])
    for fig in (v.plot_alignment_effects(showers), v.plot_mean_images(showers, energy_mev=65536.0)):
        assert len(fig.axes) >= 2
        plt.close(fig)


def test_training_history_draws_both_metrics_per_training_without_corner_labels() -> None:
    from types import SimpleNamespace

    epochs = pd.Index(np.arange(1, 1001), name="epoch")
    history = pd.DataFrame({"wasserstein": 1.0 / epochs, "resolution_error": 0.1 + 0.0 * epochs}, index=epochs)
    archives = {"double critic": SimpleNamespace(history=history), "single": SimpleNamespace(history=2 * history)}
    from hepnb import style

    with matplotlib.rc_context():
        style.use()  # the notebooks' style: no x margin, so the first and last epochs sit in the corners
        fig = v.plot_training_history(archives)
        fig.canvas.draw()
    left = [ax for ax in fig.axes if ax.get_ylabel() == "Wasserstein estimate"]
    right = [ax for ax in fig.axes if ax.get_ylabel() == "resolution error"]
    assert [ax.get_title() for ax in left] == list(archives) and len(right) == 2
    assert all(ax.get_yscale() == "log" for ax in right)
    np.testing.assert_array_equal(right[1].lines[0].get_ydata(), 2 * history["resolution_error"])
    ticks = left[0].get_xticks()
    shown = ticks[(ticks >= left[0].get_xlim()[0]) & (ticks <= left[0].get_xlim()[1])]
    lo, hi = left[0].get_xlim()
    assert shown.min() > lo + 0.05 * (hi - lo) and shown.max() < hi - 0.05 * (hi - lo)  # corners free
    plt.close(fig)
    with pytest.raises(InputError, match="lacks \\['resolution_error'\\]"):
        v.plot_training_history({"bad": SimpleNamespace(history=history[["wasserstein"]])})
    with pytest.raises(InputError, match="archives is empty"):
        v.plot_training_history({})
