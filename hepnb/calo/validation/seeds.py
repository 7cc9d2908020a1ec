"""The headline numbers of the calorimeter study for several trainings of the same GAN, each with several latent
seeds: the spread that one training hides.

The thesis found that identical GANs trained with different seeds end up very different (section 5.4.6), so a
claim made on one training is a claim about that training. `training_seed_table` measures, for every (training,
GAN) on the same test showers and for every latent seed: the resolution ratio at the claim energy, how many energy
points are within the tolerance (applied the same way at every point), the response tail at the lowest energy and,
the drift of the response with the impact offset Δη at the claim energy and, optionally, the classifier two-sample
AUC on the epoch-picking observables.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hepnb.calo.data import ShowerArrays
from hepnb.calo.validation.diagnostics import response_vs_condition
from hepnb.calo.validation.points import ENERGY_65_MEV, energy_point_gev
from hepnb.calo.validation.reference import generate_like
from hepnb.calo.validation.resolution import resolution_ratio, response_resolution
from hepnb.calo.validation.variables import EPOCH_PICKING_VARIABLES, classifier_features, shower_variables
from hepnb.errors import InputError, is_whole_number

__all__ = ["training_seed_table"]


def training_seed_table(
    models: Mapping[tuple[Hashable, str], Any],
    test: ShowerArrays,
    *,
    latent_seeds: Sequence[int],
    claim_energy_gev: float = energy_point_gev(ENERGY_65_MEV),
    tolerance: float = 0.2,
    overshoot: float = 1.5,
    c2st_max_iter: int | None = None,
    n_threads: int | None = None,
    test_variables: pd.DataFrame | None = None,
    generated: Mapping[tuple[Hashable, str, int], np.ndarray] | None = None,
    generated_variables: Mapping[tuple[Hashable, str, int], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Resolution ratios, response tails and C2ST AUCs of several trainings, each generated with several latent seeds.

    Parameters
    ----------
    models
        ``(training, label) -> CaloGAN`` at its chosen epoch, e.g. ``{(1, "double critic"): archive.load(650)}``;
        the label is the ``sample`` of the result (any string but ``"Reference"``).
    test
        The test showers (never trained on, never used to pick an epoch); every model makes one shower per test
        shower, with the same conditions.
    latent_seeds
        Seeds of the generated latent vectors (at least one).
    claim_energy_gev
        The energy point of the ``ratio`` column (the thesis's 65.5 GeV).
    tolerance
        ``|ratio - 1|`` below which an energy point counts in ``within``.
    overshoot
        Response (sum of the cells over E_true) above which a shower counts in ``above``, at the lowest energy.
    c2st_max_iter
        Boosting iterations of the classifier two-sample test on the epoch-picking observables (paired, seeded
        with the latent seed), or None to skip it (the test costs seconds per row).
    n_threads
        Threads of the classifier (None: the library's default).
    test_variables
        ``shower_variables(test.cells, test)`` if already computed (it costs seconds per 10,000 showers); used only
        with ``c2st_max_iter``.
    generated
        Showers already generated, ``(training, label, latent_seed) -> cells``: they must be
        ``generate_like(models[(training, label)], test, seed=latent_seed)`` (the model is not called for such a key,
        so showers of another epoch or seed would be validated under this key's name).
    generated_variables
        ``shower_variables`` of those showers, keyed as ``generated`` (every key must be there too); used only with
        ``c2st_max_iter``.
    Returns
    -------
    pandas.DataFrame
        Index ``(training, sample, latent_seed)``; columns ``ratio`` and ``error`` (generated over reference
        resolution at ``claim_energy_gev``), ``deviation`` (``|ratio - 1|``), ``within`` (energy points with
        ``|ratio - 1| < tolerance``) of ``energies``, ``above`` (showers above ``overshoot`` x E_true at the lowest
        energy) of ``n_lowest``, the reference's ``above_reference``, ``deta_chi2_ndf`` (chi2 / ndf of the response
        against its mean in 8 bins of Δη at ``claim_energy_gev``, `ConditionProfile.flatness`: about 1 when flat
        within the errors) with the reference's ``deta_chi2_ndf_reference``, and ``AUC`` with ``AUC_error`` when
        ``c2st_max_iter`` is given.
    """
    from hepnb.metrics.generative import classifier_two_sample_test

    if not isinstance(models, Mapping) or not models:
        raise InputError("models must be a non-empty mapping (training, label) -> CaloGAN")
    bad_keys = [key for key in models if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], str))]
    if bad_keys:
        raise InputError(f"models' keys must be (training, label) pairs such as (1, 'double critic'), got {bad_keys}")
    if any(label == "Reference" for _, label in models):
        raise InputError("'Reference' labels the test showers: give the models other labels")
    if not isinstance(test, ShowerArrays):
        raise InputError(f"test must be ShowerArrays (e.g. from training_reference), got {type(test).__name__}")
    seeds = list(latent_seeds) if isinstance(latent_seeds, Sequence) else []
    if not seeds or not all(is_whole_number(s) and s >= 0 for s in seeds):
        raise InputError(f"latent_seeds must be a non-empty list of integers >= 0, got {latent_seeds!r}")
    for name, value in (("tolerance", tolerance), ("overshoot", overshoot)):
        if not (isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value) and value > 0):
            raise InputError(
                f"{name} must be a positive number (the defaults: tolerance 0.2, overshoot 1.5), got {value!r}"
            )
    points = sorted({energy_point_gev(e) for e in np.unique(test.energy)})
    if not any(abs(e - claim_energy_gev) < 1e-3 * max(1.0, claim_energy_gev) for e in points):
        raise InputError(f"no test showers at claim_energy_gev={claim_energy_gev}; energy points (GeV): {points}")
    if c2st_max_iter is not None and not (is_whole_number(c2st_max_iter) and c2st_max_iter >= 1):
        raise InputError(f"c2st_max_iter must be an integer >= 1 or None, got {c2st_max_iter!r}")

    if test_variables is not None:
        _check_variables("test_variables", test_variables, test)
    generated, generated_variables = _precomputed(generated, generated_variables, models, seeds, test)

    reference_response = test.cells.sum(axis=1) / test.energy
    lowest = test.energy == test.energy.min()
    energies = np.unique(test.energy)
    claim_mev = float(energies[np.argmin([abs(energy_point_gev(e) - claim_energy_gev) for e in energies])])
    invariant = {
        "above_reference": int(np.sum(reference_response[lowest] > overshoot)),
        "n_lowest": int(lowest.sum()),
        "deta_chi2_ndf_reference": _deta_flatness(test, reference_response, claim_mev),
    }
    features_reference = None
    if c2st_max_iter is not None:
        reference_variables = shower_variables(test.cells, test) if test_variables is None else test_variables
        features_reference = classifier_features(reference_variables, test, EPOCH_PICKING_VARIABLES)
        del reference_variables
    rows = {}
    for (training, label), model in models.items():
        for seed in seeds:
            key = (training, label, seed)
            cells = generated[key] if key in generated else generate_like(model, test, seed=seed)
            response = cells.sum(axis=1) / test.energy
            table = response_resolution(test.energy, {"Reference": reference_response, label: response})
            ratios = [resolution_ratio(table, label, e) for e in table.loc["Reference"].index]
            claim = resolution_ratio(table, label, claim_energy_gev)
            row = {
                "ratio": claim.value,
                "error": claim.error,
                "deviation": claim.deviation,
                "within": sum(abs(r.value - 1.0) < tolerance for r in ratios),
                "energies": len(ratios),
                "above": int(np.sum(response[lowest] > overshoot)),
                "deta_chi2_ndf": _deta_flatness(test, response, claim_mev),
                **invariant,
            }
            if features_reference is not None:
                variables = generated_variables[key] if key in generated_variables else shower_variables(cells, test)
                features = classifier_features(variables, test, EPOCH_PICKING_VARIABLES)
                result = classifier_two_sample_test(
                    features_reference, features, seed=seed, max_iter=c2st_max_iter, n_threads=n_threads, paired=True
                )
                row.update(AUC=result.auc, AUC_error=result.error)
            rows[key] = row
            del cells
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["training", "sample", "latent_seed"])
    return out


