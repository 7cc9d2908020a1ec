"""Shared fixtures, and a guard that every test leaves the process's global state as it found it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

# Environment variables that pytest and libraries set on purpose: Lightning's seed_everything records the seed
# for its worker processes and deterministic mode sets the cuBLAS workspace; torch's first import sets two of its
# own and scikit-learn's first import two OpenMP ones (os.environ.setdefault in sklearn/__init__.py). They are
# restored after each test, not reported.
LIBRARY_ENVIRONMENT = frozenset(
    {
        "PYTEST_CURRENT_TEST",
        "PL_GLOBAL_SEED",
        "PL_SEED_WORKERS",
        "CUBLAS_WORKSPACE_CONFIG",
        "PYTORCH_NVML_BASED_CUDA_CHECK",
        "TORCHINDUCTOR_CACHE_DIR",
        "KMP_DUPLICATE_LIB_OK",
        "KMP_INIT_AT_FORK",
    }
)


@pytest.fixture(scope="module")
def torch_single_thread() -> Iterator[None]:
    """Run a module's tests (and its module-scoped fixtures) with one torch thread, then restore the count.

    Trained models change in their last bits with the thread count; modules whose expectations were measured
    on one thread pin it with ``pytestmark = pytest.mark.usefixtures("torch_single_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def truth_events():
    """60,000 off-shell VBF events at truth level (no detector, ch6 preset), seed 2, shared by the LFI tests.

    Read-only: a test that changes events makes its own copy.
    """
    from hepnb import offshell

    return offshell.generate(60_000, seed=2, detector="none")


@pytest.fixture(scope="session")
def showers65():
    """3,000 simulated 65.5 GeV photons (2^16 MeV), default model, seed 11: the calorimeter simulator's and lateral
    shapes' tests share them. Read-only: a test that changes cells makes its own copy."""
    from hepnb.calo.simulate import simulate

    return simulate(3000, [65536.0], seed=11)


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


@pytest.fixture(autouse=True)
def _global_state_unchanged(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that changes the working directory, the environment or torch's thread count for good."""
    cwd, environment, threads = os.getcwd(), dict(os.environ), _torch_threads()
    yield
    problems = []
    if os.getcwd() != cwd:
        problems.append(f"working directory {cwd} -> {os.getcwd()}")
        os.chdir(cwd)
    changed = {k for k in environment.keys() | os.environ.keys() if environment.get(k) != os.environ.get(k)}
    for key in changed:
        if environment.get(key) is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = environment[key]
    if changed - LIBRARY_ENVIRONMENT:
        problems.append(f"environment variables {sorted(changed - LIBRARY_ENVIRONMENT)}")
    # module-scoped fixtures (torch_single_thread) may hold a thread count for the whole module: compare
    # against the count seen when this test started, which already includes them
    if threads is not None and _torch_threads() != threads:
        problems.append(f"torch threads {threads} -> {_torch_threads()}")
    if problems:
        pytest.fail(f"{request.node.nodeid} changed global state: {'; '.join(problems)}", pytrace=False)
