"""The sample-weights conundrum (thesis section 6.6.5, Fig 6.9): what zero and negative background weights do to a
weighted training, and the weight pathologies of a set of samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from hepnb.errors import InputError
from hepnb.metrics.weighted import effective_sample_size
from hepnb.offshell.events import Events
from hepnb.offshell.strategies.evaluation import evaluate
from hepnb.offshell.strategies.models import train
from hepnb.offshell.strategies.samples import EvaluationSet, StrategySamples, approach_name

__all__ = ["WeightStudy", "weight_summary", "weight_study"]


def weight_summary(samples: Mapping[str, Events]) -> pd.DataFrame:
    """Per sample: events, yield, zero and negative weights (fraction, yield) and the Kish N_eff (absolute, /N)."""
    rows = []
    for name, events in samples.items():
        if not isinstance(events, Events):
            raise InputError(f"{name}: expected hepnb.offshell Events, got {type(events).__name__}")
        w = events.weight(1.0)
        neff = effective_sample_size(w) if np.any(w != 0) else 0.0
        rows.append(
            {
                "sample": name,
                "events": len(w),
                "yield": float(w.sum()),
                "zero-weight fraction": float(np.mean(w == 0)),
                "negative-weight fraction": float(np.mean(w < 0)),
                "negative yield": float(w[w < 0].sum()),
                "N_eff": neff,
                "N_eff / N": neff / max(len(w), 1),
            }
        )
    return pd.DataFrame(rows).set_index("sample")


@dataclass(frozen=True, eq=False)
class WeightStudy:
    """Trainings of one strategy with clean and pathological background weights under several policies.

    ``table`` has one row per training; ``scores`` the test scores of each; ``pocket`` marks the test background
    events whose training weight was negative; ``evaluation`` holds the test events.
    """

    table: pd.DataFrame
    scores: dict[str, np.ndarray]
    pocket: np.ndarray
    evaluation: EvaluationSet


def weight_study(
    samples: StrategySamples,
    pathological: Events,
    *,
    weightings: Sequence[str] = ("weighted", "drop_negative", "drop_nonpositive", "abs", "unweighted"),
    approach: str | int = "svi_vs_b2",
    model: Literal["gbdt", "nn"] = "gbdt",
    seed: int = 0,
    thresholds: ArrayLike | None = None,
    min_events: int = 20,
    high_score: float = 0.9,
    progress: bool = False,
    **model_options: Any,
) -> WeightStudy:
    """What zero and negative background weights do to a weighted training (thesis section 6.6.5, Fig 6.9).

    Trains ``model`` on ``approach`` once with the clean weights and once per policy with the weights of
    ``pathological`` (the same background events with ``zero_weight_fraction`` / ``negative_pocket``), and evaluates
    every training on the clean weights with :func:`~hepnb.offshell.strategies.evaluation.evaluate`: weighted AUC
    (SVI vs B2) on the test events, the iZ with its error on the test events at the threshold chosen on the
    validation events (and the validation iZ there), and the fraction of the test background yield with
    ``score > high_score`` inside and outside the negative-weight pocket. ``progress`` shows a bar over the
    trainings.
    """
    name = approach_name(approach)
    bad = samples.with_training_background(pathological)
    test = samples.evaluation_set("test")
    pocket = (~test.is_vbf) & (bad.evaluation_set("test").w_B_training < 0)
    runs: list[tuple[str, StrategySamples, str]] = [("clean weights", samples, "weighted")]
    runs += [(f"pathological, {w}", bad, w) for w in weightings]
    rows, scores = [], {}
    for label, source, weighting in tqdm(runs, desc="weight policies", disable=not progress):
        training = source.training_set(name, weighting)
        fitted = train(model, training, seed=seed, **model_options)
        result = evaluate(fitted, source, thresholds=thresholds, min_events=min_events)
        b2 = np.isin(training.component, ["qqzz", "ggzz"])
        used = training.weight[b2]
        high = result.score > high_score
        w_b2 = np.where(test.is_vbf, 0.0, test.w_B)

        def frac(mask: np.ndarray, w_b2: np.ndarray = w_b2, high: np.ndarray = high) -> float:
            total = w_b2[mask].sum()
            return float(w_b2[mask & high].sum() / total) if total > 0 else float("nan")

        rows.append(
            {
                "training": label,
                "weighting": weighting,
                "B2 training events": int(b2.sum()),
                "B2 N_eff": effective_sample_size(used) if np.any(used != 0) else 0.0,
                "AUC SVI vs B2": result.auc_physical,
                "iZ (test)": result.scan.value,
                "iZ error (test)": result.scan.error,
                "threshold (validation)": result.threshold,
                "iZ (validation)": result.validation_scan.value,
                f"pocket B2 with score > {high_score:g}": frac(pocket),
                f"other B2 with score > {high_score:g}": frac(~test.is_vbf & ~pocket),
            }
        )
        scores[label] = result.score
    return WeightStudy(pd.DataFrame(rows).set_index("training"), scores, pocket, test)
