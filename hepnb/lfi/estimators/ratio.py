"""Likelihood-ratio estimators: ``log r_hat(x | theta, theta_ref)`` with a fixed or a free reference.

* :class:`ParameterizedRatioEstimator`: ``(x, theta)`` in, the reference fixed (the SM); methods ``carl, rolr,
  rascal, alice, alices, cascal`` (:mod:`hepnb.lfi.losses`); the score ``t_hat(x | theta) = d log r_hat /
  d theta`` by autograd (no extra output node).
* :class:`DoublyParameterizedRatioEstimator`: ``(x, theta0, theta1)`` in, antisymmetric
  ``log r_hat = f(x, theta0, theta1) - f(x, theta1, theta0)`` (MadMiner).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hepnb.errors import InputError
from hepnb.lfi import losses
from hepnb.lfi.estimators.base import Estimator, check_alpha, check_method, mlp

__all__ = ["ParameterizedRatioEstimator", "DoublyParameterizedRatioEstimator"]


class ParameterizedRatioEstimator(Estimator):
    """``log r_hat(x | theta, theta_ref)`` with the reference fixed (the SM): one MLP of ``(x, theta)``.

    Parameters
    ----------
    n_features
        Number of observables.
    method
        ``"carl"``, ``"rolr"``, ``"rascal"``, ``"alice"``, ``"alices"`` or ``"cascal"`` (:mod:`hepnb.lfi.losses`).
    n_hidden
        Hidden layer widths (ch7 ALICES: one layer of 300).
    activation
        ``"tanh"`` (thesis), ``"relu"``, ...
    alpha
        Weight of the score term (rascal, alices, cascal), in the convention ``alpha_convention``.
    alpha_convention
        ``"standardised"`` (default, MadMiner's): the score term is the MSE of the scores with respect to the
        standardised parameter ``theta' = (theta - mean) / sigma_theta`` (``t' = sigma_theta t``), so that
        ``alpha`` does not depend on the units of theta; ``"raw"``: the MSE of the scores in raw theta units (hepnb's
        earlier convention). The two agree for ``alpha_raw = alpha_standardised * sigma_theta^2``, with
        ``sigma_theta`` the standard deviation of the training theta (:attr:`theta_scale`, set by
        :func:`~hepnb.lfi.train_estimator`).
    theta_ref
        The reference kappa (set from the sample by :func:`~hepnb.lfi.train_estimator`).
    lr, final_lr
        Initial and final learning rate of the exponential decay.
    observables
        What ``x`` is (set from the sample by :func:`~hepnb.lfi.train_estimator`).
    """

    def __init__(
        self,
        n_features: int,
        method: str = "alices",
        *,
        n_hidden: Sequence[int] = (300,),
        activation: str = "tanh",
        alpha: float = 1.0,
        alpha_convention: str = "standardised",
        theta_ref: float = 1.0,
        lr: float = 1e-3,
        final_lr: float = 1e-4,
        observables: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(n_features, lr, final_lr)
        check_method(method, tuple(losses.RATIO_LOSSES))
        check_alpha(alpha, alpha_convention)
        self.save_hyperparameters()
        self.net = mlp(int(n_features) + 1, n_hidden, 1, activation)

    def forward(self, x: Tensor, theta: Tensor) -> Tensor:
        """``log r_hat`` per event from raw ``x`` ``(n, d)`` and raw ``theta`` ``(n,)``."""
        return self.net(torch.cat([self._x(x), self._theta(theta)], dim=1)).squeeze(1)

    def log_ratio_and_score(self, x: Tensor, theta: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
        """``log r_hat(x | theta, theta_ref)`` and ``t_hat(x | theta) = d log r_hat / d theta``."""
        theta = theta.detach().clone().requires_grad_(True)
        log_r = self(x, theta)
        (t_hat,) = torch.autograd.grad(log_r.sum(), theta, create_graph=create_graph)
        return log_r, t_hat

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        method, alpha = self.hparams["method"], self.score_alpha()
        if losses.RATIO_LOSSES[method][1]:
            log_r, t0 = self.log_ratio_and_score(batch["x"], batch["theta0"], create_graph=True)
        else:
            log_r, t0 = self(batch["x"], batch["theta0"]), None
        return _ratio_loss(method, alpha, log_r, t0, None, batch)

    def log_ratio(self, x: Any, theta: Any, theta_ref: float | None = None) -> np.ndarray:
        """``log r_hat(x | theta, theta_ref)`` for raw observables ``x`` and kappa ``theta`` (one or one per event)."""
        ref = float(self.hparams["theta_ref"])
        if theta_ref is not None and not np.isclose(float(theta_ref), ref):
            raise InputError(
                f"this estimator was trained against the reference kappa={ref} only; use a "
                "DoublyParameterizedRatioEstimator or a DensityEstimator for other references"
            )
        return self._predict(self, x, theta=theta)

    def score(self, x: Any, theta: Any) -> np.ndarray:
        """``t_hat(x | theta) = d log r_hat(x | theta, theta_ref) / d kappa`` by autograd."""
        return self._predict(lambda *args: self.log_ratio_and_score(*args)[1], x, gradient=True, theta=theta)


class DoublyParameterizedRatioEstimator(Estimator):
    """``log r_hat(x | theta0, theta1) = f(x, theta0, theta1) - f(x, theta1, theta0)`` (antisymmetric by design).

    Parameters are as in :class:`ParameterizedRatioEstimator` (``alpha_convention`` included, with ``sigma_theta``
    fitted on theta0 and theta1 together, as MadMiner); ``reference_score=True`` adds the score term on the
    reference (MadMiner's ``*2`` methods: ``alpha MSE(y t1_hat, y t1)``).
    """

    def __init__(
        self,
        n_features: int,
        method: str = "alices",
        *,
        n_hidden: Sequence[int] = (300,),
        activation: str = "tanh",
        alpha: float = 1.0,
        alpha_convention: str = "standardised",
        reference_score: bool = False,
        lr: float = 1e-3,
        final_lr: float = 1e-4,
        observables: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(n_features, lr, final_lr)
        check_method(method, tuple(losses.RATIO_LOSSES))
        check_alpha(alpha, alpha_convention)
        self.save_hyperparameters()
        self.net = mlp(int(n_features) + 2, n_hidden, 1, activation)

    def forward(self, x: Tensor, theta0: Tensor, theta1: Tensor) -> Tensor:
        """``log r_hat`` per event from raw ``x``, ``theta0`` and ``theta1``."""
        xs, a, b = self._x(x), self._theta(theta0), self._theta(theta1)
        f01 = self.net(torch.cat([xs, a, b], dim=1))
        f10 = self.net(torch.cat([xs, b, a], dim=1))
        return (f01 - f10).squeeze(1)

    def log_ratio_and_scores(
        self, x: Tensor, theta0: Tensor, theta1: Tensor, create_graph: bool = False
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``log r_hat`` and its derivatives with respect to ``theta0`` and ``theta1``."""
        a = theta0.detach().clone().requires_grad_(True)
        b = theta1.detach().clone().requires_grad_(True)
        log_r = self(x, a, b)
        t0, t1 = torch.autograd.grad(log_r.sum(), (a, b), create_graph=create_graph)
        return log_r, t0, t1

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        method, alpha = self.hparams["method"], self.score_alpha()
        if losses.RATIO_LOSSES[method][1]:
            log_r, t0, t1 = self.log_ratio_and_scores(batch["x"], batch["theta0"], batch["theta1"], True)
            # d log r(x|theta0,theta1)/d theta1 = -t(x|theta1): compare with minus the joint score at theta1
            t1 = -t1 if self.hparams["reference_score"] else None
        else:
            log_r, t0, t1 = self(batch["x"], batch["theta0"], batch["theta1"]), None, None
        return _ratio_loss(method, alpha, log_r, t0, t1, batch)

    def log_ratio(self, x: Any, theta: Any, theta_ref: Any = 1.0) -> np.ndarray:
        """``log r_hat(x | theta, theta_ref)`` for raw observables and kappa values (numbers or one per event)."""
        return self._predict(self, x, theta=theta, theta_ref=theta_ref)

    def score(self, x: Any, theta: Any, theta_ref: Any = 1.0) -> np.ndarray:
        """``t_hat(x | theta) = d log r_hat(x | theta, theta_ref) / d theta``."""
        return self._predict(
            lambda *args: self.log_ratio_and_scores(*args)[1], x, gradient=True, theta=theta, theta_ref=theta_ref
        )


def _ratio_loss(
    method: str, alpha: Tensor | float, log_r: Tensor, t0: Tensor | None, t1: Tensor | None, batch: dict[str, Tensor]
) -> Tensor:
    y, lr_true = batch["y"], batch["log_r_xz"]
    t1_true = batch["t1_xz"] if t1 is not None else None
    if method == "carl":
        return losses.carl(log_r, y)
    if method == "rolr":
        return losses.rolr(log_r, y, lr_true)
    if method == "alice":
        return losses.alice(log_r, lr_true)
    if method == "rascal":
        return losses.rascal(log_r, t0, y, lr_true, batch["t_xz"], alpha=alpha, t1_hat=t1, t1_true=t1_true)
    if method == "alices":
        return losses.alices(log_r, t0, y, lr_true, batch["t_xz"], alpha=alpha, t1_hat=t1, t1_true=t1_true)
    return losses.cascal(log_r, t0, y, batch["t_xz"], alpha=alpha, t1_hat=t1, t1_true=t1_true)
