"""Weighted-sample quality: effective sample sizes and a negative-weight-safe weighted AUC."""

from __future__ import annotations

from typing import Literal

import hist
import numpy as np
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array, check_same_length

__all__ = ["event_weights", "effective_sample_size", "weighted_auc"]

# weighted_auc refuses a class whose |sum w| is below this fraction of its sum |w| (its weights cancel)
_AUC_CANCELLATION = 1e-6


def event_weights(weights: ArrayLike | None, n: int) -> np.ndarray:
    """``weights`` as a finite 1-d float array of length ``n`` (1 for every event if None)."""
    if weights is None:
        return np.ones(n)
    w = as_finite_array(weights, "weights", ndim=1)
    check_same_length(labels=np.empty(n), weights=w)
    return w


def effective_sample_size(weights: ArrayLike, definition: Literal["kish", "max_weight"] = "kish") -> float:
    """Effective number of events of a weighted sample.

    ``"kish"``: ``(sum w)^2 / sum w^2`` (thesis eq 7.3, section 7.5, the usual HEP definition); ``"max_weight"``:
    ``sum w / max w`` (thesis eq 7.2, MadMiner's, used to track morphing). Both equal N for equal weights.

    Parameters
    ----------
    weights
        Event weights (negative allowed for Kish, which they reduce).
    definition
        ``"kish"`` or ``"max_weight"``.
    """
    w = as_finite_array(weights, "weights", ndim=1)
    if w.size == 0:
        raise InputError("weights is empty: no events, no effective sample size")
    if definition == "kish":
        sum_w2 = float(np.sum(w**2))
        if sum_w2 == 0:
            raise InputError("all weights are zero: the effective sample size is undefined")
        return float(np.sum(w) ** 2 / sum_w2)
    if definition == "max_weight":
        if w.max() <= 0:
            raise InputError(f"the largest weight must be > 0 for sum(w)/max(w), got {w.max()}")
        return float(w.sum() / w.max())
    raise InputError(f"definition must be 'kish' or 'max_weight', got {definition!r}")


def _weights_per_score(
    score: np.ndarray, signal: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct scores (increasing) and the summed weights of the signal and of the background at each.

    A histogram with one bin per distinct score and one per class (``signal`` is a boolean mask).
    """
    unique, index = np.unique(score, return_inverse=True)
    h = hist.Hist(
        hist.axis.Integer(0, len(unique), underflow=False, overflow=False),
        hist.axis.Boolean(),
        storage=hist.storage.Double(),
    )
    sums = h.fill(index, signal, weight=w).values()
    return unique, sums[:, 1], sums[:, 0]


def weighted_auc(y: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Area under the ROC curve with event weights, correct for negative weights.

    The weighted Mann-Whitney statistic
    ``AUC = sum_{i in sig, j in bkg} w_i w_j [1(s_i > s_j) + 1/2 1(s_i = s_j)] / (W_sig W_bkg)``, computed by
    sorting and cumulative sums (ties count one half). It is bilinear in the weights, so negative weights enter
    with their sign (it can leave [0, 1] when they dominate). Equals ``sklearn.metrics.roc_auc_score`` for
    positive weights. A class whose weights cancel (``|W| < 1e-6 sum |w|`` over its events) is refused: the
    division by its near-zero total would return an arbitrarily large number.

    Parameters
    ----------
    y
        1 for signal, 0 for background.
    score
        Classifier output (higher = more signal-like).
    weights
        Event weights; 1 if omitted.
    """
    labels = as_finite_array(y, "labels y", ndim=1)
    s = as_finite_array(score, "score", ndim=1)
    check_same_length(y=labels, score=s)
    w = event_weights(weights, len(labels))
    if not np.all((labels == 0) | (labels == 1)):
        raise InputError(f"labels y must be 0 (background) or 1 (signal), got values {np.unique(labels)[:5]}")
    signal = labels == 1
    w_sig, w_bkg = float(w[signal].sum()), float(w[~signal].sum())
    if w_sig == 0 or w_bkg == 0:
        raise InputError(f"the AUC needs non-zero total signal and background weights, got {w_sig:g} and {w_bkg:g}")
    for total, mask, name in ((w_sig, signal, "signal"), (w_bkg, ~signal, "background")):
        magnitude = float(np.abs(w[mask]).sum())
        if abs(total) < _AUC_CANCELLATION * magnitude:
            raise InputError(
                f"the {name} weights cancel: their sum is {abs(total) / magnitude:.2g} of the sum of their absolute "
                f"values (below {_AUC_CANCELLATION:g}), so the AUC, divided by that sum, is meaningless; check the "
                f"{name} weights or use more {name} events"
            )
    # the AUC depends on weight ratios only: an exact power-of-two rescaling keeps W_sig * W_bkg finite
    w = np.ldexp(w, -np.frexp(np.max(np.abs(w)))[1])
    w_sig, w_bkg = float(w[signal].sum()), float(w[~signal].sum())
    _, sig_at, bkg_at = _weights_per_score(s, signal, w)
    bkg_below = np.cumsum(bkg_at) - bkg_at
    return float(np.sum(sig_at * (bkg_below + 0.5 * bkg_at)) / (w_sig * w_bkg))
