"""The double-critic conditional WGAN-GP of the ATLAS photon-shower study (thesis §5.4).

Three dense networks share the 9-column condition vector ``c`` of :mod:`hepnb.calo.data`
(standardised ln E, one-hot p (4), one-hot e (2), standardised d_eta and d_phi):

- :class:`Generator`: ``[z (300), c (9)] = 309 -> 428 -> 8 x 128 -> 266``, a trainable Swish
  ``x * sigmoid(beta x)`` with one beta per hidden layer, sigmoid output, L1 activity regulariser 1e-5.
  Parameters: 309*428+428 + 428*128+128 + 7*(128*128+128) + 128*266+266 + 9 betas = **337,499**.
- :class:`Critic`: ``[x (266), c (9)] = 275 -> 3 x 128 LeakyReLU(0.3) -> 1`` (linear output).
  Parameters: 275*128+128 + 2*(128*128+128) + 128+1 = **68,481**.
- :class:`EnergyCritic`: ``[sum(x) (1), c (9)] = 10 -> 3 x 128 LeakyReLU(0.3) -> 1``.
  Parameters: 10*128+128 + 2*(128*128+128) + 128+1 = **34,561**.

Losses (Eq. 4.6 and 5.3, with the generator *maximising* the critic scores):

- critic: ``E[D(x~, c)] - E[D(x, c)] + 10 * GP``, the two-sided gradient penalty taken with respect to the image
  only (the condition is a constant input, so the critics may be arbitrarily sharp in ``c``);
- energy critic: the same on the scalar totals ``s = sum(x)``, with the interpolate ``s^ = eps s + (1-eps) s~`` built
  as its own leaf so that the penalty (weight 1e-8) acts on the scalar and not on the 266 cells;
- generator: ``-E[D(G(z,c),c)] - 1e-6 E[D_E(sum G(z,c), c)] + 1e-5 * sum|G|``, the sum of the generator's
  output running over the batch and the cells as Keras 2.0.8's activity regulariser did (``activity_reduction``).

Training: 5 critic updates (both critics, each on a fresh minibatch of 64) per generator update (the generator
steps on every 5th batch of an epoch, so the last ``n_batches % 5`` batches of an epoch train the critics only), RMSProp
lr = 1e-5, rho = 0.9, eps = 1e-7 (the Keras values of the thesis). Weights start as in Keras (Glorot-uniform
kernels, zero biases, beta = 1), drawn from ``seed``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from hepnb.calo.data import N_CELLS, N_CONDITION, Preprocessing
from hepnb.errors import InputError, as_finite_array

__all__ = [
    "TrainableSwish",
    "Generator",
    "Critic",
    "EnergyCritic",
    "CaloGAN",
    "gradient_penalty",
    "count_parameters",
    "CPU_FAST",
    "ENERGY_MARGIN",
    "THESIS_PARAMETER_COUNTS",
]

THESIS_PARAMETER_COUNTS = {"generator": 337_499, "critic": 68_481, "energy_critic": 34_561}
"""Trainable parameters quoted in the thesis (§5.4.3)."""

ENERGY_MARGIN = 1.25
"""Factor by which ``CaloGAN.generate`` may leave the trained energy range without ``extrapolate=True``."""

CPU_FAST: dict[str, Any] = {"optimizer": "rmsprop", "lr": 1e-4}
"""A faster schedule for CPU trainings of 10^2-10^3 epochs [not in the thesis]: RMSProp at 10x the thesis rate.

The thesis ran 25000 epochs (3.4e6 generator steps) at lr = 1e-5; a CPU budget is 100-1000 times fewer steps, so the
rate is raised. Use as ``CaloGAN(preprocessing=..., **CPU_FAST)``. Adam (``optimizer="adam"``) is the thesis's choice
for quick small-data experiments only.
"""


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class TrainableSwish(nn.Module):
    """Swish ``x * sigmoid(beta * x)`` (thesis Eq. 5.4) with one trainable ``beta`` for the whole layer."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(float(beta)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.beta * x)


