"""The evaluation of study 5 (hepnb.jets.evaluation): held-out jets of a training, new test jets, sampling from an
archive, the metrics table with its floor and scale rows, generation speed and the figures' comparisons."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from jet_toys import blobs

from hepnb.errors import InputError
from hepnb.jets import epic, evaluation, gan
from hepnb.jets.datamodule import JetDataModule, JetPreprocessing, split_held_out
from hepnb.jets.io import read_jets
from hepnb.jets.lsgan import GENERATION_BATCH
from hepnb.jets.presets import PRESETS
from hepnb.jets.train import JetTraining, train_jets
from hepnb.training import EpochArchive, fit

pytestmark = pytest.mark.usefixtures("torch_single_thread")

FAST_PRESET = PRESETS["jetnet"].replace(mpi=False, pthat_min=1000.0, pthat_max=1100.0)
CHEAP = evaluation.MetricSettings(
    w1_batches=3,
    fpd_batches=4,
    fpd_points=3,
    kpd_batches=4,
    cov_mmd_jets=20,
    cov_mmd_batches=2,
    classifier_epochs=8,
    seed=3,
)


# ------------------------------------------------------------------------------------------ metrics table


@pytest.fixture(scope="module")
def rows() -> dict[str, evaluation.MetricsRow]:
    real = blobs(1200, 1)
    reference, floor = evaluation.split_reference(real, seed=0)
    return {
        "floor": evaluation.compare(reference, floor, "real vs real", CHEAP),
        "close": evaluation.compare(reference, blobs(600, 2, width=0.105), "close", CHEAP),
        "scale": evaluation.compare(reference, blobs(600, 3, width=0.2), "other class", CHEAP),
    }


def test_real_vs_real_sits_at_the_floor_and_the_other_class_far_above(rows) -> None:
    floor, scale = rows["floor"], rows["scale"]
    assert [v.metric for v in floor.values] == list(evaluation.UNITS)
    assert floor.n_reference == floor.n_compared == 600
    # two halves of one sample: every distance is within a few of its errors of zero, the AUC near 0.5
    for metric in ("W1M", "W1P", "W1EFP", "FPD", "KPD"):
        assert abs(floor[metric].value) < 4 * floor[metric].error + 0.1 * scale[metric].value, floor[metric]
    assert abs(floor["AUC"].value - 0.5) < 4 * floor["AUC"].error
    # angles twice as wide: masses ~ twice as large, far above the floor on every metric
    summary = evaluation.distance_summary(scale, floor, scale)
    assert (summary["of gap"] == 1.0).all()
    for metric in ("W1M", "W1P", "W1EFP", "FPD", "KPD"):
        assert scale[metric].value > 10 * max(abs(floor[metric].value), floor[metric].error), metric
    assert scale["COV"].value < floor["COV"].value and scale["MMD"].value > floor["MMD"].value
    assert scale["AUC"].value > 0.9


def test_units_and_the_distance_summary(rows) -> None:
    from hepnb.metrics.jetnet import w1m

    reference, _ = evaluation.split_reference(blobs(1200, 1), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = w1m(reference, blobs(600, 3, width=0.2), num_eval_samples=600, num_batches=3, seed=3)
    assert rows["scale"]["W1M"].value == pytest.approx(raw.value * 1e3)
    assert rows["scale"]["W1M"].label == "W1M x1e3" and rows["scale"]["W1EFP"].label == "W1EFP x1e5"
    summary = evaluation.distance_summary(rows["close"], rows["floor"], rows["scale"])
    # a 5% wider sample is a small fraction of the way to a 100% wider one
    assert summary.loc["W1M x1e3", "of gap"] < 0.3 and summary.loc["FPD x1e4", "of gap"] < 0.3
    assert summary.loc["W1M x1e3", "gap sigma"] > 3
    auc = rows["close"]["AUC"].value
    assert summary.loc["AUC", "model"] == pytest.approx(abs(auc - 0.5))
    floor_fpd = rows["floor"]["FPD"]
    assert summary.loc["FPD x1e4", "above floor"] == pytest.approx(
        rows["close"]["FPD"].value / max(floor_fpd.value, floor_fpd.error)
    )
    table = evaluation.metrics_table(list(rows.values()))
    assert list(table.index) == ["real vs real", "close", "other class"] and "±" in table.loc["close", "W1M x1e3"]
    numeric = evaluation.metrics_table(list(rows.values()), numeric=True)
    assert numeric.loc["other class", "W1M x1e3"] == pytest.approx(rows["scale"]["W1M"].value)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InputError, match="choose from"):
        evaluation.MetricSettings(metrics=("W2M",))
    with pytest.raises(InputError, match="fpd_points=2"):
        evaluation.MetricSettings(fpd_points=2)
    with pytest.raises(InputError, match="particle slots"):
        evaluation.compare(blobs(50, 1), blobs(50, 2, slots=6), "x", CHEAP)
    with pytest.raises(InputError, match="at least 8 jets"):
        evaluation.compare(blobs(50, 1), blobs(5, 2), "x", CHEAP)
    with pytest.raises(InputError, match="JetNet particle clouds"):
        evaluation.split_reference(np.zeros((10, 4, 3)))
    with pytest.raises(InputError, match="at least one MetricsRow"):
        evaluation.metrics_table([])
    with pytest.raises(InputError, match="Pythia 8 \\+ FastJet measurement"):
        evaluation.speed_table([evaluation.GenerationSpeed("GAN", 1, 10, 1.0, 1)])
    with pytest.raises(InputError, match="feature="):
        evaluation.per_n_comparisons(blobs(20, 1), {}, "mass", [(1, 8)])


def test_split_reference_gives_disjoint_halves() -> None:
    jets = blobs(101, 4)
    jets[:, 0, 0] = np.arange(101) / 1000  # tag each jet
    reference, floor = evaluation.split_reference(jets, seed=1)
    assert len(reference) == len(floor) == 50
    assert not set(reference[:, 0, 0]) & set(floor[:, 0, 0])
    again, _ = evaluation.split_reference(jets, seed=1)
    assert again.tobytes() == reference.tobytes()


# ------------------------------------------------------------------------------------------ archives


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A dataset of 60 Pythia QCD jets and an EPiC-GAN archive trained one epoch on it (20 held out)."""
    from hepnb.jets.generate import generate_jets

    root = tmp_path_factory.mktemp("evaluation")
    generate_jets(root / "qcd", 60, preset=FAST_PRESET, jet_class="qcd", seed=3, workers=1, progress=False)
    config = JetTraining(model="epic", epochs=1, batch_size=8, n_eval=20, seed=4)
    train_jets(root / "epic", config, data=root / "qcd", progress=False)
    return root / "qcd", root / "epic"


