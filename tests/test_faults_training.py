"""Faults of the training archive and the epoch picker: hostile or damaged files, two writers, foreign resumes,
slim exports that would ship a random model, manifests of another archive, and the atomic writes under them."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_epoch_picker import make_archive
from test_training import ROOT, generator_weights, one_torch_thread  # noqa: F401 (an autouse fixture)

from hepnb.errors import CheckpointError, InputError
from hepnb.examples.dimuon import DimuonDataModule, DimuonGAN, sample_dimuon_mass
from hepnb.io import atomic_write
from hepnb.training import EpochArchive, fit
from hepnb.widgets import Choice, EpochPicker


def quick_fit(path: Path, max_epochs: int, *, seed: int = 5, model: Callable[[], Any] = DimuonGAN) -> EpochArchive:
    """A small training: 512 masses in batches of 128, a checkpoint every epoch."""
    data = DimuonDataModule(sample_dimuon_mass(512, seed=1), batch_size=128)
    return fit(model, data, path, max_epochs=max_epochs, seed=seed, every=1, progress=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 3-epoch archive (checkpoints 1, 2, 3), trained once for the module; tests work on copies."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = tmp_path_factory.mktemp("trained") / "archive"
        quick_fit(path, max_epochs=3)
    finally:
        torch.set_num_threads(before)
    return path


def copy_of(trained: Path, tmp_path: Path, name: str = "archive") -> EpochArchive:
    return EpochArchive(shutil.copytree(trained, tmp_path / name))


def rehash(archive: EpochArchive, epoch: int) -> None:
    """Record the current bytes of ``epoch``'s checkpoint in the index, as whoever altered the file can."""
    index = json.loads((archive.path / "index.json").read_text())
    file = archive.path / index["checkpoints"][str(epoch)]["file"]
    index["checkpoints"][str(epoch)].update(
        bytes=file.stat().st_size, sha256=hashlib.sha256(file.read_bytes()).hexdigest()
    )
    (archive.path / "index.json").write_text(json.dumps(index))


def rewrite_checkpoint(archive: EpochArchive, epoch: int, change: Callable[[dict], None]) -> None:
    file = archive.checkpoint_file(epoch)
    checkpoint = torch.load(file, weights_only=True)
    change(checkpoint)
    torch.save(checkpoint, file)
    rehash(archive, epoch)


def write_index(archive: EpochArchive, change: Callable[[dict], None]) -> None:
    index = json.loads((archive.path / "index.json").read_text())
    change(index)
    (archive.path / "index.json").write_text(json.dumps(index))


