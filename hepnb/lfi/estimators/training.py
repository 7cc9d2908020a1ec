"""Training of the estimators on an augmented sample: :func:`train_estimator` and :func:`train_ensemble` (with the
seeds of its members from :func:`member_seeds`).

Defaults follow the thesis (section 7.6) and MadMiner: AMSGrad, learning rate 1e-3 decaying exponentially to 1e-4
over the epochs, batch 128, validation fraction 0.25, early stopping on the validation loss (the best epoch's
weights are kept). The Trainer is :func:`hepnb.training.trainer`'s (CPU by default; ``accelerator``, ``devices``
and ``strategy`` are the caller's).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any, TypeVar

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch import Tensor, nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from hepnb.errors import InputError, is_whole_number
from hepnb.lfi import losses
from hepnb.lfi.augmented import DensitySample, LocalScoreSample, RatioSample
from hepnb.lfi.estimators.base import Estimator
from hepnb.lfi.estimators.ensemble import Ensemble
from hepnb.lfi.estimators.ratio import ParameterizedRatioEstimator
from hepnb.training.loop import fit, quiet_lightning
from hepnb.training.trainers import trainer

__all__ = ["train_estimator", "train_ensemble", "member_seeds"]

#: The first ``spawn_key`` entry of the ensemble members' seeds (:func:`member_seeds`): ``0x454E53`` ("ENS"), far
#: from the sample roles' children ``(0,)``, ``(1,)``, ``(2,)`` of the same ``SeedSequence(seed)``
#: (:func:`hepnb.lfi.methods.sample_seed`), so that no member seed is drawn from a sample's stream.
MEMBER_SPAWN_TAG = 0x454E53


class _Arrays(Dataset):
    """Columns as float32 tensors; indexed by a list of rows (one batch per index list)."""

    def __init__(self, arrays: dict[str, np.ndarray], rows: np.ndarray) -> None:
        self.tensors = {k: torch.as_tensor(np.asarray(v)[rows], dtype=torch.float32) for k, v in arrays.items()}
        self.n = len(rows)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, rows: Any) -> dict[str, Tensor]:
        return {k: v[rows] for k, v in self.tensors.items()}


class _SampleData(L.LightningDataModule):
    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        train: np.ndarray,
        val_arrays: dict[str, np.ndarray],
        val: np.ndarray,
        batch_size: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.train_set, self.val_set = _Arrays(arrays, train), _Arrays(val_arrays, val)
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        sampler = BatchSampler(RandomSampler(self.train_set, generator=generator), self.batch_size, drop_last=False)
        return DataLoader(self.train_set, sampler=sampler, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        sampler = BatchSampler(SequentialSampler(self.val_set), max(self.batch_size, 4096), drop_last=False)
        return DataLoader(self.val_set, sampler=sampler, batch_size=None)


class _KeepBest(L.Callback):
    """Record the losses per epoch and restore the weights of the epoch with the lowest validation loss."""

    def __init__(self) -> None:
        self.best, self.state, self.best_epoch = float("inf"), None, 0
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if "train_loss" in trainer.callback_metrics:
            self.train_loss.append(float(trainer.callback_metrics["train_loss"]))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or "val_loss" not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics["val_loss"])
        self.val_loss.append(value)
        if value < self.best:
            self.best, self.best_epoch = value, trainer.current_epoch + 1
            self.state = copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.state is not None:
            pl_module.load_state_dict(self.state)


E = TypeVar("E", bound=Estimator)


def train_estimator(
    estimator: E | Callable[[], E],
    sample: RatioSample | LocalScoreSample | DensitySample,
    *,
    seed: int,
    max_epochs: int = 50,
    batch_size: int = 128,
    validation_split: float = 0.25,
    validation: RatioSample | LocalScoreSample | DensitySample | None = None,
    patience: int | None = 5,
    reinitialise: bool = True,
    archive: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    **trainer_options: Any,
) -> E:
    """Train an estimator on an augmented sample and return it, ready to evaluate.

    The input standardisation (and a flow's discrete observables: the estimator's ``fit_preprocessing``) and the
    observables are taken from the sample; a random ``validation_split`` of the rows is held out (or, with
    ``validation``, a separate sample is the validation set and every row of ``sample`` trains); training stops when
    the validation loss has not improved for ``patience`` epochs (``None``: run all epochs) and the weights of the
    best validation epoch are restored (MadMiner's early stopping). The losses per epoch end up in
    ``estimator.history``.

    Parameters
    ----------
    estimator
        An estimator, or a function returning a fresh one (called after seeding).
    sample
        :class:`~hepnb.lfi.RatioSample` (ratio estimators), :class:`~hepnb.lfi.LocalScoreSample`
        (:class:`~hepnb.lfi.ScoreEstimator`) or :class:`~hepnb.lfi.DensitySample`
        (:class:`~hepnb.lfi.DensityEstimator`).
    seed
        Seeds the initial weights, the split and the batch order: the same seed gives the same weights.
    max_epochs
        Maximum number of epochs (thesis: 50 for SALLY, 30 for ALICES); sets the learning-rate decay.
    batch_size
        Mini-batch size (128).
    validation_split
        Fraction of the sample for the validation loss (0.25); not used when ``validation`` is given.
    validation
        A validation sample of the same type and observables as ``sample``, mined from other events (rows mined with
        replacement from the same events share events between a random training/validation split of the rows;
        :func:`hepnb.lfi.study.train_method` splits the events first). ``None``: the random row split.
    patience
        Early-stopping patience in epochs, or ``None``.
    reinitialise
        Draw fresh initial weights from ``seed`` for an already built estimator (``False`` continues training).
    archive
        Optional folder of a :class:`hepnb.training.EpochArchive` (metrics and checkpoints per epoch, resumable).
    progress
        Show Lightning's progress bar (default: for more than two million rows times epochs).
    trainer_options
        Passed on to :func:`hepnb.training.trainer` (``accelerator``, ``devices``, ``strategy``, ``callbacks``, ...;
        the default is the CPU).

    Examples
    --------
    One epoch of ALICES on MadMiner's Gaussian toy (:class:`hepnb.lfi.GaussianToy`); the same seed gives the same
    weights:

    >>> import numpy as np
    >>> from hepnb import lfi
    >>> sample = lfi.ratio_sample_from_arrays(**lfi.GaussianToy().training_arrays(400, seed=1))
    >>> def make():
    ...     return lfi.ParameterizedRatioEstimator(1, "alices", n_hidden=(8,))
    >>> est, again = (train_estimator(make, sample, seed=2, max_epochs=1) for _ in range(2))
    >>> x = np.zeros((3, 1))
    >>> type(est).__name__, est.log_ratio(x, 1.0).shape, est.history["best_epoch"], est.observables
    ('ParameterizedRatioEstimator', (3,), 1, ('x0',))
    >>> bool(np.array_equal(est.log_ratio(x, 1.0), again.log_ratio(x, 1.0)))
    True
    """
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not is_whole_number(max_epochs) or max_epochs < 1:
        raise InputError(f"max_epochs must be a positive integer, got {max_epochs!r}")
    if not is_whole_number(batch_size) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not 0 < validation_split < 1:
        raise InputError(f"validation_split must be in (0, 1), got {validation_split!r}")
    if patience is not None and (not is_whole_number(patience) or patience < 1):
        raise InputError(f"patience must be a positive number of epochs or None, got {patience!r}")
    L.seed_everything(int(seed), workers=True, verbose=False)
    model = estimator if isinstance(estimator, Estimator) else estimator()
    if not isinstance(model, Estimator):
        raise InputError(
            f"estimator must be an hepnb.lfi estimator or a function returning one, got {type(model).__name__}"
        )
    if not isinstance(sample, model.sample_type):
        raise InputError(
            f"{type(model).__name__} trains on a {model.sample_type.__name__}, got "
            f"{type(sample).__name__} (mine it with the matching hepnb.lfi.augmented function)"
        )
    if sample.x.shape[1] != model.n_features:
        raise InputError(f"the sample has {sample.x.shape[1]} observables, the estimator takes {model.n_features}")
    if (
        isinstance(sample, RatioSample)
        and isinstance(model, ParameterizedRatioEstimator)
        and sample.doubly_parameterized
    ):
        raise InputError("this sample has a varying reference theta1: train a DoublyParameterizedRatioEstimator")
    if isinstance(sample, RatioSample):
        _check_joint_quantities(model, sample)
    if validation is not None:
        _check_validation(model, sample, validation)
    if isinstance(estimator, Estimator) and reinitialise:
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
    model.fit_preprocessing(sample)
    model.hparams["observables"] = sample.observables
    if isinstance(sample, RatioSample) and isinstance(model, ParameterizedRatioEstimator):
        model.hparams["theta_ref"] = float(sample.theta1[0])
    if isinstance(sample, LocalScoreSample):
        model.hparams["theta_ref"] = float(sample.theta)

    n = len(sample)
    arrays = sample.arrays()
    if validation is not None:
        rows = np.arange(n)
        data = _SampleData(arrays, rows, validation.arrays(), np.arange(len(validation)), int(batch_size), int(seed))
    else:
        n_val = int(round(validation_split * n))
        if n_val < 1 or n - n_val < 1:
            raise InputError(
                f"{n} rows cannot be split into training and validation with validation_split="
                f"{validation_split}; mine a larger sample"
            )
        order = np.random.default_rng(np.random.SeedSequence([int(seed), 25])).permutation(n)
        data = _SampleData(arrays, order[n_val:], arrays, order[:n_val], int(batch_size), int(seed))
    keep = _KeepBest()
    show = len(sample) * int(max_epochs) > 2_000_000 if progress is None else bool(progress)
    callbacks: list[L.Callback] = [keep, *trainer_options.pop("callbacks", [])]
    if patience is not None:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=int(patience), mode="min"))
    options: dict[str, Any] = {
        "inference_mode": False,
        "use_distributed_sampler": False,
        "callbacks": callbacks,
        **trainer_options,
    }
    with quiet_lightning():
        if archive is not None:
            fit(model, data, archive, max_epochs=int(max_epochs), seed=int(seed), progress=show, **options)
        else:
            trainer(max_epochs=int(max_epochs), progress=show, **options).fit(model, datamodule=data)
    model.history = {
        "train_loss": keep.train_loss,
        "val_loss": keep.val_loss,
        "best_epoch": keep.best_epoch,
        "best_val_loss": keep.best,
    }
    model.eval()
    return model


def _check_validation(
    model: Estimator,
    sample: RatioSample | LocalScoreSample | DensitySample,
    validation: RatioSample | LocalScoreSample | DensitySample,
) -> None:
    """Refuse a validation sample that the training sample's estimator cannot be evaluated on."""
    if type(validation) is not type(sample):
        raise InputError(
            f"validation must be a {type(sample).__name__} like the training sample, got {type(validation).__name__}"
            " (mine it with the same hepnb.lfi.augmented function from other events)"
        )
    if len(validation) < 1:
        raise InputError("the validation sample is empty: mine it with n_samples >= 1 from other events")
    if validation.x.shape[1] != sample.x.shape[1] or tuple(validation.feature_names) != tuple(sample.feature_names):
        raise InputError(
            f"the validation sample has observables {list(validation.feature_names)}, the training sample "
            f"{list(sample.feature_names)}: mine both with the same observables"
        )
    if isinstance(validation, RatioSample):
        if isinstance(model, ParameterizedRatioEstimator) and validation.doubly_parameterized:
            raise InputError("the validation sample has a varying reference theta1, the training sample does not")
        _check_joint_quantities(model, validation)


def _check_joint_quantities(model: Estimator, sample: RatioSample) -> None:
    """Refuse a method whose loss needs a joint ratio or score that the sample does not have (NaN)."""
    method = model.hparams.get("method")
    if method not in losses.RATIO_LOSSES:
        return
    needs_ratio, needs_score = losses.RATIO_LOSSES[method]
    columns = {"log_r_xz": needs_ratio, "t_xz": needs_score}
    columns["t1_xz"] = needs_score and bool(model.hparams.get("reference_score", False))
    for name, needed in columns.items():
        if needed and not np.all(np.isfinite(getattr(sample, name))):
            raise InputError(
                f"method {method!r} needs the joint {name} for every row, and this sample lacks it (NaN): give it "
                "to ratio_sample_from_arrays, or use a method without it (carl needs neither)"
            )


def train_ensemble(
    factory: Callable[[], Estimator],
    sample: RatioSample | LocalScoreSample | DensitySample,
    k: int,
    *,
    seed: int,
    **options: Any,
) -> Ensemble:
    """Train ``k`` estimators made by ``factory``, member ``i`` with the seed ``member_seeds(seed, k)[i]``.

    The member seeds are independent streams of ``seed`` (:func:`member_seeds`), so that ensembles of different seeds
    share no member; the same ``seed`` gives the same ensemble. ``options`` are those of :func:`train_estimator`.

    Examples
    --------
    Three one-epoch ALICES members on the Gaussian toy; their spread is the ensemble's uncertainty:

    >>> import numpy as np
    >>> from hepnb import lfi
    >>> sample = lfi.ratio_sample_from_arrays(**lfi.GaussianToy().training_arrays(400, seed=1))
    >>> def make():
    ...     return lfi.ParameterizedRatioEstimator(1, "alices", n_hidden=(8,))
    >>> ensemble = train_ensemble(make, sample, 3, seed=2, max_epochs=1)
    >>> pred = ensemble.evaluate("log_ratio", np.zeros((4, 1)), 1.0)
    >>> len(ensemble), pred.members.shape, bool(np.all(pred.std > 0))
    (3, (3, 4), True)
    """
    return Ensemble([train_estimator(factory, sample, seed=s, **options) for s in member_seeds(seed, k)])


def member_seeds(seed: int, k: int) -> list[int]:
    """The :func:`train_estimator` seeds of the ``k`` members of :func:`train_ensemble` with ``seed``.

    Member ``i`` gets the first 32-bit word of ``numpy.random.SeedSequence(seed, spawn_key=(MEMBER_SPAWN_TAG, i))``
    (the ``i``-th child of the child ``MEMBER_SPAWN_TAG`` of ``SeedSequence(seed)``, :data:`MEMBER_SPAWN_TAG` =
    ``0x454E53``, "ENS"): a non-negative integer below ``2**32``, as Lightning's ``seed_everything`` needs. The
    children ``(i,)`` of ``SeedSequence(seed)`` themselves are the sample seeds of
    :func:`hepnb.lfi.methods.sample_seed` (``i`` the role's index), so the members' stream never meets theirs
    (member ``i`` used to share the state of role ``i``'s sample seed). Seed arithmetic (``seed + i``) made member
    ``i`` of seed ``s`` member ``i - 1`` of seed ``s + 1``; these seeds are distinct across seeds and members (a test
    checks seeds 0 to 200 with 10 members), and member ``i`` does not depend on ``k``.

    Parameters
    ----------
    seed
        The ensemble's seed, a non-negative integer.
    k
        The number of members.

    Examples
    --------
    >>> member_seeds(12, 2) == member_seeds(12, 3)[:2], set(member_seeds(12, 3)) & set(member_seeds(13, 3))
    (True, set())
    """
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not is_whole_number(k) or k < 1:
        raise InputError(f"k must be a positive number of estimators, got {k!r}")
    streams = (np.random.SeedSequence(int(seed), spawn_key=(MEMBER_SPAWN_TAG, i)) for i in range(int(k)))
    return [int(stream.generate_state(1, dtype=np.uint32)[0]) for stream in streams]
