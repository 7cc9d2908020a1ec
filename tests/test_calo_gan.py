"""Tests of the calorimeter-shower GAN (hepnb.calo.gan) and its preprocessing (hepnb.calo.data)."""

from __future__ import annotations

import json
import warnings

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from hepnb.calo import gan as gan_module
from hepnb.calo.data import (
    MIDDLE_DETA,
    MIDDLE_DPHI,
    N_CELLS,
    N_CONDITION,
    CaloDataModule,
    Preprocessing,
    denormalise_cells,
    normalise_cells,
    split_train_reference,
)
from hepnb.calo.gan import (
    THESIS_PARAMETER_COUNTS,
    CaloGAN,
    Critic,
    EnergyCritic,
    Generator,
    TrainableSwish,
    count_parameters,
    gradient_penalty,
)
from hepnb.calo.networks import keras_init
from hepnb.errors import InputError

# Small networks where the test is about wiring, not the thesis shape: they keep the suite fast.
SMALL = {"latent_dim": 8, "generator_first_width": 16, "generator_width": 16, "generator_depth": 2, "critic_width": 16}


def synthetic_showers(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Toy showers on the thesis grid: energies 2^k MeV (in GeV), cells in MeV summing to ~0.95 E."""
    rng = np.random.default_rng(seed)
    energy = 2.0 ** rng.integers(10, 19, n) / 1e3
    fractions = rng.dirichlet(np.full(N_CELLS, 0.3), n)
    response = rng.normal(0.95, 0.02, n)
    return {
        "cells": fractions * (energy * response * 1e3)[:, None],
        "energy": energy,
        "p": rng.integers(0, 4, n),
        "e": rng.integers(0, 2, n),
        "deta": rng.uniform(-MIDDLE_DETA / 2, MIDDLE_DETA / 2, n),
        "dphi": rng.uniform(-MIDDLE_DPHI / 2, MIDDLE_DPHI / 2, n),
    }


def datamodule(n: int = 200, batch_size: int = 10, seed: int = 0) -> CaloDataModule:
    return CaloDataModule(
        **synthetic_showers(n, seed), batch_size=batch_size, seed=seed, energy_unit="GeV", cell_unit="MeV"
    )


def trainer(max_epochs: int = 1) -> L.Trainer:
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    return L.Trainer(
        max_epochs=max_epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        deterministic=True,
    )


# ------------------------------------------------------------------------------------------------ architecture
def test_parameter_counts_are_the_thesis_numbers() -> None:
    assert count_parameters(Generator()) == 337_499
    assert count_parameters(Critic()) == 68_481
    assert count_parameters(EnergyCritic()) == 34_561
    model = CaloGAN()
    counts = {name: count_parameters(getattr(model, name)) for name in THESIS_PARAMETER_COUNTS}
    assert counts == THESIS_PARAMETER_COUNTS
    # the 9 = one trainable Swish beta per hidden layer (428 + 8 x 128)
    swishes = [m for m in model.generator.modules() if isinstance(m, TrainableSwish)]
    assert len(swishes) == 9 and all(m.beta.numel() == 1 for m in swishes)
    assert CaloGAN(double_critic=False).energy_critic is None


def test_shapes_and_output_range() -> None:
    torch.manual_seed(0)
    generator, critic, energy_critic = Generator(), Critic(), EnergyCritic()
    z, c = 3 * torch.randn(50, 300), torch.randn(50, N_CONDITION)
    x = generator(z, c)
    assert x.shape == (50, N_CELLS)
    assert ((x > 0) & (x < 1)).all()
    assert critic(x, c).shape == (50,)
    assert torch.equal(energy_critic(x.sum(1), c), energy_critic(x.sum(1, keepdim=True), c))
    assert energy_critic(x.sum(1), c).shape == (50,)


def test_swish_is_x_sigmoid_beta_x() -> None:
    swish = TrainableSwish(beta=2.5)
    x = torch.linspace(-4, 4, 9)
    torch.testing.assert_close(swish(x), x / (1 + torch.exp(-2.5 * x)))


# ------------------------------------------------------------------------------------------------ gradient penalty
class LinearCritic(nn.Module):
    """D(x, c) = a . x + b . c: its gradient with respect to x has norm |a|, whatever b is."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return x @ self.a + condition @ self.b


def test_gradient_penalty_is_on_the_image_only() -> None:
    torch.manual_seed(1)
    real, fake, c = torch.rand(32, N_CELLS), torch.rand(32, N_CELLS), torch.randn(32, N_CONDITION)
    a = torch.full((N_CELLS,), 3.0 / np.sqrt(N_CELLS))  # |a| = 3 -> penalty (3 - 1)^2 = 4
    for b_scale in (0.0, 100.0):  # a steep slope in the condition must not be penalised
        critic = LinearCritic(a, torch.full((N_CONDITION,), b_scale))
        torch.testing.assert_close(gradient_penalty(critic, real, fake, c), torch.tensor(4.0))


def test_model_penalties_critic_on_cells_energy_critic_on_the_total() -> None:
    """Through CaloGAN.critic_losses: the energy critic's penalty acts on the scalar sum, not the 266 cells."""
    model = CaloGAN(**SMALL)
    model.critic = LinearCritic(torch.full((N_CELLS,), 0.5 / np.sqrt(N_CELLS)), torch.full((N_CONDITION,), 7.0))
    # D_E(s, c) = 2 s + 50 sum(c): penalty (2 - 1)^2 = 1; through the cells it would be (2 sqrt(266) - 1)^2
    model.energy_critic = LinearCritic(torch.tensor([2.0]), torch.full((N_CONDITION,), 50.0))
    torch.manual_seed(2)
    real, fake, c = torch.rand(16, N_CELLS), torch.rand(16, N_CELLS), torch.randn(16, N_CONDITION)
    losses = model.critic_losses(real, fake, c, torch.rand(16, 1))
    torch.testing.assert_close(losses["critic_gp"], torch.tensor(0.25))
    torch.testing.assert_close(losses["energy_critic_gp"], torch.tensor(1.0))
    # losses are E[D(fake)] - E[D(real)] + weight * GP, with the thesis weights 10 and 1e-8
    w = model.critic(real, c).mean() - model.critic(fake, c).mean()
    torch.testing.assert_close(losses["critic_loss"], -w + 10 * 0.25)
    energy_critic = model.energy_critic
    w_e = energy_critic(real.sum(1, keepdim=True), c).mean() - energy_critic(fake.sum(1, keepdim=True), c).mean()
    torch.testing.assert_close(w_e, 2 * (real.sum(1).mean() - fake.sum(1).mean()), rtol=0, atol=1e-4)
    torch.testing.assert_close(losses["energy_critic_loss"], -w_e + 1e-8)


def test_generator_loss_weights_and_activity() -> None:
    model = CaloGAN(**SMALL)
    model.critic = LinearCritic(torch.full((N_CELLS,), 1.0), torch.zeros(N_CONDITION))
    model.energy_critic = LinearCritic(torch.tensor([1000.0]), torch.zeros(N_CONDITION))
    generated, c = torch.rand(8, N_CELLS), torch.zeros(8, N_CONDITION)
    total = generated.sum(1)
    losses = model.generator_losses(generated, c)
    activity = 1e-5 * total.sum()  # summed over batch and cells, as Keras 2.0.8
    expected = -total.mean() - 1e-6 * 1000 * total.mean() + activity
    torch.testing.assert_close(losses["generator_loss"], expected)
    torch.testing.assert_close(losses["generator_activity"], activity)


# ------------------------------------------------------------------------------------------------ training
@pytest.mark.parametrize("double_critic", [True, False])
def test_training_runs_changes_weights_and_logs_finite_losses(double_critic: bool) -> None:
    dm = datamodule(n=200, batch_size=10)  # 100 training showers: 10 critic steps, 2 generator steps
    L.seed_everything(0, verbose=False)
    model = CaloGAN(preprocessing=dm.preprocessing.to_dict(), double_critic=double_critic, lr=1e-4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit = trainer()
    fit.fit(model, datamodule=dm)
    after = model.state_dict()
    assert set(before) == set(after)
    for prefix in ("generator.", "critic.", "energy_critic."):
        names = [k for k in before if k.startswith(prefix)]
        assert bool(names) == (double_critic or prefix != "energy_critic.")
        if names:
            assert any(not torch.equal(before[k], after[k]) for k in names), f"{prefix} did not train"
    # 10 batches: 10 updates of each critic, 10 / n_critic = 2 of the generator
    steps = [int(next(iter(opt.state.values()))["step"]) for opt in model.optimizers(use_pl_optimizer=False)]
    assert steps == ([2, 10, 10] if double_critic else [2, 10])
    expected = {"critic_loss", "critic_gp", "wasserstein", "generator_loss", "generator_activity"}
    energy = {"energy_critic_loss", "energy_critic_gp", "energy_wasserstein"}
    metrics = fit.callback_metrics
    assert set(metrics) == (expected | energy if double_critic else expected)
    assert all(torch.isfinite(v) for v in metrics.values())


def test_training_is_reproducible_and_checkpoint_rebuilds(tmp_path) -> None:
    dm = datamodule(n=100, batch_size=10)
    outputs = []
    for _ in range(2):
        L.seed_everything(3, verbose=False)
        model = CaloGAN(preprocessing=dm.preprocessing.to_dict(), **SMALL)
        fit = trainer()
        fit.fit(model, datamodule=dm)
        outputs.append(
            model.generate(
                dm.reference.energy, dm.reference.p, dm.reference.e, dm.reference.deta, dm.reference.dphi, seed=5
            )
        )
    assert outputs[0].tobytes() == outputs[1].tobytes()
    fit.save_checkpoint(tmp_path / "model.ckpt")
    loaded = CaloGAN.load_from_checkpoint(tmp_path / "model.ckpt", weights_only=True)  # tensors, plain values
    again = loaded.generate(
        dm.reference.energy, dm.reference.p, dm.reference.e, dm.reference.deta, dm.reference.dphi, seed=5
    )
    assert again.tobytes() == outputs[1].tobytes()


def test_fit_refuses_a_model_with_other_preprocessing() -> None:
    dm = datamodule(n=60, batch_size=10)
    model = CaloGAN(**SMALL)  # thesis-default constants, not the data module's
    with pytest.raises(InputError, match="preprocessing"):
        trainer().fit(model, datamodule=dm)


# ------------------------------------------------------------------------------------------------ generation
@pytest.fixture(scope="module")
def model() -> CaloGAN:
    return CaloGAN(preprocessing=Preprocessing.thesis_default(cell_unit="MeV").to_dict(), seed=4)


def test_generate_is_deterministic_and_in_physical_units(model: CaloGAN) -> None:
    showers = synthetic_showers(10_000, seed=1)
    args = [showers[k] for k in ("energy", "p", "e", "deta", "dphi")]
    model.train()
    first = model.generate(*args, seed=7)
    assert model.training  # mode restored
    assert first.shape == (10_000, N_CELLS) and first.dtype == np.float64
    assert first.tobytes() == model.generate(*args, seed=7).tobytes()
    assert not np.array_equal(first[:5], model.generate(*[a[:5] for a in args], seed=8))
    # physical units: cells in MeV = sigmoid fractions x E_true[GeV] x 1000
    fractions = first / (showers["energy"][:, None] * 1e3)
    assert ((fractions > 0) & (fractions < 1)).all()
    # the latent vectors are a numpy stream: the first 300 showers get the same ones; the chunk size only changes
    # float32 rounding
    np.testing.assert_allclose(model.generate(*[a[:300] for a in args], seed=7, batch_size=64), first[:300], rtol=1e-5)


def reference_generate(model: CaloGAN, args: list[np.ndarray], seed: int, batch_size: int) -> np.ndarray:
    """The plain computation: the generator module on numpy's float64 latents rounded to float32, chunk by chunk,
    then ``Preprocessing.denormalise`` in float64 (what ``generate`` did before its lean path)."""
    n = len(args[0])
    z = torch.as_tensor(np.random.default_rng(seed).standard_normal((n, model.hparams.latent_dim)), dtype=torch.float32)
    c = torch.as_tensor(model.preprocessing.condition(*args))
    with torch.no_grad():
        normalised = [model.generator(z[i : i + batch_size], c[i : i + batch_size]) for i in range(0, n, batch_size)]
    return model.preprocessing.denormalise(torch.cat(normalised).double().numpy(), args[0])


@pytest.mark.parametrize(("n", "batch_size"), [(2500, 8192), (2500, 1100), (9, 1), (40, 7)])
def test_lean_generate_equals_the_generator_on_the_same_latents(model: CaloGAN, n: int, batch_size: int) -> None:
    showers = synthetic_showers(n, seed=2)
    args = [showers[k] for k in ("energy", "p", "e", "deta", "dphi")]
    lean = model.generate(*args, seed=3, batch_size=batch_size)
    reference = reference_generate(model, args, 3, batch_size)
    assert lean.dtype == np.float64
    np.testing.assert_allclose(lean, reference, rtol=1e-5, atol=0)
    # the same bytes where each chunk is one pass (chunks under 2048 rows); a longer chunk runs in passes of 1024 rows,
    # the same bytes at one thread (measured: MKL on x86-64), else float32 rounding (other blocking of the products)
    if batch_size < 2048 or torch.get_num_threads() == 1:
        assert lean.tobytes() == reference.tobytes()


def test_generator_infer_is_forward_in_place() -> None:
    generator = Generator()  # the thesis shape: 309 -> 428 -> 8 x 128 -> 266
    keras_init(generator, torch.Generator().manual_seed(1))
    z, c = torch.randn(64, 300), torch.rand(64, N_CONDITION)
    with torch.no_grad():
        expected = generator(z, c)
    generator.train()
    assert torch.equal(generator.infer(torch.cat([z, c], dim=1)), expected)
    assert generator.training  # left as it was
    with torch.no_grad():  # in-place weight updates (an optimiser step) are seen: nothing is cached
        generator.output_layer.bias.add_(1.0)
    assert not torch.equal(generator.infer(torch.cat([z, c], dim=1)), expected)
    # a layer parametrised after construction (its weight computed, not stored) goes through its own call
    torch.nn.utils.parametrizations.weight_norm(generator.net[2])
    with torch.no_grad():
        expected = generator(z, c)
    assert torch.equal(generator.infer(torch.cat([z, c], dim=1)), expected)


def test_generate_refuses_a_generator_with_nan_weights() -> None:
    broken = CaloGAN(**SMALL)
    with torch.no_grad():
        broken.generator.output_layer.bias.fill_(float("nan"))
    with pytest.raises(InputError, match="NaN cells"):
        broken.generate(65.536, 0, 0, 0.0, 0.0)


def test_generate_single_shower_and_broadcasting(model: CaloGAN) -> None:
    one = model.generate(65.536, 2, 1, 0.003, -0.004, seed=0)
    assert one.shape == (1, N_CELLS) and np.isfinite(one).all()
    many = model.generate(np.full(4, 65.536), 2, 1, 0.003, -0.004, seed=0)
    assert many.shape == (4, N_CELLS)
    np.testing.assert_allclose(many[0], one[0], rtol=1e-5)  # same latent vector, other float32 rounding
    with pytest.raises(InputError, match="broadcast"):
        model.generate(np.ones(3), np.zeros(2, int), 0, 0.0, 0.0)
    with pytest.raises(InputError, match="integer in 0..3"):
        model.generate(10.0, 4, 0, 0.0, 0.0)
    with pytest.raises(InputError, match="NaN"):
        model.generate(np.nan, 0, 0, 0.0, 0.0)
    with pytest.raises(InputError, match="numeric"):  # a ragged list
        model.generate([[65.536, 65.536], [65.536]], 0, 0, 0.0, 0.0)
    with pytest.raises(InputError, match=r"energy has a number too large for float64 .*rescale it"):
        model.generate([65.536, 10**400], 0, 0, 0.0, 0.0)  # numpy alone raises a bare OverflowError
    assert model.generate(np.array([]), 0, 0, 0.0, 0.0).shape == (0, N_CELLS)


PLAIN_INPUTS = {  # (energy [GeV], p, e, deta, dphi): the forms the cheap input checks take
    "numbers": (65.536, 2, 1, 0.003, -0.004),
    "integer energy": (65, 3, 0, 0, 0.001),
    "one-element arrays": (np.full(1, 65.536), np.array([2]), np.array([1]), np.array([0.003]), np.array([-0.004])),
    "0-d arrays": (np.float64(65.536), np.int64(2), np.array(1, np.uint8), np.float32(0.003), np.array(-0.004)),
    "arrays and numbers": (np.geomspace(1.5, 250.0, 37), np.arange(37) % 4, 1, np.linspace(-0.012, 0.012, 37), 0.0),
    "lists and float32": ([2.048, 4.096, 8.192], [0, 1, 3], [1, 0, 1], np.float32([0.01, -0.01, 0.0]), [0.0] * 3),
}


@pytest.mark.parametrize("form", PLAIN_INPUTS)
def test_cheap_input_checks_give_the_bytes_of_the_full_checks(model: CaloGAN, monkeypatch, form: str) -> None:
    args = PLAIN_INPUTS[form]
    plain = gan_module._plain_truth(model.preprocessing, args, False)
    assert plain is not None  # the cheap checks take them
    lean = model.generate(*args, seed=3, batch_size=16)
    monkeypatch.setattr(gan_module, "_plain_truth", lambda *_: None)  # the full checks and broadcasting
    full = model.generate(*args, seed=3, batch_size=16)
    assert lean.shape == full.shape and lean.tobytes() == full.tobytes()
    # the condition rows are those of the public, checked Preprocessing.condition (offset means that are not 0 make
    # a float32 offset give other numbers unless it is taken as float64 first)
    truth = [np.broadcast_to(a, full.shape[:1]) for a in args]
    rows = np.empty((len(full), N_CONDITION), dtype=np.float32)
    pre = Preprocessing.from_dict({**model.preprocessing.to_dict(), "deta_mean": 1e-3, "dphi_mean": -3e-3})
    assert pre.fill_condition(rows, *plain).tobytes() == pre.condition(*truth).tobytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 0, 0, 0.0, 0.0), "positive"),
        ((-65.536, 0, 0, 0.0, 0.0), "positive"),
        ((np.inf, 0, 0, 0.0, 0.0), "infinite"),
        ((np.array([65.536, np.nan]), 0, 0, 0.0, 0.0), "NaN"),
        ((1e300, 0, 0, 0.0, 0.0), "extrapolate=True"),
        ((65.536, 4, 0, 0.0, 0.0), "integer in 0..3"),
        ((65.536, -1, 0, 0.0, 0.0), "integer in 0..3"),
        ((65.536, 1.5, 0, 0.0, 0.0), "integer in 0..3"),
        ((65.536, np.array([0, 1, 4]), 0, 0.0, 0.0), "integer in 0..3"),
        ((65.536, 0, 2, 0.0, 0.0), "integer in 0..1"),
        ((65.536, 0, 0, 0.2, 0.0), "relative to the centre"),
        ((65.536, 0, 0, 0.0, -0.05), "in radians"),
        ((65.536, 0, 0, np.nan, 0.0), "NaN"),
        ((65.536 + 1j, 0, 0, 0.0, 0.0), "complex"),
        ((np.full(3, 65.536), np.zeros(2, int), 0, 0.0, 0.0), "broadcast"),
        (([[65.536, 65.536], [65.536]], 0, 0, 0.0, 0.0), "numeric"),
    ],
)
def test_bad_inputs_take_the_full_checks(model: CaloGAN, args: tuple, message: str) -> None:
    assert gan_module._plain_truth(model.preprocessing, args, False) is None
    with pytest.raises(InputError, match=message):
        model.generate(*args)


