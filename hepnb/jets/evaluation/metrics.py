"""JetNet's metrics of generated jets against real ones, in JetNet's units, as table rows.

The metrics (:mod:`hepnb.metrics.jetnet`) are quoted in JetNet's units (MPGAN, arXiv:2106.11535, table 1;
arXiv:2211.10295, table 3): W1M x 10^3, W1P x 10^3 (mean of eta_rel, phi_rel, pT_rel), W1EFP x 10^5,
FPD x 10^4, KPD x 10^4, COV and MMD (EMD, arXiv:1902.02346) as they are, and the held-out AUC of a Deep Sets
classifier. Every value comes with its error (spread over batches, the 1/N fit's error, or Hanley-McNeil).
:func:`distance_summary` puts a model's row beside the real-vs-real floor and the other-class scale.

>>> row = MetricsRow("GAN", 100, 100, (MetricValue("W1M", 1.234, 0.056, 1e3), MetricValue("AUC", 0.61, 0.02, 1.0)))
>>> metrics_table([row])
    jets       W1M x1e3            AUC
GAN  100  1.234 ± 0.056  0.610 ± 0.020
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hepnb.errors import InputError, is_whole_number

__all__ = ["UNITS", "MetricSettings", "MetricValue", "MetricsRow", "compare", "metrics_table", "distance_summary"]

UNITS = {"W1M": 1e3, "W1P": 1e3, "W1EFP": 1e5, "FPD": 1e4, "KPD": 1e4, "COV": 1.0, "MMD": 1.0, "AUC": 1.0}
"""Factor each metric is multiplied by in the table (JetNet's units; 1 for the unscaled ones)."""


@dataclass(frozen=True)
class MetricSettings:
    """Cost knobs of :func:`compare` (defaults: JetNet's, except the sample sizes, which follow the reference).

    Attributes
    ----------
    metrics
        Metrics to compute, a subset of :data:`UNITS`.
    w1_batches
        Batches of W1M, W1P and W1EFP (each draws as many jets as the reference holds).
    fpd_batches, fpd_points
        Batches per point and points of FPD's 1/N fit (batch sizes from half the reference to all of it).
    kpd_batches
        Batches of KPD (each of half the reference).
    cov_mmd_jets, cov_mmd_batches
        Jets per sample and batches of COV/MMD (JetNet: 100 and 10; the EMDs are the cost).
    classifier_epochs
        Training epochs of the AUC's Deep Sets classifier.
    seed
        Seeds every metric's batches.
    """

    metrics: tuple[str, ...] = tuple(UNITS)
    w1_batches: int = 5
    fpd_batches: int = 10
    fpd_points: int = 5
    kpd_batches: int = 10
    cov_mmd_jets: int = 100
    cov_mmd_batches: int = 10
    classifier_epochs: int = 20
    seed: int = 42

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in UNITS]
        if unknown or not self.metrics:
            raise InputError(f"metrics {unknown or '()'}: choose from {list(UNITS)}")
        for name in (
            "w1_batches",
            "fpd_batches",
            "kpd_batches",
            "cov_mmd_jets",
            "cov_mmd_batches",
            "classifier_epochs",
        ):
            value = getattr(self, name)
            if not is_whole_number(value) or value < 1:
                raise InputError(f"{name}={value!r} must be a whole number >= 1")
        if isinstance(self.fpd_points, bool) or not isinstance(self.fpd_points, int) or self.fpd_points < 3:
            raise InputError(f"fpd_points={self.fpd_points!r} must be a whole number >= 3 (the fit needs an error)")


@dataclass(frozen=True)
class MetricValue:
    """One metric in JetNet's units: ``value`` and ``error`` already multiplied by ``scale``."""

    metric: str
    value: float
    error: float
    scale: float

    @property
    def label(self) -> str:
        """Column title, e.g. ``"W1M x1e3"``."""
        return self.metric if self.scale == 1 else f"{self.metric} x1e{round(math.log10(self.scale))}"


@dataclass(frozen=True)
class MetricsRow:
    """The metrics of one sample against the reference: a row of the table."""

    label: str
    n_reference: int
    n_compared: int
    values: tuple[MetricValue, ...]

    def __getitem__(self, metric: str) -> MetricValue:
        for value in self.values:
            if value.metric == metric:
                return value
        raise InputError(f"{self.label!r} has no {metric}; it has {[v.metric for v in self.values]}")


