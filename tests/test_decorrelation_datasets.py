"""Study-4 datasets: the off-shell VBF-vs-rest sample and the top-vs-QCD jets, split, standardised and weighted."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import awkward as ak
import numpy as np
import pytest

from hepnb import offshell as osh
from hepnb.decorrelation import datasets as ds
from hepnb.errors import InputError


@pytest.fixture(scope="module")
def offshell() -> ds.DecorrelationDataset:
    return ds.offshell_dataset(8_000, 20_000, seed=4, negative_pocket=(100.0, 3.0))


def test_docstring_examples_run() -> None:
    result = doctest.testmod(ds, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_split_indices_are_stratified_disjoint_and_seeded() -> None:
    labels = np.repeat([0, 1], [300, 100])
    parts = ds.split_indices(labels, (0.5, 0.2, 0.3), seed=1)
    assert [len(p) for p in parts] == [200, 80, 120]
    assert [int(labels[p].sum()) for p in parts] == [50, 20, 30]
    assert len(np.unique(np.concatenate(parts))) == 400
    again = ds.split_indices(labels, (0.5, 0.2, 0.3), seed=1)
    other = ds.split_indices(labels, (0.5, 0.2, 0.3), seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert not np.array_equal(parts[0], other[0])
    with pytest.raises(InputError, match="fractions"):
        ds.split_indices(labels, (0.5, 0.5), seed=1)


def test_offshell_dataset_is_the_thesis_problem(offshell: ds.DecorrelationDataset) -> None:
    assert offshell.feature_names == tuple(name for name, _, _ in osh.CH6_FEATURES) and offshell.n_features == 15
    assert offshell.protected_names == ("log-norm m4l", "MELA")
    assert offshell.component_names == ("VBF", "qqZZ", "ggZZ")
    train = offshell.train
    # standardised with the training statistics
    np.testing.assert_allclose(train.features.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(train.features.std(0), 1, atol=1e-9)
    # labels follow the components: VBF is the signal, both backgrounds are label 0
    for split in offshell.splits().values():
        np.testing.assert_array_equal(split.labels == 1, split.components == 0)
        assert set(np.unique(split.components)) == {0, 1, 2}
    # training weights: each class sums to half the training events, the same factor in every split
    for label in (0, 1):
        assert train.weights[train.labels == label].sum() == pytest.approx(len(train) / 2)
    factor = train.weights / train.physical_weights / 0.5
    for split, fraction in zip(offshell.splits().values(), (0.5, 0.2, 0.3)):
        usable = split.physical_weights != 0
        ratio = split.weights[usable] / (split.physical_weights[usable] * fraction)
        for label in (0, 1):
            expected = np.unique(np.round(factor[(train.labels == label) & (train.physical_weights != 0)], 9))
            assert np.allclose(ratio[split.labels[usable] == label], expected[0])
    # the negative qqZZ pocket is kept with its sign
    assert (train.physical_weights[train.components == 1] < 0).any()
    # log-norm m4l: log m4l min-max scaled on the training events, and the mass in GeV beside it
    assert train.m.min() == pytest.approx(0) and train.m.max() == pytest.approx(1)
    log_m = np.log(train.mass)
    np.testing.assert_allclose(train.m, (log_m - log_m.min()) / (log_m.max() - log_m.min()))
    assert train.mass.min() > 220  # the ch6 preselection


def test_offshell_yields_scale_to_the_whole_sample(offshell: ds.DecorrelationDataset) -> None:
    vbf = osh.generate(8_000, 4, "vbf", progress=False)
    total = sum(
        (s.physical_weights[s.labels == 1] * f).sum() for s, f in zip(offshell.splits().values(), (0.5, 0.2, 0.3))
    )
    assert total == pytest.approx(float(np.sum(vbf.weight(1.0))), rel=1e-9)


def test_offshell_dataset_is_deterministic_and_refuses_bad_input(offshell: ds.DecorrelationDataset) -> None:
    again = ds.offshell_dataset(8_000, 20_000, seed=4, negative_pocket=(100.0, 3.0))
    for name, split in offshell.splits().items():
        other = again.splits()[name]
        assert split.features.tobytes() == other.features.tobytes()
        assert split.weights.tobytes() == other.weights.tobytes()
    with pytest.raises(InputError, match="protected"):
        ds.offshell_dataset(8_000, 20_000, seed=4, protected=("pt",))
    with pytest.raises(InputError, match="n_vbf"):
        ds.offshell_dataset(10, 30_000, seed=4)


def test_without_and_with_protected(offshell: ds.DecorrelationDataset) -> None:
    blind = offshell.without("m4l_fsr")
    assert "m4l_fsr" not in blind.feature_names and blind.n_features == 14
    index = offshell.feature_names.index("m4l_fsr")
    np.testing.assert_array_equal(blind.test.features, np.delete(offshell.test.features, index, axis=1))
    background = offshell.test.take(offshell.test.labels == 0)
    assert len(background) == int((offshell.test.labels == 0).sum()) and not background.labels.any()
    np.testing.assert_array_equal(background.mass, offshell.test.mass[offshell.test.labels == 0])
    one = offshell.with_protected(1)
    assert one.protected_names == ("log-norm m4l",) and one.train.protected.shape[1] == 1
    with pytest.raises(InputError, match="feature names"):
        offshell.without("nope")
    with pytest.raises(InputError, match="count"):
        offshell.with_protected(3)


def _fake_jets(n: int, top: bool, seed: int) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    mass = rng.normal(172, 15, n) if top else rng.exponential(60, n) + 10
    tau21 = rng.uniform(0.1, 0.9, n)
    columns = {
        "pt": rng.uniform(800, 1300, n),
        "eta": rng.normal(0, 1, n),
        "mass": mass,
        "tau21": tau21,
        "tau32": rng.uniform(0.2, 1, n) - 0.2 * top,
        "c2": rng.uniform(0, 0.5, n),
        "d2": rng.uniform(0.5, 4, n),
    }
    columns["tau21"][0] = np.nan  # a jet whose substructure is undefined is left out
    return SimpleNamespace(jets=ak.Array(columns))


def test_jet_dataset_from_samples() -> None:
    data = ds.jet_dataset(_fake_jets(600, True, 1), _fake_jets(900, False, 2), seed=3, n_max=800)
    assert data.feature_names == ("tau21", "tau32", "c2", "d2") and data.protected_names == ("jet mass",)
    sizes = {name: len(split) for name, split in data.splits().items()}
    assert sum(sizes.values()) == 599 + 800  # the NaN jet dropped, QCD subsampled to n_max
    for split in data.splits().values():
        np.testing.assert_array_equal(split.components, 1 - split.labels)
        np.testing.assert_allclose(split.physical_weights * 0 + 1, 1)
    train = data.train
    np.testing.assert_allclose(train.m, (train.mass - train.mass.min()) / (train.mass.max() - train.mass.min()))
    assert train.weights[train.labels == 1].sum() == pytest.approx(len(train) / 2)
    again = ds.jet_dataset(_fake_jets(600, True, 1), _fake_jets(900, False, 2), seed=3, n_max=800)
    assert again.test.features.tobytes() == data.test.features.tobytes()
    with pytest.raises(InputError, match="mass is protected"):
        ds.jet_dataset(_fake_jets(600, True, 1), _fake_jets(900, False, 2), features=("mass",))
    with pytest.raises(InputError, match="n_max"):
        ds.jet_dataset(_fake_jets(600, True, 1), _fake_jets(900, False, 2), n_max=5)
