"""Decorrelation methods: each loss against a constructed case, the aspiration shuffle's exact marginals, and a short
learning test of every method against the plain classifier on a toy where the mass is a powerful input."""

from __future__ import annotations

import doctest
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

import hepnb.decorrelation as dc
from hepnb.decorrelation import data as dc_data
from hepnb.decorrelation import losses, models
from hepnb.errors import InputError
from hepnb.metrics.decorrelation import efficiency_thresholds, quantile_edges
from hepnb.metrics.distance_correlation import distance_correlation as metric_dcorr
from hepnb.metrics.weighted import weighted_auc
from hepnb.training import fit

pytestmark = pytest.mark.usefixtures("torch_single_thread")

EPOCHS, SEED = 6, 5


@pytest.mark.parametrize("module", [losses, models, dc_data])
def test_docstring_examples_run(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------------------------------------------------
# losses
# ----------------------------------------------------------------------------------------------------------------


def test_weighted_bce_sums_signed_weights_over_the_batch() -> None:
    logits, target = torch.tensor([0.3, -1.0, 2.0]), torch.tensor([1.0, 0.0, 0.0])
    weights = torch.tensor([1.0, -0.5, 2.0])
    per_event = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), target, reduction="none")
    assert float(losses.weighted_bce(logits, target, weights)) == pytest.approx(float((weights * per_event).sum() / 3))


def test_torch_distance_correlation_has_the_right_gradient_and_degenerate_cases() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(40, 2, generator=g, dtype=torch.float64)
    w = torch.rand(40, generator=g, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(lambda v: losses.distance_correlation(v, y, w), (x,))
    assert float(losses.distance_correlation(x.detach(), torch.ones(40, dtype=torch.float64))) == 0.0
    assert float(losses.distance_correlation(x.detach(), y, -w)) == 0.0  # no positive total weight: no penalty


def test_aspiration_shuffle_keeps_both_marginals_exactly() -> None:
    g = torch.Generator().manual_seed(1)
    n = 500
    score = torch.rand(n, generator=g)
    protected = torch.stack([score + 0.1 * torch.randn(n, generator=g), torch.randn(n, generator=g)], dim=1)
    perm = losses.aspiration_permutation(n, generator=g)
    assert sorted(perm.tolist()) == list(range(n))  # without replacement
    real = torch.cat([score[:, None], protected], dim=1)
    aspired = torch.cat([score[:, None], protected[perm]], dim=1)
    for column in range(3):  # every marginal, bit for bit
        assert torch.equal(torch.sort(real[:, column]).values, torch.sort(aspired[:, column]).values)
    # one shared permutation: each aspired (m1, m2) is a real row, so the protected variables' joint is kept
    assert {tuple(r) for r in protected[perm].tolist()} == {tuple(r) for r in protected.tolist()}
    # and the dependence on the score is broken
    assert abs(float(torch.corrcoef(aspired[:, :2].T)[0, 1])) < 0.15 < float(torch.corrcoef(real[:, :2].T)[0, 1])
    same_seed = [losses.aspiration_permutation(n, generator=torch.Generator().manual_seed(9)) for _ in range(2)]
    assert torch.equal(*same_seed)


def test_conditional_shuffle_stays_within_each_component() -> None:
    g = torch.Generator().manual_seed(2)
    groups = torch.randint(0, 3, (300,), generator=g)
    m = torch.randn(300, generator=g) + groups
    perm = losses.aspiration_permutation(300, groups, generator=g)
    assert sorted(perm.tolist()) == list(range(300))
    assert torch.equal(groups[perm], groups)
    for label in range(3):
        inside = groups == label
        assert torch.equal(torch.sort(m[perm][inside]).values, torch.sort(m[inside]).values)
    with pytest.raises(InputError, match="one label per event"):
        losses.aspiration_permutation(300, groups[:10])


def test_aspired_weights_sample_the_product_of_weighted_marginals() -> None:
    w = torch.tensor([0.5, 2.0, 1.0, 1.5, -0.3], dtype=torch.float64)
    f = torch.rand(5, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)  # any f(s_i, m_j)
    total = torch.zeros((), dtype=torch.float64)
    perms = list(itertools.permutations(range(5)))
    for p in perms:
        perm = torch.tensor(p)
        real, aspired = losses.aspiration_weights(w, perm)
        assert torch.equal(real, w)
        total += (aspired * f[torch.arange(5), perm]).sum()
    # the average over all permutations is sum_ij w_i w_j f_ij / sum w: the product of the weighted marginals
    assert float(total / len(perms)) == pytest.approx(float(w @ f @ w / w.sum()), rel=1e-12)
    groups = torch.tensor([0, 0, 1, 1, 1])
    real, aspired = losses.aspiration_weights(torch.tensor([1.0, 1.0, -1.0, -1.0, 1.0]), torch.arange(5), groups)
    assert real.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0] and aspired.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