# ------------------------------------------------------------------------------------------ S1: no code on load
class Payload:
    """Unpickles as a call to ``os.system``: what a hostile checkpoint runs when loaded with weights_only=False."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_pickled_code_in_a_checkpoint_is_refused_by_load_export_and_resume(trained: Path, tmp_path: Path) -> None:
    archive = copy_of(trained, tmp_path)
    marker = tmp_path / "PWNED"
    rewrite_checkpoint(archive, 3, lambda checkpoint: checkpoint.update(evil=Payload(marker)))
    refused = r"epoch 3 .* cannot be read \(torch.load\(weights_only=True\) refused it: .*system"
    with pytest.raises(CheckpointError, match=refused):
        archive.load(3)
    with pytest.raises(CheckpointError, match=refused):
        archive.export(tmp_path / "slim")
    with pytest.raises(CheckpointError, match=refused):
        quick_fit(archive.path, max_epochs=4)
    assert not marker.exists()
    assert not (tmp_path / "slim").exists() and archive.history.index.tolist() == [1, 2, 3]
    assert isinstance(archive.load(2), DimuonGAN)
    torch.load(archive.checkpoint_file(3), weights_only=False)  # the payload is real: unsafe loading runs it
    assert marker.exists()


@pytest.mark.parametrize("file", ["../outside.ckpt", "/etc/passwd", "sub/epoch-000001.ckpt", ".index.json.tmp"])
def test_index_file_entries_must_be_plain_names_inside_the_archive(trained: Path, tmp_path: Path, file: str) -> None:
    archive = copy_of(trained, tmp_path)
    write_index(archive, lambda index: index["checkpoints"]["1"].update(file=file))
    with pytest.raises(
        CheckpointError,
        match=rf"index.json names the file '{re.escape(file)}' for epoch 1: only a "
        "plain file name",
    ):
        archive.load(1)


@pytest.mark.parametrize(
    ("model_class", "message"),
    [
        ("os:system", "os:system is not a LightningModule"),
        ("hepnb.io:atomic_write", "is not a LightningModule"),
        ("no_such_module_x:Model", "cannot be imported"),
        ("hepnb.examples.dimuon:NoSuchGAN", "cannot be imported"),
    ],
)
def test_model_class_must_be_an_importable_lightning_module(
    trained: Path, tmp_path: Path, model_class: str, message: str
) -> None:
    archive = copy_of(trained, tmp_path)
    write_index(archive, lambda index: index.update(model_class=model_class))
    with pytest.raises(CheckpointError, match=message):
        archive.load(1)


@pytest.mark.parametrize(("study", "epoch"), [("double", 650), ("single", 950)])
def test_shipped_calo_archives_load_with_weights_only(monkeypatch: pytest.MonkeyPatch, study: str, epoch: int) -> None:
    from hepnb.calo.gan import CaloGAN

    calls: list[Any] = []
    real_load = torch.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    archive = EpochArchive(ROOT / "data" / "calo" / study)
    model = archive.load(epoch)
    assert isinstance(model, CaloGAN) and not model.training
    assert calls and all(flag is True for flag in calls)
    stored = real_load(archive.checkpoint_path(epoch), weights_only=True)["state_dict"]
    for name, value in model.generator.state_dict().items():
        torch.testing.assert_close(value, stored[f"generator.{name}"].to(value.dtype))


def test_checkpoints_with_numpy_random_state_from_older_hepnb_still_resume_exactly(
    trained: Path, tmp_path: Path
) -> None:
    archive = copy_of(trained, tmp_path)

    def as_older_hepnb(checkpoint: dict) -> None:
        name, keys, position, has_gauss, gauss = checkpoint["hepnb_rng_state"]["numpy"]
        checkpoint["hepnb_rng_state"]["numpy"] = (name, np.array(keys, dtype=np.uint32), position, has_gauss, gauss)

    rewrite_checkpoint(archive, 3, as_older_hepnb)
    with pytest.raises(pickle.UnpicklingError, match="numpy"):
        torch.load(archive.checkpoint_file(3), weights_only=True)  # plain weights_only refuses the array
    quick_fit(archive.path, max_epochs=4)
    straight = quick_fit(tmp_path / "straight", max_epochs=4)
    assert archive.records == straight.records
    np.testing.assert_array_equal(generator_weights(archive.load(4)), generator_weights(straight.load(4)))


# ------------------------------------------------------------------------------------------ S2: one writer
HOLDER = (
    "import sys\nfrom hepnb.io import folder_lock\nwith folder_lock(sys.argv[1]):\n"
    "    print('locked', flush=True)\n    sys.stdin.read()\n"
)


@pytest.fixture
def held_by_another_process() -> Iterator[Callable[[Path], subprocess.Popen]]:
    """Start a process that holds an archive's writer lock until it is killed."""
    started: list[subprocess.Popen] = []

    def hold(path: Path) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
        )
        started.append(process)
        assert process.stdout.readline() == b"locked\n"
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()


def test_a_second_writer_is_refused_while_readers_go_on(trained: Path, tmp_path: Path, held_by_another_process) -> None:
    archive = copy_of(trained, tmp_path)
    holder = held_by_another_process(archive.path)
    busy = rf"the archive {re.escape(str(archive.path))} is in use by pid {holder.pid}; wait for it or choose another"
    with pytest.raises(InputError, match=busy):
        quick_fit(archive.path, max_epochs=4)
    with pytest.raises(InputError, match=busy):
        archive.export(tmp_path / "slim")
    with pytest.raises(InputError, match=busy):
        archive.prune([3])
    with pytest.raises(InputError, match=busy):
        archive.append_metrics(4, {"x": 1.0})
    assert archive.epochs == [1, 2, 3] and archive.history.index.tolist() == [1, 2, 3]  # readers need no lock
    assert isinstance(archive.load(3), DimuonGAN)
    assert not (tmp_path / "slim").exists()
    holder.kill()
    holder.wait()  # the kernel drops a killed holder's lock; its pid left in .lock does not matter
    archive.prune([3])
    assert archive.epochs == [3]


