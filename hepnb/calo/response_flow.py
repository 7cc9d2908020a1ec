"""The total response of a photon shower from a conditional normalising flow, and GAN showers rescaled to it.

A GAN that generates the 266 cells learns the total deposit, the response ``sum(cells) / E_true``, only through
them: notebook 01 finds the thesis's generators' response drifting with the impact offset Δη and their energy
resolution up to 30% too narrow. The response is one number per shower, whose density given the condition a
normalising flow learns by maximum likelihood. :class:`ResponseFlow` is that flow (a rational-quadratic spline flow,
Durkan et al., arXiv:1906.04032, through ``zuko``); :class:`ResponseCalibrated` keeps a GAN's cell fractions (its
shower shape) and draws the total from the flow. This is the factorisation of CaloFlow (Krause and Shih,
arXiv:2106.05285), whose first flow learns the deposited energies and the second the shape given them [not in the
thesis]. Here the shape does not depend on the drawn total, so the correlation between the response and the depth
of the shower (the back-layer fraction, through leakage) is not reproduced; notebook 01 prints it.

The flow models ``y = logit(response / max_response)``, standardised with constants of the training half, so a
drawn response lies in ``(0, max_response)`` by construction. ``hepnb train calo-response``
(:mod:`hepnb.calo.train_response`) trains it into an epoch archive; :func:`best_epoch` picks the epoch with the
lowest negative log-likelihood on the held-out half.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
import zuko

from hepnb.calo.data import N_CONDITION, Preprocessing, ShowerArrays, checked_truth
from hepnb.calo.gan import _check_trained_energy
from hepnb.errors import InputError, is_real_number, is_whole_number
from hepnb.units import energy_unit

__all__ = ["ResponseFlow", "ResponseCalibrated", "best_epoch"]

#: The column of an archive's history that :func:`best_epoch` minimises.
VALIDATION_METRIC = "validation_nll"


class ResponseFlow(L.LightningModule):
    """Conditional density of the shower response ``sum(cells) / E_true`` given the GAN's condition vector.

    Every argument is a JSON-serialisable hyper-parameter, so an `hepnb.training.EpochArchive` rebuilds the flow;
    :meth:`for_data` fits the standardisation on a training half.

    Parameters
    ----------
    preprocessing
        ``Preprocessing.to_dict()`` of the training data (the conditions, the units); None: the thesis grid's.
    max_response
        Upper bound of the response (2: the simulator's 1 GeV showers reach about 1.45).
    logit_mean, logit_std
        Standardisation of ``logit(response / max_response)`` (fitted on the training half by :meth:`for_data`).
    transforms, hidden_features, hidden_layers, bins
        The spline flow: the number of spline transforms of the one variable, the width and depth of the networks
        that give each transform's spline from the condition, and the spline bins.
    lr
        Adam learning rate.
    seed
        Seeds the initial weights.

    Examples
    --------
    >>> flow = ResponseFlow(seed=1)  # untrained
    >>> responses = flow.sample(65.536, 2, 1, 0.0, 0.0, seed=3, n=4)
    >>> responses.shape, bool(((responses > 0) & (responses < 2)).all())
    ((4,), True)
    """

    def __init__(
        self,
        *,
        preprocessing: dict[str, Any] | None = None,
        max_response: float = 2.0,
        logit_mean: float = 0.0,
        logit_std: float = 1.0,
        transforms: int = 3,
        hidden_features: int = 64,
        hidden_layers: int = 2,
        bins: int = 8,
        lr: float = 1e-3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value, positive in (
            ("max_response", max_response, True),
            ("logit_std", logit_std, True),
            ("lr", lr, True),
            ("logit_mean", logit_mean, False),
        ):
            if not (is_real_number(value) and np.isfinite(value) and (value > 0 or not positive)):
                raise InputError(f"{name}={value!r} must be a finite {'positive ' if positive else ''}number")
        for name, value, lowest in (
            ("transforms", transforms, 1),
            ("hidden_features", hidden_features, 1),
            ("hidden_layers", hidden_layers, 1),
            ("bins", bins, 1),
            ("seed", seed, 0),
        ):
            if not is_whole_number(value) or value < lowest:
                raise InputError(f"{name}={value!r} must be an integer >= {lowest}")
        if preprocessing is None:
            preprocessing = Preprocessing.thesis_default().to_dict()
        self.preprocessing = Preprocessing.from_dict(dict(preprocessing))
        self.save_hyperparameters()
        self.hparams["preprocessing"] = self.preprocessing.to_dict()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.flow = zuko.flows.NSF(
                features=1,
                context=N_CONDITION,
                transforms=transforms,
                hidden_features=(hidden_features,) * hidden_layers,
                bins=bins,
            )

    @classmethod
    def for_data(cls, train: ShowerArrays, preprocessing: Preprocessing, **options: Any) -> ResponseFlow:
        """A fresh flow whose ``logit_mean`` and ``logit_std`` are fitted on the responses of ``train``.

        ``train`` holds physical showers in ``preprocessing``'s units (``CaloDataModule.train``); ``options`` go to
        the constructor.

        >>> from hepnb.calo.simulate import simulate
        >>> from hepnb.calo.validation import as_shower_arrays
        >>> showers = as_shower_arrays(simulate(50, [65536.0], seed=1, progress=False))
        >>> flow = ResponseFlow.for_data(showers, Preprocessing.fit(showers, energy_unit="MeV", cell_unit="MeV"))
        >>> response = showers.cells.sum(1) / showers.energy
        >>> bool(np.isclose(flow.hparams.logit_mean, np.log(response / (2.0 - response)).mean()))
        True
        """
        max_response = options.get("max_response", 2.0)
        logits = _logit(_responses(train, preprocessing, max_response), max_response)
        return cls(
            preprocessing=preprocessing.to_dict(),
            logit_mean=float(logits.mean()),
            logit_std=float(logits.std()),
            **options,
        )

    # ------------------------------------------------------------------------------------------------ training
    def log_prob(self, response: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Log-density [N] of the standardised ``logit(response / max_response)`` given ``condition`` [N, 9].

        It differs from the density of the response by a Jacobian that depends on the response alone, so the same
        showers rank epochs alike in either.
        """
        hp = self.hparams
        y = (torch.logit(response / hp.max_response) - hp.logit_mean) / hp.logit_std
        return self.flow(condition).log_prob(y[:, None])

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        cells, condition = batch
        nll = -self.log_prob(cells.sum(1), condition).mean()
        self.log("training_nll", nll.detach(), on_step=False, on_epoch=True, batch_size=len(cells))
        return nll

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def nll(self, showers: ShowerArrays, batch_size: int = 65536) -> float:
        """Mean negative log-likelihood (of the standardised logit, see :meth:`log_prob`) of physical ``showers``.

        Responses outside ``(0, max_response)`` are refused.
        """
        if not is_whole_number(batch_size) or batch_size < 1:
            raise InputError(f"batch_size={batch_size!r} must be a positive integer")
        if len(showers.energy) == 0:
            raise InputError("no showers: the negative log-likelihood needs at least one")
        response = torch.from_numpy(_responses(showers, self.preprocessing, self.hparams.max_response))
        condition = torch.from_numpy(
            self.preprocessing.condition(showers.energy, showers.p, showers.e, showers.deta, showers.dphi)
        )
        total = 0.0
        with torch.inference_mode():
            for start in range(0, len(response), batch_size):
                stop = start + batch_size
                total -= float(self.log_prob(response[start:stop].float(), condition[start:stop]).double().sum())
        return total / len(response)

    # ------------------------------------------------------------------------------------------------ sampling
    def sample(
        self,
        energy: Any,
        p: Any,
        e: Any,
        deta: Any,
        dphi: Any,
        *,
        seed: int = 0,
        n: int | None = None,
        batch_size: int = 65536,
        extrapolate: bool = False,
    ) -> np.ndarray:
        """Responses (float64 [N]) drawn for the given truth.

        The inputs (``energy`` in the preprocessing's ``energy_unit``) are broadcast against each other and, with
        ``n``, against ``n`` showers. The flow's base draws come from ``torch.manual_seed(seed)`` in a forked
        random state (the global one is left as it was): the same seed, inputs, ``batch_size`` and thread count give
        the same bytes. Energies outside the trained range (widened by `hepnb.calo.gan.ENERGY_MARGIN`) are refused
        unless ``extrapolate``, as `hepnb.calo.gan.CaloGAN.generate` refuses them.
        """
        if not is_whole_number(seed) or seed < 0:
            raise InputError(f"seed={seed!r} must be a non-negative integer")
        if not is_whole_number(batch_size) or batch_size < 1:
            raise InputError(f"batch_size={batch_size!r} must be a positive integer")
        if n is not None and not (is_whole_number(n) and n >= 1):
            raise InputError(f"n={n!r} must be a positive number of showers (or None: as many as the inputs)")
        shape = () if n is None else (int(n),)
        try:
            arrays = np.broadcast_arrays(*(np.asarray(v) for v in (energy, p, e, deta, dphi)), np.empty(shape))[:5]
        except ValueError:
            raise InputError("energy, p, e, deta and dphi (and n) must broadcast to one number of showers") from None
        truth = checked_truth(*(np.ravel(a) for a in arrays))
        if not extrapolate:
            _check_trained_energy(self.preprocessing, truth[0])
        condition = torch.from_numpy(self.preprocessing.condition(*truth))
        hp = self.hparams
        out = np.empty(len(condition))
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(int(seed))
            for start in range(0, len(condition), batch_size):
                y = self.flow(condition[start : start + batch_size]).sample()[:, 0].double().numpy()
                out[start : start + len(y)] = hp.max_response / (1.0 + np.exp(-(y * hp.logit_std + hp.logit_mean)))
        return out


class ResponseCalibrated:
    """A calorimeter GAN whose showers keep their cell fractions but take their total from a :class:`ResponseFlow`.

    Each generated shower is scaled by one number, so that ``sum(cells) = response x E_true`` with ``response``
    drawn from the flow for the shower's condition. It quacks like `hepnb.calo.gan.CaloGAN` where the validation
    uses one (``generate``, ``preprocessing``), so `hepnb.calo.validation.generate_like` takes it.

    Parameters
    ----------
    generator
        A `hepnb.calo.gan.CaloGAN` (``EpochArchive.load(epoch)``), or anything with its ``generate`` and
        ``preprocessing``.
    flow
        The response flow (``EpochArchive.load(best_epoch(archive))``).

    Examples
    --------
    >>> from hepnb.calo.gan import CaloGAN
    >>> units = Preprocessing.thesis_default(cell_unit="MeV").to_dict()
    >>> model = ResponseCalibrated(CaloGAN(preprocessing=units), ResponseFlow(preprocessing=units))  # untrained
    >>> cells = model.generate([65.536, 65.536], 2, 1, 0.0, 0.0, seed=1)
    >>> responses = cells.sum(1) / 65536.0  # cells in MeV
    >>> bool(np.allclose(responses, model.flow.sample(65.536, 2, 1, 0.0, 0.0, n=2, seed=model.flow_seed(1))))
    True
    """

    def __init__(self, generator: Any, flow: ResponseFlow) -> None:
        units = getattr(generator, "preprocessing", None)
        if not (hasattr(generator, "generate") and isinstance(units, Preprocessing)):
            raise InputError(f"generator must be a CaloGAN (.generate and .preprocessing), got {type(generator)}")
        if not isinstance(flow, ResponseFlow):
            raise InputError(f"flow must be a ResponseFlow (EpochArchive.load of its archive), got {type(flow)}")
        self.generator, self.flow = generator, flow

    @property
    def preprocessing(self) -> Preprocessing:
        """The generator's preprocessing: its units are those of :meth:`generate`."""
        return self.generator.preprocessing

    @staticmethod
    def flow_seed(seed: int) -> int:
        """The seed of the flow's draws for the generation ``seed``: an independent stream of the same seed."""
        return int(np.random.SeedSequence(int(seed)).spawn(1)[0].generate_state(1)[0])

    def generate(
        self,
        energy: Any,
        p: Any,
        e: Any,
        deta: Any,
        dphi: Any,
        *,
        seed: int = 0,
        batch_size: int = 8192,
        extrapolate: bool = False,
    ) -> np.ndarray:
        """Showers [N, 266] in the generator's ``cell_unit`` (float64), as `hepnb.calo.gan.CaloGAN.generate`.

        The GAN draws its latent vectors from ``seed`` and the flow from :meth:`flow_seed` ``(seed)``, so the two
        streams are independent and the same seed, inputs, ``batch_size`` and thread count give the same bytes.
        Unlike `CaloGAN.generate`, the first k showers of a longer call need not be those of a call with k showers:
        the flow draws its batch at once.
        """
        cells = self.generator.generate(
            energy, p, e, deta, dphi, seed=seed, batch_size=batch_size, extrapolate=extrapolate
        )
        units = self.generator.preprocessing
        arrays = np.broadcast_arrays(*(np.asarray(v) for v in (energy, p, e, deta, dphi)), np.empty(len(cells)))[:5]
        energy_mev = np.ravel(arrays[0]).astype(float) * energy_unit(units.energy_unit)
        flow_units = energy_unit(self.flow.preprocessing.energy_unit)
        truth = (energy_mev / flow_units, *(np.ravel(a) for a in arrays[1:]))
        response = self.flow.sample(*truth, seed=self.flow_seed(seed), extrapolate=extrapolate)
        total = cells.sum(1)
        if not (total > 0).all():
            raise InputError("the generator gives showers with no energy: no response can be shared among their cells")
        return cells * (response * energy_mev / energy_unit(units.cell_unit) / total)[:, None]


def best_epoch(archive: Any) -> int:
    """The checkpointed epoch of a response-flow archive with the lowest ``validation_nll`` in its history.

    ``hepnb train calo-response`` records the mean negative log-likelihood on the held-out half after each epoch;
    only the epochs the archive holds a checkpoint of compete (with ``--every 1``, all of them).
    """
    history = archive.history
    if history.empty:
        raise InputError(f"{archive.path} holds no recorded epoch yet: train it with `hepnb train calo-response`")
    if VALIDATION_METRIC not in history:
        raise InputError(f"{archive.path} has no {VALIDATION_METRIC!r} in its history: not a response-flow archive")
    kept = history.loc[history.index.isin(archive.epochs), VALIDATION_METRIC].dropna()
    if kept.empty:
        raise InputError(f"{archive.path} holds no checkpoint of an epoch with a recorded {VALIDATION_METRIC}")
    return int(kept.idxmin())


def _responses(showers: ShowerArrays, preprocessing: Preprocessing, max_response: float) -> np.ndarray:
    """``sum(cells) / E_true`` of physical showers, refused outside ``(0, max_response)``."""
    response = preprocessing.normalise(showers.cells, showers.energy).sum(1)
    bad = (response <= 0) | (response >= max_response)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} showers have a response outside (0, {max_response:g}) (first {response[bad][0]:.4g}): "
            "check the units of cells and energy, or raise max_response"
        )
    return response


def _logit(response: np.ndarray, max_response: float) -> np.ndarray:
    return np.log(response / (max_response - response))