def compare(
    reference: Any, other: Any, label: str, settings: MetricSettings | None = None, *, threads: int = 1
) -> MetricsRow:
    """JetNet's metrics of the clouds ``other`` against ``reference`` (both ``[N, P, 4]``), as one table row.

    Samples smaller than JetNet's recommended 50 000 jets are accepted silently: the floor row, computed at the
    same size, says what the size allows.
    """
    from hepnb.jets.datamodule import check_particles
    from hepnb.metrics import jetnet

    settings = settings or MetricSettings()
    real, generated = check_particles(reference, "reference"), check_particles(other, "other")
    if real.shape[1] != generated.shape[1]:
        raise InputError(f"reference has {real.shape[1]} particle slots, {label!r} {generated.shape[1]}: one preset")
    n = min(len(real), len(generated))
    if n < 8:
        raise InputError(f"{label!r}: need at least 8 jets in each sample, got {len(real)} and {len(generated)}")
    s, raw = settings, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jetnet.SmallSampleWarning)
        w1 = dict(num_eval_samples=n, num_batches=s.w1_batches, seed=s.seed)
        for name, function in (("W1M", jetnet.w1m), ("W1P", jetnet.w1p), ("W1EFP", jetnet.w1efp)):
            if name in s.metrics:
                raw[name] = function(real, generated, **w1)
        if "FPD" in s.metrics or "KPD" in s.metrics:
            a, b = jetnet.fpd_kpd_features(real), jetnet.fpd_kpd_features(generated)
            if "FPD" in s.metrics:
                raw["FPD"] = jetnet.fpd(
                    a,
                    b,
                    min_samples=max(n // 2, 2),
                    max_samples=n,
                    num_batches=s.fpd_batches,
                    num_points=s.fpd_points,
                    seed=s.seed,
                )
            if "KPD" in s.metrics:
                raw["KPD"] = jetnet.kpd(a, b, num_batches=s.kpd_batches, batch_size=max(n // 2, 2), seed=s.seed)
        if "COV" in s.metrics or "MMD" in s.metrics:
            cov, mmd = jetnet.cov_mmd(
                real,
                generated,
                num_eval_samples=min(s.cov_mmd_jets, n),
                num_batches=s.cov_mmd_batches,
                seed=s.seed,
                progress=False,
            )
            raw.update(COV=cov, MMD=mmd)
        if "AUC" in s.metrics:
            raw["AUC"] = jetnet.particle_classifier_test(
                real, generated, seed=s.seed, epochs=s.classifier_epochs, n_threads=threads
            )
    values = tuple(
        MetricValue(m, float(raw[m].value) * UNITS[m], float(raw[m].error) * UNITS[m], UNITS[m])
        for m in UNITS
        if m in s.metrics
    )
    return MetricsRow(label, len(real), len(generated), values)


def metrics_table(rows: Sequence[MetricsRow], *, numeric: bool = False) -> pd.DataFrame:
    """The rows as a table: ``"value ± error"`` strings per metric (``numeric``: value and error columns)."""
    if not rows:
        raise InputError("metrics_table needs at least one MetricsRow (from compare)")
    records = {}
    for row in rows:
        record: dict[str, Any] = {"jets": row.n_compared}
        for v in row.values:
            if numeric:
                record[v.label], record[f"{v.label} error"] = v.value, v.error
            else:
                digits = max(0, 1 - math.floor(math.log10(v.error))) if v.error > 0 else 3
                record[v.label] = f"{v.value:.{min(digits, 4)}f} ± {v.error:.{min(digits, 4)}f}"
        records[row.label] = record
    return pd.DataFrame(records).T


def _distance(metric: str, value: float) -> float:
    """A smaller-is-closer version of a metric: ``|AUC - 0.5|``, ``1 - COV``, the others unchanged."""
    return abs(value - 0.5) if metric == "AUC" else (1.0 - value if metric == "COV" else value)


def distance_summary(model: MetricsRow, floor: MetricsRow, scale: MetricsRow) -> pd.DataFrame:
    """Each metric of ``model`` beside the real-vs-real ``floor`` and the other-class ``scale``, as distances.

    Distances are ``|AUC - 0.5|``, ``1 - COV`` and the other metrics as they are. Columns:

    - ``model``, ``real vs real``, ``other class``: the three distances;
    - ``above floor`` = model / max(floor, floor's error): how many floors the model is from the reference (the
      floor's error stands in when the floor is consistent with zero, as FPD's and KPD's often are);
    - ``of gap`` = (model - floor) / (other class - floor): the model's excess over the floor as a fraction of the
      top-QCD difference (0: as good as real jets, 1: as far as the other class);
    - ``gap sigma``: the other-class excess over the floor in units of their errors in quadrature (NaN when both
      errors are 0: unmeasured). Below about 3, the metric does not resolve top from QCD at this sample size.
    """
    rows = {}
    for v in model.values:
        f, s = floor[v.metric], scale[v.metric]
        d, df, ds = (_distance(v.metric, x.value) for x in (v, f, s))
        gap_error = math.hypot(f.error, s.error)
        rows[v.label] = {
            "model": d,
            "model error": v.error,
            "real vs real": df,
            "other class": ds,
            "above floor": d / max(df, f.error) if max(df, f.error) > 0 else math.inf,
            "of gap": (d - df) / (ds - df) if ds != df else math.inf,
            "gap sigma": (ds - df) / gap_error if gap_error > 0 else math.nan,
        }
    return pd.DataFrame(rows).T