def write_from_another_thread(archive: EpochArchive, epoch: int) -> InputError | None:
    """Record a metric of ``epoch`` from a new thread; the InputError it got, if any."""
    errors: list[InputError] = []

    def write() -> None:
        try:
            archive.append_metrics(epoch, {"x": float(epoch)})
        except InputError as err:
            errors.append(err)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    return errors[0] if errors else None


def test_another_thread_cannot_write_while_this_one_holds_the_archive(tmp_path: Path) -> None:
    archive = EpochArchive(tmp_path / "a")
    with archive.writing():
        archive.append_metrics(2, {"x": 2.0})  # re-entrant in the holding thread
        refused = write_from_another_thread(archive, 1)
    assert "in use by pid" in str(refused) and "another thread of this process" in str(refused)
    assert write_from_another_thread(archive, 1) is None
    assert archive.history.index.tolist() == [1, 2]


def test_archive_callback_in_a_plain_trainer_holds_the_lock_until_the_training_ends(tmp_path: Path) -> None:
    import lightning as L

    from hepnb.training import ArchiveCallback, quiet_lightning

    archive = EpochArchive(tmp_path / "a")
    refusals: list[InputError | None] = []

    def probe(model: DimuonGAN, epoch: int) -> dict[str, float]:
        refusals.append(write_from_another_thread(archive, 100 + epoch))
        if epoch == 2:
            raise RuntimeError("metrics failed")
        return {}

    data = DimuonDataModule(sample_dimuon_mass(512, seed=1), batch_size=128)
    with quiet_lightning():
        L.Trainer(
            max_epochs=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            callbacks=[ArchiveCallback(archive, metrics=probe)],
        ).fit(DimuonGAN(), datamodule=data)
        assert write_from_another_thread(archive, 200) is None  # released at the end of the training
        with pytest.raises(RuntimeError, match="metrics failed"):
            L.Trainer(
                max_epochs=3,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                callbacks=[ArchiveCallback(archive, metrics=probe)],
            ).fit(DimuonGAN(), datamodule=data)
    assert write_from_another_thread(archive, 300) is None  # and when the training fails
    assert all("another thread of this process" in str(refused) for refused in refusals) and len(refusals) == 3
    assert archive.epochs == [1] and archive.history.index.tolist() == [1, 200, 300]


def test_orphan_temporary_files_are_removed_by_the_next_writer_only(tmp_path: Path, held_by_another_process) -> None:
    archive = EpochArchive(tmp_path / "a")
    archive.append_metrics(1, {"x": 1.0})
    orphans = [
        archive.path / name for name in (".index.json.k2v8x1.tmp", ".epoch-000005.ckpt.tmp", ".history.json.a1b2c3.tmp")
    ]
    for orphan in orphans:
        orphan.write_bytes(b"left by a killed writer")
    holder = held_by_another_process(archive.path)
    with pytest.raises(InputError, match="in use"):
        archive.append_metrics(2, {"x": 2.0})
    archive.history  # a reader
    assert all(o.exists() for o in orphans)  # they may be the live files of the holder
    holder.kill()
    holder.wait()
    archive.append_metrics(2, {"x": 2.0})
    assert not any(o.exists() for o in orphans)
    assert sorted(p.name for p in archive.path.iterdir()) == [".lock", "history.json"]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"seed": -1}, "seed must be an integer from 0 to 4294967295, got -1"),
        ({"seed": 1.5}, "seed must be an integer from 0"),
        ({"seed": True}, "seed must be an integer from 0"),
        ({"max_epochs": 0}, "max_epochs must be an integer of at least 1, got 0"),
        ({"model": lambda: "a model"}, "model must be a LightningModule or a function returning one, got str"),
    ],
)
def test_fit_refuses_bad_arguments_before_touching_the_folder(tmp_path: Path, options: dict, problem: str) -> None:
    data = DimuonDataModule(sample_dimuon_mass(512, seed=1), batch_size=128)
    arguments = {"model": DimuonGAN, "seed": 5, "max_epochs": 1, **options}
    with pytest.raises(InputError, match=problem):
        fit(arguments.pop("model"), data, tmp_path / "a", progress=False, **arguments)
    assert not (tmp_path / "a").exists()


