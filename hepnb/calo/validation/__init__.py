"""Validation of the calorimeter GAN at a chosen epoch (thesis section 5.5).

What the study notebook calls, in its order: the held-out reference of a training and generated showers like it,
every shower variable compared per energy point, response and resolution versus energy, the ablation's total energy,
the untrained energy points, the layer fractions next to the thesis's, the classifier features and the data inspection.
Energies are in **MeV** (cells, true energies), as everywhere in `hepnb.calo`; plots show GeV where it reads better.
Each name below loads its module on first use.

=================================  ====================  =============================================================
name                               module                what it is
=================================  ====================  =============================================================
``ENERGY_65_MEV``                  :mod:`~.points`       the thesis's "65.5 GeV" point, 2^16 MeV
``energy_point_gev``               :mod:`~.points`       an energy point in GeV, rounded to the MeV (table labels)
``training_reference``             :mod:`~.reference`    the held-out half of ``hepnb train calo``, regenerated exactly
``check_archive``                  :mod:`~.reference`    an archive was trained on that data (fraction, seed, model)
``as_shower_arrays``               :mod:`~.reference`    simulator `Showers` -> checked ``ShowerArrays`` (MeV)
``generate_like``                  :mod:`~.reference`    one generated shower per reference shower, same conditions
``shower_variables``               :mod:`~.variables`    every variable of thesis 5.5.2-5.5.4 as a ``[N, n]`` table
``VARIABLE_GROUPS``                :mod:`~.variables`    the variables in groups of one plot grid each
``variable_label``                 :mod:`~.variables`    axis title with unit of a variable
``EPOCH_PICKING_VARIABLES``        :mod:`~.variables`    the observables behind the thesis's epoch picking
``classifier_features``            :mod:`~.variables`    features of the classifier two-sample test
``reference_binning``              :mod:`~.comparisons`  ``(n, low, high)`` from the reference's quantiles
``VariableComparisons``            :mod:`~.comparisons`  every variable x energy point: chi2/ndf tables, ratio plots
``total_energy_comparison``        :mod:`~.comparisons`  the total-energy histogram of the ablation (single vs double)
``evaluate_energy_point``          :mod:`~.comparisons`  interpolation (25 GeV) and extrapolation (524 GeV) checks
``PointEvaluation``                :mod:`~.comparisons`  what ``evaluate_energy_point`` returns
``layer_fraction_table``           :mod:`~.comparisons`  E_layer / E_true in % next to the thesis's Fig. 5.19
``THESIS_LAYER_FRACTIONS_65GEV``   :mod:`~.comparisons`  the thesis's Fig. 5.19 numbers
``response_resolution``            :mod:`~.resolution`   response and resolution per energy point, with errors
``response_layer_correlation``     :mod:`~.resolution`   correlation of the response with a layer's share
``resolution_ratio``, ``Ratio``    :mod:`~.resolution`   generated over reference at one point (second-critic claim)
``plot_response_resolution``       :mod:`~.resolution`   both versus E_true, with ratio panels
``resolution_by_epoch``            :mod:`~.resolution`   the ratio at one point for every checkpoint of an archive
``plot_resolution_by_epoch``       :mod:`~.resolution`   those ratios against epoch, with the tolerance band
``plot_training_history``          :mod:`~.resolution`   the critic's loss and the resolution error per epoch
``response_tails``                 :mod:`~.diagnostics`  showers above 1.05/1.1/1.2/1.5 x E_true per point
``plot_response_tails``            :mod:`~.diagnostics`  response histograms (log y) per energy point, thresholds
``overshoot_breakdown``            :mod:`~.diagnostics`  the overshooting showers' layers, small cells and alignment
``response_vs_condition``          :mod:`~.diagnostics`  response and resolution per bin of d_eta, d_phi, p or e
``ConditionProfile``               :mod:`~.diagnostics`  what it returns, with the chi2/ndf flatness of the profile
``plot_response_vs_condition``     :mod:`~.diagnostics`  those profiles with ratio panels to the reference
``single_variable_aucs``           :mod:`~.diagnostics`  per-variable ROC AUC generated vs reference (what gives away)
``alignment_comparisons``          :mod:`~.inspection`   <phi>_Strips per p, <eta>_Back per e: reference vs generated
``plot_alignment_effects``         :mod:`~.inspection`   how the cell geometry shows in the data
``plot_mean_images``               :mod:`~.inspection`   the mean shower per layer
``lateral_shape_table``            :mod:`~.lateral`      mean R_eta, R_phi, w_eta2, f_side next to ATLAS's ranges
``generated_lateral_shapes``       :mod:`~.lateral`      the same for test showers and the GANs' showers like them
``tight_cut_table``                :mod:`~.lateral`      fraction passing ATLAS's tight photon cuts on those shapes
``ATLAS_UNCONVERTED_RANGES``       :mod:`~.lateral`      where ATLAS unconverted photons' R_eta and R_phi peak
``ATLAS_TIGHT_CUTS``               :mod:`~.lateral`      ATLAS's tight cuts (2012 menu, unconverted, |eta| < 0.6)
``LATERAL_SHAPES``                 :mod:`~.lateral`      how each shape of those tables is computed from ShowerArrays
``digitise``, ``THRESHOLD_SIGMA``  :mod:`~.noise`        electronic noise and a 4-sigma cell threshold
``noisy_comparison``               :mod:`~.noise`        C2ST AUCs and resolution ratio after noise and threshold
``tail_excess``                    :mod:`~.physical`     a generated response tail tested against the reference's
``physical_checkpoints``           :mod:`~.physical`     that test for every checkpoint: the EpochPicker candidates
``training_seed_table``            :mod:`~.seeds`        the headline numbers per training and latent seed
=================================  ====================  =============================================================

>>> from hepnb.calo import validation
>>> validation.energy_point_gev(validation.ENERGY_65_MEV)
65.536
>>> reference = validation.training_reference(0.1, seed=1, per_energy=1000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.calo.validation.comparisons import (
        THESIS_LAYER_FRACTIONS_65GEV,
        PointEvaluation,
        VariableComparisons,
        evaluate_energy_point,
        layer_fraction_table,
        reference_binning,
        total_energy_comparison,
    )
    from hepnb.calo.validation.diagnostics import (
        ConditionProfile,
        overshoot_breakdown,
        plot_response_tails,
        plot_response_vs_condition,
        response_tails,
        response_vs_condition,
        single_variable_aucs,
    )
    from hepnb.calo.validation.inspection import alignment_comparisons, plot_alignment_effects, plot_mean_images
    from hepnb.calo.validation.lateral import (
        ATLAS_TIGHT_CUTS,
        ATLAS_UNCONVERTED_RANGES,
        LATERAL_SHAPES,
        generated_lateral_shapes,
        lateral_shape_table,
        tight_cut_table,
    )
    from hepnb.calo.validation.noise import THRESHOLD_SIGMA, digitise, noisy_comparison
    from hepnb.calo.validation.physical import physical_checkpoints, tail_excess
    from hepnb.calo.validation.points import ENERGY_65_MEV, energy_point_gev
    from hepnb.calo.validation.reference import as_shower_arrays, check_archive, generate_like, training_reference
    from hepnb.calo.validation.resolution import (
        Ratio,
        plot_resolution_by_epoch,
        plot_response_resolution,
        plot_training_history,
        resolution_by_epoch,
        resolution_ratio,
        response_layer_correlation,
        response_resolution,
    )
    from hepnb.calo.validation.seeds import training_seed_table
    from hepnb.calo.validation.variables import (
        EPOCH_PICKING_VARIABLES,
        VARIABLE_GROUPS,
        classifier_features,
        shower_variables,
        variable_label,
    )

_EXPORTS = {
    "ENERGY_65_MEV": "points",
    "energy_point_gev": "points",
    **dict.fromkeys(("training_reference", "check_archive", "as_shower_arrays", "generate_like"), "reference"),
    **dict.fromkeys(
        ("shower_variables", "VARIABLE_GROUPS", "variable_label", "EPOCH_PICKING_VARIABLES", "classifier_features"),
        "variables",
    ),
    **dict.fromkeys(
        (
            "reference_binning",
            "VariableComparisons",
            "total_energy_comparison",
            "evaluate_energy_point",
            "PointEvaluation",
            "layer_fraction_table",
            "THESIS_LAYER_FRACTIONS_65GEV",
        ),
        "comparisons",
    ),
    **dict.fromkeys(
        (
            "response_resolution",
            "response_layer_correlation",
            "resolution_ratio",
            "Ratio",
            "plot_response_resolution",
            "resolution_by_epoch",
            "plot_resolution_by_epoch",
            "plot_training_history",
        ),
        "resolution",
    ),
    **dict.fromkeys(
        (
            "response_tails",
            "plot_response_tails",
            "overshoot_breakdown",
            "response_vs_condition",
            "ConditionProfile",
            "plot_response_vs_condition",
            "single_variable_aucs",
        ),
        "diagnostics",
    ),
    **dict.fromkeys(("alignment_comparisons", "plot_alignment_effects", "plot_mean_images"), "inspection"),
    **dict.fromkeys(
        (
            "lateral_shape_table",
            "generated_lateral_shapes",
            "tight_cut_table",
            "ATLAS_UNCONVERTED_RANGES",
            "ATLAS_TIGHT_CUTS",
            "LATERAL_SHAPES",
        ),
        "lateral",
    ),
    **dict.fromkeys(("digitise", "noisy_comparison", "THRESHOLD_SIGMA"), "noise"),
    **dict.fromkeys(("tail_excess", "physical_checkpoints"), "physical"),
    "training_seed_table": "seeds",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
