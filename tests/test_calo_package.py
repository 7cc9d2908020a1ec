"""The calorimeter package's one ``__init__`` policy: importing it is light, and every public name resolves."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from hepnb.calo.gan import CaloGAN
from hepnb.training import EpochArchive


def test_importing_hepnb_calo_loads_no_library_and_every_name_resolves() -> None:
    code = (
        "import sys\n"
        "import hepnb.calo, hepnb.calo.shower_shapes, hepnb.calo.validation\n"
        "heavy = {'numpy', 'torch', 'lightning', 'matplotlib', 'hist', 'pandas'} & set(sys.modules)\n"
        "assert not heavy, f'imported {sorted(heavy)}'\n"
        "for package in (hepnb.calo, hepnb.calo.shower_shapes, hepnb.calo.validation):\n"
        "    for name in package.__all__:\n"
        "        getattr(package, name)\n"
        "    assert set(package.__all__) <= set(dir(package))\n"
        "from hepnb.calo import simulate\n"
        "assert simulate.__name__ == 'hepnb.calo.simulate' and callable(simulate.simulate)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize(
    ("package", "names"),
    [
        (
            "hepnb.calo.gan",
            [
                "CaloGAN",
                "Generator",
                "Critic",
                "EnergyCritic",
                "TrainableSwish",
                "gradient_penalty",
                "count_parameters",
                "CPU_FAST",
                "ENERGY_MARGIN",
                "THESIS_PARAMETER_COUNTS",
            ],
        ),
        ("hepnb.calo.simulate", ["ShowerModel", "Showers", "MAX_SPOTS", "simulate", "standard_dataset", "add_noise"]),
        (
            "hepnb.calo.validation",
            [
                "ENERGY_65_MEV",
                "THESIS_LAYER_FRACTIONS_65GEV",
                "VariableComparisons",
                "Ratio",
                "PointEvaluation",
                "training_reference",
                "plot_mean_images",
            ],
        ),
    ],
)
def test_the_old_import_paths_still_work(package: str, names: list[str]) -> None:
    module = importlib.import_module(package)
    for name in names:
        assert getattr(module, name) is not None
        assert name in module.__all__


@pytest.mark.parametrize("training", ["double", "single"])
def test_shipped_archives_find_the_gan_at_its_recorded_path(training: str) -> None:
    recorded = EpochArchive(Path(__file__).resolve().parents[1] / "data" / "calo" / training).model_class
    module, _, qualname = recorded.partition(":")  # the path EpochArchive.load imports the class from
    assert getattr(importlib.import_module(module), qualname) is CaloGAN, recorded