def test_an_unwritable_archive_folder_is_refused_before_training(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(InputError, match=r"the archive .*file/archive cannot be written \(Not a directory\): make"):
        quick_fit(tmp_path / "file" / "archive", max_epochs=1)


def test_a_read_only_source_exports_without_its_lock(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = copy_of(trained, tmp_path)
    (archive.path / ".lock").unlink()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK and real_access(path, mode))
    slim = archive.export(tmp_path / "slim", epochs=[3])
    assert slim.epochs == [3] and not (archive.path / ".lock").exists()


# ------------------------------------------------------------------------------------------ S6: refused resumes
def test_resume_is_refused_when_the_history_misses_checkpointed_epochs(trained: Path, tmp_path: Path) -> None:
    archive = copy_of(trained, tmp_path)
    (archive.path / "history.json").unlink()
    with pytest.raises(
        CheckpointError,
        match=r"lacks the metrics of epochs \[1, 2, 3\] although the checkpoints "
        r"reach epoch 3; resuming would lose them: restore history.json",
    ):
        quick_fit(archive.path, max_epochs=5)
    assert not (archive.path / "history.json").exists() and archive.epochs == [1, 2, 3]

    archive = copy_of(trained, tmp_path, "gap")
    records = json.loads((archive.path / "history.json").read_text())
    (archive.path / "history.json").write_text(json.dumps([r for r in records if r["epoch"] != 2]))
    with pytest.raises(CheckpointError, match=r"lacks the metrics of epochs \[2\]"):
        quick_fit(archive.path, max_epochs=5)


def test_checkpoints_without_an_index_are_never_overwritten(trained: Path, tmp_path: Path) -> None:
    archive = copy_of(trained, tmp_path)
    (archive.path / "index.json").unlink()
    before = {p.name: p.read_bytes() for p in archive.path.glob("*.ckpt")}
    with pytest.raises(CheckpointError, match=r"holds checkpoints \(epoch-000001.ckpt, .*\) but no index.json"):
        quick_fit(archive.path, max_epochs=2)
    assert {p.name: p.read_bytes() for p in archive.path.glob("*.ckpt")} == before
    assert not (archive.path / "index.json").exists() and len(archive.records) == 3


class OtherGAN(DimuonGAN):
    """The same networks under another class name: another model for the archive."""


@pytest.mark.parametrize("max_epochs", [2, 5])  # below the archive's last epoch (nothing to train) and above
def test_resume_with_another_model_class_is_refused(trained: Path, tmp_path: Path, max_epochs: int) -> None:
    archive = copy_of(trained, tmp_path)
    with pytest.raises(
        InputError,
        match=r"holds a hepnb.examples.dimuon:DimuonGAN, not a "
        r"test_faults_training:OtherGAN: use a new folder",
    ):
        quick_fit(archive.path, max_epochs=max_epochs, model=OtherGAN)
    assert archive.epochs == [1, 2, 3] and archive.history.index.tolist() == [1, 2, 3]


def test_resume_with_another_seed_or_hyper_parameters_is_refused(trained: Path, tmp_path: Path) -> None:
    archive = copy_of(trained, tmp_path)
    index = json.loads((archive.path / "index.json").read_text())
    assert index["seed"] == 5 and index["hparams"]["lr"] == 1e-3
    with pytest.raises(InputError, match="was trained with seed=5, not seed=6: resume with seed=5, or train into"):
        quick_fit(archive.path, max_epochs=4, seed=6)
    with pytest.raises(
        InputError,
        match=r"other hyper-parameters \(lr=0.001 in the archive, 0.5 now\): resume "
        "with the same settings, or train into a new folder",
    ):
        quick_fit(archive.path, max_epochs=4, model=lambda: DimuonGAN(lr=0.5))
    assert archive.history.index.tolist() == [1, 2, 3]
    quick_fit(archive.path, max_epochs=4)  # the same settings resume
    assert archive.epochs == [1, 2, 3, 4]


def test_an_exported_archive_cannot_resume(trained: Path, tmp_path: Path) -> None:
    slim = EpochArchive(trained).export(tmp_path / "slim", keep=("generator.",))
    with pytest.raises(CheckpointError, match="holds weights only .*: it cannot resume a training"):
        quick_fit(slim.path, max_epochs=4)


# ------------------------------------------------------------------------------------------ S7: damaged JSON
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[]", "holds a JSON list, not an object"),
        (b"null", "holds a JSON NoneType, not an object"),
        (b'"str"', "holds a JSON str, not an object"),
        (b'{"format": 1}', "has no 'checkpoints' object"),
        (b'{"format": 1, "model_class": "m:C", "checkpoints": []}', "has no 'checkpoints' object"),
        (b'{"format": 2, "checkpoints": {}}', "has format 2, this hepnb reads 1"),
        (
            b'{"format": 1, "model_class": "m:C", "checkpoints": {"1": {"file": "epoch-000001.ckpt", "bytes": 3}}}',
            "has no sha256 checksum for epoch 1",
        ),
        (
            b'{"format": 1, "model_class": "m:C", "checkpoints": {"one": {}}}',
            "has the checkpoint key 'one', not a positive",
        ),
        (
            b'{"format": 1, "model_class": null, "checkpoints": {"1": {"file": "epoch-000001.ckpt", "bytes": 3, '
            b'"sha256": "' + b"0" * 64 + b'"}}}',
            "has model_class None",
        ),
        (b'\xff\xfe{"format": 1}', "is not UTF-8 text"),
    ],
)
def test_an_index_of_the_wrong_shape_is_a_clear_error(tmp_path: Path, content: bytes, problem: str) -> None:
    (tmp_path / "index.json").write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"{re.escape(str(tmp_path / 'index.json'))} {re.escape(problem)}"):
        EpochArchive(tmp_path).epochs


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[1, 2]", "has a int as record 0, not an object"),
        ('[{"x": 1}]', "has record 0 without a positive integer 'epoch' (got None)"),
        ('[{"epoch": true}]', "has record 0 without a positive integer 'epoch' (got True)"),
        ('[{"epoch": 1.5}]', "has record 0 without a positive integer 'epoch' (got 1.5)"),
        ("null", "holds a JSON NoneType, not a list of records"),
        ('{"epoch": 1}', "holds a JSON dict, not a list of records"),
        ('[{"epoch": 1, "m": 1}, {"epoch": 2}, {"epoch": 1, "m": 2}]', "records epoch 1 twice"),
        ('[{"epoch": 1, "m": [1, 2]}]', "has a list as the value of 'm' at epoch 1"),
    ],
)
def test_a_history_of_the_wrong_shape_is_a_clear_error(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "history.json").write_text(content)
    archive = EpochArchive(tmp_path)
    expected = rf"{re.escape(str(tmp_path / 'history.json'))} {re.escape(problem)}"
    with pytest.raises(CheckpointError, match=expected):
        archive.history
    with pytest.raises(CheckpointError, match=expected):
        archive.metrics(1)


