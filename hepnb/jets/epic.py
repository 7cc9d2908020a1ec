"""EPiC-GAN, the modern baseline of the jet-generation study (Buhmann, Kasieczka, Thaler, arXiv:2301.08128).

Equivariant point-cloud layers (EPiC layers) pass information between the particles only through a global
vector, so their cost is linear in the multiplicity. One EPiC layer updates the global vector ``g`` from the
mean and sum of the particle vectors and then every particle from itself and ``g``, both with residual connections::

    g   <- LReLU(W_g2 LReLU(W_g1 [mean_i x_i, sum_i x_i, g]) + g)
    x_i <- LReLU(W_l2 LReLU(W_l1 [x_i, g]) + x_i)

The generator embeds the global latent ``z`` (10) and per-particle noise (3), applies the EPiC layers with skip
connections to those embeddings, and maps every particle to its features; the discriminator embeds the particles,
pools them, applies its EPiC layers and an MLP on ``[mean, sum, g]``. All linear layers are weight normalised, as in
the paper. The multiplicity is drawn from the training jets' distribution (the paper smooths it with a kernel density
estimate; we draw from the histogram, :attr:`JetPreprocessing.multiplicity`).

Differences from the paper, so that the baseline is "trained the same way" as the thesis's GAN: the LSGAN of
:mod:`hepnb.jets.lsgan` with 3 discriminator updates per 2 generator updates and RMSprop at 2e-4 (the paper: LSGAN,
1:1, Adam at 1e-4), and padded batches with masked mean/sum pooling instead of batches bucketed by multiplicity (the
same function for each jet). :data:`THESIS` is the paper's JetNet configuration (hidden width 128, 6 generator and
3 discriminator layers); :data:`CPU` a smaller one.

>>> from hepnb.jets.datamodule import JetPreprocessing
>>> pre = JetPreprocessing((0.0, 0.0, -4.0), (0.1, 0.1, 1.0), (0.0,) * 29 + (1.0,))
>>> EPiCGAN(preprocessing=pre.to_dict(), config=CPU, seed=1).generate(2, seed=0).shape
(2, 30, 4)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrizations

from hepnb.errors import InputError, is_whole_number
from hepnb.jets.datamodule import N_FEATURES, JetPreprocessing
from hepnb.jets.lsgan import Fake, PointCloudGAN, check_schedule, size_one_hot
from hepnb.jets.set_transformer import count_parameters, masked_mean

__all__ = [
    "EPiCConfig",
    "THESIS",
    "CPU",
    "EPiCLayer",
    "EPiCGenerator",
    "EPiCDiscriminator",
    "EPiCGAN",
    "parameter_counts",
]


@dataclass(frozen=True)
class EPiCConfig:
    """Shape and training settings of :class:`EPiCGAN`.

    Attributes
    ----------
    latent_dim, point_noise_dim
        Widths of the global latent (the paper: 10) and of the per-particle noise (3).
    hidden
        Width of the particle vectors and hidden layers (128).
    generator_layers, discriminator_layers
        EPiC layers of each network (6 and 3).
    negative_slope
        LeakyReLU slope (PyTorch's default 0.01, as in the paper's code).
    lr, d_steps, g_steps
        RMSprop learning rate and the update schedule (:mod:`hepnb.jets.lsgan`).
    """

    latent_dim: int = 10
    point_noise_dim: int = 3
    hidden: int = 128
    generator_layers: int = 6
    discriminator_layers: int = 3
    negative_slope: float = 0.01
    lr: float = 2e-4
    d_steps: int = 3
    g_steps: int = 2

    def __post_init__(self) -> None:
        for name in ("latent_dim", "point_noise_dim", "hidden", "generator_layers", "discriminator_layers"):
            value = getattr(self, name)
            if not is_whole_number(value) or value < 1:
                raise InputError(f"EPiCConfig.{name}={value!r} must be a whole number of at least 1")
        check_schedule(self.d_steps, self.g_steps, self.lr)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EPiCConfig:
        """The configuration stored as JSON."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown EPiCConfig fields {unknown}; known: {sorted(known)}")
        return cls(**values)


THESIS = EPiCConfig()
"""The paper's JetNet configuration, trained with the thesis's schedule and optimiser."""

CPU = EPiCConfig(hidden=64, generator_layers=3, discriminator_layers=2)
"""A smaller configuration for CPU trainings (not in the paper)."""


def _linear(a: int, b: int) -> nn.Linear:
    return parametrizations.weight_norm(nn.Linear(a, b))