def test_held_out_jets_are_the_trainings(trained) -> None:
    data, archive = trained
    setup = evaluation.training_setup(archive)
    assert (setup.model, setup.seed, setup.n_eval) == ("epic", 4, 20)
    held_out = evaluation.held_out_jets(data, setup)
    all_jets = read_jets(data).particle_features()
    assert held_out.tobytes() == all_jets[split_held_out(60, 20, 4)[1]].tobytes()
    # a second training with another seed: only the jets both held out remain
    other = replace(setup, seed=5)
    both = np.intersect1d(split_held_out(60, 20, 4)[1], split_held_out(60, 20, 5)[1])
    assert evaluation.held_out_jets(data, [setup, other]).tobytes() == all_jets[both].tobytes()
    with pytest.raises(InputError, match="was trained on"):
        evaluation.held_out_jets(data, replace(setup, dataset={**setup.dataset, "seed": 9}))
    # the training jets are the rest, in dataset order: disjoint from the held-out jets, together all of them
    training = evaluation.training_jets(data, setup)
    assert len(training) == 40 and training.tobytes() == all_jets[split_held_out(60, 20, 4)[0]].tobytes()
    rows = {row.tobytes() for row in all_jets}
    assert len(rows) == 60  # every jet differs, so the rows identify them
    assert {row.tobytes() for row in training} | {row.tobytes() for row in held_out} == rows
    assert not {row.tobytes() for row in training} & {row.tobytes() for row in held_out}
    with pytest.raises(InputError, match="was trained on"):
        evaluation.training_jets(data, replace(setup, dataset={**setup.dataset, "n_jets": 61}))
    with pytest.raises(InputError, match="setup must be a TrainingSetup"):
        evaluation.training_jets(data, [setup])
    with pytest.raises(InputError, match="no training.json"):
        evaluation.training_setup(data)


