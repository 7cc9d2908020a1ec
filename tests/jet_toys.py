"""Toy particle-cloud jets shared by the jet tests (imported, not collected: no ``test_`` prefix)."""

from __future__ import annotations

import numpy as np


def blobs(n: int, seed: int, width: float = 0.1, slots: int = 8) -> np.ndarray:
    """Toy jets: 4 to 8 particles with eta, phi ~ N(0, width) and pT_rel = sorted Dirichlet fractions."""
    rng = np.random.default_rng(seed)
    n_real = rng.integers(4, slots + 1, n)
    mask = np.arange(slots) < n_real[:, None]
    pt = -np.sort(-rng.dirichlet(np.ones(slots), n) * mask, axis=1)
    pt = pt / pt.sum(axis=1, keepdims=True)
    jets = np.stack([rng.normal(0, width, (n, slots)), rng.normal(0, width, (n, slots)), pt, mask], axis=-1)
    return np.where(mask[..., None], jets, 0.0).astype(np.float32)
