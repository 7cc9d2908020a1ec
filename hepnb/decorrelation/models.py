"""The classifier and its decorrelated variants as LightningModules sharing one classifier definition.

Every module holds the same ``classifier`` network, the thesis default (A. Ghosh, PhD thesis, Universite
Paris-Saclay 2020, section 8.1.1, read with its code as 3 hidden layers): dense 32-wide ReLU layers and one output
(a logit; :meth:`Classifier.predict` applies the sigmoid), trained with Adam on the event-weighted binary cross
entropy. The methods differ in the term added to that loss:

- :class:`Classifier`: nothing (the plain classifier).
- :class:`DiscoClassifier`: ``+ lambda dCorr^2_w(score, m)`` on the background events of the batch (DisCo,
  Kasieczka and Shih, arXiv:2001.05310).
- :class:`ModeClassifier`: ``+ lambda MoDe[n]`` on the background (Kitouni et al., arXiv:2010.09745).
- :class:`PivotClassifier`: ``- lambda L_adv`` with an adversary predicting m from the score alone, as a regression,
  a classifier over mass bins or a Gaussian mixture (Louppe, Kagan, Cranmer, arXiv:1611.01046; thesis eq 8.1).
- :class:`AspirationNetwork`: ``- lambda L_adv`` with an adversary telling real ``(score, m)`` pairs from aspired
  pairs, m shuffled across the batch (thesis section 8.1.3; lambda = 3, batch 128, no masking).

Batches are dicts (see :class:`hepnb.decorrelation.data.DecorrelationDataModule`): ``x`` [B, features], ``y`` [B]
(1 signal, 0 background), ``w`` [B] event weights (negative allowed), ``m`` [B, n_protected] protected variables and
``c`` [B] integer component labels. Inputs are used as given: standardise the features beforehand. The training
hardware (``accelerator``, ``strategy``) is the caller's choice, through ``hepnb.training.fit``'s trainer options.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hepnb.decorrelation import losses
from hepnb.errors import InputError, as_finite_array

__all__ = ["mlp", "Classifier", "DiscoClassifier", "ModeClassifier", "PivotClassifier", "AspirationNetwork"]

PIVOT_ADVERSARIES = ("regression", "binned", "mdn")
SCORE_INPUTS = ("probability", "standardised_logit")
_EVAL_BATCH = 65_536


def mlp(n_in: int, hidden: Sequence[int] = (32, 32, 32), n_out: int = 1) -> nn.Sequential:
    """Dense ReLU network ``n_in -> hidden... -> n_out`` with a linear output (the thesis default shape).

    Examples
    --------
    >>> mlp(4)
    Sequential(
      (0): Linear(in_features=4, out_features=32, bias=True)
      (1): ReLU()
      (2): Linear(in_features=32, out_features=32, bias=True)
      (3): ReLU()
      (4): Linear(in_features=32, out_features=32, bias=True)
      (5): ReLU()
      (6): Linear(in_features=32, out_features=1, bias=True)
    )
    """
    widths = [int(h) for h in hidden]
    if n_in < 1 or n_out < 1 or any(h < 1 for h in widths):
        raise InputError(f"layer widths must be positive, got n_in={n_in}, hidden={tuple(hidden)}, n_out={n_out}")
    layers: list[nn.Module] = []
    last = n_in
    for width in widths:
        layers += [nn.Linear(last, width), nn.ReLU()]
        last = width
    layers.append(nn.Linear(last, n_out))
    return nn.Sequential(*layers)


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Parameters of ``module`` without gradients inside the block (the adversary during the classifier step)."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise InputError(f"{name}={value} must be positive")


class Classifier(L.LightningModule):
    """The plain classifier: ``weighted_bce(classifier(x), y, w)``, Adam.

    Parameters
    ----------
    n_features
        Input features per event.
    hidden
        Hidden layer widths (thesis: 32-wide ReLU layers).
    lr
        Adam learning rate of the classifier.
    n_protected
        Number of protected variables (columns of the batch's ``m``) the method decorrelates from.
    method_options
        The subclasses' own hyper-parameters (recorded with these in ``hparams``).

    Examples
    --------
    >>> import numpy as np
    >>> model = Classifier(3)
    >>> model.predict(np.zeros((5, 3))).shape
    (5,)
    """

    def __init__(
        self,
        n_features: int,
        *,
        hidden: Sequence[int] = (32, 32, 32),
        lr: float = 1e-3,
        n_protected: int = 1,
        **method_options: Any,
    ) -> None:
        super().__init__()
        if method_options and type(self) is Classifier:
            raise InputError(f"the plain Classifier takes no {sorted(method_options)}: use the decorrelated classes")
        _positive(lr=lr, n_protected=n_protected)
        if not method_options.get("lam", 0) >= 0:
            raise InputError(f"lam={method_options['lam']} must be >= 0 (0 turns the decorrelation off)")
        self.save_hyperparameters()
        self.classifier = mlp(n_features, hidden, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Logits [B] (``sigmoid`` gives the score)."""
        return self.classifier(x).squeeze(-1)

    @torch.no_grad()
    def predict(self, features: Any) -> np.ndarray:
        """Classifier score in [0, 1] per event, as a float64 numpy array."""
        x = as_finite_array(features, "features", ndim=2)
        if x.shape[1] != self.hparams.n_features:
            raise InputError(f"the model takes {self.hparams.n_features} features per event, got {x.shape[1]}")
        was_training = self.training
        self.eval()
        try:
            parameter = next(self.classifier.parameters())
            out = [
                torch.sigmoid(self(torch.as_tensor(chunk, dtype=parameter.dtype, device=parameter.device)))
                for chunk in np.array_split(x, max(1, -(-len(x) // _EVAL_BATCH)))
            ]
        finally:
            self.train(was_training)
        return torch.cat(out).double().cpu().numpy() if out else np.zeros(0)

    def penalty(self, batch: dict[str, Tensor], score: Tensor) -> Tensor | None:
        """The decorrelation term added (times lambda) to the classification loss; None for the plain classifier."""
        return None

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        logits = self(batch["x"])
        loss = classification = losses.weighted_bce(logits, batch["y"], batch["w"])
        term = self.penalty(batch, torch.sigmoid(logits))
        if term is not None:
            loss = classification + self.hparams.lam * term
            self.log("penalty", term.detach(), on_step=False, on_epoch=True, batch_size=len(logits))
        self.log("classification_loss", classification.detach(), on_step=False, on_epoch=True, batch_size=len(logits))
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.classifier.parameters(), lr=self.hparams.lr)


def _background(batch: dict[str, Tensor]) -> Tensor:
    return batch["y"] == 0


class DiscoClassifier(Classifier):
    """DisCo: ``L_clf + lambda dCorr^2_w(score, m)`` on the background of each batch (all protected columns at once,
    through Euclidean distances; :func:`hepnb.decorrelation.losses.distance_correlation`).

    Parameters
    ----------
    n_features, hidden, lr, n_protected
        As for :class:`Classifier`.
    lam
        Weight of the distance correlation. Scan it: the DisCo paper traces R50 against 1/JSD50 over lambda with
        large batches; with batch 128 the batch estimate of dCorr^2 is noisy, and on the toy of the tests lambda = 10
        already drives the classifier onto a poor solution where 1 decorrelates well.
    """

    def __init__(self, n_features: int, *, lam: float = 1.0, **options: Any) -> None:
        super().__init__(n_features, lam=lam, **options)

    def penalty(self, batch: dict[str, Tensor], score: Tensor) -> Tensor:
        background = _background(batch)
        if int(background.sum()) < 2:
            return score.sum() * 0.0
        return losses.distance_correlation(score[background], batch["m"][background], batch["w"][background])


class ModeClassifier(Classifier):
    """MoDe[order]: ``L_clf + lambda MoDe`` on the background of each batch (one protected variable).

    Parameters
    ----------
    n_features, hidden, lr
        As for :class:`Classifier`.
    lam
        Weight of the MoDe term (the MoDe W-tagging example uses 300 with an MSE classification loss).
    order
        0 (flat background efficiency in m), 1 (linear) or 2 (quadratic).
    n_bins
        Equal-occupancy bins of m per batch (:func:`hepnb.decorrelation.losses.mode_loss`).
    """

    def __init__(
        self, n_features: int, *, lam: float = 100.0, order: int = 0, n_bins: int = 10, **options: Any
    ) -> None:
        if options.get("n_protected", 1) != 1:
            raise InputError("MoDe constrains the score against one protected variable: use n_protected=1")
        if order not in (0, 1, 2) or n_bins < order + 2:
            raise InputError(f"order must be 0, 1 or 2 and n_bins >= order + 2, got order={order}, n_bins={n_bins}")
        super().__init__(n_features, lam=lam, order=order, n_bins=n_bins, **options)

    def penalty(self, batch: dict[str, Tensor], score: Tensor) -> Tensor:
        background = _background(batch)
        return losses.mode_loss(
            score[background],
            batch["m"][background, 0],
            batch["w"][background],
            order=self.hparams.order,
            n_bins=self.hparams.n_bins,
        )


class _Adversarial(Classifier):
    """Shared training step of the adversarial methods (manual optimisation, two Adam optimisers).

    Per batch: ``adversary_steps`` updates of the adversary on the detached scores, then one update of the
    classifier on ``L_clf - lambda L_adv`` with the adversary frozen (from epoch ``warmup_epochs`` on; before it the
    classifier trains on ``L_clf`` alone while the adversary learns).
    """

    def __init__(
        self,
        n_features: int,
        *,
        lam: float,
        adversary_hidden: Sequence[int] = (32, 32, 32),
        adversary_lr: float = 1e-3,
        adversary_steps: int = 1,
        warmup_epochs: int = 0,
        **options: Any,
    ) -> None:
        _positive(adversary_lr=adversary_lr, adversary_steps=adversary_steps)
        if warmup_epochs < 0:
            raise InputError(f"warmup_epochs={warmup_epochs} must be >= 0")
        super().__init__(
            n_features,
            lam=lam,
            adversary_hidden=adversary_hidden,
            adversary_lr=adversary_lr,
            adversary_steps=adversary_steps,
            warmup_epochs=warmup_epochs,
            **options,
        )
        self.automatic_optimization = False

    def adversary_loss(self, batch: dict[str, Tensor], score: Tensor) -> Tensor:
        """The adversary's loss on a batch given the scores (each adversarial method defines it)."""
        raise NotImplementedError

    def configure_optimizers(self) -> Any:
        return [
            torch.optim.Adam(self.classifier.parameters(), lr=self.hparams.lr),
            torch.optim.Adam(self.adversary.parameters(), lr=self.hparams.adversary_lr),
        ]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        opt_classifier, opt_adversary = self.optimizers()
        n = len(batch["y"])
        with torch.no_grad():
            score = torch.sigmoid(self(batch["x"]))
        for _ in range(self.hparams.adversary_steps):
            adversary = self.adversary_loss(batch, score)
            opt_adversary.zero_grad()
            self.manual_backward(adversary)
            opt_adversary.step()
        logits = self(batch["x"])
        classification = losses.weighted_bce(logits, batch["y"], batch["w"])
        loss = classification
        if self.current_epoch >= self.hparams.warmup_epochs:
            with _frozen(self.adversary):
                loss = classification - self.hparams.lam * self.adversary_loss(batch, torch.sigmoid(logits))
        opt_classifier.zero_grad()
        self.manual_backward(loss)
        opt_classifier.step()
        for name, value in (("adversary_loss", adversary), ("classification_loss", classification)):
            self.log(name, value.detach(), on_step=False, on_epoch=True, batch_size=n)


class PivotClassifier(_Adversarial):
    """Pivot: an adversary predicts the protected variable from the score alone; ``L = L_clf - lambda L_adv``.

    Parameters
    ----------
    n_features, hidden, lr
        As for :class:`Classifier` (one protected variable).
    adversary
        ``"regression"`` (weighted MSE of m), ``"binned"`` (cross entropy over the bins ``mass_edges``, the
        adversary of Shimmin et al., arXiv:1703.03507) or ``"mdn"`` (negative log-likelihood of a mixture of
        ``n_gaussians`` Gaussians, the pivot paper's choice for a continuous variable).
    lam
        Weight of the adversary's loss. Its scale follows the adversary's loss (a cross entropy over 5 bins is
        ~1.6, the MSE of a [0, 1] mass ~0.05): too large a lambda lets the classifier win by making the adversary
        confidently wrong rather than uninformed. arXiv:1611.01046 uses 10 in its physics example, 50 in its toy.
    mass_edges
        Bin edges of m for ``"binned"`` (values outside go to the first or last bin).
    n_gaussians
        Mixture components for ``"mdn"``.
    adversary_hidden, adversary_lr, adversary_steps, warmup_epochs
        The adversary's shape and learning rate, its updates per batch (the pivot paper's K) and the epochs
        before the classifier sees it.
    """

    def __init__(
        self,
        n_features: int,
        *,
        adversary: str = "mdn",
        lam: float = 1.0,
        mass_edges: Sequence[float] | None = None,
        n_gaussians: int = 5,
        **options: Any,
    ) -> None:
        if adversary not in PIVOT_ADVERSARIES:
            raise InputError(f"adversary must be one of {PIVOT_ADVERSARIES}, got {adversary!r}")
        if options.get("n_protected", 1) != 1:
            raise InputError(
                "the pivot adversary predicts one protected variable: use n_protected=1 (the aspiration "
                "network takes several through one adversary)"
            )
        if adversary == "binned":
            if mass_edges is None:
                raise InputError(
                    "adversary='binned' needs mass_edges, e.g. numpy.quantile(m, numpy.linspace(0, 1, 11))"
                )
            edges = as_finite_array(mass_edges, "mass_edges", ndim=1)
            if len(edges) < 3 or np.any(np.diff(edges) <= 0):
                raise InputError(f"mass_edges must be at least 3 increasing edges (2 bins), got {edges}")
            mass_edges = [float(e) for e in edges]
        _positive(n_gaussians=n_gaussians)
        super().__init__(
            n_features, adversary=adversary, lam=lam, mass_edges=mass_edges, n_gaussians=n_gaussians, **options
        )
        n_out = {"regression": 1, "binned": len(mass_edges or []) - 1, "mdn": 3 * n_gaussians}[adversary]
        self.adversary = mlp(1, self.hparams.adversary_hidden, n_out)
        if adversary == "binned":
            self.register_buffer("inner_edges", torch.tensor(mass_edges[1:-1], dtype=torch.float32))

    def adversary_loss(self, batch: dict[str, Tensor], score: Tensor) -> Tensor:
        """Weighted loss of the adversary's prediction of m from the score."""
        out = self.adversary(score[:, None])
        m = batch["m"][:, 0]
        kind = self.hparams.adversary
        if kind == "regression":
            per_event = (out[:, 0] - m) ** 2
        elif kind == "binned":
            per_event = F.cross_entropy(out, torch.bucketize(m, self.inner_edges.to(m.dtype)), reduction="none")
        else:
            k = self.hparams.n_gaussians
            per_event = losses.gaussian_mixture_nll(out[:, :k], out[:, k : 2 * k], out[:, 2 * k :].clamp(-7, 7), m)
        return (batch["w"] * per_event).sum() / len(m)


class AspirationNetwork(_Adversarial):
    """The aspiration network: an adversary tells real ``(score, m)`` pairs from aspired ones, ``L_clf - lambda L_adv``.

    The aspired pairs keep every score and take the protected variables of another event of the batch, through
    one permutation without replacement shared by all protected columns
    (:func:`hepnb.decorrelation.losses.aspiration_permutation`); both marginals are kept exactly and only the
    dependence is broken. All events enter (no masking: the thesis found masking the background destabilising).
    With ``conditional=True`` the shuffle stays within each component label ``c`` and the adversary also gets
    the label (one-hot), so the score must be independent of m within every background component.

    Parameters
    ----------
    n_features, hidden, lr, n_protected
        As for :class:`Classifier`.
    lam
        Weight of the adversary's loss (thesis: 3).
    conditional
        Shuffle within the components ``c`` and give them to the adversary.
    n_components
        Number of component labels (``c`` in 0..n_components - 1) when conditional.
    score_input
        What the adversary sees of the score. ``"probability"`` (the thesis): the sigmoid output. A strong lambda
        can then shrink the scores into a narrow band (on the top-vs-QCD jets at lambda = 300: standard deviation
        0.02 against 0.12 for the plain classifier), where a (score, m) dependence survives that the adversary no
        longer resolves (a fresh adversary trained three epochs on that frozen score gains 0.006 nats over
        chance, 0.016 on its standardised logit) but that any cut on the score, hence 1/JSD50, still sees.
        ``"standardised_logit"``: the logit standardised over the batch
        (:func:`hepnb.decorrelation.losses.standardised_logit`), so that no affine rescaling of the logit hides
        the dependence, as independence of score and m does not depend on the score's scale (a choice of hepnb;
        the thesis and the pivot paper, arXiv:1611.01046, feed the probability). The batch's mean and standard
        deviation are over all its events, signal and background together, and a few saturated logits widen the
        latter. On those jets it turned an unstable scan (mean 1/JSD50 at most 55 over lambda 10-1000, seed
        spreads up to 83) into one that reaches 1/JSD50 of 114 (sd 41 over 3 seeds, 8 epochs) at lambda = 30, R50
        9.3; a score exactly independent of the mass gives 291 (sd 91) at R50 10 on the same test jets.
    adversary_hidden, adversary_lr, adversary_steps, warmup_epochs
        As for :class:`PivotClassifier` (the thesis gives the adversary the classifier's default shape).
    """

    def __init__(
        self,
        n_features: int,
        *,
        lam: float = 3.0,
        conditional: bool = False,
        n_components: int = 1,
        score_input: str = "probability",
        **options: Any,
    ) -> None:
        _positive(n_components=n_components)
        if score_input not in SCORE_INPUTS:
            raise InputError(f"score_input must be one of {SCORE_INPUTS}, got {score_input!r}")
        super().__init__(
            n_features,
            lam=lam,
            conditional=bool(conditional),
            n_components=n_components,
            score_input=score_input,
            **options,
        )
        if score_input == "probability":  # the default stays unrecorded, so archives trained before the option resume
            del self.hparams["score_input"]
        n_in = 1 + self.hparams.n_protected + (n_components if conditional else 0)
        self.adversary = mlp(n_in, self.hparams.adversary_hidden, 1)

    def adversary_loss(self, batch: dict[str, Tensor], score: Tensor) -> Tensor:
        """``BCE(a(real), 1) + BCE(a(aspired), 0)`` on a fresh permutation of the batch (``score``: probabilities)."""
        m, w = batch["m"], batch["w"]
        groups = batch["c"] if self.hparams.conditional else None
        perm = losses.aspiration_permutation(len(m), groups).to(m.device)
        real_w, aspired_w = losses.aspiration_weights(w, perm, groups)
        if self.hparams.get("score_input", "probability") == "standardised_logit":
            score = losses.standardised_logit(score)
        columns = [score[:, None]]
        if groups is not None:
            columns.append(F.one_hot(groups, self.hparams.n_components).to(score.dtype))
        real = torch.cat([*columns, m], dim=1)
        aspired = torch.cat([*columns, m[perm]], dim=1)
        return losses.aspiration_loss(
            self.adversary(real).squeeze(-1), self.adversary(aspired).squeeze(-1), real_w, aspired_w
        )
