"""The three dense networks of the calorimeter GAN (thesis section 5.4.3) and the WGAN-GP gradient penalty.

They share the 9-column condition vector ``c`` of :mod:`hepnb.calo.data` (standardised ln E, one-hot p (4),
one-hot e (2), standardised d_eta and d_phi):

- :class:`Generator`: ``[z (300), c (9)] = 309 -> 428 -> 8 x 128 -> 266``, a trainable Swish
  ``x * sigmoid(beta x)`` with one beta per hidden layer, sigmoid output.
  Parameters: 309*428+428 + 428*128+128 + 7*(128*128+128) + 128*266+266 + 9 betas = **337,499**.
  With ``max_response`` (not in the thesis) the last layer has 267 outputs: a bounded total response times
  softmax cell fractions, so no shower deposits more than ``max_response x E_true``.
- :class:`Critic`: ``[x (266), c (9)] = 275 -> 3 x 128 LeakyReLU(0.3) -> 1`` (linear output).
  Parameters: 275*128+128 + 2*(128*128+128) + 128+1 = **68,481**.
- :class:`EnergyCritic`: ``[sum(x) (1), c (9)] = 10 -> 3 x 128 LeakyReLU(0.3) -> 1``.
  Parameters: 10*128+128 + 2*(128*128+128) + 128+1 = **34,561**.

`keras_init` starts the weights as Keras did (Glorot-uniform kernels, zero biases); `hepnb.calo.gan.CaloGAN` trains
them.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from hepnb.calo.data import N_CELLS, N_CONDITION
from hepnb.errors import InputError, is_real_number

__all__ = [
    "THESIS_PARAMETER_COUNTS",
    "count_parameters",
    "keras_init",
    "TrainableSwish",
    "Generator",
    "checked_max_response",
    "Critic",
    "EnergyCritic",
    "gradient_penalty",
]

THESIS_PARAMETER_COUNTS = {"generator": 337_499, "critic": 68_481, "energy_critic": 34_561}
"""Trainable parameters quoted in the thesis (§5.4.3)."""


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class TrainableSwish(nn.Module):
    """Swish ``x * sigmoid(beta * x)`` (thesis Eq. 5.4) with one trainable ``beta`` for the whole layer."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(float(beta)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.beta * x)


def keras_init(module: nn.Module, generator: torch.Generator) -> None:
    """Glorot-uniform kernels and zero biases (the Keras defaults of the thesis), drawn from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight, generator=generator)
            nn.init.zeros_(layer.bias)


class Generator(nn.Module):
    """``[z, c] -> first_width -> depth x width -> n_cells``: trainable Swish after every hidden layer, sigmoid output.

    Parameters
    ----------
    latent_dim
        Size of the N(0, 1) latent vector (300).
    n_condition
        Columns of the condition vector (9).
    first_width, width, depth
        The first hidden layer (428) and the ``depth`` (8) hidden layers of ``width`` (128) after it.
    n_cells
        Output cells (266); each a fraction of the true energy, in (0, 1) (in [0, ``max_response``] with a bound).
    max_response
        None (the thesis): one sigmoid per cell, so the cells sum to anything up to ``n_cells``. A number r_max [not in
        the thesis]: one more output unit gives the total response ``r_max * sigmoid(u_0)`` and a softmax over the
        others shares it among the cells, so ``sum(cells) <= r_max`` by construction (the parameterisation of the total
        deposit as a fraction of the incident energy in CaloFlow, arXiv:2106.05285). A saturated response unit puts the
        shower at ``r_max`` itself, or float32 rounding above it by a few 1e-7. With zero biases a fresh generator
        starts at the response ``r_max / 2``. The L1 activity term of `hepnb.calo.gan.CaloGAN` then acts on the total
        response alone (the softmax cells sum to it), so it no longer favours sparse showers.

    Examples
    --------
    >>> g = Generator(latent_dim=4, first_width=8, width=8, depth=1, n_cells=3, max_response=2.0)
    >>> cells = g(torch.randn(1000, 4), torch.rand(1000, N_CONDITION)).detach()
    >>> cells.shape, bool((cells.sum(1) <= 2.0).all()), bool((cells > 0).all())
    (torch.Size([1000, 3]), True, True)
    """

    def __init__(
        self,
        latent_dim: int = 300,
        n_condition: int = N_CONDITION,
        first_width: int = 428,
        width: int = 128,
        depth: int = 8,
        n_cells: int = N_CELLS,
        max_response: float | None = None,
    ) -> None:
        super().__init__()
        self.latent_dim, self.n_condition = latent_dim, n_condition
        self.max_response = None if max_response is None else checked_max_response(max_response)
        layers: list[nn.Module] = [nn.Linear(latent_dim + n_condition, first_width), TrainableSwish()]
        previous = first_width
        for _ in range(depth):
            layers += [nn.Linear(previous, width), TrainableSwish()]
            previous = width
        if self.max_response is None:
            layers += [nn.Linear(previous, n_cells), nn.Sigmoid()]
        else:
            layers += [nn.Linear(previous, n_cells + 1), _BoundedResponse(self.max_response)]
        self.net = nn.Sequential(*layers)

    @property
    def output_layer(self) -> nn.Linear:
        """The last dense layer (before the sigmoid or the bounded response)."""
        return self.net[-2]

    def forward(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Normalised cells [N, n_cells] in (0, 1) for latent ``z`` [N, latent_dim] and ``condition`` [N, 9]."""
        return self.net(torch.cat([z, condition], dim=1))

    def infer(self, inputs: torch.Tensor) -> torch.Tensor:
        """``forward`` for generation: normalised cells for the rows ``[z, c]`` [N, latent_dim + n_condition].

        The same float32 numbers as ``forward(z, c)`` (the same matrix products, the Swish and sigmoid activations
        computed in place; the bounded response of ``max_response`` as in `forward`), under `torch.inference_mode`
        and without module calls for the dense layers and activations. No layer the generator builds depends on the
        train/eval mode, so it runs in either.

        >>> g = Generator(latent_dim=4, first_width=8, width=8, depth=2, n_cells=3)
        >>> z, c = torch.randn(5, 4), torch.rand(5, N_CONDITION)
        >>> torch.equal(g.infer(torch.cat([z, c], dim=1)), g(z, c).detach())
        True
        """
        # A Parameter is a Tensor subclass, so torch looks for a __torch_function__ override on every call given one
        # (a Parameter has none); at one row that costs more than the matrix product, and so does nn.Module's
        # attribute lookup: the tensors are read from each layer's parameter dict and the check is switched off
        # (torch._C.DisableTorchFunctionSubclass, the private switch torch's own Tensor.__torch_function__ uses).
        with torch.inference_mode(), torch._C.DisableTorchFunctionSubclass():
            x = inputs
            for layer in self.net._modules.values():
                params = layer._parameters
                if type(layer) is nn.Linear and "weight" in params:  # a parametrised layer computes its weight
                    x = F.linear(x, params["weight"], params["bias"])
                elif isinstance(layer, TrainableSwish):  # x * sigmoid(beta x): each step rounded as in forward
                    x = x.mul_(torch.mul(x, params["beta"]).sigmoid_())
                elif isinstance(layer, nn.Sigmoid):
                    x = x.sigmoid_()
                else:  # the bounded response, or a layer changed after construction
                    x = layer(x)
        return x


