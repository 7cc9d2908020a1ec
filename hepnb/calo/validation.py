"""Validation of the calorimeter GAN at a chosen epoch (thesis §5.5; spec ``calorimeter_gan.md`` sections 6-8).

What the study notebook calls, in its order:

- `training_reference`: the held-out half of the training data, regenerated exactly (same seed, fraction and
  50/50 split as ``hepnb train calo``), optionally a per-energy subset, optionally cached;
- `generate_like`: one generated shower per reference shower, with the same conditions (E, p, e, d_eta, d_phi);
- `shower_variables` + `VariableComparisons`: every spec-6 variable per energy point as a `Comparison` (binning
  from the reference), the chi2/ndf table (variables x energy points) and the grids of ratio plots;
- `response_resolution` + `plot_response_resolution`: mean of sum/E_true and its relative width versus energy,
  with errors, for the reference and any number of models; `resolution_ratio` for the second-critic claim;
- `total_energy_comparison`: the 65.5 GeV total-energy histogram of the ablation (single vs double critic);
- `evaluate_energy_point`: interpolation (25 GeV) and extrapolation (524 GeV) checks;
- `layer_fraction_table`: E_layer/E_true in % next to the thesis's Fig. 5.19 numbers;
- `classifier_features`: per-shower features for `hepnb.metrics.generative.classifier_two_sample_test`;
- `plot_mean_images`, `plot_alignment_effects`, `alignment_comparisons`: the data inspection of the notebook.

Energies are in **MeV** (cells, true energies), as everywhere in `hepnb.calo`; plots show GeV where it reads better.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mplhep as mh
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from hepnb import style
from hepnb.calo import shower_shapes
from hepnb.calo.data import ShowerArrays, split_train_reference
from hepnb.calo.geometry import GEOMETRY, LAYERS
from hepnb.calo.simulate import Showers, standard_dataset
from hepnb.errors import InputError, as_finite_array
from hepnb.hists import Comparison

__all__ = [
    "THESIS_LAYER_FRACTIONS_65GEV",
    "ENERGY_65_MEV",
    "as_shower_arrays",
    "check_archive",
    "training_reference",
    "generate_like",
    "shower_variables",
    "variable_label",
    "VARIABLE_GROUPS",
    "reference_binning",
    "VariableComparisons",
    "response_resolution",
    "Ratio",
    "resolution_ratio",
    "plot_response_resolution",
    "resolution_by_epoch",
    "plot_resolution_by_epoch",
    "total_energy_comparison",
    "PointEvaluation",
    "evaluate_energy_point",
    "layer_fraction_table",
    "EPOCH_PICKING_VARIABLES",
    "classifier_features",
    "alignment_comparisons",
    "plot_mean_images",
    "plot_alignment_effects",
]

ENERGY_65_MEV = 65536.0
"""The thesis's "65.5 GeV" point, 2^16 MeV: second-critic figures, layer fractions and timing."""

THESIS_LAYER_FRACTIONS_65GEV: dict[str, tuple[float, float, float, float]] = {
    "Geant4 (thesis)": (0.7, 17.2, 79.3, 0.4),
    "first GAN (thesis)": (0.8, 19.8, 78.1, 0.5),
    "VAE (thesis)": (0.6, 19.1, 77.6, 0.6),
}
"""Mean E_layer / E_true in % (PS, Strips, Middle, Back) at 65 GeV, thesis Fig. 5.19 caption (section 5.5)."""


# --------------------------------------------------------------------------------------------------------------
# reference showers and generation


def as_shower_arrays(showers: Showers) -> ShowerArrays:
    """The simulator's `Showers` as checked `ShowerArrays` (MeV), negative cells clipped as for training."""
    return ShowerArrays.from_arrays(np.clip(showers.cells, 0.0, None), showers.energy, showers.p, showers.e,
                                    showers.delta_eta, showers.delta_phi)


def check_archive(path: str | os.PathLike[str], *, fraction: float, seed: int) -> str:
    """Check that ``path`` holds a calorimeter-GAN archive trained on ``standard_dataset(fraction, seed)``.

    Raises `InputError` with the command that makes the archive when the folder or its index is missing, and when
    the ``training.json`` recorded next to the checkpoints names another fraction or seed (the regenerated reference
    would then not be the training's held-out half). Returns a one-line description.
    """
    import json

    folder = Path(path)
    if not (folder / "index.json").is_file():
        raise InputError(
            f"no epoch archive at {folder}: train one with `hepnb train calo --output {folder} --seed {seed} "
            f"--fraction {fraction:g}` (add --single-critic for the ablation), or set RETRAIN = True, or point the "
            "ARCHIVE parameters at an existing archive"
        )
    record_path = folder / "training.json"
    if not record_path.is_file():
        return f"{folder}: no training.json, assuming fraction {fraction:g} and seed {seed}"
    record = json.loads(record_path.read_text())
    config = record.get("config", {})
    if float(config.get("fraction", fraction)) != float(fraction) or int(config.get("seed", seed)) != int(seed):
        raise InputError(
            f"{folder} was trained with fraction {config.get('fraction')} and seed {config.get('seed')}, not "
            f"{fraction:g} and {seed}: set the data parameters to the training's so that the reference is its "
            "held-out half"
        )
    critic = "double" if config.get("double_critic", True) else "single"
    hardware = record.get("hardware", {})
    return (f"{folder}: {critic} critic, {record.get('epochs_done')} epochs on {record.get('training_showers')} "
            f"showers in {record.get('wall_seconds', 0) / 3600:.1f} h ({hardware.get('cpu')}, "
            f"{hardware.get('torch_threads')} torch threads); command: {record.get('command')}")


