"""A reference distribution against one or more others: :class:`Comparison` (metrics, table, plot).

Entries outside the binning (the flow bins) do not enter the chi2 and the MSE, but they do enter the unbinned KS
and W1. :class:`Comparison` therefore reports the fraction of each sample outside the range (``outside``, a column
of ``table()``) and warns (:class:`OutsideBinningWarning`) above :data:`OUTSIDE_WARNING_FRACTION`.

pandas (for ``table()``) and matplotlib/mplhep (for ``plot()`` and ``draw()``, in :mod:`hepnb.hists.plotting`) are
imported when first used, so that importing this module stays light.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hepnb.errors import InputError
from hepnb.hists.distances import Chi2Result, KSResult, chi2, ks, mse, wasserstein
from hepnb.hists.inputs import _check_compatible, _Sample, _sample, _total

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Comparison", "OutsideBinningWarning", "OUTSIDE_WARNING_FRACTION"]

OUTSIDE_WARNING_FRACTION = 0.01
"""A :class:`Comparison` warns when more than this fraction of a sample (in sum of |weights|) is outside the bins."""


class OutsideBinningWarning(UserWarning):
    """A noticeable fraction of a compared sample lies outside the binning, where the chi2 does not see it."""


class Comparison:
    """A reference distribution and one or more others, with metrics, a table and a ratio plot.

    Parameters
    ----------
    reference
        A ``hist.Hist`` (1-D or 2-D) or an array ``[N]`` / ``[N, 2]``.
    others
        One such object, or a mapping label -> object.
    bins
        Binning for the array inputs: a numeric hist axis, finite edges, ``(n, low, high)``; a pair of them for 2-D
        (at most :data:`~hepnb.hists.inputs.MAX_BINS` bins in all).
    weights
        Optional mapping label -> per-entry weights for array inputs (the reference's label included).
    reference_label, xlabel, ylabel, title
        Text for the plot and the table.

    Attributes
    ----------
    outside
        Label (the reference's first) -> fraction of the sample, in sum of |weights|, outside the binning (in
        the flow bins; for a histogram input, as far as its axes have flow bins). The chi2 and the MSE ignore these
        entries, the unbinned KS and W1 do not. Above :data:`OUTSIDE_WARNING_FRACTION` an
        :class:`OutsideBinningWarning` is issued; ``table()`` lists the fraction of each compared sample.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> c = Comparison(rng.normal(size=2000), {"shifted": rng.normal(0.5, 1, 2000)}, bins=(20, -5, 5))
    >>> c.chi2().ndf, c.ks().statistic > 0.1, round(c.wasserstein(), 1)
    (15, True, 0.5)
    """

    def __init__(
        self,
        reference: Any,
        others: Any,
        *,
        bins: Any = None,
        weights: Mapping[str, Any] | None = None,
        reference_label: str = "Reference",
        xlabel: str = "",
        ylabel: str = "",
        title: str = "",
    ) -> None:
        weights = dict(weights or {})
        if not isinstance(others, Mapping):
            others = {"Other": others}
        if not others:
            raise InputError("a Comparison needs at least one histogram to compare with the reference")
        unknown = set(weights) - set(others) - {reference_label}
        if unknown:
            raise InputError(f"weights given for unknown labels {sorted(unknown)}; labels are {sorted(others)}")
        self.reference_label = reference_label
        self.xlabel, self.ylabel, self.title = xlabel, ylabel, title
        self.reference = _sample(reference, bins, weights.get(reference_label), reference_label)
        _total(self.reference.hist, reference_label)
        if bins is None:  # others may be arrays binned like a reference histogram
            bins = tuple(self.reference.hist.axes) if self.reference.hist.ndim == 2 else self.reference.hist.axes[0]
        self.others: dict[str, _Sample] = {}
        for label, obj in others.items():
            sample = _sample(obj, bins, weights.get(label), label)
            _check_compatible(self.reference.hist, sample.hist, label)
            _total(sample.hist, label)
            self.others[label] = sample
        self.outside = {reference_label: self.reference.outside, **{k: s.outside for k, s in self.others.items()}}
        for label, fraction in self.outside.items():
            if fraction > OUTSIDE_WARNING_FRACTION:
                warnings.warn(
                    f"{fraction:.1%} of {label!r} (in sum of |weights|) lies outside the binning: the chi2 "
                    "and MSE do not see it (the unbinned KS and W1 do); widen the range, or move such "
                    "entries into the edge bins on purpose",
                    OutsideBinningWarning,
                    stacklevel=2,
                )

    @property
    def ndim(self) -> int:
        """1 or 2."""
        return self.reference.hist.ndim

    def _other(self, label: str | None) -> _Sample:
        if label is None:
            if len(self.others) > 1:
                raise InputError(f"several histograms are compared: name one of {list(self.others)}")
            return next(iter(self.others.values()))
        if label not in self.others:
            raise InputError(f"no histogram labelled {label!r}; labels are {list(self.others)}")
        return self.others[label]

    def chi2(self, label: str | None = None) -> Chi2Result:
        """Chi2/ndf of ``label`` (the only other histogram by default) against the reference."""
        return chi2(self.reference, self._other(label))

    def ks(self, label: str | None = None) -> KSResult:
        """KS distance of ``label`` to the reference (1-D)."""
        return ks(self.reference, self._other(label))

    def wasserstein(self, label: str | None = None) -> float:
        """Wasserstein-1 distance of ``label`` to the reference (1-D), in axis units."""
        return wasserstein(self.reference, self._other(label))

    def mse(self, label: str | None = None) -> float:
        """MSE of bin contents of ``label`` against the reference (the thesis's 2-D metric)."""
        return mse(self.reference, self._other(label))

    def table(self) -> pd.DataFrame:
        """One row per compared histogram: chi2, ndf, chi2/ndf, KS and W1 (1-D) or MSE (2-D), and ``outside``.

        ``outside`` is the fraction of the sample (sum of |weights|) outside the binning, which the chi2 ignores.
        """
        import pandas as pd  # pandas takes half a second to import: only for the table

        rows = []
        for label in self.others:
            c = self.chi2(label)
            row: dict[str, Any] = {"label": label, "chi2": c.chi2, "ndf": c.ndf, "chi2/ndf": c.reduced}
            if self.ndim == 1:
                row["KS"] = self.ks(label).statistic
                row["W1"] = self.wasserstein(label)
            else:
                row["MSE"] = self.mse(label)
            row["outside"] = self.outside[label]
            rows.append(row)
        return pd.DataFrame(rows).set_index("label")

    def plot(self, fig: Figure | None = None) -> Figure:
        """Normalised overlay with statistical bands and a ratio panel (1-D), or normalised maps with the MSE (2-D)."""
        from hepnb.hists import plotting  # matplotlib and mplhep: only when drawing

        return plotting.plot_comparison(self, fig)

    def draw(self, ax: Axes, rax: Axes, *, compact: bool = False) -> None:
        """Draw the 1-D overlay on ``ax`` and the ratio to the reference on ``rax`` (no experiment label).

        ``compact=True`` uses small fonts and short legend entries, for grids of many comparisons.
        """
        from hepnb.hists import plotting  # matplotlib and mplhep: only when drawing

        plotting.draw_comparison(self, ax, rax, compact=compact)
