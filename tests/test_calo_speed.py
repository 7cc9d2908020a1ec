"""Generation speed of the calorimeter GAN and the simulator, and the thesis's quoted Geant4 figures."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from hepnb.calo import speed, speed_child  # noqa: E402
from hepnb.calo.data import Preprocessing  # noqa: E402
from hepnb.calo.gan import CaloGAN  # noqa: E402
from hepnb.errors import InputError  # noqa: E402


def untrained_gan() -> CaloGAN:
    """The thesis's architecture, untrained: the time per shower does not depend on the weights."""
    return CaloGAN(preprocessing=Preprocessing.thesis_default(cell_unit="MeV").to_dict(), seed=0)


def test_quoted_geant4_figures() -> None:
    assert speed.geant4_seconds_per_shower(65.536) == pytest.approx(10.0)
    assert speed.geant4_seconds_per_shower(16.384) == pytest.approx(2.4)
    assert speed.geant4_seconds_per_shower(131.072) / 10.0 == pytest.approx(2**1.03, rel=0.01)  # t ~ E^1.03
    assert "tel-03324250" in speed.QUOTED["geant4_65gev"].source
    with pytest.raises(InputError, match="positive"):
        speed.geant4_seconds_per_shower(0.0)


def test_speed_measurements_and_table() -> None:
    gan = speed.gan_speed(untrained_gan(), (1, 64), n_single=5)
    assert [(r.generator, r.batch_size, r.n_showers) for r in gan] == [("GAN", 1, 5), ("GAN", 64, 64)]
    assert all(r.seconds > 0 and r.peak_memory_mib >= r.baseline_memory_mib > 50 for r in gan)
    simulator = speed.simulator_speed((1, 20), n_single=2)
    assert [(r.generator, r.batch_size, r.n_showers) for r in simulator] == [("simulator", 1, 2), ("simulator", 20, 20)]
    assert all(r.threads == 1 for r in simulator)
    # the simulator's process never imports torch: it is lighter than the GAN's
    assert simulator[-1].baseline_memory_mib < gan[0].baseline_memory_mib
    table = speed.speed_table(gan + simulator)
    assert np.isnan(table.loc[("GAN", 64), "x simulator"])
    assert table.loc[("GAN", 1), "x simulator"] == pytest.approx(
        gan[0].showers_per_second / simulator[0].showers_per_second
    )
    assert table.loc[("GAN", 1), "x Geant4 (quoted)"] == pytest.approx(10.0 / gan[0].seconds_per_shower)
    fig = speed.plot_speed(gan + simulator)
    assert len(fig.axes[0].patches) == 4  # one bar per measurement
    plt.close(fig)
    fake = replace(gan[0], n_showers=10, seconds=2.0)
    assert fake.showers_per_second == 5.0 and fake.seconds_per_shower == 0.2
    with pytest.raises(InputError, match="CaloGAN"):
        speed.gan_speed(object())
    with pytest.raises(InputError, match="n_single"):
        speed.simulator_speed((1,), n_single=0)


def test_speed_child_measures_the_simulator_in_this_process() -> None:
    report = speed_child.measure({"kind": "simulator", "plan": [[1, 2], [3, 1]], "energy_mev": 1024.0, "threads": 1})
    assert [row[:2] for row in report["results"]] == [[1, 2], [3, 3]]
    assert all(row[2] > 0 and row[3] >= report["baseline"] > 0 for row in report["results"])
    assert speed_child.memory_mib("NoSuchLine") > 0  # the getrusage peak where /proc has no such line


def test_speed_child_main_times_a_saved_generator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = {"latent_dim": 8, "generator_first_width": 16, "generator_width": 16, "generator_depth": 2}
    model = CaloGAN(preprocessing=Preprocessing.thesis_default(cell_unit="MeV").to_dict(), seed=0, **small)
    state = {k: v for k, v in model.state_dict().items() if k.startswith("generator.")}
    torch.save({"hparams": dict(model.hparams), "state": state}, tmp_path / "generator.pt")
    args = {
        "kind": "GAN",
        "plan": [[1, 3], [16, 1]],
        "energy_mev": 65536.0,
        "threads": torch.get_num_threads(),
        "state": str(tmp_path / "generator.pt"),
    }
    speed_child.main([json.dumps(args)])
    report = json.loads(capsys.readouterr().out)
    assert [row[:2] for row in report["results"]] == [[1, 3], [16, 16]]
