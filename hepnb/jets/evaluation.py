"""Evaluation of the trained jet GANs as JetNet evaluates them: held-out jets, sampling, the metrics table, speed.

The study compares a generator's jets with real jets it never saw, next to two yardsticks computed the same way and
at the same sample size (Kansal et al., arXiv:2211.10295, whose "truth" rows are the first):

- **real vs real**, the floor: two disjoint halves of the held-out jets (what a perfect generator would get);
- **top vs QCD**, the scale: jets of the other class, a difference everybody can see.

The held-out jets are those ``hepnb train jets`` set aside (:func:`~hepnb.jets.datamodule.split_held_out` with
the ``seed`` and ``n_eval`` of the archive's ``training.json``), split into the **reference** that every row is
measured against and the floor's second half; generated and other-class samples have the reference's size.

The metrics (:mod:`hepnb.metrics.jetnet`) are quoted in JetNet's units (MPGAN, arXiv:2106.11535, table 1;
arXiv:2211.10295, table 3): W1M x 10^3, W1P x 10^3 (mean of eta_rel, phi_rel, pT_rel), W1EFP x 10^5,
FPD x 10^4, KPD x 10^4, COV and MMD (EMD, arXiv:1902.02346) as they are, and the held-out AUC of a Deep Sets
classifier. Every value comes with its error (spread over batches, the 1/N fit's error, or Hanley-McNeil).

Speed: jets per second of a generator on one CPU thread at batch 1 and at a large batch, beside Pythia 8 +
FastJet per core (:func:`hepnb.jets.generate_jets`, one worker), measured in the same run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hepnb.errors import InputError

__all__ = ["UNITS", "TrainingSetup", "training_setup", "held_out_jets", "split_reference", "load_generator",
           "sample_jets", "MetricSettings", "MetricValue", "MetricsRow", "compare", "metrics_table",
           "distance_summary", "GenerationSpeed", "model_speed", "pythia_speed", "speed_table", "jet_image",
           "multiplicity", "feature_comparisons", "per_n_comparisons", "plot_comparisons"]

UNITS = {"W1M": 1e3, "W1P": 1e3, "W1EFP": 1e5, "FPD": 1e4, "KPD": 1e4, "COV": 1.0, "MMD": 1.0, "AUC": 1.0}
"""Factor each metric is multiplied by in the table (JetNet's units; 1 for the unscaled ones)."""


@dataclass(frozen=True)
class TrainingSetup:
    """What ``training.json`` says about an archive's training: the model, its seed and held-out jets.

    Attributes
    ----------
    archive
        The archive folder.
    model
        ``"setgan"`` or ``"epic"``.
    seed, n_eval
        The training's seed and number of held-out jets (:func:`~hepnb.jets.datamodule.split_held_out`).
    dataset
        ``jet_class``, ``n_jets``, ``preset`` and ``seed`` of the training jets.
    data
        The dataset folder the training read.
    """

    archive: Path
    model: str
    seed: int
    n_eval: int
    dataset: Mapping[str, Any]
    data: str


def training_setup(archive: str | os.PathLike[str]) -> TrainingSetup:
    """Read the :class:`TrainingSetup` of the archive folder ``archive`` from its ``training.json``."""
    path = Path(archive) / "training.json"
    if not path.is_file():
        raise InputError(f"{archive} has no training.json, so its held-out jets are unknown: give the folder of an "
                         "archive made by `hepnb train jets` (a slim export needs the training.json copied next to it)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return TrainingSetup(Path(archive), str(record["config"]["model"]), int(record["config"]["seed"]),
                             int(record["config"]["n_eval"]), dict(record["dataset"]), str(record["data"]))
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path} is not a `hepnb train jets` record ({err!r}); train again") from None


def held_out_jets(data: Any, setups: TrainingSetup | Sequence[TrainingSetup]) -> np.ndarray:
    """The jets of dataset ``data`` (a folder or a :class:`~hepnb.jets.io.JetSample`) that every training of
    ``setups`` held out, JetNet clouds ``[N, P, 4]`` in dataset order: jets none of those models trained on.

    ``data`` must hold the trainings' jets (same class, seed, size and preset; a slimmed copy is fine).
    """
    from hepnb.jets.datamodule import split_held_out
    from hepnb.jets.io import JetSample, particle_features, read_jets

    setups = [setups] if isinstance(setups, TrainingSetup) else list(setups)
    if not setups:
        raise InputError("held_out_jets needs the TrainingSetup of at least one archive (training_setup(folder))")
    sample = data if isinstance(data, JetSample) else read_jets(data)
    found = {key: sample.meta[key] for key in ("jet_class", "seed", "n_jets")} | {"preset": sample.preset.name}
    held = np.arange(len(sample))
    for setup in setups:
        if found != dict(setup.dataset):
            raise InputError(f"{sample!r} holds {found}, but {setup.archive} was trained on {dict(setup.dataset)}: "
                             "give the training's dataset folder")
        held = np.intersect1d(held, split_held_out(len(sample), setup.n_eval, setup.seed)[1])
    if len(held) < 4:
        raise InputError(f"the archives {[str(s.archive) for s in setups]} share only {len(held)} held-out jets: "
                         "train them with the same --seed and --eval-jets")
    return particle_features(sample.jets[held], sample.preset.replace(representation="jetnet"))


