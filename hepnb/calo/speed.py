"""Generation speed and memory of the calorimeter GAN against the parametric simulator, and the Geant4 and Athena
figures the thesis quotes (thesis §5.5.5, Table 5.1).

- `gan_speed`, `simulator_speed`: showers per second at batch 1 and 10,000 on CPU and the peak memory, each
  measured in a fresh interpreter that imports only what it times (`hepnb.calo.speed_child`);
- `speed_table`, `plot_speed`: the measurements side by side, with the quoted figures (`QUOTED`,
  `geant4_seconds_per_shower`) as references, not as measurements.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hepnb import style
from hepnb.calo.validation import ENERGY_65_MEV
from hepnb.errors import InputError, as_finite_array
from hepnb.units import GeV

__all__ = [
    "THESIS",
    "QuotedFigure",
    "QUOTED",
    "geant4_seconds_per_shower",
    "SpeedResult",
    "gan_speed",
    "simulator_speed",
    "speed_table",
    "plot_speed",
]

THESIS = (
    "A. Ghosh, 'Simulation of the ATLAS EM calorimeter using GANs and likelihood-free inference of the "
    "offshell Higgs couplings', PhD thesis, Universite Paris-Saclay (2020), HAL tel-03324250"
)
"""The thesis every quoted number comes from (A. Ghosh, PhD thesis, Universite Paris-Saclay 2020, HAL tel-03324250)."""


@dataclass(frozen=True)
class QuotedFigure:
    """A number the thesis quotes: value, unit, what it is and where it is written."""

    value: float
    unit: str
    what: str
    source: str


_PERF = "thesis section 5.5.5 and Table 5.1; measured Feb 2019 in Athena, one CPU thread, no batching"
QUOTED: dict[str, QuotedFigure] = {
    "geant4_65gev": QuotedFigure(10.0, "s/shower", "Geant4, one 65.5 GeV photon", f"{THESIS}, {_PERF}"),
    "geant4_16gev": QuotedFigure(2.4, "s/shower", "Geant4, one 16 GeV photon", f"{THESIS}, {_PERF}"),
    "dnncalosim": QuotedFigure(0.070, "s/shower", "GAN in Athena (DNNCaloSim), any energy", f"{THESIS}, {_PERF}"),
    "fcsv2": QuotedFigure(0.070, "s/shower", "FastCaloSimV2 parameterisation", f"{THESIS}, {_PERF}"),
    "nn_inference": QuotedFigure(0.0007, "s/shower", "the GAN's network alone (LWTNN)", f"{THESIS}, {_PERF}"),
    "dnncalosim_memory": QuotedFigure(2.3, "GB", "peak memory of the Athena job with DNNCaloSim", f"{THESIS}, {_PERF}"),
    "fcsv2_memory": QuotedFigure(6.0, "GB", "peak memory of the Athena job with FastCaloSimV2", f"{THESIS}, {_PERF}"),
}
"""Software-performance figures of the thesis (thesis section 5.5.5), to be drawn as reference lines."""


def geant4_seconds_per_shower(energy_gev: Any) -> np.ndarray:
    """Geant4 time per photon shower (s), the power law through the two quoted points [derived, t ~ E^1.03].

    10 s at 65.5 GeV and 2.4 s at 16 GeV (`QUOTED`); anything else is an interpolation, not a thesis number.
    """
    energy = as_finite_array(energy_gev, "energy_gev")
    if np.any(energy <= 0):
        raise InputError("energies must be positive (GeV)")
    e1, t1 = 16.384, QUOTED["geant4_16gev"].value
    e2, t2 = 65.536, QUOTED["geant4_65gev"].value
    exponent = np.log(t2 / t1) / np.log(e2 / e1)
    return t2 * (energy / e2) ** exponent


@dataclass(frozen=True)
class SpeedResult:
    """Measured generation speed of one generator at one batch size, on CPU.

    Attributes
    ----------
    generator
        ``"GAN"`` or ``"simulator"``.
    batch_size, n_showers, seconds
        Showers per call, showers generated in the timed calls, wall time of those calls.
    energy_mev
        Photon energy of the generated showers.
    peak_memory_mib, baseline_memory_mib
        Peak resident memory of the measuring process up to the end of this measurement, and its resident memory
        before the timed calls (interpreter, libraries and model loaded, one warm-up call made).
    threads
        Torch / BLAS threads used.
    """

    generator: str
    batch_size: int
    n_showers: int
    seconds: float
    energy_mev: float
    peak_memory_mib: float
    baseline_memory_mib: float
    threads: int

    @property
    def showers_per_second(self) -> float:
        return self.n_showers / self.seconds

    @property
    def seconds_per_shower(self) -> float:
        return self.seconds / self.n_showers


def _calls(batch_size: int, n_single: int | None, default_single: int) -> int:
    """Timed calls: batch 1 is repeated (``n_single`` times), a larger batch is timed over one call."""
    if batch_size < 1:
        raise InputError(f"batch_size={batch_size} must be positive")
    if batch_size > 1:
        return 1
    if n_single is not None and n_single < 1:
        raise InputError(f"n_single={n_single} must be positive")
    return n_single if n_single is not None else default_single


def _measure(
    kind: str, batch_sizes: Sequence[int], n_single: int | None, energy_mev: float, threads: int, model: Any = None
) -> list[SpeedResult]:
    """Time ``kind`` at each batch size in a fresh interpreter running `hepnb.calo.speed_child` (smallest batch
    first, so each peak is its own)."""
    import json
    import subprocess
    import sys
    import tempfile

    if threads < 1:
        raise InputError(f"threads={threads} must be positive")
    plan = [(int(b), _calls(int(b), n_single, 200 if kind == "GAN" else 30)) for b in sorted(batch_sizes)]
    env = dict(os.environ, **{v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    with tempfile.TemporaryDirectory() as tmp:
        args: dict[str, Any] = {"kind": kind, "plan": plan, "energy_mev": float(energy_mev), "threads": int(threads)}
        if model is not None:
            import torch

            state = {k: v.detach().cpu() for k, v in model.state_dict().items() if k.startswith("generator.")}
            args["state"] = str(Path(tmp) / "generator.pt")
            torch.save({"hparams": dict(model.hparams), "state": state}, args["state"])
        done = subprocess.run(
            [sys.executable, "-m", "hepnb.calo.speed_child", json.dumps(args)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} speed measurement failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        SpeedResult(kind, batch, n, seconds, float(energy_mev), peak, report["baseline"], threads)
        for batch, n, seconds, peak in report["results"]
    ]


def gan_speed(
    model: Any,
    batch_sizes: Sequence[int] = (1, 10_000),
    *,
    n_single: int | None = None,
    energy_mev: float = ENERGY_65_MEV,
    threads: int = 1,
) -> list[SpeedResult]:
    """Showers per second of the GAN's ``generate`` (conditions in, physical cells out) at each batch size.

    Measured in a fresh Python process, so that the peak memory is that of generating alone (it includes the
    interpreter, torch and the model).

    Parameters
    ----------
    model
        A CaloGAN; only its generator is used.
    batch_sizes
        Showers per call; batch 1 is timed over ``n_single`` calls (default 200), larger batches over one call
        (after a warm-up).
    energy_mev
        Photon energy (the GAN's time does not depend on it).
    threads
        Torch and BLAS threads (1: one CPU core, as the thesis's Athena numbers).
    """
    if not hasattr(model, "hparams") or not hasattr(model, "generator"):
        raise InputError(f"model must be a CaloGAN, got {type(model).__name__}")
    return _measure("GAN", batch_sizes, n_single, energy_mev, threads, model)


def simulator_speed(
    batch_sizes: Sequence[int] = (1, 10_000),
    *,
    n_single: int | None = None,
    energy_mev: float = ENERGY_65_MEV,
    threads: int = 1,
) -> list[SpeedResult]:
    """Showers per second of the parametric simulator `simulate` at each batch size, in a fresh process that
    imports only the simulator (see `gan_speed`; batch 1 is timed over ``n_single`` calls, default 30).
    """
    return _measure("simulator", batch_sizes, n_single, energy_mev, threads)


def speed_table(results: Sequence[SpeedResult]) -> pd.DataFrame:
    """One row per measurement, plus the speed-up of the GAN over the simulator at equal batch size and over the
    Geant4 time the thesis quotes at that energy (`geant4_seconds_per_shower`)."""
    if not results:
        raise InputError("no speed measurement given")
    rows = []
    simulator = {r.batch_size: r for r in results if r.generator == "simulator"}
    for r in results:
        geant4 = float(geant4_seconds_per_shower(r.energy_mev / GeV))
        rows.append(
            {
                "generator": r.generator,
                "batch": r.batch_size,
                "showers": r.n_showers,
                "seconds": r.seconds,
                "showers/s": r.showers_per_second,
                "ms/shower": 1000.0 * r.seconds_per_shower,
                "x simulator": (
                    r.showers_per_second / simulator[r.batch_size].showers_per_second
                    if r.batch_size in simulator
                    else float("nan")
                ),
                "x Geant4 (quoted)": geant4 / r.seconds_per_shower,
                "peak memory [MiB]": r.peak_memory_mib,
                "before [MiB]": r.baseline_memory_mib,
                "threads": r.threads,
            }
        )
    return pd.DataFrame(rows).set_index(["generator", "batch"])


def plot_speed(results: Sequence[SpeedResult], fig: Figure | None = None) -> Figure:
    """Showers per second (log scale) per generator and batch size, with the thesis's Geant4 and Athena-GAN
    figures as reference lines (quoted, not measured here)."""
    if not results:
        raise InputError("no speed measurement given")
    if fig is None:
        fig = plt.figure(figsize=(12, 5.5), layout="constrained")
    ax = fig.subplots()
    labels = [f"{r.generator}\nbatch {r.batch_size:,}" for r in results]
    rates = [r.showers_per_second for r in results]
    colours = ["C0" if r.generator == "GAN" else "C1" for r in results]
    ax.bar(range(len(results)), rates, color=colours, alpha=0.8)
    for i, rate in enumerate(rates):
        ax.text(i, rate * 1.15, f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.2g}/s", ha="center", fontsize="small")
    energy_gev = results[0].energy_mev / GeV
    for key, colour, text in (
        ("geant4_65gev", "black", "Geant4, 65.5 GeV"),
        ("geant4_16gev", "grey", "Geant4, 16 GeV"),
        ("dnncalosim", "C3", "GAN in Athena (DNNCaloSim)"),
        ("nn_inference", "C2", "its network alone"),
    ):
        rate = 1.0 / QUOTED[key].value
        ax.axhline(rate, color=colour, ls="--", lw=1.2, label=f"{text}: {QUOTED[key].value:g} s (thesis)")
    ax.set_xticks(range(len(results)), labels, fontsize="small")
    ax.set_yscale("log")
    ax.set_ylim(0.03, max(rates + [2000.0]) * 5)
    ax.set_ylabel(f"Showers / s ({energy_gev:.1f} GeV $\\gamma$, CPU)", fontsize="medium")
    ax.legend(
        fontsize="x-small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="quoted, not measured",
        title_fontsize="x-small",
    )
    style.experiment_label(ax, text="Simulation", com=None)
    return fig