def _simulator_digest() -> str:
    """Checksum of the simulator's source: a cached reference is stale when the simulator changed."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in ("simulate.py", "geometry.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def training_reference(
    fraction: float = 1.0,
    seed: int = 1,
    *,
    per_energy: int | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> ShowerArrays:
    """The held-out reference half of a ``hepnb train calo`` training, regenerated exactly.

    The training simulated ``standard_dataset(fraction, seed)`` and split it 50/50 with ``seed``
    (`hepnb.calo.data.CaloDataModule`, which calls `split_train_reference`); this returns the other half, in MeV.

    Parameters
    ----------
    fraction, seed
        The training's ``--fraction`` and ``--seed`` (``training.json`` of the archive records them).
    per_energy
        Keep at most this many reference showers per energy point (a seeded random subset, in order); all by default.
    cache
        Optional ``.npz`` file: read if it was written for the same fraction, seed and simulator source, otherwise
        simulated and written there (the full reference half, before ``per_energy``).
    progress
        Progress bar of the simulation.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if per_energy is not None and per_energy < 1:
        raise InputError(f"per_energy={per_energy} must be a positive number of showers (or None for all)")
    key = f"fraction={float(fraction)!r};seed={int(seed)};simulator={_simulator_digest()}"
    reference: ShowerArrays | None = None
    if cache is not None and Path(cache).is_file():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                if "key" in stored.files and str(stored["key"]) == key:
                    reference = ShowerArrays.from_arrays(*(stored[n] for n in ("cells", "energy", "p", "e", "deta",
                                                                                 "dphi")))
        except (OSError, ValueError, EOFError, KeyError):  # a damaged cache is simulated again and replaced
            reference = None
    if reference is None:
        showers = standard_dataset(fraction, seed=int(seed), progress=progress)
        _, reference_index = split_train_reference(len(showers), int(seed))
        reference = as_shower_arrays(showers.subset(reference_index))
        del showers
        if cache is not None:
            from hepnb.io import atomic_write

            with atomic_write(cache, "wb") as handle:
                # the simulator's cells are float32: storing them as float32 loses nothing
                np.savez(handle, key=np.array(key), cells=reference.cells.astype(np.float32),
                         energy=reference.energy, p=reference.p, e=reference.e, deta=reference.deta,
                         dphi=reference.dphi)
    if per_energy is not None:
        rng = np.random.default_rng(int(seed))
        keep = []
        for energy in np.unique(reference.energy):
            rows = np.flatnonzero(reference.energy == energy)
            keep.append(rows if len(rows) <= per_energy else np.sort(rng.choice(rows, per_energy, replace=False)))
        reference = reference.subset(np.sort(np.concatenate(keep)))
    return reference


_TO_MEV = {"MeV": 1.0, "GeV": 1000.0}


def generate_like(model: Any, reference: ShowerArrays, *, seed: int, batch_size: int = 8192,
                  extrapolate: bool = False) -> np.ndarray:
    """One generated shower per reference shower, same conditions: cells ``[N, 266]`` in MeV (float64).

    ``model`` is a `hepnb.calo.gan.CaloGAN` (e.g. ``EpochArchive.load(epoch)``); its units are converted.
    ``extrapolate=True`` allows energies outside the model's trained range (`CaloGAN.generate`).
    """
    if not hasattr(model, "generate") or not hasattr(model, "preprocessing"):
        raise InputError(f"model must be a CaloGAN (with .generate and .preprocessing), got {type(model).__name__}")
    units = model.preprocessing
    energy = reference.energy / _TO_MEV[units.energy_unit]
    cells = model.generate(energy, reference.p, reference.e, reference.deta, reference.dphi, seed=seed,
                           batch_size=batch_size, extrapolate=extrapolate)
    return cells * _TO_MEV[units.cell_unit]


# --------------------------------------------------------------------------------------------------------------
# per-shower variables

_ALIASES = ("f1", "f3")  # identical to frac_strips and frac_back (the Athena names of the cell-level fractions)
_LAYER_TEXT = {"presampler": "PS", "strips": "Strips", "middle": "Middle", "back": "Back"}
_ENERGY_VARIABLES = ("e_total", "e_presampler", "e_strips", "e_middle", "e_back", "emaxs1", "e2tsts1",
                     "e2tsts1_thesis", "emins1", "delta_e", "ecore")

VARIABLE_GROUPS: dict[str, tuple[str, ...]] = {
    "energies": ("response", "e_total", "e_presampler", "e_strips", "e_middle", "e_back", "frac_presampler",
                 "frac_strips", "frac_middle", "frac_back", "ecore"),
    "eta moments": tuple(f"{kind}_{lay.name}" for kind in ("eta_mean", "eta_width", "delta_eta") for lay in LAYERS),
    "phi moments": tuple(f"{kind}_{lay.name}" for kind in ("phi_mean", "phi_width", "delta_phi") for lay in LAYERS),
    "inter-layer": tuple(f"{axis}_mean_middle_minus_{name}" for axis in ("eta", "phi")
                         for name in ("presampler", "strips", "back")),
    "middle and strips (reconstruction)": ("reta", "reta_thesis", "rphi", "weta2", "weta1", "wstot1", "emaxs1",
                                           "e2tsts1", "e2tsts1_thesis", "emins1", "eratio", "delta_e", "fracs1",
                                           "fracs1_thesis"),
}
"""Every per-shower variable of thesis sections 5.5.2-5.5.4, in groups of one plot grid each."""


