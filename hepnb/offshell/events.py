"""The :class:`Events` container and chunked, seeded event generation (behind ``hepnb.offshell.generate``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from hepnb.errors import InputError, is_whole_number
from hepnb.offshell import detector as det
from hepnb.offshell import features as feat
from hepnb.offshell import generator as gen
from hepnb.offshell import kinematics as kin
from hepnb.stats.constants import THESIS_LUMI
from hepnb.stats.yields import combine

__all__ = ["Events", "GenerationConfig", "generate_chunk", "iter_chunks", "concatenate", "mu_array"]

DEFAULT_CHUNK_SIZE = 50_000
TRUTH_FIELDS = (
    "m4l",
    "y_zz",
    "pt_zz",
    "x_v1",
    "x_v2",
    "pt_q1",
    "pt_q2",
    "phi_q1",
    "phi_q2",
    "rho",
    "cos_theta_zz",
    "phi_zz",
    "cos_theta_z1",
    "cos_theta_z2",
    "phi_z1",
    "phi_z2",
    "m_z1",
    "m_z2",
    "channel",
)


def mu_array(mu: Any, name: str = "mu") -> np.ndarray:
    """Signal strength(s) as a float array, refusing negative or non-finite values."""
    try:
        arr = np.asarray(mu, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or a list of numbers, got {mu!r}") from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InputError(f"{name} must be finite and >= 0 (mu = kappa^4), got {mu!r}")
    return arr


@dataclass(frozen=True)
class GenerationConfig:
    """Everything that determines a sample besides the seed and the number of events."""

    process: str = "vbf"
    detector: str = "atlas"
    preset: str | None = "thesis-ch6"
    lumi: float = THESIS_LUMI
    chunk_size: int = DEFAULT_CHUNK_SIZE
    zero_weight_fraction: float = 0.0
    negative_pocket: tuple[float, float] | None = None
    model: gen.VBFModel | gen.BackgroundModel | None = None

    def __post_init__(self) -> None:
        if self.process not in gen.PROCESSES:
            raise InputError(f"process must be one of {sorted(gen.PROCESSES)}, got {self.process!r}")
        det.check_detector(self.detector)
        det.check_preset(self.preset)
        if not (np.isfinite(self.lumi) and self.lumi > 0):
            raise InputError(f"lumi must be a positive integrated luminosity in fb^-1, got {self.lumi!r}")
        if int(self.chunk_size) < 1:
            raise InputError(f"chunk_size must be >= 1, got {self.chunk_size!r}")
        if not 0.0 <= self.zero_weight_fraction < 1.0:
            raise InputError(f"zero_weight_fraction must be in [0, 1), got {self.zero_weight_fraction!r}")
        if self.process == "vbf" and (self.zero_weight_fraction or self.negative_pocket):
            raise InputError(
                "the weight pathologies (zero_weight_fraction, negative_pocket) are for the "
                "backgrounds 'qqzz'/'ggzz' only; the VBF weights must stay exact"
            )
        if self.negative_pocket is not None:
            try:
                pocket = np.asarray(self.negative_pocket, dtype=float)
            except (TypeError, ValueError):
                pocket = np.full(1, np.nan)
            if pocket.shape != (2,) or not np.all(np.isfinite(pocket) & (pocket >= 0)):
                raise InputError(
                    "negative_pocket must be two finite numbers >= 0, (min leading-jet pT in GeV, "
                    f"min |Delta eta_jj|), e.g. (100.0, 3.0); got {self.negative_pocket!r}"
                )
        if self.model is None:
            object.__setattr__(self, "model", gen.DEFAULT_MODELS[self.process])
        expected = gen.VBFModel if self.process == "vbf" else gen.BackgroundModel
        if not isinstance(self.model, expected):
            raise InputError(f"model for process {self.process!r} must be a {expected.__name__}")

    def metadata(self) -> dict[str, Any]:
        """JSON-friendly description (recorded in parquet files)."""
        out = dataclasses.asdict(self)
        out["model"] = dataclasses.asdict(self.model)  # type: ignore[arg-type]
        out["negative_pocket"] = list(self.negative_pocket) if self.negative_pocket else None
        return out


def _chunk_rng(seed: int, process: str, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), gen.PROCESSES[process], int(chunk)]))


def _chunk_sizes(n: int, chunk_size: int) -> list[int]:
    full, rest = divmod(n, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def generate_chunk(
    config: GenerationConfig,
    seed: int,
    chunk: int,
    n_chunk: int,
    n_total: int,
    observables: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Generate chunk ``chunk`` (``n_chunk`` events) of a sample of ``n_total`` events; only selected events are kept.

    The random stream is seeded from ``(seed, process, chunk)``, so a chunk is the same wherever it runs. Weights
    are in expected events at ``config.lumi`` (``lumi * dsigma/q / n_total``). ``observables`` restricts the
    columns of ``x`` to those names (default: all of :data:`hepnb.offshell.features.OBSERVABLES`).
    """
    rng = _chunk_rng(seed, config.process, chunk)
    raw = gen.generate_truth(config.process, n_chunk, rng, config.model)  # type: ignore[arg-type]
    reco = det.simulate(raw, rng, config.detector)
    keep, x = _select(reco, config.preset, observables, raw.get("physical"))
    scale = config.lumi / n_total
    w = {k: raw[k] * scale for k in ("w_S", "w_I", "w_B")}
    if config.process != "vbf":
        w["w_B"] = _pathologies(w["w_B"], raw, rng, config)
    truth = raw["truth"]
    first = chunk * config.chunk_size
    out: dict[str, Any] = {
        "event": (first + np.arange(n_chunk, dtype=np.int64))[keep],
        "process": np.full(len(keep), gen.PROCESSES[config.process], dtype=np.int8),
        **{k: v[keep] for k, v in w.items()},
        "z": {k: truth[k][keep] for k in TRUTH_FIELDS},
        "leptons": raw["leptons"][keep],
        "pdg": raw["pdg"][keep],
        "jets": {k: v[keep] for k, v in raw["jets"].items()},
        "x": x,
    }
    return out