def _deta_flatness(test: ShowerArrays, response: np.ndarray, at_mev: float) -> float:
    """chi2 / ndf of ``response`` against its mean in 8 Δη bins of the test showers at ``at_mev``."""
    profile = response_vs_condition(test.energy, {"sample": response}, test.deta, "deta", 8, at_mev=at_mev)
    return profile.flatness("sample")["chi2_ndf"]


def _precomputed(
    generated: Mapping | None,
    generated_variables: Mapping | None,
    models: Mapping,
    seeds: list[int],
    test: ShowerArrays,
) -> tuple[dict, dict]:
    """Check the showers and variables the caller already has against the models, seeds and test showers."""
    expected = {(training, label, seed) for training, label in models for seed in seeds}
    checked = []
    for name, given in (("generated", generated), ("generated_variables", generated_variables)):
        if given is None:
            checked.append({})
            continue
        if not isinstance(given, Mapping):
            raise InputError(f"{name} must be a mapping (training, label, latent_seed) -> showers' {name} or None")
        unknown = [key for key in given if key not in expected]
        if unknown:
            raise InputError(
                f"{name} has keys {unknown} that are not (training, label, latent_seed) of models x latent_seeds: "
                f"give only {sorted(expected, key=repr)}"
            )
        checked.append(dict(given))
    showers, variables = checked
    without_showers = [key for key in variables if key not in showers]
    if without_showers:
        raise InputError(f"generated_variables has keys {without_showers} that generated lacks: give their showers too")
    for key, cells in showers.items():
        shape = getattr(cells, "shape", None)
        if not isinstance(cells, np.ndarray) or shape != test.cells.shape:
            raise InputError(
                f"generated[{key!r}] must be an array of the test cells' shape {test.cells.shape} (one shower per test "
                f"shower, from generate_like), got {type(cells).__name__} of shape {shape}"
            )
    for key, table in variables.items():
        _check_variables(f"generated_variables[{key!r}]", table, test)
    return showers, variables


def _check_variables(name: str, table: Any, test: ShowerArrays) -> None:
    """Refuse a table that is not one row of ``shower_variables`` per test shower, in order."""
    if not isinstance(table, pd.DataFrame) or not table.index.equals(pd.RangeIndex(len(test))):
        raise InputError(
            f"{name} must be shower_variables(cells, test): a DataFrame with one row per test shower, in order "
            f"(index 0..{len(test) - 1}), got {type(table).__name__} of "
            f"{len(table) if hasattr(table, '__len__') else 'no'} rows"
        )