def _pooled(x: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    """Mean and sum of the real particles' vectors."""
    return [masked_mean(x, mask), (x * mask[..., None].to(x.dtype)).sum(1)]


class EPiCLayer(nn.Module):
    """One EPiC layer on a global vector ``[B, latent_dim]`` and particle vectors ``[B, P, hidden]``."""

    def __init__(self, hidden: int, latent_dim: int, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.slope = negative_slope
        self.global_in, self.global_out = _linear(2 * hidden + latent_dim, hidden), _linear(hidden, latent_dim)
        self.local_in, self.local_out = _linear(hidden + latent_dim, hidden), _linear(hidden, hidden)

    def forward(self, g: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Updated ``(g, x)``; padded particles (``mask`` False) do not enter the pooling."""
        act = lambda t: F.leaky_relu(t, self.slope)  # noqa: E731
        g = act(self.global_out(act(self.global_in(torch.cat([*_pooled(x, mask), g], dim=-1)))) + g)
        local = torch.cat([x, g[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
        return g, act(self.local_out(act(self.local_in(local))) + x)


class EPiCGenerator(nn.Module):
    """Global latent ``[B, latent_dim]`` and particle noise ``[B, P, point_noise_dim]`` -> particles
    ``[B, P, n_features]`` (0 where ``mask`` is False)."""

    def __init__(self, config: EPiCConfig, n_features: int = N_FEATURES) -> None:
        super().__init__()
        c = config
        self.slope = c.negative_slope
        self.local_in = _linear(c.point_noise_dim, c.hidden)
        self.global_in, self.global_out = _linear(c.latent_dim, c.hidden), _linear(c.hidden, c.latent_dim)
        self.layers = nn.ModuleList(
            EPiCLayer(c.hidden, c.latent_dim, c.negative_slope) for _ in range(c.generator_layers)
        )
        self.head = _linear(c.hidden, n_features)

    def forward(self, z: torch.Tensor, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x0 = F.leaky_relu(self.local_in(points), self.slope)
        g0 = F.leaky_relu(self.global_out(F.leaky_relu(self.global_in(z), self.slope)), self.slope)
        g, x = g0, x0
        for layer in self.layers:
            g, x = layer(g, x, mask)
            g, x = g + g0, x + x0
        return self.head(x) * mask[..., None]


class EPiCDiscriminator(nn.Module):
    """Particles ``[B, P, n_features]`` with their mask -> scores ``[B]``, invariant under permutations of the
    real particles."""

    def __init__(self, config: EPiCConfig, n_features: int = N_FEATURES) -> None:
        super().__init__()
        c, h = config, config.hidden
        self.slope = c.negative_slope
        self.local_in, self.local_out = _linear(n_features, h), _linear(h, h)
        self.global_in, self.global_out = _linear(2 * h, h), _linear(h, c.latent_dim)
        self.layers = nn.ModuleList(EPiCLayer(h, c.latent_dim, c.negative_slope) for _ in range(c.discriminator_layers))
        self.head_in, self.head_hidden, self.head_out = _linear(2 * h + c.latent_dim, h), _linear(h, h), _linear(h, 1)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, self.slope)  # noqa: E731
        x = act(self.local_in(features))
        x = act(self.local_out(x) + x)
        g = act(self.global_out(act(self.global_in(torch.cat(_pooled(x, mask), dim=-1)))))
        for layer in self.layers:
            g, x = layer(g, x, mask)
        h = act(self.head_in(torch.cat([*_pooled(x, mask), g], dim=-1)))
        return self.head_out(act(self.head_hidden(h) + h)).squeeze(-1)


def parameter_counts(config: EPiCConfig = THESIS, n_features: int = N_FEATURES) -> dict[str, int]:
    """Trainable parameters of the generator and the discriminator (weight norm: one scale per output).

    >>> parameter_counts()
    {'generator': 424850, 'discriminator': 313170}
    """
    return {
        "generator": count_parameters(EPiCGenerator(config, n_features)),
        "discriminator": count_parameters(EPiCDiscriminator(config, n_features)),
    }


class EPiCGAN(PointCloudGAN):
    """EPiC-GAN as a LightningModule, trained like :class:`hepnb.jets.gan.SetGAN` (:mod:`hepnb.jets.lsgan`).

    Parameters
    ----------
    preprocessing
        ``JetPreprocessing.to_dict()`` of the training jets; fixes P, the units of :meth:`generate` and the
        multiplicity distribution the sizes are drawn from.
    config
        An :class:`EPiCConfig` (or its dict): :data:`THESIS` by default, :data:`CPU` for small machines.
    seed
        Seeds the initial weights.

    Notes
    -----
    Logged per epoch: ``d_loss_particles`` and ``g_loss_particles``.
    """

    generator_modules = ("generator",)
    discriminator_modules = ("discriminator",)

    def __init__(
        self, *, preprocessing: dict[str, Any], config: EPiCConfig | dict[str, Any] | None = None, seed: int = 0
    ) -> None:
        super().__init__()
        config = THESIS if config is None else config
        self.config = config if isinstance(config, EPiCConfig) else EPiCConfig.from_dict(dict(config))
        self.preprocessing = JetPreprocessing.from_dict(dict(preprocessing))
        self.save_hyperparameters()
        self.hparams["config"] = dataclasses.asdict(self.config)
        self.hparams["preprocessing"] = self.preprocessing.to_dict()
        self.automatic_optimization = False
        cdf = np.cumsum(self.preprocessing.multiplicity)
        self.register_buffer("multiplicity_cdf", torch.as_tensor(cdf / cdf[-1], dtype=torch.float32), persistent=False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.generator = EPiCGenerator(self.config)
            self.discriminator = EPiCDiscriminator(self.config)

    def noise_shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        c = self.config
        return {
            "z": ((c.latent_dim,), "normal"),
            "size": ((1,), "uniform"),
            "points": ((self.n_particles, c.point_noise_dim), "normal"),
        }

    def decode(self, noise: dict[str, torch.Tensor]) -> Fake:
        # inverse CDF of the training multiplicities: n - 1 = number of CDF values <= u
        index = torch.searchsorted(self.multiplicity_cdf, noise["size"].contiguous(), right=True)
        n = index.clamp_max(self.n_particles - 1) + 1
        mask = torch.arange(self.n_particles, device=n.device) < n
        return Fake(self.generator(noise["z"], noise["points"], mask), mask, size_one_hot(mask))

    def discriminate(self, real: Fake, fake: Fake) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        b = len(real.features)
        scores = self.discriminator(torch.cat([real.features, fake.features]), torch.cat([real.mask, fake.mask]))
        return {"particles": scores[:b]}, {"particles": scores[b:]}
