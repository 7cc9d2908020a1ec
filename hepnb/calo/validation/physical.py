"""Checkpoints whose showers respect the energy a photon can deposit: the check the epoch-picking metrics do not make.

The per-epoch response chi2 of `hepnb.calo.epoch_metrics` bins the response on the reference's range, so a
generated shower that deposits four times the photon's energy lands outside every bin and costs nothing; and a
Wasserstein critic weighs such a tail by its tiny probability (see `overshoot_breakdown`). On the shipped CPU
trainings the number of 1 GeV showers above 1.5 x E_true jumps from checkpoint to checkpoint (1 to 240 of 50,000
in notebook 01; above 2 x E_true 0 to 91), so a rule blind to it can land on a bad checkpoint. `tail_excess`
tests one checkpoint's tail against simulated showers', and `physical_checkpoints` runs it over archives, on a
sample simulated for them (never the test sample), to give the EpochPicker its ``candidates``. Passing bounds the
tail's rate, not each shower: the checkpoint with the smallest tail still makes a rare outlier.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hepnb.calo.validation.reference import generate_like
from hepnb.errors import InputError, as_finite_array, is_whole_number

__all__ = ["THRESHOLD", "CEILING", "ALPHA", "CEILING_RATE", "LOWEST_ENERGY_MEV", "tail_excess", "physical_checkpoints"]

THRESHOLD = 1.5
"""Response (sum of the cells over E_true) above which a shower counts in the tail test."""
CEILING = 2.0
"""Twice the photon's energy: no sampling fluctuation of the simulated calorimeter gets there (its largest response
in 50,000 showers at 1 GeV is 1.47); `CEILING_RATE` is the fraction of showers tolerated above it."""
LOWEST_ENERGY_MEV = 1024.0
"""The lowest energy of the training set (2^10 MeV), where the overshoots are."""
ALPHA = 0.01
"""Significance below which a generated tail above `THRESHOLD` is called an excess over the reference's."""
CEILING_RATE = 1e-4
"""Largest tolerated fraction of showers above `CEILING`: one in 10,000. A bound on the rate, not on every shower: a
checkpoint that passes can still make a rare shower far above the ceiling."""


def tail_excess(
    reference_response: Any,
    generated_response: Any,
    *,
    threshold: float = THRESHOLD,
    ceiling: float = CEILING,
    alpha: float = ALPHA,
    ceiling_rate: float = CEILING_RATE,
) -> dict[str, float | int | bool]:
    """Whether generated responses have more showers above ``threshold`` than the reference, or more than a
    fraction ``ceiling_rate`` above ``ceiling``.

    The counts above ``threshold`` are compared with the conditional binomial test of two Poisson rates: given the
    total count k, the generated count is Binomial(k, n_gen / (n_gen + n_ref)) if the rates are equal, and
    ``p_value`` is the chance of a generated count at least as large.

    Parameters
    ----------
    reference_response, generated_response
        ``[N]`` responses (sum of the cells over E_true) at one energy point.
    threshold, ceiling, alpha, ceiling_rate
        The tail threshold, the ceiling, the test's significance level and the tolerated fraction above the ceiling.
        The largest response is reported, not tested: over tens of thousands of showers it is set by one shower
        and changes from sample to sample far more than the rates.

    Returns
    -------
    dict
        ``n``, ``above`` (generated count above the threshold), ``above_reference``, ``p_value``, ``above_ceiling``,
        ``max`` (largest generated response) and ``passes`` (``p_value >= alpha`` and ``above_ceiling <=
        ceiling_rate x n``).

    Examples
    --------
    >>> reference = np.full(5000, 0.95); reference[0] = 1.51  # one reference shower above 1.5
    >>> generated = np.full(5000, 0.95); generated[:8] = 1.6  # eight generated ones
    >>> result = tail_excess(reference, generated)
    >>> result["above"], result["above_reference"], round(result["p_value"], 4), result["passes"]
    (8, 1, 0.0195, True)
    >>> generated[:2] = 4.3  # two showers at 4.3 x E_true: 4e-4 of them above the ceiling
    >>> tail_excess(reference, generated)["passes"]
    False
    """
    reference = as_finite_array(reference_response, "reference_response", ndim=1)
    generated = as_finite_array(generated_response, "generated_response", ndim=1)
    if len(reference) == 0 or len(generated) == 0:
        raise InputError("both response samples need showers")
    if not (0 < threshold < ceiling and np.isfinite(ceiling)) or not 0 < alpha < 1 or not 0 <= ceiling_rate < 1:
        raise InputError(
            f"need 0 < threshold ({threshold}) < ceiling ({ceiling}), alpha ({alpha}) in (0, 1) and ceiling_rate "
            f"({ceiling_rate}) in [0, 1); e.g. 1.5, 2, 0.01, 1e-4"
        )
    above, above_reference = int(np.count_nonzero(generated > threshold)), int(np.count_nonzero(reference > threshold))
    total = above + above_reference
    share = len(generated) / (len(generated) + len(reference))
    p_value = float(stats.binom.sf(above - 1, total, share)) if above else 1.0
    above_ceiling = int(np.count_nonzero(generated > ceiling))
    return {
        "n": len(generated),
        "above": above,
        "above_reference": above_reference,
        "p_value": p_value,
        "above_ceiling": above_ceiling,
        "max": float(generated.max()),
        "passes": bool(p_value >= alpha and above_ceiling <= ceiling_rate * len(generated)),
    }