def shower_variables(cells: Any, showers: ShowerArrays) -> pd.DataFrame:
    """Every per-shower variable of thesis 5.5.2-5.5.4 (`shower_shapes.compute_all`) for ``cells`` with the conditions
    of ``showers``: a ``[N, n_variables]`` table (energies in MeV; ``f1``/``f3`` are left out, being
    ``frac_strips``/``frac_back``).
    """
    arr = as_finite_array(cells, "cells", ndim=2)
    if arr.shape != showers.cells.shape:
        raise InputError(f"cells have shape {arr.shape}, the showers {showers.cells.shape}: one row per shower")
    values = shower_shapes.compute_all(arr, showers.p, showers.e, showers.deta, showers.dphi, showers.energy)
    order = [name for group in VARIABLE_GROUPS.values() for name in group]
    missing = set(values) - set(order) - set(_ALIASES)
    return pd.DataFrame({name: values[name] for name in order + sorted(missing)})


def variable_label(name: str) -> str:
    """Axis title with unit for a variable of `shower_variables`."""
    fixed = {
        "response": r"$\sum E_{cell} / E_{true}$",
        "e_total": style.axis_label(r"$\sum E_{cell}$", "MeV"),
        "ecore": style.axis_label(r"$E_{core}$", "MeV"),
        "reta": r"$R_\eta$ = E(3$\times$7)/E(7$\times$7)",
        "reta_thesis": r"$R_\eta^{thesis}$ = E(3$\times$3)/E(7$\times$7)",
        "rphi": r"$R_\phi$ = E(3$\times$3)/E(3$\times$7)",
        "weta2": r"$w_{\eta 2}$",
        "weta1": style.axis_label(r"$w_{\eta 1}$ ($\pm$3 strips)", "strips"),
        "wstot1": style.axis_label(r"$w_{s,tot}$", "strips"),
        "emaxs1": style.axis_label(r"$E_{max,s1}$", "MeV"),
        "e2tsts1": style.axis_label(r"$E_{2nd\,max,s1}$", "MeV"),
        "e2tsts1_thesis": style.axis_label(r"$E_{2nd\,max,s1}$ (3 strips)", "MeV"),
        "emins1": style.axis_label(r"$E_{min,s1}$", "MeV"),
        "eratio": r"$E_{ratio}$",
        "delta_e": style.axis_label(r"$\Delta E$", "MeV"),
        "fracs1": r"$f_{side}$",
        "fracs1_thesis": r"$f_{side}^{thesis}$ = E(7)/E(3)",
    }
    if name in fixed:
        return fixed[name]
    for layer, text in _LAYER_TEXT.items():
        if name.endswith(f"_minus_{layer}"):
            axis = "\\eta" if name.startswith("eta") else "\\phi"
            return f"$\\langle{axis}\\rangle_{{Middle}} - \\langle{axis}\\rangle_{{{text}}}$"
        if name.endswith(f"_{layer}"):
            kind = name[: -len(layer) - 1]
            return {
                "e": style.axis_label(f"$E_{{{text}}}$", "MeV"),
                "frac": f"$E_{{{text}}} / \\sum E$",
                "eta_mean": f"$\\langle\\eta\\rangle_{{{text}}}$",
                "phi_mean": f"$\\langle\\phi\\rangle_{{{text}}}$",
                "eta_width": f"$\\sigma_{{\\eta,{text}}}$",
                "phi_width": f"$\\sigma_{{\\phi,{text}}}$",
                "delta_eta": f"$\\langle\\eta\\rangle_{{{text}}} - \\eta_{{impact}}$",
                "delta_phi": f"$\\langle\\phi\\rangle_{{{text}}} - \\phi_{{impact}}$",
            }.get(kind, name)
    return name


def reference_binning(values: Any, n_bins: int = 40, *, widen: float = 0.1) -> tuple[int, float, float]:
    """``(n_bins, low, high)`` covering the 0.5-99.5 % quantiles of the reference ``values``, widened by
    ``widen`` of that span on each side (a single value gets a small window around it).
    """
    x = as_finite_array(values, "values", ndim=1)
    if len(x) == 0:
        raise InputError("no reference values to take a binning from")
    if n_bins < 1:
        raise InputError(f"n_bins={n_bins} must be positive")
    lo, hi = (float(q) for q in np.quantile(x, [0.005, 0.995]))
    if hi <= lo:
        lo, hi = float(x.min()), float(x.max())
    pad = widen * (hi - lo) if hi > lo else max(abs(lo) * 0.05, 1e-6)
    return int(n_bins), lo - pad, hi + pad


def _folded(values: np.ndarray, binning: tuple[int, float, float]) -> np.ndarray:
    """Values outside the binning moved into the edge bins (so nothing generated is silently dropped)."""
    _, lo, hi = binning
    return np.clip(values, lo, np.nextafter(hi, lo))


def _gev(energy_mev: float) -> float:
    return round(float(energy_mev) / 1000.0, 3)


