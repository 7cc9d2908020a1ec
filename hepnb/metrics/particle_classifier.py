"""Classifier two-sample test on particle clouds: held-out AUC of a small permutation-invariant network.

The network is a Deep Sets / particle-flow network (Zaheer et al., arXiv:1703.06114; Komiske, Metodiev and Thaler,
arXiv:1810.05165): a per-particle MLP ``Phi`` of the standardised ``(eta_rel, phi_rel, pT_rel)``, summed over the
real particles of a jet (divided by the number of particle slots, so the multiplicity stays visible), then an MLP
``F`` to one logit. It sees the whole cloud, correlations included, and nothing about the particle order. It is
trained on one part of a stratified split of real (label 0) and generated (label 1) jets and the ROC AUC is measured
on the held-out part, with the Hanley-McNeil error, exactly as
:func:`hepnb.metrics.generative.classifier_two_sample_test` does for flat features (its docstring says why one
split and not k folds).

An AUC of 0.5 within its error means the classifier found no difference; arXiv:2211.10295 (section on the
classifier metric) finds such AUCs insensitive to distribution-level distortions that FPD catches, and calls for
the real-vs-real value at the same size (:func:`hepnb.metrics.jetnet.real_baseline`). Training is seeded and runs
on ``n_threads`` CPU threads; torch's thread count and global random state are restored afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.metrics.generative import C2STResult, auc_standard_error
from hepnb.metrics.particle_clouds import particle_cloud

__all__ = ["particle_classifier_test"]


def _deep_sets(n_features: int, width: int) -> Any:
    import torch
    from torch import nn

    class DeepSets(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.phi = nn.Sequential(nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
            self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))

        def forward(self, particles: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            pooled = (self.phi(particles) * mask[..., None]).sum(dim=1) / particles.shape[1]
            return self.head(pooled)[:, 0]

    return DeepSets()


def particle_classifier_test(
    real_jets: Any,
    generated_jets: Any,
    *,
    real_mask: Any = None,
    generated_mask: Any = None,
    seed: int,
    test_fraction: float = 0.5,
    epochs: int = 20,
    width: int = 32,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    n_threads: int = 1,
) -> C2STResult:
    """Held-out AUC of a Deep Sets classifier trained to tell generated from real particle clouds.

    Parameters
    ----------
    real_jets, generated_jets
        Particle clouds ``[N_jets, N_particles, 3 or 4]`` with ``(eta_rel, phi_rel, pT_rel[, mask])``; the jet counts
        may differ, the particle slots must agree.
    real_mask, generated_mask
        Optional ``[N_jets, N_particles]`` masks (non-zero: real particle).
    seed
        Seeds the split, the initial weights and the batch order: the same inputs, seed and ``n_threads`` give the
        same result.
    test_fraction
        Fraction of each sample held out to measure the AUC.
    epochs, width, batch_size, learning_rate
        Training length, hidden width of both MLPs, minibatch size and Adam's learning rate.
    n_threads
        Torch CPU threads while training (restored afterwards).

    Returns
    -------
    C2STResult
        ``auc`` (also ``value``) and its Hanley-McNeil ``error``; ``n_features`` counts the features per particle
        and ``classifier`` is ``"deepsets"``.
    """
    import torch
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction={test_fraction} must be strictly between 0 and 1")
    if min(epochs, width, batch_size, n_threads) < 1 or not learning_rate > 0:
        raise InputError(
            "epochs, width, batch_size and n_threads must be >= 1 and learning_rate > 0, got "
            f"{epochs}, {width}, {batch_size}, {n_threads} and {learning_rate}"
        )
    real = particle_cloud(real_jets, real_mask, name="real_jets", nonnegative_pt=False)
    generated = particle_cloud(generated_jets, generated_mask, name="generated_jets", nonnegative_pt=False)
    if real.n_particles != generated.n_particles:
        raise InputError(
            f"the samples have {real.n_particles} and {generated.n_particles} particle slots per jet: "
            "pad the smaller one with zeros (masked particles) to the same number"
        )
    smallest = min(real.n_jets, generated.n_jets)
    if min(smallest * test_fraction, smallest * (1 - test_fraction)) < 5:
        raise InputError(
            f"too few jets for a held-out AUC: {real.n_jets} real and {generated.n_jets} generated with "
            f"test_fraction={test_fraction}; each part needs at least 5 jets of each sample"
        )
    x = np.concatenate([real.features(), generated.features()])
    mask = np.concatenate([real.mask, generated.mask]).astype(float)
    y = np.concatenate([np.zeros(real.n_jets), np.ones(generated.n_jets)])
    train, test = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=int(seed))
    on = mask[train].astype(bool)
    centre, scale = x[train][on].mean(axis=0), x[train][on].std(axis=0)
    x = (x - centre) / np.where(scale > 0, scale, 1.0) * mask[..., None]

    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model = _deep_sets(x.shape[-1], int(width)).double()
            optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            xs, ms, ys = (torch.from_numpy(a) for a in (x, mask, y))
            order = torch.Generator().manual_seed(int(seed))
            train_t = torch.from_numpy(train)
            for _ in range(int(epochs)):
                shuffled = train_t[torch.randperm(len(train_t), generator=order)]
                for start in range(0, len(shuffled), int(batch_size)):
                    idx = shuffled[start : start + int(batch_size)]
                    optimiser.zero_grad()
                    loss_fn(model(xs[idx], ms[idx]), ys[idx]).backward()
                    optimiser.step()
            with torch.no_grad():
                test_t = torch.from_numpy(test)
                score = model(xs[test_t], ms[test_t]).numpy()
    finally:
        torch.set_num_threads(before)
    auc = float(roc_auc_score(y[test], score))
    n_pos = int(y[test].sum())
    return C2STResult(
        auc=auc,
        error=auc_standard_error(auc, n_pos, len(test) - n_pos),
        n_reference=real.n_jets,
        n_generated=generated.n_jets,
        n_test=len(test),
        n_features=x.shape[-1],
        classifier="deepsets",
        seed=int(seed),
    )
