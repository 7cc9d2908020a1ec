"""The MadMiner loss functions (anchors section 1 table) as pure torch functions.

Conventions (MadMiner's): ``y = 0`` for events drawn at the numerator ``theta0``, ``y = 1`` at the reference
``theta1``; the network outputs ``log r_hat(x | theta0, theta1)`` and the Bayes-optimal classifier output is
``s_hat = 1 / (1 + r_hat) = sigmoid(-log r_hat)``, the probability that ``x`` came from ``theta1``. The joint
quantities are ``r = r(x, z | theta0, theta1)``, ``t0 = t(x, z | theta0)``, ``t1 = t(x, z | theta1)``.

Every mean runs over the whole batch, masked terms included (as ``torch.nn.MSELoss`` on masked tensors in
MadMiner): ``MSE(m a, m b) = mean_i m_i^2 (a_i - b_i)^2``. Scores of shape ``(n,)`` or ``(n, p)`` are averaged over
all entries. The cross-entropies use the logit form (``binary_cross_entropy_with_logits`` on ``-log r_hat``),
identical to ``BCELoss`` on ``s_hat`` but without its ``log`` clamp at -100.

Table (``L`` is minimised by the true ``r(x)`` / ``t(x)``, thesis section 4.8.1):

============  =====================================================================================================
method        loss
============  =====================================================================================================
carl          ``BCE(s_hat, y)``
rolr          ``MSE(y r_hat, y r) + MSE((1-y)/r_hat, (1-y)/r)``  (r, r_hat clipped to ``exp(+-10)``)
rascal        ``rolr + alpha MSE((1-y) t0_hat, (1-y) t0)``  (``+ alpha MSE(y t1_hat, y t1)`` for rascal2)
alice         ``BCE(s_hat, s)`` with ``s = 1/(1+r)``  (the "improved cross-entropy")
alices        ``alice + alpha MSE((1-y) t0_hat, (1-y) t0)``  (``+ alpha MSE(y t1_hat, y t1)`` for alices2)
cascal        ``carl + alpha MSE((1-y) t0_hat, (1-y) t0)``  (``+ alpha MSE(y t1_hat, y t1)`` for cascal2)
sally         ``MSE(t_hat, t)``  (sallino: same loss, different use at inference)
nde           ``-mean log p_hat(x | theta)``
scandal       ``nde + alpha MSE(grad_theta log p_hat(x | theta), t)``
============  =====================================================================================================
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "carl",
    "rolr",
    "rascal",
    "alice",
    "alices",
    "cascal",
    "sally",
    "sallino",
    "nde",
    "scandal",
    "score_mse",
    "RATIO_LOSSES",
]


def _mask(y: Tensor, like: Tensor) -> Tensor:
    """``y`` shaped to broadcast against ``like`` (``(n,)`` against ``(n, p)``)."""
    return y.reshape(-1, *([1] * (like.dim() - 1))) if like.dim() > 1 else y.reshape(-1)


def score_mse(t_hat: Tensor, t_true: Tensor, mask: Tensor | None = None) -> Tensor:
    """``MSE(m t_hat, m t) = mean (m (t_hat - t))^2`` over every entry; ``m = 1`` without a mask."""
    if mask is None:
        return F.mse_loss(t_hat, t_true)
    m = _mask(mask, t_hat)
    return F.mse_loss(m * t_hat, m * t_true)


def _score_terms(t0_hat: Tensor, t0_true: Tensor, y: Tensor, t1_hat: Tensor | None, t1_true: Tensor | None) -> Tensor:
    """``MSE((1-y) t0_hat, (1-y) t0)`` plus ``MSE(y t1_hat, y t1)`` when the reference score is given."""
    loss = score_mse(t0_hat, t0_true, 1.0 - y)
    if (t1_hat is None) != (t1_true is None):
        raise ValueError("give both t1_hat and t1_true (score term on the reference) or neither")
    if t1_hat is not None:
        loss = loss + score_mse(t1_hat, t1_true, y)  # type: ignore[arg-type]
    return loss


def carl(log_r_hat: Tensor, y: Tensor) -> Tensor:
    """CARL: ``BCE(s_hat, y) = -mean[y log s_hat + (1-y) log(1-s_hat)]``, ``s_hat = 1/(1+r_hat)``."""
    return F.binary_cross_entropy_with_logits(-log_r_hat, y.to(log_r_hat.dtype))


def rolr(log_r_hat: Tensor, y: Tensor, log_r_true: Tensor, *, log_r_clip: float = 10.0) -> Tensor:
    """ROLR: ``mean[(y (r_hat - r))^2] + mean[((1-y) (1/r_hat - 1/r))^2]``.

    Events from the reference (``y = 1``) regress ``r``, events from the numerator (``y = 0``) regress ``1/r``;
    ``log r`` and ``log r_hat`` are clipped to ``+-log_r_clip`` first (MadMiner).
    """
    lr_hat = torch.clamp(log_r_hat, -log_r_clip, log_r_clip)
    lr = torch.clamp(log_r_true.to(log_r_hat.dtype), -log_r_clip, log_r_clip)
    y = y.to(log_r_hat.dtype)
    den = F.mse_loss(y * torch.exp(lr_hat), y * torch.exp(lr))
    num = F.mse_loss((1.0 - y) * torch.exp(-lr_hat), (1.0 - y) * torch.exp(-lr))
    return num + den


def alice(log_r_hat: Tensor, log_r_true: Tensor) -> Tensor:
    """ALICE, the improved cross-entropy: ``BCE(s_hat, s) = -mean[s log s_hat + (1-s) log(1-s_hat)]``.

    ``s = 1/(1+r(x,z))`` replaces the label: the loss is minimised by ``r_hat = r(x)`` with less variance than CARL.
    """
    target = torch.sigmoid(-log_r_true.to(log_r_hat.dtype))
    return F.binary_cross_entropy_with_logits(-log_r_hat, target)


def rascal(
    log_r_hat: Tensor,
    t0_hat: Tensor,
    y: Tensor,
    log_r_true: Tensor,
    t0_true: Tensor,
    *,
    alpha: float = 1.0,
    t1_hat: Tensor | None = None,
    t1_true: Tensor | None = None,
    log_r_clip: float = 10.0,
) -> Tensor:
    """RASCAL: ``rolr + alpha [MSE((1-y) t0_hat, (1-y) t0) (+ MSE(y t1_hat, y t1))]``."""
    y = y.to(log_r_hat.dtype)
    return rolr(log_r_hat, y, log_r_true, log_r_clip=log_r_clip) + alpha * _score_terms(
        t0_hat, t0_true, y, t1_hat, t1_true
    )


def alices(
    log_r_hat: Tensor,
    t0_hat: Tensor,
    y: Tensor,
    log_r_true: Tensor,
    t0_true: Tensor,
    *,
    alpha: float = 1.0,
    t1_hat: Tensor | None = None,
    t1_true: Tensor | None = None,
) -> Tensor:
    """ALICES: ``BCE(s_hat, 1/(1+r)) + alpha [MSE((1-y) t0_hat, (1-y) t0) (+ MSE(y t1_hat, y t1))]``.

    The ``(1-y)`` mask keeps the score term on events drawn at ``theta0``, where ``t(x, z | theta0)`` has the
    right conditional expectation (ch7 used ``alpha = 1``).
    """
    y = y.to(log_r_hat.dtype)
    return alice(log_r_hat, log_r_true) + alpha * _score_terms(t0_hat, t0_true, y, t1_hat, t1_true)


def cascal(
    log_r_hat: Tensor,
    t0_hat: Tensor,
    y: Tensor,
    t0_true: Tensor,
    *,
    alpha: float = 1.0,
    t1_hat: Tensor | None = None,
    t1_true: Tensor | None = None,
) -> Tensor:
    """CASCAL: ``BCE(s_hat, y) + alpha [MSE((1-y) t0_hat, (1-y) t0) (+ MSE(y t1_hat, y t1))]``."""
    y = y.to(log_r_hat.dtype)
    return carl(log_r_hat, y) + alpha * _score_terms(t0_hat, t0_true, y, t1_hat, t1_true)


def sally(t_hat: Tensor, t_true: Tensor) -> Tensor:
    """SALLY: ``MSE(t_hat, t) = mean (t_hat - t(x, z | theta_ref))^2``, minimised by ``t_hat = t(x | theta_ref)``."""
    return F.mse_loss(t_hat, t_true.to(t_hat.dtype))


#: SALLINO trains exactly as SALLY; they differ only in how the score is used for inference.
sallino = sally


def nde(log_p_hat: Tensor) -> Tensor:
    """NDE: ``-mean log p_hat(x | theta)`` (maximum likelihood of a conditional density estimator)."""
    return -log_p_hat.mean()


def scandal(log_p_hat: Tensor, t_hat: Tensor, t_true: Tensor, *, alpha: float = 1.0) -> Tensor:
    """SCANDAL: ``-mean log p_hat(x | theta) + alpha MSE(grad_theta log p_hat(x | theta), t(x, z | theta))``."""
    return nde(log_p_hat) + alpha * F.mse_loss(t_hat, t_true.to(t_hat.dtype))


#: The parameterised-ratio methods: name -> (uses the joint ratio, uses the joint score).
RATIO_LOSSES: dict[str, tuple[bool, bool]] = {
    "carl": (False, False),
    "rolr": (True, False),
    "rascal": (True, True),
    "alice": (True, False),
    "alices": (True, True),
    "cascal": (False, True),
}