class VariableComparisons:
    """Every variable at every energy point: a `Comparison` of the reference with the generated samples.

    Parameters
    ----------
    reference
        `shower_variables` of the reference showers.
    generated
        Label -> `shower_variables` of generated showers, one per reference shower (same conditions).
    energy
        ``[N]`` true energy of the reference showers (MeV); every distinct value is an energy point.
    n_bins
        Bins per histogram; the range comes from the reference at that energy point (`reference_binning`), and
        values outside it are folded into the edge bins.
    variables
        Variables to compare (default: all columns of ``reference``).
    reference_label
        Name of the reference in tables and legends.
    """

    def __init__(
        self,
        reference: pd.DataFrame,
        generated: Mapping[str, pd.DataFrame],
        energy: Any,
        *,
        n_bins: int = 40,
        variables: Sequence[str] | None = None,
        reference_label: str = "Reference",
    ) -> None:
        energy = as_finite_array(energy, "energy", ndim=1)
        if len(energy) != len(reference):
            raise InputError(f"{len(energy)} energies for {len(reference)} reference showers")
        if not generated:
            raise InputError("give at least one generated sample to compare with the reference")
        variables = list(variables if variables is not None else reference.columns)
        unknown = [v for v in variables if v not in reference.columns]
        if unknown:
            raise InputError(f"unknown variables {unknown}; known: {list(reference.columns)}")
        for label, table in generated.items():
            if len(table) != len(reference):
                raise InputError(f"{label!r} has {len(table)} showers, the reference {len(reference)}: generate one "
                                 "shower per reference shower (generate_like)")
            missing = [v for v in variables if v not in table.columns]
            if missing:
                raise InputError(f"{label!r} lacks the variables {missing}")
        self.variables = variables
        self.labels = list(generated)
        self.reference_label = reference_label
        self.energies = [float(e) for e in np.unique(energy)]
        self.n_bins = n_bins
        self.comparisons: dict[tuple[str, float], Comparison] = {}
        for point in self.energies:
            at = energy == point
            for name in variables:
                ref = reference[name].to_numpy()[at]
                binning = reference_binning(ref, n_bins)
                others = {label: _folded(table[name].to_numpy()[at], binning) for label, table in generated.items()}
                self.comparisons[(name, point)] = Comparison(
                    _folded(ref, binning), others, bins=binning, reference_label=reference_label,
                    xlabel=variable_label(name), title=f"$E_{{true}}$ = {_gev(point):g} GeV",
                )

    def comparison(self, variable: str, energy: float) -> Comparison:
        """The `Comparison` of ``variable`` at the energy point ``energy`` (MeV)."""
        key = (variable, float(energy))
        if key not in self.comparisons:
            raise InputError(f"no comparison for {variable!r} at {energy} MeV; energies: {self.energies}, "
                             f"variables: {self.variables}")
        return self.comparisons[key]

    def chi2_table(self, label: str | None = None) -> pd.DataFrame:
        """chi2/ndf of ``label`` (the only generated sample by default): variables x energy points (GeV)."""
        if label is None:
            if len(self.labels) > 1:
                raise InputError(f"several generated samples: name one of {self.labels}")
            label = self.labels[0]
        if label not in self.labels:
            raise InputError(f"no generated sample {label!r}; samples: {self.labels}")
        data = {
            _gev(point): [self.comparisons[(name, point)].chi2(label).reduced for name in self.variables]
            for point in self.energies
        }
        table = pd.DataFrame(data, index=pd.Index(self.variables, name="variable"))
        table.columns.name = "E_true [GeV]"
        return table

    def summary(self) -> pd.DataFrame:
        """Median chi2/ndf over the variables, per energy point (columns) and generated sample (rows)."""
        return pd.DataFrame({label: self.chi2_table(label).median() for label in self.labels}).T

    def plot(self, energy: float, variables: Sequence[str] | None = None, *, ncols: int = 4,
             panel_size: tuple[float, float] = (4.4, 4.0)) -> Figure:
        """Grid of normalised overlays with ratio panels at the energy point ``energy`` (MeV), one per variable.

        Each panel is what `Comparison.plot` draws (statistical band of the reference, chi2/ndf in the legend),
        compacted to fit many on one figure.
        """
        names = list(variables if variables is not None else self.variables)
        if not names:
            raise InputError("no variable to plot")
        comparisons = [self.comparison(name, energy) for name in names]
        nrows = -(-len(names) // ncols)
        fig = plt.figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
        outer = fig.add_gridspec(nrows, ncols)
        for k, comparison in enumerate(comparisons):
            inner = outer[k // ncols, k % ncols].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
            ax = fig.add_subplot(inner[0])
            rax = fig.add_subplot(inner[1], sharex=ax)
            comparison.draw(ax, rax, compact=True)
            rax.ticklabel_format(axis="x", style="sci", scilimits=(-4, 5), useOffset=False)  # MeV, no x10^4
            rax.xaxis.get_offset_text().set(x=0.0, horizontalalignment="left")  # x10^5 not under the axis title
        fig.suptitle(f"$E_{{true}}$ = {_gev(energy):g} GeV")
        return style.legend_headroom(fig)  # the legends above the curves, not on them


# --------------------------------------------------------------------------------------------------------------
# response and resolution


def _std_error(values: np.ndarray) -> float:
    """Standard error of the sample standard deviation, from the fourth central moment (no Gaussian assumption)."""
    n = len(values)
    if n < 4:
        return float("nan")
    centred = values - values.mean()
    m2 = np.mean(centred**2)
    m4 = np.mean(centred**4)
    var_s2 = max((m4 - m2**2 * (n - 3) / (n - 1)) / n, 0.0)
    return float(np.sqrt(var_s2) / (2 * np.sqrt(m2))) if m2 > 0 else 0.0


def response_resolution(energy: Any, samples: Mapping[str, Any]) -> pd.DataFrame:
    """Response (mean of sum/E_true) and resolution (its std / mean) per energy point and sample, with errors.

    Parameters
    ----------
    energy
        ``[N]`` true energies in MeV.
    samples
        Label -> cells ``[N, 266]`` in MeV (the reference and the generated ones, same conditions), or label ->
        ``[N]`` responses.

    Returns
    -------
    pandas.DataFrame
        Index ``(sample, energy_gev)``; columns ``n``, ``response``, ``response_error``, ``width`` (std of the
        response), ``width_error``, ``resolution`` (width / response) and ``resolution_error``. The std's error
        uses the fourth moment; the resolution's error combines both (their correlation is neglected).
    """
    e_true = as_finite_array(energy, "energy", ndim=1)
    if np.any(e_true <= 0):
        raise InputError("true energies must be positive (MeV)")
    if not samples:
        raise InputError("give at least one sample")
    rows = []
    for label, values in samples.items():
        arr = as_finite_array(values, f"sample {label!r}")
        response = arr.sum(axis=1) / e_true if arr.ndim == 2 else arr
        if response.shape != e_true.shape:
            raise InputError(f"sample {label!r} has {len(response)} showers for {len(e_true)} energies")
        for point in np.unique(e_true):
            r = response[e_true == point]
            n = len(r)
            mean = float(r.mean())
            width = float(r.std(ddof=1)) if n > 1 else float("nan")
            width_error = _std_error(r)
            mean_error = width / np.sqrt(n) if n > 1 else float("nan")
            resolution = width / mean if mean != 0 else float("nan")
            resolution_error = abs(resolution) * float(np.hypot(width_error / width if width > 0 else 0.0,
                                                                mean_error / mean if mean != 0 else 0.0))
            rows.append({"sample": label, "energy_gev": _gev(point), "n": n, "response": mean,
                         "response_error": mean_error, "width": width, "width_error": width_error,
                         "resolution": resolution, "resolution_error": resolution_error})
    return pd.DataFrame(rows).set_index(["sample", "energy_gev"])


@dataclass(frozen=True)
class Ratio:
    """A ratio with its error, e.g. a generated resolution over the reference one."""

    value: float
    error: float
    what: str

    @property
    def deviation(self) -> float:
        """|value - 1|: the relative disagreement."""
        return abs(self.value - 1.0)


def resolution_ratio(table: pd.DataFrame, sample: str, energy_gev: float = _gev(ENERGY_65_MEV), *,
                     reference: str = "Reference", quantity: str = "resolution") -> Ratio:
    """``quantity`` (``resolution``, ``width`` or ``response``) of ``sample`` over the reference's at one energy
    point of a `response_resolution` table, with the errors of both combined.
    """
    if quantity not in ("resolution", "width", "response"):
        raise InputError(f"quantity={quantity!r} must be 'resolution', 'width' or 'response'")
    samples = table.index.get_level_values("sample").unique().tolist()
    for name in (sample, reference):
        if name not in samples:
            raise InputError(f"no sample {name!r} in the table; samples: {samples}")
    energies = table.loc[reference].index.tolist()
    match = [e for e in energies if abs(e - energy_gev) < 1e-3 * max(1.0, energy_gev)]
    if not match:
        raise InputError(f"no energy point {energy_gev} GeV in the table; points: {energies}")
    a = table.loc[(sample, match[0])]
    b = table.loc[(reference, match[0])]
    value = a[quantity] / b[quantity]
    error = abs(value) * np.hypot(a[f"{quantity}_error"] / a[quantity], b[f"{quantity}_error"] / b[quantity])
    return Ratio(float(value), float(error), f"{quantity} of {sample} / {reference} at {match[0]:g} GeV")


def plot_response_resolution(table: pd.DataFrame, *, reference: str = "Reference",
                             fig: Figure | None = None) -> Figure:
    """Response and resolution versus true energy for every sample of a `response_resolution` table, each with a
    ratio panel to the reference.
    """
    samples = table.index.get_level_values("sample").unique().tolist()
    if reference not in samples:
        raise InputError(f"no reference sample {reference!r} in the table; samples: {samples}")
    if fig is None:
        fig = plt.figure(figsize=(13, 6.5))
    axes = fig.subplots(2, 2, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.06, "wspace": 0.28})
    ref = table.loc[reference]
    energies = ref.index.to_numpy()
    for col, (quantity, ylabel) in enumerate((("response", r"Response $\langle\sum E_{cell}/E_{true}\rangle$"),
                                              ("resolution", r"Resolution $\sigma/\langle\sum E/E_{true}\rangle$"))):
        ax, rax = axes[0, col], axes[1, col]
        order = [reference] + [s for s in samples if s != reference]
        for i, label in enumerate(order):
            rows = table.loc[label].reindex(energies)
            shift = 1.0 + 0.025 * (i - (len(order) - 1) / 2)  # small offsets so the error bars do not overlap
            colour = "black" if label == reference else f"C{i - 1}"
            ax.errorbar(energies * shift, rows[quantity], yerr=rows[f"{quantity}_error"], fmt="o",
                        color=colour, ms=4, label=label, capsize=2)
            ratio = rows[quantity] / ref[quantity]
            ratio_error = ratio * np.hypot(rows[f"{quantity}_error"] / rows[quantity],
                                           ref[f"{quantity}_error"] / ref[quantity])
            if label == reference:
                rax.fill_between(energies, 1 - ratio_error, 1 + ratio_error, color="black", alpha=0.15, lw=0)
            else:
                rax.errorbar(energies * shift, ratio, yerr=ratio_error, fmt="o", color=colour, ms=4, capsize=2)
        rax.axhline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(energies.min() / 1.5, energies.max() * 1.5)
        ax.set_ylabel(ylabel)
        rax.set_xlabel(style.axis_label("$E_{true}$", "GeV"))
        rax.set_ylabel(f"Ratio to\n{reference}" if len(reference) < 12 else "Ratio")
        ratios = [table.loc[s, quantity].reindex(energies).to_numpy() / ref[quantity].to_numpy() for s in samples]
        finite = np.concatenate(ratios)
        finite = finite[np.isfinite(finite)]
        margin = 0.05 if quantity == "response" else 0.2
        rax.set_ylim(max(0.0, min(1 - margin, finite.min() - margin / 2)), max(1 + margin, finite.max() + margin / 2))
        if quantity == "resolution":
            ax.set_yscale("log")
        ax.legend(loc="best", fontsize="small")
        style.experiment_label(ax, text="Simulation", com=None)
    return fig


def resolution_by_epoch(archives: Mapping[str, Any], reference: ShowerArrays, *,
                        energy_gev: float = _gev(ENERGY_65_MEV), seed: int = 0) -> pd.DataFrame:
    """Generated over reference resolution at one energy point, for every loadable checkpoint of each archive.

    ``archives`` maps a label to a `hepnb.training.EpochArchive` of a `hepnb.calo.gan.CaloGAN`. Only the reference
    showers at ``energy_gev`` are generated (one per shower, same conditions, ``seed``). Returns a frame indexed
    by (label, epoch) with the columns ``ratio`` and ``error`` (as `resolution_ratio`).
    """
    at = np.isclose(reference.energy, energy_gev * 1000.0, rtol=1e-6)
    if at.sum() < 2:
        points = sorted({_gev(e) for e in np.unique(reference.energy)})
        raise InputError(f"no reference showers at {energy_gev} GeV; energy points: {points}")
    showers = reference.subset(at)
    rows = {}
    for label, archive in archives.items():
        for epoch in archive.loadable_epochs():
            generated = generate_like(archive.load(epoch), showers, seed=seed)
            table = response_resolution(showers.energy, {"Reference": showers.cells, label: generated})
            ratio = resolution_ratio(table, label, energy_gev)
            rows[label, epoch] = {"ratio": ratio.value, "error": ratio.error}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["sample", "epoch"])
    return out


