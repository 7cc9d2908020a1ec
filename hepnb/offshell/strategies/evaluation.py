"""How a chapter-6 strategy is judged: iZ against the score threshold with its MC error, weighted AUCs, permutation
importance under AUC and under iZ, and the counting sensitivities of a yield table (thesis sections 4.9, 4.10, 6.6).

The rule of every quoted iZ: the score threshold is the one of the best iZ on the *validation* events, and the iZ
(with its MC error) is that of the *test* events above it (:func:`validated_iz_scan`). The best point of a scan is
the largest of many correlated noisy values, so the iZ at the threshold chosen on the same events overstates what the
cut gives on new events; the validation value is reported beside the test one to show by how much.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hepnb.errors import InputError, as_finite_array
from hepnb.metrics.counting import asimov_z, iz_asymptotic, iz_from_samples, s_over_sqrt_b
from hepnb.metrics.importance import PermutationImportance, permutation_importance
from hepnb.metrics.thresholds import ThresholdScan, best_threshold_significance
from hepnb.metrics.weighted import weighted_auc
from hepnb.offshell.strategies.samples import APPROACHES, EvaluationSet, StrategySamples
from hepnb.stats.yields import degenerate_mu

if TYPE_CHECKING:
    from hepnb.offshell.strategies.models import GBDTClassifier
    from hepnb.offshell.strategies.network import MLPClassifier

__all__ = [
    "DEFAULT_THRESHOLDS",
    "StrategyResult",
    "iz_scan",
    "validated_iz_scan",
    "iz_metric",
    "evaluate",
    "feature_importance",
    "importance_table",
    "counting_metrics",
]

#: Score thresholds of the iZ scans (the scores of both models are probabilities in [0, 1]).
DEFAULT_THRESHOLDS: np.ndarray = np.round(np.arange(0.0, 1.0, 0.01), 2)


def _scores(model: Any, X: np.ndarray) -> np.ndarray:
    if hasattr(model, "score") and callable(model.score) and not hasattr(model, "fit"):
        return np.asarray(model.score(X), dtype=float)
    if callable(model):
        return np.asarray(model(X), dtype=float)
    raise InputError(f"cannot score events with a {type(model).__name__}: give a trained model or a callable")


def iz_scan(
    score: ArrayLike,
    evaluation: EvaluationSet,
    *,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    errors: Literal["correlated", "independent"] = "correlated",
) -> ThresholdScan:
    """iZ of the events with ``score > t`` for each threshold t, the best point, and its MC error.

    The values are :func:`hepnb.metrics.best_threshold_significance` (``metric="iz"``) on the S, V, SVI
    and B2 components of the evaluation events. ``errors="independent"`` keeps its error, which treats the
    components as independent samples (the thesis's situation); ``"correlated"`` (default) propagates the error
    with the S, V, SVI copies sharing their events: with ``a_i = 2 w_S + w_I`` and ``d_i`` the SM weight,
    ``iZ = sum a / (2 sqrt(sum d))`` and ``var = sum_i (a_i/(2 sqrt D) - A d_i/(4 D^1.5))^2`` over passing events.

    Parameters
    ----------
    score
        One score per event of ``evaluation``.
    evaluation
        From :meth:`~hepnb.offshell.strategies.samples.StrategySamples.evaluation_set`.
    thresholds
        Score thresholds (default :data:`DEFAULT_THRESHOLDS`, 0 to 0.99).
    min_events
        Minimum unweighted events of every component above a threshold (iZ is unstable at tight cuts).
    errors
        ``"correlated"`` or ``"independent"``.
    """
    if not isinstance(evaluation, EvaluationSet):
        raise InputError("evaluation must be an EvaluationSet (StrategySamples.evaluation_set)")
    if errors not in ("correlated", "independent"):
        raise InputError(f"errors must be 'correlated' or 'independent', got {errors!r}")
    t = DEFAULT_THRESHOLDS if thresholds is None else thresholds
    labels, weights, scores = evaluation.components(score)
    scan = best_threshold_significance(
        labels, scores, weights, metric="iz", thresholds=t, min_events=min_events, propagation="quadrature"
    )
    if errors == "independent":
        return scan
    s = np.asarray(score, dtype=float)
    vbf = evaluation.is_vbf
    a = np.where(vbf, 2 * evaluation.w_S + evaluation.w_I, 0.0)
    d = np.where(vbf, evaluation.w_SVI, evaluation.w_B)
    order = np.argsort(s, kind="stable")
    first_above = np.searchsorted(s[order], scan.thresholds, side="right")

    def above(values: np.ndarray) -> np.ndarray:
        cum = np.concatenate([[0.0], np.cumsum(values[order])])
        return cum[-1] - cum[first_above]

    big_a, big_d = above(a), above(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        g_a = 1.0 / (2.0 * np.sqrt(big_d))
        g_d = -big_a / (4.0 * big_d**1.5)
        var = g_a**2 * above(a * a) + 2 * g_a * g_d * above(a * d) + g_d**2 * above(d * d)
    err = np.where(scan.valid, np.sqrt(np.maximum(var, 0.0)), np.nan)
    return dataclasses.replace(scan, errors=err, propagation="correlated")


def validated_iz_scan(
    score_validation: ArrayLike,
    validation: EvaluationSet,
    score_test: ArrayLike,
    test: EvaluationSet,
    *,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    errors: Literal["correlated", "independent"] = "correlated",
) -> tuple[ThresholdScan, ThresholdScan]:
    """The threshold of the best iZ chosen on the validation events, the iZ quoted on the test events.

    Both parts are scanned with :func:`iz_scan` over the same thresholds. The chosen threshold maximises ``|iZ|``
    of the validation events among the thresholds where both scans are defined (at least ``min_events`` events of
    every component above it in each part: a condition on counts, not on the iZ of the test events). Both returned
    scans keep their whole curves and have ``best_index`` set to that threshold, so ``test.value`` and ``test.error``
    are the quoted iZ and its MC error and ``validation.value`` the (optimistic) value the choice was made on.

    Parameters
    ----------
    score_validation, validation
        Scores of the validation events and the events (``StrategySamples.evaluation_set("validation")``).
    score_test, test
        The same for the test events (``StrategySamples.evaluation_set("test")``).
    thresholds, min_events, errors
        As in :func:`iz_scan`.

    Returns
    -------
    tuple of ThresholdScan
        ``(validation_scan, test_scan)``, both pointing at the threshold chosen on the validation events.

    Examples
    --------
    >>> import numpy as np
    >>> from hepnb import offshell as osh
    >>> from hepnb.offshell import strategies as st
    >>> vbf, qqzz, ggzz = (osh.generate(4_000, seed=2, process=p, progress=False) for p in ("vbf", "qqzz", "ggzz"))
    >>> samples = st.make_samples(vbf, qqzz, ggzz, seed=0)
    >>> val, test = samples.evaluation_set("validation"), samples.evaluation_set("test")
    >>> tag_val, tag_test = np.where(val.is_vbf, 0.9, 0.1), np.where(test.is_vbf, 0.9, 0.1)  # a perfect VBF tagger
    >>> on_val, on_test = st.validated_iz_scan(tag_val, val, tag_test, test, thresholds=[0.0, 0.5], min_events=0)
    >>> on_val.threshold == on_test.threshold == 0.5
    True
    >>> bool(on_test.value == on_test.values[1])  # the test iZ at the threshold chosen on the validation events
    True
    """
    for part, name in ((validation, "validation"), (test, "test")):
        if not isinstance(part, EvaluationSet):
            raise InputError(f"{name} must be an EvaluationSet (StrategySamples.evaluation_set({name!r}))")
    if validation.part == test.part or validation.part == "test" or test.part == "validation":
        raise InputError(
            f"got the {validation.part!r} events as validation and the {test.part!r} events as test: the threshold "
            "is chosen on evaluation_set('validation') and the iZ quoted on evaluation_set('test')"
        )
    on_val = iz_scan(score_validation, validation, thresholds=thresholds, min_events=min_events, errors=errors)
    on_test = iz_scan(score_test, test, thresholds=thresholds, min_events=min_events, errors=errors)
    both = on_val.valid & on_test.valid
    if not both.any():
        raise InputError(
            f"no threshold has {min_events} events of every component above it in both the validation and the test "
            "events: lower min_events, loosen the thresholds or generate more events"
        )
    rank = np.abs(on_val.values) if on_val.rank_by == "abs" else on_val.values
    chosen = int(np.argmax(np.where(both, rank, -np.inf)))
    return dataclasses.replace(on_val, best_index=chosen), dataclasses.replace(on_test, best_index=chosen)


def iz_metric(evaluation: EvaluationSet, threshold: float) -> Callable[..., float]:
    """``metric(index, score, weights) -> |iZ|`` above a fixed score threshold, for permutation importance.

    For :func:`hepnb.metrics.importance.permutation_importance`: pass ``y = numpy.arange(len(evaluation))`` (event
    indices) and the evaluation features: the metric rebuilds the S, V, SVI and B2 components itself, so a
    permutation moves an event's features and its three weights together. ``threshold`` is fixed (the one chosen on
    the validation events, :attr:`StrategyResult.threshold`): the importance is the loss of iZ of *that* cut on the
    evaluation (test) events, not of a cut re-optimised on every shuffle. ``|iZ| = 0`` when no event passes.
    """
    t = float(as_finite_array(threshold, "threshold", ndim=0))
    vbf = evaluation.is_vbf
    a = np.where(vbf, 2 * evaluation.w_S + evaluation.w_I, 0.0)  # S + SVI - V, event by event
    d = np.where(vbf, evaluation.w_SVI, evaluation.w_B)  # SVI + B2, event by event

    def iz_at_threshold(y: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
        index = np.asarray(y)
        if not np.array_equal(index, np.arange(len(evaluation))):
            raise InputError("iz_metric needs y = numpy.arange(len(evaluation)): the event indices, in order")
        s = as_finite_array(score, "score", ndim=1)
        if len(s) != len(evaluation):
            raise InputError(f"score has {len(s)} entries for {len(evaluation)} events of the evaluation set")
        above = s > t
        big_d = float(d[above].sum())
        return abs(float(a[above].sum())) / (2.0 * np.sqrt(big_d)) if big_d > 0 else 0.0

    iz_at_threshold.__name__ = "iz_at_threshold"
    return iz_at_threshold


@dataclass(frozen=True, eq=False)
class StrategyResult:
    """A trained strategy on the test set: its iZ scans and its AUCs (weighted with the physical weights).

    ``scan``: the iZ of the test events against the threshold, its chosen point (``scan.threshold``, ``scan.value``,
    ``scan.error``) at the threshold of the best iZ of the validation events; ``validation_scan``: the validation
    curve, pointing at the same threshold (its value is the optimistic one the choice was made on), see
    :func:`validated_iz_scan`. ``auc_physical``: SVI vs B2 on the test set (the same classes for both approaches, so
    comparable); ``auc_task`` / ``auc_task_train``: the approach's own classes on the test / training events.
    ``iz_no_cut``: iZ of all test events (no threshold). ``score``: the scores of the test events.
    """

    approach: str
    model: str
    weighting: str
    scan: ThresholdScan
    validation_scan: ThresholdScan
    auc_physical: float
    auc_task: float
    auc_task_train: float
    iz_no_cut: float
    score: np.ndarray

    @property
    def label(self) -> str:
        """``"GBDT, approach 2"`` etc."""
        number = list(APPROACHES).index(self.approach) + 1
        return f"{self.model}, approach {number}"

    @property
    def threshold(self) -> float:
        """The score threshold, chosen on the validation events."""
        return self.scan.threshold

    def summary(self) -> dict[str, Any]:
        """One row for a results table: the test iZ at the validation threshold, the validation iZ beside it."""
        return {
            "model": self.model,
            "approach": self.approach,
            "weighting": self.weighting,
            "iZ (test)": self.scan.value,
            "iZ error (test)": self.scan.error,
            "threshold (validation)": self.scan.threshold,
            "iZ (validation)": self.validation_scan.value,
            "iZ no cut (test)": self.iz_no_cut,
            "AUC SVI vs B2": self.auc_physical,
            "AUC own classes": self.auc_task,
            "AUC own classes (train)": self.auc_task_train,
        }


def evaluate(
    model: GBDTClassifier | MLPClassifier,
    samples: StrategySamples,
    *,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    errors: Literal["correlated", "independent"] = "correlated",
) -> StrategyResult:
    """Score the validation and test events: the iZ at the validation threshold (:func:`validated_iz_scan`), AUCs.

    Parameters
    ----------
    model
        A trained model (``.score(X)``, ``.approach``, ``.name``, ``.weighting``).
    samples
        The samples it was trained on (its ``"train"`` part); the threshold is chosen on their ``"validation"``
        part and the iZ quoted on their ``"test"`` part.
    thresholds, min_events, errors
        As in :func:`iz_scan`.
    """
    test, train_side = samples.evaluation_set("test"), samples.evaluation_set("train")
    validation = samples.evaluation_set("validation")
    score = _scores(model, test.X)
    validation_scan, scan = validated_iz_scan(
        _scores(model, validation.X),
        validation,
        score,
        test,
        thresholds=thresholds,
        min_events=min_events,
        errors=errors,
    )
    y, w, idx = test.auc_inputs("svi_vs_b2")
    auc_physical = weighted_auc(y, score[idx], w)
    y, w, idx = test.auc_inputs(model.approach)
    auc_task = weighted_auc(y, score[idx], w)
    score_train = _scores(model, train_side.X)
    y, w, idx = train_side.auc_inputs(model.approach)
    auc_train = weighted_auc(y, score_train[idx], w)
    y_all = test.yields()
    no_cut = iz_from_samples(y_all["S"].value, y_all["SVI"].value, y_all["V"].value, y_all["B2"].value)
    return StrategyResult(
        model.approach,
        model.name,
        model.weighting,
        scan,
        validation_scan,
        auc_physical,
        auc_task,
        auc_train,
        float(no_cut),
        score,
    )


def feature_importance(
    model: GBDTClassifier | MLPClassifier,
    evaluation: EvaluationSet,
    metric: Literal["auc", "iz"] = "auc",
    *,
    threshold: float | None = None,
    n_repeats: int = 3,
    seed: int = 0,
    progress: bool = False,
) -> PermutationImportance:
    """Permutation importance of the features on the evaluation events (thesis sections 4.9, 6.6.3).

    ``"auc"``: the weighted AUC of the model's own classes (negative-weight safe); ``"iz"``: the iZ above
    ``threshold`` (:func:`iz_metric`), the physically relevant one. Features are shuffled across events.

    For ``"iz"`` the threshold is required and stays fixed: pass the one chosen on the validation events
    (``evaluate(model, samples).threshold``) and the test events as ``evaluation``, so that the baseline is the
    quoted test iZ and each importance the iZ that cut loses on the test events when a feature is shuffled.
    """
    if metric == "auc" and threshold is not None:
        raise InputError("threshold is for metric='iz' only: the AUC has no threshold")
    if metric == "auc":
        y, w, idx = evaluation.auc_inputs(model.approach)

        def auc(index: ArrayLike, score: ArrayLike, weights: ArrayLike | None = None) -> float:
            return weighted_auc(y, np.asarray(score)[idx], w)

        auc.__name__ = "weighted_auc"
        func: Callable[..., float] = auc
    elif metric == "iz":
        if threshold is None:
            raise InputError(
                "metric 'iz' needs the score threshold chosen on the validation events: pass "
                "threshold=evaluate(model, samples).threshold (and the test events as evaluation)"
            )
        func = iz_metric(evaluation, threshold)
    else:
        raise InputError(f"metric must be 'auc' or 'iz', got {metric!r}")
    return permutation_importance(
        model.score,
        evaluation.X,
        np.arange(len(evaluation)),
        None,
        func,
        n_repeats=n_repeats,
        seed=seed,
        feature_names=list(evaluation.feature_names),
        progress=progress,
    )


def importance_table(results: Mapping[str, PermutationImportance]) -> pd.DataFrame:
    """Side-by-side rankings like thesis Table 6.1: for each metric, feature, importance and error by rank."""
    if not results:
        raise InputError("importance_table needs at least one PermutationImportance")
    columns = {}
    for name, pi in results.items():
        table = pi.table()
        columns[(name, "feature")] = table["feature"].to_numpy()
        columns[(name, "importance")] = table["importance"].to_numpy()
        columns[(name, "error")] = table["error"].to_numpy()
    frame = pd.DataFrame(columns)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="rank")
    return frame


def counting_metrics(s: float, v: float, svi: float, b2: float) -> dict[str, float]:
    """The counting sensitivities of one yield table (thesis 6.6, 4.10): what s/sqrt(b) claims and what iZ says.

    Returns ``I = SVI - S - V``, ``mu*`` (the rate partner of mu = 0), ``s/sqrt(b)`` treating S as the signal over
    ``B = V + B2`` (what one would quote ignoring the interference), ``(SVI - V)/sqrt(V + B2)`` (the actual
    excess over the no-Higgs hypothesis: a deficit), ``Z'`` of S over B, ``iZ`` and ``sigma_mu = 1/iZ`` at mu = 1, and
    the signed ``iZ'`` (Asimov rejection of mu = 0).
    """
    for value, label in ((s, "S"), (v, "V"), (svi, "SVI"), (b2, "B2")):
        as_finite_array(value, label)
    i = svi - s - v
    b = v + b2
    iz = iz_from_samples(s, svi, v, b2)
    return {
        "S": float(s),
        "V": float(v),
        "SVI": float(svi),
        "B2": float(b2),
        "I": float(i),
        "mu*": degenerate_mu(s, i) if s > 0 else float("nan"),
        "s/sqrt(b) with s = S": float(s_over_sqrt_b(s, b)),
        "(SVI - V)/sqrt(V + B2)": float(s_over_sqrt_b(svi - v, b)),
        "Z' with s = S": float(asimov_z(s, b)),
        "iZ": float(iz),
        "sigma_mu": float(1.0 / iz) if iz != 0 else float("inf"),
        "iZ'": float(iz_asymptotic(svi, v, b2)),
    }
