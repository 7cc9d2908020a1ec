"""Clear errors for bad input, and the checks that raise them."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "InputError",
    "CheckpointError",
    "as_finite_array",
    "check_same_length",
    "broadcast_finite",
    "require_positive",
]


class InputError(ValueError):
    """Bad input: the message says what is wrong and how to fix it."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing or corrupt; the message lists the epochs that can be loaded."""


def _dtype(values: Any) -> Any:
    """The dtype of an array-like (a list's as numpy infers it), or None."""
    if isinstance(values, (list, tuple)):
        try:
            return np.asarray(values).dtype
        except (TypeError, ValueError):  # ragged: as_finite_array reports it
            return None
    return getattr(values, "dtype", None)


def as_finite_array(values: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``values`` as a float array, refusing NaN, infinities, the wrong dimension and non-real dtypes.

    Complex, datetime and timedelta arrays are refused rather than silently cast (the imaginary part would be
    dropped; dates would become counts of some unit since 1970).

    Parameters
    ----------
    values
        Anything ``numpy.asarray`` accepts.
    name
        How the caller calls this input; it appears in the error message.
    ndim
        Required number of dimensions, if any.
    """
    dtype = _dtype(values)
    if getattr(dtype, "kind", None) == "c" or getattr(dtype, "is_complex", False):  # numpy/pandas, torch
        raise InputError(f"{name} is complex ({dtype}): pass the real part (.real) or the modulus (abs(...))")
    if getattr(dtype, "kind", None) in ("m", "M"):
        raise InputError(
            f"{name} has dtype {dtype}, not numbers: convert it first, e.g. "
            "(t - t0) / numpy.timedelta64(1, 's') for seconds since t0"
        )
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric, got {type(values).__name__}: {err}") from None
    if ndim is not None and array.ndim != ndim:
        raise InputError(f"{name} must be {ndim}-dimensional, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[first]) else "infinite"
        raise InputError(
            f"{name} has {int(bad.sum())} non-finite entries (first: {kind} at index {first}); "
            "remove or fix them before histogramming or fitting"
        )
    return array


def check_same_length(**arrays: np.ndarray) -> int:
    """Check that the named arrays have the same length along axis 0 and return it."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise InputError(f"arrays must have the same length, got {described}")
    return next(iter(lengths.values()), 0)


def broadcast_finite(**named: Any) -> list[np.ndarray]:
    """Finite float arrays (:func:`as_finite_array`) broadcast to one shape, e.g. yields with one entry per bin.

    >>> [a.tolist() for a in broadcast_finite(s=1.0, b=[2.0, 3.0])]
    [[1.0, 1.0], [2.0, 3.0]]
    """
    arrays = [as_finite_array(v, name) for name, v in named.items()]
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n}={a.shape}" for n, a in zip(named, arrays))
        raise InputError(f"yields must be scalars or arrays of the same shape (one per bin), got {shapes}") from None


def require_positive(value: np.ndarray, what: str, hint: str) -> None:
    """Raise :class:`InputError` naming the first bins where ``value`` is not > 0, with ``hint`` on how to fix it."""
    bad = ~(value > 0)
    if np.any(bad):
        where = "" if np.ndim(value) == 0 else f" in bin(s) {np.flatnonzero(bad).tolist()[:10]}"
        shown = value if np.ndim(value) == 0 else value[bad][:5]
        raise InputError(f"{what} must be > 0{where}, got {shown}; {hint}")