def test_generate_accepts_what_the_cheap_checks_leave_to_the_full_ones(model: CaloGAN) -> None:
    # float alignments, bools and 2-d arrays are valid input that the cheap checks hand on
    plain = model.generate(np.full((2, 2), 65.536), 1, 1, 0.0, 0.0, seed=2)
    assert gan_module._plain_truth(model.preprocessing, (65.536, 1.0, True, 0.0, 0.0), False) is None
    assert model.generate(np.full((2, 2), 65.536), 1.0, True, 0.0, 0.0, seed=2).tobytes() == plain.tobytes()
    assert plain.shape == (4, N_CELLS)


def test_rebuilt_from_hparams_and_state_dict_generates_identical_output(model: CaloGAN) -> None:
    hparams = json.loads(json.dumps(dict(model.hparams)))  # everything is JSON-serialisable
    rebuilt = CaloGAN(**{**hparams, "seed": 99})  # other initial weights, replaced by the state dict
    rebuilt.load_state_dict(model.state_dict())
    args = (
        np.array([1.024, 16.384, 262.144]),
        np.array([0, 1, 3]),
        np.array([1, 0, 1]),
        np.array([0.01, -0.002, 0.0]),
        np.array([0.0, 0.005, -0.01]),
    )
    assert rebuilt.generate(*args, seed=11).tobytes() == model.generate(*args, seed=11).tobytes()
    assert rebuilt.preprocessing == model.preprocessing