def test_metrics_are_stored_as_strict_json(tmp_path: Path) -> None:
    archive = EpochArchive(tmp_path / "a")
    archive.append_metrics(
        1,
        {
            "none": None,
            "nan": float("nan"),
            "inf": -np.inf,
            "array": np.array([2.5]),
            "tensor": torch.tensor(3.0),
            "count": np.int64(4),
            "flag": True,
            "label": "ok",
        },
    )

    def refuse(constant: str) -> None:
        raise AssertionError(f"history.json holds {constant}, which strict JSON has not")

    records = json.loads((archive.path / "history.json").read_text(), parse_constant=refuse)
    assert records == [
        {
            "epoch": 1,
            "none": None,
            "nan": None,
            "inf": None,
            "array": 2.5,
            "tensor": 3.0,
            "count": 4.0,
            "flag": True,
            "label": "ok",
        }
    ]
    assert np.isnan(archive.history.loc[1, "nan"]) and archive.history.loc[1, "array"] == 2.5
    with pytest.raises(InputError, match=r"metric 'v' of epoch 2 must be one number, got ndarray of shape \(3,\)"):
        archive.append_metrics(2, {"v": np.arange(3.0)})
    with pytest.raises(InputError, match=r"metric 'v' of epoch 2 must be one number, got a tensor of shape \(2,\)"):
        archive.append_metrics(2, {"v": torch.ones(2)})
    with pytest.raises(InputError, match="metric 'v' of epoch 2 must be a number or a string"):
        archive.append_metrics(2, {"v": {"nested": 1}})
    with pytest.raises(InputError, match="'epoch' is the record's key"):
        archive.append_metrics(2, {"epoch": 7})
    for epoch in (0, 1.5, True, "2"):
        with pytest.raises(InputError, match="epoch must be a positive integer"):
            archive.append_metrics(epoch, {"v": 1.0})
    assert archive.history.index.tolist() == [1]


