"""The double-critic conditional WGAN-GP of the ATLAS photon-shower study (thesis §5.4): `CaloGAN`.

Its generator, critic and energy critic are the dense networks of :mod:`hepnb.calo.networks` (thesis §5.4.3); the
generator's output carries an L1 activity regulariser 1e-5.

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
import functools
from collections.abc import Iterator
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from hepnb.calo.data import (
    MIDDLE_DETA,
    MIDDLE_DPHI,
    N_CELLS,
    N_CONDITION,
    N_E_ALIGNMENTS,
    N_P_ALIGNMENTS,
    Preprocessing,
    checked_truth,
)
from hepnb.calo.networks import (
    THESIS_PARAMETER_COUNTS,
    Critic,
    EnergyCritic,
    Generator,
    TrainableSwish,
    count_parameters,
    gradient_penalty,
    keras_init,
)
from hepnb.errors import InputError, as_finite_array, is_whole_number
from hepnb.units import GeV, MeV

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

ENERGY_MARGIN = 1.25
"""Factor by which ``CaloGAN.generate`` may leave the trained energy range without ``extrapolate=True``."""

CPU_FAST: dict[str, Any] = {"optimizer": "rmsprop", "lr": 1e-4}
"""A faster schedule for CPU trainings of 10^2-10^3 epochs [not in the thesis]: RMSProp at 10x the thesis rate.