def physical_checkpoints(
    archives: Any,
    *,
    seed: int,
    energy_mev: float = LOWEST_ENERGY_MEV,
    n_showers: int = 50_000,
    threshold: float = THRESHOLD,
    ceiling: float = CEILING,
    alpha: float = ALPHA,
    ceiling_rate: float = CEILING_RATE,
    shower_model: str | None = None,
) -> pd.DataFrame:
    """`tail_excess` for every checkpoint of one or several calorimeter GANs' archives, at one energy point.

    ``n_showers`` photons are simulated at ``energy_mev`` from their own ``seed`` (independent of the training, the
    epoch-picking and the test samples; the simulator is cheap), once for all the archives, and every checkpoint
    generates one shower per simulated one, with the same conditions. The tail is rare, so the samples are large:
    with 50,000 showers each and no simulated shower above the threshold, the test flags 7 or more generated ones (a
    rate of 1.4e-4).

    Parameters
    ----------
    archives
        A `hepnb.training.EpochArchive` of `hepnb.calo.gan.CaloGAN` checkpoints, or a mapping of names to such
        archives (the GANs are then tested on the same simulated showers).
    seed
        Seed of the simulated showers and of the generated showers' latent vectors.
    energy_mev
        The energy point, by default the lowest of the training (1.024 GeV), where the overshoots are.
    n_showers
        Simulated showers, and generated showers per checkpoint (>= 100).
    threshold, ceiling, alpha, ceiling_rate
        As in `tail_excess`.
    shower_model
        The simulator's tuning the GANs were trained on (``hepnb train calo --shower-model``; None is the default).

    Returns
    -------
    pandas.DataFrame
        Index ``epoch`` (every checkpoint, in order), or ``(model, epoch)`` for a mapping; the columns of
        `tail_excess`. The epochs with ``passes`` are the EpochPicker's ``candidates``.
    """
    from hepnb.calo.gflash import ShowerModel
    from hepnb.calo.simulate import simulate
    from hepnb.calo.validation.reference import as_shower_arrays

    named = dict(archives) if isinstance(archives, Mapping) else {None: archives}
    if not named:
        raise InputError("archives is an empty mapping: give at least one EpochArchive")
    for name, archive in named.items():
        what = "archive" if name is None else f"archives[{name!r}]"
        if not hasattr(archive, "epochs") or not hasattr(archive, "load"):
            raise InputError(f"{what} must be an EpochArchive of CaloGAN checkpoints, got {type(archive).__name__}")
        if not archive.epochs:
            raise InputError(f"{archive.path} has no checkpoint: train first")
    if not is_whole_number(n_showers) or n_showers < 100:
        raise InputError(
            f"n_showers must be an integer >= 100 (the tail is rare: use tens of thousands), got {n_showers!r}"
        )
    model = ShowerModel.named(shower_model)
    showers = as_shower_arrays(simulate(int(n_showers), [float(energy_mev)], seed=seed, model=model, progress=False))
    reference_response = showers.cells.sum(axis=1) / showers.energy
    tables = {}
    for name, archive in named.items():
        rows = {}
        for epoch in archive.epochs:
            generated = generate_like(archive.load(epoch), showers, seed=seed)
            rows[epoch] = tail_excess(
                reference_response,
                generated.sum(axis=1) / showers.energy,
                threshold=threshold,
                ceiling=ceiling,
                alpha=alpha,
                ceiling_rate=ceiling_rate,
            )
        tables[name] = pd.DataFrame.from_dict(rows, orient="index").rename_axis("epoch")
    if not isinstance(archives, Mapping):
        return tables[None]
    return pd.concat(tables, names=["model"])
