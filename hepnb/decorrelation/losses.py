"""Losses of the decorrelation methods, as differentiable torch functions of one batch.

Event weights enter every loss as ``sum_i w_i l_i / B`` over the B events of the batch (Keras' ``sample_weight``
convention), so negative weights pull with their sign; scale the weights to an average of about 1 so that the
lambdas keep their meaning.

- :func:`weighted_bce`: the classification loss of every method (logits in, for numerical stability).
- :func:`distance_correlation`: DisCo's weighted dCorr^2 (Kasieczka and Shih, arXiv:2001.05310), O(B^2) per batch.
- :func:`aspiration_permutation`, :func:`aspiration_weights`, :func:`aspiration_loss`: the aspiration network's
  adversary (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, section 8.1.3): real ``(score, m)`` pairs against
  aspired pairs whose m is shuffled across the batch without replacement, which keeps both marginals exactly;
  :func:`standardised_logit`, the adversary's score input that a compressed score cannot hide from.
- :func:`mode_loss`: moment decorrelation MoDe[n] (Kitouni, Nachman, Weisser, Williams, arXiv:2010.09745).
- :func:`gaussian_mixture_nll`: the mixture-density adversary of Pivot (Louppe, Kagan, Cranmer, arXiv:1611.01046).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hepnb.errors import InputError

__all__ = [
    "weighted_bce",
    "distance_correlation",
    "aspiration_permutation",
    "aspiration_weights",
    "aspiration_loss",
    "standardised_logit",
    "mode_loss",
    "gaussian_mixture_nll",
]


def weighted_bce(logits: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """``sum_i w_i BCE(sigmoid(logit_i), target_i) / B``.

    Examples
    --------
    >>> import torch
    >>> round(float(weighted_bce(torch.zeros(2), torch.tensor([1.0, 0.0]), torch.tensor([1.0, 3.0]))), 4)  # 2 ln 2
    1.3863
    """
    return (weights * F.binary_cross_entropy_with_logits(logits, target, reduction="none")).sum() / len(logits)


def distance_correlation(x: Tensor, y: Tensor, weights: Tensor | None = None) -> Tensor:
    """Squared weighted distance correlation of a 1-D ``x`` (the score) with ``y`` ([B] or [B, k]), differentiable.

    The V-statistic of :mod:`hepnb.metrics.distance_correlation` with ``p = w / sum w``, from the double-centred
    B x B distance matrices (DisCo's ``distance_corr``; a [B, k] ``y`` uses Euclidean distances between rows). It
    returns 0 where it is undefined on a batch: a constant variable, a non-positive total weight, or (negative
    weights) a non-positive distance variance.

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(0, 1, 50)
    >>> round(float(distance_correlation(x, 3 * x + 1)), 6), float(distance_correlation(x, torch.ones(50)))
    (1.0, 0.0)
    """
    w = torch.ones_like(x) if weights is None else weights
    total = w.sum()
    if not total > 0:
        return x.sum() * 0.0
    p = w / total
    y2 = y.reshape(len(y), -1)

    def centred(distances: Tensor) -> Tensor:
        row = distances @ p
        return distances - row[:, None] - row[None, :] + p @ row

    a = centred((x[:, None] - x[None, :]).abs())
    b = centred(torch.cdist(y2, y2))
    dcov = p @ (a * b) @ p
    var_x, var_y = p @ (a * a) @ p, p @ (b * b) @ p
    if not (var_x > 0 and var_y > 0):
        return x.sum() * 0.0
    return dcov / torch.sqrt(var_x * var_y)


def aspiration_permutation(n: int, groups: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
    """A permutation of ``range(n)`` (on the CPU) without replacement, within each group label if ``groups`` is given.

    ``protected[perm]`` pairs every score with the protected variable of another event (one shared permutation for
    all protected columns, so their mutual correlation is kept); within groups, each background component is
    shuffled only among itself (conditional decorrelation).

    Examples
    --------
    >>> import torch
    >>> perm = aspiration_permutation(6, torch.tensor([0, 0, 0, 1, 1, 1]), torch.Generator().manual_seed(0))
    >>> sorted(perm[:3].tolist()), sorted(perm[3:].tolist())
    ([0, 1, 2], [3, 4, 5])
    """
    if groups is None:
        return torch.randperm(n, generator=generator, device="cpu")
    if groups.shape != (n,):
        raise InputError(f"groups must hold one label per event, shape ({n},), got {tuple(groups.shape)}")
    labels = groups.cpu()
    perm = torch.arange(n)
    for label in torch.unique(labels):
        members = torch.nonzero(labels == label).flatten()
        perm[members] = members[torch.randperm(len(members), generator=generator)]
    return perm


def aspiration_weights(weights: Tensor, perm: Tensor, groups: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Weights of the real and aspired pairs, such that the aspired pairs sample the product of weighted marginals.

    A real pair i has weight ``w_i``; the aspired pair ``(s_i, m_perm(i))`` has ``w_i w_perm(i) / mean(w)`` (mean
    over its group), whose expectation over permutations is the product of the weighted marginals with the same
    total weight. A group whose mean weight in the batch is not positive (negative weights dominate it) has no
    weighted distribution to aspire to: its real and aspired pairs get weight 0 in that batch.

    Examples
    --------
    >>> import torch
    >>> real, aspired = aspiration_weights(torch.ones(4), torch.tensor([1, 0, 3, 2]))
    >>> real.tolist(), aspired.tolist()
    ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0])
    """
    if groups is None:
        mean = weights.mean().expand_as(weights)
    else:
        sums = torch.zeros(int(groups.max()) + 1, dtype=weights.dtype, device=weights.device)
        counts = torch.zeros_like(sums)
        sums.index_add_(0, groups, weights)
        counts.index_add_(0, groups, torch.ones_like(weights))
        mean = (sums / counts.clamp(min=1))[groups]
    usable = mean > 0
    real = torch.where(usable, weights, torch.zeros_like(weights))
    aspired = torch.where(
        usable, weights * weights[perm] / torch.where(usable, mean, torch.ones_like(mean)), torch.zeros_like(weights)
    )
    return real, aspired


def aspiration_loss(
    real_logits: Tensor, aspired_logits: Tensor, real_weights: Tensor, aspired_weights: Tensor
) -> Tensor:
    """The adversary's loss: ``BCE(a(real), 1) + BCE(a(aspired), 0)``, each weighted as in :func:`weighted_bce`.

    The adversary minimises it; the classifier minimises ``L_clf - lambda * aspiration_loss``.
    """
    return weighted_bce(real_logits, torch.ones_like(real_logits), real_weights) + weighted_bce(
        aspired_logits, torch.zeros_like(aspired_logits), aspired_weights
    )


def standardised_logit(score: Tensor, eps: float = 1e-6) -> Tensor:
    """The logit of the score standardised over the batch (mean 0, standard deviation 1), differentiable throughout.

    An adversary input that no affine rescaling of the score can shrink: the score probability ``score`` is
    clamped to ``[eps, 1 - eps]``; the mean and standard deviation are those of the batch, not detached.

    Examples
    --------
    >>> import torch
    >>> z = standardised_logit(torch.tensor([0.1, 0.5, 0.9]))
    >>> [round(v, 4) for v in z.tolist()], standardised_logit(torch.tensor([0.49, 0.5, 0.51])).allclose(z, atol=1e-3)
    ([-1.0, 0.0, 1.0], True)
    """
    logit = torch.logit(score.clamp(eps, 1 - eps))
    return (logit - logit.mean()) / (logit.std() + eps)


def mode_loss(
    score: Tensor, protected: Tensor, weights: Tensor | None = None, *, order: int = 0, n_bins: int = 10
) -> Tensor:
    """MoDe[order]: how far the score's cumulative distribution in bins of m is from a polynomial of that order in m.

    Pass the background events only (MoDe constrains the background false-positive rate). The events are split
    into ``n_bins`` equal-occupancy bins of the protected variable; in bin b the weighted cumulative distribution
    ``F_b(s)`` of the score is an exact step function. For every s, ``F_b(s)`` is fitted across the bins by
    weighted least squares with Legendre polynomials ``P_0..P_order`` of the bin centres (scaled to [-1, 1]; bin
    weight = its summed event weight), and the loss is the weighted mean over bins of ``int (F_b - fit_b)^2 ds``,
    integrated exactly between consecutive scores. Order 0 asks for the same score distribution in every bin (a flat
    false-positive rate at every cut), order 1 lets it change linearly with m, order 2 quadratically
    (arXiv:2010.09745).

    The published implementation bins s on a grid and supplies a hand-written gradient; here the integral is exact
    and autograd differentiates it through the sorted scores, which gives the same gradient: at each score the jump
    of the squared residual. Bins whose summed weight is not positive are left out. Returns 0 with fewer than
    ``n_bins`` events or fewer than ``order + 2`` usable bins.

    Examples
    --------
    >>> import torch
    >>> m = torch.arange(100.0)
    >>> same_in_every_bin = torch.arange(100.0).remainder(10) / 10  # each mass bin holds the scores 0, 0.1, .., 0.9
    >>> round(float(mode_loss(same_in_every_bin, m, n_bins=10)), 9)
    0.0
    """
    if not 0 <= order <= 2 or order >= n_bins - 1:
        raise InputError(
            f"MoDe is defined for order 0, 1 or 2 with n_bins >= order + 2, got order={order} and n_bins={n_bins}"
        )
    n = len(score)
    w = torch.ones_like(score) if weights is None else weights
    if n < n_bins:
        return score.sum() * 0.0
    by_mass = torch.argsort(protected)
    bin_of = torch.empty(n, dtype=torch.long, device=score.device)
    bin_of[by_mass] = torch.arange(n, device=score.device) * n_bins // n  # equal occupancy
    one_hot = F.one_hot(bin_of, n_bins).to(score.dtype)
    bin_weight = one_hot.T @ w
    usable = bin_weight > 0
    if int(usable.sum()) < order + 2:
        return score.sum() * 0.0
    centres = (one_hot.T @ protected.to(score.dtype)) / one_hot.sum(0)
    span = (centres.max() - centres.min()).clamp(min=torch.finfo(score.dtype).tiny)
    x = 2 * (centres - centres.min()) / span - 1
    legendre = [torch.ones_like(x), x, 0.5 * (3 * x**2 - 1)]
    design = torch.stack(legendre[: order + 1], dim=1)[usable]  # [bins, order + 1]
    omega = bin_weight[usable] / bin_weight[usable].sum()
    # F_b(s) on each interval [s_(k), s_(k+1)) between consecutive sorted scores
    order_s = torch.argsort(score)
    sorted_s = score[order_s]
    steps = (one_hot[order_s] * w[order_s, None])[:, usable] / bin_weight[usable]
    cdf = torch.cumsum(steps, dim=0)[:-1]  # [n - 1, bins]
    widths = sorted_s[1:] - sorted_s[:-1]
    # weighted least squares per s: coefficients = (D^T Omega D)^-1 D^T Omega F
    normal = design.T @ (omega[:, None] * design)
    projector = design @ torch.linalg.solve(normal, design.T * omega)
    residual = cdf - cdf @ projector.T
    return (widths * (residual**2 @ omega)).sum()


def gaussian_mixture_nll(logits: Tensor, means: Tensor, log_sigmas: Tensor, target: Tensor) -> Tensor:
    """Per-event negative log-likelihood of ``target`` under a 1-D Gaussian mixture ([B, K] parameters).

    Examples
    --------
    >>> import torch, math
    >>> nll = gaussian_mixture_nll(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1))
    >>> round(float(nll[0]), 6) == round(0.5 * math.log(2 * math.pi), 6)
    True
    """
    log_pi = torch.log_softmax(logits, dim=1)
    z = (target[:, None] - means) * torch.exp(-log_sigmas)
    log_normal = -0.5 * z**2 - log_sigmas - 0.5 * torch.log(torch.tensor(2 * torch.pi, dtype=means.dtype))
    return -torch.logsumexp(log_pi + log_normal, dim=1)
