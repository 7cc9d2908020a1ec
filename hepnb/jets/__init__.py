"""The jet-generation study (thesis chapter 7): Pythia 8 + FastJet datasets, jet substructure and the jet GANs.

Importing :mod:`hepnb.jets` is light: each name below loads its module (and Pythia, FastJet, torch) on first use.

===================================  =====================  ====================================================
name                                 module                 what it is
===================================  =====================  ====================================================
``PRESETS``, ``JetPreset``           :mod:`~.presets`       JetNet-like and thesis-like generator settings
``JET_CLASSES``                      :mod:`~.presets`       ``("top", "qcd", "gluon", "quark")``
``generate_jets``                    :mod:`~.generate`      resumable multi-process dataset -> ``GenerationRun``
``GenerationRun``                    :mod:`~.generate`      what a call made, its rate, ``.read()``
``select_jets``                      :mod:`~.selection`     jets of one ``Pythia.nextBatch`` with truth labels
``top_matched``, ``nearest_parton``  :mod:`~.selection`     the truth matching on plain arrays
``read_jets``, ``JetSample``         :mod:`~.io`            a dataset folder as awkward records
``particle_features``                :mod:`~.io`            JetNet ``[N, 30, 4]`` / thesis ``[N, 100, 5]``
``jet_features``                     :mod:`~.io`            ``[N, 4]`` (pT, eta, mass, n)
``nsubjettiness``, ``tau_ratios``    :mod:`~.substructure`  tau_N (FastJet's Nsubjettiness), tau21, tau32
``energy_correlations``              :mod:`~.substructure`  e2, e3 (vectorised numpy)
``energy_correlation_ratios``        :mod:`~.substructure`  C2, D2
``substructure_table``               :mod:`~.substructure`  all of the above as a dict of arrays
``JetPreprocessing``                 :mod:`~.datamodule`    standardisation and multiplicities of training jets
``JetDataModule``                    :mod:`~.datamodule`    batches of standardised clouds for the GANs
``SetGAN``, ``SetGANConfig``         :mod:`~.gan`           the thesis's two-stage Set-Transformer GAN
``EPiCGAN``, ``EPiCConfig``          :mod:`~.epic`          the EPiC-GAN baseline (arXiv:2301.08128)
``train_jets``, ``JetTraining``      :mod:`~.train`         ``hepnb train jets``: resumable training + metrics
``training_setup``                   :mod:`~.evaluation`    an archive's training (seed, held-out jets)
``held_out_jets``                    :mod:`~.evaluation`    the jets a training held out (epoch picking)
``fresh_jets``                       :mod:`~.evaluation`    new jets with a seed of their own: the test set
``load_generator``, ``sample_jets``  :mod:`~.evaluation`    a chosen epoch's generator and its jets
``compare``, ``metrics_table``       :mod:`~.evaluation`    JetNet's metrics in its units, real-vs-real floor
``model_speed``, ``pythia_speed``    :mod:`~.evaluation`    jets/s of a GAN and of Pythia 8 + FastJet per core
===================================  =====================  ====================================================

>>> from hepnb import jets
>>> run = jets.generate_jets("data/jets/top", 50_000, preset="jetnet", jet_class="top", seed=1)  # doctest: +SKIP
>>> sample = run.read()                                                                          # doctest: +SKIP
>>> c = sample.jets.constituents                                                                 # doctest: +SKIP
>>> table = jets.substructure_table(c.pt, c.eta, c.phi)                                         # doctest: +SKIP

The command line does the same: ``hepnb data jets --preset jetnet --class top --jets 50000 --output DIR``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.jets.datamodule import JetDataModule, JetPreprocessing
    from hepnb.jets.epic import EPiCConfig, EPiCGAN
    from hepnb.jets.evaluation import (
        compare,
        fresh_jets,
        held_out_jets,
        load_generator,
        metrics_table,
        model_speed,
        pythia_speed,
        sample_jets,
        training_setup,
    )
    from hepnb.jets.gan import SetGAN, SetGANConfig
    from hepnb.jets.generate import GenerationRun, generate_jets
    from hepnb.jets.io import JetSample, jet_features, particle_features, read_jets
    from hepnb.jets.presets import JET_CLASSES, PRESETS, JetPreset
    from hepnb.jets.selection import nearest_parton, select_jets, top_matched
    from hepnb.jets.substructure import (
        energy_correlation_ratios,
        energy_correlations,
        nsubjettiness,
        substructure_table,
        tau_ratios,
    )
    from hepnb.jets.train import JetTraining, train_jets

_EXPORTS = {
    "PRESETS": "presets",
    "JetPreset": "presets",
    "JET_CLASSES": "presets",
    "generate_jets": "generate",
    "GenerationRun": "generate",
    "select_jets": "selection",
    "top_matched": "selection",
    "nearest_parton": "selection",
    "read_jets": "io",
    "JetSample": "io",
    "particle_features": "io",
    "jet_features": "io",
    "nsubjettiness": "substructure",
    "tau_ratios": "substructure",
    "energy_correlations": "substructure",
    "energy_correlation_ratios": "substructure",
    "substructure_table": "substructure",
    "JetPreprocessing": "datamodule",
    "JetDataModule": "datamodule",
    "SetGAN": "gan",
    "SetGANConfig": "gan",
    "EPiCGAN": "epic",
    "EPiCConfig": "epic",
    "train_jets": "train",
    "JetTraining": "train",
    "training_setup": "evaluation",
    "held_out_jets": "evaluation",
    "fresh_jets": "evaluation",
    "load_generator": "evaluation",
    "sample_jets": "evaluation",
    "compare": "evaluation",
    "metrics_table": "evaluation",
    "model_speed": "evaluation",
    "pythia_speed": "evaluation",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
