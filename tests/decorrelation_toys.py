"""A toy decorrelation dataset shared by the decorrelation tests (imported, not collected: no ``test_`` prefix)."""

from __future__ import annotations

import numpy as np

from hepnb.decorrelation import datasets as ds


def mass_toy(n: int = 2000, seed: int = 0) -> ds.DecorrelationDataset:
    """Signal at high 'mass' m, one input that is m itself and one that separates the classes without m."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    m = np.clip(rng.normal(0.4 + 0.2 * y, 0.15), 0, 1)
    x = np.stack([m + rng.normal(0, 0.05, n), y + rng.normal(0, 1.2, n)], axis=1)
    return ds._build(
        "toy",
        x,
        y,
        np.ones(n),
        m[:, None],
        100 * m,
        1 - y,
        feature_names=("m", "x"),
        protected_names=("m",),
        component_names=("signal", "background"),
        mass_label="m",
        jsd_bins=20,
        fractions=(0.5, 0.2, 0.3),
        seed=seed,
        meta={"n": n},
    )
