"""Study 3's tables: interval widths, MadMiner's method table with our numbers, the degeneracy (notebook 03).

* :func:`width_table`: 68% / 95% interval widths of every method relative to the oracle;
* :func:`closure_metrics`, :func:`method_table`: each method's closure against the oracle and its widths;
* :func:`best_histogram`: the histogram baseline with the narrowest interval;
* :func:`degeneracy_table`: how strongly each method rejects the rate partner ``mu*`` of ``mu = 0``;
* :func:`beyond_oracle`: which methods claim more than the exact likelihood allows (narrower intervals, a larger
  ``q(mu*)``): over-confidence, to be reported, never rewarded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hepnb.errors import InputError
from hepnb.lfi import inference
from hepnb.lfi.inference import LikelihoodScan
from hepnb.lfi.methods import METHODS, TrainedMethod
from hepnb.lfi.oracle import oracle_score
from hepnb.lfi.scans import ratio_log_r_grid
from hepnb.offshell import Events

__all__ = [
    "BEYOND_ORACLE_MARGIN",
    "width_table",
    "method_table",
    "closure_metrics",
    "degeneracy_table",
    "best_histogram",
    "beyond_oracle",
]

#: Relative margin of :func:`beyond_oracle`: a width ratio below ``1 - margin`` or a ``q(mu*)`` above
#: ``(1 + margin)`` times the oracle's is flagged. Every method is evaluated on the same events as the oracle, so the
#: only slack is the interpolation of the interval ends on the 51-point grid (below 1% of a width).
BEYOND_ORACLE_MARGIN = 0.02


def width_table(
    scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]],
    mu_trues: Sequence[float],
    reference: str = "oracle",
) -> pd.DataFrame:
    """68% / 95% interval widths relative to ``reference`` for every method, true mu and rate choice.

    Rows: method; columns: ``(mu_true, "rate"/"shape", "68%"/"95%")``.

    Examples
    --------
    >>> from hepnb.lfi.scans import histogram_scans
    >>> from hepnb.stats.interference import BinnedInterferenceModel
    >>> models = {  # the same totals S = 40, I = -20, B = 20 in two bins and in one
    ...     "oracle": BinnedInterferenceModel.from_arrays([30.0, 10.0], [-5.0, -15.0], [10.0, 10.0]),
    ...     "one bin": BinnedInterferenceModel.from_arrays([40.0], [-20.0], [20.0]),
    ... }
    >>> scans = {name: histogram_scans(model, None, [1.0], method=name) for name, model in models.items()}
    >>> table = width_table(scans, [1.0])
    >>> list(table.columns)[:2], table.round(2).loc["one bin"].tolist()
    ([(1.0, 'rate', '68%'), (1.0, 'rate', '95%')], [1.01, 1.02, 1.29, 1.02])
    """
    cols = {}
    for mu_true in mu_trues:
        for rate in (True, False):
            table = inference.interval_table({m: s[float(mu_true), rate] for m, s in scans.items()}, reference)
            for row in table.rows:
                cols.setdefault((float(mu_true), "rate" if rate else "shape", "68%"), {})[row.method] = row.relative_68
                cols.setdefault((float(mu_true), "rate" if rate else "shape", "95%"), {})[row.method] = row.relative_95
    frame = pd.DataFrame(cols)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["true mu", "rate", "CL"])
    return frame


def closure_metrics(
    trained: TrainedMethod, events: Events, kappas: Sequence[float] = (0.0, 0.8, 1.2, 1.5)
) -> dict[str, float]:
    """Weighted (SM) mean squared error of ``log r_hat`` against the oracle at ``kappas`` (ratio/density methods),
    or of ``t_hat`` against the oracle score (score methods), and the weighted correlation. The learned ratio is the
    one the scans use, anchored at the SM (:func:`hepnb.lfi.scans.ratio_log_r_grid`).

    Examples
    --------
    The exact log ratio closes perfectly:

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> class Exact:  # the exact log ratio of these events as an estimator
    ...     observables = ["m4l"]
    ...
    ...     def log_ratio(self, x, kappa, kappa_ref):
    ...         return osh.oracle_log_ratio(events, kappa**4, kappa_ref**4)
    >>> trained = TrainedMethod("alices", Exact(), seconds=1.5, n_rows=100, best_epoch=3)
    >>> {name: round(value, 6) for name, value in closure_metrics(trained, events).items()}
    {'mse': 0.0, 'correlation': 1.0}
    """
    w = events.weight(1.0)
    est = trained.estimator
    if METHODS[trained.method]["group"] == "score":
        learned = inference.estimated_scores(est, events)[None, :]
        exact = oracle_score(events, 1.0)[None, :]
    else:
        learned = ratio_log_r_grid(est, events, [float(k) for k in kappas])
        exact = np.stack([_oracle_log_r(events, float(k)) for k in kappas])
    mse = float(np.mean([np.average((a - b) ** 2, weights=w) for a, b in zip(learned, exact)]))
    corr = float(
        np.mean(
            [
                np.cov(a, b, aweights=w)[0, 1]
                / np.sqrt(np.cov(a, b, aweights=w)[0, 0] * np.cov(a, b, aweights=w)[1, 1])
                for a, b in zip(learned, exact)
            ]
        )
    )
    return {"mse": mse, "correlation": corr}


def _oracle_log_r(events: Events, kappa: float) -> np.ndarray:
    from hepnb.offshell import oracle_log_ratio

    return oracle_log_ratio(events, kappa**4, 1.0)


def _observables_label(estimator: Any) -> str:
    """``"35 ch7"`` for the chapter-7 set, else the observables' names joined."""
    observables = getattr(estimator, "observables", None)
    if isinstance(observables, str):
        return "35 ch7" if observables == "thesis-ch7" else observables
    return ", ".join(observables) if observables else "-"


