"""What every estimator shares: the MLP, input checks, standardisation, the optimiser and the batched evaluation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

from hepnb.errors import InputError, as_finite_array, is_whole_number
from hepnb.lfi.augmented import RatioSample, Standardizer

__all__ = ["ALPHA_CONVENTIONS", "EVAL_BATCH", "Estimator", "as_tensor", "check_alpha", "check_method", "mlp"]

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}
#: Rows per batch when an estimator is evaluated.
EVAL_BATCH = 8_192
#: How ``alpha`` weighs the score term: on the standardised parameter (MadMiner) or on the raw one.
ALPHA_CONVENTIONS = ("standardised", "raw")


def mlp(n_in: int, n_hidden: Sequence[int], n_out: int, activation: str) -> nn.Sequential:
    """``Linear`` layers of the widths ``n_hidden`` with ``activation`` between them, a linear output."""
    if activation not in _ACTIVATIONS:
        raise InputError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    hidden = tuple(int(h) for h in n_hidden)
    if any(h < 1 for h in hidden):
        raise InputError(f"n_hidden must list positive layer widths such as (100,), got {n_hidden!r}")
    layers: list[nn.Module] = []
    last = n_in
    for width in hidden:
        layers += [nn.Linear(last, width), _ACTIVATIONS[activation]()]
        last = width
    layers.append(nn.Linear(last, n_out))
    return nn.Sequential(*layers)


def as_tensor(values: Any, name: str, n: int | None = None) -> Tensor:
    """Finite numbers as a float32 tensor; with ``n``, one number is repeated to ``n`` events."""
    arr = as_finite_array(values, name)
    if n is not None:
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        elif arr.shape != (n,):
            raise InputError(f"{name} must be one number or one per event ({n}), got shape {arr.shape}")
    return torch.as_tensor(arr, dtype=torch.float32)


def check_alpha(alpha: float, convention: str) -> None:
    """``alpha >= 0`` and ``convention`` one of :data:`ALPHA_CONVENTIONS`."""
    if convention not in ALPHA_CONVENTIONS:
        raise InputError(f"alpha_convention must be one of {list(ALPHA_CONVENTIONS)}, got {convention!r}")
    if not (isinstance(alpha, (int, float, np.integer, np.floating)) and np.isfinite(alpha) and alpha >= 0):
        raise InputError(f"alpha must be a finite number >= 0 (weight of the score term), got {alpha!r}")


def check_method(method: str, allowed: Sequence[str]) -> str:
    """``method`` if it is one of ``allowed``."""
    if method not in allowed:
        raise InputError(f"method must be one of {list(allowed)}, got {method!r}")
    return method


class Estimator(L.LightningModule):
    """Shared parts: standardisation buffers, AMSGrad with exponential decay, train/validation steps."""

    #: Sample type this estimator trains on.
    sample_type: type = RatioSample

    def __init__(self, n_features: int, lr: float, final_lr: float) -> None:
        super().__init__()
        if not is_whole_number(n_features) or n_features < 1:
            raise InputError(f"n_features must be a positive integer (columns of x), got {n_features!r}")
        if not (lr > 0 and final_lr > 0):
            raise InputError(f"learning rates must be > 0, got lr={lr}, final_lr={final_lr}")
        self.register_buffer("x_mean", torch.zeros(int(n_features)))
        self.register_buffer("x_scale", torch.ones(int(n_features)))
        self.register_buffer("theta_mean", torch.zeros(1))
        self.register_buffer("theta_scale", torch.ones(1))
        self.history: dict[str, Any] = {}

    # ------------------------------------------------------------------------------------------ standardisation
    @property
    def n_features(self) -> int:
        """Number of observables the estimator takes."""
        return int(self.x_mean.numel())

    @property
    def observables(self) -> str | tuple[str, ...] | None:
        """The feature list or fields of ``events.x`` the estimator was trained on (set by ``train_estimator``)."""
        return self.hparams.get("observables")

    def fit_preprocessing(self, sample: Any) -> None:
        """Store what the training ``sample`` fixes of the inputs: their standardisation (:meth:`set_standardisation`
        with ``sample.scaler`` and, where the sample has one, ``sample.theta_scaler``). `hepnb.lfi.train_estimator`
        calls it; an estimator with more preprocessing extends it (a flow also finds its discrete observables)."""
        self.set_standardisation(sample.scaler, getattr(sample, "theta_scaler", None))

    def set_standardisation(self, x: Standardizer, theta: Standardizer | None = None) -> None:
        """Store the input standardisation (applied inside :meth:`forward`)."""
        if len(x.mean) != self.n_features:
            raise InputError(f"the x standardizer has {len(x.mean)} columns, the estimator {self.n_features}")
        self.x_mean.copy_(torch.as_tensor(x.mean, dtype=torch.float32))
        self.x_scale.copy_(torch.as_tensor(x.scale, dtype=torch.float32))
        if theta is not None:
            self.theta_mean.copy_(torch.as_tensor(theta.mean[:1], dtype=torch.float32))
            self.theta_scale.copy_(torch.as_tensor(theta.scale[:1], dtype=torch.float32))

    def score_alpha(self) -> Tensor | float:
        """The weight of ``MSE(t_hat, t)`` with the scores in raw theta units, as the loss applies it.

        With ``alpha_convention="standardised"`` (MadMiner's: the score term compares scores with respect to the
        standardised ``theta' = (theta - mean) / sigma_theta``, ``t' = sigma_theta t``) this is ``alpha
        sigma_theta^2``, ``sigma_theta`` being the stored :attr:`theta_scale`; with ``"raw"`` (or for an estimator
        without the setting) it is ``alpha``.
        """
        alpha = float(self.hparams["alpha"])
        if self.hparams.get("alpha_convention", "raw") == "standardised":
            return alpha * self.theta_scale[0] ** 2
        return alpha

    def _x(self, x: Tensor) -> Tensor:
        return (x - self.x_mean) / self.x_scale

    def _theta(self, theta: Tensor) -> Tensor:
        return ((theta - self.theta_mean) / self.theta_scale).reshape(-1, 1)

    # ------------------------------------------------------------------------------------------ evaluation
    def _predict(
        self, function: Callable[..., Tensor], x: Any, *, gradient: bool = False, **parameters: Any
    ) -> np.ndarray:
        """``function(x, *parameters)`` over batches of rows, in eval mode, as one float64 array.

        ``x`` are raw observables ``(n, n_features)``; each parameter (e.g. ``theta=...``, in this order) is one
        number or one per event. Autograd is on only with ``gradient=True`` (the scores differentiate the network
        with respect to theta).
        """
        arr = as_finite_array(x, "x")
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise InputError(
                f"x must have shape (n, {self.n_features}) (raw observables, as in training), got {arr.shape}"
            )
        n = len(arr)
        columns = [
            torch.as_tensor(arr, dtype=torch.float32),
            *(as_tensor(value, name, n) for name, value in parameters.items()),
        ]
        was_training = self.training
        self.eval()
        try:
            with torch.set_grad_enabled(gradient):
                out = [
                    function(*(column[i : i + EVAL_BATCH] for column in columns)).detach()
                    for i in range(0, n, EVAL_BATCH)
                ]
        finally:
            self.train(was_training)
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    # ------------------------------------------------------------------------------------------ training
    def loss(self, batch: dict[str, Tensor]) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        value = self.loss(batch)
        self.log("train_loss", value, on_step=False, on_epoch=True, batch_size=len(batch["x"]))
        return value

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        with torch.enable_grad():  # the score terms differentiate with respect to theta
            value = self.loss(batch)
        self.log("val_loss", value.detach(), on_step=False, on_epoch=True, batch_size=len(batch["x"]))

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizer = torch.optim.Adam(self.parameters(), lr=hp["lr"], amsgrad=True)
        epochs = self.trainer.max_epochs if self._trainer is not None and self.trainer.max_epochs else 1
        gamma = (hp["final_lr"] / hp["lr"]) ** (1.0 / max(int(epochs) - 1, 1))
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
