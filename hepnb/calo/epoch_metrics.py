"""The thesis's epoch-picking criteria (thesis section 5.4.5), computed for a generator against reference showers.

For each checkpoint the generator makes one shower per reference shower, with the same conditions and a fixed
seed, and five numbers are computed (smaller is better for all of them):

- ``cov_mse``: MSE of the 266x266 covariance matrices of the normalised cells (m1, thesis Fig. 5.20);
- ``response_chi2``: chi2/ndf of the sum(cells)/E_true histograms, summed over the energy points (m2);
- ``resolution_error``: mean over the energy points of |sigma_gen/sigma_ref - 1| of that response (m2's width part);
- ``back_eta_chi2``: chi2/ndf of <eta>_Back, computed for e0 and e1 separately and summed (m3);
- ``strip_phi_chi2``: chi2/ndf of <phi>_Strip, for p0..p3 separately and summed (m4);
- ``middle_strip_eta_mse``: MSE of the 2-D histograms <eta>_Middle vs <eta>_Strip (m5, thesis Fig. 5.24).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hepnb.calo import shower_shapes
from hepnb.calo.data import ShowerArrays
from hepnb.errors import InputError
from hepnb.hists import Comparison, OutsideBinningWarning

__all__ = ["METRICS", "DEFAULT_WEIGHTS", "CaloReference", "calo_metrics", "epoch_metrics"]

METRICS = ("cov_mse", "response_chi2", "resolution_error", "back_eta_chi2", "strip_phi_chi2", "middle_strip_eta_mse")
"""Names of the per-epoch metrics, all smaller-is-better."""

DEFAULT_WEIGHTS = {
    "cov_mse": 1.0,
    "response_chi2": 2.0,
    "resolution_error": 2.0,
    "back_eta_chi2": 2.0,
    "strip_phi_chi2": 2.0,
    "middle_strip_eta_mse": 1.0,
}
"""Weights of the automatic rule: energy resolution and geometry conditioning first (thesis section 5.8)."""

WORST = 1e6  # the value of a metric whose histogram the generator leaves empty (a collapsed generator)


def _range(values: np.ndarray, widen: float = 0.5) -> tuple[float, float]:
    lo, hi = np.quantile(values, [0.005, 0.995])
    pad = widen * (hi - lo) if hi > lo else 1e-3
    return float(lo - pad), float(hi + pad)


def _chi2(reference: np.ndarray, generated: np.ndarray, bins: tuple[int, float, float]) -> float:
    """chi2/ndf inside the reference's range. What a generator puts outside is not in it by definition (the
    resolution metric sees a too-wide shower); the shipped archives' histories were computed this way, so the
    Comparison's warning about entries outside the range is not repeated at every epoch."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OutsideBinningWarning)
            return Comparison(reference, generated, bins=bins).chi2().reduced
    except InputError:  # nothing generated inside the reference's range
        return WORST


@dataclass(frozen=True)
class CaloReference:
    """Reference showers and the shapes the metrics compare against (computed once)."""

    showers: ShowerArrays
    covariance: np.ndarray
    response: np.ndarray
    back_eta: np.ndarray
    strip_phi: np.ndarray
    middle_eta: np.ndarray
    strip_eta: np.ndarray

    @classmethod
    def from_showers(cls, showers: ShowerArrays) -> CaloReference:
        """Compute the reference shapes of ``showers`` (cells and energy in one unit)."""
        cells = showers.cells
        return cls(
            showers=showers,
            covariance=shower_shapes.cell_covariance(cells, showers.energy),
            response=shower_shapes.response(cells, showers.energy),
            back_eta=shower_shapes.eta_mean(cells, "back", showers.e),
            strip_phi=shower_shapes.phi_mean(cells, "strips", showers.p),
            middle_eta=shower_shapes.eta_mean(cells, "middle"),
            strip_eta=shower_shapes.eta_mean(cells, "strips"),
        )


def calo_metrics(reference: CaloReference, generated: np.ndarray) -> dict[str, float]:
    """The six epoch-picking metrics of ``generated`` showers (one per reference shower, same conditions)."""
    ref = reference.showers
    if generated.shape != ref.cells.shape:
        raise InputError(f"generated showers have shape {generated.shape}, the reference {ref.cells.shape}")
    out: dict[str, float] = {}
    covariance = shower_shapes.cell_covariance(generated, ref.energy)
    out["cov_mse"] = shower_shapes.covariance_mse(reference.covariance, covariance)

    response = shower_shapes.response(generated, ref.energy)
    chi2, width_error = 0.0, []
    for energy in np.unique(ref.energy):
        at = ref.energy == energy
        ref_response = reference.response[at]
        chi2 += _chi2(ref_response, response[at], (40, *_range(ref_response)))
        width_error.append(abs(np.std(response[at]) / max(np.std(ref_response), 1e-12) - 1))
    out["response_chi2"] = chi2
    out["resolution_error"] = float(np.mean(width_error))

    back_eta = shower_shapes.eta_mean(generated, "back", ref.e)
    out["back_eta_chi2"] = sum(
        _chi2(reference.back_eta[ref.e == e], back_eta[ref.e == e], (30, *_range(reference.back_eta)))
        for e in np.unique(ref.e)
    )
    strip_phi = shower_shapes.phi_mean(generated, "strips", ref.p)
    out["strip_phi_chi2"] = sum(
        _chi2(reference.strip_phi[ref.p == p], strip_phi[ref.p == p], (30, *_range(reference.strip_phi)))
        for p in np.unique(ref.p)
    )
    bins = ((20, *_range(reference.middle_eta, 0.1)), (20, *_range(reference.strip_eta, 0.1)))
    pairs_ref = np.column_stack([reference.middle_eta, reference.strip_eta])
    pairs_gen = np.column_stack(
        [shower_shapes.eta_mean(generated, "middle"), shower_shapes.eta_mean(generated, "strips")]
    )
    try:
        out["middle_strip_eta_mse"] = Comparison(pairs_ref, pairs_gen, bins=bins).mse()
    except InputError:
        out["middle_strip_eta_mse"] = WORST
    return out


def epoch_metrics(reference: ShowerArrays, *, seed: int = 0) -> Callable[[object, int], dict[str, float]]:
    """A per-epoch metrics function for :func:`hepnb.training.fit`: generate like ``reference``, then compare."""
    prepared = CaloReference.from_showers(reference)

    def metrics(model: object, epoch: int) -> dict[str, float]:
        generated = model.generate(
            reference.energy, reference.p, reference.e, reference.deta, reference.dphi, seed=seed
        )
        return calo_metrics(prepared, generated)

    return metrics
