"""Clear errors for bad input, and the checks that raise them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "InputError",
    "CheckpointError",
    "as_finite_array",
    "check_same_length",
    "broadcast_finite",
    "require_positive",
    "is_real_number",
    "is_whole_number",
]


class InputError(ValueError):
    """Bad input: the message says what is wrong and how to fix it."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing or corrupt; the message lists the epochs that can be loaded."""


def _dtype(values: Any) -> Any:
    """The dtype of an array-like (a list's or a Python number's as numpy infers it), or None."""
    if isinstance(values, (list, tuple, complex)):
        try:
            return np.asarray(values).dtype
        except (TypeError, ValueError):  # ragged: as_finite_array reports it
            return None
    return getattr(values, "dtype", None)


def _magnitude(number: Any) -> str:
    """``int of magnitude ~1e400`` for a number too large for a float (the type alone where log10 overflows too)."""
    try:
        return f"{type(number).__name__} of magnitude ~1e{math.floor(math.log10(abs(number)))}"
    except (TypeError, ValueError, OverflowError):  # e.g. a huge Fraction
        return type(number).__name__


def _why_not_numeric(values: Any, name: str, err: Exception) -> str:
    """The message for ``values`` that numpy cannot turn into floats: the first entry at fault and how to fix it."""
    generic = f"{name} must be numeric, got {type(values).__name__}: {err}"
    try:
        entries = np.asarray(values, dtype=object)
    except (TypeError, ValueError):  # e.g. a CUDA tensor: numpy's message says what to do (.cpu())
        return generic
    for index in np.ndindex(entries.shape):
        entry = entries[index]
        at = f" at index {index}" if index else ""
        if isinstance(entry, (list, tuple)) or getattr(entry, "ndim", 0) > 0:  # also arrays and tensors
            return (
                f"{name} must be a numeric array, got a ragged or nested {type(values).__name__} (entry {index} "
                f"holds {len(entry)} values ({type(entry).__name__}), not a number): pad the rows to one length "
                "and stack them (numpy.stack), or pass one row at a time"
            )
        if isinstance(entry, complex):
            return f"{name} is complex ({entry!r}{at}): pass the real part (.real) or the modulus (abs(...))"
        try:
            float(entry)
        except OverflowError:
            return (
                f"{name} has a number too large for float64{at} ({_magnitude(entry)}; the "
                "largest float64 is ~1.8e308): rescale it, e.g. to other units, or check how it was computed"
            )
        except (TypeError, ValueError):
            if isinstance(entry, (str, bytes)):
                text = repr(entry) if len(entry) <= 40 else f"{entry[:40]!r}..."
                return (
                    f"{name} must be numeric, got the text {text}{at}: convert it to numbers first, "
                    "e.g. pandas.to_numeric(..., errors='coerce') and then drop the NaN"
                )
            return (
                f"{name} must be numeric, got {type(entry).__name__}{at}: pass a number or a list or array of "
                "numbers (list(...) of a generator or a set)"
            )
    return generic  # every entry converts on its own: numpy's message is all there is


def as_finite_array(values: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``values`` as a float array, refusing NaN, infinities, the wrong dimension and non-real dtypes.

    Complex, datetime and timedelta arrays are refused rather than silently cast (the imaginary part would be
    dropped; dates would become counts of some unit since 1970). So are ragged lists, text that is not a number,
    ``None`` and Python integers beyond float64 (numpy would raise a bare ``OverflowError``); the message names
    the first entry at fault.

    Parameters
    ----------
    values
        Anything ``numpy.asarray`` accepts.
    name
        How the caller calls this input; it appears in the error message.
    ndim
        Required number of dimensions, if any.

    Examples
    --------
    >>> as_finite_array([1, 2.5], "energy")
    array([1. , 2.5])
    >>> as_finite_array([1, 10**400], "energy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hepnb.errors.InputError: energy has a number too large for float64 at index (1,) (int of magnitude ~1e400; ...
    """
    if values is None:
        raise InputError(f"{name} is None: pass a number or an array of numbers")
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
    except (TypeError, ValueError, OverflowError) as err:  # OverflowError: a Python int beyond float64
        raise InputError(_why_not_numeric(values, name, err)) from None
    if ndim is not None and array.ndim != ndim:
        raise InputError(f"{name} must be {ndim}-dimensional, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[first]) else "infinite"
        if kind == "NaN" and getattr(dtype, "kind", None) == "O" and np.asarray(values, dtype=object)[first] is None:
            kind = "None"  # numpy reads None as NaN
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


def is_real_number(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy integer or float, not a bool (which Python counts as an int).

    Examples
    --------
    >>> is_real_number(0.5), is_real_number(np.float32(0.5)), is_real_number(2), is_real_number(True)
    (True, True, True, False)
    >>> is_real_number("0.5")
    False
    """
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def is_whole_number(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy integer, not a bool (which Python counts as an int).

    Examples
    --------
    >>> is_whole_number(3), is_whole_number(np.int64(3)), is_whole_number(True), is_whole_number(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