# ------------------------------------------------------------------------------------------ S4: exports
def test_export_keep_prefix_that_matches_nothing_is_refused(trained: Path, tmp_path: Path) -> None:
    with pytest.raises(
        InputError,
        match=r"keep prefixes \['generatr.'\] match no state-dict entry of epoch 1; "
        r"available prefixes: \['critic.', 'generator.'\]",
    ):
        EpochArchive(trained).export(tmp_path / "slim", keep=("generatr.",))
    assert not (tmp_path / "slim").exists() and not list(tmp_path.iterdir())


def test_a_compact_checkpoint_must_hold_whole_sub_networks(trained: Path, tmp_path: Path) -> None:
    partial = EpochArchive(trained).export(tmp_path / "partial", keep=("generator.0.",), epochs=[3])
    with pytest.raises(
        CheckpointError,
        match=r"holds only part of the sub-networks \['generator'\]: the model would "
        r"be partly random; export it again from the training's full checkpoint with keep= naming whole "
        r"sub-networks of \['critic', 'generator'\], or, where `hepnb archive compact` slimmed it in place, "
        r"drop the epoch \(EpochArchive\('.*partial'\).prune\(keep=\[the other epochs\]\)\)",
    ):
        partial.load(3)
    empty = EpochArchive(trained).export(tmp_path / "empty", keep=("generator.",), epochs=[3])
    rewrite_checkpoint(empty, 3, lambda checkpoint: checkpoint.update(state_dict={}))
    with pytest.raises(CheckpointError, match="holds no weights"):
        empty.load(3)
    whole = EpochArchive(trained).export(tmp_path / "whole", keep=("generator.",), epochs=[3])
    np.testing.assert_allclose(
        generator_weights(whole.load(3)), generator_weights(EpochArchive(trained).load(3)), rtol=1e-3, atol=1e-4
    )
    # exporting the partial archive again in fp16 needs its model (to keep its buffers exact): a clear refusal
    with pytest.raises(InputError, match=r"cannot rebuild the model of epoch 3 .*export with half=False"):
        partial.export(tmp_path / "again")
    assert partial.export(tmp_path / "again", half=False).epochs == [3]


def test_export_from_a_missing_or_non_archive_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not an archive")
    for source in (tmp_path / "nonexistent", tmp_path / "file", tmp_path):
        with pytest.raises(InputError, match="is not an epoch archive"):
            EpochArchive(source).export(tmp_path / "destination")
    assert not (tmp_path / "destination").exists() and not (tmp_path / "nonexistent").exists()


