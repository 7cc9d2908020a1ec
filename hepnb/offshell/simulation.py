"""The entry points of the off-shell simulator: :func:`generate` weighted and :func:`unweighted` events.

Both return :class:`~hepnb.offshell.events.Events` in the event format of :mod:`hepnb.offshell`; the chunked, seeded
generation behind them is :func:`hepnb.offshell.events.build_events` and
:func:`hepnb.offshell.events.build_unweighted`.

>>> from hepnb.offshell.simulation import generate
>>> events = generate(2000, seed=1, detector="none", preset=None, progress=False)
>>> events.meta["n_generated"], len(events), events.meta["kind"]  # no selection: all but those outside phase space
(2000, 1445, 'weighted')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hepnb.errors import InputError, is_whole_number
from hepnb.offshell.events import DEFAULT_CHUNK_SIZE, Events, as_config, build_events, build_unweighted
from hepnb.offshell.models import BackgroundModel, VBFModel
from hepnb.offshell.morphing import unweight
from hepnb.stats.constants import THESIS_LUMI

__all__ = ["generate", "unweighted"]


def generate(
    n: int,
    seed: int,
    process: str = "vbf",
    detector: str = "atlas",
    preset: str | None = "thesis-ch6",
    lumi: float = THESIS_LUMI,
    *,
    chunk_size: int = 50_000,
    zero_weight_fraction: float = 0.0,
    negative_pocket: tuple[float, float] | None = None,
    model: Mapping[str, Any] | VBFModel | BackgroundModel | None = None,
    progress: bool | None = None,
) -> Events:
    """Generate ``n`` weighted events and return those passing ``preset`` (and, for VBF with the exact kinematics,
    inside their phase space, :func:`hepnb.offshell.tagging.in_phase_space`).

    Parameters
    ----------
    n
        Events to generate before the selection (the returned sample is smaller).
    seed
        Master seed; chunk ``c`` uses ``SeedSequence([seed, process, c])``, so the same seed gives the same bytes.
    process
        ``"vbf"`` (VBF + VBS with interference), ``"qqzz"`` or ``"ggzz"``.
    detector
        ``"atlas"``, ``"delphes"`` or ``"none"`` (truth objects; enables the oracle likelihood).
    preset
        ``"thesis-ch6"``, ``"thesis-ch7"``, ``"4l"`` or ``None`` (see :data:`PRESETS`).
    lumi
        Integrated luminosity in fb^-1; weights are expected events.
    chunk_size
        Events per seeded chunk (part of the sample's identity: change it and the events change).
    zero_weight_fraction
        Backgrounds only: fraction of events given weight exactly 0 (others scaled up; ch6 qqZZ had 0.33).
    negative_pocket
        Backgrounds only: ``(min leading truth-jet pT, min |Delta eta|)`` of a pocket whose weights are negative.
    model
        Model knobs: a :class:`VBFModel`/:class:`BackgroundModel` or a dict of overrides of the calibrated default.
    progress
        Show a tqdm bar (default: when there are more than two chunks).
    """
    config = as_config(process, detector, preset, lumi, chunk_size, zero_weight_fraction, negative_pocket, model)
    return build_events(config, n, seed, progress)


def unweighted(
    mu: float,
    n: int,
    seed: int,
    *,
    source: Events | None = None,
    process: str = "vbf",
    detector: str = "atlas",
    preset: str | None = "thesis-ch6",
    lumi: float = THESIS_LUMI,
    max_generated: int = 20_000_000,
    progress: bool | None = None,
) -> Events:
    """``n`` unweighted events distributed as ``p(x, z | mu)``.

    From ``source`` if given (accept-reject on its weights, :func:`hepnb.offshell.morphing.unweight`). Otherwise
    weighted events are generated with ``seed`` chunk by chunk (the chunks of :func:`generate`) and accept-rejected
    as they come, keeping only the accepted events, so the memory stays that of one chunk plus the result
    (:func:`hepnb.offshell.events.build_unweighted`); an ``InputError`` says how many events would be needed when
    ``max_generated`` generated events (counted before the selection) do not give ``n``. The returned events weigh
    ``sigma(mu) / n`` each at ``mu`` and still reweight to any other mu.
    """
    if not is_whole_number(n) or n < 1:
        raise InputError(f"n must be a positive number of unweighted events, got {n!r}")
    if source is not None:
        return unweight(source, mu, n, seed)
    config = as_config(process, detector, preset, lumi, DEFAULT_CHUNK_SIZE, 0.0, None, None)
    return build_unweighted(config, mu, int(n), seed, max_generated, progress)
