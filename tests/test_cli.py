"""The ``hepnb`` command line: light start-up, and bad options refused with exit status 2 before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hepnb.calo.train
import hepnb.report
from hepnb.cli import main
from hepnb.errors import CheckpointError, InputError
from hepnb.training import EpochArchive


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make simulating the training showers an error: a refused option must be refused before that."""

    def simulate(*args: object, **kwargs: object) -> None:
        raise AssertionError("showers were simulated before the options were checked")

    monkeypatch.setattr(hepnb.calo.train, "standard_dataset", simulate)


def argparse_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_parser_and_help_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from hepnb.cli import build_parser, main\n"
        "build_parser()\n"
        "for argv in (['--help'], ['run', '--help'], ['train', 'calo', '--help'], ['train', 'jets', '--help'],\n"
        "             ['archive', 'export', '--help'], ['data', 'jets', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exit_:\n"
        "        assert exit_.code == 0, (argv, exit_.code)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'nbclient' not in sys.modules, 'nbclient was imported'\n"
        "assert not {'pythia8mc', 'fastjet'} & set(sys.modules), 'Pythia or FastJet was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--accelerator {cpu,gpu,cuda,mps,auto}" in result.stdout
    assert "-p NAME VALUE, --parameter NAME VALUE" in result.stdout
    assert "--class {top,qcd,gluon,quark}" in result.stdout
    assert "--model {setgan,epic}" in result.stdout


