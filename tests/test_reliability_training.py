"""Nothing lost, nothing silently wrong in training: locks, signals, checkpoint integrity, run folders, CLI errors."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal

import pytest
import torch

from rfn import cli
from rfn.checkpoint import CheckpointError, load_checkpoint, load_run_checkpoint, save_checkpoint
from rfn.training import RunDirectoryError, Trainer
from rfn.training.interrupts import Interrupted, cli_failure, describe_failure
from rfn.training.lock import LOCK_NAME, RunLock, RunLockedError


def _rows(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "seq_per_s"} for r in csv.DictReader(f)]


def _signal_at(monkeypatch, step: int, signals: list[int]):
    """Send ``signals`` to this process during optimiser step ``step`` (0-based)."""
    original = Trainer._step

    def step_and_signal(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if self.step == step:
            for s in signals:
                os.kill(os.getpid(), s)
        return out

    monkeypatch.setattr(Trainer, "_step", step_and_signal)


# ----------------------------------------------------------------------------- locks


def test_a_second_trainer_on_a_folder_in_use_is_refused(toy, tmp_path):
    held = RunLock(tmp_path).acquire()
    try:
        with pytest.raises(RunLockedError, match=rf"in use by process {os.getpid()}"):
            Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
        assert not (tmp_path / "run.json").exists()  # refused before writing anything
    finally:
        held.release()
    Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    assert (tmp_path / LOCK_NAME).read_text() == ""  # released after fit()


def test_a_stale_lock_of_a_dead_process_is_reported_and_taken_over(toy, tmp_path, capsys):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 999_999_999, "host": "h", "since": "yesterday"}))
    Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    err = capsys.readouterr().err
    assert "stale lock" in err and "process 999999999" in err and "taking it over" in err


# ----------------------------------------------------------------------------- signals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_finishes_the_step_checkpoints_and_resumes_exactly(toy, tmp_path, monkeypatch, sig):
    c = toy.cfg(steps=9, ckpt_every=100, log_every=2, val_every=0)
    straight = toy.model()
    Trainer(straight, toy.videos(16), None, c, tmp_path / "a").fit()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}  # SIG_IGN under nohup or CI

    _signal_at(monkeypatch, 4, [sig])  # during the step with index 4: it finishes, so the run stops at 5
    with pytest.raises(Interrupted) as err:
        Trainer(toy.model(), toy.videos(16), None, c, tmp_path / "b").fit()
    assert err.value.step == 5 and err.value.exit_code == 128 + sig
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 5  # between two rows (4 and 6)
    assert not [p for p in (tmp_path / "b").iterdir() if ".tmp" in p.name]
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # the handlers from before are restored
    monkeypatch.undo()

    toy.scramble()
    resumed = toy.model(seed=5)
    Trainer(resumed, toy.videos(16), None, c, tmp_path / "b", resume=True).fit()
    for k, v in toy.params(straight).items():
        assert torch.equal(v, toy.params(resumed)[k]), k
    # the row of steps 5-6 averages both steps, as in the straight run: rows mean the same across a resume
    assert _rows(tmp_path / "a" / "metrics.csv") == _rows(tmp_path / "b" / "metrics.csv")


def test_a_second_ctrl_c_aborts_at_once_without_damage(toy, tmp_path, monkeypatch):
    c = toy.cfg(steps=8, ckpt_every=2, log_every=2, val_every=0)
    _signal_at(monkeypatch, 3, [signal.SIGINT, signal.SIGINT])
    with pytest.raises(KeyboardInterrupt):
        Trainer(toy.model(), toy.videos(16), None, c, tmp_path).fit()
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2  # the last checkpoint written, whole
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    assert cli_failure(KeyboardInterrupt(), ["train"])[1] == 130


def test_cli_reports_an_interrupted_run_with_the_resume_command(monkeypatch, capsys, tmp_path):
    import rfn.training.preset

    def interrupted(*a, **k):
        raise Interrupted(signal.SIGTERM, 40, tmp_path / "last.pt")

    monkeypatch.setattr(rfn.training.preset, "train_preset", interrupted)
    code = cli.main(["train", "--preset", "smoke", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 143 and len(err.splitlines()) == 1
    assert "SIGTERM after step 40" in err and f"--out {tmp_path} --resume" in err


# ----------------------------------------------------------------------------- integrity


def _damage(path, n=64):
    """Flip ``n`` bytes inside the largest tensor's data of a saved checkpoint."""
    data = bytearray(path.read_bytes())
    big = max(load_checkpoint(path)["model"].values(), key=lambda t: t.numel())
    needle = big.contiguous().numpy().tobytes()[:32]
    at = bytes(data).find(needle)
    assert at > 0
    for i in range(at, at + n):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_bytes_are_refused_and_the_run_falls_back_to_prev(toy, tmp_path, capsys):
    c = toy.cfg(steps=4, ckpt_every=2, log_every=2, val_every=0)
    Trainer(toy.model(), toy.videos(16), None, c, tmp_path).fit()
    assert load_checkpoint(tmp_path / "last.pt")["digest"].startswith("sha256:")
    _damage(tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="damaged: its contents do not match the digest"):
        load_checkpoint(tmp_path / "last.pt")
    data, used = load_run_checkpoint(tmp_path)
    assert used.name == "prev.pt" and data["step"] == 2
    err = capsys.readouterr().err
    assert "last.pt is damaged" in err and "prev.pt" in err
    # resuming continues from prev.pt and keeps it: the damaged file is set aside, not kept as prev.pt
    trainer = Trainer(toy.model(), toy.videos(16), None, toy.cfg(steps=6, ckpt_every=2, log_every=2, val_every=0),
                      tmp_path, resume=True)  # fmt: skip
    trainer.fit()
    assert trainer.step == 6 and (tmp_path / "last.pt.damaged").exists()
    assert load_checkpoint(tmp_path / "prev.pt")["step"] == 4


