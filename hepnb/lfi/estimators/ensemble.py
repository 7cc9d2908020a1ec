"""Ensembles of trained estimators: the members' mean as the prediction, their spread as its uncertainty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hepnb.errors import InputError

if TYPE_CHECKING:
    from hepnb.lfi.estimators.base import Estimator

__all__ = ["Ensemble", "EnsemblePrediction"]


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

    Examples
    --------
    Members are trained estimators (:func:`hepnb.lfi.train_ensemble`); anything of one class with ``n_features``,
    ``observables`` and the evaluated method stands in for them here:

    >>> import numpy as np
    >>> class Line:
    ...     n_features, observables = 1, ("x",)
    ...
    ...     def __init__(self, slope):
    ...         self.slope = slope
    ...
    ...     def log_ratio(self, x, theta, theta_ref=0.0):
    ...         return self.slope * (theta - theta_ref) * x[:, 0]
    >>> ensemble = Ensemble([Line(0.9), Line(1.1)])
    >>> pred = ensemble.evaluate("log_ratio", np.array([[1.0], [2.0]]), 1.0)
    >>> pred.members.tolist(), pred.mean.tolist(), pred.std.round(4).tolist()
    ([[0.9, 1.8], [1.1, 2.2]], [1.0, 2.0], [0.1414, 0.2828])
    >>> Ensemble([])
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: an Ensemble needs at least one estimator
    """

    def __init__(self, members: Sequence[Estimator]) -> None:
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