def test_hparams_validation() -> None:
    with pytest.raises(InputError, match="n_critic"):
        CaloGAN(n_critic=0)
    with pytest.raises(InputError, match="optimizer"):
        CaloGAN(optimizer="sgd")
    with pytest.raises(InputError, match="unknown preprocessing keys"):
        CaloGAN(preprocessing={"mean": 1.0})


# ------------------------------------------------------------------------------------------------ preprocessing
def test_normalisation_inverts_exactly() -> None:
    showers = synthetic_showers(500, seed=2)
    cells_mev, energy_mev = showers["cells"], showers["energy"] * 1e3  # 2^k MeV: a power of two
    x = normalise_cells(cells_mev, energy_mev, energy_unit="MeV", cell_unit="MeV")
    np.testing.assert_allclose(x.sum(1), cells_mev.sum(1) / energy_mev, rtol=1e-13)
    assert np.array_equal(denormalise_cells(x, energy_mev, energy_unit="MeV", cell_unit="MeV"), cells_mev)
    # any energy, mixed units: exact up to one rounding
    energy = np.random.default_rng(3).uniform(1, 300, 500)
    x = normalise_cells(cells_mev, energy, energy_unit="GeV", cell_unit="MeV")
    back = denormalise_cells(x, energy, energy_unit="GeV", cell_unit="MeV")
    np.testing.assert_allclose(back, cells_mev, rtol=2.3e-16, atol=0)


