"""Nothing lost on a second fault: resuming from whatever checkpoint survives, extending a run's schedule, a lock
that follows no link, and a refused run that says nothing else."""

from __future__ import annotations

import csv
import json
import os

import pytest
import torch

from rfn.checkpoint import load_checkpoint, save_checkpoint
from rfn.training import RunDirectoryError, Trainer
from rfn.training.lock import LOCK_NAME, LockFileError, RunLock, RunLockedError

COMPARED = ("model", "optimizer", "scheduler", "step", "rng")


def _rows(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k != "seq_per_s"} for r in csv.DictReader(f)]


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _same_run(a, b) -> list[str]:
    ca, cb = load_checkpoint(a / "last.pt"), load_checkpoint(b / "last.pt")
    return [k for k in COMPARED if not _equal(ca[k], cb[k])]


def _flip(path):
    """Flip bytes inside the largest tensor of a saved checkpoint (its digest no longer matches)."""
    data = bytearray(path.read_bytes())
    big = max(load_checkpoint(path)["model"].values(), key=lambda t: t.numel())
    at = bytes(data).find(big.contiguous().numpy().tobytes()[:32])
    assert at > 0
    data[at : at + 32] = bytes(x ^ 0xFF for x in data[at : at + 32])
    path.write_bytes(bytes(data))


class Killed(Exception):
    """Stands for a SIGKILL: the process ends at once, writing nothing more."""


def _kill_at(monkeypatch, step: int):
    original = Trainer._step

    def step_then_die(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if self.step + 1 == step:  # the optimiser step that would reach `step` has run; die before anything is saved
            raise Killed
        return out

    monkeypatch.setattr(Trainer, "_step", step_then_die)


def _cfg(toy, **kw):
    return toy.cfg(**{"steps": 8, "ckpt_every": 2, "log_every": 1, "val_every": 0, **kw})


@pytest.fixture
def straight(toy, tmp_path):
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy), tmp_path / "straight").fit()
    return tmp_path / "straight"


# ----------------------------------------------------------------------------- resume from what survives


def test_resume_with_last_missing_continues_from_prev(toy, tmp_path, straight, capsys):
    run = tmp_path / "run"
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run).fit(until=6)
    (run / "last.pt").unlink()  # prev.pt (step 4) is all that is left
    capsys.readouterr()
    trainer = Trainer(toy.model(seed=3), toy.videos(16), None, _cfg(toy), run, resume=True)
    rows = trainer.fit()
    err = capsys.readouterr().err
    assert "last.pt is missing; continuing from the newest checkpoint that verifies" in err and "prev.pt" in err
    assert rows[0]["step"] == 5 and "from step 0" not in err
    assert not _same_run(straight, run) and _rows(straight / "metrics.csv") == _rows(run / "metrics.csv")


def test_a_kill_after_a_damaged_last_was_set_aside_resumes_from_prev_again(toy, tmp_path, straight, monkeypatch):
    run = tmp_path / "run"
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run).fit(until=6)
    _flip(run / "last.pt")
    _kill_at(monkeypatch, 6)  # first fault: last.pt damaged; second: killed before the next checkpoint (step 6)
    with pytest.raises(Killed):
        Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run, resume=True).fit()
    assert (run / "last.pt.damaged").exists() and not (run / "last.pt").exists()
    assert load_checkpoint(run / "prev.pt")["step"] == 4
    monkeypatch.undo()
    trainer = Trainer(toy.model(seed=7), toy.videos(16), None, _cfg(toy), run, resume=True)
    rows = trainer.fit()
    assert rows[0]["step"] == 5  # from prev.pt, not from step 0
    assert not _same_run(straight, run) and _rows(straight / "metrics.csv") == _rows(run / "metrics.csv")


def test_rotation_never_keeps_a_damaged_last_as_prev(toy, tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run).fit(until=4)
    _flip(run / "last.pt")  # damaged on disk after it was written (step 4); prev.pt is step 2
    data = load_checkpoint(run / "prev.pt")
    save_checkpoint(run / "last.pt", {k: v for k, v in data.items() if k != "digest"} | {"step": 6}, True)
    assert load_checkpoint(run / "prev.pt")["step"] == 2  # the verified one stays
    assert load_checkpoint(run / "last.pt")["step"] == 6
    assert (run / "last.pt.damaged").exists() and "kept as last.pt.damaged" in capsys.readouterr().err


def test_nothing_verifies_refuses_in_one_line_and_restart_starts_over(toy, tmp_path):
    run = tmp_path / "run"
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run).fit(until=4)
    _flip(run / "last.pt")
    _flip(run / "prev.pt")
    with pytest.raises(RunDirectoryError, match=r"no checkpoint of the run verifies; pass --restart") as err:
        Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run, resume=True).fit()
    assert "\n" not in str(err.value) and "last.pt is damaged" in str(err.value) and "prev.pt" in str(err.value)
    assert (run / "last.pt").exists() and (run / "prev.pt").exists()  # a refusal changes nothing
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run, restart=True).fit(until=2)
    assert load_checkpoint(run / "last.pt")["step"] == 2 and (run / "prev.pt.damaged").exists()
    assert [r["step"] for r in _rows(run / "metrics.csv")] == ["1", "2"]
    with pytest.raises(RunDirectoryError, match=r"--restart refused: .*last\.pt verifies \(step 2\)"):
        Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run, restart=True).fit()


