"""The conditional density estimator ``log p_hat(x | theta)`` of NDE and SCANDAL: a masked autoregressive flow.

As in MadMiner (``madminer.ml.LikelihoodEstimator``; Brehmer et al., arXiv:1805.12244, arXiv:1907.10621), the
density of the standardised observables is a conditional masked autoregressive flow (MAF, Papamakarios et al.,
arXiv:1705.07057) whose MADEs see the standardised parameter as context; built with :class:`zuko.flows.MAF`.
Observables that take a few values (counts, a constant column) are dequantised, which MadMiner does not do (see
:class:`DensityEstimator`).
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

__all__ = ["DensityEstimator", "MAX_LEVELS"]

#: An observable with at most this many distinct values on the training rows (each taken by two rows or more on
#: average) is discrete: a count, a flag, a constant (:meth:`DensityEstimator.set_lattice`). Continuous ones have about
#: as many values as rows.
MAX_LEVELS = 32

_VALIDATION_NOISE_SEED = 0  # the validation rows' dequantisation noise, the same at every epoch


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

    Discrete observables [not in MadMiner]. A density on an observable that takes a few values (the chapter-7 list
    has counts, and on detector-free events a missing energy of 0) is a set of spikes whose height maximum
    likelihood drives up without bound; their theta dependence is then whatever the flow's noise makes of it, and
    summed over the Asimov events it gives log-likelihood ratios sharper than the exact ones by orders of magnitude.
    As usual for flows on discrete data (uniform dequantisation, Theis et al., arXiv:1511.01844), a column that
    :meth:`set_lattice` finds discrete (:func:`~hepnb.lfi.train_estimator` calls it through
    :meth:`fit_preprocessing`) is replaced by the index of its value among the training levels (0, 1, 2, ...; linear
    between and beyond them, so any spacing works; a constant column's index is its distance from the constant in
    raw units), the training and validation losses see that index with uniform noise on (-1/2, 1/2) added (the
    validation rows the same noise at every epoch, so that epochs compare on one loss), and ``log p_hat`` is
    evaluated at the index itself. The flow then learns ``P(n | theta)`` as the density of a unit slab around each
    index: ``p_hat`` is a density with respect to Lebesgue measure on the continuous observables times the counting
    measure on the discrete ones. Ratios keep their meaning, as neither the map nor the noise depends on theta.

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
        self.register_buffer("x_levels", torch.zeros(int(n_features), MAX_LEVELS))
        self.register_buffer("x_n_levels", torch.zeros(int(n_features), dtype=torch.long))
        self._validation_noise = torch.Generator()

    def fit_preprocessing(self, sample: Any) -> None:
        """The standardisation, then the discrete observables' levels (:meth:`set_lattice`) of ``sample.x``.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> import numpy as np
        >>> from hepnb.lfi.augmented import Standardizer
        >>> x = np.stack([np.linspace(-1.0, 1.0, 100), np.arange(100) % 2], 1)  # a continuous column and a flag
        >>> est = DensityEstimator(2, transforms=1, n_hidden=(4,))
        >>> est.fit_preprocessing(SimpleNamespace(x=x, scaler=Standardizer.fit(x)))
        >>> est.x_n_levels.tolist()
        [0, 2]
        """
        super().fit_preprocessing(sample)
        self.set_lattice(sample.x)

    def set_lattice(self, x: Any) -> None:
        """Find the discrete observables of the raw training rows ``x`` and store their levels.

        A column with at most :data:`MAX_LEVELS` distinct values, each taken by two rows or more on average, is
        discrete: its sorted values go to the ``x_levels`` buffer (their number to ``x_n_levels``, 0 for a
        continuous column), and its standardisation becomes the mean and the standard deviation of the dequantised
        level index. Call it after :meth:`set_standardisation` (:meth:`fit_preprocessing` does), which sets
        the continuous columns' standardisation; a second call forgets the first one's levels.

        Parameters
        ----------
        x
            The raw training rows, ``(n, n_features)``, finite.

        Examples
        --------
        >>> import numpy as np
        >>> est = DensityEstimator(3, transforms=1, n_hidden=(4,))
        >>> x = np.stack([np.random.default_rng(1).normal(size=100), np.full(100, 4.0), np.arange(100) % 3 * 5], 1)
        >>> est.set_lattice(x)
        >>> est.x_n_levels.tolist(), est.x_levels[2, :3].tolist()
        ([0, 1, 3], [0.0, 5.0, 10.0])
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features or len(x) == 0:
            raise InputError(f"set_lattice needs the training rows as an (n, {self.n_features}) array, got {x.shape}")
        if not np.isfinite(x).all():
            raise InputError(f"set_lattice got {int((~np.isfinite(x)).sum())} non-finite values in the training rows")
        self.x_levels.zero_()
        self.x_n_levels.zero_()
        for j in range(self.n_features):
            column = x[:, j].astype(np.float32)  # the values the flow sees: levels that float32 merges are one
            levels = np.unique(column)
            if len(levels) > MAX_LEVELS or 2 * len(levels) > len(x):
                continue
            index = np.searchsorted(levels, column)
            self.x_levels[j, : len(levels)] = torch.as_tensor(levels)
            self.x_n_levels[j] = len(levels)
            self.x_mean[j] = float(index.mean())
            self.x_scale[j] = float(np.sqrt(index.var() + 1 / 12))  # the index plus U(-1/2, 1/2)

    def _level_index(self, x: Tensor) -> Tensor:
        """Raw ``x`` with each discrete column replaced by its level index (linear between and beyond the levels)."""
        columns = torch.nonzero(self.x_n_levels).flatten().tolist()
        if not columns:
            return x
        x = x.clone()
        for j in columns:
            k, value = int(self.x_n_levels[j]), x[:, j].contiguous()
            levels = self.x_levels[j, :k]
            if k == 1:
                x[:, j] = value - levels[0]
                continue
            upper = torch.searchsorted(levels, value).clamp(1, k - 1)
            low, high = levels[upper - 1], levels[upper]
            x[:, j] = (upper - 1) + (value - low) / (high - low)
        return x

    def _inputs(self, x: Tensor, noise: bool) -> Tensor:
        """The flow's standardised inputs for raw ``x``: discrete columns as level indices, with the dequantisation
        noise if ``noise`` (torch's global RNG while training, the validation generator otherwise)."""
        x = self._level_index(x)
        if noise and bool(self.x_n_levels.any()):
            if self.training:
                uniform = torch.rand_like(x)
            else:
                uniform = torch.rand(x.shape, generator=self._validation_noise, dtype=x.dtype).to(x.device)
            x = x + (uniform - 0.5) * (self.x_n_levels > 0)
        return (x - self.x_mean) / self.x_scale

    def on_validation_epoch_start(self) -> None:
        self._validation_noise.manual_seed(_VALIDATION_NOISE_SEED)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        for name in ("x_levels", "x_n_levels"):  # estimators saved before the dequantisation: every column continuous
            state_dict.setdefault(prefix + name, getattr(self, name).new_zeros(getattr(self, name).shape))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _log_prob(self, inputs: Tensor, theta: Tensor) -> Tensor:
        return self.flow(self._theta(theta)).log_prob(inputs) - torch.log(self.x_scale).sum()

    def _log_prob_and_score(self, inputs: Tensor, theta: Tensor, create_graph: bool) -> tuple[Tensor, Tensor]:
        theta = theta.detach().clone().requires_grad_(True)
        log_p = self._log_prob(inputs, theta)
        (t_hat,) = torch.autograd.grad(log_p.sum(), theta, create_graph=create_graph)
        return log_p, t_hat

    def forward(self, x: Tensor, theta: Tensor) -> Tensor:
        """``log p_hat(x | theta)`` per event (density of the raw observables; on discrete ones, of their levels)."""
        return self._log_prob(self._inputs(x, noise=False), theta)

    def log_likelihood_and_score(self, x: Tensor, theta: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
        """``log p_hat(x | theta)`` and ``d log p_hat / d theta`` (raw theta)."""
        return self._log_prob_and_score(self._inputs(x, noise=False), theta, create_graph)

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        inputs = self._inputs(batch["x"], noise=True)
        if self.hparams["method"] == "scandal":
            log_p, t_hat = self._log_prob_and_score(inputs, batch["theta"], create_graph=True)
            # standardised convention: alpha MSE(t_hat', t') with t' = sigma_theta t, i.e. alpha sigma_theta^2 MSE
            return losses.scandal(log_p, t_hat, batch["t_xz"], alpha=self.score_alpha())
        return losses.nde(self._log_prob(inputs, batch["theta"]))

    def log_likelihood(self, x: Any, theta: Any) -> np.ndarray:
        """``log p_hat(x | theta)`` for raw observables ``(n, n_features)`` and raw theta (one or one per event): a
        density of the continuous observables, times the probability of the discrete ones' levels."""
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