def test_fresh_jets_are_new_jets_of_the_datasets_kind_cached_by_seed(trained, tmp_path: Path) -> None:
    from hepnb.jets.generate import generate_jets

    data, _ = trained
    training = read_jets(data)
    test = evaluation.fresh_jets(training, 12, tmp_path, seed=8, workers=1)
    assert test.shape == (12, *training.particle_features().shape[1:])
    # the same jets as a dataset of the training's preset and class generated with the test seed
    direct = generate_jets(
        tmp_path / "direct", 12, preset=FAST_PRESET, jet_class="qcd", seed=8, workers=1, progress=False
    )
    assert test.tobytes() == direct.read().particle_features().tobytes()
    # none of them is a training jet
    trained_bytes = {jet.tobytes() for jet in training.particle_features()}
    assert not any(jet.tobytes() in trained_bytes for jet in test)
    # a second call reads the cache back: no chunk is written again
    chunks = sorted(tmp_path.glob("*/chunk-*.parquet"))
    assert len(chunks) == 2
    stamps = [path.stat().st_mtime_ns for path in chunks]
    assert evaluation.fresh_jets(data, 12, tmp_path, seed=8, workers=1).tobytes() == test.tobytes()
    assert [path.stat().st_mtime_ns for path in chunks] == stamps
    # another seed gives other jets, in a folder of its own
    other = evaluation.fresh_jets(data, 12, tmp_path, seed=9, workers=1)
    assert other.tobytes() != test.tobytes()
    assert len({path.parent for path in tmp_path.glob("*/chunk-*.parquet")} - {tmp_path / "direct"}) == 2
    for same in (3, np.int64(3)):
        with pytest.raises(InputError, match="would give the training jets again"):
            evaluation.fresh_jets(data, 12, tmp_path, seed=same)
    with pytest.raises(InputError, match="seed must be a whole number"):
        evaluation.fresh_jets(data, 12, tmp_path, seed=2.5)
    # a preset of the same name with other settings gets a folder of its own, not a clash
    wider = replace(training, meta={**training.meta, "preset": FAST_PRESET.replace(pthat_max=1200.0).to_dict()})
    assert evaluation.fresh_jets(wider, 4, tmp_path, seed=8, workers=1).shape == (4, *test.shape[1:])
    # test jets from other Pythia versions than the dataset's are flagged
    older = replace(training, meta={**training.meta, "versions": {**training.meta["versions"], "pythia8mc": "8.1"}})
    with pytest.warns(UserWarning, match="pythia8mc 8.1"):
        evaluation.fresh_jets(older, 12, tmp_path, seed=8, workers=1)