The thesis ran 25000 epochs (3.4e6 generator steps) at lr = 1e-5; a CPU budget is 100-1000 times fewer steps, so the
rate is raised. Use as ``CaloGAN(preprocessing=..., **CPU_FAST)``. Adam (``optimizer="adam"``) is the thesis's choice
for quick small-data experiments only.
"""


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
        fraction ``f``, a CPU shortcut [not in the thesis]. With ``max_response`` it starts the response at
        ``max_response x f``, shared equally among the cells.
    max_response
        None (the thesis: one sigmoid per cell) or a bound on the total response: the generator then gives a
        response up to it times softmax cell fractions (`hepnb.calo.networks.Generator`) [not in the thesis].
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
        max_response: float | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if n_critic < 1:
            raise InputError(f"n_critic={n_critic} must be a positive number of critic steps per generator step")
        if optimizer not in ("rmsprop", "adam"):
            raise InputError(f"optimizer={optimizer!r} must be 'rmsprop' or 'adam'")
        if activity_reduction not in ("sum", "mean"):
            raise InputError(f"activity_reduction={activity_reduction!r} must be 'sum' or 'mean'")
        for name, value in (
            ("gp_weight", gp_weight),
            ("energy_gp_weight", energy_gp_weight),
            ("energy_loss_weight", energy_loss_weight),
            ("l1_activity", l1_activity),
        ):
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

        self.generator = Generator(
            latent_dim, N_CONDITION, generator_first_width, generator_width, generator_depth, max_response=max_response
        )
        self.critic = Critic(N_CELLS, N_CONDITION, critic_width, critic_depth, leaky_slope)
        self.energy_critic = (
            EnergyCritic(N_CONDITION, critic_width, critic_depth, leaky_slope) if double_critic else None
        )
        init = torch.Generator().manual_seed(seed)
        for net in (self.generator, self.critic, self.energy_critic):
            if net is not None:
                keras_init(net, init)
        nn.init.constant_(self.generator.output_layer.bias, output_bias)

    # ------------------------------------------------------------------------------------------------ training
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams

        def make(module: nn.Module) -> torch.optim.Optimizer:
            if hp.optimizer == "adam":
                return torch.optim.Adam(module.parameters(), lr=hp.lr, betas=(hp.adam_beta1, hp.adam_beta2), eps=hp.eps)
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
        self,
        energy: Any,
        p: Any,
        e: Any,
        deta: Any,
        dphi: Any,
        *,
        seed: int = 0,
        batch_size: int = 8192,
        extrapolate: bool = False,
    ) -> np.ndarray:
        """Generated showers [N, 266] in physical units (``cell_unit`` of the preprocessing), float64.

        The inputs are broadcast against each other (scalars are allowed). The latent vectors are drawn row by row
        from ``numpy.random.default_rng(seed)``, so the same seed, inputs and ``batch_size`` give the same bytes, and
        the first k showers of a longer call get the same latent vectors as a call with k showers (the float32
        products depend on torch's thread count: pin it for bit-identical output).

        The generator runs through `Generator.infer` (inference mode, activations in place; none of its layers
        depends on the train/eval mode, which is left as it is) in chunks of ``batch_size`` rows, on CPU in passes of
        about 1024 rows within a chunk (cache-sized: the same bytes as one pass per chunk at one thread with MKL on
        x86-64, float32 rounding otherwise), and its float32 fractions are multiplied by the float64 true energy in
        one step. The result is ``preprocessing.denormalise(generator(z, c), energy)`` on the same latents.

        The inputs are checked once, here: numbers and 1-d arrays of one length that lie in range pass a few cheap
        comparisons; anything else gets the full checks of `hepnb.calo.data.checked_truth` after broadcasting, which
        raise `InputError` with what is wrong. Both give the condition rows of ``Preprocessing.condition``.

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

        Examples
        --------
        >>> model = CaloGAN(preprocessing=Preprocessing.thesis_default(cell_unit="MeV").to_dict())  # untrained
        >>> cells = model.generate(65.536, 2, 1, 0.003, -0.004, seed=1)  # one 65.5 GeV photon, cells in MeV
        >>> cells.shape, cells.dtype, bool(cells.min() > 0)
        ((1, 266), dtype('float64'), True)
        """
        for name, value, lowest in (("seed", seed, 0), ("batch_size", batch_size, 1)):
            if not is_whole_number(value) or value < lowest:
                raise InputError(f"{name}={value!r} must be an integer >= {lowest}")
        preprocessing, generator = self.preprocessing, self.generator
        truth = _plain_truth(preprocessing, (energy, p, e, deta, dphi), extrapolate)
        if truth is None:  # not plain numbers in range: the full checks, which say what is wrong
            truth = _checked_broadcast_truth(preprocessing, (energy, p, e, deta, dphi), extrapolate)
        energy_arr, n = truth[0], len(truth[0])
        device = self.device
        on_cpu, latent_dim = device.type == "cpu", generator.latent_dim
        edges = _pass_edges(n, batch_size, _CPU_BLOCK_ROWS if on_cpu else batch_size)
        longest = max([stop - start for start, stop in edges], default=0)
        condition = np.empty((n, generator.n_condition), dtype=np.float32)
        preprocessing.fill_condition(condition, *truth)
        scale = preprocessing.cell_scale(energy_arr)
        rng = np.random.default_rng(seed)
        latents = np.empty((longest, latent_dim))  # float64 draws, rounded to float32 into the rows [z, c]
        rows = np.empty((longest, latent_dim + generator.n_condition), dtype=np.float32)
        cells = np.empty((n, N_CELLS))
        for start, stop in edges:
            block = rows[: stop - start]
            block[:, :latent_dim] = rng.standard_normal(out=latents[: stop - start])  # the stream continues
            block[:, latent_dim:] = condition[start:stop]
            inputs = torch.from_numpy(block)
            normalised = generator.infer(inputs if on_cpu else inputs.to(device))
            normalised = (normalised if on_cpu else normalised.cpu()).numpy()
            if np.isnan(normalised).any():
                raise InputError("the generator gives NaN cells: its weights are not finite (a diverged training?)")
            # Preprocessing.denormalise without its checks: float32 fractions x float64 E_true, in float64
            np.multiply(normalised, scale[start:stop, None], out=cells[start:stop])
        return cells


def _plain_truth(preprocessing: Preprocessing, values: tuple[Any, ...], extrapolate: bool) -> tuple[Any, ...] | None:
    """The truth for `CaloGAN.generate` if plainly valid (numbers or 1-d arrays of one length, real, alignments
    integer, all in range), checked by a few comparisons; else None (`_checked_broadcast_truth` then says why).
    ``energy`` comes back as a float64 array [N], the others as `Preprocessing.fill_condition` takes them."""
    n, checked = 0, []
    try:
        for value, integer in zip(values, (False, True, True, False, False)):
            if type(value) is int or (type(value) is float and not integer):  # Python numbers: compared as they are
                checked.append(value if integer else float(value))  # float(10**400) overflows
                continue
            array = value if type(value) is np.ndarray else np.asarray(value)
            if array.dtype.kind not in ("iu" if integer else "iuf") or array.ndim > 1 or array.size == 0:
                return None
            if array.ndim == 1 and n and len(array) != n:
                return None
            n = len(array) if array.ndim == 1 else n
            checked.append(array if integer or array.dtype == np.float64 else array.astype(float))
    except (TypeError, ValueError, OverflowError):  # ragged lists, integers too large for a float
        return None
    energy, p, e, deta, dphi = checked
    lowest, highest = _energy_bounds(preprocessing) if not extrapolate else (0.0, np.inf)
    # every comparison fails on NaN; the energy bounds are > 0 and finite, or 0 and inf
    if not (
        _within(energy, lowest, highest, open_=extrapolate)
        and _within(p, 0, N_P_ALIGNMENTS - 1)
        and _within(e, 0, N_E_ALIGNMENTS - 1)
        and _within(deta, -MIDDLE_DETA, MIDDLE_DETA)  # the limits of data.checked_truth
        and _within(dphi, -MIDDLE_DPHI, MIDDLE_DPHI)
    ):
        return None
    if type(energy) is float or energy.ndim == 0:
        energy = np.full(max(n, 1), energy, dtype=float)
    return energy, p, e, deta, dphi


def _within(value: Any, lowest: float, highest: float, *, open_: bool = False) -> bool:
    """Whether a number or array lies in [lowest, highest] (in (lowest, highest) if ``open_``); False on NaN."""
    if type(value) is not np.ndarray:
        low = high = value
    elif value.size == 1:
        low = high = value.item()
    else:
        low, high = value.min(), value.max()
    return bool(lowest < low and high < highest) if open_ else bool(lowest <= low and high <= highest)


def _checked_broadcast_truth(
    preprocessing: Preprocessing, values: tuple[Any, ...], extrapolate: bool
) -> tuple[np.ndarray, ...]:
    """The truth for `CaloGAN.generate` as checked 1-d arrays (`checked_truth` after broadcasting), energies in the
    trained range unless ``extrapolate``; raises `InputError` on anything else."""
    try:
        arrays = [a.ravel() for a in np.broadcast_arrays(*(np.atleast_1d(v) for v in values))]
    except ValueError:  # checked one by one first, so that a ragged or non-numeric input says so
        shapes = [as_finite_array(v, name).shape for v, name in zip(values, ("energy", "p", "e", "deta", "dphi"))]
        raise InputError(f"energy, p, e, deta, dphi cannot be broadcast together: shapes {shapes}") from None
    energy, p, e, deta, dphi = checked_truth(*arrays)
    energy = energy.astype(float)
    if not extrapolate:
        _check_trained_energy(preprocessing, energy)
    return energy, p, e, deta, dphi


# Rows per pass through the generator on CPU: about 1000 rows keep the activations (at most 1.7 MB at width 428) in
# the CPU's cache, which makes the network's pass over 10^4 rows about a quarter faster than one pass. A multiple of 16,
# so that each pass starts on a row where the float32 products of one whole-chunk pass start a block of rows too (MKL
# on AVX-512, one thread: the same bytes as one pass per chunk, measured; the last pass keeps the chunk's remainder).
_CPU_BLOCK_ROWS = 1024


def _pass_edges(n: int, batch_size: int, block_rows: int) -> list[tuple[int, int]]:
    """(start, stop) of the generator passes over ``n`` rows: chunks of ``batch_size``, each cut every ``block_rows``
    rows from its start, a shorter remainder joining the chunk's last pass (no pass is shorter than ``block_rows``
    unless its chunk is).

    >>> _pass_edges(2500, 8192, 1000)
    [(0, 1000), (1000, 2500)]
    >>> _pass_edges(5, 2, 1000)
    [(0, 2), (2, 4), (4, 5)]
    """
    if n <= batch_size and n < 2 * block_rows:  # one pass
        return [(0, n)] if n else []
    edges = []
    for chunk in range(0, n, batch_size):
        end = min(chunk + batch_size, n)
        cuts = list(range(chunk, end, block_rows))
        if len(cuts) > 1 and end - cuts[-1] < block_rows:
            cuts.pop()
        edges += zip(cuts, cuts[1:] + [end])
    return edges


@functools.lru_cache(maxsize=64)
def _energy_bounds(preprocessing: Preprocessing) -> tuple[float, float]:
    """The energies `CaloGAN.generate` accepts without ``extrapolate``: the trained range widened by ENERGY_MARGIN."""
    lo, hi = preprocessing.trained_energy_range()
    return lo / ENERGY_MARGIN, hi * ENERGY_MARGIN


def _check_trained_energy(preprocessing: Preprocessing, energy: np.ndarray) -> None:
    """Refuse energies outside the trained range (widened by ``ENERGY_MARGIN``), with a hint at unit mistakes."""
    lo, hi = _energy_bounds(preprocessing)
    outside = (energy > 0) & ((energy < lo) | (energy > hi))  # energy <= 0 is refused by data.checked_truth
    if not outside.any():
        return
    unit, first = preprocessing.energy_unit, float(energy[outside][0])
    hint = ""
    if unit == "MeV" and first < GeV / MeV:
        hint = f"; energies are in MeV: {first:g} looks like GeV ({first * GeV / MeV:g} MeV)"
    elif unit == "GeV" and lo <= first * MeV / GeV <= hi:
        hint = f"; energies are in GeV: {first:g} looks like MeV ({first * MeV / GeV:g} GeV)"
    raise InputError(
        f"{int(outside.sum())} of {energy.size} energies lie outside {lo:.4g} to {hi:.4g} {unit}, the range this model "
        f"was trained on (from its ln E standardisation) with a x{ENERGY_MARGIN:g} margin: first {first:g} {unit}"
        f"{hint}. Pass extrapolate=True to generate there anyway"
    )
