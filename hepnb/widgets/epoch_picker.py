"""EpochPicker: choose a training epoch from its metric history, by rule or by hand, and remember the choice.

A GAN's loss does not say which epoch is best, so the physicist looks at physics metrics per epoch and at
comparison plots. The picker (a :class:`~hepnb.widgets.slider.SliderWidget`) shows the metric curves, a slider and a
dropdown over the checkpointed epochs, and the comparison plots of the selected epoch. Its default is an automatic
rule: every metric ranks the candidate epochs (1 = best), the ranks are averaged with the user's weights, and the
lowest average wins (ties go to the later epoch). "Save choice" writes a JSON manifest; when the manifest exists, a
headless re-run of the notebook takes the same epoch without any interaction. The manifest records the checksum of
the chosen epoch's checkpoint and its metric values: a manifest that does not match the archive (made on another
training) is refused.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hepnb.errors import InputError, is_real_number, is_whole_number
from hepnb.hists import Comparison
from hepnb.io import write_json
from hepnb.training.archive import EpochArchive
from hepnb.widgets.slider import SliderWidget

__all__ = ["Choice", "rank_epochs", "EpochPicker"]

RULE = "weighted-rank"
RULES = (RULE, "manual")


def _check_weights(weights: Any, what: str = "weights") -> dict[str, float]:
    """``weights`` as a dict metric name -> float, refusing non-numbers, infinities, negatives and all-zero."""
    if not isinstance(weights, Mapping):
        raise InputError(
            f"{what} must be a dict metric name -> weight, e.g. {{'chi2': 1.0}}, got {type(weights).__name__}"
        )
    for name, weight in weights.items():
        if not isinstance(name, str) or not is_real_number(weight):
            raise InputError(f"{what}: the weight of {name!r} must be a number, got {weight!r}")
        if not (math.isfinite(weight) and weight >= 0):
            raise InputError(f"{what}: metric weights must be finite and non-negative, got {name!r}: {weight}")
    if not any(w > 0 for w in weights.values()):
        raise InputError("at least one metric needs a positive weight to rank the epochs")
    return {name: float(weight) for name, weight in weights.items()}


def _check_names(names: Any, what: str) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Collection) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{what} must be a list of metric names such as ['auc'], got {names!r}")
    return list(names)


@dataclass(frozen=True)
class Choice:
    """A chosen epoch, how it was chosen, its metric values, and the checksum of its checkpoint."""

    epoch: int
    rule: str
    weights: dict[str, float]
    higher_is_better: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    checkpoint_sha256: str | None = None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the choice as a JSON manifest (atomically)."""
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Choice:
        """Read a manifest written by :meth:`save`, checking the type of every field."""
        path = Path(path)

        def refuse(problem: str) -> InputError:
            return InputError(f"{path} {problem}; delete it to choose again (or pass manifest=None)")

        if path.is_dir():
            raise InputError(f"the manifest {path} is a folder: pass the path of a JSON file, e.g. {path}/choice.json")
        try:
            payload = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise refuse(f"is not an epoch-choice manifest ({err})") from None
        if not isinstance(payload, dict):
            raise refuse(f"is not an epoch-choice manifest (a JSON {type(payload).__name__}, not an object)")
        epoch, rule, sha256 = payload.get("epoch"), payload.get("rule"), payload.get("checkpoint_sha256")
        metrics = payload.get("metrics", {})
        if not is_whole_number(epoch):
            raise refuse(f"has the epoch {epoch!r}, not an integer")
        if rule not in RULES:
            raise refuse(f"has the rule {rule!r}, not one of {list(RULES)}")
        if not (isinstance(metrics, dict) and all(is_real_number(v) and math.isfinite(v) for v in metrics.values())):
            raise refuse(f"has metrics {metrics!r}, not a dict of finite numbers")
        if not (sha256 is None or isinstance(sha256, str)):
            raise refuse(f"has the checkpoint checksum {sha256!r}, not a string")
        try:
            weights = _check_weights(payload.get("weights"), f"the weights in {path}")
            higher_is_better = _check_names(payload.get("higher_is_better", []), f"higher_is_better in {path}")
        except InputError as err:
            raise refuse(f"is not a valid manifest ({err})") from None
        return cls(epoch, rule, weights, higher_is_better, {k: float(v) for k, v in metrics.items()}, sha256)