def test_export_that_fails_midway_leaves_no_destination_and_a_retry_works(trained: Path, tmp_path: Path) -> None:
    archive = copy_of(trained, tmp_path)
    destination = tmp_path / "slim"
    with pytest.raises(CheckpointError, match=r"no checkpoint for epoch 99"):
        archive.export(destination, epochs=[1, 99])
    archive.checkpoint_file(3).write_bytes(b"damaged after the index was written")  # unreadable but re-hashed
    rehash(archive, 3)
    with pytest.raises(CheckpointError, match="epoch 3 .* cannot be read"):
        archive.export(destination, epochs=[1, 2, 3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive"]  # neither the folder nor its staging copy
    slim = archive.export(destination, epochs=[1, 2])
    assert slim.epochs == [1, 2] and isinstance(slim.load(2), DimuonGAN)
    assert sorted(p.name for p in destination.iterdir()) == [
        "epoch-000001.ckpt",
        "epoch-000002.ckpt",
        "history.json",
        "index.json",
    ]


def test_export_to_float16_refuses_a_weight_beyond_its_range(trained: Path, tmp_path: Path) -> None:
    archive = copy_of(trained, tmp_path)
    rewrite_checkpoint(archive, 3, lambda checkpoint: checkpoint["state_dict"]["generator.4.bias"].fill_(1e5))
    with pytest.raises(
        InputError,
        match=r"weight generator.4.bias of epoch 3 reaches 1e\+05, beyond float16's "
        r"range \(65504\): export with half=False",
    ):
        archive.export(tmp_path / "half", epochs=[3])
    assert not (tmp_path / "half").exists()
    full = archive.export(tmp_path / "full", epochs=[3], half=False)
    assert float(full.load(3).generator[4].bias.detach()) == 1e5
    assert np.all(np.isfinite(full.load(3).generate(10, seed=0)))


# ------------------------------------------------------------------------------------------ S5: manifests
def test_the_manifest_of_another_archive_is_refused(tmp_path: Path) -> None:
    from hepnb.calo.epoch_metrics import DEFAULT_WEIGHTS

    double, single = EpochArchive(ROOT / "data/calo/double"), EpochArchive(ROOT / "data/calo/single")
    manifest = tmp_path / "choice.json"
    saved = EpochPicker(double, weights=DEFAULT_WEIGHTS, manifest=manifest).save()
    assert saved.checkpoint_sha256 == double.checksum(saved.epoch)
    assert saved.epoch in single.epochs  # the probe: the same epoch exists in the other archive
    with pytest.raises(
        InputError,
        match=f"was saved for another archive .*: the checkpoint of epoch {saved.epoch} "
        "differs; delete the manifest to choose again, or pass manifest=None",
    ):
        EpochPicker(single, weights=DEFAULT_WEIGHTS, manifest=manifest).choice
    payload = json.loads(manifest.read_text())
    del payload["checkpoint_sha256"]  # a manifest of an older hepnb: its metrics still tie it to its archive
    manifest.write_text(json.dumps(payload))
    assert EpochPicker(double, weights=DEFAULT_WEIGHTS, manifest=manifest).choice == Choice(
        **{**asdict(saved), "checkpoint_sha256": None}
    )
    with pytest.raises(
        InputError,
        match=rf"records \w+=.* at epoch {saved.epoch}, but the history of .* says .*: "
        "it was saved for another archive",
    ):
        EpochPicker(single, weights=DEFAULT_WEIGHTS, manifest=manifest).choice


def test_a_manual_manifest_of_a_retrained_archive_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "choice.json"
    first = make_archive(tmp_path / "first", training="first")
    EpochPicker(first, weights={"chi2": 1.0}, manifest=manifest).save(epoch=5)
    second = make_archive(tmp_path / "second", training="second")  # the same history, other weights
    with pytest.raises(InputError, match="saved for another archive .* the checkpoint of epoch 5 differs"):
        EpochPicker(second, weights={"chi2": 1.0}, manifest=manifest).choice
    payload = json.loads(manifest.read_text())
    payload["metrics"]["chi2"] = 3.0
    manifest.write_text(json.dumps(payload))
    with pytest.raises(InputError, match=r"records chi2=3 at epoch 5, but the history of .* says 4"):
        EpochPicker(first, weights={"chi2": 1.0}, manifest=manifest).choice


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"epoch": 12.9}, "has the epoch 12.9, not an integer"),
        ({"epoch": True}, "has the epoch True, not an integer"),
        ({"epoch": "5"}, "has the epoch '5', not an integer"),
        ({"epoch": float("inf")}, "has the epoch inf, not an integer"),
        ({"rule": "bogus"}, "has the rule 'bogus', not one of"),
        ({"weights": [1.0]}, "must be a dict metric name -> weight"),
        ({"weights": {"chi2": -1.0}}, "must be finite and non-negative"),
        ({"higher_is_better": "auc"}, "must be a list of metric names"),
        ({"metrics": {"chi2": "4"}}, "not a dict of finite numbers"),
        ({"weights": {"chi2x": 1.0}}, r"names metrics \['chi2x'\] that"),
    ],
)
def test_a_manifest_with_a_wrong_field_is_refused(tmp_path: Path, change: dict, problem: str) -> None:
    archive = make_archive(tmp_path / "a")
    manifest = tmp_path / "choice.json"
    payload = asdict(EpochPicker(archive, weights={"chi2": 1.0}, manifest=manifest).save(epoch=5))
    manifest.write_text(json.dumps({**payload, **change}))
    with pytest.raises(InputError, match=problem):
        EpochPicker(archive, weights={"chi2": 1.0}, manifest=manifest).choice


