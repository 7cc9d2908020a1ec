"""A one-dimensional generative model of the Z -> mu mu lineshape: the tour's example.

The truth is a relativistic Breit-Wigner (m_Z = 91.1876 GeV, Gamma_Z = 2.4952 GeV) smeared by a Gaussian
resolution, on top of an exponentially falling Drell-Yan continuum, in 70 < m_mumu < 110 GeV. A small
Wasserstein GAN with gradient penalty learns it; its loss says little about when the lineshape is right,
which is what the epoch picker is for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from hepnb.errors import InputError
from hepnb.hists import Comparison

__all__ = ["M_Z", "GAMMA_Z", "MASS_RANGE", "sample_dimuon_mass", "DimuonGAN", "DimuonDataModule", "lineshape_metrics"]

M_Z = 91.1876
GAMMA_Z = 2.4952
MASS_RANGE = (70.0, 110.0)
SCALE = 10.0  # GeV per network unit


def sample_dimuon_mass(
    n: int, seed: int, *, resolution: float = 1.5, background_fraction: float = 0.1, slope: float = 0.05
) -> np.ndarray:
    """Draw ``n`` dimuon masses in GeV inside ``MASS_RANGE``.

    Signal: relativistic Breit-Wigner (sampled in m^2) smeared by a Gaussian of width ``resolution`` GeV;
    background: ``exp(-slope * m)``, a fraction ``background_fraction`` of the events.
    """
    if n < 1:
        raise InputError(f"number of events n={n} must be positive")
    if not 0 <= background_fraction <= 1:
        raise InputError(f"background_fraction={background_fraction} must be in [0, 1]")
    rng = np.random.default_rng(seed)
    lo, hi = MASS_RANGE
    out = np.empty(0)
    while len(out) < n:
        k = 2 * (n - len(out)) + 100
        s = M_Z**2 + M_Z * GAMMA_Z * np.tan(rng.uniform(-np.pi / 2, np.pi / 2, k))
        mass = np.sqrt(np.clip(s, 0, None)) + rng.normal(0, resolution, k)
        u = rng.uniform(size=k)
        background = lo - np.log1p(-u * (1 - np.exp(-slope * (hi - lo)))) / slope
        mass = np.where(rng.uniform(size=k) < background_fraction, background, mass)
        out = np.concatenate([out, mass[(mass > lo) & (mass < hi)]])
    return out[:n]


class DimuonGAN(L.LightningModule):
    """WGAN-GP for one variable: generator and critic are small MLPs.

    Parameters
    ----------
    latent_dim, hidden
        Size of the noise vector and of the hidden layers.
    lr
        Adam learning rate of both networks.
    n_critic
        Critic steps per generator step.
    gp_weight
        Weight of the one-sided gradient penalty.
    """

    def __init__(
        self, latent_dim: int = 4, hidden: int = 32, lr: float = 1e-3, n_critic: int = 5, gp_weight: float = 10.0
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1)
        )
        self.critic = nn.Sequential(
            nn.Linear(1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generated masses in network units ((m - m_Z) / 10 GeV)."""
        return self.generator(z)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        lr = self.hparams.lr
        return [
            torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.9)),
            torch.optim.Adam(self.critic.parameters(), lr=lr, betas=(0.5, 0.9)),
        ]

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        alpha = torch.rand(len(real), 1)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.critic(mixed).sum(), mixed, create_graph=True)
        # One-sided (Lipschitz) penalty. The two-sided (|grad| - 1)^2 traps a one-dimensional critic whose slope
        # starts with the wrong sign: flipping it means crossing slope 0, which the penalty forbids.
        return (torch.relu(grad.norm(dim=1) - 1) ** 2).mean()

    def training_step(self, batch: tuple[torch.Tensor], batch_idx: int) -> None:
        (real,) = batch
        opt_g, opt_c = self.optimizers()
        z = torch.randn(len(real), self.hparams.latent_dim)
        fake = self.generator(z).detach()
        wasserstein = self.critic(real).mean() - self.critic(fake).mean()
        critic_loss = -wasserstein + self.hparams.gp_weight * self._gradient_penalty(real, fake)
        opt_c.zero_grad()
        self.manual_backward(critic_loss)
        opt_c.step()
        self.log("critic_loss", critic_loss, on_step=False, on_epoch=True)
        self.log("wasserstein", wasserstein, on_step=False, on_epoch=True)
        if batch_idx % self.hparams.n_critic == 0:
            z = torch.randn(len(real), self.hparams.latent_dim)
            generator_loss = -self.critic(self.generator(z)).mean()
            opt_g.zero_grad()
            self.manual_backward(generator_loss)
            opt_g.step()
            self.log("generator_loss", generator_loss, on_step=False, on_epoch=True)

    @torch.no_grad()
    def generate(self, n: int, seed: int) -> np.ndarray:
        """``n`` generated masses in GeV, the same for the same seed."""
        z = torch.randn(n, self.hparams.latent_dim, generator=torch.Generator().manual_seed(seed))
        return (self.generator(z).squeeze(1).double().numpy() * SCALE) + M_Z


class DimuonDataModule(L.LightningDataModule):
    """Training batches of dimuon masses, in network units."""

    def __init__(self, masses: np.ndarray, batch_size: int = 256) -> None:
        super().__init__()
        self.masses = torch.as_tensor((np.asarray(masses) - M_Z) / SCALE, dtype=torch.float32)[:, None]
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.masses), batch_size=self.batch_size, shuffle=True, drop_last=True)


def lineshape_metrics(
    reference: np.ndarray, n_generated: int = 20_000, bins: tuple[int, float, float] = (40, *MASS_RANGE), seed: int = 0
) -> Callable[[DimuonGAN, int], Mapping[str, float]]:
    """Per-epoch metrics of a generator against ``reference`` masses: chi2/ndf, W1, mean and width shifts."""
    reference = np.asarray(reference)
    ref_width = np.subtract(*np.percentile(reference, [84.135, 15.865])) / 2

    def metrics(model: DimuonGAN, epoch: int) -> dict[str, float]:
        generated = model.generate(n_generated, seed=seed)
        inside = generated[(generated > MASS_RANGE[0]) & (generated < MASS_RANGE[1])]
        if len(inside) < 10:  # a collapsed generator: worst possible values, not a crash
            return {"chi2_ndf": 1e6, "w1": 1e6, "mean_shift": 1e6, "width_ratio": 1e6}
        comparison = Comparison(reference, {"GAN": inside}, bins=bins)
        width = np.subtract(*np.percentile(inside, [84.135, 15.865])) / 2
        return {
            "chi2_ndf": comparison.chi2().reduced,
            "w1": comparison.wasserstein(),
            "mean_shift": abs(float(np.median(inside) - np.median(reference))),
            "width_ratio": float(width / ref_width),
        }

    return metrics