def rank_epochs(
    history: pd.DataFrame,
    weights: Mapping[str, float],
    *,
    candidates: Sequence[int] | None = None,
    higher_is_better: Collection[str] = (),
) -> pd.DataFrame:
    """Rank epochs by the weighted average of their per-metric ranks.

    Parameters
    ----------
    history
        Metric values, one row per epoch (index: epoch).
    weights
        Metric name -> non-negative weight; metrics with weight 0 are shown but do not count.
    candidates
        Epochs that may be chosen (those with a checkpoint); all rows of ``history`` by default.
    higher_is_better
        Metrics for which a larger value is better (AUC, ...); the others are better when smaller.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, best first, with the metric values, their ranks (``rank:<metric>``) and ``score``.
    """
    weights = _check_weights(weights)
    higher_is_better = _check_names(higher_is_better, "higher_is_better")
    missing = [m for m in [*weights, *higher_is_better] if m not in history.columns]
    if missing:
        raise InputError(f"metrics {missing} are not in the history; recorded metrics: {list(history.columns)}")
    table = history.loc[list(candidates) if candidates is not None else history.index, list(weights)].copy()
    if table.empty:
        raise InputError("no epoch to rank: the archive has no checkpoint with recorded metrics")
    text = [m for m in weights if not pd.api.types.is_numeric_dtype(table[m])]
    if text:
        raise InputError(f"metrics {text} are not numbers in the history; they cannot be ranked")
    if table.isna().any().any():
        bad = table.columns[table.isna().any()].tolist()
        raise InputError(
            f"metrics {bad} are missing (NaN) for some candidate epochs; they cannot be ranked: leave them out of the "
            "weights, or compute them at every checkpoint (for an archive trained before a metric existed, e.g. "
            "`hepnb train jets --rescore`)"
        )
    score = np.zeros(len(table))
    for metric, weight in weights.items():
        ranks = table[metric].rank(method="average", ascending=metric not in higher_is_better)
        table[f"rank:{metric}"] = ranks
        score += weight * ranks.to_numpy()
    table["score"] = score / sum(weights.values())
    order = np.lexsort((-table.index.to_numpy(), table["score"].to_numpy()))  # score, then later epoch first
    return table.iloc[order]


def _with_derived(history: pd.DataFrame, derived: Mapping[str, Callable[[pd.DataFrame], Any]]) -> pd.DataFrame:
    """``history`` with the ``derived`` metrics added as columns (a new name each, one value per epoch)."""
    if not isinstance(derived, Mapping):
        raise InputError(f"derived must be a dict metric name -> function of the history, got {derived!r}")
    history = history.copy()
    for name, compute in derived.items():
        if not isinstance(name, str) or not callable(compute):
            raise InputError(f"derived must map metric names to functions of the history, got {name!r}: {compute!r}")
        if name in history.columns:
            raise InputError(f"the derived metric {name!r} is already recorded in the history: give it another name")
        try:
            result = compute(history)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"the derived metric {name!r} could not be computed: {err!r}") from err
        if isinstance(result, pd.Series):  # by epoch, in any order
            if set(result.index) != set(history.index):
                raise InputError(
                    f"the derived metric {name!r} is indexed by {list(result.index)}, the history by the epochs "
                    f"{list(history.index)}: give one value per epoch"
                )
            result = result.reindex(history.index)
        try:
            values = np.asarray(result, dtype=float)
        except (TypeError, ValueError) as err:
            raise InputError(f"the derived metric {name!r} is not numbers: {err}") from err
        if values.shape != (len(history),):
            raise InputError(
                f"the derived metric {name!r} has shape {values.shape}, not ({len(history)},): it must give one "
                "value per epoch (row) of the history"
            )
        history[name] = values
    return history


