"""The thesis's two-stage Set-Transformer GAN for particle-cloud jets (Bardhan, chapter 7).

A jet is generated in two stages from one global latent ``z ~ N(0, I)`` (Eq. 7.1,
``p(Y | z) = p(n | z) p(y_1 ... y_n | z, x_1 ... x_n)``):

1. :class:`SizesGenerator`, an MLP, gives logits over the multiplicity n in {1 ... P}; n is drawn with the
   straight-through Gumbel-softmax (Eqs. 7.2-7.3, Jang et al. arXiv:1611.01144, Maddison et al. arXiv:1611.00712):
   a one-hot forward pass with the gradients of the relaxed softmax at temperature ``tau``.
2. :class:`ParticleGenerator` maps n points ``x_i ~ N(0, I)``, each concatenated with ``z``, through 5 ISAB blocks
   (4 heads, widths 128, 128, 64, 64, 64; :mod:`hepnb.jets.set_transformer`) and a linear head to the particles.

Two discriminators, both spectrally normalised (Miyato et al., arXiv:1802.05957), judge the stages: the
:class:`SizesDiscriminator`, an MLP with Swish (SiLU) on one-hot(n) (the thesis adds BatchNorm, which made the sizes
stage collapse: see ``SetGANConfig.sizes_batch_norm``), and the
:class:`ParticleDiscriminator`, 4 ISAB blocks of width 128, attention pooling (PMA) and an MLP. n is discrete, so the
sizes generator learns from the sizes discriminator only; the particle generator from the particle discriminator.
Training is the LSGAN of :mod:`hepnb.jets.lsgan` with 3 discriminator updates per 2 generator updates and RMSprop at
2e-4 (section 7.5).

Table 7.1 of the thesis gives 460k parameters for the generator (sizes + particle), 36.8k for the sizes
discriminator and 699k for the particle discriminator, for its 100 particles of 4 features. Unknowns are set to
values that meet those budgets (:func:`parameter_counts` of :data:`THESIS`: 468k, 35.8k, 717k): dim z = 16, 4 noise
features per point, m = 16 inducing points, a sizes MLP z -> 128 -> 128 -> P, a PMA + (64) MLP head, and the sizes
discriminator P -> 128 -> 64 -> 64 -> 64 -> 64 -> 32 -> 1 (36.6k with the thesis's BatchNorm; the text's "6 layers
of 128, 4 of 64, one of 32" would be ~120k, three times Table 7.1's count). :data:`CPU` is a smaller configuration
(widths 64, 3 ISAB blocks per network, m = 8) for trainings on a few cores.

>>> from hepnb.jets.datamodule import JetPreprocessing
>>> pre = JetPreprocessing((0.0, 0.0, -4.0), (0.1, 0.1, 1.0), (0.0,) * 29 + (1.0,))
>>> gan = SetGAN(preprocessing=pre.to_dict(), config=CPU, seed=1)
>>> gan.generate(2, seed=0).shape
(2, 30, 4)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hepnb.errors import InputError, is_whole_number
from hepnb.jets.datamodule import N_FEATURES, JetPreprocessing
from hepnb.jets.lsgan import Fake, PointCloudGAN, check_schedule
from hepnb.jets.set_transformer import ISAB, PMA, count_parameters, spectral_normalise

__all__ = [
    "SetGANConfig",
    "THESIS",
    "CPU",
    "THESIS_PARAMETER_COUNTS",
    "straight_through_gumbel_softmax",
    "SizesGenerator",
    "ParticleGenerator",
    "SizesDiscriminator",
    "ParticleDiscriminator",
    "SetGAN",
    "parameter_counts",
]

THESIS_PARAMETER_COUNTS = {"generator": 460_000, "sizes_discriminator": 36_800, "particle_discriminator": 699_000}
"""Table 7.1 of the thesis: the generator count is the sizes and particle generators together."""


@dataclass(frozen=True)
class SetGANConfig:
    """Shape and training settings of :class:`SetGAN` (defaults: the thesis, see the module docstring).

    Attributes
    ----------
    latent_dim, point_noise_dim
        Widths of the global latent z and of the per-point noise x_i (not given in the thesis).
    heads, inducing_points
        Attention heads (4) and inducing points m of every ISAB block.
    generator_widths, discriminator_widths
        Widths of the ISAB blocks of the particle generator and discriminator.
    discriminator_mlp
        Hidden widths of the particle discriminator's MLP after the pooling.
    sizes_generator_widths, sizes_discriminator_widths
        Hidden widths of the sizes MLPs.
    sizes_batch_norm
        BatchNorm after every hidden layer of the sizes discriminator, as in the thesis. Off by default: with the
        straight-through Gumbel-softmax it made the sizes stage collapse onto one or two multiplicities in our
        tests (total-variation distance 0.20-0.72 to the true n distribution after 1500 updates at the thesis's
        widths and learning rate, against 0.01-0.04 without it, 3 seeds each).
    negative_slope
        LeakyReLU slope of the particle networks and the sizes generator.
    tau
        Gumbel-softmax temperature (not given in the thesis).
    lr, d_steps, g_steps
        RMSprop learning rate and the update schedule (:mod:`hepnb.jets.lsgan`).
    """

    latent_dim: int = 16
    point_noise_dim: int = 4
    heads: int = 4
    inducing_points: int = 16
    generator_widths: tuple[int, ...] = (128, 128, 64, 64, 64)
    discriminator_widths: tuple[int, ...] = (128, 128, 128, 128)
    discriminator_mlp: tuple[int, ...] = (64,)
    sizes_generator_widths: tuple[int, ...] = (128, 128)
    sizes_discriminator_widths: tuple[int, ...] = (128, 64, 64, 64, 64, 32)
    sizes_batch_norm: bool = False
    negative_slope: float = 0.2
    tau: float = 1.0
    lr: float = 2e-4
    d_steps: int = 3
    g_steps: int = 2

    def __post_init__(self) -> None:
        for name in ("latent_dim", "point_noise_dim", "heads", "inducing_points"):
            value = getattr(self, name)
            if not is_whole_number(value) or value < 1:
                raise InputError(f"SetGANConfig.{name}={value!r} must be a whole number of at least 1")
        for name in ("generator_widths", "discriminator_widths"):
            widths = getattr(self, name)
            if not widths or any(w < 1 or w % self.heads for w in widths):
                raise InputError(
                    f"SetGANConfig.{name}={widths!r} must be one or more widths, each a multiple of heads={self.heads}"
                )
        if not self.tau > 0:
            raise InputError(f"SetGANConfig.tau={self.tau!r} must be a positive temperature")
        check_schedule(self.d_steps, self.g_steps, self.lr)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SetGANConfig:
        """The configuration stored as JSON (lists for the widths)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown SetGANConfig fields {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


THESIS = SetGANConfig()
"""The thesis configuration (a GPU's job: about 90 s per epoch of 10k JetNet-30 jets on one CPU thread)."""

CPU = SetGANConfig(
    latent_dim=8,
    inducing_points=8,
    generator_widths=(64, 64, 64),
    discriminator_widths=(64, 64, 64),
    discriminator_mlp=(32,),
    sizes_generator_widths=(64,),
    sizes_discriminator_widths=(64, 32),
)
"""A smaller configuration for CPU trainings (not in the thesis; about 4x faster than :data:`THESIS`); the schedule
and optimiser are the thesis's."""


def straight_through_gumbel_softmax(logits: torch.Tensor, tau: float, gumbel: torch.Tensor) -> torch.Tensor:
    """One-hot samples of the categorical ``softmax(logits)`` with the gradients of the relaxed sample.

    ``y_soft = softmax((logits + g) / tau)`` (thesis Eq. 7.3 with ``log pi = logits`` up to a constant) and the
    result ``onehot(argmax y_soft) - y_soft.detach() + y_soft``: one-hot in the forward pass, ``d y_soft`` in the
    backward pass.

    Parameters
    ----------
    logits
        ``[..., K]`` unnormalised log-probabilities.
    tau
        Temperature.
    gumbel
        Gumbel(0, 1) noise of the shape of ``logits``.

    Examples
    --------
    >>> y = straight_through_gumbel_softmax(torch.tensor([[0.0, 5.0, 0.0]]), 1.0, torch.zeros(1, 3))
    >>> y.detach().round().tolist()
    [[0.0, 1.0, 0.0]]
    """
    soft = torch.softmax((logits + gumbel) / tau, dim=-1)
    index = soft.detach().argmax(dim=-1, keepdim=True)
    hard = (torch.arange(logits.shape[-1], device=logits.device) == index).to(soft.dtype)
    return hard - soft.detach() + soft


def _mlp(
    widths: list[int], activation: type[nn.Module] | None, batch_norm: bool = False, slope: float = 0.2
) -> nn.Sequential:
    """Linear layers through ``widths``, each hidden one followed by (BatchNorm and) the activation."""
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(widths) - 2:
            layers += [nn.BatchNorm1d(b)] if batch_norm else []
            layers.append(nn.LeakyReLU(slope) if activation is nn.LeakyReLU else nn.SiLU())
    return nn.Sequential(*layers)


class SizesGenerator(nn.Module):
    """MLP ``z -> logits`` over the multiplicity n = 1 ... ``n_particles`` (column n - 1)."""

    def __init__(self, config: SetGANConfig, n_particles: int) -> None:
        super().__init__()
        self.net = _mlp(
            [config.latent_dim, *config.sizes_generator_widths, n_particles], nn.LeakyReLU, slope=config.negative_slope
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, n_particles]``."""
        return self.net(z)


class ParticleGenerator(nn.Module):
    """ISAB stack on ``[x_i, z]`` and a linear head to ``n_features`` standardised particle features."""

    def __init__(self, config: SetGANConfig, n_features: int = N_FEATURES) -> None:
        super().__init__()
        widths = [config.point_noise_dim + config.latent_dim, *config.generator_widths]
        self.blocks = nn.ModuleList(
            ISAB(a, b, config.heads, config.inducing_points, config.negative_slope)
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.head = nn.Linear(widths[-1], n_features)

    def forward(self, points: torch.Tensor, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Particles ``[B, P, n_features]`` (0 where ``mask`` is False) from per-point noise ``[B, P, d_x]``,
        latents ``[B, d_z]`` and the mask ``[B, P]``."""
        x = torch.cat([points, z[:, None, :].expand(-1, points.shape[1], -1)], dim=-1)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(x) * mask[..., None]


class SizesDiscriminator(nn.Module):
    """Spectrally normalised MLP with Swish (and BatchNorm if configured) on one-hot multiplicities ``[B, P]`` ->
    scores ``[B]``."""

    def __init__(self, config: SetGANConfig, n_particles: int) -> None:
        super().__init__()
        self.net = spectral_normalise(
            _mlp([n_particles, *config.sizes_discriminator_widths, 1], nn.SiLU, batch_norm=config.sizes_batch_norm)
        )

    def forward(self, sizes: torch.Tensor) -> torch.Tensor:
        return self.net(sizes).squeeze(-1)


class ParticleDiscriminator(nn.Module):
    """Spectrally normalised ISAB stack, PMA pooling and MLP: clouds ``[B, P, n_features]`` -> scores ``[B]``,
    invariant under permutations of the real particles."""

    def __init__(self, config: SetGANConfig, n_features: int = N_FEATURES) -> None:
        super().__init__()
        widths = [n_features, *config.discriminator_widths]
        self.blocks = nn.ModuleList(
            ISAB(a, b, config.heads, config.inducing_points, config.negative_slope)
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.pool = PMA(widths[-1], config.heads, 1, config.negative_slope)
        self.head = _mlp([widths[-1], *config.discriminator_mlp, 1], nn.LeakyReLU, slope=config.negative_slope)
        spectral_normalise(self)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = features
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.pool(x, mask)[:, 0]).squeeze(-1)


def parameter_counts(config: SetGANConfig = THESIS, n_particles: int = 100, n_features: int = 4) -> dict[str, int]:
    """Trainable parameters by Table 7.1's rows (defaults: the thesis's 100 particles of 4 features).

    >>> parameter_counts(CPU, n_particles=30, n_features=3)
    {'generator': 120609, 'sizes_discriminator': 4097, 'particle_discriminator': 139393}
    """
    return {
        "generator": count_parameters(SizesGenerator(config, n_particles))
        + count_parameters(ParticleGenerator(config, n_features)),
        "sizes_discriminator": count_parameters(SizesDiscriminator(config, n_particles)),
        "particle_discriminator": count_parameters(ParticleDiscriminator(config, n_features)),
    }


class SetGAN(PointCloudGAN):
    """The two-stage Set-Transformer GAN as a LightningModule (manual optimisation, :mod:`hepnb.jets.lsgan`).

    Parameters
    ----------
    preprocessing
        ``JetPreprocessing.to_dict()`` of the training jets (``JetDataModule.preprocessing``); fixes P and the units
        of :meth:`generate`.
    config
        A :class:`SetGANConfig` (or its dict): :data:`THESIS` by default, :data:`CPU` for small machines.
    seed
        Seeds the initial weights (and the spectral-norm vectors).

    Notes
    -----
    Logged per epoch: ``d_loss_sizes``, ``d_loss_particles``, ``g_loss_sizes``, ``g_loss_particles``.
    """

    generator_modules = ("sizes_generator", "particle_generator")
    discriminator_modules = ("sizes_discriminator", "particle_discriminator")

    def __init__(
        self, *, preprocessing: dict[str, Any], config: SetGANConfig | dict[str, Any] | None = None, seed: int = 0
    ) -> None:
        super().__init__()
        config = THESIS if config is None else config
        self.config = config if isinstance(config, SetGANConfig) else SetGANConfig.from_dict(dict(config))
        self.preprocessing = JetPreprocessing.from_dict(dict(preprocessing))
        self.save_hyperparameters()
        self.hparams["config"] = dataclasses.asdict(self.config)
        self.hparams["preprocessing"] = self.preprocessing.to_dict()
        self.automatic_optimization = False
        p = self.n_particles
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.sizes_generator = SizesGenerator(self.config, p)
            self.particle_generator = ParticleGenerator(self.config)
            self.sizes_discriminator = SizesDiscriminator(self.config, p)
            self.particle_discriminator = ParticleDiscriminator(self.config)

    def noise_shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        p, c = self.n_particles, self.config
        return {
            "z": ((c.latent_dim,), "normal"),
            "gumbel": ((p,), "gumbel"),
            "points": ((p, c.point_noise_dim), "normal"),
        }

    def decode(self, noise: dict[str, torch.Tensor]) -> Fake:
        z = noise["z"]
        sizes = straight_through_gumbel_softmax(self.sizes_generator(z), self.config.tau, noise["gumbel"])
        n = sizes.detach().argmax(dim=-1, keepdim=True) + 1
        mask = torch.arange(self.n_particles, device=z.device) < n
        return Fake(self.particle_generator(noise["points"], z, mask), mask, sizes)

    def discriminate(self, real: Fake, fake: Fake) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        # one pass over real and generated together, so that the BatchNorm statistics are those of both
        b = len(real.features)
        sizes = self.sizes_discriminator(torch.cat([real.sizes, fake.sizes]))
        particles = self.particle_discriminator(
            torch.cat([real.features, fake.features]), torch.cat([real.mask, fake.mask])
        )
        return ({"sizes": sizes[:b], "particles": particles[:b]}, {"sizes": sizes[b:], "particles": particles[b:]})
