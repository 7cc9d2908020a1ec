"""EpochArchive, its Lightning callback and the resuming fit: kill, resume, corrupt, load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from hepnb.errors import CheckpointError, InputError
from hepnb.examples.dimuon import DimuonDataModule, DimuonGAN, sample_dimuon_mass
from hepnb.io import atomic_write
from hepnb.training import EpochArchive, fit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Train on one torch thread (trained weights change in their last bits with the thread count), then restore
    the count; the subprocess trainings below pin one thread too."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(path: Path, max_epochs: int, every: int = 2, seed: int = 5) -> EpochArchive:
    data = DimuonDataModule(sample_dimuon_mass(2048, seed=1), batch_size=256)

    def mean_mass(model: DimuonGAN, epoch: int) -> dict[str, float]:
        return {"mean_mass": float(model.generate(500, seed=0).mean()), "epoch_seen": epoch}

    return fit(DimuonGAN, data, path, max_epochs=max_epochs, seed=seed, every=every, metrics=mean_mass, progress=False)


def generator_weights(model: DimuonGAN) -> np.ndarray:
    return torch.cat([p.detach().flatten() for p in model.generator.parameters()]).numpy()


def test_archive_records_every_epoch_and_checkpoints_every_k(tmp_path: Path) -> None:
    archive = train(tmp_path / "a", max_epochs=5, every=2)
    assert archive.epochs == [2, 4, 5]  # the last epoch is always kept
    history = archive.history
    assert history.index.tolist() == [1, 2, 3, 4, 5]
    assert history["epoch_seen"].tolist() == [1, 2, 3, 4, 5]
    assert {"critic_loss", "wasserstein", "generator_loss", "mean_mass"} <= set(history.columns)
    model = archive.load(4)
    assert isinstance(model, DimuonGAN) and not model.training
    assert float(model.generate(500, seed=0).mean()) == pytest.approx(archive.metrics(4)["mean_mass"], rel=1e-6)


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import lightning as L
    import torch
    torch.set_num_threads(1)  # as the in-process trainings of the test (fixture one_torch_thread)
    sys.path.insert(0, {tests!r})
    from test_training import train

    class Kill(L.Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.current_epoch == 4 and trainer.fit_loop.epoch_loop.batch_progress.current.completed == 3:
                os.kill(os.getpid(), signal.SIGKILL)

    import hepnb.training.loop as loop
    original = L.Trainer
    loop.L.Trainer = lambda callbacks, **kw: original(callbacks=[*callbacks, Kill()], **kw)
    train(__import__("pathlib").Path(sys.argv[1]), max_epochs=7, every=2)
    """
)


def test_training_killed_mid_epoch_resumes_without_losing_or_repeating_epochs(tmp_path: Path) -> None:
    script = tmp_path / "killer.py"
    script.write_text(KILLER.format(tests=str(ROOT / "tests")))
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "resumed")], capture_output=True, cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]

    archive = EpochArchive(tmp_path / "resumed")
    assert archive.epochs == [2, 4]
    assert archive.history.index.tolist() == [1, 2, 3, 4]  # epoch 5 was killed before it finished
    assert not list((tmp_path / "resumed").glob("*.tmp"))

    train(tmp_path / "resumed", max_epochs=7, every=2)
    uninterrupted = train(tmp_path / "straight", max_epochs=7, every=2)
    assert archive.history.index.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert archive.epochs == [2, 4, 6, 7]
    assert archive.records == uninterrupted.records
    np.testing.assert_array_equal(generator_weights(archive.load(7)), generator_weights(uninterrupted.load(7)))


def test_resume_drops_history_written_after_the_last_checkpoint(tmp_path: Path) -> None:
    archive = train(tmp_path / "a", max_epochs=3, every=2)
    # pretend epoch 3's checkpoint never got written, as after a kill
    (tmp_path / "a" / "epoch-000003.ckpt").unlink()
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    del index["checkpoints"]["3"]
    (tmp_path / "a" / "index.json").write_text(json.dumps(index))
    archive.append_metrics(3, {"mean_mass": -1.0})
    train(tmp_path / "a", max_epochs=4, every=2)
    assert archive.history.index.tolist() == [1, 2, 3, 4]
    assert archive.metrics(3)["mean_mass"] != -1.0


