"""Checkpoints whose showers respect the energy a photon can deposit: the check the epoch-picking metrics do not make.

The per-epoch response chi2 of `hepnb.calo.epoch_metrics` bins the response on the reference's range, so a
generated shower that deposits four times the photon's energy lands outside every bin and costs nothing; and a
Wasserstein critic weighs such a tail by its tiny probability (see `overshoot_breakdown`). On the shipped CPU
trainings the number of 1 GeV showers above 1.5 x E_true jumps from checkpoint to checkpoint (3 to 257 of about
50,000; above 2 x E_true 0 to 90), so a rule blind to it can land on a bad checkpoint. `tail_excess`
tests one checkpoint's tail against the reference's, and `physical_checkpoints` runs it over an archive, on the
epoch-picking reference (never the test sample), to give the EpochPicker its ``candidates``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hepnb.calo.data import ShowerArrays
from hepnb.calo.validation.reference import generate_like
from hepnb.errors import InputError, as_finite_array

__all__ = ["THRESHOLD", "CEILING", "ALPHA", "CEILING_RATE", "tail_excess", "physical_checkpoints"]

THRESHOLD = 1.5
"""Response (sum of the cells over E_true) above which a shower counts in the tail test."""
CEILING = 2.0
"""No shower may deposit twice the photon's energy: no sampling fluctuation of an EM calorimeter does that."""
ALPHA = 0.01
"""Significance below which a generated tail above `THRESHOLD` is called an excess over the reference's."""
CEILING_RATE = 1e-4
"""Largest tolerated fraction of showers above `CEILING`: at most one in 10,000 (the simulator has none in 15,000
showers at 1 GeV; the largest it gives is about 1.5 x E_true)."""


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
    archive: Any,
    reference: ShowerArrays,
    *,
    seed: int,
    energy_mev: float | None = None,
    draws: int = 10,
    threshold: float = THRESHOLD,
    ceiling: float = CEILING,
    alpha: float = ALPHA,
    ceiling_rate: float = CEILING_RATE,
) -> pd.DataFrame:
    """`tail_excess` for every checkpoint of a calorimeter GAN's archive, at one energy point.

    The tail is rare (1e-5 to 1e-3 of the showers above 1.5 x E_true), so each reference shower's conditions are
    generated ``draws`` times: with 10 draws on about 5,000 reference showers a checkpoint's rates are measured on
    about 50,000 showers.

    Parameters
    ----------
    archive
        A `hepnb.training.EpochArchive` of `hepnb.calo.gan.CaloGAN` checkpoints.
    reference
        The epoch-picking reference showers (not the test sample: the choice must not see it).
    seed
        Latent seed of the generated showers (``draws`` per reference shower at the energy point, same conditions).
    energy_mev
        The energy point (default: the lowest, where the overshoots are).
    draws
        Generated showers per reference shower (>= 1).
    threshold, ceiling, alpha, ceiling_rate
        As in `tail_excess`.

    Returns
    -------
    pandas.DataFrame
        Index ``epoch`` (every checkpoint, in order); the columns of `tail_excess`. The epochs with ``passes`` are
        the EpochPicker's ``candidates``.
    """
    if not isinstance(reference, ShowerArrays):
        raise InputError(f"reference must be a ShowerArrays (training_reference(...)), got {type(reference).__name__}")
    if not hasattr(archive, "epochs") or not hasattr(archive, "load"):
        raise InputError(f"archive must be an EpochArchive of CaloGAN checkpoints, got {type(archive).__name__}")
    if not isinstance(draws, (int, np.integer)) or isinstance(draws, bool) or draws < 1:
        raise InputError(f"draws must be an integer >= 1 (generated showers per reference shower), got {draws!r}")
    point = float(reference.energy.min()) if energy_mev is None else float(energy_mev)
    at = np.flatnonzero(np.isclose(reference.energy, point))
    if len(at) == 0:
        raise InputError(f"no reference showers at {point} MeV; energy points: {np.unique(reference.energy).tolist()}")
    showers = reference.subset(at)
    reference_response = showers.cells.sum(axis=1) / showers.energy
    showers = showers.subset(np.tile(np.arange(len(at)), draws))
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
    if not rows:
        raise InputError(f"{archive.path} has no checkpoint: train first")
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("epoch")