def split_reference(held_out: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves ``(reference, floor)`` of the held-out clouds ``[N, P, 4]`` (``N // 2`` each)."""
    from hepnb.jets.datamodule import check_particles

    jets = check_particles(held_out, "held_out")
    if len(jets) < 4:
        raise InputError(f"need at least 4 held-out jets to split into two halves, got {len(jets)}")
    order, half = np.random.default_rng(seed).permutation(len(jets)), len(jets) // 2
    return jets[np.sort(order[:half])], jets[np.sort(order[half:2 * half])]


def load_generator(archive: str | os.PathLike[str], epoch: int | None = None) -> Any:
    """The jet GAN of ``epoch`` (default: the last) of an archive, in eval mode; slim exports load too."""
    from hepnb.training import EpochArchive

    store = EpochArchive(archive)
    if not store.exists:
        raise InputError(f"{archive} is not an epoch archive (no index.json): train one with `hepnb train jets`")
    if epoch is not None and epoch not in store.epochs:
        raise InputError(f"epoch {epoch!r} has no checkpoint in {archive}; checkpointed epochs: {store.epochs}")
    with warnings.catch_warnings():  # a slim export holds no discriminator: Lightning's note about it is expected
        warnings.filterwarnings("ignore", message="Found keys that are in the model state dict but not")
        model = store.load(epoch)
    if not callable(getattr(model, "generate", None)):
        raise InputError(f"{archive} holds a {type(model).__name__}, not a jet GAN")
    return model


def sample_jets(model: Any, n: int, *, seed: int = 0, batch_size: int = 4096) -> np.ndarray:
    """``n`` generated jets ``[n, P, 4]`` = (eta_rel, phi_rel, pT_rel, mask) in physical units (JetNet's format).

    ``model`` is a jet GAN or an archive folder (its last epoch); the same seed gives the same jets. Refuses a
    generator whose output is not finite (a diverged epoch).
    """
    if isinstance(model, (str, os.PathLike)):
        model = load_generator(model)
    if not callable(getattr(model, "generate", None)):
        raise InputError(f"model must be a jet GAN (SetGAN, EPiCGAN) or an archive folder, got {type(model).__name__}")
    jets = model.generate(n, seed=seed, batch_size=batch_size)
    if not np.isfinite(jets).all():
        raise InputError("the generator gives non-finite particles (a diverged epoch): choose another epoch")
    return jets


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
        for name in ("w1_batches", "fpd_batches", "kpd_batches", "cov_mmd_jets", "cov_mmd_batches",
                     "classifier_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
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


def compare(reference: Any, other: Any, label: str, settings: MetricSettings | None = None, *,
            threads: int = 1) -> MetricsRow:
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
                raw["FPD"] = jetnet.fpd(a, b, min_samples=max(n // 2, 2), max_samples=n, num_batches=s.fpd_batches,
                                        num_points=s.fpd_points, seed=s.seed)
            if "KPD" in s.metrics:
                raw["KPD"] = jetnet.kpd(a, b, num_batches=s.kpd_batches, batch_size=max(n // 2, 2), seed=s.seed)
        if "COV" in s.metrics or "MMD" in s.metrics:
            cov, mmd = jetnet.cov_mmd(real, generated, num_eval_samples=min(s.cov_mmd_jets, n),
                                      num_batches=s.cov_mmd_batches, seed=s.seed, progress=False)
            raw.update(COV=cov, MMD=mmd)
        if "AUC" in s.metrics:
            raw["AUC"] = jetnet.particle_classifier_test(real, generated, seed=s.seed, epochs=s.classifier_epochs,
                                                         n_threads=threads)
    values = tuple(MetricValue(m, float(raw[m].value) * UNITS[m], float(raw[m].error) * UNITS[m], UNITS[m])
                   for m in UNITS if m in s.metrics)
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
        rows[v.label] = {"model": d, "model error": v.error, "real vs real": df, "other class": ds,
                         "above floor": d / max(df, f.error) if max(df, f.error) > 0 else math.inf,
                         "of gap": (d - df) / (ds - df) if ds != df else math.inf,
                         "gap sigma": (ds - df) / gap_error if gap_error > 0 else math.nan}
    return pd.DataFrame(rows).T


# ------------------------------------------------------------------------------------------ speed
@dataclass(frozen=True)
class GenerationSpeed:
    """Jets made by ``generator`` in ``seconds`` on ``threads`` thread(s), ``batch_size`` per call (None: the
    simulator's own events per batch); ``setup_seconds`` of initialisation are not in ``seconds``."""

    generator: str
    batch_size: int | None
    n_jets: int
    seconds: float
    threads: int
    setup_seconds: float = 0.0

    @property
    def jets_per_second(self) -> float:
        """Jets per second on one core (the runs here use one thread)."""
        return self.n_jets / self.seconds


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def model_speed(model: Any, label: str, batch_sizes: Sequence[int] = (1, 10_000), *, n_single: int = 200,
                threads: int = 1, seed: int = 0) -> list[GenerationSpeed]:
    """Time :meth:`generate` (noise, networks, physical units) at each batch size on ``threads`` torch thread(s).

    Batch size b generates ``max(b, n_single)`` jets in calls of b (a warm-up call first); the thread count is
    restored afterwards.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"threads={threads!r} must be a whole number >= 1")
    if not batch_sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in batch_sizes):
        raise InputError(f"batch_sizes={batch_sizes!r} must be whole numbers >= 1")
    results = []
    with _torch_threads(threads):
        model.generate(2, seed=seed, batch_size=1)  # warm-up
        for batch in batch_sizes:
            n = max(batch, n_single)
            start = time.perf_counter()
            model.generate(n, seed=seed, batch_size=batch)
            results.append(GenerationSpeed(label, batch, n, time.perf_counter() - start, threads))
    return results


def pythia_speed(n_jets: int, *, jet_class: str = "top", preset: str = "jetnet", seed: int = 1) -> GenerationSpeed:
    """Jets per second of Pythia 8 + FastJet on one core: :func:`hepnb.jets.generate_jets` with one worker into a
    temporary folder (event generation, clustering, truth matching, writing), less one Pythia initialisation,
    timed separately and kept in ``setup_seconds`` (a long run pays it once)."""
    from hepnb.jets.generate import _pythia, generate_jets
    from hepnb.jets.presets import chunk_seed, get_preset

    start = time.perf_counter()
    _pythia(get_preset(preset).pythia_settings(jet_class, chunk_seed(seed, jet_class, 0)))
    setup = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="hepnb_pythia_speed_") as folder:
        run = generate_jets(Path(folder) / "jets", n_jets, preset=preset, jet_class=jet_class, seed=seed, workers=1,
                            chunk_jets=n_jets, progress=False)
    return GenerationSpeed(f"Pythia 8 + FastJet ({jet_class})", None, run.jets_made,
                           max(run.cpu_seconds - setup, 1e-9), 1, setup)


def speed_table(speeds: Sequence[GenerationSpeed]) -> pd.DataFrame:
    """Jets per second of each measurement and its ratio to the fastest Pythia 8 + FastJet one (conservative)."""
    simulator = [s.jets_per_second for s in speeds if s.batch_size is None]
    if not simulator:
        raise InputError("speed_table needs a Pythia 8 + FastJet measurement (pythia_speed) to compare with")
    rows = [{"generator": s.generator, "batch size": "-" if s.batch_size is None else s.batch_size,
             "jets": s.n_jets, "jets/s per core": s.jets_per_second, "x Pythia+FastJet":
             s.jets_per_second / max(simulator)} for s in speeds]
    return pd.DataFrame(rows).set_index(["generator", "batch size"])


# ------------------------------------------------------------------------------------------ figures
def jet_image(jets: Any, bins: int = 40, extent: float = 0.8) -> np.ndarray:
    """The mean jet image ``[bins, bins]``: pT_rel summed in (eta_rel, phi_rel) pixels within +-extent, / jets."""
    from hepnb.jets.datamodule import check_particles

    clouds = check_particles(jets, "jets")
    real = clouds[..., 3] == 1
    image, _, _ = np.histogram2d(clouds[..., 0][real], clouds[..., 1][real], bins=bins,
                                 range=[[-extent, extent]] * 2, weights=clouds[..., 2][real])
    return image / len(clouds)


def multiplicity(jets: Any) -> np.ndarray:
    """Real particles per jet, ``[N]`` int."""
    return np.asarray(jets)[..., 3].sum(axis=1).round().astype(int)


FEATURES = {"eta_rel": (0, r"$\eta^{rel}$", (-0.8, 0.8)), "phi_rel": (1, r"$\phi^{rel}$", (-0.8, 0.8)),
            "pt_rel": (2, r"$p_T^{rel}$", (0.0, 0.5))}


def feature_comparisons(reference: Any, others: Mapping[str, Any], *, n_bins: int = 40,
                        reference_label: str = "Real") -> dict[str, Any]:
    """:class:`~hepnb.hists.Comparison` of the thesis's distributions: n, eta_rel, phi_rel, pT_rel of all
    particles, and the relative jet mass m/pT (values beyond the range are counted in the edge bins); a comparison
    with fewer than two filled bins (n of top jets that all keep 30 particles) is left out."""
    from hepnb.hists import Comparison
    from hepnb.metrics.particle_clouds import jet_mass

    samples = {reference_label: np.asarray(reference), **{k: np.asarray(v) for k, v in others.items()}}
    p = samples[reference_label].shape[1]
    out = {"n": Comparison(multiplicity(reference), {k: multiplicity(v) for k, v in others.items()},
                           bins=np.arange(0.5, p + 1.5), reference_label=reference_label,
                           xlabel="Particles per jet $n$")}
    for name, (column, xlabel, (low, high)) in FEATURES.items():
        values = {k: np.clip(v[..., column][v[..., 3] == 1].astype(np.float64), low, high - 1e-9)
                  for k, v in samples.items()}
        out[name] = Comparison(values.pop(reference_label), values, bins=(n_bins, low, high),
                               reference_label=reference_label, xlabel=xlabel + " (all particles)")
    masses = {k: np.clip(jet_mass(v).astype(np.float64), 0.0, 0.3 - 1e-9) for k, v in samples.items()}
    out["mass"] = Comparison(masses.pop(reference_label), masses, bins=(n_bins, 0.0, 0.3),
                             reference_label=reference_label, xlabel="Relative jet mass $m/p_T$")
    return _drawable(out)


def _drawable(comparisons: dict[str, Any]) -> dict[str, Any]:
    """The comparisons with two filled bins or more (top jets nearly all keep 30 particles: one bin of n)."""
    out = {}
    for name, comparison in comparisons.items():
        with contextlib.suppress(InputError):
            out[name] = [comparison.chi2(label) for label in comparison.others] and comparison
    return out


def per_n_comparisons(reference: Any, others: Mapping[str, Any], feature: str, n_ranges: Sequence[tuple[int, int]],
                      *, n_bins: int = 30, reference_label: str = "Real") -> dict[str, Any]:
    """``feature`` (``"eta_rel"``, ``"phi_rel"`` or ``"pt_rel"``) of all particles of the jets with
    ``low <= n <= high``, per range (the thesis's per-size figures); empty ranges are left out."""
    from hepnb.hists import Comparison

    if feature not in FEATURES:
        raise InputError(f"feature={feature!r}: use one of {list(FEATURES)}")
    column, xlabel, (low, high) = FEATURES[feature]
    samples = {reference_label: np.asarray(reference), **{k: np.asarray(v) for k, v in others.items()}}
    out = {}
    for n_low, n_high in n_ranges:
        values = {}
        for k, v in samples.items():
            n = multiplicity(v)
            jets = v[(n >= n_low) & (n <= n_high)]
            values[k] = np.clip(jets[..., column][jets[..., 3] == 1].astype(np.float64), low, high - 1e-9)
        if all(len(x) > 0 for x in values.values()):
            out[f"{n_low} <= n <= {n_high}"] = Comparison(
                values.pop(reference_label), values, bins=(n_bins, low, high), reference_label=reference_label,
                xlabel=f"{xlabel}, ${n_low} \\leq n \\leq {n_high}$")
    return _drawable(out)


def plot_comparisons(comparisons: Mapping[str, Any], *, ncols: int = 3, title: str = "") -> Any:
    """A grid of compact overlays with ratio panels, one per comparison."""
    import matplotlib.pyplot as plt

    if not comparisons:
        raise InputError("nothing to plot: no comparison was given")
    nrows = math.ceil(len(comparisons) / ncols)
    fig = plt.figure(figsize=(4.2 * ncols, 3.6 * nrows), layout="constrained")
    grid = fig.add_gridspec(nrows, ncols)
    for k, comparison in enumerate(comparisons.values()):
        cell = grid[k // ncols, k % ncols].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
        ax = fig.add_subplot(cell[0])
        comparison.draw(ax, fig.add_subplot(cell[1], sharex=ax), compact=True)
    if title:
        fig.suptitle(title)
    return fig
