"""Calibration of the toy to the ATLAS ch6 yields (thesis section 6.6): measure the yield table and solve the norms.

The shipped defaults of :data:`hepnb.offshell.generator.DEFAULT_MODELS` were obtained with
``solve_normalisations(n=1_000_000, seed=2024)`` (detector ``"atlas"``, 36.1 fb^-1). Shapes (coherence scale,
luminosity slope, jet form factor, radiation rates) were tuned by hand so that the efficiencies and I/S come out
close to the targets; only the normalisations are solved here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from hepnb.errors import InputError
from hepnb.offshell import detector as det
from hepnb.offshell import events as ev
from hepnb.offshell import generator as gen
from hepnb.stats.constants import THESIS_LUMI

__all__ = ["TARGETS", "YieldTable", "measure_yields", "solve_normalisations"]

#: Spec 7.5 targets at 36.1 fb^-1, m4l > 220 GeV: (before the VBF cut, after >= 2 jets and m_jj > 120 GeV).
TARGETS: dict[str, tuple[float, float]] = {
    "S": (2.1, 1.1),
    "V": (9.8, 6.9),
    "SVI": (8.5, 6.1),
    "I": (-3.4, -1.9),
    "qqzz": (520.0, 60.0),
    "ggzz": (76.0, 8.8),
}


@dataclass(frozen=True)
class YieldTable:
    """Yields (expected events) before (``"4l"``) and after (``"thesis-ch6"``) the VBF cut, with MC errors."""

    before: dict[str, float]
    after: dict[str, float]
    error_before: dict[str, float]
    error_after: dict[str, float]
    lumi: float
    n: int
    seed: int

    def table(self) -> str:
        """A printable table next to the spec targets."""
        lines = [f"{'':6s} {'before':>9s} {'target':>7s} {'after':>9s} {'target':>7s}"]
        for key, (tb, ta) in TARGETS.items():
            lines.append(f"{key:6s} {self.before[key]:9.2f} {tb:7.1f} {self.after[key]:9.2f} {ta:7.1f}")
        return "\n".join(lines)


def _component_sums(chunk: dict, mask: np.ndarray) -> dict[str, float]:
    ch = chunk["z"]["channel"]
    w_b = chunk["w_B"]
    return {
        "S": float(chunk["w_S"][mask].sum()),
        "I": float(chunk["w_I"][mask].sum()),
        "V": float(w_b[mask].sum()),
        "LL": float(w_b[mask & (ch == 0)].sum()),
        "LT": float(w_b[mask & ((ch == 1) | (ch == 2))].sum()),
        "TT": float(w_b[mask & (ch == 3)].sum()),
        "S2": float((chunk["w_S"][mask] ** 2).sum()),
        "I2": float((chunk["w_I"][mask] ** 2).sum()),
        "V2": float((w_b[mask] ** 2).sum()),
        "SVI2": float(((chunk["w_S"] + chunk["w_I"] + w_b)[mask] ** 2).sum()),
    }


def _raw_sums(
    process: str, n: int, seed: int, lumi: float, detector: str, model: gen.VBFModel | gen.BackgroundModel | None = None
) -> dict[str, dict[str, float]]:
    config = ev.GenerationConfig(process=process, detector=detector, preset=None, lumi=lumi, model=model)
    total: dict[str, dict[str, float]] = {}
    for chunk in ev.iter_chunks(config, n, seed):
        for name in ("4l", "thesis-ch6"):
            mask = det.select(chunk["x"], name)
            sums = _component_sums(chunk, mask)
            acc = total.setdefault(name, dict.fromkeys(sums, 0.0))
            for k, v in sums.items():
                acc[k] += v
    return total


def measure_yields(n: int = 200_000, seed: int = 1, lumi: float = THESIS_LUMI, detector: str = "atlas") -> YieldTable:
    """Generate ``n`` events of each process and tabulate S, V, SVI, I, qqZZ, ggZZ before/after the VBF cut."""
    if n < 1000:
        raise InputError(f"n must be at least 1000 events per process for a meaningful yield table, got {n}")
    vbf = _raw_sums("vbf", n, seed, lumi, detector)
    qq = _raw_sums("qqzz", n, seed, lumi, detector)
    gg = _raw_sums("ggzz", n, seed, lumi, detector)
    tables: list[dict[str, float]] = []
    errors: list[dict[str, float]] = []
    for name in ("4l", "thesis-ch6"):
        v = vbf[name]
        tables.append(
            {
                "S": v["S"],
                "V": v["V"],
                "SVI": v["S"] + v["I"] + v["V"],
                "I": v["I"],
                "qqzz": qq[name]["V"],
                "ggzz": gg[name]["V"],
            }
        )
        errors.append(
            {
                "S": np.sqrt(v["S2"]),
                "V": np.sqrt(v["V2"]),
                "SVI": np.sqrt(v["SVI2"]),
                "I": np.sqrt(v["I2"]),
                "qqzz": np.sqrt(qq[name]["V2"]),
                "ggzz": np.sqrt(gg[name]["V2"]),
            }
        )
    return YieldTable(tables[0], tables[1], errors[0], errors[1], lumi, n, seed)


def solve_normalisations(n: int = 1_000_000, seed: int = 2024, lumi: float = THESIS_LUMI) -> dict[str, object]:
    """Normalisations that hit the targets: N_LL from S(before), N_LT and N_TT from V(before, after), B2 norms.

    Returns the calibrated models (``"vbf"``, ``"qqzz"``, ``"ggzz"``) ready for :data:`DEFAULT_MODELS`.
    """
    out: dict[str, object] = {}
    base = gen.DEFAULT_MODELS["vbf"]
    unit = dataclasses.replace(base, norm_ll=1.0, norm_lt=1.0, norm_tt=1.0)  # type: ignore[type-var]
    s = _raw_sums("vbf", n, seed, lumi, "atlas", unit)
    b, a = s["4l"], s["thesis-ch6"]
    k_ll = TARGETS["S"][0] / b["S"]
    matrix = np.array([[b["LT"], b["TT"]], [a["LT"], a["TT"]]])
    rhs = np.array([TARGETS["V"][0] - k_ll * b["LL"], TARGETS["V"][1] - k_ll * a["LL"]])
    k_lt, k_tt = np.linalg.solve(matrix, rhs)
    out["vbf"] = dataclasses.replace(unit, norm_ll=float(k_ll), norm_lt=float(k_lt), norm_tt=float(k_tt))
    for process in ("qqzz", "ggzz"):
        model = dataclasses.replace(gen.DEFAULT_MODELS[process], norm=1.0)  # type: ignore[type-var]
        sums = _raw_sums(process, n, seed, lumi, "atlas", model)
        out[process] = dataclasses.replace(model, norm=float(TARGETS[process][0] / sums["4l"]["V"]))
    return out