def test_corrupt_or_missing_checkpoint_lists_loadable_epochs(tmp_path: Path) -> None:
    archive = train(tmp_path / "a", max_epochs=4, every=1)
    (tmp_path / "a" / "epoch-000002.ckpt").write_bytes(b"garbage")
    (tmp_path / "a" / "epoch-000003.ckpt").unlink()
    assert archive.loadable_epochs() == [1, 4]
    with pytest.raises(CheckpointError, match=r"epoch 2 .* is corrupt .* loadable epochs: \[1, 4\]"):
        archive.load(2)
    with pytest.raises(CheckpointError, match=r"epoch 3 .* is missing; loadable epochs: \[1, 4\]"):
        archive.load(3)
    with pytest.raises(CheckpointError, match=r"no checkpoint for epoch 9 .* loadable epochs: \[1, 4\]"):
        archive.load(9)
    assert isinstance(archive.load(4), DimuonGAN)


def test_unreadable_checkpoint_with_matching_checksum_is_a_clear_error(tmp_path: Path) -> None:
    archive = EpochArchive(tmp_path / "a")
    file = archive.checkpoint_file(1)
    file.parent.mkdir()
    file.write_bytes(b"not a torch file")
    archive.add_checkpoint(1, file, DimuonGAN())
    with pytest.raises(CheckpointError, match=r"epoch 1 .* cannot be read"):
        archive.load(1)


