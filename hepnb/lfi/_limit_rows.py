"""The rows of the limit tables and their comparison with a reference, shared by :mod:`hepnb.lfi.limits` (mu) and
:mod:`hepnb.lfi.generic_limits` (any parameter).

:func:`limit_row` formats one method's CLs limit, expected band, Wilks intervals and grid-end cuts;
:func:`compare_to_reference` divides the limits by the reference's (the exact likelihood) and flags those more
than :data:`~hepnb.lfi.tables.BEYOND_ORACLE_MARGIN` below it (over-confidence, not information).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hepnb.errors import InputError
from hepnb.lfi.tables import BEYOND_ORACLE_MARGIN
from hepnb.stats.asymptotic import Scan
from hepnb.stats.cls import ScanUpperLimit

_LIMIT_NAMES = ("limit", "-2 sigma exp.", "-1 sigma exp.", "median exp.", "+1 sigma exp.", "+2 sigma exp.")


def _text(intervals: tuple[tuple[float, float], ...], end: float) -> str:
    pieces = [f"[{lo:.3g}, {'>' if hi >= end else ''}{hi:.3g}]" for lo, hi in intervals]
    return " u ".join(pieces) if pieces else "empty"


def _bound(value: float, end: float) -> str:
    return f">{end:.3g}" if np.isnan(value) else f"{value:.3g}"


def limit_row(
    scan: Scan, limit: ScanUpperLimit | None, *, best_fit: str, q_null: tuple[str, float], missing: str = ""
) -> dict[str, Any]:
    """One row of a limit table: the CLs limit and its band (NaN without ``limit``), Wilks intervals, grid-end cuts.

    ``best_fit`` names the column of ``scan.mu_hat``, ``q_null`` is the column and value of ``q`` at the null,
    ``missing`` a note for the cut column when there is no limit.
    """
    end = float(scan.mu[-1])
    c68, c95 = scan.interval(0.6827), scan.interval(0.95)
    cut = [name for name, ci in (("68%", c68), ("95%", c95)) if ci.intervals and ci.intervals[-1][1] >= end]
    nan = float("nan")
    row: dict[str, Any] = {"limit": nan, "median expected": nan, "expected 68%": "", "expected 95%": "", "islands": ""}
    if limit is not None:
        exp = limit.expected
        row.update(
            {
                "limit": limit.observed,
                "median expected": exp[2],
                "expected 68%": f"[{_bound(exp[1], end)}, {_bound(exp[3], end)}]",
                "expected 95%": f"[{_bound(exp[0], end)}, {_bound(exp[4], end)}]",
                "islands": _text(limit.islands, end) if limit.islands else "",
            }
        )
        cut += [n for n, c in zip(_LIMIT_NAMES, limit.cut_at_grid_end) if c]
    row.update(
        {
            "68% interval": _text(c68.intervals, end),
            "95% interval": _text(c95.intervals, end),
            best_fit: scan.mu_hat,
            q_null[0]: q_null[1],
            "cut at grid end": ", ".join(cut + ([missing] if missing else [])),
        }
    )
    return row


def compare_to_reference(rows: dict[str, dict[str, Any]], reference: str, *, null: float = 0.0) -> pd.DataFrame:
    """The table of ``rows`` with the limits (measured from ``null``) divided by the reference's, and the flag."""
    if reference not in rows:
        raise InputError(f"the reference {reference!r} is not among the methods {sorted(rows)}")
    frame = pd.DataFrame.from_dict(rows, orient="index")
    ref = frame.loc[reference]
    frame.insert(1, f"limit / {reference}", (frame["limit"] - null) / (ref["limit"] - null))
    frame.insert(3, f"median / {reference}", (frame["median expected"] - null) / (ref["median expected"] - null))
    below = 1.0 - BEYOND_ORACLE_MARGIN  # a limit below the exact likelihood's is over-confidence, not information
    frame[f"beyond the {reference}"] = (frame[f"limit / {reference}"] < below) | (
        frame[f"median / {reference}"] < below
    )
    return frame
