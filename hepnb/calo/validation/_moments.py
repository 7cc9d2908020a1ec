"""The standard error of a sample standard deviation, shared by :mod:`.resolution` and :mod:`.diagnostics`."""

from __future__ import annotations

import numpy as np

__all__ = ["std_standard_error"]


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
