"""Study 3's method family: the ch7 samples, MadMiner's method table and the training of every method (notebook 03).

* :func:`make_samples`: detector-free (``detector="none"``) VBF samples with the ch7 preselection, the training one
  with the generator's weights (the joint ratio and score depend on the latent helicities: real "gold"), the
  evaluation one with helicity-summed weights (same expectations, less MC noise, the oracle peaks at the truth);
* :data:`METHODS`: MadMiner's method table (Brehmer et al., arXiv:1907.10621), what each method uses;
* :func:`train_method`: mine the augmented sample a method needs and train its estimator, timed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.lfi import augmented, estimators, oracle
from hepnb.offshell import Events, generate
from hepnb.stats.constants import THESIS_KAPPA_GRID, THESIS_LUMI

__all__ = [
    "PRESET",
    "SUMMARY",
    "METHODS",
    "UNIFORM_KAPPAS",
    "RATIO_HIDDEN",
    "numerator_kappas",
    "make_samples",
    "make_calibration_sample",
    "SAMPLE_ROLES",
    "sample_seed",
    "VALIDATION_FRACTION",
    "split_events",
    "TrainedMethod",
    "train_method",
]

#: The ch7 preselection (m4l > 220 GeV, two jets).
PRESET = "thesis-ch7"
#: A 3-D summary of the observables for lower-dimensional density estimators (``observables=SUMMARY``).
SUMMARY: tuple[str, ...] = ("m4l", "delta_eta_jj", "pt_j1")

#: MadMiner's method table (Brehmer et al., arXiv:1907.10621; as shown in A. Ghosh's talk "Measuring Quantum
#: Interference in the Off-shell Higgs to 4 Leptons with ML"): group, what the network estimates, uses r(x,z),
#: uses t(x,z), and how the limits are set. SALLY appears once: MadMiner sets SALLY's limits with a histogram of the
#: estimated score t_hat, and SALLINO's histogram of t_hat . (theta - theta_ref) is the same histogram for one
#: parameter, so ``"sally"`` is both. ``"sally local model"`` is the same score network used in hepnb's local
#: exponential model ``p(x|theta) ~ p(x|SM) exp(t_hat . (theta - SM))`` (:func:`hepnb.lfi.sally_scan`), not a
#: MadMiner method.
METHODS: dict[str, dict[str, Any]] = {
    "carl": {"group": "likelihood ratio", "uses_r": False, "uses_t": False, "limits": "unbinned ratio"},
    "rolr": {"group": "likelihood ratio", "uses_r": True, "uses_t": False, "limits": "unbinned ratio"},
    "rascal": {"group": "likelihood ratio", "uses_r": True, "uses_t": True, "limits": "unbinned ratio"},
    "alice": {"group": "likelihood ratio", "uses_r": True, "uses_t": False, "limits": "unbinned ratio"},
    "alices": {"group": "likelihood ratio", "uses_r": True, "uses_t": True, "limits": "unbinned ratio"},
    "cascal": {"group": "likelihood ratio", "uses_r": False, "uses_t": True, "limits": "unbinned ratio"},
    "sally": {"group": "score", "uses_r": False, "uses_t": True, "limits": "histogram of t_hat (= SALLINO)"},
    "sally local model": {"group": "score", "uses_r": False, "uses_t": True, "limits": "local exponential model"},
    "nde": {"group": "likelihood", "uses_r": False, "uses_t": False, "limits": "unbinned density"},
    "scandal": {"group": "likelihood", "uses_r": False, "uses_t": True, "limits": "unbinned density"},
}
#: Numerator points of the ratio and density estimators by default: uniform in kappa over the scan range [0, 2], at
#: the 50 midpoints of the thesis's evaluation grid (0.02, 0.06, ..., 1.98; a prior over theta, as MadMiner's
#: ``sample_train_ratio`` allows). No training point is an evaluation point, so the scans test the estimator's
#: interpolation in kappa, not its memory of the points it was trained on. ``numerator_kappas("grid")`` gives the
#: 51 grid points themselves (the earlier default), ``"thesis"`` the thesis's hand-picked list
#: (:data:`hepnb.lfi.THESIS_KAPPAS`): it puts 26 of its 27 points at 0.84 <= kappa <= 2 and the last at kappa = 0,
#: and trained on it ``log r_hat(x | kappa=0)`` does not close against the oracle (notebook 03).
UNIFORM_KAPPAS: tuple[float, ...] = tuple(
    float(k) for k in 0.5 * (np.asarray(THESIS_KAPPA_GRID)[1:] + np.asarray(THESIS_KAPPA_GRID)[:-1])
)
#: Hidden layers of the ratio estimators by default: two of 100 tanh units. The thesis's one layer of 300 does not
#: follow the kappa dependence from kappa = 0 to 2 (notebook 03).
RATIO_HIDDEN: tuple[int, ...] = (100, 100)


def numerator_kappas(choice: str) -> tuple[float, ...]:
    """The numerator points in kappa: ``"uniform"`` (:data:`UNIFORM_KAPPAS`, the midpoints of the evaluation grid),
    ``"grid"`` (the 51 evaluation grid points themselves) or ``"thesis"`` (the ch7 list).

    >>> pts = numerator_kappas("uniform")
    >>> len(pts), round(pts[0], 2), round(pts[-1], 2)
    (50, 0.02, 1.98)
    """
    points = {
        "uniform": UNIFORM_KAPPAS,
        "grid": tuple(float(k) for k in THESIS_KAPPA_GRID),
        "thesis": augmented.THESIS_KAPPAS,
    }
    if choice not in points:
        raise InputError(f"numerator points must be one of {list(points)}, got {choice!r}")
    return points[choice]


def _check_method(method: str) -> None:
    if method == "sallino":
        raise InputError(
            "'sallino' is 'sally' for one parameter (the same histogram of t_hat, MadMiner's SALLY limits): use "
            "'sally', or 'sally local model' for the local exponential model"
        )
    if method not in METHODS:
        raise InputError(f"method must be one of {list(METHODS)}, got {method!r}")


# ------------------------------------------------------------------------------------------------------------------
# samples
# ------------------------------------------------------------------------------------------------------------------
#: The event samples of one seed, each generated with its own seed (:func:`sample_seed`): the training sample, the
#: evaluation sample (the Asimov data of the scans) and the calibration sample (:func:`make_calibration_sample`).
SAMPLE_ROLES: tuple[str, ...] = ("train", "evaluation", "calibration")


def sample_seed(seed: int, role: str) -> int:
    """The generator seed of the ``role`` sample of ``seed``: an independent stream per (seed, role) pair.

    The seed is the first 64-bit word of ``numpy.random.SeedSequence(seed, spawn_key=(i,))``, the ``i``-th child of
    ``SeedSequence(seed)`` (``i`` the role's index in :data:`SAMPLE_ROLES`), halved to 63 bits so that it fits a
    signed 64-bit integer. Seed arithmetic (evaluation ``seed + 1``, calibration ``seed + 2``) made seed 3's
    evaluation sample seed 4's training sample, and spreads over seeds correlated; no two (seed, role) pairs share a
    generator seed (a test checks seeds 0 to 1000).

    Parameters
    ----------
    seed
        The study's seed (notebook 03's ``SEED``), a non-negative integer.
    role
        ``"train"``, ``"evaluation"`` or ``"calibration"``.

    Returns
    -------
    int
        The seed given to :func:`hepnb.offshell.generate` (stored in the sample's ``meta["seed"]``).

    Examples
    --------
    >>> seeds = {role: sample_seed(3, role) for role in SAMPLE_ROLES}
    >>> len(set(seeds.values())), sample_seed(3, "train") == seeds["train"], sample_seed(4, "train") in seeds.values()
    (3, True, False)
    """
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if role not in SAMPLE_ROLES:
        raise InputError(f"role must be one of {list(SAMPLE_ROLES)}, got {role!r}")
    sequence = np.random.SeedSequence(int(seed), spawn_key=(SAMPLE_ROLES.index(role),))
    return int(sequence.generate_state(1, dtype=np.uint64)[0]) >> 1


def _generate(n: int, seed: int, role: str, lumi: float) -> Events:
    events = generate(int(n), sample_seed(seed, role), detector="none", preset=PRESET, lumi=lumi, progress=False)
    return events if role == "train" else oracle.helicity_summed(events)


def make_samples(n_train: int, n_test: int, seed: int, *, lumi: float = THESIS_LUMI) -> tuple[Events, Events]:
    """Training and evaluation VBF samples, ``detector="none"``, ch7 preselection (about 42 % of the events pass).

    The training sample keeps the generator's weights (they follow the sampled helicities, a latent variable); the
    evaluation sample gets helicity-summed weights (:func:`hepnb.lfi.helicity_summed`): the same expectation of
    anything observable, less MC noise, and an Asimov oracle scan that peaks exactly at the true mu. Each is
    generated with its own seed, :func:`sample_seed` of ``(seed, "train")`` and ``(seed, "evaluation")``: no
    event in common, and none with another ``seed``'s samples.

    Examples
    --------
    >>> train, test = make_samples(2000, 1000, seed=3)
    >>> train.meta["seed"] == sample_seed(3, "train"), test.meta["weights"]
    (True, 'helicity-summed')
    """
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if not is_whole_number(n) or n < 1000:
            raise InputError(f"{name} must be an integer >= 1000 generated events, got {n!r}")
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return _generate(n_train, seed, "train", lumi), _generate(n_test, seed, "evaluation", lumi)


def make_calibration_sample(n: int, seed: int, *, lumi: float = THESIS_LUMI) -> Events:
    """An independent calibration sample: like :func:`make_samples`'s evaluation sample, generated with its own seed.

    ``seed`` is the one given to :func:`make_samples`; the events are generated with
    :func:`sample_seed` ``(seed, "calibration")``, so they share no event with the training or evaluation sample.
    Helicity-summed weights, as the evaluation sample: an exact likelihood ratio then has ``E_SM[r] = 1`` on this
    sample to rounding, so a calibration computed on it (:func:`hepnb.lfi.scans.calibrate_log_r`) leaves an exact
    ratio unchanged.

    >>> cal = make_calibration_sample(2000, seed=3)
    >>> cal.meta["weights"], cal.meta["seed"] == sample_seed(3, "calibration")
    ('helicity-summed', True)
    """
    if not is_whole_number(n) or n < 1000:
        raise InputError(f"n must be an integer >= 1000 generated events, got {n!r}")
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer (the seed given to make_samples), got {seed!r}")
    return _generate(n, seed, "calibration", lumi)


# ------------------------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------------------------
#: Fraction of the training events (and of the rows) held out for the validation loss: the validation fraction
#: :func:`hepnb.lfi.train_estimator` uses for its random row split (MadMiner's 0.25).
VALIDATION_FRACTION = 0.25


def split_events(events: Events, seed: int, fraction: float = VALIDATION_FRACTION) -> tuple[Events, Events]:
    """Split events at random into ``(training, validation)`` events, ``fraction`` of them for validation.

    Rows are mined with replacement from events, so a random split of mined rows puts one event in both the
    training and the validation rows; :func:`train_method` mines the two from the two parts of this split instead.
    The split is seeded from ``seed`` (``np.random.SeedSequence([seed, 31])``) and keeps the events' order.

    >>> train, _ = make_samples(2000, 1000, seed=3)
    >>> fit, val = split_events(train, seed=1)
    >>> len(fit) + len(val) == len(train), len(val) == round(0.25 * len(train))
    (True, True)
    """
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0 < fraction < 1:
        raise InputError(f"fraction must be in (0, 1), got {fraction!r}")
    n = len(events)
    n_val = int(round(fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise InputError(f"{n} events cannot be split with fraction={fraction}: use a larger training sample")
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 31])).permutation(n)
    return events[np.sort(order[n_val:])], events[np.sort(order[:n_val])]


@dataclass(frozen=True, eq=False)
class TrainedMethod:
    """A trained estimator, its method, its training time in seconds and the size of its training sample.

    ``estimator`` is an :class:`~hepnb.lfi.Ensemble` when the method was trained with ``members > 1``
    (:func:`train_method`); ``best_epoch`` is then the largest of the members' and ``member_best_epochs`` lists them.
    """

    method: str
    estimator: Any
    seconds: float
    n_rows: int
    best_epoch: int
    member_best_epochs: tuple[int, ...] = ()


def train_method(
    method: str,
    train: Events,
    *,
    n_samples: int,
    seed: int,
    max_epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    n_hidden: Sequence[int] | None = None,
    thetas: Sequence[float] = UNIFORM_KAPPAS,
    observables: Any = "thesis-ch7",
    patience: int | None = 5,
    members: int = 1,
    activation: str = "tanh",
    **trainer_options: Any,
) -> TrainedMethod:
    """Mine the augmented sample the method needs and train it; the time covers mining and training.

    Ratio methods get :func:`hepnb.lfi.mine_ratio_sample` (numerators ``thetas`` against the SM, default
    :data:`RATIO_HIDDEN`), ``"sally"`` and ``"sally local model"`` (one score network, two ways of setting limits,
    :data:`METHODS`) :func:`~hepnb.lfi.mine_local_sample` at the SM (1x100), NDE/SCANDAL
    :func:`~hepnb.lfi.mine_density_sample` (a zuko MAF, 5 MADEs of 1x100), all on ``observables`` (the 35 chapter-7
    observables by default, as MadMiner; :data:`SUMMARY` is a 3-D alternative for the flows). The learning rate
    decays to lr/10; ``activation`` is the hidden units' (tanh, MadMiner's default; ``"silu"``, ``"relu"``, ...).
    The training events are split by event (:func:`split_events`, :data:`VALIDATION_FRACTION` of them, seeded from
    ``seed``): the training rows are mined from one part and the validation rows (the same fraction of
    ``n_samples``) from the other, so early stopping and the kept epoch are judged on events not used for training.
    Both are mined with the whole sample's yields (``sigma(theta)`` of the joint ratio and score), and ``n_rows``
    counts both.
    ``members > 1`` trains an ensemble on the same mined rows (:func:`hepnb.lfi.train_ensemble`, member seeds from
    ``seed``): its prediction is the members' mean and their spread the error bar (MadMiner's ensembles);
    ``members = 1`` trains one estimator with ``seed`` itself.
    ``trainer_options`` (``accelerator``, ``devices``, ``strategy``) go to :func:`hepnb.lfi.train_estimator`; the
    default is the CPU.

    Examples
    --------
    >>> train, _ = make_samples(2000, 1000, seed=3)
    >>> tm = train_method("sally", train, n_samples=200, seed=1, max_epochs=1, n_hidden=(8,))
    >>> tm.method, tm.n_rows, tm.best_epoch, tm.seconds > 0
    ('sally', 200, 1, True)
    >>> pair = train_method("sally", train, n_samples=200, seed=1, max_epochs=1, n_hidden=(8,), members=2)
    >>> type(pair.estimator).__name__, len(pair.estimator), pair.member_best_epochs
    ('Ensemble', 2, (1, 1))
    >>> train_method("sally", train, n_samples=200, seed=1, max_epochs=1, activation="silu").estimator.net[1]
    SiLU()
    """
    _check_method(method)
    if not is_whole_number(members) or members < 1:
        raise InputError(f"members must be a positive number of estimators (1: no ensemble), got {members!r}")
    start = time.perf_counter()
    group = METHODS[method]["group"]
    opts: dict[str, Any] = {"lr": lr, "final_lr": lr / 10, "activation": activation}
    if not is_whole_number(n_samples) or n_samples < 2:
        raise InputError(f"n_samples must be an integer >= 2 (training and validation rows), got {n_samples!r}")
    fit_events, val_events = split_events(train, seed)
    n_val = int(round(VALIDATION_FRACTION * int(n_samples)))
    yields = train.yields  # the whole sample's sigma(theta) for both parts, as when mining from all events
    if group == "likelihood ratio":

        def mine(events: Events, n: int) -> Any:
            return augmented.mine_ratio_sample(events, n, seed, theta0=thetas, observables=observables, yields=yields)

    elif group == "score":

        def mine(events: Events, n: int) -> Any:
            return augmented.mine_local_sample(events, n, seed, observables=observables, yields=yields)

    else:

        def mine(events: Events, n: int) -> Any:
            return augmented.mine_density_sample(events, n, seed, thetas=thetas, observables=observables, yields=yields)

    sample, validation = mine(fit_events, int(n_samples) - n_val), mine(val_events, n_val)
    n_features = sample.x.shape[1]

    def make() -> Any:
        if group == "likelihood ratio":
            return estimators.ParameterizedRatioEstimator(n_features, method, n_hidden=n_hidden or RATIO_HIDDEN, **opts)
        if group == "score":
            return estimators.ScoreEstimator(n_features, "sally", n_hidden=n_hidden or (100,), **opts)
        return estimators.DensityEstimator(n_features, method, n_hidden=n_hidden or (100,), **opts)

    options = dict(max_epochs=max_epochs, batch_size=batch_size, patience=patience, validation=validation)
    n_rows = len(sample) + len(validation)
    if members == 1:
        est = estimators.train_estimator(make(), sample, seed=seed, **options, **trainer_options)
        return TrainedMethod(method, est, time.perf_counter() - start, n_rows, int(est.history["best_epoch"]))
    ensemble = estimators.train_ensemble(make, sample, int(members), seed=seed, **options, **trainer_options)
    epochs = tuple(int(m.history["best_epoch"]) for m in ensemble.members)
    return TrainedMethod(method, ensemble, time.perf_counter() - start, n_rows, max(epochs), epochs)