def method_table(
    trained: Mapping[str, TrainedMethod],
    events: Events,
    oracle: Mapping[tuple[float, bool], Any],
    scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]],
    *,
    mu_true: float = 1.0,
    margin: float = BEYOND_ORACLE_MARGIN,
) -> pd.DataFrame:
    """MadMiner's method table with our numbers: what each method uses, how its limits are set, its training rows
    and seconds, its closure against the oracle (MSE, correlation), its 68%/95% widths relative to the oracle at
    ``mu_true`` and ``"beyond the oracle"`` (:func:`beyond_oracle` with ``margin``: True for an over-confident
    method, whose scan is sharper than the exact likelihood's).

    Examples
    --------
    The exact log ratio as a trained method: its intervals are the oracle's, and it is not beyond the oracle:

    >>> from hepnb import offshell as osh
    >>> from hepnb.lfi.oracle import helicity_summed
    >>> events = helicity_summed(osh.generate(2_000, seed=1, detector="none", progress=False))
    >>> class Exact:  # the exact log ratio of these events as an estimator
    ...     observables = ["m4l"]
    ...
    ...     def log_ratio(self, x, kappa, kappa_ref):
    ...         return osh.oracle_log_ratio(events, kappa**4, kappa_ref**4)
    >>> trained = TrainedMethod("alices", Exact(), seconds=1.5, n_rows=100, best_epoch=3)
    >>> from hepnb.lfi.scans import method_scans, oracle_scans
    >>> scans = {"exact": method_scans(trained, events, [1.0])}
    >>> row = method_table({"exact": trained}, events, oracle_scans(events, [1.0]), scans).loc["exact"]
    >>> ratio = float(row["95% / oracle (rate)"])
    >>> row["group"], round(float(row["closure MSE"]), 6), round(ratio, 6), bool(row["beyond the oracle"])
    ('likelihood ratio', 0.0, 1.0, False)
    """
    rows = []
    for name, tm in trained.items():
        info = METHODS[tm.method]
        closure = closure_metrics(tm, events)
        row = {
            "method": name,
            "group": info["group"],
            "uses r(x,z)": info["uses_r"],
            "uses t(x,z)": info["uses_t"],
            "limits": info["limits"],
            "observables": _observables_label(tm.estimator),
            "training rows": tm.n_rows,
            "best epoch": tm.best_epoch,
            "training time [s]": tm.seconds,
            "closure MSE": closure["mse"],
            "closure corr.": closure["correlation"],
        }
        for rate in (True, False):
            table = inference.interval_table(
                {"oracle": oracle[float(mu_true), rate], name: scans[name][float(mu_true), rate]}
            )
            r = table.row(name)
            tag = "rate" if rate else "shape"
            row[f"68% / oracle ({tag})"] = r.relative_68
            row[f"95% / oracle ({tag})"] = r.relative_95
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("method")
    frame["beyond the oracle"] = beyond_oracle(frame, margin=margin)
    return frame


