"""Generator presets of the real-jet datasets: JetNet-like (13 TeV, ~1 TeV) and thesis-like (14 TeV, 550-650 GeV).

A :class:`JetPreset` holds everything that defines the physics of a dataset: the Pythia 8 settings, the anti-kT
jets that are kept and the per-jet array view (:func:`hepnb.jets.io.particle_features`). The two presets follow

- **jetnet**: JetNet (Kansal et al., arXiv:2106.11535; Zenodo 6975118): sqrt(s) = 13 TeV, partons at ~1 TeV,
  multi-parton interactions on, anti-kT R = 0.8, the 30 hardest particles as (eta_rel, phi_rel, pT_rel, mask) and
  the jet as (pT, eta, mass, n). JetNet's own jet-pT window is not published; we keep the two leading jets with
  800 < pT < 1300 GeV and |eta| < 2.
- **thesis**: the Top Quark Tagging Reference Dataset used by Bardhan's thesis, section 7.4 (Kasieczka et al.,
  arXiv:1902.09914; Zenodo 2603256): sqrt(s) = 14 TeV, jets with 550 < pT < 650 GeV and |eta| < 2, no multi-parton
  interactions, up to 100 constituents as (log E, log pT, eta_rel / R, phi_rel / R). Unlike that dataset there is
  no Delphes detector simulation: constituents are the stable visible particles.

Jet classes: ``top`` (all-hadronic ttbar; the jet holds the top, its b and both W quarks within dR < R),
``qcd`` (``HardQCD:all``, no label required), ``gluon`` and ``quark`` (QCD jets whose nearest hard-process parton
within dR < R is a gluon, or a u, d or s quark).

>>> from hepnb.jets.presets import PRESETS
>>> PRESETS["jetnet"].pythia_settings("top", pythia_seed=7)[:3]
['Beams:eCM = 13000', 'PhaseSpace:pTHatMin = 950', 'PhaseSpace:pTHatMax = 1050']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from hepnb.errors import InputError, is_whole_number

__all__ = ["JetPreset", "PRESETS", "JET_CLASSES", "REPRESENTATIONS", "get_preset", "check_jet_class", "chunk_seed"]

JET_CLASSES = ("top", "qcd", "gluon", "quark")
REPRESENTATIONS = ("jetnet", "thesis")

# Pythia's Random:seed takes 1 ... 900 000 000 (0 and negative values mean "from the clock" and "the default")
_PYTHIA_SEED_MAX = 900_000_000

# Silence every listing (``Next:numberShow*`` alone still leaves the init banners and the event counter)
_QUIET = (
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Next:numberShowLHA = 0",
)

_PROCESSES = {
    # all-hadronic ttbar: both W bosons decay to quarks (d, u, s, c, b)
    "top": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"),
    "qcd": ("HardQCD:all = on",),
    # processes rich in the wanted parton; the label comes from matching the jet to the hard-process partons
    "gluon": ("HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on", "HardQCD:qg2qg = on"),
    "quark": ("HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on", "HardQCD:gg2qqbar = on", "HardQCD:qg2qg = on"),
}


@dataclass(frozen=True)
class JetPreset:
    """The physics settings of a jet dataset.

    Attributes
    ----------
    name
        Recorded with the data.
    ecm
        Centre-of-mass energy in GeV.
    pthat_min, pthat_max
        Window of the hard process's transverse momentum in GeV (``PhaseSpace:pTHatMin/Max``).
    mpi
        Multi-parton interactions (the underlying event) on or off.
    jet_pt_min, jet_pt_max
        Kept jets have ``jet_pt_min <= pT < jet_pt_max`` (GeV).
    jet_abs_eta_max
        Kept jets have ``|eta| < jet_abs_eta_max``.
    radius
        Anti-kT radius R; also the matching radius of the truth labels.
    leading_jets
        Only the ``leading_jets`` hardest jets of an event are candidates.
    n_particles
        Constituents in the array view (the hardest ones; the files keep all).
    representation
        ``"jetnet"`` (eta_rel, phi_rel, pT_rel, mask) or ``"thesis"`` (log E, log pT, eta_rel/R, phi_rel/R, mask).

    Examples
    --------
    A test-sized variant with the hard-process window moved onto the jet window (more jets per event):

    >>> fast = PRESETS["jetnet"].replace(pthat_min=1000.0, mpi=False)
    """

    name: str
    ecm: float
    pthat_min: float
    pthat_max: float
    mpi: bool
    jet_pt_min: float
    jet_pt_max: float
    jet_abs_eta_max: float
    radius: float
    leading_jets: int
    n_particles: int
    representation: str

    def __post_init__(self) -> None:
        if self.representation not in REPRESENTATIONS:
            raise InputError(f"representation must be one of {REPRESENTATIONS}, got {self.representation!r}")
        numbers = {
            "ecm": self.ecm,
            "pthat_min": self.pthat_min,
            "pthat_max": self.pthat_max,
            "jet_pt_max": self.jet_pt_max,
            "jet_abs_eta_max": self.jet_abs_eta_max,
            "radius": self.radius,
        }
        for label, value in numbers.items():
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"preset {self.name!r}: {label} must be a positive number, got {value!r}")
        if not 0 <= self.jet_pt_min < self.jet_pt_max:
            raise InputError(
                f"preset {self.name!r}: need 0 <= jet_pt_min < jet_pt_max, got {self.jet_pt_min} and {self.jet_pt_max}"
            )
        if not self.pthat_min < self.pthat_max < self.ecm / 2:
            raise InputError(
                f"preset {self.name!r}: need pthat_min < pthat_max < ecm / 2, got {self.pthat_min}, "
                f"{self.pthat_max} at ecm = {self.ecm}"
            )
        if self.leading_jets < 1 or self.n_particles < 1:
            raise InputError(f"preset {self.name!r}: leading_jets and n_particles must be at least 1")

    def replace(self, **changes: object) -> JetPreset:
        """A copy with ``changes`` applied (checked like a new preset)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """The preset as a JSON-ready dict (recorded with the data)."""
        return dataclasses.asdict(self)

    def pythia_settings(self, jet_class: str, pythia_seed: int) -> list[str]:
        """The ``Pythia.readString`` lines for ``jet_class``, seeded with ``pythia_seed`` (1 ... 900 000 000)."""
        check_jet_class(jet_class)
        if not 1 <= pythia_seed <= _PYTHIA_SEED_MAX:
            raise InputError(f"pythia_seed must be in 1 ... {_PYTHIA_SEED_MAX}, got {pythia_seed}")
        return [
            f"Beams:eCM = {self.ecm:g}",
            f"PhaseSpace:pTHatMin = {self.pthat_min:g}",
            f"PhaseSpace:pTHatMax = {self.pthat_max:g}",
            *_PROCESSES[jet_class],
            f"PartonLevel:MPI = {'on' if self.mpi else 'off'}",
            "Random:setSeed = on",
            f"Random:seed = {pythia_seed}",
            *_QUIET,
        ]