def test_sampling_from_an_archive_is_deterministic_with_physical_masks(trained, tmp_path: Path) -> None:
    _, archive = trained
    with pytest.raises(InputError, match="epoch 7 has no checkpoint"):
        evaluation.load_generator(archive, 7)
    with pytest.raises(InputError, match="not an epoch archive"):
        evaluation.load_generator(tmp_path)
    model = evaluation.load_generator(archive)
    jets = evaluation.sample_jets(model, 40, seed=3)
    assert jets.shape == (40, 30, 4) and jets.dtype == np.float32
    mask = jets[..., 3]
    assert set(np.unique(mask)) <= {0.0, 1.0} and (mask.sum(axis=1) >= 1).all()
    assert (np.diff(mask, axis=1) <= 0).all()  # real particles first
    assert (jets[..., 2][mask == 1] > 0).all() and (jets[mask == 0] == 0).all()
    assert evaluation.sample_jets(archive, 40, seed=3).tobytes() == jets.tobytes()  # the folder: its last epoch
    assert evaluation.sample_jets(model, 40, seed=4).tobytes() != jets.tobytes()
    # the slim export that data/ ships (generator weights only, fp16) samples the same jets to fp16 precision
    slim = EpochArchive(archive).export(tmp_path / "slim", keep=("generator.",))
    close = evaluation.sample_jets(slim.path, 40, seed=3)
    assert (close[..., 3] == mask).mean() > 0.95
    with pytest.raises(InputError, match="whole number"):
        evaluation.sample_jets(model, 0)
    with pytest.raises(InputError, match="jet GAN"):
        evaluation.sample_jets(object(), 3)


def test_setgan_generator_weights_are_two_sub_networks(tmp_path: Path) -> None:
    """The two-stage GAN's generator is ``sizes_generator.`` + ``particle_generator.``: a slim export keeps both."""
    jets = blobs(64, 5)
    data = JetDataModule(jets, batch_size=16)
    tiny = replace(
        gan.CPU,
        latent_dim=8,
        inducing_points=4,
        generator_widths=(16,),
        discriminator_widths=(16,),
        discriminator_mlp=(8,),
        sizes_generator_widths=(16,),
        sizes_discriminator_widths=(16,),
    )
    archive = fit(
        lambda: gan.SetGAN(preprocessing=data.preprocessing.to_dict(), config=tiny, seed=1),
        data,
        tmp_path / "setgan",
        max_epochs=1,
        seed=1,
        progress=False,
    )
    state = archive.read_checkpoint(1)["state_dict"]
    assert not any(k.startswith("generator.") for k in state)
    slim = archive.export(tmp_path / "slim", keep=("sizes_generator.", "particle_generator."), half=False)
    jets_full = evaluation.sample_jets(archive.load(1), 30, seed=2)
    assert evaluation.sample_jets(slim.path, 30, seed=2).tobytes() == jets_full.tobytes()


# ------------------------------------------------------------------------------------------ speed and figures


def test_speed_measurements_restore_threads_and_compare_with_pythia() -> None:
    pre = JetPreprocessing((0.0, 0.0, -3.0), (0.1, 0.1, 1.0), (0.0,) * 5 + (0.5, 0.5))
    model = epic.EPiCGAN(
        preprocessing=pre.to_dict(),
        config=replace(epic.CPU, hidden=16, generator_layers=1, discriminator_layers=1),
        seed=1,
    )
    before = torch.get_num_threads()
    speeds = evaluation.model_speed(model, "EPiC", (1, 64), n_single=20, n_jets=100, threads=2)
    assert torch.get_num_threads() == before
    assert [(s.batch_size, s.n_jets, s.threads) for s in speeds] == [(1, 20, 2), (64, 100, 2)]
    bulk = evaluation.model_speed(model, "EPiC", n_single=3, n_jets=10)  # batch 1 and the generator's own
    assert [(s.batch_size, s.n_jets, s.threads) for s in bulk] == [(1, 3, 1), (GENERATION_BATCH, GENERATION_BATCH, 1)]
    assert all(s.jets_per_second > 0 for s in speeds)
    pythia = evaluation.pythia_speed(4, jet_class="qcd", preset=FAST_PRESET, seed=2)
    assert pythia.n_jets == 4 and pythia.batch_size is None and pythia.setup_seconds > 0
    table = evaluation.speed_table([*speeds, pythia])
    assert table.loc[("EPiC", 64), "x Pythia+FastJet"] == pytest.approx(
        speeds[1].jets_per_second / pythia.jets_per_second
    )
    with pytest.raises(InputError, match="threads=0"):
        evaluation.model_speed(model, "EPiC", threads=0)
    with pytest.raises(InputError, match="n_jets=0"):
        evaluation.model_speed(model, "EPiC", n_jets=0)