def test_condition_vector_columns() -> None:
    dm = datamodule(n=400)
    pre, train = dm.preprocessing, dm.train
    c = pre.condition(train.energy, train.p, train.e, train.deta, train.dphi)
    assert c.shape == (200, N_CONDITION) and c.dtype == np.float32
    for column in (0, 7, 8):  # standardised on the training half
        assert abs(c[:, column].mean()) < 1e-6 and abs(c[:, column].std() - 1) < 1e-5
    np.testing.assert_allclose(c[:, 0] * pre.log_energy_std + pre.log_energy_mean, np.log(train.energy), atol=1e-6)
    np.testing.assert_array_equal(c[:, 1:5].argmax(1), train.p)
    np.testing.assert_array_equal(c[:, 5:7].argmax(1), train.e)
    assert (c[:, 1:5].sum(1) == 1).all() and (c[:, 5:7].sum(1) == 1).all()
    # the unit of the energy does not change the condition
    same = Preprocessing.from_dict({**pre.to_dict(), "energy_unit": "MeV"})
    np.testing.assert_allclose(
        same.condition(train.energy * 1e3, train.p, train.e, train.deta, train.dphi), c, atol=1e-6
    )
    default = Preprocessing.thesis_default()
    np.testing.assert_allclose(default.log_energy_std, np.log(2) * np.sqrt(60 / 9))
    np.testing.assert_allclose(default.log_energy_mean, np.log(16.384))


