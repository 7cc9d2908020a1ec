"""The measuring process of `hepnb.calo.speed`: ``python -m hepnb.calo.speed_child '<JSON arguments>'``.

It runs in a fresh interpreter that imports only what it times (the simulator never imports torch), so its peak
memory (``VmHWM`` of ``/proc/self/status``, which an exec resets) is that of generating alone. The arguments are a
JSON object: ``kind`` (``"GAN"`` or ``"simulator"``), ``plan`` (``[[batch_size, calls], ...]``, timed in that order),
``energy_mev``, ``threads`` and, for the GAN, ``state``: a ``torch.save`` file of ``{"hparams": CaloGAN
hyper-parameters, "state": the generator's weights}``. It prints one JSON line, `measure`'s report.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["memory_mib", "gan_maker", "simulator_maker", "measure", "main"]

Maker = Callable[[int, int], None]
"""``make(n, seed)``: generate ``n`` showers with ``seed`` and drop them."""


def memory_mib(key: str) -> float:
    """This process's ``VmRSS`` (resident) or ``VmHWM`` (peak resident) memory in MiB, from ``/proc/self/status``;
    the peak of ``getrusage`` where that file or line is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gan_maker(state: str, energy_mev: float, threads: int, largest_batch: int) -> Maker:
    """The generator saved in ``state`` making showers at ``energy_mev`` on ``threads`` torch threads, warmed up
    with one shower and one batch of ``min(largest_batch, 256)``."""
    import torch

    torch.set_num_threads(threads)
    from hepnb.calo.gan import CaloGAN
    from hepnb.units import energy_unit

    saved = torch.load(state, map_location="cpu", weights_only=True)  # tensors and plain values only
    model = CaloGAN(**saved["hparams"])
    model.load_state_dict(saved["state"], strict=False)
    model.eval()
    energy = energy_mev / energy_unit(model.preprocessing.energy_unit)

    def make(n: int, seed: int) -> None:
        model.generate(np.full(n, energy), seed % 4, seed % 2, 0.0, 0.0, seed=seed, batch_size=max(n, 1))

    make(1, 0)
    make(min(largest_batch, 256), 1)
    return make


def simulator_maker(energy_mev: float) -> Maker:
    """The parametric simulator making showers at ``energy_mev``, warmed up with one shower."""
    from hepnb.calo.simulate import simulate

    def make(n: int, seed: int) -> None:
        simulate(n, [energy_mev], seed=seed, progress=False)

    make(1, 0)
    return make


def measure(args: Mapping[str, Any]) -> dict[str, Any]:
    """Time the ``plan`` of ``args`` (see the module's docstring).

    Returns
    -------
    dict
        ``baseline``: resident MiB before the timed calls (interpreter, libraries and model loaded, warm-up made);
        ``results``: ``[batch, showers, seconds, peak MiB so far]`` per entry of the plan.
    """
    if args["kind"] == "GAN":
        make = gan_maker(args["state"], args["energy_mev"], args["threads"], max(batch for batch, _ in args["plan"]))
    else:
        make = simulator_maker(args["energy_mev"])
    baseline = memory_mib("VmRSS")
    results = []
    for batch, calls in args["plan"]:
        start = time.perf_counter()
        for i in range(calls):
            make(batch, 10 + i)
        results.append([batch, calls * batch, time.perf_counter() - start, memory_mib("VmHWM")])
    return {"baseline": baseline, "results": results}


def main(argv: Sequence[str] | None = None) -> None:
    """Measure as the JSON object ``argv[0]`` (default: the first command-line argument) says; print the report."""
    arguments = sys.argv[1:] if argv is None else argv
    print(json.dumps(measure(json.loads(arguments[0]))))


if __name__ == "__main__":
    main()
