"""The conditional density estimator ``log p_hat(x | theta)`` (NDE / SCANDAL) as a mixture density network.

No normalising-flow library is in the environment (no nflows, zuko or normflows), so this stands in for MadMiner's
MAF: a Gaussian mixture with diagonal components whose weights, means and widths are an MLP of theta. Good for 1-3
dimensional summaries, not for the 35 raw observables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepnb.errors import InputError
from hepnb.lfi import losses
from hepnb.lfi.augmented import DensitySample
from hepnb.lfi.estimators.base import Estimator, check_method, mlp

__all__ = ["DensityEstimator"]


class DensityEstimator(Estimator):
    """Conditional density ``p_hat(x | theta)``: a Gaussian mixture whose parameters are an MLP of theta (MDN).

    ``log p_hat(x|theta) = logsumexp_k [log pi_k(theta) + sum_d log N(x'_d; m_kd(theta), s_kd(theta))] -
    sum_d log scale_d`` with ``x'`` the standardised observables (the last term is the Jacobian, so the density is
    that of the raw ``x``).

    Parameters
    ----------
    n_features
        Dimension of ``x``.
    method
        ``"nde"`` (maximum likelihood) or ``"scandal"`` (plus ``alpha`` times the score MSE).
    n_components
        Mixture components.
    n_hidden, activation, alpha, lr, final_lr, observables
        As in :class:`~hepnb.lfi.ParameterizedRatioEstimator`.
    """

    sample_type = DensitySample

    def __init__(
        self,
        n_features: int,
        method: str = "nde",
        *,
        n_components: int = 5,
        n_hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        alpha: float = 1.0,
        lr: float = 1e-3,
        final_lr: float = 1e-4,
        observables: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(n_features, lr, final_lr)
        check_method(method, ("nde", "scandal"))
        if not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise InputError(f"n_components must be a positive integer, got {n_components!r}")
        self.save_hyperparameters()
        k, d = int(n_components), int(n_features)
        self.net = mlp(1, n_hidden, k * (1 + 2 * d), activation)

    def forward(self, x: Tensor, theta: Tensor) -> Tensor:
        """``log p_hat(x | theta)`` per event (density of the raw observables)."""
        k, d = int(self.hparams["n_components"]), self.n_features
        out = self.net(self._theta(theta))
        logits, means, log_sigma = out[:, :k], out[:, k : k + k * d], out[:, k + k * d :]
        means, log_sigma = means.reshape(-1, k, d), torch.clamp(log_sigma.reshape(-1, k, d), -7.0, 5.0)
        z = (self._x(x)[:, None, :] - means) * torch.exp(-log_sigma)
        log_normal = -0.5 * z**2 - log_sigma - 0.5 * float(np.log(2 * np.pi))
        log_p = torch.logsumexp(torch.log_softmax(logits, dim=1) + log_normal.sum(dim=2), dim=1)
        return log_p - torch.log(self.x_scale).sum()

    def log_likelihood_and_score(self, x: Tensor, theta: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
        """``log p_hat(x | theta)`` and ``d log p_hat / d theta``."""
        theta = theta.detach().clone().requires_grad_(True)
        log_p = self(x, theta)
        (t_hat,) = torch.autograd.grad(log_p.sum(), theta, create_graph=create_graph)
        return log_p, t_hat

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        if self.hparams["method"] == "scandal":
            log_p, t_hat = self.log_likelihood_and_score(batch["x"], batch["theta"], create_graph=True)
            return losses.scandal(log_p, t_hat, batch["t_xz"], alpha=self.hparams["alpha"])
        return losses.nde(self(batch["x"], batch["theta"]))

    def log_likelihood(self, x: Any, theta: Any) -> np.ndarray:
        """``log p_hat(x | theta)`` for raw observables and kappa."""
        return self._predict(self, x, theta=theta)

    def log_ratio(self, x: Any, theta: Any, theta_ref: Any = 1.0) -> np.ndarray:
        """``log p_hat(x | theta) - log p_hat(x | theta_ref)``."""
        return self.log_likelihood(x, theta) - self.log_likelihood(x, theta_ref)

    def score(self, x: Any, theta: Any) -> np.ndarray:
        """``d log p_hat(x | theta) / d kappa``."""
        return self._predict(lambda *args: self.log_likelihood_and_score(*args)[1], x, gradient=True, theta=theta)