def test_empty_archive_and_damaged_index(tmp_path: Path) -> None:
    archive = EpochArchive(tmp_path / "none")
    assert archive.epochs == [] and archive.last_epoch is None and archive.history.empty
    with pytest.raises(CheckpointError, match="holds no checkpoint yet"):
        archive.load()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "index.json").write_text("{")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        EpochArchive(tmp_path / "bad").epochs
    with pytest.raises(InputError, match="no metrics recorded for epoch 1"):
        archive.metrics(1)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "history.json"
    target.write_text("old")

    def killed_while_writing() -> None:
        with atomic_write(target, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        killed_while_writing()
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["history.json"]


def test_prune_keeps_history_and_chosen_checkpoints(tmp_path: Path) -> None:
    archive = train(tmp_path / "a", max_epochs=3, every=1)
    archive.prune(keep=[2])
    assert archive.epochs == [2]
    assert sorted(p.name for p in (tmp_path / "a").glob("*.ckpt")) == ["epoch-000002.ckpt"]
    assert archive.history.index.tolist() == [1, 2, 3]


def test_archive_refuses_a_different_model_class(tmp_path: Path) -> None:
    import lightning as L

    archive = train(tmp_path / "a", max_epochs=1)
    with pytest.raises(InputError, match="use a new folder"):
        archive.add_checkpoint(2, archive.checkpoint_file(1), L.LightningModule())


def test_export_writes_slim_fp16_checkpoints_that_load(tmp_path: Path) -> None:
    archive = train(tmp_path / "a", max_epochs=2, every=1)
    random_state = torch.random.get_rng_state()
    slim = archive.export(tmp_path / "slim", epochs=[2], keep=("generator.",))
    assert torch.equal(torch.random.get_rng_state(), random_state)  # the model rebuilt for its buffers drew nothing
    assert slim.epochs == [2] and slim.records == archive.records
    full_bytes = archive.checkpoint_path(2).stat().st_size
    assert slim.checkpoint_path(2).stat().st_size < full_bytes / 3
    stored = torch.load(slim.checkpoint_path(2), weights_only=True)
    assert all(k.startswith("generator.") for k in stored["state_dict"])
    assert {v.dtype for v in stored["state_dict"].values()} == {torch.float16}
    original, exported = archive.load(2), slim.load(2)
    np.testing.assert_allclose(generator_weights(exported), generator_weights(original), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(exported.generate(100, seed=1), original.generate(100, seed=1), atol=0.05)
    with pytest.raises(InputError, match="already holds an archive"):
        archive.export(tmp_path / "slim")


def test_compacted_checkpoints_load_and_the_training_resumes_exactly(tmp_path: Path, capsys) -> None:
    from hepnb.cli import main
    from hepnb.training import compact_checkpoints

    archive = train(tmp_path / "a", max_epochs=3, every=1)
    full = {epoch: archive.load(epoch) for epoch in (1, 2)}
    sizes = {epoch: archive.checkpoint_path(epoch).stat().st_size for epoch in (1, 2, 3)}
    compact_checkpoints(archive, [1], keep=("generator.",))
    assert main(["archive", "compact", str(archive.path), "--keep", "generator."]) == 0  # all but the last
    assert "checkpoints" in capsys.readouterr().out
    assert sorted(p.name for p in archive.path.glob("*.ckpt")) == [
        "epoch-000001-compact.ckpt",
        "epoch-000002-compact.ckpt",
        "epoch-000003.ckpt",
    ]
    for epoch in (1, 2):
        assert archive.checkpoint_path(epoch).stat().st_size < sizes[epoch] / 3
        np.testing.assert_allclose(
            generator_weights(archive.load(epoch)), generator_weights(full[epoch]), rtol=1e-3, atol=1e-4
        )
    assert archive.checkpoint_path(3).stat().st_size == sizes[3]
    # the training resumes from its last (full) checkpoint as if never interrupted
    resumed = generator_weights(train(tmp_path / "a", max_epochs=5, every=1).load(5))
    straight = generator_weights(train(tmp_path / "b", max_epochs=5, every=1).load(5))
    np.testing.assert_array_equal(resumed, straight)
    with pytest.raises(InputError, match="epoch 5 is the last checkpoint"):
        compact_checkpoints(archive, [4, 5])
    with pytest.raises(InputError, match=r"has no checkpoint for epochs \[9\]"):
        compact_checkpoints(archive, [9])
    with pytest.raises(InputError, match="keep must be state-dict prefixes"):
        compact_checkpoints(archive, [4], keep=("",))
    with pytest.raises(InputError, match="keep prefixes"):  # refused before the file is touched
        compact_checkpoints(archive, [4], keep=("nothing.",))
    assert archive.load(4) is not None and not archive._entry(4).get("compact", False)
    with pytest.raises(InputError, match=r"epochs must be positive whole numbers, got \[4.0\]"):
        compact_checkpoints(archive, [4.0])
    # a run killed after registering the slim file but before deleting the full one: the next run deletes it
    archive.checkpoint_file(1).write_bytes(b"the full checkpoint a killed run left")
    compact_checkpoints(archive, [1])
    assert not archive.checkpoint_file(1).exists() and archive.checkpoint_path(1).name == "epoch-000001-compact.ckpt"


def test_archive_export_command_copies_the_training_record(tmp_path: Path, capsys) -> None:
    from hepnb.cli import main

    archive = train(tmp_path / "a", max_epochs=2, every=1)
    (archive.path / "training.json").write_text('{"command": "hepnb train ..."}')
    assert (
        main(["archive", "export", str(archive.path), str(tmp_path / "b"), "--keep", "generator.", "--epochs", "2"])
        == 0
    )
    assert "epochs=[2]" in capsys.readouterr().out
    assert (tmp_path / "b" / "training.json").read_text() == '{"command": "hepnb train ..."}'
    assert isinstance(EpochArchive(tmp_path / "b").load(2), DimuonGAN)


def test_progress_bar_is_lightnings_tqdm_bar_or_nothing() -> None:
    from lightning.pytorch.callbacks import TQDMProgressBar

    from hepnb.training import progress_bar

    assert progress_bar(False) == []
    (bar,) = progress_bar(True)
    assert isinstance(bar, TQDMProgressBar)  # not Rich's, which swallows a notebook cell's later prints
