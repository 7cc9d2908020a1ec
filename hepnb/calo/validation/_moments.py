"""Shower responses and their moments, shared by :mod:`.resolution` and :mod:`.diagnostics`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepnb.errors import InputError, as_finite_array

__all__ = ["std_standard_error", "shower_responses", "response_moments"]


def std_standard_error(values: np.ndarray) -> float:
    """Standard error of the sample standard deviation, from the fourth central moment (no Gaussian assumption).

    NaN below four values; 0 for constant values.

    >>> round(std_standard_error(np.random.default_rng(1).normal(0.0, 2.0, 100_000)), 4)  # Gaussian: 2 / sqrt(2n)
    0.0045
    """
    n = len(values)
    if n < 4:
        return float("nan")
    centred = values - values.mean()
    m2 = np.mean(centred**2)
    m4 = np.mean(centred**4)
    var_s2 = max((m4 - m2**2 * (n - 3) / (n - 1)) / n, 0.0)
    return float(np.sqrt(var_s2) / (2 * np.sqrt(m2))) if m2 > 0 else 0.0


def shower_responses(energy: Any, samples: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """True energies (MeV) and per sample the response sum(cells) / E_true (cells ``[N, 266]`` or responses ``[N]``).

    >>> e, r = shower_responses([1000.0, 2000.0], {"Reference": [[600.0, 400.0], [1000.0, 900.0]]})
    >>> r["Reference"].tolist()
    [1.0, 0.95]
    """
    e_true = as_finite_array(energy, "energy", ndim=1)
    if np.any(e_true <= 0):
        raise InputError("true energies must be positive (MeV)")
    if not samples:
        raise InputError("give at least one sample, e.g. {'Reference': test.cells, **generated}")
    out = {}
    for label, values in samples.items():
        arr = as_finite_array(values, f"sample {label!r}")
        response = arr.sum(axis=1) / e_true if arr.ndim == 2 and len(arr) == len(e_true) else arr
        if response.shape != e_true.shape:
            raise InputError(
                f"sample {label!r} has {len(arr)} showers (shape {arr.shape}) for {len(e_true)} energies: "
                "one row per shower"
            )
        out[label] = response
    return e_true, out


def response_moments(response: np.ndarray) -> dict[str, float]:
    """``n``, the mean ``response`` and its error, the ``width`` (standard deviation) and its error, and the
    ``resolution`` (width / mean) with its error; NaN where undefined (fewer than two values, a zero mean).

    >>> {k: round(v, 4) for k, v in response_moments(np.array([0.9, 1.0, 1.1, 1.0])).items()}["resolution"]
    0.0816
    """
    n = len(response)
    mean = float(response.mean()) if n else float("nan")
    width = float(response.std(ddof=1)) if n > 1 else float("nan")
    width_error = std_standard_error(response)
    mean_error = width / np.sqrt(n) if n > 1 else float("nan")
    resolution = width / mean if n > 1 and mean != 0 else float("nan")
    relative = np.hypot(width_error / width if width > 0 else 0.0, mean_error / mean if n > 1 and mean != 0 else 0.0)
    return {
        "n": n,
        "response": mean,
        "response_error": mean_error,
        "width": width,
        "width_error": width_error,
        "resolution": resolution,
        "resolution_error": abs(resolution) * float(relative),
    }