class EpochPicker(SliderWidget):
    """Pick the epoch of an EpochArchive: automatic rule, widget, and a manifest that makes it reproducible.

    Parameters
    ----------
    archive
        The training's archive (checkpoints and metric history).
    comparisons
        Function ``epoch -> sequence of Comparison`` drawn for the selected epoch.
    weights
        Metric name -> weight of the automatic rule (the metrics shown and ranked).
    higher_is_better
        Metrics for which larger is better.
    manifest
        JSON file of the saved choice; if it exists, it is the choice.
    candidates
        The checkpointed epochs the rule and the widget choose from (all with recorded metrics by default), e.g.
        those that pass a physical check the metrics do not make.
    derived
        Metric name -> function of the history (a DataFrame indexed by epoch) giving a metric made of recorded ones,
        e.g. the mean of two that share a unit; it is added to the history before the weights are checked, so it
        can be ranked, shown and saved like a recorded one.
    """

    #: Two output areas: the metric curves, and the metric table with the comparison plots.
    outputs: ClassVar[int] = 2

    def __init__(
        self,
        archive: EpochArchive,
        comparisons: Callable[[int], Sequence[Comparison]] | None = None,
        *,
        weights: Mapping[str, float],
        higher_is_better: Collection[str] = (),
        manifest: str | os.PathLike[str] | None = None,
        candidates: Collection[int] | None = None,
        derived: Mapping[str, Callable[[pd.DataFrame], Any]] | None = None,
    ) -> None:
        super().__init__()
        self.archive = archive
        self.comparisons = comparisons
        self.weights = _check_weights(weights)
        self.higher_is_better = _check_names(higher_is_better, "higher_is_better")
        self.manifest = Path(manifest) if manifest is not None else None
        if self.manifest is not None and self.manifest.is_dir():
            raise InputError(
                f"the manifest {self.manifest} is a folder: pass the path of a JSON file, e.g. "
                f"{self.manifest}/choice.json"
            )
        self._history = _with_derived(archive.history, derived or {})
        self.candidates = [e for e in archive.epochs if e in self._history.index]
        if not self.candidates:
            raise InputError(f"{archive.path} has no checkpointed epoch with recorded metrics: train first")
        if candidates is not None:
            chosen = (
                list(candidates) if isinstance(candidates, Collection) and not isinstance(candidates, str) else None
            )
            if not chosen or not all(is_whole_number(e) for e in chosen):
                raise InputError(
                    f"candidates must be a non-empty collection of epochs (integers), got {candidates!r}; choose "
                    f"among the checkpointed epochs with recorded metrics {self.candidates}"
                )
            unknown = [e for e in chosen if e not in self.candidates]
            if unknown:
                raise InputError(
                    f"candidates {unknown} are not checkpointed epochs with recorded metrics; choose among "
                    f"{self.candidates}"
                )
            self.candidates = [e for e in self.candidates if e in set(chosen)]
        self.ranking(self.weights)  # validate the metric names and weights now
        self._cache: dict[int, Sequence[Comparison]] = {}
        self._shown = self.candidates[-1]  # the epoch the widget shows (set from the choice when it is built)
        self._started: Choice | None = None

    # ------------------------------------------------------------------------------------------ the rule
    def ranking(self, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
        """The candidate epochs ranked by the automatic rule with ``weights`` (the current ones by default)."""
        return rank_epochs(
            self._history, weights or self.weights, candidates=self.candidates, higher_is_better=self.higher_is_better
        )

    def automatic(self, weights: Mapping[str, float] | None = None) -> Choice:
        """The automatic rule's choice."""
        weights = dict(weights or self.weights)
        epoch = int(self.ranking(weights).index[0])
        return self._choice(epoch, RULE, weights)

    def _choice(self, epoch: int, rule: str, weights: Mapping[str, float]) -> Choice:
        values = self._history.loc[epoch, list(weights)]
        return Choice(
            epoch,
            rule,
            dict(weights),
            sorted(self.higher_is_better),
            {k: float(v) for k, v in values.items()},
            self.archive.checksum(epoch),
        )

    @property
    def choice(self) -> Choice:
        """The saved choice if the manifest exists (after checking it belongs to this archive), otherwise the
        automatic one."""
        if self.manifest is not None and self.manifest.exists():
            saved = Choice.load(self.manifest)
            self._check_saved(saved)
            return saved
        return self.automatic()

    def _check_saved(self, saved: Choice) -> None:
        """Refuse a manifest that does not describe this archive's training."""
        fix = "delete the manifest to choose again, or pass manifest=None"
        if saved.epoch not in self.candidates:
            why = "is not among the candidates" if saved.epoch in self.archive.epochs else "has no checkpoint in"
            raise InputError(
                f"{self.manifest} chose epoch {saved.epoch}, which {why} this picker's epochs {self.candidates}; {fix}"
            )
        unknown = [
            m for m in [*saved.weights, *saved.higher_is_better, *saved.metrics] if m not in self._history.columns
        ]
        if unknown:
            raise InputError(
                f"{self.manifest} names metrics {unknown} that {self.archive.path} does not record: it "
                f"was saved for another archive; {fix}"
            )
        if saved.checkpoint_sha256 is not None and saved.checkpoint_sha256 != self.archive.checksum(saved.epoch):
            raise InputError(
                f"{self.manifest} was saved for another archive (or an earlier training in "
                f"{self.archive.path}): the checkpoint of epoch {saved.epoch} differs; {fix}"
            )
        if saved.checkpoint_sha256 is None and not saved.metrics:
            raise InputError(
                f"{self.manifest} records neither the checkpoint nor the metrics of epoch {saved.epoch}, "
                f"so it cannot be checked against {self.archive.path}; {fix}"
            )
        for metric, value in saved.metrics.items():
            recorded = float(self._history.loc[saved.epoch, metric])
            if not math.isclose(recorded, value, rel_tol=1e-9, abs_tol=1e-12):
                raise InputError(
                    f"{self.manifest} records {metric}={value:.6g} at epoch {saved.epoch}, but the "
                    f"history of {self.archive.path} says {recorded:.6g}: it was saved for another "
                    f"archive; {fix}"
                )

    @property
    def epoch(self) -> int:
        """The chosen epoch."""
        return self.choice.epoch

    def save(self, epoch: int | None = None, weights: Mapping[str, float] | None = None) -> Choice:
        """Write ``epoch`` (the automatic choice by default) to the manifest and return the choice."""
        if self.manifest is None:
            raise InputError("this picker has no manifest path: pass manifest='...json' to save the choice")
        if epoch is not None and not is_whole_number(epoch):
            raise InputError(f"epoch must be an integer, got {epoch!r}; choose one of {self.candidates}")
        weights = _check_weights(weights or self.weights)
        automatic = self.automatic(weights)
        if epoch is None or epoch == automatic.epoch:
            choice = automatic
        elif epoch in self.candidates:
            choice = self._choice(int(epoch), "manual", weights)
        else:
            raise InputError(
                f"epoch {epoch} is not a candidate (a checkpoint the rule may choose); choose one of {self.candidates}"
            )
        choice.save(self.manifest)
        return choice

    def comparisons_at(self, epoch: int) -> Sequence[Comparison]:
        """The comparisons of ``epoch`` (computed once, then cached)."""
        if self.comparisons is None:
            return []
        if epoch not in self._cache:
            self._cache[epoch] = self.comparisons(epoch)
        return self._cache[epoch]

    # ------------------------------------------------------------------------------------------ drawing
    def plot_metrics(self, epoch: int | None = None, fig: Figure | None = None) -> Figure:
        """Metric curves against epoch through the recorded values; checkpoints marked, the selected epoch as a
        vertical line."""
        metrics = list(self.weights)
        if fig is None:
            fig = plt.figure(figsize=(3.6 * len(metrics), 3.2), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(metrics)))
        for ax, metric in zip(axes, metrics):
            recorded = self._history[metric].dropna()  # a metric added later has values at the checkpoints only
            ax.plot(recorded.index, recorded, color="C0", lw=1)
            ax.plot(self.candidates, self._history.loc[self.candidates, metric], "o", color="C0", ms=3)
            if epoch is not None:
                ax.axvline(epoch, color="C3", lw=1.5)
            ax.set_xlabel("Epoch")
            ax.set_title(
                f"{metric} ({'higher' if metric in self.higher_is_better else 'lower'} is better)", fontsize="small"
            )
        return fig

    # ------------------------------------------------------------------------------------------ the widget
    def _start(self) -> int:
        self._started = self.choice
        return self._started.epoch

    def _make_slider(self, value: int) -> widgets.SelectionSlider:
        return widgets.SelectionSlider(
            options=self.candidates, value=value, description="Epoch", continuous_update=False
        )

    def _select(self, value: int) -> int:
        if value not in self.candidates:
            raise InputError(
                f"epoch {value} is not a candidate (a checkpoint the rule may choose); choose one of {self.candidates}"
            )
        self._shown = int(value)
        return self._shown

    def _panels(self) -> list[list[Any]]:
        epoch = self._shown
        values = self._history.loc[epoch, list(self.weights)]
        table = pd.DataFrame({"value": values}).T.rename(index={"value": f"epoch {epoch}"})
        return [[self.plot_metrics(epoch)], [table, *(c.plot() for c in self.comparisons_at(epoch))]]

    def _layout(self, slider: widgets.SelectionSlider, outputs: Sequence[widgets.Output]) -> widgets.Widget:
        """Weight sliders, the epoch slider and dropdown, "Save choice", then metric curves and comparison plots."""
        start = self._started or self.choice
        sliders = {
            m: widgets.FloatSlider(
                value=start.weights.get(m, w),
                min=0,
                max=5,
                step=0.25,
                description=m,
                style={"description_width": "initial"},
            )
            for m, w in self.weights.items()
        }
        dropdown = widgets.Dropdown(options=self.candidates, value=start.epoch, layout={"width": "120px"})
        widgets.link((slider, "value"), (dropdown, "value"))
        rule_label = widgets.HTML()
        saved = self.manifest is not None and self.manifest.exists()
        status = widgets.HTML(f"<i>Choice read from {self.manifest}</i>" if saved else "")
        save = widgets.Button(description="Save choice", icon="save", button_style="success")

        def current_weights() -> dict[str, float]:
            return {m: s.value for m, s in sliders.items()}

        def on_weights(_: Any) -> None:
            try:
                automatic = self.automatic(current_weights())
            except InputError as err:
                rule_label.value = f"<b style='color:#b00'>{err}</b>"
                return
            rule_label.value = f"Automatic rule (weighted rank): <b>epoch {automatic.epoch}</b>"
            slider.value = automatic.epoch

        def on_save(_: Any) -> None:
            try:
                choice = self.save(slider.value, current_weights())
            except InputError as err:
                status.value = f"<b style='color:#b00'>{err}</b>"
                return
            status.value = f"Saved epoch {choice.epoch} ({choice.rule}) to <code>{self.manifest}</code>"

        for s in sliders.values():
            s.observe(on_weights, names="value")
        save.on_click(on_save)
        rule_label.value = f"Automatic rule (weighted rank): <b>epoch {self.automatic(current_weights()).epoch}</b>"
        controls = widgets.VBox(
            [
                widgets.HTML("<b>Metric weights</b>"),
                *sliders.values(),
                rule_label,
                widgets.HBox([slider, dropdown, save]),
                status,
            ]
        )
        return widgets.VBox([controls, *outputs])