def _keras_init(module: nn.Module, generator: torch.Generator) -> None:
    """Glorot-uniform kernels and zero biases (the Keras defaults of the thesis), drawn from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight, generator=generator)
            nn.init.zeros_(layer.bias)


class Generator(nn.Module):
    """``[z, c] -> first_width -> depth x width -> n_cells``: trainable Swish after every hidden layer, sigmoid output.

    Parameters
    ----------
    latent_dim
        Size of the N(0, 1) latent vector (300).
    n_condition
        Columns of the condition vector (9).
    first_width, width, depth
        The first hidden layer (428) and the ``depth`` (8) hidden layers of ``width`` (128) after it.
    n_cells
        Output cells (266); each in (0, 1), a fraction of the true energy.
    """

    def __init__(
        self,
        latent_dim: int = 300,
        n_condition: int = N_CONDITION,
        first_width: int = 428,
        width: int = 128,
        depth: int = 8,
        n_cells: int = N_CELLS,
    ) -> None:
        super().__init__()
        self.latent_dim, self.n_condition = latent_dim, n_condition
        layers: list[nn.Module] = [nn.Linear(latent_dim + n_condition, first_width), TrainableSwish()]
        previous = first_width
        for _ in range(depth):
            layers += [nn.Linear(previous, width), TrainableSwish()]
            previous = width
        layers += [nn.Linear(previous, n_cells), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    @property
    def output_layer(self) -> nn.Linear:
        """The last dense layer (before the sigmoid)."""
        return self.net[-2]

    def forward(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Normalised cells [N, n_cells] in (0, 1) for latent ``z`` [N, latent_dim] and ``condition`` [N, 9]."""
        return self.net(torch.cat([z, condition], dim=1))