def _select(
    reco: dict[str, Any], preset: str | None, names: Sequence[str] | None, physical: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Indices of the events passing ``preset`` (and inside phase space, where ``physical`` says) and their
    observables ``names`` (default: all).

    The cuts are evaluated on the few observables they read and the others are computed for the selected events
    only (the same numbers as selecting after computing every observable of every event).
    """
    if preset is None and physical is None:
        return np.arange(len(reco["leptons"])), feat.observables(reco, names)
    passed = np.ones(len(reco["leptons"]), bool) if physical is None else physical
    if preset is not None:
        passed = passed & det.select(feat.observables(reco, det.CUT_OBSERVABLES), preset)
    keep = np.flatnonzero(passed)  # indices: a boolean mask is converted again per column
    return keep, feat.observables(_take(reco, keep), names)


def _pathologies(w_b: np.ndarray, raw: dict, rng: np.random.Generator, config: GenerationConfig) -> np.ndarray:
    """Zero-weight fraction (others scaled up, total unchanged) and a negative-weight pocket (stress tests)."""
    f0 = config.zero_weight_fraction
    zero = rng.random(len(w_b)) < f0  # drawn always, so switching a pathology on leaves the kinematics untouched
    if f0 > 0:
        w_b = np.where(zero, 0.0, w_b / (1.0 - f0))
    if config.negative_pocket is not None:
        pt_min, deta_min = config.negative_pocket
        jets = raw["jets"]
        two = jets["present"][:, 0] & jets["present"][:, 1] if jets["pt"].shape[1] > 1 else np.zeros(len(w_b), bool)
        deta = np.abs(jets["eta"][:, 0] - jets["eta"][:, min(1, jets["eta"].shape[1] - 1)])
        pocket = two & (jets["pt"][:, 0] > pt_min) & (deta > deta_min)
        w_b = np.where(pocket, -w_b, w_b)
    return w_b


def iter_chunks(config: GenerationConfig, n: int, seed: int, progress: bool | None = None) -> Iterator[dict]:
    """Yield the selected events of every chunk of an ``n``-event sample, in order (tqdm bar for long runs)."""
    sizes = _chunk_sizes(n, int(config.chunk_size))
    show = len(sizes) > 2 if progress is None else progress
    for chunk, size in enumerate(tqdm(sizes, desc=f"generating {config.process}", unit="chunk", disable=not show)):
        yield generate_chunk(config, seed, chunk, size, n)


def _to_awkward(cols: dict[str, Any]) -> ak.Array:
    n = len(cols["event"])
    lep = cols["leptons"]
    leptons = ak.unflatten(
        ak.zip(
            {
                "pt": kin.pt(lep).ravel(),
                "eta": kin.eta(lep).ravel(),
                "phi": kin.phi(lep).ravel(),
                "e": lep[..., 0].ravel(),
                "pdg": cols["pdg"].ravel(),
            }
        ),
        np.full(n, 4, dtype=np.int64),
    )
    jets = cols["jets"]
    present = jets["present"]
    counts = present.sum(axis=1).astype(np.int64)
    truth_jets = ak.unflatten(
        ak.zip(
            {
                "pt": jets["pt"][present],
                "eta": jets["eta"][present],
                "phi": jets["phi"][present],
                "parton": jets["parton"][present],
            }
        ),
        counts,
    )
    z = ak.zip({**cols["z"], "leptons": leptons, "jets": truth_jets}, depth_limit=1)
    x = ak.zip(cols["x"], depth_limit=1)
    return ak.zip(
        {
            "event": cols["event"],
            "process": cols["process"],
            "w_S": cols["w_S"],
            "w_I": cols["w_I"],
            "w_B": cols["w_B"],
            "z": z,
            "x": x,
        },
        depth_limit=1,
    )


def _concat_columns(chunks: list[dict]) -> dict:
    def merge(parts: list[Any]) -> Any:
        if isinstance(parts[0], dict):
            keys = parts[0].keys()
            if "present" in keys:  # padded jets: pad to the widest chunk
                width = max(p["pt"].shape[1] for p in parts)
                return {
                    k: np.concatenate([np.pad(p[k], ((0, 0), (0, width - p[k].shape[1]))) for p in parts]) for k in keys
                }
            return {k: merge([p[k] for p in parts]) for k in keys}
        return np.concatenate(parts)

    return merge(chunks)


@dataclass
class Events:
    """A weighted event sample: an awkward record array plus what made it.

    Attributes
    ----------
    array
        Records with ``event, process, w_S, w_I, w_B, z, x`` (see the ``hepnb.offshell`` module docstring).
    meta
        ``seed``, ``n_generated``, the :class:`GenerationConfig` as a dict, and ``kind`` (``"weighted"`` or
        ``"unweighted"`` with its ``mu``).
    """

    array: ak.Array
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, where: Any) -> Events:
        """Select events (mask or indices); the result keeps the metadata."""
        return Events(self.array[where], dict(self.meta))

    @property
    def x(self) -> ak.Array:
        """Observables (detector level)."""
        return self.array["x"]

    @property
    def z(self) -> ak.Array:
        """Latent parton-level variables."""
        return self.array["z"]

    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The weight components ``(w_S, w_I, w_B)`` as float64 numpy arrays."""
        return tuple(np.asarray(self.array[k], dtype=np.float64) for k in ("w_S", "w_I", "w_B"))  # type: ignore[return-value]

    def weight(self, mu: float | np.ndarray) -> np.ndarray:
        """Event weights ``mu w_S + sqrt(mu) w_I + w_B`` (expected events); a list of mu gives ``(len(mu), n)``."""
        m = mu_array(mu)
        w_s, w_i, w_b = self.components()
        if m.ndim == 0:
            return float(m) * w_s + np.sqrt(float(m)) * w_i + w_b
        return combine(m[:, None], w_s, w_i, w_b)

    @property
    def yields(self) -> dict[str, float]:
        """Summed components ``S, I, B`` (expected events at the sample's luminosity) and their MC errors."""
        w_s, w_i, w_b = self.components()
        return {
            "S": float(w_s.sum()),
            "I": float(w_i.sum()),
            "B": float(w_b.sum()),
            "S_err": float(np.sqrt((w_s**2).sum())),
            "I_err": float(np.sqrt((w_i**2).sum())),
            "B_err": float(np.sqrt((w_b**2).sum())),
        }

    def expected(self, mu: float | np.ndarray) -> float | np.ndarray:
        """Expected number of events ``N(mu) = mu S + sqrt(mu) I + B``."""
        m = mu_array(mu)
        y = self.yields
        out = combine(m, y["S"], y["I"], y["B"])
        return float(out) if np.ndim(out) == 0 else out


def concatenate(samples: list[Events]) -> Events:
    """Join samples (e.g. VBF + qqZZ + ggZZ); weights are already in events, so they simply add."""
    if not samples:
        raise InputError("concatenate needs at least one Events sample")
    lumis = {s.meta.get("config", {}).get("lumi") for s in samples}
    if len(lumis) > 1:
        raise InputError(f"samples have different luminosities {sorted(map(str, lumis))}; regenerate with one lumi")
    meta = {"parts": [dict(s.meta) for s in samples], "config": {"lumi": lumis.pop()}}
    return Events(ak.concatenate([s.array for s in samples]), meta)


def _check_seed(seed: Any) -> None:
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")


def build_events(config: GenerationConfig, n: int, seed: int, progress: bool | None = None) -> Events:
    """Generate ``n`` events (before selection) in seeded chunks and return the selected ones as :class:`Events`."""
    if not is_whole_number(n) or n < 1:
        raise InputError(f"n must be a positive integer number of events to generate, got {n!r}")
    _check_seed(seed)
    chunks = list(iter_chunks(config, int(n), int(seed), progress))
    cols = _concat_columns(chunks)
    meta = {"seed": int(seed), "n_generated": int(n), "kind": "weighted", "config": config.metadata()}
    return Events(_to_awkward(cols), meta)


def _take(cols: dict[str, Any], index: np.ndarray) -> dict[str, Any]:
    """Rows ``index`` of (nested) chunk columns."""
    return {k: _take(v, index) if isinstance(v, dict) else v[index] for k, v in cols.items()}


def _accepted(cols: dict[str, Any], u: np.ndarray, w: np.ndarray, w_max: float) -> list[tuple]:
    """``[(columns, u, w)]`` of the events passing ``u w_max < w``, or ``[]`` if none does."""
    ok = u * w_max < w
    return [(_take(cols, ok), u[ok], w[ok])] if ok.any() else []


def build_unweighted(
    config: GenerationConfig, mu: float, n: int, seed: int, max_generated: int, progress: bool | None = None
) -> Events:
    """``n`` unweighted events at ``mu``: accept-reject chunk by chunk, in bounded memory.

    Chunk ``c`` holds the events of chunk ``c`` of ``generate(N, seed)``. Its selected events are kept with
    probability ``w(mu) / w_max`` (uniforms from ``SeedSequence([seed, 7919, c])``), ``w_max`` being the largest
    weight generated so far; when ``w_max`` grows, the kept events are thinned to the new ratio, so every kept event
    has passed ``u w_max < w(mu)`` for the final ``w_max``, as in :func:`hepnb.offshell.morphing.unweight`. Only one
    chunk and the kept events are in memory. Generation stops after the chunk that brings the kept events to ``n``
    (the first ``n`` in event order are returned), or raises ``InputError`` after ``max_generated`` events.
    The returned events carry ``sigma(mu) / (n w(mu))`` times their components, ``sigma(mu)`` estimated from every
    generated event, so each weighs ``sigma(mu) / n`` at ``mu``.
    """
    m = float(mu_array(mu))
    _check_seed(seed)
    if not is_whole_number(max_generated) or max_generated < 1:
        raise InputError(f"max_generated must be a positive integer number of events, got {max_generated!r}")
    kept: list[tuple[dict[str, Any], np.ndarray, np.ndarray]] = []  # (columns, uniforms, weights at mu)
    w_max = total = 0.0
    generated = chunk = n_kept = 0
    show = {"disable": True} if progress is False else {"delay": 0.0 if progress else 2.0}
    with tqdm(total=n, desc=f"unweighting {config.process} at mu={m:g}", unit="event", **show) as bar:
        while n_kept < n and generated < max_generated:
            size = min(int(config.chunk_size), int(max_generated) - generated)
            cols = generate_chunk(config, int(seed), chunk, size, 1)  # weights x n_generated, rescaled below
            w = combine(m, cols["w_S"], cols["w_I"], cols["w_B"])
            u = np.random.default_rng(np.random.SeedSequence([int(seed), 7919, chunk])).random(len(w))
            total += float(w.sum())
            generated, chunk = generated + size, chunk + 1
            if w.max(initial=0.0) > w_max:  # a larger envelope: thin what was kept under the smaller one
                w_max = float(w.max())
                kept = [part for c, uk, wk in kept for part in _accepted(c, uk, wk, w_max)]
            kept += _accepted(cols, u, w, w_max)
            n_kept = sum(len(wk) for _, _, wk in kept)
            bar.n = min(n_kept, n)
            bar.refresh()
    if n_kept < n:
        rate = total / w_max / generated if w_max > 0 else 0.0  # expected acceptance per generated event
        needed = f"about {int(np.ceil(1.1 * n / rate)):,}" if rate > 0 else "many more"
        raise InputError(
            f"only {n_kept} of the n={n} unweighted events were accepted at mu={m:g} after generating "
            f"{generated:,} events (max_generated); at this acceptance ({rate:.3g} per generated event, counted "
            f"before the selection) {needed} generated events are needed: raise max_generated or ask for fewer"
        )
    cols = _take(_concat_columns([c for c, _, _ in kept]), np.arange(n))
    w_mu = np.concatenate([wk for _, _, wk in kept])[:n]
    scale = total / generated / (n * w_mu)  # sigma(mu) / (n w(mu)) with sigma in expected events at lumi
    cols.update({k: cols[k] * scale for k in ("w_S", "w_I", "w_B")})
    meta = {
        "seed": int(seed),
        "n_generated": generated,
        "kind": "unweighted",
        "config": config.metadata(),
        "mu": m,
        "unweight_seed": int(seed),
    }
    return Events(_to_awkward(cols), meta)


def as_config(
    process: str,
    detector: str,
    preset: str | None,
    lumi: float,
    chunk_size: int,
    zero_weight_fraction: float,
    negative_pocket: tuple[float, float] | None,
    model: Mapping | gen.VBFModel | gen.BackgroundModel | None,
) -> GenerationConfig:
    """Build a :class:`GenerationConfig`; ``model`` may be a dict of overrides of the default model.

    The overrides start from the calibrated model of their kinematics: ``{"kinematics": "collinear", ...}`` from
    ``VBFModel.collinear()``, anything else from :data:`~hepnb.offshell.models.DEFAULT_MODELS`.
    """
    if isinstance(model, Mapping):
        base = gen.DEFAULT_MODELS.get(process)
        if process == "vbf" and model.get("kinematics") == "collinear":
            base = gen.VBFModel.collinear()
        if base is None:
            raise InputError(f"process must be one of {sorted(gen.PROCESSES)}, got {process!r}")
        unknown = set(model) - {f.name for f in dataclasses.fields(base)}
        if unknown:
            raise InputError(f"unknown model parameters {sorted(unknown)} for process {process!r}")
        model = dataclasses.replace(base, **model)
    return GenerationConfig(
        process,
        detector,
        preset,
        float(lumi),
        int(chunk_size),
        float(zero_weight_fraction),
        tuple(negative_pocket) if isinstance(negative_pocket, (tuple, list, np.ndarray)) else negative_pocket,
        model,
    )