def plot_resolution_by_epoch(table: pd.DataFrame, *, tolerance: float | None = None,
                             chosen: Mapping[str, int] | None = None, energy_gev: float = _gev(ENERGY_65_MEV),
                             ax: Any | None = None) -> Figure:
    """The `resolution_by_epoch` ratios against epoch, one curve per sample, with the ``1 +- tolerance`` band and
    the ``chosen`` epoch of each sample marked.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4.5))
    else:
        fig = ax.figure
    chosen = dict(chosen or {})
    for i, label in enumerate(table.index.get_level_values("sample").unique()):
        rows = table.loc[label]
        ax.errorbar(rows.index, rows["ratio"], yerr=rows["error"], fmt="o-", ms=4, color=f"C{i}", label=label)
        if label in chosen and chosen[label] in rows.index:
            ax.plot(chosen[label], rows.loc[chosen[label], "ratio"], "*", ms=16, color=f"C{i}", mec="black",
                    label=f"{label}: chosen epoch {chosen[label]}")
    if tolerance is not None:
        ax.axhspan(1 - tolerance, 1 + tolerance, color="0.85", zorder=0, label=f"within {tolerance:.0%}")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(rf"$\sigma_{{GAN}}/\sigma_{{ref}}$ at {energy_gev:g} GeV")
    ax.legend(fontsize="small", loc="upper right")
    style.experiment_label(ax, text="Simulation", com=None)
    return fig


def total_energy_comparison(energy: Any, samples: Mapping[str, Any], *, reference: str = "Reference",
                            at_mev: float = ENERGY_65_MEV, n_bins: int = 50) -> Comparison:
    """Histogram of sum(cells) in GeV at one energy point for the reference and the models (the ablation plot).

    The range covers the 0.5-99.5 % quantiles of *every* sample (a too wide model stays visible); values outside
    are folded into the edge bins.
    """
    e_true = as_finite_array(energy, "energy", ndim=1)
    at = np.isclose(e_true, at_mev)
    if not at.any():
        raise InputError(f"no shower at {at_mev} MeV; energy points: {np.unique(e_true).tolist()}")
    if reference not in samples:
        raise InputError(f"no reference sample {reference!r}; samples: {list(samples)}")
    totals = {}
    for label, cells in samples.items():
        arr = as_finite_array(cells, f"sample {label!r}", ndim=2)
        if len(arr) != len(e_true):
            raise InputError(f"sample {label!r} has {len(arr)} showers for {len(e_true)} energies")
        totals[label] = arr[at].sum(axis=1) / 1000.0
    lo = min(float(np.quantile(t, 0.005)) for t in totals.values())
    hi = max(float(np.quantile(t, 0.995)) for t in totals.values())
    pad = 0.05 * (hi - lo) if hi > lo else 1e-3
    binning = (n_bins, lo - pad, hi + pad)
    return Comparison(
        _folded(totals[reference], binning),
        {label: _folded(t, binning) for label, t in totals.items() if label != reference},
        bins=binning, reference_label=reference, xlabel=style.axis_label(r"$\sum E_{cell}$", "GeV"),
        title=f"$E_{{true}}$ = {_gev(at_mev):g} GeV",
    )


@dataclass(frozen=True)
class PointEvaluation:
    """Validation at one (untrained) energy point: variables, response/resolution and the total energy."""

    energy_mev: float
    variables: VariableComparisons
    response: pd.DataFrame
    total_energy: Comparison


def evaluate_energy_point(models: Mapping[str, Any], showers: ShowerArrays, *, seed: int,
                          n_bins: int = 40, reference_label: str = "Reference") -> PointEvaluation:
    """Generate like ``showers`` (one energy point, e.g. 25 or 524 GeV) with every model and compare.

    Parameters
    ----------
    models
        Label -> CaloGAN.
    showers
        Simulated reference showers at a single energy (`as_shower_arrays(interpolation_dataset(...))`).
    seed
        Seed of the generated latent vectors.
    """
    points = np.unique(showers.energy)
    if len(points) != 1:
        raise InputError(f"evaluate_energy_point takes showers of one energy, got {len(points)} energies")
    # the point may lie outside the trained energies on purpose (the 524 GeV extrapolation test)
    generated = {label: generate_like(model, showers, seed=seed, extrapolate=True) for label, model in models.items()}
    reference_vars = shower_variables(showers.cells, showers)
    variables = VariableComparisons(reference_vars, {k: shower_variables(v, showers) for k, v in generated.items()},
                                    showers.energy, n_bins=n_bins, reference_label=reference_label)
    cells = {reference_label: showers.cells, **generated}
    return PointEvaluation(float(points[0]), variables, response_resolution(showers.energy, cells),
                           total_energy_comparison(showers.energy, cells, reference=reference_label,
                                                   at_mev=float(points[0])))


def layer_fraction_table(energy: Any, samples: Mapping[str, Any], *, at_mev: float = ENERGY_65_MEV,
                         include_thesis: bool = True) -> pd.DataFrame:
    """Mean E_layer / E_true in % at one energy point (rows: samples; columns: PS, Strips, Middle, Back, sum),
    followed by the thesis's Fig. 5.19 numbers at 65 GeV (when ``include_thesis`` and ``at_mev`` is 65.5 GeV).
    """
    e_true = as_finite_array(energy, "energy", ndim=1)
    at = np.isclose(e_true, at_mev)
    if not at.any():
        raise InputError(f"no shower at {at_mev} MeV; energy points: {np.unique(e_true).tolist()}")
    rows = {}
    for label, cells in samples.items():
        arr = as_finite_array(cells, f"sample {label!r}", ndim=2)
        if len(arr) != len(e_true):
            raise InputError(f"sample {label!r} has {len(arr)} showers for {len(e_true)} energies")
        rows[label] = 100.0 * shower_shapes.layer_fractions(arr[at], e_true[at]).mean(axis=0)
    if include_thesis and np.isclose(at_mev, ENERGY_65_MEV):
        rows.update({k: np.array(v) for k, v in THESIS_LAYER_FRACTIONS_65GEV.items()})
    table = pd.DataFrame(rows, index=["PS", "Strips", "Middle", "Back"]).T
    table["sum"] = table.sum(axis=1)
    table.index.name = f"% of E_true at {_gev(at_mev):g} GeV"
    return table


# --------------------------------------------------------------------------------------------------------------
# classifier features and the alignment effects


EPOCH_PICKING_VARIABLES = ("response", "eta_mean_back", "phi_mean_strips", "eta_mean_middle", "eta_mean_strips")
"""The per-shower observables behind the thesis's epoch-picking criteria (energy resolution, geometry conditioning,
Middle-Strips correlation)."""


def classifier_features(variables: pd.DataFrame, showers: ShowerArrays, names: Sequence[str] | None = None
                        ) -> np.ndarray:
    """Features of the classifier two-sample test: the conditions (ln E, p, e, d_eta, d_phi) and the variables
    ``names`` of `shower_variables` (all by default), energies divided by E_true so that every energy point has the
    same scale.

    Generated and reference showers share the conditions, so only the shower given its conditions can tell them
    apart; the conditions let the classifier compare the *conditional* distributions.
    """
    if len(variables) != len(showers):
        raise InputError(f"{len(variables)} rows of variables for {len(showers)} showers")
    names = list(variables.columns if names is None else names)
    unknown = [n for n in names if n not in variables.columns]
    if unknown:
        raise InputError(f"unknown variables {unknown}; known: {list(variables.columns)}")
    columns = {}
    for name in names:
        values = variables[name].to_numpy(dtype=float)
        columns[name] = values / showers.energy if name in _ENERGY_VARIABLES else values
    conditions = np.column_stack([np.log(showers.energy), showers.p, showers.e, showers.deta, showers.dphi])
    return np.column_stack([conditions, pd.DataFrame(columns).to_numpy()])


def _alignment_values(cells: np.ndarray, showers: ShowerArrays) -> tuple[np.ndarray, np.ndarray]:
    strip_phi = shower_shapes.phi_mean(cells, "strips", showers.p)
    back_eta = shower_shapes.eta_mean(cells, "back", showers.e)
    return strip_phi, back_eta


_STRIP_PHI_BINS = (72, -0.045, 0.045)
_BACK_ETA_BINS = (72, -0.045, 0.045)


def alignment_comparisons(reference: ShowerArrays, generated: Mapping[str, Any], *,
                          reference_label: str = "Reference") -> list[Comparison]:
    """<phi>_Strips for each p (0..3) and <eta>_Back for each e (0/1): reference vs generated (thesis Figs. 5.27,
    5.28, the geometry conditioning the thesis used to filter epochs). Showers with an empty layer are left out.
    """
    ref_phi, ref_eta = _alignment_values(reference.cells, reference)
    gen = {label: _alignment_values(as_finite_array(c, f"sample {label!r}", ndim=2), reference)
           for label, c in generated.items()}
    empty = shower_shapes.empty_layers(reference.cells)
    panels = [(0, reference.p == p, 1, _STRIP_PHI_BINS, r"$\langle\phi\rangle_{Strips}$", f"p{p}") for p in range(4)]
    panels += [(1, reference.e == e, 3, _BACK_ETA_BINS, r"$\langle\eta\rangle_{Back}$", f"e{e}") for e in range(2)]
    out = []
    for variable, config, layer, bins, name, title in panels:
        keep = config & ~empty[:, layer]
        if keep.sum() < 2:
            continue
        ref = (ref_phi, ref_eta)[variable]
        out.append(Comparison(_folded(ref[keep], bins), {k: _folded(v[variable][keep], bins) for k, v in gen.items()},
                              bins=bins, reference_label=reference_label, xlabel=f"{name} (impact cell at 0)",
                              title=title))
    return out


def plot_alignment_effects(showers: ShowerArrays, cells: Any | None = None) -> Figure:
    """How the cell geometry shows in the data: <phi>_Strips per p0..p3 and <eta>_Back per e0/e1 (normalised
    histograms; ``cells`` default to the showers' own).
    """
    import hist

    arr = showers.cells if cells is None else as_finite_array(cells, "cells", ndim=2)
    strip_phi, back_eta = _alignment_values(arr, showers)
    empty = shower_shapes.empty_layers(arr)
    fig, (ax_p, ax_e) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    for ax, values, config, n_config, layer, binning, label in (
        (ax_p, strip_phi, showers.p, 4, 1, _STRIP_PHI_BINS, r"$\langle\phi\rangle_{Strips}$ (impact cell at 0)"),
        (ax_e, back_eta, showers.e, 2, 3, _BACK_ETA_BINS, r"$\langle\eta\rangle_{Back}$ (impact cell at 0)"),
    ):
        name = "p" if n_config == 4 else "e"
        for k in range(n_config):
            keep = (config == k) & ~empty[:, layer]
            h = hist.Hist(hist.axis.Regular(*binning, name="x"), storage=hist.storage.Weight())
            h.fill(_folded(values[keep], binning))
            if h.sum().value > 0:
                mh.histplot(h, ax=ax, density=True, label=f"{name}{k} ({int(keep.sum())} showers)")
        ax.set_xlabel(label)
        ax.set_ylabel("Normalised entries / bin width")
        ax.legend(fontsize="small")
        style.experiment_label(ax, text="Simulation", com=None)
    return style.legend_headroom(fig)


def plot_mean_images(showers: ShowerArrays, *, energy_mev: float | None = None, cells: Any | None = None
                     ) -> Figure:
    """The mean shower per layer (cells / E_true, averaged), on a log colour scale; optionally at one energy."""
    arr = showers.cells if cells is None else as_finite_array(cells, "cells", ndim=2)
    keep = np.ones(len(showers), dtype=bool) if energy_mev is None else np.isclose(showers.energy, energy_mev)
    if not keep.any():
        raise InputError(f"no shower at {energy_mev} MeV; energy points: {np.unique(showers.energy).tolist()}")
    mean = (arr[keep] / showers.energy[keep, None]).mean(axis=0)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.6), gridspec_kw={"width_ratios": [1.2, 3.0, 1.2, 1.0]},
                             layout="constrained")  # the suptitle above the panel titles, not on them
    positive = mean[mean > 0]
    norm = LogNorm(vmin=max(float(positive.min()), 1e-6), vmax=float(positive.max())) if positive.size else None
    for ax, lay in zip(axes, LAYERS):
        image = GEOMETRY.image(mean, lay.name)  # [eta, phi]
        n_eta, n_phi = image.shape
        mh.hist2dplot(np.where(image > 0, image, np.nan), np.arange(n_eta + 1) - n_eta / 2,
                      np.arange(n_phi + 1) - n_phi / 2, ax=ax, norm=norm, cbar=lay is LAYERS[-1])
        ax.set_title(f"{_LAYER_TEXT[lay.name]} ({n_eta}x{n_phi})", fontsize="medium")
        ax.set_xlabel(r"$\eta$ cell")
    axes[0].set_ylabel(r"$\phi$ cell")
    where = "all energies" if energy_mev is None else f"{_gev(energy_mev):g} GeV"
    fig.suptitle(f"Mean $E_{{cell}}/E_{{true}}$, {where} ({int(keep.sum())} showers)")
    return fig