@pytest.mark.parametrize(
    "error",
    [
        InputError("bad input"),
        CheckpointError("epoch 3 is corrupt"),
        FileNotFoundError(2, "No such file or directory", "nowhere/x"),
    ],
)
def test_main_turns_errors_into_one_line_and_exit_2(error: Exception, monkeypatch, capsys, tmp_path: Path) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(hepnb.report, "run_notebooks", fail)
    assert main(["run", str(tmp_path / "a.ipynb")]) == 2
    assert capsys.readouterr().err == f"hepnb: error: {error}\n"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--epochs", "-3", "argument --epochs: must be at least 1, got -3"),
        ("--epochs", "2.5", "argument --epochs: '2.5' is not a whole number"),
        ("--every", "0", "argument --every: must be at least 1, got 0"),
        ("--metric-showers", "-5", "argument --metric-showers: must be at least 1, got -5"),
        ("--max-response", "-2", "argument --max-response: must be a finite positive bound on the response (2, say)"),
        ("--max-response", "nan", "argument --max-response: must be a finite positive bound"),
        ("--max-response", "inf", "argument --max-response: must be a finite positive bound"),
        ("--max-response", "two", "argument --max-response: 'two' is not a number"),
        ("--shower-model", "atlas", "argument --shower-model: invalid choice: 'atlas'"),
        ("--threads", "-1", "argument --threads: must be at least 1, got -1"),
        ("--accelerator", "bogus", "argument --accelerator: invalid choice: 'bogus'"),
    ],
)
def test_train_calo_refuses_bad_numbers_and_accelerators(
    option, value, message, tmp_path, capsys, no_simulation
) -> None:
    err = argparse_error(["train", "calo", "--output", str(tmp_path / "a"), option, value], capsys)
    assert message in err
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    ("argv", "bound", "shower_model"),
    [
        ([], None, None),
        (["--max-response", "2"], 2.0, None),
        (["--shower-model", "default"], None, None),  # recorded as None, as by trainings from before the option
        (["--shower-model", "atlas_lateral", "--max-response", "2"], 2.0, "atlas_lateral"),
    ],
)
def test_train_calo_passes_the_response_bound_and_shower_model_to_the_training(
    argv, bound, shower_model, tmp_path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []

    def train(output, config, **kwargs: object) -> EpochArchive:
        seen.append(config)
        return EpochArchive(output)

    monkeypatch.setattr(hepnb.calo.train, "train_calo", train)
    assert main(["train", "calo", "--output", str(tmp_path / "a"), *argv]) == 0
    assert [(config.max_response, config.shower_model) for config in seen] == [(bound, shower_model)]
    capsys.readouterr()


@pytest.mark.parametrize("accelerator", ["gpu", "cuda", "mps"])
def test_train_calo_refuses_an_accelerator_this_machine_lacks(
    accelerator, tmp_path, capsys, monkeypatch, no_simulation
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert main(["train", "calo", "--output", str(tmp_path / "a"), "--accelerator", accelerator]) == 2
    err = capsys.readouterr().err
    assert f"hepnb: error: --accelerator {accelerator}: torch " in err
    assert "CUDA available: False, MPS available: False); use one of ['cpu', 'auto']" in err
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("{garbage", "training.json is not valid JSON"),
        ("", "training.json is not valid JSON"),
        ('{"command": "hepnb train calo"}', "is not a record written by hepnb train calo (it has no 'config' object)"),
        ("[1, 2]", "is not a record written by hepnb train calo"),
        ('{"config": 5}', "is not a record written by hepnb train calo"),
    ],
)
def test_train_calo_refuses_a_damaged_training_record(record, message, tmp_path, capsys, no_simulation) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "training.json").write_text(record)
    assert main(["train", "calo", "--output", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hepnb: error: ") and message in err and "train into a new folder" in err


def test_train_calo_refuses_a_file_as_output(tmp_path, capsys, no_simulation) -> None:
    (tmp_path / "afile").write_text("x")
    assert main(["train", "calo", "--output", str(tmp_path / "afile")]) == 2
    assert f"hepnb: error: {tmp_path / 'afile'} is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("epochs", ["abc", "2,,4", "4,", "1;2"])
def test_archive_export_refuses_bad_epoch_lists(epochs, tmp_path, capsys) -> None:
    err = argparse_error(["archive", "export", str(tmp_path / "a"), str(tmp_path / "b"), "--epochs", epochs], capsys)
    assert f"argument --epochs: '{epochs}' is not a comma-separated list of epochs such as 50,100" in err
    assert "epochs count from 1" in argparse_error(
        ["archive", "export", str(tmp_path / "a"), str(tmp_path / "b"), "--epochs", "0,3"], capsys
    )


def test_archive_export_checks_source_and_epochs_before_writing(tmp_path, capsys) -> None:
    destination = tmp_path / "slim"
    assert main(["archive", "export", str(tmp_path / "nowhere"), str(destination)]) == 2
    assert "nowhere holds no epoch archive" in capsys.readouterr().err
    source = tmp_path / "arch"
    train = (  # in a child process: Lightning sets environment variables for good
        "import sys\n"
        "from hepnb.examples.dimuon import DimuonDataModule, DimuonGAN, sample_dimuon_mass\n"
        "from hepnb.training import fit\n"
        "fit(DimuonGAN, DimuonDataModule(sample_dimuon_mass(512, seed=1)), sys.argv[1], max_epochs=4, seed=5,\n"
        "    every=2, progress=False)\n"
    )
    result = subprocess.run([sys.executable, "-c", train, str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert EpochArchive(source).epochs == [2, 4]
    assert main(["archive", "export", str(source), str(destination), "--epochs", "4,99"]) == 2
    assert "has no checkpoint for epochs [99]; it holds [2, 4]" in capsys.readouterr().err
    (tmp_path / "afile").write_text("")
    assert main(["archive", "export", str(source), str(tmp_path / "afile")]) == 2
    assert "afile is a file: export into a new folder" in capsys.readouterr().err
    assert not destination.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--jets", "0", "argument --jets: must be at least 1, got 0"),
        ("--seed", "-1", "argument --seed: must be at least 0, got -1"),
        ("--workers", "two", "argument --workers: 'two' is not a whole number"),
        ("--class", "bottom", "argument --class: invalid choice: 'bottom'"),
        ("--preset", "cms", "argument --preset: invalid choice: 'cms'"),
    ],
)
def test_data_jets_refuses_bad_options_before_any_work(option, value, message, tmp_path, capsys) -> None:
    argv = ["data", "jets", "--output", str(tmp_path / "jets"), "--jets", "10", option, value]
    assert message in argparse_error(argv, capsys)
    assert not (tmp_path / "jets").exists()


def test_data_jets_writes_a_dataset_and_resumes_it(tmp_path, capsys) -> None:
    from hepnb.jets import read_jets

    folder = tmp_path / "qcd"
    argv = [
        "data",
        "jets",
        "--output",
        str(folder),
        "--jets",
        "3",
        "--preset",
        "thesis",
        "--class",
        "qcd",
        "--workers",
        "1",
        "--seed",
        "4",
    ]
    assert main(argv) == 0
    assert f"{folder}: 3 jets; made 3 (1 chunks, " in capsys.readouterr().out
    sample = read_jets(folder)
    assert len(sample) == 3 and sample.meta["seed"] == 4 and sample.preset.name == "thesis"
    assert sample.particle_features().shape == (3, 100, 5)
    assert main(argv) == 0
    assert capsys.readouterr().out == f"{folder}: 3 jets, already complete\n"
    assert main([*argv[:-1], "5"]) == 2
    assert "holds another jet dataset (seed: 4 there, 5 asked)" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["data", "jets", "--output", str(tmp_path / "afile"), "--jets", "3"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
