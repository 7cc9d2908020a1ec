"""JetNet's evaluation metrics for particle-cloud generators: W1M, W1P, W1EFP, FPD, KPD, COV and MMD, and the AUC.

Plain functions over particle clouds ``[N_jets, N_particles, 3 or 4]`` with JetNet's features
``(eta_rel, phi_rel, pT_rel[, mask])`` (:mod:`hepnb.metrics.particle_clouds` for the masking rules), with the
definitions and defaults of JetNet's ``jetnet/evaluation/gen_metrics.py`` (Kansal et al., arXiv:2106.11535 for
W1/COV/MMD, arXiv:2211.10295 for FPD/KPD). Every function returns a frozen result with ``value`` and ``error``:

- :func:`w1m`, :func:`w1p`, :func:`w1efp`: 1-Wasserstein distances of the jet mass (relative, from massless
  constituents), of each particle feature (real particles only) and of the 5 EFPs of
  :func:`hepnb.metrics.efp.w1efp_graphs`, on ``num_batches`` = 5 batches of ``num_eval_samples`` = 50 000 jets drawn
  with replacement from each sample. ``value`` is the mean over batches and ``error`` their standard deviation
  (``ddof=0``, as JetNet).
  For several features ``value`` is the mean of the per-feature values and ``error`` the root-sum-square of their
  errors (the averaging of JetNet 0.x, which made MPGAN's table 1); the per-feature numbers are kept.
- :func:`fpd`, :func:`kpd` (from :mod:`hepnb.metrics.physics_distances`) on :func:`fpd_kpd_features`, the 36 EFPs
  with d <= 4 (:mod:`hepnb.metrics.efp`), normalised on the real sample.
- :func:`cov_mmd`: coverage and minimum matching distance with the energy mover's distance
  (:func:`energy_movers_distance`, arXiv:1902.02346), on ``num_batches`` = 10 batches of ``num_eval_samples`` = 100
  jets from each sample. COV is the fraction of real jets that are the nearest neighbour of some generated jet; MMD
  is the mean over *real* jets of the EMD to the nearest generated jet (Achlioptas et al., arXiv:1707.02392). This is
  what JetNet computes (``np.min(dists, axis=0)`` over the generated jets), although a comment there says the
  opposite. "MMD" here is not the kernel maximum mean discrepancy of :func:`kpd`.
- :func:`~hepnb.metrics.particle_classifier.particle_classifier_test`: held-out AUC of a Deep Sets classifier.

:func:`real_baseline` evaluates any of them on two disjoint halves of the real sample at the generated sample's
size (the "truth" rows of arXiv:2211.10295). Samples smaller than JetNet's recommended sizes give a
:class:`~hepnb.metrics.physics_distances.SmallSampleWarning`. Seeds default to 42 (JetNet's FPD/KPD seed); JetNet's
W1 and COV/MMD draw unseeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import wasserstein_distance

from hepnb.errors import InputError, as_finite_array
from hepnb.metrics.efp import energy_flow_polynomials, w1efp_graphs
from hepnb.metrics.particle_classifier import particle_classifier_test
from hepnb.metrics.particle_clouds import ParticleCloud, angular_distances, jet_mass, particle_cloud
from hepnb.metrics.physics_distances import RECOMMENDED_SIZE, SmallSampleWarning, fpd, kpd, warn_if_small

__all__ = [
    "JetMetricResult",
    "SmallSampleWarning",
    "cov_mmd",
    "energy_movers_distance",
    "fpd",
    "fpd_kpd_features",
    "kpd",
    "particle_classifier_test",
    "real_baseline",
    "w1efp",
    "w1m",
    "w1p",
]

PARTICLE_FEATURES = ("eta_rel", "phi_rel", "pt_rel")


@dataclass(frozen=True)
class JetMetricResult:
    """A metric averaged over batches of jets, with its spread and what it was computed on.

    Attributes
    ----------
    metric
        ``"W1M"``, ``"W1P"``, ``"W1EFP"``, ``"COV"`` or ``"MMD"``.
    value, error
        Mean over batches (and over features, if several) and the spread (module docstring).
    n_real, n_generated
        Jets in each sample.
    num_eval_samples, num_batches
        Jets per batch (from each sample) and number of batches.
    seed
        Seed of the batches.
    features, feature_values, feature_errors
        Per-feature values and errors, when the metric has several features (W1P, W1EFP).
    """

    metric: str
    value: float
    error: float
    n_real: int
    n_generated: int
    num_eval_samples: int
    num_batches: int
    seed: int
    features: tuple[str, ...] = ()
    feature_values: tuple[float, ...] = ()
    feature_errors: tuple[float, ...] = ()


def _check_batches(num_eval_samples: int, num_batches: int) -> None:
    if num_eval_samples < 1 or num_batches < 1:
        raise InputError(f"need num_eval_samples >= 1 and num_batches >= 1, got {num_eval_samples} and {num_batches}")


def _batched_w1(
    metric: str,
    real: np.ndarray,
    generated: np.ndarray,
    features: tuple[str, ...],
    num_eval_samples: int,
    num_batches: int,
    seed: int,
    select: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> JetMetricResult:
    """W1 per feature (last axis) over batches of jets drawn with replacement; ``select`` maps the drawn jet
    indices to the entries (e.g. the real particles of those jets)."""
    _check_batches(num_eval_samples, num_batches)
    rng = np.random.default_rng(seed)
    w1s = np.empty((num_batches, len(features)))
    for k in range(num_batches):
        a = rng.choice(len(real), size=num_eval_samples)
        b = rng.choice(len(generated), size=num_eval_samples)
        sample_a, sample_b = (real[a], generated[b]) if select is None else select(a, b)
        if len(sample_a) == 0 or len(sample_b) == 0:
            raise InputError(f"{metric}: a batch has no real particles; check the masks and the pT column")
        w1s[k] = [wasserstein_distance(sample_a[:, j], sample_b[:, j]) for j in range(len(features))]
    means, stds = w1s.mean(axis=0), w1s.std(axis=0)
    several = len(features) > 1
    return JetMetricResult(
        metric=metric,
        value=float(means.mean()),
        error=float(np.sqrt(np.sum(stds**2))),
        n_real=len(real),
        n_generated=len(generated),
        num_eval_samples=int(num_eval_samples),
        num_batches=int(num_batches),
        seed=int(seed),
        features=features if several else (),
        feature_values=tuple(float(m) for m in means) if several else (),
        feature_errors=tuple(float(s) for s in stds) if several else (),
    )


def _clouds(
    real_jets: Any, generated_jets: Any, real_mask: Any, generated_mask: Any, *, nonnegative_pt: bool = True
) -> tuple[ParticleCloud, ParticleCloud]:
    return (
        particle_cloud(real_jets, real_mask, name="real_jets", nonnegative_pt=nonnegative_pt),
        particle_cloud(generated_jets, generated_mask, name="generated_jets", nonnegative_pt=nonnegative_pt),
    )


def w1m(
    real_jets: Any,
    generated_jets: Any,
    *,
    real_mask: Any = None,
    generated_mask: Any = None,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> JetMetricResult:
    """1-Wasserstein distance of the jet mass (JetNet's ``w1m``; MPGAN quotes it x 10^3).

    Parameters
    ----------
    real_jets, generated_jets
        Particle clouds ``[N_jets, N_particles, 3 or 4]``; the jet counts may differ.
    real_mask, generated_mask
        Optional ``[N_jets, N_particles]`` masks (non-zero: real particle).
    num_eval_samples, num_batches
        Jets drawn (with replacement) from each sample per batch, and batches.
    seed
        Seeds the batches.

    Examples
    --------
    >>> import warnings; warnings.simplefilter("ignore", SmallSampleWarning)
    >>> jets = np.tile([[0.1, 0.0, 0.5], [-0.1, 0.0, 0.5]], (300, 1, 1))  # 300 copies of one jet
    >>> result = w1m(jets, jets, num_eval_samples=300, num_batches=2)
    >>> result.value, result.error
    (0.0, 0.0)
    """
    real, generated = _clouds(real_jets, generated_jets, real_mask, generated_mask)
    warn_if_small("W1M", RECOMMENDED_SIZE, real=real.n_jets, generated=generated.n_jets)
    return _batched_w1(
        "W1M", jet_mass(real)[:, None], jet_mass(generated)[:, None], ("mass",), num_eval_samples, num_batches, seed
    )


def w1p(
    real_jets: Any,
    generated_jets: Any,
    *,
    real_mask: Any = None,
    generated_mask: Any = None,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> JetMetricResult:
    """1-Wasserstein distances of the particle features ``(eta_rel, phi_rel, pT_rel)`` of the real particles of
    the jets of each batch (JetNet's ``w1p`` with ``exclude_zeros=True``); ``value`` averages the three.

    Parameters are those of :func:`w1m`. Negative pT is accepted here (it is a feature like the others).
    """
    real, generated = _clouds(real_jets, generated_jets, real_mask, generated_mask, nonnegative_pt=False)
    warn_if_small("W1P", RECOMMENDED_SIZE, real=real.n_jets, generated=generated.n_jets)
    features_a, features_b = real.features(), generated.features()

    def real_particles(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return features_a[a][real.mask[a]], features_b[b][generated.mask[b]]

    return _batched_w1(
        "W1P", features_a, features_b, PARTICLE_FEATURES, num_eval_samples, num_batches, seed, select=real_particles
    )


def w1efp(
    real_jets: Any,
    generated_jets: Any,
    *,
    real_mask: Any = None,
    generated_mask: Any = None,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> JetMetricResult:
    """1-Wasserstein distances of the 5 connected EFPs with n = 4, d = 4 (kappa = beta = 1, unnormalised pT),
    JetNet's default ``w1efp`` set; ``value`` averages the five (MPGAN quotes it x 10^5).

    Parameters are those of :func:`w1m`.
    """
    real, generated = _clouds(real_jets, generated_jets, real_mask, generated_mask)
    warn_if_small("W1EFP", RECOMMENDED_SIZE, real=real.n_jets, generated=generated.n_jets)
    graphs = w1efp_graphs()
    return _batched_w1(
        "W1EFP",
        energy_flow_polynomials(real, graphs=graphs),
        energy_flow_polynomials(generated, graphs=graphs),
        tuple(str(g) for g in graphs),
        num_eval_samples,
        num_batches,
        seed,
    )


def fpd_kpd_features(jets: Any, mask: Any = None) -> np.ndarray:
    """The features of :func:`fpd` and :func:`kpd` for jets: the 36 EFPs with d <= 4, ``[N_jets, 36]``
    (JetNet's ``get_fpd_kpd_jet_features``; kappa = beta = 1, unnormalised pT)."""
    return energy_flow_polynomials(jets, mask)


def _emd(pt_a: np.ndarray, pt_b: np.ndarray, theta: np.ndarray) -> float:
    """EMD of two jets given their pTs and the [P_a, P_b] angular distances (already divided by R)."""
    import ot

    keep_a, keep_b = pt_a > 0, pt_b > 0
    pt_a, pt_b, theta = pt_a[keep_a], pt_b[keep_b], theta[np.ix_(keep_a, keep_b)]
    total_a, total_b = pt_a.sum(), pt_b.sum()
    if len(pt_a) == 0 or len(pt_b) == 0:
        return float(abs(total_a - total_b))
    # the pT difference is carried by an extra particle at distance R from everything (energyflow's emd_pot)
    if total_b > total_a:
        pt_a, theta = np.append(pt_a, total_b - total_a), np.vstack([theta, np.ones((1, len(pt_b)))])
    elif total_a > total_b:
        pt_b, theta = np.append(pt_b, total_a - total_b), np.hstack([theta, np.ones((len(pt_a), 1))])
    scale = max(total_a, total_b)  # unit total for the solver's tolerance
    # the marginals balance by construction and the dual potentials are not used: skip both (half the time)
    return float(ot.emd2(pt_a / scale, pt_b / scale, theta, check_marginals=False, center_dual=False) * scale)


def energy_movers_distance(jet_a: Any, jet_b: Any, *, mask_a: Any = None, mask_b: Any = None, R: float = 1.0) -> float:
    """Energy mover's distance of two jets (Komiske, Metodiev and Thaler, arXiv:1902.02346, eq. 2.1)::

        EMD = min_f sum_ij f_ij theta_ij / R + |sum_i pT_i - sum_j pT'_j|,
        f_ij >= 0, sum_j f_ij <= pT_i, sum_i f_ij <= pT'_j, sum_ij f_ij = min(sum pT, sum pT')

    solved with POT's ``ot.emd2`` (JetNet calls energyflow's ``emds`` with R = 1, beta = 1, unnormalised pT).

    Parameters
    ----------
    jet_a, jet_b
        Single jets ``[N_particles, 3 or 4]`` with ``(eta_rel, phi_rel, pT_rel[, mask])``.
    mask_a, mask_b
        Optional ``[N_particles]`` masks.
    R
        Jet radius: the angular cost is theta / R, moving pT in or out costs 1 per unit.

    Examples
    --------
    >>> # one particle of pT 1 moved by 0.3 in eta
    >>> round(energy_movers_distance([[0.0, 0.0, 1.0]], [[0.3, 0.0, 1.0]]), 9)
    0.3
    """
    if not (np.isfinite(R) and R > 0):
        raise InputError(f"R must be positive and finite, got {R}")
    clouds = []
    for jet, mask, name in ((jet_a, mask_a, "jet_a"), (jet_b, mask_b, "jet_b")):
        array = as_finite_array(jet, name)
        if array.ndim != 2:
            raise InputError(f"{name} must be one jet [N_particles, 3 or 4], got shape {array.shape}")
        clouds.append(particle_cloud(array[None], None if mask is None else np.asarray(mask)[None], name=name))
    a, b = clouds
    theta = angular_distances(a.eta[0], a.phi[0], b.eta[0], b.phi[0]) / R
    return _emd(a.pt[0], b.pt[0], theta)


def cov_mmd(
    real_jets: Any,
    generated_jets: Any,
    *,
    real_mask: Any = None,
    generated_mask: Any = None,
    num_eval_samples: int = 100,
    num_batches: int = 10,
    seed: int = 42,
    progress: bool | None = None,
) -> tuple[JetMetricResult, JetMetricResult]:
    """Coverage (COV, higher is better) and minimum matching distance (MMD) with the EMD (JetNet's ``cov_mmd``).

    Per batch, ``num_eval_samples`` real and generated jets are drawn with replacement and all their EMDs computed:
    COV = (number of distinct real jets that are the nearest neighbour of a generated jet) / num_eval_samples,
    MMD = mean over the real jets of the EMD to the nearest generated jet. Returns ``(cov, mmd)``, each the mean over
    batches with their standard deviation as error.

    Parameters
    ----------
    real_jets, generated_jets, real_mask, generated_mask
        As in :func:`w1m`.
    num_eval_samples, num_batches
        Jets per sample and batch (100: 10^4 EMDs per batch), and batches.
    seed
        Seeds the batches.
    progress
        Show a progress bar (default: for 10^5 EMDs or more).
    """
    from tqdm.auto import tqdm

    real, generated = _clouds(real_jets, generated_jets, real_mask, generated_mask)
    _check_batches(num_eval_samples, num_batches)
    warn_if_small("COV/MMD", num_eval_samples, real=real.n_jets, generated=generated.n_jets)
    show = num_batches * num_eval_samples**2 >= 100_000 if progress is None else bool(progress)
    rng = np.random.default_rng(seed)
    covs, mmds = [], []
    for _ in tqdm(range(num_batches), desc="COV/MMD", disable=not show):
        a, b = (
            real.take(rng.choice(real.n_jets, num_eval_samples)),
            generated.take(rng.choice(generated.n_jets, num_eval_samples)),
        )
        dists = np.empty((num_eval_samples, num_eval_samples))  # [generated, real], as JetNet
        for i in range(num_eval_samples):
            thetas = angular_distances(b.eta[i], b.phi[i], a.eta, a.phi)  # [real jets, P_gen, P_real]
            dists[i] = [_emd(b.pt[i], a.pt[j], thetas[j]) for j in range(num_eval_samples)]
        mmds.append(float(np.mean(dists.min(axis=0))))
        covs.append(len(np.unique(dists.argmin(axis=1))) / num_eval_samples)
    common = dict(
        n_real=real.n_jets,
        n_generated=generated.n_jets,
        num_eval_samples=int(num_eval_samples),
        num_batches=int(num_batches),
        seed=int(seed),
    )
    return (
        JetMetricResult("COV", float(np.mean(covs)), float(np.std(covs)), **common),
        JetMetricResult("MMD", float(np.mean(mmds)), float(np.std(mmds)), **common),
    )


def real_baseline(
    metric: Callable[..., Any], real: Any, n_jets: int | None = None, *, split_seed: int = 0, **kwargs: Any
) -> Any:
    """``metric`` evaluated on two disjoint random subsets of ``n_jets`` real jets each: the value a perfect
    generator would get at that sample size (the "truth" rows of arXiv:2211.10295).

    Parameters
    ----------
    metric
        Any metric of this module called as ``metric(real_a, real_b, **kwargs)``, e.g. :func:`w1m`,
        :func:`fpd` (then ``real`` holds features) or :func:`particle_classifier_test`.
    real
        Real jets ``[N, N_particles, 3 or 4]`` (a separate mask folded in as the 4th feature, or a
        :class:`~hepnb.metrics.particle_clouds.ParticleCloud`) or features ``[N, n_features]``.
    n_jets
        Jets per subset: the generated sample's size; needs ``2 n_jets <= N`` (default ``N // 2``).
    split_seed
        Seeds the split into the two subsets.
    **kwargs
        Passed to ``metric`` (its own ``seed`` included).

    Examples
    --------
    >>> import warnings; warnings.simplefilter("ignore", SmallSampleWarning)
    >>> rng = np.random.default_rng(1)
    >>> real = np.concatenate([rng.normal(0, 0.1, (400, 8, 2)), rng.random((400, 8, 1)) / 8], axis=-1)
    >>> baseline = real_baseline(w1m, real, 200, num_eval_samples=200, num_batches=2)
    >>> baseline.n_real, baseline.n_generated
    (200, 200)
    """
    size = real.n_jets if isinstance(real, ParticleCloud) else len(np.asarray(real))
    n_jets = size // 2 if n_jets is None else int(n_jets)
    if n_jets < 1 or 2 * n_jets > size:
        raise InputError(
            f"the baseline needs two disjoint subsets of {n_jets} jets but the real sample has {size}: pass "
            f"n_jets <= {size // 2} or more real jets"
        )
    order = np.random.default_rng(split_seed).permutation(size)
    first, second = order[:n_jets], order[n_jets : 2 * n_jets]
    if isinstance(real, ParticleCloud):
        return metric(real.take(first), real.take(second), **kwargs)
    array = np.asarray(real)
    return metric(array[first], array[second], **kwargs)
