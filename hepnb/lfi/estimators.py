"""Neural likelihood-ratio, score and density estimators (Lightning modules) and their training (thesis section 7.6).

* :class:`ParameterizedRatioEstimator`: ``log r_hat(x | theta, theta_ref)`` from ``(x, theta)``, the reference fixed
  (the SM); methods ``carl, rolr, rascal, alice, alices, cascal``; the score ``t_hat(x | theta) = d log r_hat /
  d theta`` by autograd (no extra output node).
* :class:`DoublyParameterizedRatioEstimator`: ``(x, theta0, theta1)`` in, antisymmetric
  ``log r_hat = f(x, theta0, theta1) - f(x, theta1, theta0)`` (MadMiner).
* :class:`ScoreEstimator`: ``t_hat(x | theta_ref)`` (``sally``/``sallino``).
* :class:`DensityEstimator`: ``log p_hat(x | theta)`` (``nde``/``scandal``). No normalising-flow library is in the
  environment (no nflows, zuko or normflows), so this is a conditional Gaussian mixture density network (diagonal
  components, weights, means and widths from an MLP of theta): good for 1-3 dimensional summaries, not for the 35
  raw observables.
* :class:`Ensemble` of trained estimators: mean and spread.

Defaults follow the thesis and MadMiner: tanh MLPs (SALLY 1x100, ALICES 1x300, ``alpha = 1``), AMSGrad, learning
rate 1e-3 decaying exponentially to 1e-4 over the epochs, batch 128, validation fraction 0.25, early stopping on
the validation loss (the best epoch's weights are kept), inputs standardised inside the module (so estimators take
raw observables and raw kappa), parameters ``theta = kappa`` (``mu = kappa^4``).
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch import Tensor, nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from hepnb.errors import InputError
from hepnb.lfi import losses
from hepnb.lfi.augmented import DensitySample, LocalScoreSample, RatioSample, Standardizer
from hepnb.training import fit, progress_bar, quiet_lightning

__all__ = [
    "ParameterizedRatioEstimator",
    "DoublyParameterizedRatioEstimator",
    "ScoreEstimator",
    "DensityEstimator",
    "Ensemble",
    "EnsemblePrediction",
    "train_estimator",
    "train_ensemble",
]

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid,
                                                    "elu": nn.ELU, "silu": nn.SiLU}
_EVAL_BATCH = 8_192


def _mlp(n_in: int, n_hidden: Sequence[int], n_out: int, activation: str) -> nn.Sequential:
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


def _as_tensor(values: Any, name: str, n: int | None = None) -> Tensor:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric, got {type(values).__name__}") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} has non-finite values; fix or drop those events")
    if n is not None:
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        elif arr.shape != (n,):
            raise InputError(f"{name} must be one number or one per event ({n}), got shape {arr.shape}")
    return torch.as_tensor(arr, dtype=torch.float32)


class _Estimator(L.LightningModule):
    """Shared parts: standardisation buffers, AMSGrad with exponential decay, train/validation steps."""

    #: Sample type this estimator trains on.
    sample_type: type = RatioSample

    def __init__(self, n_features: int, lr: float, final_lr: float) -> None:
        super().__init__()
        if not isinstance(n_features, (int, np.integer)) or n_features < 1:
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
        """The feature list or fields of ``events.x`` the estimator was trained on (set by :func:`train_estimator`)."""
        return self.hparams.get("observables")

    def set_standardisation(self, x: Standardizer, theta: Standardizer | None = None) -> None:
        """Store the input standardisation (applied inside :meth:`forward`)."""
        if len(x.mean) != self.n_features:
            raise InputError(f"the x standardizer has {len(x.mean)} columns, the estimator {self.n_features}")
        self.x_mean.copy_(torch.as_tensor(x.mean, dtype=torch.float32))
        self.x_scale.copy_(torch.as_tensor(x.scale, dtype=torch.float32))
        if theta is not None:
            self.theta_mean.copy_(torch.as_tensor(theta.mean[:1], dtype=torch.float32))
            self.theta_scale.copy_(torch.as_tensor(theta.scale[:1], dtype=torch.float32))

    def _x(self, x: Tensor) -> Tensor:
        return (x - self.x_mean) / self.x_scale

    def _theta(self, theta: Tensor) -> Tensor:
        return ((theta - self.theta_mean) / self.theta_scale).reshape(-1, 1)

    def _check_x(self, x: Any) -> Tensor:
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise InputError(f"x must have shape (n, {self.n_features}) (raw observables, as in training), "
                             f"got {arr.shape}")
        return _as_tensor(arr, "x")

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

    @contextlib.contextmanager
    def _evaluating(self) -> Iterator[None]:
        was = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was)


# ----------------------------------------------------------------------------------------------------------------
# ratio estimators
# ----------------------------------------------------------------------------------------------------------------
def _check_method(method: str, allowed: Sequence[str]) -> str:
    if method not in allowed:
        raise InputError(f"method must be one of {list(allowed)}, got {method!r}")
    return method


class ParameterizedRatioEstimator(_Estimator):
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
        Weight of the score term (rascal, alices, cascal).
    theta_ref
        The reference kappa (set from the sample by :func:`train_estimator`).
    lr, final_lr
        Initial and final learning rate of the exponential decay.
    observables
        What ``x`` is (set from the sample by :func:`train_estimator`).
    """

    def __init__(self, n_features: int, method: str = "alices", *, n_hidden: Sequence[int] = (300,),
                 activation: str = "tanh", alpha: float = 1.0, theta_ref: float = 1.0, lr: float = 1e-3,
                 final_lr: float = 1e-4, observables: str | tuple[str, ...] | None = None) -> None:
        super().__init__(n_features, lr, final_lr)
        _check_method(method, tuple(losses.RATIO_LOSSES))
        self.save_hyperparameters()
        self.net = _mlp(int(n_features) + 1, n_hidden, 1, activation)

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
        method, alpha = self.hparams["method"], self.hparams["alpha"]
        if losses.RATIO_LOSSES[method][1]:
            log_r, t0 = self.log_ratio_and_score(batch["x"], batch["theta0"], create_graph=True)
        else:
            log_r, t0 = self(batch["x"], batch["theta0"]), None
        return _ratio_loss(method, alpha, log_r, t0, None, batch)

    def log_ratio(self, x: Any, theta: Any, theta_ref: float | None = None) -> np.ndarray:
        """``log r_hat(x | theta, theta_ref)`` for raw observables ``x`` and kappa ``theta`` (one or one per event)."""
        ref = float(self.hparams["theta_ref"])
        if theta_ref is not None and not np.isclose(float(theta_ref), ref):
            raise InputError(f"this estimator was trained against the reference kappa={ref} only; use a "
                             "DoublyParameterizedRatioEstimator or a DensityEstimator for other references")
        xt = self._check_x(x)
        th = _as_tensor(theta, "theta", len(xt))
        with self._evaluating(), torch.no_grad():
            out = [self(xt[i:i + _EVAL_BATCH], th[i:i + _EVAL_BATCH]) for i in range(0, len(xt), _EVAL_BATCH)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def score(self, x: Any, theta: Any) -> np.ndarray:
        """``t_hat(x | theta) = d log r_hat(x | theta, theta_ref) / d kappa`` by autograd."""
        xt = self._check_x(x)
        th = _as_tensor(theta, "theta", len(xt))
        out = []
        with self._evaluating():
            for i in range(0, len(xt), _EVAL_BATCH):
                out.append(self.log_ratio_and_score(xt[i:i + _EVAL_BATCH], th[i:i + _EVAL_BATCH])[1].detach())
        return torch.cat(out).double().numpy() if out else np.zeros(0)


class DoublyParameterizedRatioEstimator(_Estimator):
    """``log r_hat(x | theta0, theta1) = f(x, theta0, theta1) - f(x, theta1, theta0)`` (antisymmetric by design).

    Parameters are as in :class:`ParameterizedRatioEstimator`; ``reference_score=True`` adds the score term on the
    reference (MadMiner's ``*2`` methods: ``alpha MSE(y t1_hat, y t1)``).
    """

    def __init__(self, n_features: int, method: str = "alices", *, n_hidden: Sequence[int] = (300,),
                 activation: str = "tanh", alpha: float = 1.0, reference_score: bool = False, lr: float = 1e-3,
                 final_lr: float = 1e-4, observables: str | tuple[str, ...] | None = None) -> None:
        super().__init__(n_features, lr, final_lr)
        _check_method(method, tuple(losses.RATIO_LOSSES))
        self.save_hyperparameters()
        self.net = _mlp(int(n_features) + 2, n_hidden, 1, activation)

    def forward(self, x: Tensor, theta0: Tensor, theta1: Tensor) -> Tensor:
        """``log r_hat`` per event from raw ``x``, ``theta0`` and ``theta1``."""
        xs, a, b = self._x(x), self._theta(theta0), self._theta(theta1)
        f01 = self.net(torch.cat([xs, a, b], dim=1))
        f10 = self.net(torch.cat([xs, b, a], dim=1))
        return (f01 - f10).squeeze(1)

    def log_ratio_and_scores(self, x: Tensor, theta0: Tensor, theta1: Tensor,
                             create_graph: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        """``log r_hat`` and its derivatives with respect to ``theta0`` and ``theta1``."""
        a = theta0.detach().clone().requires_grad_(True)
        b = theta1.detach().clone().requires_grad_(True)
        log_r = self(x, a, b)
        t0, t1 = torch.autograd.grad(log_r.sum(), (a, b), create_graph=create_graph)
        return log_r, t0, t1

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        method, alpha = self.hparams["method"], self.hparams["alpha"]
        if losses.RATIO_LOSSES[method][1]:
            log_r, t0, t1 = self.log_ratio_and_scores(batch["x"], batch["theta0"], batch["theta1"], True)
            # d log r(x|theta0,theta1)/d theta1 = -t(x|theta1): compare with minus the joint score at theta1
            t1 = -t1 if self.hparams["reference_score"] else None
        else:
            log_r, t0, t1 = self(batch["x"], batch["theta0"], batch["theta1"]), None, None
        return _ratio_loss(method, alpha, log_r, t0, t1, batch)

    def log_ratio(self, x: Any, theta: Any, theta_ref: Any = 1.0) -> np.ndarray:
        """``log r_hat(x | theta, theta_ref)`` for raw observables and kappa values (numbers or one per event)."""
        xt = self._check_x(x)
        a, b = _as_tensor(theta, "theta", len(xt)), _as_tensor(theta_ref, "theta_ref", len(xt))
        with self._evaluating(), torch.no_grad():
            out = [self(xt[i:i + _EVAL_BATCH], a[i:i + _EVAL_BATCH], b[i:i + _EVAL_BATCH])
                   for i in range(0, len(xt), _EVAL_BATCH)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def score(self, x: Any, theta: Any, theta_ref: Any = 1.0) -> np.ndarray:
        """``t_hat(x | theta) = d log r_hat(x | theta, theta_ref) / d theta``."""
        xt = self._check_x(x)
        a, b = _as_tensor(theta, "theta", len(xt)), _as_tensor(theta_ref, "theta_ref", len(xt))
        with self._evaluating():
            out = [self.log_ratio_and_scores(xt[i:i + _EVAL_BATCH], a[i:i + _EVAL_BATCH],
                                             b[i:i + _EVAL_BATCH])[1].detach() for i in range(0, len(xt), _EVAL_BATCH)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)


def _ratio_loss(method: str, alpha: float, log_r: Tensor, t0: Tensor | None, t1: Tensor | None,
                batch: dict[str, Tensor]) -> Tensor:
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


# ----------------------------------------------------------------------------------------------------------------
# score estimator
# ----------------------------------------------------------------------------------------------------------------
class ScoreEstimator(_Estimator):
    """``t_hat(x | theta_ref)``: regression of the joint score at the reference (SALLY; ch7: 1x100 tanh).

    Parameters
    ----------
    n_features
        Number of observables.
    method
        ``"sally"`` or ``"sallino"`` (same training; SALLINO differs only at inference).
    n_hidden, activation, lr, final_lr, observables
        As in :class:`ParameterizedRatioEstimator`.
    theta_ref
        The reference kappa (set from the sample by :func:`train_estimator`).
    """

    sample_type = LocalScoreSample

    def __init__(self, n_features: int, method: str = "sally", *, n_hidden: Sequence[int] = (100,),
                 activation: str = "tanh", theta_ref: float = 1.0, lr: float = 1e-3, final_lr: float = 1e-4,
                 observables: str | tuple[str, ...] | None = None) -> None:
        super().__init__(n_features, lr, final_lr)
        _check_method(method, ("sally", "sallino"))
        self.save_hyperparameters()
        self.net = _mlp(int(n_features), n_hidden, 1, activation)

    def forward(self, x: Tensor) -> Tensor:
        """``t_hat`` per event from raw ``x``."""
        return self.net(self._x(x)).squeeze(1)

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        return losses.sally(self(batch["x"]), batch["t_xz"])

    def score(self, x: Any) -> np.ndarray:
        """``t_hat(x | theta_ref)`` in kappa for raw observables ``x``."""
        xt = self._check_x(x)
        with self._evaluating(), torch.no_grad():
            out = [self(xt[i:i + _EVAL_BATCH]) for i in range(0, len(xt), _EVAL_BATCH)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)


# ----------------------------------------------------------------------------------------------------------------
# density estimator (mixture density network)
# ----------------------------------------------------------------------------------------------------------------
class DensityEstimator(_Estimator):
    """Conditional density ``p_hat(x | theta)``: a Gaussian mixture whose parameters are an MLP of theta (MDN).

    ``log p_hat(x|theta) = logsumexp_k [log pi_k(theta) + sum_d log N(x'_d; m_kd(theta), s_kd(theta))] -
    sum_d log scale_d`` with ``x'`` the standardised observables (the last term is the Jacobian, so the density is
    that of the raw ``x``). Stands in for MadMiner's MAF (no flow library in the environment); meant for 1-3
    dimensional summaries.

    Parameters
    ----------
    n_features
        Dimension of ``x``.
    method
        ``"nde"`` (maximum likelihood) or ``"scandal"`` (plus ``alpha`` times the score MSE).
    n_components
        Mixture components.
    n_hidden, activation, alpha, lr, final_lr, observables
        As in :class:`ParameterizedRatioEstimator`.
    """

    sample_type = DensitySample

    def __init__(self, n_features: int, method: str = "nde", *, n_components: int = 5,
                 n_hidden: Sequence[int] = (100,), activation: str = "tanh", alpha: float = 1.0, lr: float = 1e-3,
                 final_lr: float = 1e-4, observables: str | tuple[str, ...] | None = None) -> None:
        super().__init__(n_features, lr, final_lr)
        _check_method(method, ("nde", "scandal"))
        if not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise InputError(f"n_components must be a positive integer, got {n_components!r}")
        self.save_hyperparameters()
        k, d = int(n_components), int(n_features)
        self.net = _mlp(1, n_hidden, k * (1 + 2 * d), activation)

    def forward(self, x: Tensor, theta: Tensor) -> Tensor:
        """``log p_hat(x | theta)`` per event (density of the raw observables)."""
        k, d = int(self.hparams["n_components"]), self.n_features
        out = self.net(self._theta(theta))
        logits, means, log_sigma = out[:, :k], out[:, k:k + k * d], out[:, k + k * d:]
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
        xt = self._check_x(x)
        th = _as_tensor(theta, "theta", len(xt))
        with self._evaluating(), torch.no_grad():
            out = [self(xt[i:i + _EVAL_BATCH], th[i:i + _EVAL_BATCH]) for i in range(0, len(xt), _EVAL_BATCH)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def log_ratio(self, x: Any, theta: Any, theta_ref: Any = 1.0) -> np.ndarray:
        """``log p_hat(x | theta) - log p_hat(x | theta_ref)``."""
        return self.log_likelihood(x, theta) - self.log_likelihood(x, theta_ref)

    def score(self, x: Any, theta: Any) -> np.ndarray:
        """``d log p_hat(x | theta) / d kappa``."""
        xt = self._check_x(x)
        th = _as_tensor(theta, "theta", len(xt))
        with self._evaluating():
            out = [self.log_likelihood_and_score(xt[i:i + _EVAL_BATCH], th[i:i + _EVAL_BATCH])[1].detach()
                   for i in range(0, len(xt), _EVAL_BATCH)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)


# ----------------------------------------------------------------------------------------------------------------
# ensemble
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class EnsemblePrediction:
    """Mean and spread (standard deviation over members) of an ensemble's predictions."""

    mean: np.ndarray
    std: np.ndarray
    members: np.ndarray


class Ensemble:
    """``k`` estimators of the same kind: predictions averaged, their spread as an uncertainty (MadMiner A2).

    Parameters
    ----------
    members
        Trained estimators (same class and observables).
    """

    def __init__(self, members: Sequence[_Estimator]) -> None:
        members = list(members)
        if not members:
            raise InputError("an Ensemble needs at least one estimator")
        kinds = {type(m) for m in members}
        if len(kinds) > 1:
            raise InputError(f"ensemble members must be of one class, got {sorted(k.__name__ for k in kinds)}")
        if len({m.n_features for m in members}) > 1:
            raise InputError("ensemble members must take the same observables (different n_features)")
        self.members = members

    def __len__(self) -> int:
        return len(self.members)

    @property
    def observables(self) -> str | tuple[str, ...] | None:
        """The members' observables."""
        return self.members[0].observables

    @property
    def hparams(self) -> Any:
        """The first member's hyper-parameters (for code that inspects an estimator)."""
        return self.members[0].hparams

    def evaluate(self, what: str, *args: Any, **kwargs: Any) -> EnsemblePrediction:
        """Call ``member.<what>(*args, **kwargs)`` on every member (``"log_ratio"``, ``"score"``, ...)."""
        if not all(hasattr(m, what) for m in self.members):
            raise InputError(f"the ensemble's estimators have no method {what!r}")
        values = np.stack([getattr(m, what)(*args, **kwargs) for m in self.members])
        return EnsemblePrediction(values.mean(axis=0), values.std(axis=0, ddof=1 if len(values) > 1 else 0), values)

    def log_ratio(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Mean ``log r_hat`` of the members."""
        return self.evaluate("log_ratio", *args, **kwargs).mean

    def score(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Mean ``t_hat`` of the members."""
        return self.evaluate("score", *args, **kwargs).mean


# ----------------------------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------------------------
class _Arrays(Dataset):
    """Columns as float32 tensors; indexed by a list of rows (one batch per index list)."""

    def __init__(self, arrays: dict[str, np.ndarray], rows: np.ndarray) -> None:
        self.tensors = {k: torch.as_tensor(np.asarray(v)[rows], dtype=torch.float32) for k, v in arrays.items()}
        self.n = len(rows)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rows: Any) -> dict[str, Tensor]:
        return {k: v[rows] for k, v in self.tensors.items()}


class _SampleData(L.LightningDataModule):
    def __init__(self, arrays: dict[str, np.ndarray], train: np.ndarray, val: np.ndarray, batch_size: int,
                 seed: int) -> None:
        super().__init__()
        self.train_set, self.val_set = _Arrays(arrays, train), _Arrays(arrays, val)
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        sampler = BatchSampler(RandomSampler(self.train_set, generator=generator), self.batch_size, drop_last=False)
        return DataLoader(self.train_set, sampler=sampler, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        sampler = BatchSampler(SequentialSampler(self.val_set), max(self.batch_size, 4096), drop_last=False)
        return DataLoader(self.val_set, sampler=sampler, batch_size=None)


class _KeepBest(L.Callback):
    """Record the losses per epoch and restore the weights of the epoch with the lowest validation loss."""

    def __init__(self) -> None:
        self.best, self.state, self.best_epoch = float("inf"), None, 0
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if "train_loss" in trainer.callback_metrics:
            self.train_loss.append(float(trainer.callback_metrics["train_loss"]))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or "val_loss" not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics["val_loss"])
        self.val_loss.append(value)
        if value < self.best:
            self.best, self.best_epoch = value, trainer.current_epoch + 1
            self.state = copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.state is not None:
            pl_module.load_state_dict(self.state)


E = TypeVar("E", bound=_Estimator)


def train_estimator(
    estimator: E | Callable[[], E],
    sample: RatioSample | LocalScoreSample | DensitySample,
    *,
    seed: int,
    max_epochs: int = 50,
    batch_size: int = 128,
    validation_split: float = 0.25,
    patience: int | None = 5,
    reinitialise: bool = True,
    archive: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    **trainer_options: Any,
) -> E:
    """Train an estimator on an augmented sample with ``lightning.Trainer`` and return it, ready to evaluate.

    The input standardisation and the observables are taken from the sample; a random ``validation_split`` of the
    rows is held out; training stops when the validation loss has not improved for ``patience`` epochs (``None``:
    run all epochs) and the weights of the best validation epoch are restored (MadMiner's early stopping). The
    losses per epoch end up in ``estimator.history``.

    Parameters
    ----------
    estimator
        An estimator, or a function returning a fresh one (called after seeding).
    sample
        :class:`RatioSample` (ratio estimators), :class:`LocalScoreSample` (:class:`ScoreEstimator`) or
        :class:`DensitySample` (:class:`DensityEstimator`).
    seed
        Seeds the initial weights, the split and the batch order: the same seed gives the same weights.
    max_epochs
        Maximum number of epochs (thesis: 50 for SALLY, 30 for ALICES); sets the learning-rate decay.
    batch_size
        Mini-batch size (128).
    validation_split
        Fraction of the sample for the validation loss (0.25).
    patience
        Early-stopping patience in epochs, or ``None``.
    reinitialise
        Draw fresh initial weights from ``seed`` for an already built estimator (``False`` continues training).
    archive
        Optional folder of a :class:`hepnb.training.EpochArchive` (metrics and checkpoints per epoch, resumable).
    progress
        Show Lightning's progress bar (default: for more than two million rows times epochs).
    trainer_options
        Passed on to ``lightning.Trainer``.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(max_epochs, (int, np.integer)) or max_epochs < 1:
        raise InputError(f"max_epochs must be a positive integer, got {max_epochs!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not 0 < validation_split < 1:
        raise InputError(f"validation_split must be in (0, 1), got {validation_split!r}")
    if patience is not None and (not isinstance(patience, (int, np.integer)) or patience < 1):
        raise InputError(f"patience must be a positive number of epochs or None, got {patience!r}")
    L.seed_everything(int(seed), workers=True, verbose=False)
    model = estimator if isinstance(estimator, _Estimator) else estimator()
    if not isinstance(model, _Estimator):
        raise InputError(f"estimator must be an hepnb.lfi estimator or a function returning one, got "
                         f"{type(model).__name__}")
    if not isinstance(sample, model.sample_type):
        raise InputError(f"{type(model).__name__} trains on a {model.sample_type.__name__}, got "
                         f"{type(sample).__name__} (mine it with the matching hepnb.lfi.augmented function)")
    if sample.x.shape[1] != model.n_features:
        raise InputError(f"the sample has {sample.x.shape[1]} observables, the estimator takes {model.n_features}")
    if isinstance(sample, RatioSample) and isinstance(model, ParameterizedRatioEstimator) \
            and sample.doubly_parameterized:
        raise InputError("this sample has a varying reference theta1: train a DoublyParameterizedRatioEstimator")
    if isinstance(estimator, _Estimator) and reinitialise:
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
    model.set_standardisation(sample.scaler, getattr(sample, "theta_scaler", None))
    model.hparams["observables"] = sample.observables
    if isinstance(sample, RatioSample) and isinstance(model, ParameterizedRatioEstimator):
        model.hparams["theta_ref"] = float(sample.theta1[0])
    if isinstance(sample, LocalScoreSample):
        model.hparams["theta_ref"] = float(sample.theta)

    n = len(sample)
    n_val = int(round(validation_split * n))
    if n_val < 1 or n - n_val < 1:
        raise InputError(f"{n} rows cannot be split into training and validation with validation_split="
                         f"{validation_split}; mine a larger sample")
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 25])).permutation(n)
    data = _SampleData(sample.arrays(), order[n_val:], order[:n_val], int(batch_size), int(seed))
    keep = _KeepBest()
    show = len(sample) * int(max_epochs) > 2_000_000 if progress is None else bool(progress)
    callbacks: list[L.Callback] = [keep, *trainer_options.pop("callbacks", [])]
    if patience is not None:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=int(patience), mode="min"))
    options: dict[str, Any] = {"inference_mode": False, "use_distributed_sampler": False, "callbacks": callbacks,
                               **trainer_options}
    with quiet_lightning():
        if archive is not None:
            fit(model, data, archive, max_epochs=int(max_epochs), seed=int(seed), progress=show, **options)
        else:
            options["callbacks"] = [*callbacks, *progress_bar(show)]
            trainer = L.Trainer(max_epochs=int(max_epochs), deterministic=True, logger=False,
                                enable_checkpointing=False, enable_progress_bar=show, enable_model_summary=False,
                                num_sanity_val_steps=0, accelerator="cpu", **options)
            trainer.fit(model, datamodule=data)
    model.history = {"train_loss": keep.train_loss, "val_loss": keep.val_loss, "best_epoch": keep.best_epoch,
                     "best_val_loss": keep.best}
    model.eval()
    return model


def train_ensemble(
    factory: Callable[[], _Estimator],
    sample: RatioSample | LocalScoreSample | DensitySample,
    k: int,
    *,
    seed: int,
    **options: Any,
) -> Ensemble:
    """Train ``k`` estimators made by ``factory`` with seeds ``seed, seed+1, ...`` (:func:`train_estimator` options)."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive number of estimators, got {k!r}")
    return Ensemble([train_estimator(factory, sample, seed=int(seed) + i, **options) for i in range(int(k))])