def test_a_new_run_is_refused_over_a_folder_holding_only_prev(toy, tmp_path):
    run = tmp_path / "run"
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run).fit(until=4)
    (run / "last.pt").unlink()
    (run / "metrics.csv").unlink()
    with pytest.raises(RunDirectoryError, match="already holds a run"):
        Trainer(toy.model(), toy.videos(16), None, _cfg(toy), run).fit()


# ----------------------------------------------------------------------------- extending a run


def _applied_lrs(monkeypatch) -> list[float]:
    seen: list[float] = []
    original = Trainer._step

    def record(self, *args, **kwargs):
        seen.append(self.optimizer.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_step", record)
    return seen


def test_extending_a_run_applies_the_logged_learning_rate(toy, tmp_path, monkeypatch):
    run = tmp_path / "run"
    applied = _applied_lrs(monkeypatch)
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy, steps=2), run).fit()  # linear decay: ends at lr 0
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy, steps=4), run, resume=True).fit()
    logged = [float(r["lr"]) for r in _rows(run / "metrics.csv")]
    assert applied == logged and applied[2] > 0  # the first new step: not the old schedule's final 0.0


def test_a_run_extended_from_2_to_4_steps_equals_a_straight_4_step_run(toy, tmp_path):
    constant = {"decay_start": 2}  # the decay starts after step 2 in both: the first two steps are alike
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy, steps=4, **constant), tmp_path / "a").fit()
    Trainer(toy.model(), toy.videos(16), None, _cfg(toy, steps=2, **constant), tmp_path / "b").fit()
    toy.scramble()
    Trainer(toy.model(seed=9), toy.videos(16), None, _cfg(toy, steps=4, **constant), tmp_path / "b", resume=True).fit()
    assert not _same_run(tmp_path / "a", tmp_path / "b")
    assert _rows(tmp_path / "a" / "metrics.csv") == _rows(tmp_path / "b" / "metrics.csv")


# ----------------------------------------------------------------------------- the lock


def test_a_lock_that_is_a_link_is_refused_and_its_target_untouched(toy, tmp_path):
    run, outside = tmp_path / "run", tmp_path / "precious.txt"
    run.mkdir()
    outside.write_text("keep me")
    (run / LOCK_NAME).symlink_to(outside)
    with pytest.raises(LockFileError, match=r"\.rfn\.lock is a symbolic link, which rfn does not follow; remove"):
        Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), run).fit()
    assert outside.read_text() == "keep me" and not (run / "run.json").exists()
    (run / LOCK_NAME).unlink()
    (run / LOCK_NAME).symlink_to(tmp_path / "missing")  # a dangling link is not created through either
    with pytest.raises(LockFileError, match="symbolic link"):
        RunLock(run).acquire()
    assert not (tmp_path / "missing").exists()
    (run / LOCK_NAME).unlink()
    os.link(outside, run / LOCK_NAME)  # a second name of a file elsewhere
    with pytest.raises(LockFileError, match="is a hard link"):
        RunLock(run).acquire()
    assert outside.read_text() == "keep me"
    (run / LOCK_NAME).unlink()
    os.mkfifo(run / LOCK_NAME)
    with pytest.raises(LockFileError, match="is not a regular file"):
        RunLock(run).acquire()
    (run / LOCK_NAME).unlink()
    (run / LOCK_NAME).mkdir()
    with pytest.raises(LockFileError, match="cannot be opened"):
        RunLock(run).acquire()


def test_a_run_refused_for_a_folder_in_use_prints_nothing_else(toy, tmp_path, capsys):
    # a folder whose run never took a step would first print "starting the run from step 0"
    (tmp_path / "run.json").write_text(json.dumps({"model_name": "toy-video", "train_config": {"lr": 5.0}}))
    held = RunLock(tmp_path).acquire()
    try:
        with pytest.raises(RunLockedError):
            Trainer(toy.model(), toy.videos(8), None, toy.cfg(steps=2), tmp_path, resume=True).fit()
    finally:
        held.release()
    assert capsys.readouterr().err == ""


def test_save_checkpoint_keeps_a_verified_prev_at_every_moment(tmp_path):
    def payload(step):
        return {"model_name": "m", "model_config": {}, "model": {"w": torch.full((4,), float(step))}, "step": step}

    for step in (1, 2, 3):
        save_checkpoint(tmp_path / "last.pt", payload(step), keep_previous=True)
    assert load_checkpoint(tmp_path / "prev.pt")["step"] == 2 and load_checkpoint(tmp_path / "last.pt")["step"] == 3