def test_split_is_half_disjoint_and_seeded() -> None:
    train, reference = split_train_reference(101, seed=4)
    assert len(train) == 50 and len(reference) == 51
    assert np.array_equal(np.sort(np.concatenate([train, reference])), np.arange(101))
    again = split_train_reference(101, seed=4)
    assert np.array_equal(train, again[0]) and not np.array_equal(train, split_train_reference(101, seed=5)[0])


def test_data_module_batches() -> None:
    dm = datamodule(n=200, batch_size=16)
    batches = list(dm.train_dataloader())
    assert len(batches) == 100 // 16
    x, c = batches[0]
    assert x.shape == (16, N_CELLS) and c.shape == (16, N_CONDITION)
    assert x.dtype == torch.float32 and (x >= 0).all()
    # each row is a training shower's cells over its E_true (cells in MeV, energy in GeV), and column 0 of the
    # condition is that shower's standardised log energy
    train = dm.train
    expected = train.cells / (train.energy * 1e3)[:, None]
    for x, c in batches:
        x = x.double().numpy()
        rows = ((x[:, None, :] - expected[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        np.testing.assert_allclose(x, expected[rows], rtol=1e-6, atol=1e-9)
        log_e = c[:, 0].double().numpy() * dm.preprocessing.log_energy_std + dm.preprocessing.log_energy_mean
        np.testing.assert_allclose(np.exp(log_e), train.energy[rows], rtol=1e-5)
    np.testing.assert_allclose(dm.reference.cells, synthetic_showers(200)["cells"][dm.reference_index])


def test_data_module_refuses_bad_input() -> None:
    good = synthetic_showers(100)
    cases = [
        ({"cells": np.where(np.arange(N_CELLS) == 5, np.nan, good["cells"])}, "NaN"),
        ({"energy": good["energy"][:-1]}, "same length"),
        ({"dphi": good["dphi"][:-3]}, "same length"),
        ({"cells": good["cells"][:, :200]}, "266 columns"),
        ({"p": np.full(100, 4)}, "integer in 0..3"),
        ({"e": np.full(100, 0.5)}, "integer in 0..1"),
        ({"energy": -good["energy"]}, "positive"),
        ({"deta": good["deta"] + 0.2}, "relative to the centre"),
        ({"energy": good["energy"] * 1e3}, "different units"),  # energy in MeV declared as GeV
    ]
    for change, message in cases:
        with pytest.raises(InputError, match=message):
            CaloDataModule(**{**good, **change}, batch_size=10, energy_unit="GeV", cell_unit="MeV")
    with pytest.raises(InputError, match="fewer than one batch"):
        CaloDataModule(**good, batch_size=64, energy_unit="GeV", cell_unit="MeV")
    with pytest.raises(InputError, match="energy unit"):
        CaloDataModule(**good, energy_unit="TeV")


def test_negative_cells_are_clipped() -> None:
    showers = synthetic_showers(100)
    showers["cells"][:, 0] = -5.0
    dm = CaloDataModule(**showers, batch_size=10, energy_unit="GeV", cell_unit="MeV")
    assert (dm.train.cells[:, 0] == 0).all()
    kept = CaloDataModule(**showers, batch_size=10, energy_unit="GeV", cell_unit="MeV", clip_negative=False)
    assert (kept.train.cells[:, 0] == -5).all()
