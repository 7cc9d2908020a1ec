"""The local score estimator ``t_hat(x | theta_ref)`` (SALLY / SALLINO)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import Tensor

from hepnb.lfi import losses
from hepnb.lfi.augmented import LocalScoreSample
from hepnb.lfi.estimators.base import Estimator, check_method, mlp

__all__ = ["ScoreEstimator"]


class ScoreEstimator(Estimator):
    """``t_hat(x | theta_ref)``: regression of the joint score at the reference (SALLY; ch7: 1x100 tanh).

    Parameters
    ----------
    n_features
        Number of observables.
    method
        ``"sally"`` or ``"sallino"`` (same training; SALLINO differs only at inference).
    n_hidden, activation, lr, final_lr, observables
        As in :class:`~hepnb.lfi.ParameterizedRatioEstimator`.
    theta_ref
        The reference kappa (set from the sample by :func:`~hepnb.lfi.train_estimator`).
    """

    sample_type = LocalScoreSample

    def __init__(
        self,
        n_features: int,
        method: str = "sally",
        *,
        n_hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        theta_ref: float = 1.0,
        lr: float = 1e-3,
        final_lr: float = 1e-4,
        observables: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(n_features, lr, final_lr)
        check_method(method, ("sally", "sallino"))
        self.save_hyperparameters()
        self.net = mlp(int(n_features), n_hidden, 1, activation)

    def forward(self, x: Tensor) -> Tensor:
        """``t_hat`` per event from raw ``x``."""
        return self.net(self._x(x)).squeeze(1)

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        return losses.sally(self(batch["x"]), batch["t_xz"])

    def score(self, x: Any) -> np.ndarray:
        """``t_hat(x | theta_ref)`` in kappa for raw observables ``x``."""
        return self._predict(self, x)