def test_figure_comparisons_see_what_the_metrics_see() -> None:
    import matplotlib.pyplot as plt

    reference, same, wide = blobs(600, 1), blobs(600, 2), blobs(600, 3, width=0.2)
    assert evaluation.multiplicity(reference).min() >= 4
    found = evaluation.feature_comparisons(reference, {"same": same, "wide": wide}, n_bins=20)
    assert list(found) == ["n", "eta_rel", "phi_rel", "pt_rel", "mass"]  # every toy pT_rel sum is 1: one bin
    assert found["mass"].chi2("wide").reduced > 10 * found["mass"].chi2("same").reduced
    truncated, scaled = reference.copy(), same.copy()
    truncated[:, 4:] = 0  # the four hardest particles kept: the sums fall below 1
    scaled[..., 2] *= np.linspace(0.8, 1.05, len(scaled))[:, None]  # sums spread from 0.8 to 1.05
    sums = evaluation.feature_comparisons(truncated, {"truncated": truncated, "scaled": scaled}, n_bins=20)["pt_sum"]
    assert sums.chi2("truncated").reduced == 0 and sums.chi2("scaled").reduced > 10
    beyond = same.copy()
    beyond[..., 2] *= 1.3  # every sum beyond the axis: counted in its last bin
    last = evaluation.feature_comparisons(truncated, {"beyond": beyond}, n_bins=20)["pt_sum"].table()
    assert last["chi2/ndf"].iloc[0] > 10
    assert found["n"].chi2("same").reduced < 3
    per_n = evaluation.per_n_comparisons(reference, {"wide": wide}, "eta_rel", [(4, 5), (6, 8), (20, 30)])
    assert list(per_n) == ["4 <= n <= 5", "6 <= n <= 8"]  # no jet has 20 or more particles
    image = evaluation.jet_image(reference, bins=10)
    assert image.sum() == pytest.approx(1.0, rel=1e-3)  # pT_rel sums to 1 per jet, all inside the window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = evaluation.plot_comparisons(found, ncols=3, title="toy")
    assert len(fig.axes) == 10
    plt.close(fig)


def truncated(n: int, seed: int) -> np.ndarray:
    """Toy jets with at most their six hardest particles kept: summed pT_rel below 1, different per jet."""
    jets = blobs(n, seed)
    jets[:, 6:] = 0
    return jets


def distort(jets: np.ndarray) -> np.ndarray:
    """The jets with their summed pT_rel s mapped to s (1.3 + 0.5 (s - 0.9)), monotone in s: a generator's bias."""
    sums = jets[..., 2].sum(axis=1)
    out = jets.copy()
    out[..., 2] *= (1.3 + 0.5 * (sums - 0.9))[:, None]
    return out


def test_match_pt_sums_undoes_a_monotone_distortion_of_the_summed_pt() -> None:
    target = truncated(500, 1)
    sums = target[..., 2].sum(axis=1)
    assert np.allclose(evaluation.pt_sum(target), sums)
    distorted = distort(target)
    matched = evaluation.match_pt_sums(distorted, target)
    assert np.allclose(matched, target, atol=1e-6)  # angles, mask and pT shares were kept; the sums are put back
    # against another sample: the sums follow its distribution, each jet keeps its pT shares and particle order
    other = evaluation.match_pt_sums(distorted, blobs(300, 2))
    assert np.allclose(other[..., 2].sum(axis=1), 1.0, atol=1e-5)  # every toy jet of blobs carries all its pT
    shares = other[..., 2] / other[..., 2].sum(axis=1, keepdims=True)
    assert np.allclose(shares, target[..., 2] / sums[:, None], atol=1e-6)
    assert np.array_equal(other[..., [0, 1, 3]], distorted[..., [0, 1, 3]])
    empty = target.copy()
    empty[0, 0, 2] = 0
    with pytest.raises(InputError, match="1 real particles of jets have pT_rel <= 0"):
        evaluation.match_pt_sums(empty, target)


