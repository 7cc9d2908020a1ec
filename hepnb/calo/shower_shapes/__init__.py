"""Validation variables of the calorimeter study (thesis sections 5.5.2-5.5.4), vectorised over ``[N, 266]``.

Every function takes cells in the flat order of `hepnb.calo.geometry` (any energy unit; ratios are
unit-free) and returns one value per shower. Coordinates are relative to the impact-cell centre; the
alignment ``p`` (0..3) is needed for phi in the Presampler/Strips and ``e`` (0/1) for eta in the Back layer.

Empty layers and zero denominators never give NaN: moments (means) return ``fill`` (default 0.0, the
impact-cell centre), widths return 0, ratios (Reta, Rphi, fractions, fracs1) return ``fill`` (default 0.0),
Eratio is 1 when there is no second strip maximum (also for empty strips), and e2tsts1/emins1/DeltaE are 0
without a second maximum. Use `empty_layers` to count or drop such showers (thesis section 5.5.3: an underflow bin).
Cells with electronic noise can be negative; threshold or clip them before computing moments.

Each name below loads its module on first use.

============================================  =======================  ===============================================
name                                          module                   what it is
============================================  =======================  ===============================================
``layer_energies``, ``total_energy``          :mod:`~.energies`        ``[N, 4]`` energy per layer, sum of the cells
``empty_layers``                              :mod:`~.energies`        ``[N, 4]``: the layer holds no energy
``layer_fractions``, ``f1``, ``f3``           :mod:`~.energies`        E_layer / E (sum of layers or E_true)
``response``                                  :mod:`~.energies`        sum of the cells / E_true
``fit_layer_weights``                         :mod:`~.energies`        least-squares per-layer calibration weights
``calibrated_energy``                         :mod:`~.energies`        sum_L w_L E_L
``cell_covariance``, ``covariance_mse``       :mod:`~.energies`        ``[266, 266]`` covariance, MSE of two of them
``cell_moment_maps``                          :mod:`~.energies`        mean and std per cell as layer images
``eta_mean``, ``phi_mean``                    :mod:`~.lateral`         energy-weighted mean position in a layer
``eta_width``, ``phi_width``                  :mod:`~.lateral`         energy-weighted spread in a layer
``delta_eta``, ``delta_phi``                  :mod:`~.lateral`         mean position minus the extrapolated impact
``eta_mean_difference``                       :mod:`~.lateral`         <eta>_Middle - <eta>_L (and ``phi_...``)
``phi_mean_difference``                       :mod:`~.lateral`         <phi>_Middle - <phi>_L
``s_shape``, ``Profile``                      :mod:`~.lateral`         <eta>_L against the impact (``hist`` ``Mean``)
``delta_eta_cell_hist``                       :mod:`~.lateral`         energy-weighted eta_cell - eta_impact cell
``reta``, ``reta_thesis``, ``rphi``           :mod:`~.reconstruction`  Middle-layer energy ratios
``weta2``                                     :mod:`~.reconstruction`  Middle-layer width in eta (3x5 window)
``weta2_corrected``                           :mod:`~.reconstruction`  the same, corrected for the impact (ATLAS)
``strip_profile``                             :mod:`~.reconstruction`  ``[N, 56]`` strip energies over phi rows
``weta1``, ``wstot1``                         :mod:`~.reconstruction`  strip widths (+-3 and +-10 strips)
``emaxs1``, ``e2tsts1``, ``e2tsts1_thesis``   :mod:`~.reconstruction`  first and second strip maxima
``emins1``, ``eratio``, ``delta_e``           :mod:`~.reconstruction`  strip minimum between them, E_ratio, Delta E
``fracs1``, ``fracs1_thesis``                 :mod:`~.reconstruction`  strip side fraction
``ecore``                                     :mod:`~.reconstruction`  energy of the core windows of all layers
``compute_all``                               :mod:`~.compute`         every variable above as a dict of ``[N]``
============================================  =======================  ===============================================

>>> import numpy as np
>>> from hepnb.calo import shower_shapes
>>> from hepnb.calo.geometry import MIDDLE
>>> cells = np.zeros((1, 266))
>>> cells[0, MIDDLE.offset + 3 * MIDDLE.n_phi + 3] = 3.0  # the impact cell (3, 3) of the Middle layer
>>> shower_shapes.layer_energies(cells).tolist()
[[0.0, 0.0, 3.0, 0.0]]
>>> float(shower_shapes.reta(cells)[0])
1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepnb._lazy import lazy_exports

if TYPE_CHECKING:
    from hepnb.calo.shower_shapes.compute import compute_all
    from hepnb.calo.shower_shapes.energies import (
        calibrated_energy,
        cell_covariance,
        cell_moment_maps,
        covariance_mse,
        empty_layers,
        f1,
        f3,
        fit_layer_weights,
        layer_energies,
        layer_fractions,
        response,
        total_energy,
    )
    from hepnb.calo.shower_shapes.lateral import (
        Profile,
        delta_eta,
        delta_eta_cell_hist,
        delta_phi,
        eta_mean,
        eta_mean_difference,
        eta_width,
        phi_mean,
        phi_mean_difference,
        phi_width,
        s_shape,
    )
    from hepnb.calo.shower_shapes.reconstruction import (
        delta_e,
        e2tsts1,
        e2tsts1_thesis,
        ecore,
        emaxs1,
        emins1,
        eratio,
        fracs1,
        fracs1_thesis,
        reta,
        reta_thesis,
        rphi,
        strip_profile,
        weta1,
        weta2,
        weta2_corrected,
        wstot1,
    )

_EXPORTS = {
    **dict.fromkeys(
        (
            "layer_energies",
            "total_energy",
            "empty_layers",
            "layer_fractions",
            "response",
            "f1",
            "f3",
            "fit_layer_weights",
            "calibrated_energy",
            "cell_covariance",
            "covariance_mse",
            "cell_moment_maps",
        ),
        "energies",
    ),
    **dict.fromkeys(
        (
            "Profile",
            "eta_mean",
            "phi_mean",
            "eta_width",
            "phi_width",
            "delta_eta",
            "delta_phi",
            "eta_mean_difference",
            "phi_mean_difference",
            "s_shape",
            "delta_eta_cell_hist",
        ),
        "lateral",
    ),
    **dict.fromkeys(
        (
            "reta",
            "reta_thesis",
            "rphi",
            "weta2",
            "weta2_corrected",
            "strip_profile",
            "weta1",
            "wstot1",
            "emaxs1",
            "e2tsts1",
            "e2tsts1_thesis",
            "emins1",
            "eratio",
            "delta_e",
            "fracs1",
            "fracs1_thesis",
            "ecore",
        ),
        "reconstruction",
    ),
    "compute_all": "compute",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
