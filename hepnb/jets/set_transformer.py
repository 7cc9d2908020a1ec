"""Set Transformer blocks for particle clouds: MAB, ISAB and PMA with padding masks (Lee et al., arXiv:1810.00825).

The thesis's jet GAN (Bardhan, chapter 7.3) builds both particle networks from induced set attention blocks::

    MAB(X, Y) = LN(H + rFF(H)),   H = LN(X W_q + Multihead(X W_q, Y W_k, Y W_v) W_o)
    ISAB_m(X) = MAB(X, MAB(I, X)),  I in R^{m x d} learnable "inducing points"   (thesis Eqs. 7.4-7.5)
    PMA_k(X)  = MAB(S, X),           S in R^{k x d} learnable seeds (pooling)

with LayerNorm and a one-layer LeakyReLU feed-forward ``rFF``. The residual adds the *projected* query
``X W_q`` (as the reference implementation of Lee et al. does), so a block may change the width: ``MAB(d_q, d_k,
d)`` has ``(d_q + 1) d + 2 (d_k + 1) d + 2 (d + 1) d + 4 d`` parameters and ``ISAB(d_in -> d)`` with ``m``
inducing points ``7 d^2 + 3 d_in d + 18 d + m d``.

Padding: clouds are ``[B, P, d]`` with a boolean ``mask`` ``[B, P]`` (True: real particle). Padded particles are
removed from the keys of every attention over particles (the first MAB of an ISAB, and PMA), so they never reach a
real particle's output; the second MAB of an ISAB attends to the m inducing outputs only. The thesis mentions an
unspecified "minor modification ... without masks"; masking is the standard way to get the same invariance. Every
block is permutation equivariant (PMA: invariant) in the real particles and ignores the padded ones.

>>> import torch
>>> block = ISAB(3, 16, heads=4, inducing_points=8)
>>> x, mask = torch.randn(2, 5, 3), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
>>> block(x, mask).shape
torch.Size([2, 5, 16])
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrizations

from hepnb.errors import InputError

__all__ = ["MAB", "ISAB", "PMA", "masked_mean", "spectral_normalise", "count_parameters"]


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module`` (a spectrally normalised weight counts once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def spectral_normalise(module: nn.Module) -> nn.Module:
    """Put spectral normalisation (Miyato et al., arXiv:1802.05957) on the weight of every ``nn.Linear`` inside
    ``module`` (in place) and return it. Learnable inducing points, seeds and LayerNorm/BatchNorm scales stay free."""
    for layer in list(module.modules()):
        if isinstance(layer, nn.Linear):
            parametrizations.spectral_norm(layer)
    return module


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` ``[B, P, d]`` over the real particles (``mask`` ``[B, P]``, True: real) -> ``[B, d]``."""
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class MAB(nn.Module):
    """Multihead attention block ``MAB(X, Y)``: the queries ``X`` ``[B, n, query_dim]`` attend to ``Y``
    ``[B, m, key_dim]``; the output is ``[B, n, dim]``.

    Parameters
    ----------
    query_dim, key_dim
        Widths of ``X`` and ``Y``.
    dim
        Width of the block (attention and output); a multiple of ``heads``.
    heads
        Attention heads.
    negative_slope
        Slope of the LeakyReLU in the feed-forward layer.
    """

    def __init__(self, query_dim: int, key_dim: int, dim: int, heads: int, negative_slope: float = 0.2) -> None:
        super().__init__()
        if dim < 1 or heads < 1 or dim % heads:
            raise InputError(f"the block width {dim} must be a positive multiple of the number of heads {heads}")
        self.heads, self.negative_slope = heads, negative_slope
        self.query, self.key, self.value = nn.Linear(query_dim, dim), nn.Linear(key_dim, dim), nn.Linear(key_dim, dim)
        self.out, self.feed_forward = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.norm_attention, self.norm_out = nn.LayerNorm(dim), nn.LayerNorm(dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        return x.view(batch, length, self.heads, dim // self.heads).transpose(1, 2)  # [B, heads, length, d_head]

    def forward(self, x: torch.Tensor, y: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``MAB(x, y)``; ``key_mask`` ``[B, m]`` (True: real) removes padded rows of ``y`` from the keys."""
        query = self.query(x)
        q, k, v = self._split(query), self._split(self.key(y)), self._split(self.value(y))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        attended = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(query.shape)
        h = self.norm_attention(query + self.out(attended))
        return self.norm_out(h + F.leaky_relu(self.feed_forward(h), self.negative_slope))


class ISAB(nn.Module):
    """Induced set attention block ``ISAB_m(X) = MAB(X, MAB(I, X))`` mapping ``[B, P, in_dim]`` to ``[B, P, dim]``.

    Parameters
    ----------
    in_dim, dim
        Input and output widths.
    heads
        Attention heads of both MABs.
    inducing_points
        m, the learnable points ``I`` ``[m, dim]`` through which the particles talk (cost O(P m)).
    negative_slope
        LeakyReLU slope of the feed-forward layers.
    """

    def __init__(self, in_dim: int, dim: int, heads: int, inducing_points: int, negative_slope: float = 0.2) -> None:
        super().__init__()
        if inducing_points < 1:
            raise InputError(f"inducing_points={inducing_points} must be at least 1")
        self.inducing = nn.Parameter(torch.empty(1, inducing_points, dim))
        nn.init.xavier_uniform_(self.inducing)
        self.induce = MAB(dim, in_dim, dim, heads, negative_slope)
        self.broadcast = MAB(in_dim, dim, dim, heads, negative_slope)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Equivariant map of the cloud ``x`` with its ``mask`` ``[B, P]`` (True: real; None: all real)."""
        summary = self.induce(self.inducing.expand(len(x), -1, -1), x, mask)
        return self.broadcast(x, summary)


class PMA(nn.Module):
    """Pooling by multihead attention ``PMA_k(X) = MAB(S, X)``: ``[B, P, dim]`` -> ``[B, k, dim]``, invariant
    under permutations of the real particles.

    Parameters
    ----------
    dim
        Width of the cloud and of the seeds ``S`` ``[k, dim]``.
    heads
        Attention heads.
    seeds
        k, the number of pooled vectors.
    negative_slope
        LeakyReLU slope of the feed-forward layer.
    """

    def __init__(self, dim: int, heads: int, seeds: int = 1, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.seeds = nn.Parameter(torch.empty(1, seeds, dim))
        nn.init.xavier_uniform_(self.seeds)
        self.pool = MAB(dim, dim, dim, heads, negative_slope)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The ``k`` pooled vectors of the cloud ``x`` with its ``mask`` (True: real; None: all real)."""
        return self.pool(self.seeds.expand(len(x), -1, -1), x, mask)