def test_match_pt_sums_with_a_source_calibrates_new_jets_of_the_same_generator() -> None:
    target, new = truncated(2000, 1), truncated(300, 3)  # the training jets, and jets the calibration never saw
    source = distort(truncated(2000, 2))  # the generator's sample the map is fitted on
    calibrated = evaluation.match_pt_sums(distort(new), target, source=source)
    # closure: the map from the generator's sums to the training jets' undoes the bias, up to the samples' quantiles
    assert np.abs(calibrated[..., 2].sum(axis=1) - new[..., 2].sum(axis=1)).max() < 0.02
    # also on a part of the jets whose sums are not distributed like the target's: their 30% smallest sums, which
    # the rank-for-rank matching would spread over all of the target's sums
    sums = new[..., 2].sum(axis=1)
    soft = new[sums < np.quantile(sums, 0.3)]
    fitted = evaluation.match_pt_sums(distort(soft), target, source=source)
    ranked = evaluation.match_pt_sums(distort(soft), target)
    assert np.abs(fitted[..., 2].sum(axis=1) - soft[..., 2].sum(axis=1)).max() < 0.02
    assert np.abs(ranked[..., 2].sum(axis=1) - soft[..., 2].sum(axis=1)).max() > 0.04
    # and on one jet, the softest: the map gives back its sum, rank matching the target's median
    softest = new[[np.argmin(sums)]]
    alone = evaluation.match_pt_sums(distort(softest), target, source=source)[..., 2].sum()
    assert alone == pytest.approx(softest[..., 2].sum(), abs=0.02)
    median = np.quantile(target[..., 2].sum(axis=1), 0.5, method="inverted_cdf")
    assert evaluation.match_pt_sums(distort(softest), target)[..., 2].sum() == pytest.approx(median, rel=1e-6)
    assert abs(median - softest[..., 2].sum()) > 0.1
    assert np.allclose(
        calibrated[..., 2] / calibrated[..., 2].sum(axis=1, keepdims=True),
        new[..., 2] / new[..., 2].sum(axis=1, keepdims=True),
        atol=1e-6,
    )  # pT shares kept
    assert np.array_equal(calibrated[..., [0, 1, 3]], new[..., [0, 1, 3]])
    # the rank-for-rank matching is the map fitted on the jets themselves, where no two sums are equal (jets that kept
    # all their particles have sums of exactly 1, and tied jets share one quantile instead of taking ranks in turn)
    distorted = distort(new[new[..., 2].sum(axis=1) < 0.9999])
    assert np.allclose(
        evaluation.match_pt_sums(distorted, target, source=distorted),
        evaluation.match_pt_sums(distorted, target),
        atol=1e-7,
    )
    # a jet beyond the source's sums gets the target's extreme sum, not an extrapolation
    beyond = distorted[:2].copy()
    beyond[0, :, 2] *= 10
    beyond[1, :, 2] *= 0.1
    target_sums = target[..., 2].sum(axis=1)
    assert np.allclose(
        evaluation.match_pt_sums(beyond, target, source=source)[..., 2].sum(axis=1),
        [target_sums.max(), target_sums.min()],
        rtol=1e-6,
    )
    with pytest.raises(InputError, match="take one value"):
        evaluation.match_pt_sums(new, target, source=target[:1])
    with pytest.raises(InputError, match="source must be JetNet particle clouds"):
        evaluation.match_pt_sums(new, target, source=new[..., :3])