def test_a_folder_as_manifest_is_refused(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "a")
    with pytest.raises(InputError, match="is a folder: pass the path of a JSON file"):
        EpochPicker(archive, weights={"chi2": 1.0}, manifest=tmp_path)
    with pytest.raises(InputError, match="is a folder: pass the path of a JSON file"):
        Choice.load(tmp_path)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"weights": {"chi2": float("inf")}}, "must be finite and non-negative, got 'chi2': inf"),
        ({"weights": {"chi2": float("nan")}}, "must be finite and non-negative"),
        ({"weights": {"chi2": "1"}}, "the weight of 'chi2' must be a number, got '1'"),
        ({"weights": {"chi2": True}}, "the weight of 'chi2' must be a number, got True"),
        ({"weights": {"chi2": -0.5, "auc": 1.0}}, "must be finite and non-negative"),
        ({"weights": [("chi2", 1.0)]}, "weights must be a dict metric name -> weight"),
        (
            {"weights": {"chi2": 1.0}, "higher_is_better": ["wasserstien"]},
            r"metrics \['wasserstien'\] are not in the history; recorded metrics: \['auc', 'chi2', 'w1'\]",
        ),
        ({"weights": {"chi2": 1.0}, "higher_is_better": "auc"}, "higher_is_better must be a list of metric names"),
    ],
)
def test_picker_weights_and_metric_names_are_checked(tmp_path: Path, options: dict, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        EpochPicker(make_archive(tmp_path / "a"), **options)


def test_save_refuses_an_epoch_that_is_not_an_integer(tmp_path: Path) -> None:
    picker = EpochPicker(make_archive(tmp_path / "a"), weights={"chi2": 1.0}, manifest=tmp_path / "m.json")
    for epoch in ("3", 3.0, True):
        with pytest.raises(InputError, match=r"epoch must be an integer, got .*; choose one of \[1, 2, 3, 4, 5\]"):
            picker.save(epoch)
    assert not (tmp_path / "m.json").exists()
    assert picker.save(np.int64(4)).epoch == 4


# ------------------------------------------------------------------------------------------ atomic writes
def test_atomic_write_keeps_permissions_follows_symlinks_and_syncs_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "private.json"
    private.write_text("old")
    private.chmod(0o600)
    with atomic_write(private, "w") as handle:
        handle.write("new")
    assert private.read_text() == "new" and stat.S_IMODE(private.stat().st_mode) == 0o600

    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("old")
    link.symlink_to(target)
    with atomic_write(link, "w") as handle:
        handle.write("new")
    assert link.is_symlink() and target.read_text() == "new"

    synced: list[bool] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)), real_fsync(fd)))
    with atomic_write(tmp_path / "fresh.json", "w") as handle:
        handle.write("{}")
    assert synced == [False, True]  # the file, then the folder after the rename
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "fresh.json").stat().st_mode) == 0o666 & ~mask


# ------------------------------------------------------------------------------------------ determinism
def test_same_seed_and_threads_give_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a = quick_fit(tmp_path / "a", max_epochs=2, seed=5)
    b = quick_fit(tmp_path / "b", max_epochs=2, seed=5)
    c = quick_fit(tmp_path / "c", max_epochs=2, seed=6)
    assert generator_weights(a.load(2)).tobytes() == generator_weights(b.load(2)).tobytes()
    assert a.records == b.records
    assert not np.allclose(generator_weights(a.load(2)), generator_weights(c.load(2)))
    assert a.records != c.records
