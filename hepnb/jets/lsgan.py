"""What the jet GANs share: the least-squares GAN loss, the 3:2 update schedule, RMSprop and generation.

Training (thesis section 7.5, Eqs. 7.6-7.7, with Mao et al.'s LSGAN, arXiv:1611.04076, at a = 0, b = c = 1)::

    discriminator:  1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]      generator:  1/2 E[(D(G(z)) - 1)^2]

summed over the model's discriminators (the two-stage GAN has two, each with its own generator stage) and logged
per epoch as ``d_loss_<name>`` and ``g_loss_<name>``. Every batch updates the discriminators once, on a fresh
generated batch; the generators are updated after the discriminators on ``g_steps`` of every ``d_steps`` batches
(``batch_idx % d_steps < g_steps``), so the thesis's "discriminators three times for every two generator updates"
is ``d_steps=3, g_steps=2``. Both sides use RMSprop at ``lr`` (2e-4 in the thesis). The optimisation is manual,
so the accelerator, devices and strategy are the caller's (options of :func:`hepnb.training.trainer`, passed
through :func:`hepnb.training.fit`).

A subclass defines its networks and four hooks: :meth:`~PointCloudGAN.noise_shapes` (what random numbers one
jet needs), :meth:`~PointCloudGAN.decode` (noise to a generated batch), :meth:`~PointCloudGAN.discriminate` and the
attributes ``generator_modules`` / ``discriminator_modules``. :meth:`~PointCloudGAN.generate` is then shared.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from hepnb.errors import InputError, is_whole_number
from hepnb.jets.datamodule import JetPreprocessing

__all__ = [
    "Fake",
    "PointCloudGAN",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "check_schedule",
    "GENERATION_BATCH",
    "ACCELERATOR_GENERATION_BATCH",
]

#: Jets per forward pass of :meth:`PointCloudGAN.generate` on a CPU by default. A pass of a few hundred jets keeps
#: the activations in the caches: 10,000 jets per pass ran at a third of the rate (EPiC-GAN, one thread; the
#: batch size does not change the output bytes there).
GENERATION_BATCH = 256

#: The same on an accelerator (GPU), where larger passes are faster.
ACCELERATOR_GENERATION_BATCH = 4096


def lsgan_discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]`` from the scores of real and generated jets (Eq. 7.6)."""
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()


def lsgan_generator_loss(fake: torch.Tensor) -> torch.Tensor:
    """``1/2 E[(D(G(z)) - 1)^2]`` from the scores of generated jets (Eq. 7.7)."""
    return 0.5 * ((fake - 1) ** 2).mean()


def check_schedule(d_steps: int, g_steps: int, lr: float) -> None:
    """Refuse an update schedule or learning rate the training loop cannot follow."""
    if not (isinstance(d_steps, int) and isinstance(g_steps, int) and 1 <= g_steps <= d_steps):
        raise InputError(
            f"need whole numbers 1 <= g_steps <= d_steps (the thesis: 3 discriminator updates per 2 "
            f"generator updates), got d_steps={d_steps!r}, g_steps={g_steps!r}"
        )
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise InputError(f"lr={lr!r} must be a positive learning rate (the thesis: 2e-4)")


class Fake(NamedTuple):
    """A generated batch: standardised ``features`` ``[B, P, 3]`` (0 where padded), boolean ``mask`` ``[B, P]``
    and ``sizes`` ``[B, P]``, the one-hot multiplicity (straight-through for the two-stage GAN)."""

    features: torch.Tensor
    mask: torch.Tensor
    sizes: torch.Tensor


def size_one_hot(mask: torch.Tensor) -> torch.Tensor:
    """One-hot multiplicity ``[B, P]`` (column n - 1 for n real particles) of a boolean mask ``[B, P]``."""
    n = mask.sum(1, keepdim=True)
    return (torch.arange(1, mask.shape[1] + 1, device=mask.device) == n).to(torch.float32)


