"""Generated and reference showers compared after electronic noise and a cell threshold, as the thesis compared them
(section 5.5.3: Gaussian noise per cell with a per-layer sigma; section 5.5.4: inside ATLAS software, where the
reconstruction keeps only cells well above their noise).

The training showers have no noise (thesis §5.4.1), so a generator is judged on a sample cleaner than any measured
one: the sigmoid output of the GAN never gives an exact zero (about 85 cells above 1e-4 x E_true at 1 GeV, against
about 32 for the simulator), and a classifier can tell that apart. `digitise` adds the noise of
`hepnb.calo.simulate.DEFAULT_NOISE_MEV` (an order of magnitude, not a measured noise) and keeps only cells above
``k sigma`` of their layer (exact zeros below): the seed threshold of ATLAS's topological clustering, 4 sigma
(arXiv:1603.02934, section 4.2), applied to every cell, which is harsher than the clustering (it also keeps lower
neighbours of a seed, and cuts on |E|; cells below -4 sigma have a chance of 3e-5 here). `noisy_comparison` repeats
the classifier two-sample test and the resolution ratio on such showers, each sample with its own noise. Enough
noise makes any two samples alike, so this says how much of what separates them lies below the noise; it does not
replace the noise-free test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hepnb.calo.data import N_CELLS, ShowerArrays
from hepnb.calo.simulate import DEFAULT_NOISE_MEV, add_noise, per_cell_noise
from hepnb.calo.validation.resolution import resolution_ratio, response_resolution
from hepnb.calo.validation.variables import EPOCH_PICKING_VARIABLES, classifier_features, shower_variables
from hepnb.errors import InputError, as_finite_array

__all__ = ["THRESHOLD_SIGMA", "digitise", "noisy_comparison"]

THRESHOLD_SIGMA = 4.0
"""Cells are kept above 4 sigma of their layer's noise, the seed threshold of ATLAS's topological clustering
(arXiv:1603.02934); lower thresholds keep upward noise fluctuations and bias the total energy up."""


def digitise(
    cells: Any,
    *,
    seed: int,
    sigma_mev: Mapping[str, float] | Sequence[float] = DEFAULT_NOISE_MEV,
    threshold_sigma: float = THRESHOLD_SIGMA,
) -> np.ndarray:
    """Cells as a detector records them: Gaussian noise added to every cell, then every cell at or below
    ``threshold_sigma`` times its layer's noise set to exactly zero.

    Parameters
    ----------
    cells
        ``[N, 266]`` cell energies in MeV (simulated or generated).
    seed
        Seed of the noise: give each sample its own.
    sigma_mev
        Noise per layer in MeV, ``{"presampler": .., "strips": .., "middle": .., "back": ..}`` (a missing layer has
        none and keeps every positive cell) or four numbers in that order (`hepnb.calo.simulate.per_cell_noise`).
    threshold_sigma
        Threshold in units of the layer's noise (>= 0).

    Returns
    -------
    numpy.ndarray
        ``[N, 266]`` float64 MeV, non-negative: a cell is either above its threshold or exactly 0.

    Examples
    --------
    >>> cells = np.zeros((1, 266)); cells[0, :3] = [1000.0, 60.0, 0.5]   # three presampler cells (sigma 25 MeV)
    >>> out = digitise(cells, seed=1)
    >>> bool(abs(out[0, 0] - 1000.0) < 150.0), out[0, 1:].tolist().count(0.0) >= 264
    (True, True)
    """
    arr = as_finite_array(cells, "cells", ndim=2)
    if arr.shape[1] != N_CELLS:
        raise InputError(f"cells must have shape [N, {N_CELLS}] (MeV), got {arr.shape}")
    if not np.isfinite(threshold_sigma) or threshold_sigma < 0:
        raise InputError(f"threshold_sigma must be a finite number >= 0 (4 is ATLAS's seed), got {threshold_sigma}")
    noisy = add_noise(arr, sigma_mev, seed, dtype=np.float64)
    return np.where(noisy > threshold_sigma * per_cell_noise(sigma_mev), noisy, 0.0)


def noisy_comparison(
    showers: ShowerArrays,
    generated: Mapping[str, Any],
    *,
    seed: int,
    sigma_mev: Mapping[str, float] | Sequence[float] = DEFAULT_NOISE_MEV,
    threshold_sigma: float = THRESHOLD_SIGMA,
    claim_energy_gev: float = 65.536,
    feature_sets: Mapping[str, Sequence[str] | None] | None = None,
    max_iter: int = 200,
    n_threads: int | None = None,
) -> pd.DataFrame:
    """The classifier two-sample AUCs and the resolution ratio of generated showers, after `digitise` of both the
    reference (``showers.cells``) and each generated sample, with the same noise model and independent noise.

    Parameters
    ----------
    showers
        The reference (test) showers with their conditions; every generated sample has one shower per row.
    generated
        Label -> generated cells ``[N, 266]`` in MeV (e.g. `generate_like` of each GAN).
    seed
        Seeds the noise (the reference gets ``seed``, the i-th generated sample ``seed + 1 + i``), the half-vs-half
        split of the reference and the classifiers. A generated shower and its reference shower (same conditions)
        fall on the same side of the classifier's split (``paired=True`` of the two-sample test).
    sigma_mev, threshold_sigma
        The noise model of `digitise`.
    claim_energy_gev
        Energy point of the resolution ratio (generated over reference, after noise).
    feature_sets
        Name -> variables of `shower_variables` for the classifier (``None``: all); by default all variables and
        the epoch-picking observables.
    max_iter, n_threads
        Of `hepnb.metrics.generative.classifier_two_sample_test`.

    Returns
    -------
    pandas.DataFrame
        Index ``sample`` (``"Reference, half vs half"`` first, then the generated labels); columns ``AUC (name)``
        and ``AUC error (name)`` per feature set, ``resolution ratio`` and its ``error`` (NaN for the half-vs-half
        row).
    """
    from hepnb.metrics.generative import classifier_two_sample_test

    if not isinstance(showers, ShowerArrays):
        raise InputError(f"showers must be a ShowerArrays (e.g. training_reference(...)), got {type(showers).__name__}")
    if not generated:
        raise InputError("give at least one generated sample: label -> cells [N, 266] in MeV")
    if {"Reference", "Reference, half vs half"} & set(generated):
        raise InputError(f"the generated labels {list(generated)} must differ from 'Reference': rename the sample")
    sets = {"all variables": None, "epoch-picking observables": EPOCH_PICKING_VARIABLES}
    sets = dict(sets if feature_sets is None else feature_sets)
    noisy_reference = digitise(showers.cells, seed=seed, sigma_mev=sigma_mev, threshold_sigma=threshold_sigma)
    variables_reference = shower_variables(noisy_reference, showers)
    responses = {"Reference": noisy_reference.sum(axis=1)}
    del noisy_reference
    halves = np.random.default_rng(seed).permutation(len(showers)) % 2 == 0
    reference_features = {name: classifier_features(variables_reference, showers, cols) for name, cols in sets.items()}
    rows: dict[str, dict[str, float]] = {"Reference, half vs half": {}}
    for name, features in reference_features.items():
        result = classifier_two_sample_test(
            features[halves], features[~halves], seed=seed, max_iter=max_iter, n_threads=n_threads
        )
        rows["Reference, half vs half"] |= {f"AUC ({name})": result.auc, f"AUC error ({name})": result.error}
    for i, (label, cells) in enumerate(generated.items()):
        arr = as_finite_array(cells, f"generated[{label!r}]", ndim=2)
        if arr.shape != showers.cells.shape:
            raise InputError(f"generated[{label!r}] has shape {arr.shape}, the showers {showers.cells.shape}")
        noisy = digitise(arr, seed=seed + 1 + i, sigma_mev=sigma_mev, threshold_sigma=threshold_sigma)
        variables = shower_variables(noisy, showers)
        responses[label] = noisy.sum(axis=1)
        del noisy
        rows[label] = {}
        for name, names in sets.items():
            features = classifier_features(variables, showers, names)
            result = classifier_two_sample_test(
                reference_features[name], features, seed=seed, max_iter=max_iter, n_threads=n_threads, paired=True
            )
            rows[label] |= {f"AUC ({name})": result.auc, f"AUC error ({name})": result.error}
    table = response_resolution(showers.energy, {k: v / showers.energy for k, v in responses.items()})
    for label in generated:
        ratio = resolution_ratio(table, label, claim_energy_gev)
        rows[label] |= {"resolution ratio": ratio.value, "resolution ratio error": ratio.error}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("sample")