class Critic(nn.Module):
    """``[x, c] -> depth x width LeakyReLU -> 1``: the Wasserstein score of image ``x`` given ``c``.

    Parameters
    ----------
    n_inputs
        Size of the (image) input the gradient penalty acts on: 266 cells.
    n_condition
        Columns of the condition vector (9).
    width, depth
        Hidden layers (3 x 128).
    negative_slope
        LeakyReLU slope (0.3, the Keras default the thesis used).
    """

    def __init__(
        self,
        n_inputs: int = N_CELLS,
        n_condition: int = N_CONDITION,
        width: int = 128,
        depth: int = 3,
        negative_slope: float = 0.3,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = n_inputs + n_condition
        for _ in range(depth):
            layers += [nn.Linear(previous, width), nn.LeakyReLU(negative_slope)]
            previous = width
        layers.append(nn.Linear(previous, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Scores [N] for inputs ``x`` [N, n_inputs] and ``condition`` [N, n_condition]."""
        return self.net(torch.cat([x, condition], dim=1)).squeeze(1)


class EnergyCritic(Critic):
    """The second critic: sees only the shower total ``sum(x)`` (one input) and the condition."""

    def __init__(
        self, n_condition: int = N_CONDITION, width: int = 128, depth: int = 3, negative_slope: float = 0.3
    ) -> None:
        super().__init__(1, n_condition, width, depth, negative_slope)

    def forward(self, total: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Scores [N] for shower totals ``total`` ([N] or [N, 1]) and ``condition`` [N, n_condition]."""
        return super().forward(total.reshape(-1, 1), condition)


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    condition: torch.Tensor,
    epsilon: torch.Tensor | None = None,
) -> torch.Tensor:
    """Two-sided WGAN-GP penalty ``E[(||grad_x^ D(x^, c)||_2 - 1)^2]`` with respect to the image input only.

    ``x^ = eps * real + (1 - eps) * fake`` is built as a new leaf from detached inputs, and ``condition`` enters
    as a constant, so neither the condition nor anything upstream of ``real``/``fake`` (for the energy critic: the
    266 cells behind a total) is penalised.

    Parameters
    ----------
    critic
        Called as ``critic(x, condition)``, returning one score per row.
    real, fake
        Images [N, k] (k = 266 cells, or 1 for the shower total).
    condition
        [N, n_condition].
    epsilon
        Interpolation weights [N, 1]; uniform in [0, 1) from the global torch RNG if None.
    """
    real, fake = real.detach(), fake.detach()
    if epsilon is None:
        epsilon = torch.rand(len(real), 1, device=real.device, dtype=real.dtype)
    mixed = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
    score = critic(mixed, condition.detach())
    (grad,) = torch.autograd.grad(score.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


@contextlib.contextmanager
def _frozen(*modules: nn.Module | None) -> Iterator[None]:
    """Switch off parameter gradients of ``modules`` (the critics during a generator step)."""
    params = [p for m in modules if m is not None for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


class CaloGAN(L.LightningModule):
    """Conditional WGAN-GP for 266-cell photon showers, with the thesis's second (energy) critic.

    Every argument is a JSON-serialisable hyper-parameter (``save_hyperparameters``), so
    ``CaloGAN(**model.hparams)`` plus the state dict, or ``CaloGAN.load_from_checkpoint``, rebuilds the model.
    Defaults are the thesis values (§5.4.3-5.4.4).

    Parameters
    ----------
    preprocessing
        ``Preprocessing.to_dict()`` of the training data (``CaloDataModule.preprocessing``); None stores the
        thesis-grid constants (``Preprocessing.thesis_default()``).
    double_critic
        Train the energy critic alongside the critic (the thesis model); False gives the single-critic ablation
        (same generator, no energy critic, generator loss ``-E[D]`` + activity term).
    latent_dim, generator_first_width, generator_width, generator_depth
        Generator shape: 300, 428, 128, 8.
    critic_width, critic_depth, leaky_slope
        Shape of both critics: 128, 3, LeakyReLU slope 0.3.
    gp_weight, energy_gp_weight
        Gradient-penalty weights of the critic (10) and of the energy critic (1e-8).
    energy_loss_weight
        Weight of the energy critic in the generator loss (1e-6; the critic's weight is 1).
    l1_activity, activity_reduction
        L1 activity regulariser on the generator output (1e-5), summed over batch and cells (``"sum"``, Keras
        2.0.8) or summed over cells and averaged over the batch (``"mean"``).
    n_critic
        Critic updates (each on its own minibatch) per generator update (5).
    optimizer, lr
        ``"rmsprop"`` (thesis) or ``"adam"``, learning rate of all three networks (1e-5; see ``CPU_FAST``).
    rmsprop_alpha, eps
        RMSProp smoothing constant and epsilon (Keras: 0.9 and 1e-7; PyTorch's own defaults differ).
    adam_beta1, adam_beta2
        Adam betas, used only with ``optimizer="adam"``.
    output_bias
        Initial bias of the generator's output layer (0 in Keras); ``log(f / (1 - f))`` starts every cell at the
        fraction ``f``, a CPU shortcut [not in the thesis].
    seed
        Seeds the initial weights.

    Notes
    -----
    ``preprocessing`` is also available as a :class:`~hepnb.calo.data.Preprocessing` attribute; ``fit`` refuses
    a data module whose constants differ from it. Logged each epoch (``trainer.callback_metrics``, epoch means):
    ``critic_loss``, ``critic_gp``, ``wasserstein``, ``energy_critic_loss``, ``energy_critic_gp``,
    ``energy_wasserstein`` (double critic only), ``generator_loss``, ``generator_activity``; the penalties are
    logged unweighted, the Wasserstein estimates as ``E[D(real)] - E[D(fake)]``.
    """

    def __init__(
        self,
        *,
        preprocessing: dict[str, Any] | None = None,
        double_critic: bool = True,
        latent_dim: int = 300,
        generator_first_width: int = 428,
        generator_width: int = 128,
        generator_depth: int = 8,
        critic_width: int = 128,
        critic_depth: int = 3,
        leaky_slope: float = 0.3,
        gp_weight: float = 10.0,
        energy_gp_weight: float = 1e-8,
        energy_loss_weight: float = 1e-6,
        l1_activity: float = 1e-5,
        activity_reduction: str = "sum",
        n_critic: int = 5,
        optimizer: str = "rmsprop",
        lr: float = 1e-5,
        rmsprop_alpha: float = 0.9,
        eps: float = 1e-7,
        adam_beta1: float = 0.5,
        adam_beta2: float = 0.9,
        output_bias: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if n_critic < 1:
            raise InputError(f"n_critic={n_critic} must be a positive number of critic steps per generator step")
        if optimizer not in ("rmsprop", "adam"):
            raise InputError(f"optimizer={optimizer!r} must be 'rmsprop' or 'adam'")
        if activity_reduction not in ("sum", "mean"):
            raise InputError(f"activity_reduction={activity_reduction!r} must be 'sum' or 'mean'")
        for name, value in (("gp_weight", gp_weight), ("energy_gp_weight", energy_gp_weight),
                            ("energy_loss_weight", energy_loss_weight), ("l1_activity", l1_activity)):
            if not value >= 0:
                raise InputError(f"{name}={value} must be non-negative")
        if not lr > 0:
            raise InputError(f"lr={lr} must be positive")
        if preprocessing is None:
            preprocessing = Preprocessing.thesis_default().to_dict()
        self.preprocessing = Preprocessing.from_dict(dict(preprocessing))
        self.save_hyperparameters()
        self.hparams["preprocessing"] = self.preprocessing.to_dict()
        self.automatic_optimization = False

        self.generator = Generator(latent_dim, N_CONDITION, generator_first_width, generator_width, generator_depth)
        self.critic = Critic(N_CELLS, N_CONDITION, critic_width, critic_depth, leaky_slope)
        self.energy_critic = (
            EnergyCritic(N_CONDITION, critic_width, critic_depth, leaky_slope) if double_critic else None
        )
        init = torch.Generator().manual_seed(seed)
        for net in (self.generator, self.critic, self.energy_critic):
            if net is not None:
                _keras_init(net, init)
        nn.init.constant_(self.generator.output_layer.bias, output_bias)

    # ------------------------------------------------------------------------------------------------ training
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams

        def make(module: nn.Module) -> torch.optim.Optimizer:
            if hp.optimizer == "adam":
                return torch.optim.Adam(module.parameters(), lr=hp.lr, betas=(hp.adam_beta1, hp.adam_beta2),
                                        eps=hp.eps)
            return torch.optim.RMSprop(module.parameters(), lr=hp.lr, alpha=hp.rmsprop_alpha, eps=hp.eps)

        nets = [self.generator, self.critic] + ([self.energy_critic] if self.energy_critic is not None else [])
        return [make(net) for net in nets]

    def on_fit_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        theirs = getattr(datamodule, "preprocessing", None)
        if isinstance(theirs, Preprocessing) and theirs != self.preprocessing:
            raise InputError(
                "the data module's preprocessing constants differ from the model's; build the model with "
                "CaloGAN(preprocessing=datamodule.preprocessing.to_dict(), ...)"
            )

    def critic_losses(
        self, real: torch.Tensor, fake: torch.Tensor, condition: torch.Tensor, epsilon: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Losses of the critic (and energy critic) on one batch of normalised cells.

        The critic's penalty (weight ``gp_weight``) is on the 266 cells; the energy critic gets the totals as
        independent inputs, so its penalty (weight ``energy_gp_weight``) is on the scalar total alone.

        Returns
        -------
        dict
            ``critic_loss``, ``critic_gp`` (unweighted), ``wasserstein`` (E[D(real)] - E[D(fake)]) and, with the
            energy critic, ``energy_critic_loss``, ``energy_critic_gp``, ``energy_wasserstein``.
        """
        hp = self.hparams
        fake = fake.detach()
        wasserstein = self.critic(real, condition).mean() - self.critic(fake, condition).mean()
        penalty = gradient_penalty(self.critic, real, fake, condition, epsilon)
        out = {"critic_loss": -wasserstein + hp.gp_weight * penalty, "critic_gp": penalty, "wasserstein": wasserstein}
        if self.energy_critic is not None:
            real_total, fake_total = real.sum(1, keepdim=True), fake.sum(1, keepdim=True)
            energy_wasserstein = (
                self.energy_critic(real_total, condition).mean() - self.energy_critic(fake_total, condition).mean()
            )
            energy_penalty = gradient_penalty(self.energy_critic, real_total, fake_total, condition, epsilon)
            out["energy_critic_loss"] = -energy_wasserstein + hp.energy_gp_weight * energy_penalty
            out["energy_critic_gp"] = energy_penalty
            out["energy_wasserstein"] = energy_wasserstein
        return out

    def generator_losses(self, generated: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        """Generator loss for generated normalised cells (with their graph): ``generator_loss`` and its
        ``generator_activity`` term. The energy critic sees ``generated.sum(1)``, so its feedback reaches every cell.
        """
        hp = self.hparams
        loss = -self.critic(generated, condition).mean()
        if self.energy_critic is not None:
            loss = loss - hp.energy_loss_weight * self.energy_critic(generated.sum(1, keepdim=True), condition).mean()
        activity = generated.abs().sum()
        if hp.activity_reduction == "mean":
            activity = activity / len(generated)
        activity = hp.l1_activity * activity
        return {"generator_loss": loss + activity, "generator_activity": activity}

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, condition = batch
        hp, n = self.hparams, len(real)
        opt_g, *critic_optimizers = self.optimizers()

        # both critics on every batch (the parameters are disjoint, so one backward of the summed losses gives each
        # critic exactly its own gradient)
        with torch.no_grad():
            fake = self.generator(torch.randn(n, hp.latent_dim, device=real.device), condition)
        epsilon = torch.rand(n, 1, device=real.device)
        losses = self.critic_losses(real, fake, condition, epsilon)
        for opt in critic_optimizers:
            opt.zero_grad()
        total = losses["critic_loss"] + losses.get("energy_critic_loss", 0.0)
        self.manual_backward(total)
        for opt in critic_optimizers:
            opt.step()

        # the generator on every n_critic-th batch, against both critics
        if (batch_idx + 1) % hp.n_critic == 0:
            with _frozen(self.critic, self.energy_critic):
                generated = self.generator(torch.randn(n, hp.latent_dim, device=real.device), condition)
                generator = self.generator_losses(generated, condition)
                opt_g.zero_grad()
                self.manual_backward(generator["generator_loss"])
                opt_g.step()
            losses.update(generator)
        for name, value in losses.items():
            self.log(name, value.detach(), on_step=False, on_epoch=True, batch_size=n)

    # ------------------------------------------------------------------------------------------------ sampling
    def forward(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Normalised cells (fractions of E_true) for latent ``z`` and condition vectors."""
        return self.generator(z, condition)

    def generate(
        self, energy: Any, p: Any, e: Any, deta: Any, dphi: Any, *, seed: int = 0, batch_size: int = 8192,
        extrapolate: bool = False,
    ) -> np.ndarray:
        """Generated showers [N, 266] in physical units (``cell_unit`` of the preprocessing), float64.

        The inputs are broadcast against each other (scalars are allowed). The latent vectors are drawn row by row
        from ``numpy.random.default_rng(seed)``, so the same seed, inputs and ``batch_size`` give the same bytes, and
        the first k showers of a longer call get the same latent vectors as a call with k showers (the float32
        products depend on torch's thread count: pin it for bit-identical output). The network runs in eval mode
        without gradients, in chunks of ``batch_size``.

        Parameters
        ----------
        energy
            True photon energy in the preprocessing's ``energy_unit``.
        p, e
            Strip/PS alignment (0..3) and Back alignment (0/1).
        deta, dphi
            Impact relative to the impact-cell centre.
        seed
            Seed of the latent vectors.
        batch_size
            Showers per forward pass; other values change the result only by float32 rounding (matrix-product
            blocking).
        extrapolate
            Allow energies outside the trained range (``Preprocessing.trained_energy_range`` widened by
            :data:`ENERGY_MARGIN`), which otherwise raise ``InputError``: usually a unit mistake.
        """
        for name, value, lowest in (("seed", seed, 0), ("batch_size", batch_size, 1)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < lowest:
                raise InputError(f"{name}={value!r} must be an integer >= {lowest}")
        arrays = [as_finite_array(v, name) for v, name in
                  ((energy, "energy"), (p, "p"), (e, "e"), (deta, "deta"), (dphi, "dphi"))]
        try:
            arrays = [a.ravel() for a in np.broadcast_arrays(*(np.atleast_1d(a) for a in arrays))]
        except ValueError:
            shapes = [np.shape(a) for a in arrays]
            raise InputError(f"energy, p, e, deta, dphi cannot be broadcast together: shapes {shapes}") from None
        energy_arr = arrays[0]
        if not extrapolate:
            _check_trained_energy(self.preprocessing, energy_arr)
        condition = torch.as_tensor(self.preprocessing.condition(*arrays))
        z = torch.as_tensor(
            np.random.default_rng(seed).standard_normal((len(energy_arr), self.hparams.latent_dim)), dtype=torch.float32
        )
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                chunks = [
                    self.generator(z[i : i + batch_size].to(self.device), condition[i : i + batch_size].to(self.device))
                    .cpu()
                    .double()
                    for i in range(0, len(z), batch_size)
                ]
        finally:
            self.train(was_training)
        return self.preprocessing.denormalise(torch.cat(chunks).numpy(), energy_arr)


def _check_trained_energy(preprocessing: Preprocessing, energy: np.ndarray) -> None:
    """Refuse energies outside the trained range (widened by ``ENERGY_MARGIN``), with a hint at unit mistakes."""
    lo, hi = preprocessing.trained_energy_range()
    lo, hi = lo / ENERGY_MARGIN, hi * ENERGY_MARGIN
    outside = (energy > 0) & ((energy < lo) | (energy > hi))  # energy <= 0 is refused by Preprocessing.condition
    if not outside.any():
        return
    unit, first = preprocessing.energy_unit, float(energy[outside][0])
    hint = ""
    if unit == "MeV" and first < 1000.0:
        hint = f"; energies are in MeV: {first:g} looks like GeV ({first * 1000:g} MeV)"
    elif unit == "GeV" and lo <= first / 1000.0 <= hi:
        hint = f"; energies are in GeV: {first:g} looks like MeV ({first / 1000:g} GeV)"
    raise InputError(
        f"{int(outside.sum())} of {energy.size} energies lie outside {lo:.4g} to {hi:.4g} {unit}, the range this model "
        f"was trained on (from its ln E standardisation) with a x{ENERGY_MARGIN:g} margin: first {first:g} {unit}"
        f"{hint}. Pass extrapolate=True to generate there anyway"
    )
