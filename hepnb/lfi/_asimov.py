"""The checks, the luminosity scale and the Asimov weights shared by the scans of :mod:`hepnb.lfi.inference`,
:mod:`hepnb.lfi.oracle` and :mod:`hepnb.lfi.scans`.

The Asimov data set at a true ``mu`` is a held-out weighted sample reweighted to that ``mu`` and rescaled from the
sample's luminosity to the scan's (:func:`asimov_weights`); the scans run on an increasing kappa grid
(:func:`kappa_grid`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepnb.errors import InputError, as_finite_array
from hepnb.offshell import Events

__all__ = ["kappa_grid", "check_mu_true", "luminosity_scale", "asimov_weights"]


def kappa_grid(kappa: Any) -> np.ndarray:
    """The kappa grid as an increasing float array of at least two ``kappa >= 0``, or an :class:`InputError`.

    >>> kappa_grid([0.5, 1.0, 1.5]).tolist()
    [0.5, 1.0, 1.5]
    """
    k = as_finite_array(kappa, "kappa grid", ndim=1)
    if len(k) < 2 or np.any(k < 0) or np.any(np.diff(k) <= 0):
        raise InputError(
            "the kappa grid must be an increasing list of at least two kappa >= 0, "
            f"e.g. THESIS_KAPPA_GRID; got {kappa!r}"
        )
    return k


def check_mu_true(mu_true: Any) -> float:
    """``mu_true`` as a finite float ``>= 0``, or an :class:`InputError`.

    >>> check_mu_true(1)
    1.0
    """
    try:
        m = float(mu_true)
    except (TypeError, ValueError):
        raise InputError(f"mu_true must be a number >= 0, got {mu_true!r}") from None
    if not np.isfinite(m) or m < 0:
        raise InputError(f"mu_true must be finite and >= 0, got {mu_true!r}")
    return m


def luminosity_scale(events: Events, lumi: float) -> float:
    """The factor from the luminosity of the events' weights (``meta["config"]["lumi"]``) to ``lumi`` (1 without one).

    >>> from hepnb import offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> luminosity_scale(events, 2 * events.meta["config"]["lumi"])
    2.0
    """
    return float(lumi) / float(events.meta.get("config", {}).get("lumi", lumi))


def asimov_weights(
    events: Events, mu_true: float, lumi: float, yields: Mapping[str, float] | None
) -> tuple[np.ndarray, dict[str, float]]:
    """The Asimov weights ``w_i(mu_true)`` and the yields ``S, I, B``, both rescaled to ``lumi``.

    Parameters
    ----------
    events
        Held-out weighted events; their ``meta["config"]["lumi"]`` is the luminosity of their weights.
    mu_true
        The signal strength of the Asimov data.
    lumi
        The scan's luminosity in fb^-1.
    yields
        ``S, I, B`` at the events' luminosity (default: the events' own).

    Examples
    --------
    >>> from hepnb import offshell as osh
    >>> events = osh.generate(2_000, seed=1, detector="none", progress=False)
    >>> w, y = asimov_weights(events, 1.0, 2 * events.meta["config"]["lumi"], None)
    >>> bool(np.allclose(w, 2 * events.weight(1.0))), sorted(y), bool(np.isclose(y["B"], 2 * events.yields["B"]))
    (True, ['B', 'I', 'S'], True)
    """
    if not isinstance(events, Events):
        raise InputError(
            f"events must be hepnb.offshell.Events (held-out weighted events), got {type(events).__name__}"
        )
    if len(events) == 0:
        raise InputError("the Asimov events are empty")
    try:
        valid = bool(np.isfinite(lumi) and lumi > 0)
    except TypeError:
        valid = False
    if not valid:
        raise InputError(f"lumi must be a positive luminosity in fb^-1, got {lumi!r}")
    scale = luminosity_scale(events, lumi)
    y = events.yields if yields is None else yields
    w = events.weight(check_mu_true(mu_true)) * scale
    if np.any(w < 0):
        raise InputError(
            f"{int((w < 0).sum())} Asimov events have negative weight at mu={mu_true}; the weighted "
            "Asimov likelihood needs w >= 0"
        )
    return w, {c: float(y[c]) * scale for c in ("S", "I", "B")}