def best_histogram(
    scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]],
    candidates: Sequence[str],
    mu_true: float = 1.0,
    include_rate: bool = True,
) -> str:
    """The candidate with the narrowest 95% interval at ``mu_true``.

    Examples
    --------
    >>> from hepnb.lfi.scans import histogram_scans
    >>> from hepnb.stats.interference import BinnedInterferenceModel
    >>> models = {  # the same totals S = 40, I = -20, B = 20 in two bins and in one
    ...     "two bins": BinnedInterferenceModel.from_arrays([30.0, 10.0], [-5.0, -15.0], [10.0, 10.0]),
    ...     "one bin": BinnedInterferenceModel.from_arrays([40.0], [-20.0], [20.0]),
    ... }
    >>> scans = {name: histogram_scans(model, None, [1.0], method=name) for name, model in models.items()}
    >>> best_histogram(scans, ["two bins", "one bin"])
    'two bins'
    """
    widths = {c: _width(scans[c][float(mu_true), include_rate], 0.95) for c in candidates}
    return min(widths, key=widths.__getitem__)


def _width(scan: Any, cl: float) -> float:
    return float(sum(hi - lo for lo, hi in scan.interval(cl).intervals))


def degeneracy_table(scans: Mapping[str, Mapping[tuple[float, bool], LikelihoodScan]], mu_star: float) -> pd.DataFrame:
    """``q(mu*)`` for Asimov data at ``mu = 0``: how strongly each method rejects the rate partner ``mu*``.

    ``scans`` are at ``mu_true = 0`` on a grid that contains ``mu*`` (e.g. ``kappa = [0, mu*^(1/4)]``). With the
    rate, ``N(mu*) = N(0)`` adds nothing: all the separation comes from the shapes. ``Z = sqrt(q)``.

    Examples
    --------
    One bin cannot tell ``mu = 0`` from ``mu* = (I / S)^2 = 0.25``; two bins with different shapes can:

    >>> from hepnb.lfi.scans import histogram_scans
    >>> from hepnb.stats.interference import BinnedInterferenceModel
    >>> models = {  # the same totals S = 40, I = -20, B = 20 in two bins and in one
    ...     "oracle": BinnedInterferenceModel.from_arrays([30.0, 10.0], [-5.0, -15.0], [10.0, 10.0]),
    ...     "one bin": BinnedInterferenceModel.from_arrays([40.0], [-20.0], [20.0]),
    ... }
    >>> from hepnb.stats.yields import degenerate_mu
    >>> mu_star = degenerate_mu(40.0, -20.0)
    >>> grid = [0.0, mu_star**0.25]
    >>> scans = {name: histogram_scans(m, None, [0.0], method=name, kappa=grid) for name, m in models.items()}
    >>> table = degeneracy_table(scans, mu_star)
    >>> mu_star, table.loc["oracle"].round(3).tolist(), bool(abs(table.loc["one bin", "q(mu*) (rate)"]) < 1e-9)
    (0.25, [5.754, 2.399, 5.754, 2.399], True)
    """
    rows = {}
    for name, by_key in scans.items():
        row = {}
        for rate in (True, False):
            if (0.0, rate) not in by_key:
                raise InputError(
                    f"the scans of {name!r} have no Asimov data at mu = 0 (rate={rate}): scan true "
                    "mu = 0 on kappa = [0, mu*^(1/4)]"
                )
            scan = by_key[0.0, rate]
            j = int(np.argmin(np.abs(scan.mu - float(mu_star))))
            if not np.isclose(scan.mu[j], float(mu_star), rtol=1e-9, atol=1e-12):
                raise InputError(
                    f"the scan of {name!r} has no grid point at mu* = {mu_star:g}: scan kappa = [0, mu*^(1/4)]"
                )
            tag = "rate" if rate else "shape"
            row[f"q(mu*) ({tag})"] = float(scan.q[j])
            row[f"Z ({tag})"] = float(np.sqrt(scan.q[j]))
        rows[name] = row
    return pd.DataFrame(rows).T