def test_a_legacy_checkpoint_without_digest_loads_with_a_warning_a_new_one_is_refused(tmp_path, capsys):
    save_checkpoint(tmp_path / "x.pt", {"model_name": "m", "model_config": {}, "model": {"w": torch.ones(2)}})
    data = torch.load(tmp_path / "x.pt", weights_only=True)
    assert data["format_version"] == 2
    del data["digest"]  # what an edit that drops the digest leaves
    torch.save(data, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=r"edited\.pt has no digest, which every checkpoint of format version 2"):
        load_checkpoint(tmp_path / "edited.pt")
    torch.save({**data, "format_version": 1}, tmp_path / "old.pt")  # as written before the digest existed
    assert torch.equal(load_checkpoint(tmp_path / "old.pt")["model"]["w"], torch.ones(2))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "old.pt is a checkpoint from before digests" in err[0]


# ----------------------------------------------------------------------------- run folders


def test_steps_below_the_checkpoint_is_an_error_that_changes_nothing(toy, tmp_path):
    Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=6), tmp_path).fit()
    before = (tmp_path / "run.json").read_text()
    with pytest.raises(RunDirectoryError, match="at step 6, past the 4 steps asked for; pass --steps 6"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=4), tmp_path, resume=True).fit()
    assert (tmp_path / "run.json").read_text() == before


def test_a_run_that_never_took_a_step_restarts_with_another_config(toy, tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"model_name": "toy-video", "train_config": {"lr": 5.0}}))
    rows = Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()
    assert rows and json.loads((tmp_path / "run.json").read_text())["train_config"]["lr"] == 1e-2


def test_a_torn_last_row_is_dropped_on_resume(toy, tmp_path):
    c = toy.cfg(steps=4, ckpt_every=2, log_every=1, val_every=0)
    Trainer(toy.model(), toy.videos(8), None, c, tmp_path).fit(until=2)
    with open(tmp_path / "metrics.csv", "a") as f:
        f.write("2,0.01,0.5,1.2")  # a row cut short by a killed process, with a step that looks valid
    Trainer(toy.model(), toy.videos(8), None, c, tmp_path, resume=True).fit()
    steps = [r["step"] for r in _rows(tmp_path / "metrics.csv")]
    assert steps == ["1", "2", "3", "4"] and all(all(v != "" for k, v in r.items() if not k.startswith("val_"))
                                                 for r in _rows(tmp_path / "metrics.csv"))  # fmt: skip


# ----------------------------------------------------------------------------- operating-system errors


@pytest.mark.parametrize(
    "err, expected",
    [
        (OSError(errno.EROFS, "Read-only file system", "runs/a/last.pt"), "read-only; choose a writable --out"),
        (OSError(errno.ENOSPC, "No space left on device", "runs/a/last.pt"), "the disk is full"),
        (RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos"), "disk full?"),
        (OSError(errno.EACCES, "Permission denied", "/x"), "permission denied"),
        (torch.OutOfMemoryError("out of memory on cpu at step 3 with train.batch_size=64 (x)"), "batch_size=64"),
    ],
)
def test_os_and_resource_errors_are_one_line_with_exit_2(monkeypatch, capsys, tmp_path, err, expected):
    import rfn.training.preset

    assert expected in describe_failure(err)

    def fail(*a, **k):
        raise err

    monkeypatch.setattr(rfn.training.preset, "train_preset", fail)
    assert cli.main(["train", "--preset", "smoke", "--out", str(tmp_path / "r")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_out_of_memory_in_training_names_the_batch_size(toy, tmp_path, monkeypatch):
    def oom(self, *a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "_step", oom)
    with pytest.raises(torch.OutOfMemoryError, match="at step 0 with train.batch_size=4"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path).fit()


def test_sample_refuses_non_finite_temperatures(capsys):
    code = cli.main(["sample", "--checkpoint", "x.pt", "--context", "1", "--future", "1", "--out", "a.gif",
                     "--prior-temperature", "1e30"])  # fmt: skip
    assert code == 2 and "--prior-temperature must be a finite number in [0, 10]" in capsys.readouterr().err