@contextlib.contextmanager
def _frozen(modules: list[nn.Module]) -> Iterator[None]:
    """Switch off the parameter gradients of ``modules`` (the discriminators during a generator update)."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


class PointCloudGAN(L.LightningModule):
    """Base of the jet GANs: LSGAN losses, the ``d_steps``:``g_steps`` schedule, RMSprop, and generation.

    Subclasses call ``super().__init__()``, store ``self.preprocessing`` (a :class:`JetPreprocessing`) and
    ``self.config`` (with ``lr``, ``d_steps``, ``g_steps``), build their networks, and list them in
    ``generator_modules`` and ``discriminator_modules``.
    """

    preprocessing: JetPreprocessing
    config: Any
    generator_modules: tuple[str, ...] = ()
    discriminator_modules: tuple[str, ...] = ()

    # ------------------------------------------------------------------------------------------ subclass hooks
    def noise_shapes(self) -> Mapping[str, tuple[tuple[int, ...], str]]:
        """``{name: (shape of one jet's noise, kind)}`` with kind ``"normal"``, ``"gumbel"`` or ``"uniform"``."""
        raise NotImplementedError

    def decode(self, noise: Mapping[str, torch.Tensor]) -> Fake:
        """A generated batch from ``noise`` (``{name: [B, *shape]}``)."""
        raise NotImplementedError

    def discriminate(self, real: Fake, fake: Fake) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Scores ``[B]`` of every discriminator on the real and on the generated batch, by discriminator name:
        ``({name: D(real)}, {name: D(fake)})``."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------ training
    @property
    def n_particles(self) -> int:
        """P, the particle slots of a jet."""
        return self.preprocessing.n_particles

    def _networks(self, names: tuple[str, ...]) -> list[nn.Module]:
        return [getattr(self, name) for name in names]

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """RMSprop for all discriminators together, then for all generators (the parameters are disjoint and
        RMSprop works per parameter, so this equals one optimiser per network)."""
        lr = self.config.lr
        return [
            torch.optim.RMSprop([p for m in self._networks(names) for p in m.parameters()], lr=lr)
            for names in (self.discriminator_modules, self.generator_modules)
        ]

    def random_noise(self, n: int) -> dict[str, torch.Tensor]:
        """Noise for ``n`` jets from the global torch RNG (training)."""
        out = {}
        for name, (shape, kind) in self.noise_shapes().items():
            if kind == "normal":
                out[name] = torch.randn(n, *shape, device=self.device)
            elif kind == "uniform":
                out[name] = torch.rand(n, *shape, device=self.device)
            else:  # Gumbel(0, 1) as -log(Exp(1)), as torch's gumbel_softmax draws it
                out[name] = -torch.empty(n, *shape, device=self.device).exponential_().log()
        return out

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        features, mask = batch
        real = Fake(features, mask, size_one_hot(mask))
        n = len(features)
        opt_d, opt_g = self.optimizers()
        discriminators = self._networks(self.discriminator_modules)

        with torch.no_grad():
            fake = self.decode(self.random_noise(n))
        real_scores, fake_scores = self.discriminate(real, fake)
        d_losses = {name: lsgan_discriminator_loss(real_scores[name], fake_scores[name]) for name in real_scores}
        opt_d.zero_grad()
        self.manual_backward(sum(d_losses.values()))
        opt_d.step()
        logged = {f"d_loss_{name}": loss for name, loss in d_losses.items()}

        if batch_idx % self.config.d_steps < self.config.g_steps:
            with _frozen(discriminators):
                fake = self.decode(self.random_noise(n))
                _, fake_scores = self.discriminate(real, fake)
                g_losses = {name: lsgan_generator_loss(scores) for name, scores in fake_scores.items()}
                opt_g.zero_grad()
                self.manual_backward(sum(g_losses.values()))
                opt_g.step()
            logged.update({f"g_loss_{name}": loss for name, loss in g_losses.items()})
        for name, value in logged.items():
            self.log(name, value.detach(), on_step=False, on_epoch=True, batch_size=n)

    # ------------------------------------------------------------------------------------------ generation
    def generate(self, n: int, seed: int = 0, *, batch_size: int | None = None) -> np.ndarray:
        """``n`` generated jets ``[n, P, 4]`` float32 in JetNet's format (eta_rel, phi_rel, pT_rel, mask).

        Real particles come first, hardest first; padded particles are all zero. The noise of every jet is drawn row by
        row from ``numpy.random.default_rng(seed)``, so the same seed gives the same bytes (with the same torch thread
        count), and the first k jets of a longer call get the noise of a call with k jets (their output bytes differ at
        most by float32 rounding where the batches differ). The networks run in eval mode without gradients (inference
        mode; parametrised weights, such as EPiC-GAN's weight norm, computed once per call), ``batch_size`` jets at a
        time: a batch's noise is drawn, passed through the networks and converted to physical units before the next, so
        only the output grows with ``n``. Do not call it inside an outer ``torch.nn.utils.parametrize.cached()`` that a
        training step then reuses: the weights cached here are inference tensors.

        Parameters
        ----------
        n
            Number of jets.
        seed
            Seed of the noise.
        batch_size
            Jets per forward pass (other values change the result only by float32 rounding); default
            :data:`GENERATION_BATCH` on a CPU, :data:`ACCELERATOR_GENERATION_BATCH` elsewhere.
        """
        if batch_size is None:
            batch_size = GENERATION_BATCH if self.device.type == "cpu" else ACCELERATOR_GENERATION_BATCH
        for name, value, lowest in (("n", n, 1), ("seed", seed, 0), ("batch_size", batch_size, 1)):
            if not is_whole_number(value) or value < lowest:
                raise InputError(f"{name}={value!r} must be a whole number >= {lowest}")
        rng = np.random.default_rng(seed)
        draws = {"normal": rng.standard_normal, "gumbel": rng.gumbel, "uniform": rng.random}
        shapes = self.noise_shapes()
        noise = {name: np.empty((min(n, batch_size), *shape)) for name, (shape, _) in shapes.items()}
        plan = [(noise[name], draws[kind], shape) for name, (shape, kind) in shapes.items()]
        was_training = self.training
        self.eval()
        parts = []
        try:
            with torch.inference_mode(), parametrize.cached():
                for start in range(0, n, batch_size):
                    rows = min(batch_size, n - start)
                    for row in range(rows):  # row by row: the first k jets do not depend on n or batch_size
                        for out, draw, shape in plan:
                            out[row] = draw(size=shape)
                    batch = {
                        k: torch.as_tensor(v[:rows].astype(np.float32), device=self.device) for k, v in noise.items()
                    }
                    fake = self.decode(batch)
                    features, mask = fake.features.cpu().numpy(), fake.mask.cpu().numpy()
                    parts.append(self.preprocessing.denormalise(features, mask))  # physical units, batch by batch
        finally:
            self.train(was_training)
        return np.concatenate(parts)
