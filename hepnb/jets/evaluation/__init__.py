"""Evaluation of the trained jet GANs as JetNet evaluates them: test jets, sampling, the metrics table, speed.

The study compares a generator's jets with real jets it never saw, next to two yardsticks computed the same way and
at the same sample size (Kansal et al., arXiv:2211.10295, whose "truth" rows are the first):

- **real vs real**, the floor: two disjoint halves of the real jets (what a perfect generator would get);
- **top vs QCD**, the scale: jets of the other class, a difference everybody can see.

The real jets are the **test** jets: new Pythia 8 + FastJet jets with a seed of their own, which neither the
training nor the epoch choice saw (the jets that ``hepnb train jets`` held out scored every epoch, so they are the
epoch-picking validation set). They are split into the **reference** that every row is measured against and the
floor's second half; generated and other-class samples have the reference's size. The metrics are
quoted in JetNet's units (W1M x 10^3, W1P x 10^3, W1EFP x 10^5, FPD x 10^4, KPD x 10^4, COV, MMD, the AUC of a
Deep Sets classifier), each with its error. Speed: jets per second of a generator on one CPU thread at batch 1 and
in bulk, beside Pythia 8 + FastJet per core, measured in the same run.

Importing :mod:`hepnb.jets.evaluation` is light: each name below loads its module on first use.

=============================================  ================  ==================================================
name                                           module            what it is
=============================================  ================  ==================================================
``TrainingSetup``, ``training_setup``          :mod:`~.samples`  an archive's training (seed, held-out jets)
``held_out_jets``, ``fresh_jets``              :mod:`~.samples`  the validation jets; new jets, the test set
``training_jets``                              :mod:`~.samples`  the jets an archive trained on
``split_reference``                            :mod:`~.samples`  a sample's reference and floor halves
``load_generator``, ``sample_jets``            :mod:`~.samples`  a chosen epoch's generator and its jets
``match_pt_sums``                              :mod:`~.samples`  summed pT_rel matched, or calibrated
``UNITS``, ``MetricSettings``                  :mod:`~.metrics`  JetNet's units, the metrics' cost knobs
``compare``, ``MetricsRow``, ``MetricValue``   :mod:`~.metrics`  JetNet's metrics of a sample as a table row
``metrics_table``, ``distance_summary``        :mod:`~.metrics`  the rows as a table; distances to floor and scale
``GenerationSpeed``, ``speed_table``           :mod:`~.speed`    a speed measurement; measurements compared
``model_speed``, ``pythia_speed``              :mod:`~.speed`    jets/s of a GAN and of Pythia 8 + FastJet per core
``jet_image``, ``multiplicity``, ``pt_sum``    :mod:`~.figures`  mean jet image; particles, summed pT_rel per jet
``FEATURES``, ``feature_comparisons``          :mod:`~.figures`  n, eta_rel, phi_rel, pT_rel, m/pT, sum pT_rel
``per_n_comparisons``, ``plot_comparisons``    :mod:`~.figures`  per-multiplicity comparisons; a grid of overlays
=============================================  ================  ==================================================

>>> from hepnb.jets import evaluation
>>> setup = evaluation.training_setup("runs/jets/setgan")                                  # doctest: +SKIP
>>> test = evaluation.fresh_jets("data/jets/top", 10_000, "build/test_jets", seed=2)      # doctest: +SKIP
>>> reference, floor = evaluation.split_reference(test)                                    # doctest: +SKIP
>>> rows = [evaluation.compare(reference, floor, "real vs real"),                          # doctest: +SKIP
...         evaluation.compare(reference, evaluation.sample_jets(setup.archive, len(reference)), "SetGAN")]
>>> evaluation.metrics_table(rows)                                                         # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.jets.evaluation.figures import (
        FEATURES,
        feature_comparisons,
        jet_image,
        multiplicity,
        per_n_comparisons,
        plot_comparisons,
        pt_sum,
    )
    from hepnb.jets.evaluation.metrics import (
        UNITS,
        MetricSettings,
        MetricsRow,
        MetricValue,
        compare,
        distance_summary,
        metrics_table,
    )
    from hepnb.jets.evaluation.samples import (
        TrainingSetup,
        fresh_jets,
        held_out_jets,
        load_generator,
        match_pt_sums,
        sample_jets,
        split_reference,
        training_jets,
        training_setup,
    )
    from hepnb.jets.evaluation.speed import GenerationSpeed, model_speed, pythia_speed, speed_table

_EXPORTS = {
    "TrainingSetup": "samples",
    "training_setup": "samples",
    "held_out_jets": "samples",
    "training_jets": "samples",
    "fresh_jets": "samples",
    "split_reference": "samples",
    "load_generator": "samples",
    "sample_jets": "samples",
    "match_pt_sums": "samples",
    "UNITS": "metrics",
    "MetricSettings": "metrics",
    "MetricValue": "metrics",
    "MetricsRow": "metrics",
    "compare": "metrics",
    "metrics_table": "metrics",
    "distance_summary": "metrics",
    "GenerationSpeed": "speed",
    "model_speed": "speed",
    "pythia_speed": "speed",
    "speed_table": "speed",
    "FEATURES": "figures",
    "jet_image": "figures",
    "multiplicity": "figures",
    "pt_sum": "figures",
    "feature_comparisons": "figures",
    "per_n_comparisons": "figures",
    "plot_comparisons": "figures",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
