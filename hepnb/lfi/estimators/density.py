"""The conditional density estimator ``log p_hat(x | theta)`` of NDE and SCANDAL: a masked autoregressive flow.

As in MadMiner (``madminer.ml.LikelihoodEstimator``; Brehmer et al., arXiv:1805.12244, arXiv:1907.10621), the
density of the standardised observables is a conditional masked autoregressive flow (MAF, Papamakarios et al.,
arXiv:1705.07057) whose MADEs see the standardised parameter as context; built with :class:`zuko.flows.MAF`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import zuko
from torch import Tensor, nn

from hepnb.errors import InputError, is_whole_number
from hepnb.lfi import losses
from hepnb.lfi.augmented import DensitySample
from hepnb.lfi.estimators.base import _ACTIVATIONS, Estimator, check_alpha, check_method

__all__ = ["DensityEstimator"]


class DensityEstimator(Estimator):
    """Conditional density ``p_hat(x | theta)``: a masked autoregressive flow (MAF) with theta as context.

    ``log p_hat(x | theta) = log q(x' | theta') - sum_d log scale_d``, with ``x' = (x - mean) / scale`` the
    standardised observables, ``theta'`` the standardised parameter, ``q`` the flow's density (``transforms``
    affine MADEs with alternating input orders over a standard normal) and the last term the Jacobian of the
    standardisation, so that ``p_hat`` is the density of the raw ``x``. The score
    ``t_hat(x | theta) = d log p_hat / d theta`` (raw theta) is the autograd derivative.

    Defaults follow MadMiner's ``LikelihoodEstimator``: 5 MADEs, one hidden layer of 100 tanh units each, no batch
    normalisation, AMSGrad with the learning rate decaying from 1e-3 to 1e-4. MadMiner's MADEs are Gaussian
    (``x' = m + exp(-logp / 2) u``); zuko's affine transforms have the same form with a soft bound on the log scale.

    SCANDAL (Brehmer et al., arXiv:1805.12244) adds ``alpha`` times the mean squared error between the estimated
    and the joint score. By default (``alpha_convention="standardised"``) the scores are taken with respect to the
    standardised theta as MadMiner does (it rescales ``t(x, z)`` with its parameter transform, ``t' = sigma_theta
    t``), so the loss is ``-mean log p_hat + alpha sigma_theta^2 MSE(t_hat, t(x, z | theta))`` in raw units,
    ``sigma_theta`` being the training sample's standard deviation of theta (the ``theta_scale`` buffer);
    ``alpha = 1`` is MadMiner's default. ``alpha_convention="raw"`` weighs the raw-unit MSE by ``alpha`` itself
    (hepnb's earlier convention): ``alpha_raw = alpha_standardised sigma_theta^2``.

    Parameters
    ----------
    n_features
        Dimension of ``x``.
    method
        ``"nde"`` (maximum likelihood) or ``"scandal"`` (plus the score term above).
    transforms
        Number of autoregressive transforms (MADEs); MadMiner's ``n_mades`` (5).
    n_hidden
        Hidden layer widths of each MADE (MadMiner: ``(100,)``).
    activation
        ``"tanh"`` (MadMiner's default), ``"relu"``, ``"sigmoid"``, ``"elu"`` or ``"silu"``.
    alpha
        Weight of SCANDAL's score term, in the convention ``alpha_convention``.
    alpha_convention
        ``"standardised"`` (default, MadMiner's) or ``"raw"``, as above.
    lr, final_lr
        Initial and final learning rate (exponential decay over the epochs).
    observables
        The feature list (set by :func:`~hepnb.lfi.train_estimator` from the sample).

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import lfi
    >>> toy = lfi.GaussianToy()
    >>> sample = toy.density_sample(600, seed=1, thetas=[-1.0, 0.0, 1.0])
    >>> est = lfi.train_estimator(lfi.DensityEstimator(1, transforms=2, n_hidden=(16,)), sample, seed=2, max_epochs=1)
    >>> est.log_likelihood(np.zeros((3, 1)), 0.5).shape, est.score(np.zeros((3, 1)), 0.5).shape
    ((3,), (3,))
    """

    sample_type = DensitySample

    def __init__(
        self,
        n_features: int,
        method: str = "nde",
        *,
        transforms: int = 5,
        n_hidden: Sequence[int] = (100,),
        activation: str = "tanh",
        alpha: float = 1.0,
        alpha_convention: str = "standardised",
        lr: float = 1e-3,
        final_lr: float = 1e-4,
        observables: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(n_features, lr, final_lr)
        check_method(method, ("nde", "scandal"))
        if not is_whole_number(transforms) or transforms < 1:
            raise InputError(f"transforms must be a positive integer (number of MADEs, e.g. 5), got {transforms!r}")
        if activation not in _ACTIVATIONS:
            raise InputError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        try:
            hidden = tuple(int(h) for h in n_hidden)
        except (TypeError, ValueError):
            hidden = ()
        if not hidden or any(h < 1 for h in hidden):
            raise InputError(f"n_hidden must list positive layer widths such as (100,), got {n_hidden!r}")
        check_alpha(alpha, alpha_convention)
        self.save_hyperparameters()
        self.flow = zuko.flows.MAF(
            int(n_features),
            context=1,
            transforms=int(transforms),
            hidden_features=hidden,
            activation=_ACTIVATIONS[activation],
        )
        _use_torch_linear(self.flow)

    def forward(self, x: Tensor, theta: Tensor) -> Tensor:
        """``log p_hat(x | theta)`` per event (density of the raw observables)."""
        return self.flow(self._theta(theta)).log_prob(self._x(x)) - torch.log(self.x_scale).sum()

    def log_likelihood_and_score(self, x: Tensor, theta: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
        """``log p_hat(x | theta)`` and ``d log p_hat / d theta`` (raw theta)."""
        theta = theta.detach().clone().requires_grad_(True)
        log_p = self(x, theta)
        (t_hat,) = torch.autograd.grad(log_p.sum(), theta, create_graph=create_graph)
        return log_p, t_hat

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        if self.hparams["method"] == "scandal":
            log_p, t_hat = self.log_likelihood_and_score(batch["x"], batch["theta"], create_graph=True)
            # standardised convention: alpha MSE(t_hat', t') with t' = sigma_theta t, i.e. alpha sigma_theta^2 MSE
            return losses.scandal(log_p, t_hat, batch["t_xz"], alpha=self.score_alpha())
        return losses.nde(self(batch["x"], batch["theta"]))

    def log_likelihood(self, x: Any, theta: Any) -> np.ndarray:
        """``log p_hat(x | theta)`` for raw observables ``(n, n_features)`` and raw theta (one or one per event)."""
        return self._predict(self, x, theta=theta)

    def log_ratio(self, x: Any, theta: Any, theta_ref: Any = 1.0) -> np.ndarray:
        """``log p_hat(x | theta) - log p_hat(x | theta_ref)``."""
        return self.log_likelihood(x, theta) - self.log_likelihood(x, theta_ref)

    def score(self, x: Any, theta: Any) -> np.ndarray:
        """``t_hat(x | theta) = d log p_hat(x | theta) / d theta`` (raw theta, e.g. kappa) by autograd."""
        return self._predict(lambda *args: self.log_likelihood_and_score(*args)[1], x, gradient=True, theta=theta)


def _use_torch_linear(module: nn.Module) -> None:
    """Replace zuko's own ``Linear`` layers (its one-feature flows use them) by ``torch.nn.Linear`` in place.

    :func:`~hepnb.lfi.train_estimator` redraws the weights of every ``torch.nn.Linear`` from the seed
    (``reinitialise=True``); zuko's masked layers already are ``torch.nn.Linear``, its plain ones are not.
    """
    for name, child in module.named_children():
        if isinstance(child, zuko.nn.Linear) and child.weight.dim() == 2:
            out_features, in_features = child.weight.shape
            layer = nn.Linear(in_features, out_features, bias=child.bias is not None)
            with torch.no_grad():
                layer.weight.copy_(child.weight)
                if child.bias is not None:
                    layer.bias.copy_(child.bias)
            setattr(module, name, layer)
        else:
            _use_torch_linear(child)