def two_level_scores(fraction_high: list[float], per_bin: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Bin b (mass b) holds ``fraction_high[b]`` of its events at score 0.8 and the rest at 0.2."""
    scores, masses = [], []
    for b, q in enumerate(fraction_high):
        k = int(round(q * per_bin))
        scores += [0.8] * k + [0.2] * (per_bin - k)
        masses += [float(b)] * per_bin
    return torch.tensor(scores, dtype=torch.float64), torch.tensor(masses, dtype=torch.float64)


def test_mode_loss_on_constructed_cases() -> None:
    x = np.linspace(-1, 1, 11)
    # F_b(s) = 1 - q_b on [0.2, 0.8), 0 below, 1 above: MoDe[0] = 0.6 * variance over bins of q_b
    linear = list((1 + x) / 2)
    score, mass = two_level_scores(linear)
    assert float(losses.mode_loss(score, mass, order=0, n_bins=11)) == pytest.approx(0.6 * np.var(linear))
    assert float(losses.mode_loss(score, mass, order=1, n_bins=11)) == pytest.approx(0.0, abs=1e-15)
    quadratic = list(x**2)
    score, mass = two_level_scores(quadratic)
    assert float(losses.mode_loss(score, mass, order=1, n_bins=11)) > 1e-3
    assert float(losses.mode_loss(score, mass, order=2, n_bins=11)) == pytest.approx(0.0, abs=1e-15)
    # weights: doubling the high-score events of bin 0 moves its q from 0.5 to 2/3
    flat = [0.5] * 11
    score, mass = two_level_scores(flat)
    weights = torch.ones_like(score)
    weights[:50] = 2.0
    q = np.array([2 / 3] + [0.5] * 10)
    w_bin = np.array([150.0] + [100.0] * 10)
    expected = 0.6 * np.sum(w_bin * (q - np.average(q, weights=w_bin)) ** 2) / w_bin.sum()
    assert float(losses.mode_loss(score, mass, weights, n_bins=11)) == pytest.approx(expected)
    assert float(losses.mode_loss(score, mass, n_bins=11)) == pytest.approx(0.0, abs=1e-15)
    assert float(losses.mode_loss(score[:5], mass[:5], n_bins=11)) == 0.0  # fewer events than bins
    with pytest.raises(InputError, match="order 0, 1 or 2"):
        losses.mode_loss(score, mass, order=3, n_bins=11)


def test_mode_loss_gradient_matches_finite_differences() -> None:
    g = torch.Generator().manual_seed(4)
    score = torch.rand(200, generator=g, dtype=torch.float64, requires_grad=True)
    mass, w = torch.rand(200, generator=g, dtype=torch.float64), torch.rand(200, generator=g, dtype=torch.float64)
    loss = losses.mode_loss(score, mass, w + 0.5, order=1, n_bins=8)
    loss.backward()
    for i in (3, 77, 150):
        up, down = score.detach().clone(), score.detach().clone()
        up[i] += 1e-7
        down[i] -= 1e-7
        numeric = (
            losses.mode_loss(up, mass, w + 0.5, order=1, n_bins=8)
            - losses.mode_loss(down, mass, w + 0.5, order=1, n_bins=8)
        ) / 2e-7
        assert float(score.grad[i]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-10)


def test_gaussian_mixture_nll_matches_scipy() -> None:
    logits = torch.tensor([[0.2, -0.4, 1.0]], dtype=torch.float64)
    means = torch.tensor([[0.1, 0.5, 0.9]], dtype=torch.float64)
    log_sigmas = torch.log(torch.tensor([[0.1, 0.2, 0.05]], dtype=torch.float64))
    pi = torch.softmax(logits, 1)[0].numpy()
    for target in (0.0, 0.45, 0.88):
        density = sum(p * stats.norm.pdf(target, m, s) for p, m, s in zip(pi, [0.1, 0.5, 0.9], [0.1, 0.2, 0.05]))
        nll = losses.gaussian_mixture_nll(logits, means, log_sigmas, torch.tensor([target], dtype=torch.float64))
        assert float(nll[0]) == pytest.approx(-np.log(density), rel=1e-10)


# ----------------------------------------------------------------------------------------------------------------
# data module and model construction
# ----------------------------------------------------------------------------------------------------------------


def test_data_module_batches_and_errors() -> None:
    x, y = np.zeros((300, 2)), np.arange(300) % 2
    data = dc.DecorrelationDataModule(
        x, y, np.column_stack([np.arange(300), -np.arange(300)]), batch_size=100, components=y * 2
    )
    batches = list(data.train_dataloader())
    assert len(batches) == 3 and data.n_protected == 2 and data.n_components == 3
    rows = torch.cat([b["m"][:, 0] for b in batches]).long()
    assert sorted(rows.tolist()) == list(range(300))  # each event once per epoch
    assert all(torch.equal(b["m"][:, 1], -b["m"][:, 0]) and torch.equal(b["c"], 2 * b["y"].long()) for b in batches)
    with pytest.raises(InputError, match="0 \\(background\\) or 1"):
        dc.DecorrelationDataModule(x, y + 1, np.zeros(300))
    with pytest.raises(InputError, match="batch_size"):
        dc.DecorrelationDataModule(x, y, np.zeros(300), batch_size=1000)
    with pytest.raises(InputError, match="integer labels"):
        dc.DecorrelationDataModule(x, y, np.zeros(300), components=np.full(300, 0.5))
    with pytest.raises(InputError, match="same length"):
        dc.DecorrelationDataModule(x, y[:10], np.zeros(300))


def test_models_refuse_inconsistent_options() -> None:
    with pytest.raises(InputError, match="takes no"):
        dc.Classifier(3, lam=1.0)
    with pytest.raises(InputError, match="lam=-1"):
        dc.DiscoClassifier(3, lam=-1.0)
    with pytest.raises(InputError, match="needs mass_edges"):
        dc.PivotClassifier(3, adversary="binned")
    with pytest.raises(InputError, match="adversary must be one of"):
        dc.PivotClassifier(3, adversary="gmm")
    with pytest.raises(InputError, match="n_protected=1"):
        dc.PivotClassifier(3, n_protected=2)
    with pytest.raises(InputError, match="n_protected=1"):
        dc.ModeClassifier(3, n_protected=2)
    with pytest.raises(InputError, match="order must be"):
        dc.ModeClassifier(3, order=1, n_bins=2)
    with pytest.raises(InputError, match="takes 3 features"):
        dc.Classifier(3).predict(np.zeros((4, 2)))
    network = dc.AspirationNetwork(3, n_protected=2, conditional=True, n_components=3)
    assert network.adversary[0].in_features == 1 + 2 + 3
    assert dict(network.hparams)["lam"] == 3.0 and dict(dc.PivotClassifier(3).hparams)["adversary"] == "mdn"


# ----------------------------------------------------------------------------------------------------------------
# learning tests on a toy: the mass separates the classes, x1 does so independently of the mass
# ----------------------------------------------------------------------------------------------------------------


def toy(n: int, seed: int) -> dict[str, np.ndarray]:
    """Signal (40 %) flat in the mass m in [0, 1], background falling; x1 separates the classes independently of
    m; the features are (x1, a noisy copy of m, m, mela) with mela a second, class-dependent protected variable."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.4).astype(float)
    m = np.where(y == 1, rng.beta(1.5, 1.5, n), rng.beta(1.0, 4.0, n))
    mela = np.where(y == 1, rng.beta(3.0, 2.0, n), rng.beta(2.0, 3.0, n))
    x1 = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
    proxy = m + rng.normal(0, 0.05, n)
    features = np.column_stack([x1, (proxy - 0.3) / 0.25, (m - 0.3) / 0.25, (mela - 0.5) / 0.2])
    return {"x": features, "y": y, "m": m, "mela": mela}


@pytest.fixture(scope="module")
def toy_sets() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return toy(4000, seed=1), toy(20_000, seed=2)


def train(
    make: Callable[[], dc.Classifier], data: dc.DecorrelationDataModule, folder: Path, **options
) -> dc.Classifier:
    """Train through hepnb.training.fit and reload the last epoch from the archive (hparams round trip)."""
    archive = fit(make, data, folder, max_epochs=EPOCHS, seed=SEED, progress=False, **options)
    return archive.load()


def measure(
    model: dc.Classifier, validation: dict[str, np.ndarray], columns: list[int] | None = None, protected: str = "m"
) -> dict[str, Any]:
    x = validation["x"] if columns is None else validation["x"][:, columns]
    score, y, m = model.predict(x), validation["y"], validation[protected]
    signal, background = y == 1, y == 0
    return {
        "auc": weighted_auc(y, score),
        "dcorr_background": metric_dcorr(score[background], m[background], jackknife_groups=0).value,
        "dcorr_signal": metric_dcorr(score[signal], m[signal], jackknife_groups=0).value,
        "signal_flatness": efficiency_thresholds(score, m, y, bins=quantile_edges(m[signal], 5)).flatness(0.8),
        "background_flatness": efficiency_thresholds(
            score, m, y, efficiencies=(0.5,), on="background", bins=quantile_edges(m[background], 5)
        )
        .flatness(0.5)
        .value,
    }


@pytest.fixture(scope="module")
def plain(toy_sets, tmp_path_factory, torch_single_thread) -> dict[str, Any]:
    train_set, validation = toy_sets
    data = dc.DecorrelationDataModule(train_set["x"], train_set["y"], train_set["m"])
    model = train(lambda: dc.Classifier(4), data, tmp_path_factory.mktemp("plain"))
    return {**measure(model, validation), "mela": measure(model, validation, protected="mela")["dcorr_background"]}


def test_plain_classifier_sculpts_and_a_mass_blind_one_does_not(toy_sets, plain, tmp_path) -> None:
    train_set, validation = toy_sets
    sculpted = plain["signal_flatness"]
    assert plain["auc"] > 0.93
    assert sculpted.value > 10 * sculpted.noise and sculpted.chi2_ndf > 50  # the 80 % cut climbs with the mass
    data = dc.DecorrelationDataModule(train_set["x"][:, [0]], train_set["y"], train_set["m"])
    blind = measure(train(lambda: dc.Classifier(1), data, tmp_path), validation, columns=[0])
    assert blind["signal_flatness"].chi2_ndf < 4 and blind["signal_flatness"].value < 0.2 * sculpted.value
    assert blind["dcorr_background"] < 0.05 * plain["dcorr_background"]


# name: (model factory given the training masses, metric that must fall, largest allowed ratio to plain). The
# ratios leave a margin of 2 or more over the worst of seeds 3-7 (6 epochs, 1 thread): disco 0.08, mode0 0.02,
# mode1 0.10, pivot 0.07, aspiration 0.04. Larger lambdas (DisCo 10, the binned pivot 10, two protected variables
# at 3) let the classifier escape onto other inputs or oscillate at batch 128 on this toy.
METHODS: dict[str, tuple[Callable[[np.ndarray], dc.Classifier], str, float]] = {
    "disco": (lambda m: dc.DiscoClassifier(4, lam=1.0), "dcorr_background", 0.2),
    "mode0": (lambda m: dc.ModeClassifier(4, lam=100.0, order=0, n_bins=5), "background_flatness", 0.2),
    "mode1": (lambda m: dc.ModeClassifier(4, lam=100.0, order=1, n_bins=5), "background_flatness", 0.3),
    "pivot_regression": (lambda m: dc.PivotClassifier(4, adversary="regression", lam=10.0), "dcorr_background", 0.5),
    "pivot_binned": (
        lambda m: dc.PivotClassifier(4, adversary="binned", lam=1.0, mass_edges=quantile_edges(m, 5)),
        "dcorr_background",
        0.5,
    ),
    "pivot_mdn": (lambda m: dc.PivotClassifier(4, adversary="mdn", lam=1.0), "dcorr_background", 0.5),
    "aspiration": (lambda m: dc.AspirationNetwork(4), "dcorr_background", 0.5),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_decorrelates_relative_to_the_plain_classifier(name, toy_sets, plain, tmp_path) -> None:
    make, metric, ratio = METHODS[name]
    train_set, validation = toy_sets
    data = dc.DecorrelationDataModule(train_set["x"], train_set["y"], train_set["m"])
    result = measure(train(lambda: make(train_set["m"]), data, tmp_path), validation)
    assert result[metric] < ratio * plain[metric]
    assert result["auc"] > 0.8  # still a classifier


def test_the_adversary_finds_the_dependence_that_the_aspiration_removes(toy_sets, plain, tmp_path) -> None:
    # with warmup_epochs = EPOCHS the classifier never sees the adversary: it sculpts like the plain one, and the
    # adversary learns to tell real from aspired pairs (BCE sum below 2 ln 2 = 1.386); with the adversarial term
    # the adversary stays near chance. Seeds 3-7: final loss 1.24-1.26 against 1.34-1.37, dCorr^2 >= 0.73 of plain.
    train_set, validation = toy_sets
    data = dc.DecorrelationDataModule(train_set["x"], train_set["y"], train_set["m"])
    final = {}
    for name, warmup in (("delayed", EPOCHS), ("active", 0)):
        archive = fit(
            lambda warmup=warmup: dc.AspirationNetwork(4, warmup_epochs=warmup),
            data,
            tmp_path / name,
            max_epochs=EPOCHS,
            seed=SEED,
            progress=False,
        )
        final[name] = float(archive.history["adversary_loss"].iloc[-1])
        if name == "delayed":
            assert measure(archive.load(), validation)["dcorr_background"] > 0.5 * plain["dcorr_background"]
    assert final["delayed"] < 1.3 < final["active"] < 2 * np.log(2) + 0.01


def test_conditional_aspiration_decorrelates_within_each_class(toy_sets, plain, tmp_path) -> None:
    # worst of seeds 3-7: 0.29 of the plain dCorr^2 on background, 0.28 on signal, AUC 0.957
    train_set, validation = toy_sets
    data = dc.DecorrelationDataModule(train_set["x"], train_set["y"], train_set["m"], components=train_set["y"])
    model = train(lambda: dc.AspirationNetwork(4, conditional=True, n_components=2), data, tmp_path)
    result = measure(model, validation)
    assert result["dcorr_background"] < 0.5 * plain["dcorr_background"]
    assert result["dcorr_signal"] < 0.5 * plain["dcorr_signal"]
    assert result["auc"] > 0.9


def test_one_adversary_decorrelates_two_protected_variables(toy_sets, plain, tmp_path) -> None:
    # one shared permutation of (m, mela); worst of seeds 3-8: 0.36 (m) and 0.30 (mela) of the plain dCorr^2
    train_set, validation = toy_sets
    both = np.column_stack([train_set["m"], train_set["mela"]])
    data = dc.DecorrelationDataModule(train_set["x"], train_set["y"], both)
    model = train(lambda: dc.AspirationNetwork(4, n_protected=2, lam=1.0), data, tmp_path)
    assert measure(model, validation)["dcorr_background"] < 0.5 * plain["dcorr_background"]
    assert measure(model, validation, protected="mela")["dcorr_background"] < 0.5 * plain["mela"]


def test_negative_weights_train_and_same_seed_gives_same_bytes(toy_sets, tmp_path) -> None:
    train_set, validation = toy_sets
    weights = np.where(np.arange(len(train_set["y"])) % 10 == 0, -0.2, 1.2)
    data = dc.DecorrelationDataModule(train_set["x"], train_set["y"], train_set["m"], weights)
    first = train(lambda: dc.AspirationNetwork(4), data, tmp_path / "first").predict(validation["x"])
    second = train(lambda: dc.AspirationNetwork(4), data, tmp_path / "second").predict(validation["x"])
    assert np.isfinite(first).all() and weighted_auc(validation["y"], first) > 0.8
    assert first.tobytes() == second.tobytes()


def test_epoch_metrics_fill_the_archive_history(toy_sets, tmp_path) -> None:
    train_set, validation = toy_sets
    data = dc.DecorrelationDataModule(train_set["x"], train_set["y"], train_set["m"])
    metrics = dc.epoch_metrics(validation["x"], validation["y"], validation["m"], bins=5)
    archive = fit(
        lambda: dc.DiscoClassifier(4), data, tmp_path, max_epochs=2, seed=SEED, progress=False, metrics=metrics
    )
    history = archive.history
    assert list(history.index) == [1, 2]
    for column in ("flatness_80", "flatness_90", "dcorr_background", "r50", "inv_jsd50", "auc", "penalty"):
        assert np.isfinite(history[column].astype(float)).all(), column
    assert (history["auc"] > 0.6).all() and history["auc"].iloc[-1] > 0.8 and (history["r50"] > 1).all()
    model = archive.load()
    assert metrics(model, 2)["flatness_80"] == pytest.approx(history["flatness_80"].iloc[-1])
    with pytest.raises(InputError, match="same percent"):
        dc.epoch_metrics(validation["x"], validation["y"], validation["m"], efficiencies=(0.8, 0.801))
