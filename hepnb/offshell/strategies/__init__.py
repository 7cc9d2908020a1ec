"""Chapter 6 classifier strategies for the off-shell VBF H* -> ZZ -> 4l search with interference (thesis section 6.6).

With interference the only physical VBF sample is SVI (``w_S + w_I + w_B`` at mu = 1); "signal" events do not
exist, so a classifier has no natural labels. Chapter 6 of the thesis tried two two-class strategies:

- **approach 1** (``"svi_vs_b2"``, "original"): the physical VBF SVI sample against ``B2 = qqZZ + ggZZ``;
- **approach 2** (``"s_vs_vb2"``, "alternate"): the *unphysical* Higgs-only sample S against VBS-only V plus B2.

Both are judged on the same physical events with the interference significance
``iZ = (S + SVI - V)/(2 sqrt(SVI + B2)) = 1/sigma_mu`` (thesis eq 4.44) of the events above a score threshold, with
its MC statistical error; approach 2 wins (thesis Fig 6.10: 0.142 +- 0.049 against 0.035 +- 0.012). The threshold
is the one of the best iZ on the *validation* events and the iZ is quoted on the *test* events
(:func:`~.evaluation.validated_iz_scan`): the best point of a scan, read on the events it was chosen on, is biased
upwards.

How the samples are used
------------------------
The simulator gives every VBF event its three weight components, so the S, V and SVI "samples" are the *same*
events with weights ``w_S``, ``w_B`` and ``w_S + w_I + w_B`` (the thesis had three independently generated samples).
Consequences, all handled here:

- the train/validation/test split is by event: an event's S, V and SVI copies are always in the same part;
- the VBF weights are exact and non-negative: they always enter the training as they are (S and V differ *only*
  by their weights, so dropping them would make approach 2 meaningless);
- ``S + SVI - V = sum(2 w_S + w_I)`` event by event, so the iZ numerator has no cancellation between samples; its MC
  error is propagated with the correlations of the shared events (``errors="correlated"``, the default; the
  thesis's independent-sample formula ``errors="independent"`` overestimates it).

Event weights in training (the "sample-weights conundrum", thesis section 6.6.5)
--------------------------------------------------------------------------------
The weight policies of :data:`WEIGHTINGS` act on the non-interfering backgrounds (qqZZ, ggZZ), where MC samples
carry zero weights (33% of the thesis's qqZZ) and negative-weight pockets (:func:`hepnb.offshell.generate` with
``zero_weight_fraction`` / ``negative_pocket``). What each model does with the weights it is given:

- zero weights contribute nothing to either loss (an event of weight 0 is a wasted event: it shrinks the
  effective training sample, Kish ``N_eff = (sum w)^2/sum w^2``);
- negative weights are passed on unchanged with ``"weighted"``: sklearn's gradient boosting accepts them and, as in
  the thesis, "works in reverse" on them (its gradients and hessians flip sign: a pocket of negative background
  weight is learnt as signal-like); the weighted BCE of the network is unbounded below there;
- ``"abs"``, ``"drop_negative"``, ``"drop_nonpositive"`` and ``"unweighted"`` are the explicit alternatives.

After the policy the classes are balanced (``balance="process"``: every component of a class gets the same total
weight and the classes the same total, the thesis's second prescription; ``"class"``: the components keep their
physical proportions; ``"none"``). Evaluation always uses the physical (clean) weights of the test events.

Where things are
----------------
Importing :mod:`hepnb.offshell.strategies` is light: each name below loads its module on first use (the network's
module imports torch and Lightning).

============================================  ===================  ===========================================
name                                          module               what it is
============================================  ===================  ===========================================
``APPROACHES``, ``WEIGHTINGS``, ``BALANCES``  :mod:`~.samples`     the strategies, weight policies, balancings
``PARTS``                                     :mod:`~.samples`     ``train``, ``validation``, ``test``
``approach_name``                             :mod:`~.samples`     ``1``/``2`` -> ``svi_vs_b2``/``s_vs_vb2``
``make_samples``, ``StrategySamples``         :mod:`~.samples`     ch6 features, seeded 3-part split by event
``TrainingSet``, ``EvaluationSet``            :mod:`~.samples`     rows of one strategy; physical test events
``GBDTClassifier``, ``train_gbdt``            :mod:`~.models`      sklearn gradient-boosted trees
``train``                                     :mod:`~.models`      ``"gbdt"`` or ``"nn"``
``MLPClassifier``, ``train_mlp``              :mod:`~.network`     the thesis's 3 x 32 network (Lightning)
``WeightedBCE``                               :mod:`~.network`     its LightningModule (event-weighted BCE)
``DEFAULT_THRESHOLDS``, ``iz_scan``           :mod:`~.evaluation`  iZ above score thresholds, its MC error
``validated_iz_scan``                         :mod:`~.evaluation`  threshold from validation, iZ on test
``iz_metric``                                 :mod:`~.evaluation`  iZ at a fixed threshold, for importance
``evaluate``, ``StrategyResult``              :mod:`~.evaluation`  validated iZ and weighted AUCs of a model
``feature_importance``                        :mod:`~.evaluation`  permutation importance under AUC or iZ
``importance_table``                          :mod:`~.evaluation`  rankings side by side (thesis Table 6.1)
``counting_metrics``                          :mod:`~.evaluation`  s/sqrt(b), Z', iZ, mu* of a yield table
``weight_summary``                            :mod:`~.weights`     zero/negative weights, N_eff of samples
``weight_study``, ``WeightStudy``             :mod:`~.weights`     clean vs pathological weights (Fig 6.9)
============================================  ===================  ===========================================

Quick start
-----------
>>> from hepnb import offshell as osh
>>> from hepnb.offshell import strategies as st
>>> samples = st.make_samples(osh.generate(150_000, 1), osh.generate(200_000, 1, "qqzz"),
...                           osh.generate(200_000, 1, "ggzz"), seed=0)                     # doctest: +SKIP
>>> gbdt = st.train_gbdt(samples.training_set("s_vs_vb2"), seed=0)                          # doctest: +SKIP
>>> st.evaluate(gbdt, samples).scan.value  # test iZ at the validation threshold            # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.offshell.strategies.evaluation import (
        DEFAULT_THRESHOLDS,
        StrategyResult,
        counting_metrics,
        evaluate,
        feature_importance,
        importance_table,
        iz_metric,
        iz_scan,
        validated_iz_scan,
    )
    from hepnb.offshell.strategies.models import GBDTClassifier, train, train_gbdt
    from hepnb.offshell.strategies.network import MLPClassifier, WeightedBCE, train_mlp
    from hepnb.offshell.strategies.samples import (
        APPROACHES,
        BALANCES,
        PARTS,
        WEIGHTINGS,
        EvaluationSet,
        StrategySamples,
        TrainingSet,
        approach_name,
        make_samples,
    )
    from hepnb.offshell.strategies.weights import WeightStudy, weight_study, weight_summary

_EXPORTS = {
    "APPROACHES": "samples",
    "WEIGHTINGS": "samples",
    "BALANCES": "samples",
    "PARTS": "samples",
    "TrainingSet": "samples",
    "EvaluationSet": "samples",
    "StrategySamples": "samples",
    "approach_name": "samples",
    "make_samples": "samples",
    "GBDTClassifier": "models",
    "train_gbdt": "models",
    "train": "models",
    "MLPClassifier": "network",
    "WeightedBCE": "network",
    "train_mlp": "network",
    "DEFAULT_THRESHOLDS": "evaluation",
    "StrategyResult": "evaluation",
    "iz_scan": "evaluation",
    "validated_iz_scan": "evaluation",
    "iz_metric": "evaluation",
    "evaluate": "evaluation",
    "feature_importance": "evaluation",
    "importance_table": "evaluation",
    "counting_metrics": "evaluation",
    "WeightStudy": "weights",
    "weight_summary": "weights",
    "weight_study": "weights",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
