"""The one input standardisation of the networks: ``(v - mean) / scale`` per column, fitted on training data.

Used by the LFI estimators (MadMiner's ``scale_inputs``) and the off-shell strategy network, where missing values
(NaN: no second jet, ...) are ignored in the fit and set to the training mean, the thesis's best treatment (A.
Ghosh, PhD thesis, HAL tel-03324250, section 6.5).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError

__all__ = ["Standardizer"]


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Affine standardisation ``(v - mean) / scale`` of the columns of an array.

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb.training.standardisation import Standardizer
    >>> s = Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.mean, s.scale                      # a constant column gets scale 1
    (array([2., 5.]), array([1., 1.]))
    >>> s.transform(np.array([[3.0, 6.0]]))
    array([[1., 1.]])
    >>> m = Standardizer.fit(np.array([[1.0], [3.0], [np.nan]]), missing="ignore")
    >>> m.transform(np.array([[np.nan], [4.0]]), fill_missing=True)   # missing -> the training mean, 0
    array([[0.],
           [2.]])
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: ArrayLike, *, missing: str = "refuse") -> Standardizer:
        """Mean and standard deviation of each column (a constant column gets scale 1).

        Parameters
        ----------
        values
            ``(n, d)`` (or ``(n,)``) training values.
        missing
            ``"refuse"``: the values must be finite; ``"ignore"``: NaN entries are left out of each column's mean
            and standard deviation (a column with no value gets mean 0 and scale 1).
        """
        v = np.asarray(values, dtype=np.float64)
        v = v[:, None] if v.ndim == 1 else v
        if v.ndim != 2 or len(v) == 0:
            raise InputError(f"a standardizer needs a non-empty (n, d) array, got shape {np.shape(values)}")
        if missing == "ignore":
            with np.errstate(invalid="ignore"), _no_empty_slice_warning():
                mean, std = np.nanmean(v, axis=0), np.nanstd(v, axis=0)
            return cls(np.nan_to_num(mean, nan=0.0), np.where(np.isfinite(std) & (std > 0), std, 1.0))
        if missing != "refuse":
            raise InputError(f"missing={missing!r}: use 'refuse' (finite values only) or 'ignore' (NaN left out)")
        std = v.std(axis=0)
        return cls(v.mean(axis=0), np.where(std > 0, std, 1.0))

    @classmethod
    def identity(cls, dim: int) -> Standardizer:
        """The transformation that changes nothing."""
        return cls(np.zeros(dim), np.ones(dim))

    def transform(self, values: ArrayLike, *, fill_missing: bool = False) -> np.ndarray:
        """Standardised copy of ``values`` (float64); ``fill_missing``: NaN becomes 0, the training mean."""
        v = np.asarray(values, dtype=np.float64)
        z = (v - self.mean) / self.scale if v.ndim == 2 else (v - self.mean[0]) / self.scale[0]
        return np.nan_to_num(z, nan=0.0) if fill_missing else z


@contextlib.contextmanager
def _no_empty_slice_warning() -> Iterator[None]:
    """numpy warns about an all-NaN column, which :meth:`Standardizer.fit` handles (mean 0, scale 1)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="Degrees of freedom <= 0", category=RuntimeWarning)
        yield