PRESETS: dict[str, JetPreset] = {
    "jetnet": JetPreset(
        name="jetnet",
        ecm=13000.0,
        pthat_min=950.0,
        pthat_max=1050.0,
        mpi=True,
        jet_pt_min=800.0,
        jet_pt_max=1300.0,
        jet_abs_eta_max=2.0,
        radius=0.8,
        leading_jets=2,
        n_particles=30,
        representation="jetnet",
    ),
    "thesis": JetPreset(
        name="thesis",
        ecm=14000.0,
        pthat_min=520.0,
        pthat_max=680.0,
        mpi=False,
        jet_pt_min=550.0,
        jet_pt_max=650.0,
        jet_abs_eta_max=2.0,
        radius=0.8,
        leading_jets=2,
        n_particles=100,
        representation="thesis",
    ),
}


def get_preset(preset: str | JetPreset) -> JetPreset:
    """``PRESETS[preset]`` for a name; a :class:`JetPreset` is returned as it is."""
    if isinstance(preset, JetPreset):
        return preset
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}: use one of {sorted(PRESETS)} or a JetPreset")
    return PRESETS[preset]


def check_jet_class(jet_class: str) -> str:
    """Return ``jet_class`` if it is one of :data:`JET_CLASSES`, else raise :class:`InputError`."""
    if jet_class not in JET_CLASSES:
        raise InputError(f"unknown jet class {jet_class!r}: use one of {list(JET_CLASSES)}")
    return jet_class


def chunk_seed(seed: int, jet_class: str, index: int) -> int:
    """Pythia's seed for chunk ``index`` of a ``jet_class`` dataset made with the user's ``seed``.

    Each chunk gets its own seed (``numpy.random.SeedSequence`` of the three), so that a chunk's jets do not
    depend on which process made it, on the other chunks, or on a run having been interrupted.

    >>> chunk_seed(1, "top", 0) == chunk_seed(1, "top", 0) != chunk_seed(1, "top", 1)
    True
    """
    if not is_whole_number(seed) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")
    sequence = np.random.SeedSequence(int(seed), spawn_key=(JET_CLASSES.index(check_jet_class(jet_class)), index))
    return int(sequence.generate_state(1, dtype=np.uint64)[0] % _PYTHIA_SEED_MAX) + 1