def beyond_oracle(table: pd.DataFrame, *, margin: float = BEYOND_ORACLE_MARGIN, reference: str = "oracle") -> pd.Series:
    """Which rows claim more than the exact likelihood: over-confidence, a failure to report, not a success.

    No estimator evaluated on the oracle's events can honestly beat the oracle. A row is flagged when any of its
    interval ratios to the oracle (columns with ``"/ oracle"`` in their name, as in :func:`method_table`; or every
    column of a :func:`width_table`) is below ``1 - margin``, or any of its ``q(mu*)`` (columns starting with
    ``"q("``, as in :func:`degeneracy_table`) exceeds the ``reference`` row's by more than the factor
    ``1 + margin``.

    Parameters
    ----------
    table
        A :func:`method_table`, :func:`width_table` or :func:`degeneracy_table` (the last with the ``reference`` row).
    margin
        Relative tolerance (grid interpolation of the interval ends).
    reference
        The oracle's row name in a degeneracy table.

    Returns
    -------
    pandas.Series
        Boolean per row, named ``"beyond the oracle"``.

    Examples
    --------
    >>> t = pd.DataFrame({"95% / oracle (rate)": [1.0, 0.9, 1.3]}, index=["oracle", "a", "b"])
    >>> beyond_oracle(t).tolist()
    [False, True, False]
    >>> d = pd.DataFrame({"q(mu*) (rate)": [0.5, 0.6, 0.2]}, index=["oracle", "a", "b"])
    >>> beyond_oracle(d).tolist()
    [False, True, False]
    """
    if not 0 <= float(margin) < 1:
        raise InputError(f"margin must be in [0, 1), got {margin!r}")
    names = [str(c) for c in table.columns]
    ratio_cols = [c for c, n in zip(table.columns, names) if "/ oracle" in n]
    q_cols = [c for c, n in zip(table.columns, names) if n.startswith("q(")]
    if isinstance(table.columns, pd.MultiIndex) and not ratio_cols and not q_cols:
        ratio_cols = list(table.columns)  # a width_table: every column is a ratio to the reference
    if not ratio_cols and not q_cols:
        raise InputError(
            "the table has no ratio to the oracle ('/ oracle' columns) and no q(mu*) column: pass a method_table, "
            "width_table or degeneracy_table"
        )
    flag = pd.Series(False, index=table.index, name="beyond the oracle")
    for c in ratio_cols:
        flag |= table[c].astype(float) < 1.0 - float(margin)
    if q_cols:
        if reference not in table.index:
            raise InputError(f"the q(mu*) columns need the {reference!r} row to compare with")
        for c in q_cols:
            flag |= table[c].astype(float) > (1.0 + float(margin)) * float(table.loc[reference, c])
    return flag