def checked_max_response(value: object) -> float:
    """``value`` as a float if it is a finite positive number (a bound on the total response), else `InputError`.

    >>> checked_max_response(2)
    2.0
    """
    if is_real_number(value) and math.isfinite(value) and value > 0:
        return float(value)
    raise InputError(
        f"max_response={value!r} must be a finite positive bound on the total response (sum of cells / E_true), "
        "such as 2.0, or None for the thesis's one sigmoid per cell"
    )


class _BoundedResponse(nn.Module):
    """``[u_0, u_1..u_n] -> r_max * sigmoid(u_0) * softmax(u_1..u_n)``: n cells that sum to at most ``r_max``."""

    def __init__(self, max_response: float) -> None:
        super().__init__()
        self.max_response = max_response

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        response = self.max_response * torch.sigmoid(x[:, :1])
        return response * torch.softmax(x[:, 1:], dim=1)


class Critic(nn.Module):
    """``[x, c] -> depth x width LeakyReLU -> 1``: the Wasserstein score of image ``x`` given ``c``.

    Parameters
    ----------
    n_inputs
        Size of the (image) input the gradient penalty acts on: 266 cells.
    n_condition
        Columns of the condition vector (9).
    width, depth
        Hidden layers (3 x 128).
    negative_slope
        LeakyReLU slope (0.3, the Keras default the thesis used).
    """

    def __init__(
        self,
        n_inputs: int = N_CELLS,
        n_condition: int = N_CONDITION,
        width: int = 128,
        depth: int = 3,
        negative_slope: float = 0.3,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = n_inputs + n_condition
        for _ in range(depth):
            layers += [nn.Linear(previous, width), nn.LeakyReLU(negative_slope)]
            previous = width
        layers.append(nn.Linear(previous, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Scores [N] for inputs ``x`` [N, n_inputs] and ``condition`` [N, n_condition]."""
        return self.net(torch.cat([x, condition], dim=1)).squeeze(1)


class EnergyCritic(Critic):
    """The second critic: sees only the shower total ``sum(x)`` (one input) and the condition."""

    def __init__(
        self, n_condition: int = N_CONDITION, width: int = 128, depth: int = 3, negative_slope: float = 0.3
    ) -> None:
        super().__init__(1, n_condition, width, depth, negative_slope)

    def forward(self, total: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Scores [N] for shower totals ``total`` ([N] or [N, 1]) and ``condition`` [N, n_condition]."""
        return super().forward(total.reshape(-1, 1), condition)


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    condition: torch.Tensor,
    epsilon: torch.Tensor | None = None,
) -> torch.Tensor:
    """Two-sided WGAN-GP penalty ``E[(||grad_x^ D(x^, c)||_2 - 1)^2]`` with respect to the image input only.

    ``x^ = eps * real + (1 - eps) * fake`` is built as a new leaf from detached inputs, and ``condition`` enters
    as a constant, so neither the condition nor anything upstream of ``real``/``fake`` (for the energy critic: the
    266 cells behind a total) is penalised.

    Parameters
    ----------
    critic
        Called as ``critic(x, condition)``, returning one score per row.
    real, fake
        Images [N, k] (k = 266 cells, or 1 for the shower total).
    condition
        [N, n_condition].
    epsilon
        Interpolation weights [N, 1]; uniform in [0, 1) from the global torch RNG if None.
    """
    real, fake = real.detach(), fake.detach()
    if epsilon is None:
        epsilon = torch.rand(len(real), 1, device=real.device, dtype=real.dtype)
    mixed = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
    score = critic(mixed, condition.detach())
    (grad,) = torch.autograd.grad(score.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
